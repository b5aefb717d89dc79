//! Subscriptions over WebSocket (graphql-transport-ws) with the token in connection_init.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    connect_async,
    tungstenite::{Message, client::IntoClientRequest},
};

use crate::{on_both_backends, support::TestServer};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn open(server: &TestServer, init: Value) -> Socket {
    let mut request = format!("ws://{}/graphql", server.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = connect_async(request).await.expect("websocket");
    socket
        .send(Message::text(
            json!({ "type": "connection_init", "payload": init }).to_string(),
        ))
        .await
        .unwrap();
    socket
}

/// The next JSON message, or None when the socket closes or nothing comes in time.
pub(crate) async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(text.as_str()).ok(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            _ => return None,
        }
    }
}

on_both_backends! {
    async fn account_events_reach_the_subscriber(server: TestServer) {
        let admin = server.admin("boss@example.id").await;
        let user = server.register("ika@example.id", "USER").await;

        let mut socket = open(&server, json!({ "Authorization": format!("Bearer {}", user.access) })).await;
        assert_eq!(next(&mut socket, Duration::from_secs(5)).await.unwrap()["type"], "connection_ack");
        socket
            .send(Message::text(
                json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { accountEvents { kind role userId } }" } }).to_string(),
            ))
            .await
            .unwrap();

        // The subscription starts asynchronously: change the role until an event arrives.
        let set_role = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }";
        let mut received = None;
        for (attempt, role) in ["SPONSOR", "USER"].iter().cycle().take(20).enumerate() {
            server.data(set_role, json!({ "id": user.user_id, "role": role }), Some(&admin.access)).await;
            if let Some(message) = next(&mut socket, Duration::from_millis(500)).await {
                received = Some((message, *role, attempt));
                break;
            }
        }
        let (message, role, _) = received.expect("an account event within 10 s");
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], "1");
        let event = &message["payload"]["data"]["accountEvents"];
        assert_eq!(event["kind"], "ROLE_CHANGED");
        assert_eq!(event["role"], role);
        assert_eq!(event["userId"], user.user_id.as_str());
    }
}

on_both_backends! {
    async fn subscriptions_refuse_bad_tokens(server: TestServer) {
        let mut socket = open(&server, json!({ "Authorization": "Bearer forged.token.here" })).await;
        let answer = next(&mut socket, Duration::from_secs(5)).await;
        assert!(answer.is_none() || answer.as_ref().unwrap()["type"] != "connection_ack", "{answer:?}");

        // Anonymous connections are accepted, but the account stream needs a viewer.
        let mut socket = open(&server, json!({})).await;
        assert_eq!(next(&mut socket, Duration::from_secs(5)).await.unwrap()["type"], "connection_ack");
        socket
            .send(Message::text(
                json!({ "id": "9", "type": "subscribe", "payload": { "query": "subscription { accountEvents { kind } }" } }).to_string(),
            ))
            .await
            .unwrap();
        let message = next(&mut socket, Duration::from_secs(5)).await.unwrap();
        let errors = if message["type"] == "error" { &message["payload"] } else { &message["payload"]["errors"] };
        assert_eq!(errors[0]["extensions"]["code"], "UNAUTHENTICATED", "{message}");
    }
}

/// Two instances behind one load balancer: a subscriber on B sees a payment made
/// through A, because subscriptions are fed from the shared bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_one_instance_sees_a_payment_made_through_another() {
    if !crate::support::servers_available().await {
        return;
    }
    let a = TestServer::start(crate::support::Backend::Servers).await;
    let b = a.start_beside().await;
    let admin = a.admin("two-admin@example.id").await;
    let service = crate::donations::service_account(&a, &admin).await;
    let sponsor = a.register("two-sponsor@example.id", "SPONSOR").await;
    let donor = a.register("two-donor@example.id", "USER").await;
    let (campaign, _) =
        crate::campaigns::active_campaign_with_challenge(&a, &sponsor, "Two", None).await;
    // B reads what A wrote: one set of databases.
    let seen = b
        .data(
            "query($id: ID!) { campaign(id: $id) { id } }",
            json!({ "id": campaign }),
            None,
        )
        .await;
    assert_eq!(seen["campaign"]["id"], campaign.as_str());

    let mut socket = open(&b, json!({})).await;
    assert_eq!(
        next(&mut socket, Duration::from_secs(5)).await.unwrap()["type"],
        "connection_ack"
    );
    socket
        .send(Message::text(
            json!({ "id": "p", "type": "subscribe", "payload": { "query": "subscription($id: ID!) { campaignProgress(campaignId: $id) { raised { amount } donorCount } }", "variables": { "id": campaign } } }).to_string(),
        ))
        .await
        .unwrap();
    // The subscription starts asynchronously: pay donations through A until one shows.
    let mut received = None;
    for _ in 0..10 {
        let (_, payment_ref) = crate::donations::donate(&a, &donor, &campaign, "10000").await;
        a.data(
            crate::donations::PAY,
            json!({ "input": { "paymentRef": payment_ref, "succeeded": true, "amount": { "amount": "10000" } } }),
            Some(&service.access),
        )
        .await;
        if let Some(message) = next(&mut socket, Duration::from_secs(1)).await {
            received = Some(message);
            break;
        }
    }
    let message = received.expect("B's subscriber saw a payment made through A");
    assert_eq!(message["type"], "next", "{message}");
    let progress = &message["payload"]["data"]["campaignProgress"];
    assert_eq!(progress["donorCount"], 1);
    let raised: f64 = progress["raised"]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(raised >= 10000.0 && raised % 10000.0 == 0.0, "{progress}");
}
