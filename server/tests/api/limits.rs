//! Abusive documents are refused with a clear error, cheaply, and the server goes on.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::support::{Backend, TestServer, error_code};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn refused(server: &TestServer, body: String) -> (u16, Value) {
    let response = server
        .http
        .post(server.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", GRAPHQL_RESPONSE)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abusive_requests_are_refused_and_the_server_keeps_serving() {
    let server = TestServer::start(Backend::Embedded).await;

    // 10 MB, declared: refused from the headers alone, before the body is read.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"query\":",
        10 * 1024 * 1024
    )
    .unwrap();
    let mut head = [0u8; 512];
    let n = stream.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("larger than 2097152 bytes"), "{head}");
    drop(stream);

    // 10 MB, sent in full.
    let huge = json!({ "query": format!("{{ __typename }} # {}", "x".repeat(10 * 1024 * 1024)) })
        .to_string();
    let (status, body) = refused(&server, huge).await;
    assert_eq!(status, 413);
    assert!(message(&body).contains("larger than"), "{body}");

    // Nested 10,000 deep: the parser never sees it.
    let deep = format!("{}{}", "{ me ".repeat(10_000), "}".repeat(10_000));
    let (status, body) = refused(&server, json!({ "query": deep }).to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(
        message(&body).contains("nested more than 32 levels"),
        "{body}"
    );
    // Deeper than the depth limit but within the bracket limit: async-graphql's depth check.
    let deep_but_bracketed = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(13),
        "} ".repeat(13)
    );
    let (status, body) = refused(&server, json!({ "query": deep_but_bracketed }).to_string()).await;
    assert_eq!(status, 400);
    assert!(message(&body).to_lowercase().contains("nested"), "{body}");

    // 1,000 aliases.
    let aliases: String = (0..1000).map(|i| format!("a{i}: __typename ")).collect();
    let (status, body) = refused(
        &server,
        json!({ "query": format!("{{ {aliases} }}") }).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        message(&body).contains("1000 aliases; at most 100"),
        "{body}"
    );

    // A 100-operation batch.
    let batch: Vec<Value> = (0..100)
        .map(|_| json!({ "query": "{ __typename }" }))
        .collect();
    let (status, body) = refused(&server, Value::Array(batch).to_string()).await;
    assert_eq!(status, 400);
    assert!(
        message(&body).contains("at most 10 operations; this one has 100"),
        "{body}"
    );

    // Directives, tokens, length.
    let directives = format!("{{ __typename {} }}", "@include(if: true) ".repeat(60));
    let (status, body) = refused(&server, json!({ "query": directives }).to_string()).await;
    assert_eq!(status, 400);
    assert!(
        message(&body).contains("60 directives; at most 50"),
        "{body}"
    );
    let tokens = format!("{{ {} }}", "a ".repeat(6000));
    let (status, body) = refused(&server, json!({ "query": tokens }).to_string()).await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("more than 5000 tokens"), "{body}");
    let long = format!("{{ __typename }} # {}", "x".repeat(70 * 1024));
    let (status, body) = refused(&server, json!({ "query": long }).to_string()).await;
    assert_eq!(status, 400);
    assert!(
        message(&body).contains("at most 65536 are allowed"),
        "{body}"
    );
    // Fragments that spread each other deeper and deeper.
    let mut fragments = String::from("{ ...F0 } ");
    for i in 0..40 {
        fragments.push_str(&format!("fragment F{i} on Query {{ ...F{} }} ", i + 1));
    }
    fragments.push_str("fragment F40 on Query { __typename }");
    let (status, body) = refused(&server, json!({ "query": fragments }).to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    // Still serving.
    let data = server.data("{ __typename }", json!({}), None).await;
    assert_eq!(data["__typename"], "Query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_limits_are_settings() {
    let server = TestServer::start_with(
        Backend::Embedded,
        &[
            "--max-directives",
            "1",
            "--max-tokens",
            "30",
            "--max-query-bytes",
            "100",
            "--max-recursive-depth",
            "3",
        ],
    )
    .await;
    for (query, expect) in [
        (
            "{ __typename @include(if: true) @skip(if: false) }",
            "2 directives; at most 1",
        ),
        (
            "{ me { id } me { id } me { id } me { id } me { id } me { id } me { id } me { id } }",
            "more than 30 tokens",
        ),
        (
            "{ me { id } } # padding padding padding padding padding padding padding padding padding padding padding",
            "at most 100 are allowed",
        ),
        ("{ me { id { x { y } } } }", "nested more than 3 levels"),
    ] {
        let (status, body) = refused(&server, json!({ "query": query }).to_string()).await;
        assert_eq!(status, 400, "{query}");
        assert!(message(&body).contains(expect), "{query}: {body}");
    }
    assert_eq!(
        server.data("{ __typename }", json!({}), None).await["__typename"],
        "Query"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_capacity_operations_wait_their_turn_then_are_refused_as_unavailable() {
    // One operation at a time, and no waiting: concurrent logins (each hashes a password)
    // overlap, so some are refused.
    let server = TestServer::start_with(
        Backend::Embedded,
        &["--max-in-flight", "1", "--queue-timeout-ms", "0"],
    )
    .await;
    server.register("busy@example.id", "USER").await;
    let login = json!({
        "query": "mutation { login(email: \"busy@example.id\", password: \"correct horse battery\") { accessToken } }"
    });
    let answers = futures::future::join_all((0..12).map(|_| async {
        let response = server.post_raw(&login, None, &[]).await;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap();
        (status, retry_after, body)
    }))
    .await;
    let (mut served, mut refused) = (0, 0);
    for (status, retry_after, body) in &answers {
        if body["data"]["login"]["accessToken"].is_string() {
            assert_eq!(*status, 200, "{body}");
            served += 1;
        } else {
            assert_eq!(*status, 503, "{body}");
            assert_eq!(error_code(body), "UNAVAILABLE", "{body}");
            assert!(message(body).contains("at capacity"), "{body}");
            assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 1, "{body}");
            assert!(
                body["errors"][0]["extensions"]["requestId"].is_string(),
                "{body}"
            );
            assert_eq!(retry_after.as_deref(), Some("1"), "{body}");
            refused += 1;
        }
    }
    assert!(
        served >= 1 && refused >= 1,
        "{served} served, {refused} refused"
    );
    // The turn is handed back: the next operation runs.
    let data = server.data("{ __typename }", json!({}), None).await;
    assert_eq!(data["__typename"], "Query");
}
