//! Donations, payments, sponsor matches, refunds, statements, live progress.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::{
    campaigns::{JOIN, REVIEW, SUBMIT, active_campaign_with_challenge, eventually},
    on_both_backends,
    support::{Backend, Session, TestServer, error_code},
};

pub const DONATE: &str = "mutation($input: DonateInput!) { donate(input: $input) { id status paymentRef amount { amount currency } } }";
pub const PAY: &str = "mutation($input: PaymentEventInput!) { recordPayment(input: $input) { id status paidAt amount { amount } } }";
const REFUND: &str = "mutation($id: ID!, $amount: MoneyInput) { refundDonation(id: $id, amount: $amount) { id status refunded { amount } } }";
const RAISED: &str =
    "query($id: ID!) { campaign(id: $id) { raised { amount currency } donorCount } }";
const STATEMENT: &str = "query($type: StatementOwner!, $id: ID!, $from: DateTime, $to: DateTime) { accountStatement(ownerType: $type, ownerId: $id, from: $from, to: $to) { openingBalance { amount } totalIn { amount } totalOut { amount } closingBalance { amount } entries(first: 100) { totalCount edges { node { amount { amount } balanceAfter { amount } description occurredAt } } } } }";

/// A user whose role is SERVICE, the way an admin makes one.
pub async fn service_account(server: &TestServer, admin: &Session) -> Session {
    let service = server.register("payments-adapter@example.id", "USER").await;
    server
        .data(
            "mutation($id: ID!) { setUserRole(userId: $id, role: SERVICE) { role } }",
            json!({ "id": service.user_id }),
            Some(&admin.access),
        )
        .await;
    let login = server
        .data("mutation { login(email: \"payments-adapter@example.id\", password: \"correct horse battery\") { accessToken refreshToken user { id } } }", json!({}), None)
        .await;
    Session::from(&login["login"])
}

pub async fn donate(
    server: &TestServer,
    donor: &Session,
    campaign: &str,
    amount: &str,
) -> (String, String) {
    let data = server
        .data(
            DONATE,
            json!({ "input": { "campaignId": campaign, "amount": { "amount": amount } } }),
            Some(&donor.access),
        )
        .await;
    (
        data["donate"]["id"].as_str().unwrap().to_owned(),
        data["donate"]["paymentRef"].as_str().unwrap().to_owned(),
    )
}

fn amount(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

on_both_backends! {
    async fn donations_are_paid_once_and_refunded_within_bounds(server: TestServer) {
        let admin = server.admin("treasurer@example.id").await;
        let service = service_account(&server, &admin).await;
        let sponsor = server.register("fund@example.id", "SPONSOR").await;
        let donor = server.register("donor@example.id", "USER").await;
        let (campaign, _) = active_campaign_with_challenge(&server, &sponsor, "Give", None).await;

        let (id, payment_ref) = donate(&server, &donor, &campaign, "150000").await;
        let pending = server.data("query($id: ID!) { donation(id: $id) { status amount { amount currency } donor { id } } }", json!({ "id": id }), Some(&donor.access)).await;
        assert_eq!(pending["donation"], json!({ "status": "PENDING", "amount": { "amount": "150000.00", "currency": "IDR" }, "donor": { "id": donor.user_id } }));

        // Input rules.
        let wrong_currency = server.gql(DONATE, json!({ "input": { "campaignId": campaign, "amount": { "amount": "10", "currency": "USD" } } }), Some(&donor.access)).await;
        assert_eq!(wrong_currency["errors"][0]["extensions"]["field"], "input.amount.currency");
        let negative = server.gql(DONATE, json!({ "input": { "campaignId": campaign, "amount": { "amount": "-10" } } }), Some(&donor.access)).await;
        assert_eq!(error_code(&negative), "BAD_USER_INPUT");

        // Only SERVICE or ADMIN record payments; a wrong amount is refused, never applied.
        let pay = |amount: &str, ok: bool| json!({ "input": { "paymentRef": payment_ref, "succeeded": ok, "amount": { "amount": amount } } });
        assert_eq!(error_code(&server.gql(PAY, pay("150000", true), Some(&donor.access)).await), "FORBIDDEN");
        let wrong = server.gql(PAY, pay("149999", true), Some(&service.access)).await;
        assert_eq!(wrong["errors"][0]["extensions"]["field"], "input.amount");
        for _ in 0..3 {
            let paid = server.data(PAY, pay("150000", true), Some(&service.access)).await;
            assert_eq!(paid["recordPayment"]["status"], "PAID");
        }
        // A late "failed" for the same reference changes nothing.
        let late = server.data(PAY, pay("150000", false), Some(&admin.access)).await;
        assert_eq!(late["recordPayment"]["status"], "PAID");
        let raised = eventually(&server, RAISED, json!({ "id": campaign }), None, |d| d["campaign"]["donorCount"] == 1).await;
        assert_eq!(raised["campaign"]["raised"], json!({ "amount": "150000.00", "currency": "IDR" }), "paid once");

        // A failed payment stays out of the totals.
        let (_, failed_ref) = donate(&server, &donor, &campaign, "5000").await;
        let failed = server.data(PAY, json!({ "input": { "paymentRef": failed_ref, "succeeded": false, "amount": { "amount": "5000" } } }), Some(&service.access)).await;
        assert_eq!(failed["recordPayment"]["status"], "FAILED");
        assert_eq!(error_code(&server.gql(REFUND, json!({ "id": failed["recordPayment"]["id"] }), Some(&admin.access)).await), "BAD_USER_INPUT");

        // Partial refunds add up and stop at the amount; concurrent ones cannot overshoot.
        assert_eq!(error_code(&server.gql(REFUND, json!({ "id": id, "amount": { "amount": "1" } }), Some(&donor.access)).await), "FORBIDDEN");
        let first = server.data(REFUND, json!({ "id": id, "amount": { "amount": "50000" } }), Some(&admin.access)).await;
        assert_eq!(first["refundDonation"], json!({ "id": id, "status": "PAID", "refunded": { "amount": "50000.00" } }));
        let too_much = server.gql(REFUND, json!({ "id": id, "amount": { "amount": "100000.01" } }), Some(&admin.access)).await;
        assert_eq!(too_much["errors"][0]["extensions"]["field"], "amount");
        let racing = (0..5).map(|_| server.gql(REFUND, json!({ "id": id, "amount": { "amount": "30000" } }), Some(&admin.access)));
        let results = futures::future::join_all(racing).await;
        let accepted = results.iter().filter(|b| b.get("errors").is_none()).count();
        assert_eq!(accepted, 3, "100000 left: three refunds of 30000 fit, not more: {results:?}");
        let rest = server.data(REFUND, json!({ "id": id }), Some(&admin.access)).await;
        assert_eq!(rest["refundDonation"], json!({ "id": id, "status": "REFUNDED", "refunded": { "amount": "150000.00" } }));
        eventually(&server, RAISED, json!({ "id": campaign }), None, |d| d["campaign"]["raised"]["amount"] == "0.00").await;

        // The donor's statement balances: paid in, given out, refunded in, paid back out.
        let statement = server.data(STATEMENT, json!({ "type": "USER", "id": donor.user_id }), Some(&donor.access)).await;
        let s = &statement["accountStatement"];
        assert_eq!(amount(&s["openingBalance"]["amount"]) + amount(&s["totalIn"]["amount"]) - amount(&s["totalOut"]["amount"]), amount(&s["closingBalance"]["amount"]));
        assert_eq!(s["totalIn"]["amount"], "300000.00");
        assert_eq!(s["closingBalance"]["amount"], "0.00");
        let campaign_statement = server.data(STATEMENT, json!({ "type": "CAMPAIGN", "id": campaign }), Some(&sponsor.access)).await;
        assert_eq!(campaign_statement["accountStatement"]["closingBalance"]["amount"], "0.00");
        assert_eq!(campaign_statement["accountStatement"]["totalIn"]["amount"], "150000.00");

        // Nobody else reads it, whatever id they try.
        let other = server.register("nosy@example.id", "USER").await;
        for (kind, id) in [("USER", donor.user_id.clone()), ("CAMPAIGN", campaign.clone()), ("CAMPAIGN", uuid::Uuid::now_v7().to_string()), ("USER", uuid::Uuid::now_v7().to_string())] {
            let body = server.gql(STATEMENT, json!({ "type": kind, "id": id }), Some(&other.access)).await;
            assert_eq!(error_code(&body), "FORBIDDEN", "{kind} {id}");
        }
        assert_eq!(error_code(&server.gql("query($id: ID!) { donation(id: $id) { id } }", json!({ "id": id }), Some(&other.access)).await), "FORBIDDEN");
        let others_list = server.gql("query($d: ID) { donations(donorId: $d) { totalCount } }", json!({ "d": donor.user_id }), Some(&other.access)).await;
        assert_eq!(error_code(&others_list), "FORBIDDEN");
        let own = server.data("{ donations { totalCount } me { donations { totalCount } } }", json!({}), Some(&donor.access)).await;
        assert_eq!(own["donations"]["totalCount"], 2);
        assert_eq!(own["me"]["donations"]["totalCount"], 2);
    }
}

on_both_backends! {
    async fn concurrent_payments_and_retried_webhooks_are_each_recorded_once(server: TestServer) {
        // Payments recorded together share transactions (several at once on PostgreSQL);
        // a webhook retried with the other outcome, racing the first, must still leave
        // one outcome, one ledger movement and one event per donation.
        let admin = server.admin("batches@example.id").await;
        let service = service_account(&server, &admin).await;
        let sponsor = server.register("batch-fund@example.id", "SPONSOR").await;
        let donor = server.register("batch-donor@example.id", "USER").await;
        let (campaign, _) = active_campaign_with_challenge(&server, &sponsor, "Batches", None).await;
        let mut donations = Vec::new();
        for i in 0..30 {
            let amount = (1_000 + i).to_string();
            let (_, payment_ref) = donate(&server, &donor, &campaign, &amount).await;
            donations.push((payment_ref, amount));
        }
        let payments = donations.iter().enumerate().flat_map(|(i, (payment_ref, amount))| {
            // Every third donation also gets a racing "failed".
            [true, i % 3 != 0].map(|succeeded| {
                let body = json!({ "input": { "paymentRef": payment_ref, "succeeded": succeeded, "amount": { "amount": amount } } });
                let access = service.access.clone();
                let server = &server;
                async move { server.data(PAY, body, Some(&access)).await }
            })
        });
        let answers = futures::future::join_all(payments).await;
        let mut paid_total = 0;
        for (pair, (payment_ref, amount)) in answers.chunks(2).zip(&donations) {
            let (first, second) = (&pair[0]["recordPayment"], &pair[1]["recordPayment"]);
            assert_eq!(first["status"], second["status"], "{payment_ref}: one outcome for both callers");
            assert_eq!(first["id"], second["id"]);
            match first["status"].as_str() {
                Some("PAID") => paid_total += amount.parse::<i64>().unwrap(),
                Some("FAILED") => {}
                other => panic!("{payment_ref} is {other:?}"),
            }
        }
        assert!(paid_total >= 20 * 1_000, "the payments without a racing failure are paid");
        let expected = format!("{paid_total}.00");
        let raised = eventually(&server, RAISED, json!({ "id": campaign }), None, |d| d["campaign"]["raised"]["amount"] == expected.as_str()).await;
        assert_eq!(raised["campaign"]["donorCount"], 1);
        // One movement per paid donation: the campaign's account took exactly that.
        let statement = server.data(STATEMENT, json!({ "type": "CAMPAIGN", "id": campaign }), Some(&sponsor.access)).await;
        assert_eq!(statement["accountStatement"]["totalIn"]["amount"], expected.as_str());
        assert_eq!(statement["accountStatement"]["closingBalance"]["amount"], expected.as_str());
    }
}

on_both_backends! {
    async fn approvals_past_the_quota_are_recorded_but_not_paid(server: TestServer) {
        let sponsor = server.register("matcher@example.id", "SPONSOR").await;
        let (campaign, challenge) = active_campaign_with_challenge(&server, &sponsor, "Quota", Some(40)).await;
        let users: Vec<Session> = futures::future::join_all((0..50).map(|i| {
            let server = &server;
            async move { server.register(&format!("walker{i}@example.id"), "USER").await }
        }))
        .await;
        for user in &users {
            let joined = server.data(JOIN, json!({ "id": challenge }), Some(&user.access)).await["joinChallenge"]["id"].as_str().unwrap().to_owned();
            server.data(SUBMIT, json!({ "id": joined, "url": "https://p.example/walk.jpg" }), Some(&user.access)).await;
            server.data(REVIEW, json!({ "id": joined, "ok": true }), Some(&sponsor.access)).await;
        }
        let counts = server.data("query($id: ID!) { challenge(id: $id) { approvedCount remainingQuota } }", json!({ "id": challenge }), None).await;
        assert_eq!(counts["challenge"], json!({ "approvedCount": 50, "remainingQuota": 0 }));
        // Exactly 40 matches of 25,000.
        let raised = eventually(&server, RAISED, json!({ "id": campaign }), None, |d| d["campaign"]["raised"]["amount"] == "1000000.00").await;
        assert_eq!(raised["campaign"]["donorCount"], 1, "the sponsor counts once");
        let matches = server
            .data("query($id: ID!) { campaign(id: $id) { donations(first: 100) { totalCount edges { node { kind status challenge { id } participation { id } donor { id } } } } } }", json!({ "id": campaign }), Some(&sponsor.access))
            .await;
        assert_eq!(matches["campaign"]["donations"]["totalCount"], 40);
        let node = &matches["campaign"]["donations"]["edges"][0]["node"];
        assert_eq!(node["kind"], "SPONSOR_MATCH");
        assert_eq!(node["donor"]["id"], sponsor.user_id.as_str());
        // The sponsor's statement shows what they owe; the campaign's what it received.
        let sponsor_statement = server.data(STATEMENT, json!({ "type": "USER", "id": sponsor.user_id }), Some(&sponsor.access)).await;
        assert_eq!(sponsor_statement["accountStatement"]["totalOut"]["amount"], "1000000.00");
        assert_eq!(sponsor_statement["accountStatement"]["closingBalance"]["amount"], "-1000000.00");
        assert_eq!(sponsor_statement["accountStatement"]["entries"]["totalCount"], 40);
        // The ledger balances to zero.
        let totals = server.domains.donations.send(gerak_actors::donations::LedgerTotals).await.unwrap();
        assert!(totals.iter().all(|m| m.minor == 0), "{totals:?}");
    }
}

on_both_backends! {
    async fn statements_over_periods_balance(server: TestServer) {
        let admin = server.admin("auditor@example.id").await;
        let sponsor = server.register("periods@example.id", "SPONSOR").await;
        let donor = server.register("periodic@example.id", "USER").await;
        let (campaign, _) = active_campaign_with_challenge(&server, &sponsor, "Periods", None).await;
        let mut cuts = vec![chrono::Utc::now()];
        for (i, amount) in ["1000", "2000.50", "3000"].iter().enumerate() {
            let (_, payment_ref) = donate(&server, &donor, &campaign, amount).await;
            server.data(PAY, json!({ "input": { "paymentRef": payment_ref, "succeeded": true, "amount": { "amount": amount } } }), Some(&admin.access)).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            cuts.push(chrono::Utc::now());
            let _ = i;
        }
        // Every window [a, b) of the cut points: opening + in - out = closing, and
        // consecutive windows chain (one's closing is the next's opening).
        for owner in [json!({ "type": "USER", "id": donor.user_id }), json!({ "type": "CAMPAIGN", "id": campaign })] {
            let mut previous_closing: Option<f64> = None;
            for window in cuts.windows(2) {
                let mut vars = owner.clone();
                vars["from"] = json!(window[0]);
                vars["to"] = json!(window[1]);
                let s = server.data(STATEMENT, vars, Some(&admin.access)).await["accountStatement"].clone();
                let (open, inn, out, close) = (amount(&s["openingBalance"]["amount"]), amount(&s["totalIn"]["amount"]), amount(&s["totalOut"]["amount"]), amount(&s["closingBalance"]["amount"]));
                assert!((open + inn - out - close).abs() < 1e-9, "{s}");
                if let Some(previous) = previous_closing {
                    assert!((previous - open).abs() < 1e-9, "windows chain: {s}");
                }
                let last = s["entries"]["edges"].as_array().unwrap().last().map(|e| amount(&e["node"]["balanceAfter"]["amount"]));
                if let Some(last) = last {
                    assert!((last - close).abs() < 1e-9, "the last balanceAfter is the closing balance: {s}");
                }
                previous_closing = Some(close);
            }
        }
        let whole = server.data(STATEMENT, json!({ "type": "CAMPAIGN", "id": campaign }), Some(&sponsor.access)).await;
        assert_eq!(whole["accountStatement"]["closingBalance"]["amount"], "6000.50");
        let raised = eventually(&server, RAISED, json!({ "id": campaign }), None, |d| d["campaign"]["raised"]["amount"] == "6000.50").await;
        assert_eq!(raised["campaign"]["donorCount"], 1);
    }
}

on_both_backends! {
    async fn subscribers_see_progress_after_a_payment(server: TestServer) {
        use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
        let admin = server.admin("live@example.id").await;
        let sponsor = server.register("live-sponsor@example.id", "SPONSOR").await;
        let donor = server.register("live-donor@example.id", "USER").await;
        let (campaign, _) = active_campaign_with_challenge(&server, &sponsor, "Live", None).await;

        let mut request = format!("ws://{}/graphql", server.addr).into_client_request().unwrap();
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        socket.send(Message::text(json!({ "type": "connection_init", "payload": {} }).to_string())).await.unwrap();
        let _ack = socket.next().await;
        socket
            .send(Message::text(
                json!({ "id": "p", "type": "subscribe", "payload": { "query": "subscription($id: ID!) { campaignProgress(campaignId: $id) { campaignId raised { amount } donorCount } }", "variables": { "id": campaign } } }).to_string(),
            ))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        let (_, payment_ref) = donate(&server, &donor, &campaign, "7500").await;
        server.data(PAY, json!({ "input": { "paymentRef": payment_ref, "succeeded": true, "amount": { "amount": "7500" } } }), Some(&admin.access)).await;
        let message = loop {
            let next = tokio::time::timeout(Duration::from_secs(5), socket.next()).await.expect("a progress message in time");
            if let Some(Ok(Message::Text(text))) = next {
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                if value["type"] == "next" {
                    break value;
                }
            }
        };
        assert_eq!(message["payload"]["data"]["campaignProgress"], json!({ "campaignId": campaign, "raised": { "amount": "7500.00" }, "donorCount": 1 }));
    }
}

/// Redis only: a payment result published with a plain Redis client marks a donation
/// paid, three copies pay once, and a hundred malformed messages are dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_arrive_over_redis() {
    use redis::AsyncCommands;
    if !crate::support::servers_available().await {
        return;
    }
    let server = TestServer::start(Backend::Servers).await;
    let prefix = server.redis_prefix.clone();
    let sponsor = server.register("redis-sponsor@example.id", "SPONSOR").await;
    let donor = server.register("redis-donor@example.id", "USER").await;
    let (campaign, _) = active_campaign_with_challenge(&server, &sponsor, "Redis", None).await;
    let (id, payment_ref) = donate(&server, &donor, &campaign, "42000").await;
    let client = redis::Client::open(crate::support::redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let envelope = |id: &str, kind: &str, amount: &str| {
        json!({ "id": id, "type": kind, "version": 1, "occurredAt": "2026-11-21T10:00:00Z", "source": "payments", "data": { "paymentRef": payment_ref, "amount": amount, "currency": "IDR" } }).to_string()
    };
    // A wrong amount first: refused and dead-lettered, the donation stays PENDING.
    let _: () = redis
        .xadd(
            format!("{prefix}:stream:payments"),
            "*",
            &[("event", envelope("e0", "payments.succeeded", "1"))],
        )
        .await
        .unwrap();
    // Then the right one, three times, on the stream and the channel.
    let good = envelope(
        &uuid::Uuid::now_v7().to_string(),
        "payments.succeeded",
        "42000",
    );
    for _ in 0..2 {
        let _: () = redis
            .xadd(
                format!("{prefix}:stream:payments"),
                "*",
                &[("event", good.clone())],
            )
            .await
            .unwrap();
    }
    let _: () = redis
        .publish(format!("{prefix}.payments"), good.clone())
        .await
        .unwrap();
    // A hundred malformed messages of every kind: none applied, none stops the consumer.
    let junk: Vec<String> = (0..100)
        .map(|i| match i % 5 {
            0 => format!("not json {i}"),
            1 => json!({ "id": format!("junk-{i}"), "type": "payments.teleported", "data": {} }).to_string(),
            2 => json!({ "type": "payments.succeeded" }).to_string(),
            3 => json!({ "id": format!("junk-{i}"), "type": "payments.succeeded", "version": 1, "occurredAt": "2026-11-21T10:00:00Z", "source": "payments", "data": { "paymentRef": payment_ref, "amount": "forty", "currency": "IDR" } }).to_string(),
            _ => json!({ "id": format!("junk-{i}"), "type": "payments.succeeded", "version": 1, "occurredAt": "2026-11-21T10:00:00Z", "source": "payments", "data": { "paymentRef": format!("NOPE-{i}\u{0}<script>"), "amount": "42000", "currency": "IDR" } }).to_string(),
        })
        .collect();
    for junk in &junk {
        let _: () = redis
            .xadd(format!("{prefix}:stream:payments"), "*", &[("event", junk)])
            .await
            .unwrap();
    }
    let status = "query($id: ID!) { donation(id: $id) { status } }";
    eventually(
        &server,
        status,
        json!({ "id": id }),
        Some(&donor.access),
        |d| d["donation"]["status"] == "PAID",
    )
    .await;
    let raised = eventually(&server, RAISED, json!({ "id": campaign }), None, |d| {
        d["campaign"]["raised"]["amount"] == "42000.00"
    })
    .await;
    assert_eq!(raised["campaign"]["donorCount"], 1);
    let started = std::time::Instant::now();
    loop {
        let dead: usize = redis
            .xlen(format!("{prefix}:stream:dead-letter"))
            .await
            .unwrap();
        if dead >= 101 {
            assert_eq!(
                dead, 101,
                "the wrong amount and a hundred malformed messages, nothing else"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "dead letters: {dead}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let raised = server.data(RAISED, json!({ "id": campaign }), None).await;
    assert_eq!(
        raised["campaign"]["raised"]["amount"], "42000.00",
        "three copies paid once"
    );
}
