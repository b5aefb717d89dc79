//! Rate limits: per client, per failed login, per mutation; shared through Redis, and
//! still enforced when Redis is gone. Limits are per hour here so that no refill can
//! happen while a test runs.

use serde_json::{Value, json};

use crate::support::{Backend, TestServer, error_code, servers_available};

const PING: &str = "{ __typename }";

/// Parses `limit=3, remaining=2, reset=1200` into (limit, remaining, reset).
fn rate_limit(response: &reqwest::Response) -> (u64, u64, u64) {
    let header = response
        .headers()
        .get("ratelimit")
        .unwrap_or_else(|| panic!("no RateLimit header: {:?}", response.headers()))
        .to_str()
        .unwrap()
        .to_owned();
    let field = |name: &str| -> u64 {
        header
            .split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing in {header}"))
            .parse()
            .unwrap()
    };
    (field("limit"), field("remaining"), field("reset"))
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After header: {:?}", response.headers()))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn per_client_budget(backend: Backend) {
    let server =
        TestServer::start_with(backend, &["--rate-anonymous", "3/h", "--rate-user", "4/h"]).await;
    // Registering is one anonymous request of the three.
    let session = server.register("kuota@example.id", "USER").await;

    let ping = json!({ "query": PING });
    let response = server.post_raw(&ping, None, &[]).await;
    assert_eq!(response.status(), 200);
    let (limit, remaining, reset) = rate_limit(&response);
    assert_eq!((limit, remaining), (3, 1));
    assert!((1..=3600).contains(&reset), "{reset}");

    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    let response = server
        .post_raw(&ping, None, &[("x-forwarded-for", "203.0.113.50")])
        .await;
    assert_eq!(rate_limit(&response).1, 0);
    let refused = server
        .post_raw(&ping, None, &[("x-forwarded-for", "203.0.113.51")])
        .await;
    assert_eq!(refused.status(), 429);
    let wait = retry_after(&refused);
    assert!((1..=1200).contains(&wait), "{wait}");
    assert_eq!(rate_limit(&refused).1, 0);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], wait);
    assert!(body.get("data").is_none());

    // A logged-in user has a budget of their own.
    for remaining in [3, 2, 1, 0] {
        let response = server.post_raw(&ping, Some(&session.access), &[]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            rate_limit(&response),
            (4, remaining, rate_limit(&response).2)
        );
    }
    let refused = server.post_raw(&ping, Some(&session.access), &[]).await;
    assert_eq!(refused.status(), 429);
    assert!(retry_after(&refused) >= 1);

    // GET counts the same way.
    let get = server
        .http
        .get(server.url("/graphql"))
        .query(&[("query", PING)])
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_budget_embedded() {
    per_client_budget(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_budget_servers() {
    if servers_available().await {
        per_client_budget(Backend::Servers).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_counts_behind_a_trusted_proxy() {
    let server = TestServer::start_with(
        Backend::Embedded,
        &[
            "--rate-anonymous",
            "2/h",
            "--trusted-proxies",
            "10.0.0.0/8, 127.0.0.1",
        ],
    )
    .await;
    let ping = json!({ "query": PING });
    for _ in 0..2 {
        let ok = server
            .post_raw(&ping, None, &[("x-forwarded-for", "198.51.100.1")])
            .await;
        assert_eq!(ok.status(), 200);
    }
    // The client's own forged entry is left of what the proxy saw, and is ignored.
    let refused = server
        .post_raw(&ping, None, &[("x-forwarded-for", "1.2.3.4, 198.51.100.1")])
        .await;
    assert_eq!(refused.status(), 429);
    let other = server
        .post_raw(
            &ping,
            None,
            &[("x-forwarded-for", "198.51.100.2, 10.1.1.1")],
        )
        .await;
    assert_eq!(
        other.status(),
        200,
        "another client behind the same proxies"
    );
}

async fn login_failures(backend: Backend) {
    let server = TestServer::start_with(
        backend,
        &["--rate-login-account", "3/h", "--rate-login-ip", "5/h"],
    )
    .await;
    server.register("ani@example.id", "USER").await;
    server.register("budi@example.id", "USER").await;
    let login =
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
    let attempt = |email: &str, password: &str| json!({ "query": login, "variables": { "e": email, "p": password } });

    // Successful logins are not failures.
    for _ in 0..4 {
        let ok = server
            .post_raw(
                &attempt("budi@example.id", "correct horse battery"),
                None,
                &[],
            )
            .await;
        let body: Value = ok.json().await.unwrap();
        assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    }

    // Three failures for one account, however the email is spelled...
    for email in ["ani@example.id", " ANI@example.id", "Ani@Example.ID "] {
        let body: Value = server
            .post_raw(&attempt(email, "wrong password!"), None, &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    // ...and the account is closed to further attempts, even with the right password.
    let refused = server
        .post_raw(
            &attempt("ani@example.id", "correct horse battery"),
            None,
            &[],
        )
        .await;
    let wait = retry_after(&refused);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], wait);
    assert_eq!(body["errors"][0]["path"], json!(["login"]));
    assert!((1..=1200).contains(&wait), "{wait}");
    // Other accounts still log in.
    let body: Value = server
        .post_raw(
            &attempt("budi@example.id", "correct horse battery"),
            None,
            &[],
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(body["data"]["login"].is_object(), "{body}");

    // The address has 3 failures of 5: two more on other accounts, then it is closed.
    for email in ["nobody1@example.id", "nobody2@example.id"] {
        let body: Value = server
            .post_raw(&attempt(email, "wrong password!"), None, &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    let inline = json!({ "query": "mutation { login(email: \"budi@example.id\", password: \"correct horse battery\") { accessToken } }" });
    let body: Value = server
        .post_raw(&inline, None, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failures_embedded() {
    login_failures(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failures_servers() {
    if servers_available().await {
        login_failures(Backend::Servers).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_per_address_and_refused_input_does_not_count() {
    let server = TestServer::start_with(Backend::Embedded, &["--rate-register", "2/h"]).await;
    let register = "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";
    let input = |email: &str, password: &str| json!({ "query": register, "variables": { "input": { "email": email, "password": password, "fullName": "Reg" } } });
    let short: Value = server
        .post_raw(&input("a@example.id", "short"), None, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&short), "BAD_USER_INPUT");
    for email in ["a@example.id", "b@example.id"] {
        let body: Value = server
            .post_raw(&input(email, "long enough pw"), None, &[])
            .await
            .json()
            .await
            .unwrap();
        assert!(body["data"]["register"]["user"]["id"].is_string(), "{body}");
    }
    let refused = server
        .post_raw(&input("c@example.id", "long enough pw"), None, &[])
        .await;
    assert_eq!(
        refused.status(),
        200,
        "a field error, not a refused request"
    );
    let wait = retry_after(&refused);
    assert!((1..=1800).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED");
    assert_eq!(body["errors"][0]["path"], json!(["register"]));
    assert_eq!(body["data"], json!(null));
    // Nothing was created.
    let login = server
        .gql("mutation { login(email: \"c@example.id\", password: \"long enough pw\") { accessToken } }", json!({}), None)
        .await;
    assert_eq!(error_code(&login), "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_of_a_batch_counts() {
    let server = TestServer::start_with(Backend::Embedded, &["--rate-anonymous", "5/h"]).await;
    let batch = json!([{ "query": PING }, { "query": PING }, { "query": PING }]);
    let response = server.post_raw(&batch, None, &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(rate_limit(&response).1, 2);
    let refused = server.post_raw(&batch, None, &[]).await;
    assert_eq!(refused.status(), 429);
    // What was refused was not spent: one request still fits... (4 of 5 were spent).
    let response = server.post_raw(&json!({ "query": PING }), None, &[]).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_in_process_when_redis_is_gone() {
    // Nothing listens on port 1: every Redis call fails at once.
    let server = TestServer::start_with(
        Backend::Embedded,
        &[
            "--redis-url",
            "redis://127.0.0.1:1",
            "--rate-anonymous",
            "3/h",
        ],
    )
    .await;
    let ping = json!({ "query": PING });
    for remaining in [2, 1, 0] {
        let response = server.post_raw(&ping, None, &[]).await;
        assert_eq!(response.status(), 200, "not everything is refused");
        assert_eq!(rate_limit(&response).1, remaining);
    }
    let refused = server.post_raw(&ping, None, &[]).await;
    assert_eq!(refused.status(), 429, "not everything is let through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_one_budget_through_redis() {
    if !servers_available().await {
        return;
    }
    let prefix = TestServer::unique_prefix();
    let flags = ["--rate-login-account", "2/h", "--redis-prefix", &prefix];
    let a = TestServer::start_with(Backend::Servers, &flags).await;
    let b = TestServer::start_with(Backend::Servers, &flags).await;
    let login = json!({ "query": "mutation { login(email: \"shared@example.id\", password: \"wrong password!\") { accessToken } }" });
    for _ in 0..2 {
        let body: Value = a.post_raw(&login, None, &[]).await.json().await.unwrap();
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    let body: Value = b.post_raw(&login, None, &[]).await.json().await.unwrap();
    assert_eq!(
        error_code(&body),
        "RATE_LIMITED",
        "the other instance knows: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_over_a_websocket_counts() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    use crate::subscriptions::{next, open};

    let server = TestServer::start_with(Backend::Embedded, &["--rate-anonymous", "3/h"]).await;
    // The upgrade is one request.
    let mut socket = open(&server, json!({})).await;
    let wait = std::time::Duration::from_secs(5);
    assert_eq!(
        next(&mut socket, wait).await.unwrap()["type"],
        "connection_ack"
    );
    for id in ["1", "2", "3"] {
        socket
            .send(Message::text(
                json!({ "id": id, "type": "subscribe", "payload": { "query": PING } }).to_string(),
            ))
            .await
            .unwrap();
        let mut reply = next(&mut socket, wait).await.unwrap();
        while reply["type"] == "complete" {
            reply = next(&mut socket, wait).await.unwrap();
        }
        assert_eq!(reply["id"], id, "{reply}");
        if id == "3" {
            assert!(reply.to_string().contains("RATE_LIMITED"), "{reply}");
        } else {
            assert_eq!(reply["payload"]["data"]["__typename"], "Query", "{reply}");
        }
    }
}
