//! GraphQL over HTTP: media types, status codes, GET, limits.

use serde_json::{Value, json};

use crate::support::{Backend, TestServer};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(
    server: &TestServer,
    accept: Option<&str>,
    content_type: &str,
    body: String,
) -> (u16, String, Value) {
    let mut request = server
        .http
        .post(server.url("/graphql"))
        .header("content-type", content_type)
        .body(body);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, media, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_types_and_status_codes() {
    let server = TestServer::start(Backend::Embedded).await;
    let ok = json!({ "query": "{ __typename }" }).to_string();

    // No Accept: legacy JSON.
    let (status, media, body) = post(&server, None, "application/json", ok.clone()).await;
    assert_eq!(
        (status, body["data"]["__typename"].as_str()),
        (200, Some("Query"))
    );
    assert!(media.starts_with("application/json"), "{media}");

    // The spec's media type when asked for.
    let (status, media, _) = post(
        &server,
        Some(GRAPHQL_RESPONSE),
        "application/json",
        ok.clone(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(media.starts_with(GRAPHQL_RESPONSE), "{media}");
    let (_, media, _) = post(
        &server,
        Some("application/json;q=0.9, application/graphql-response+json"),
        "application/json",
        ok.clone(),
    )
    .await;
    assert!(media.starts_with(GRAPHQL_RESPONSE));

    // Nothing acceptable.
    let (status, _, _) = post(&server, Some("text/html"), "application/json", ok.clone()).await;
    assert_eq!(status, 406);

    // Wrong request media type.
    let (status, _, body) = post(&server, None, "text/plain", ok.clone()).await;
    assert_eq!(status, 415);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Not JSON, or no query: 400 whatever the Accept.
    for accept in [None, Some(GRAPHQL_RESPONSE)] {
        let (status, _, body) =
            post(&server, accept, "application/json", "{not json".to_owned()).await;
        assert_eq!(status, 400);
        assert!(body["errors"][0]["message"].is_string());
        let (status, _, _) = post(
            &server,
            accept,
            "application/json",
            json!({ "variables": {} }).to_string(),
        )
        .await;
        assert_eq!(status, 400);
    }

    // A document that does not validate: 400 with the spec's type, 200 with legacy JSON;
    // never a `data` entry.
    let invalid = json!({ "query": "{ noSuchField }" }).to_string();
    let (status, _, body) = post(
        &server,
        Some(GRAPHQL_RESPONSE),
        "application/json",
        invalid.clone(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.get("data").is_none());
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let (status, _, body) = post(
        &server,
        Some("application/json"),
        "application/json",
        invalid,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("data").is_none());
    let (status, _, _) = post(
        &server,
        Some(GRAPHQL_RESPONSE),
        "application/json",
        json!({ "query": "{ me { " }).to_string(),
    )
    .await;
    assert_eq!(status, 400);

    // A field error is still 200 with data.
    let (status, _, body) = post(
        &server,
        Some(GRAPHQL_RESPONSE),
        "application/json",
        json!({ "query": "{ users { totalCount } }" }).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("data").is_some());
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_requests_and_batches() {
    let server = TestServer::start(Backend::Embedded).await;
    let response = server
        .http
        .get(server.url("/graphql"))
        .query(&[
            ("query", "query Q($x: ID!) { user(id: $x) { id } }"),
            (
                "variables",
                &json!({ "x": uuid::Uuid::now_v7().to_string() }).to_string(),
            ),
            ("operationName", "Q"),
        ])
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["user"], json!(null));

    // Refused over GET whether its document was parsed before or not: the POST below
    // leaves it remembered by the schema, where the GET's look-up finds it.
    for sent_before in [false, true] {
        if sent_before {
            server
                .http
                .post(server.url("/graphql"))
                .json(&json!({ "query": "mutation { logout(refreshToken: \"x\") }" }))
                .send()
                .await
                .unwrap();
        }
        let response = server
            .http
            .get(server.url("/graphql"))
            .query(&[("query", "mutation { logout(refreshToken: \"x\") }")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "sent before: {sent_before}");
        assert_eq!(response.headers()["allow"], "POST");
    }

    let response = server
        .http
        .get(server.url("/graphql"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let batch =
        json!([{ "query": "{ a: __typename }" }, { "query": "{ b: __typename }" }]).to_string();
    let (status, _, body) = post(&server, None, "application/json", batch).await;
    assert_eq!(status, 200);
    assert_eq!(body[1]["data"]["b"], "Query");
    let too_many: Vec<Value> = (0..11)
        .map(|_| json!({ "query": "{ __typename }" }))
        .collect();
    let (status, _, body) = post(
        &server,
        None,
        "application/json",
        Value::Array(too_many).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_refuse_abusive_requests_clearly() {
    let server = TestServer::start_with(Backend::Embedded, &["--max-depth", "5"]).await;

    // Body over 2 MB.
    let huge =
        json!({ "query": format!("{{ __typename }} # {}", "x".repeat(2 * 1024 * 1024 + 10)) })
            .to_string();
    let (status, _, body) = post(&server, None, "application/json", huge).await;
    assert_eq!(status, 413);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than")
    );

    // Too deep.
    let deep = json!({ "query": "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }" }).to_string();
    let (status, _, body) = post(&server, Some(GRAPHQL_RESPONSE), "application/json", deep).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("nested"),
        "{body}"
    );

    // Too many aliases.
    let aliases: String = (0..101).map(|i| format!("a{i}: __typename ")).collect();
    let (status, _, body) = post(
        &server,
        Some(GRAPHQL_RESPONSE),
        "application/json",
        json!({ "query": format!("{{ {aliases} }}") }).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("101 aliases"),
        "{body}"
    );

    // The server still serves.
    let (status, _, body) = post(
        &server,
        None,
        "application/json",
        json!({ "query": "{ __typename }" }).to_string(),
    )
    .await;
    assert_eq!(
        (status, body["data"]["__typename"].as_str()),
        (200, Some("Query"))
    );
}
