//! Health, readiness, metrics and GraphiQL.

use serde_json::{Value, json};

use crate::{
    on_both_backends,
    support::{Backend, TestServer},
};

on_both_backends! {
    async fn health_readiness_and_metrics(server: TestServer) {
        let health = server.http.get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);

        let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        // Every answer names its request, each with an id of its own; one sent by a proxy
        // in front is kept, on the answer and in its errors.
        assert_ne!(health.headers()["x-request-id"], ready.headers()["x-request-id"]);
        let response = server
            .post_raw(&json!({ "query": "{ nope }" }), None, &[("x-request-id", "proxy-42")])
            .await;
        let echoed: Vec<_> = response.headers().get_all("x-request-id").iter().collect();
        assert_eq!(echoed, ["proxy-42"]);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["requestId"], "proxy-42");
        let ready: Value = ready.json().await.unwrap();
        for domain in ["users", "campaigns", "challenges", "donations", "reports"] {
            assert_eq!(ready["domains"][domain]["ready"], true, "{ready:#}");
        }
        let transport = if server.backend == Backend::Servers { "redis" } else { "in-process" };
        assert_eq!(ready["bus"], json!({ "ready": true, "transport": transport }));

        server.gql("query Probe { __typename }", json!({}), None).await;
        server.gql("{ users { totalCount } }", json!({}), None).await;
        let metrics = server.http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("gerak_graphql_requests_total"), "{metrics}");
        assert!(metrics.contains("gerak_graphql_operations_total{operation=\"Probe\"}"), "{metrics}");
        assert!(metrics.contains("gerak_graphql_request_seconds"), "{metrics}");
        assert!(metrics.contains("gerak_graphql_errors_total{code=\"UNAUTHENTICATED\"}"), "{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_is_served_offline() {
    let server = TestServer::start(Backend::Embedded).await;
    let page = server
        .http
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("GraphiQL"));
    assert!(
        !page.contains("https://"),
        "no asset may come from the internet"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphql-ws.min.js",
    ] {
        assert!(page.contains(&format!("/graphiql/{asset}")), "{asset}");
        let response = server
            .http
            .get(server.url(&format!("/graphiql/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 1000);
    }
    let missing = server
        .http
        .get(server.url("/graphiql/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let response = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_profile_closes_graphiql_and_introspection() {
    let server = TestServer::start_with(Backend::Embedded, &["--profile", "production"]).await;
    let page = server.http.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    let body = server
        .gql("{ __schema { queryType { name } } }", json!({}), None)
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("introspection is disabled"),
        "{body}"
    );
    let body = server.gql("{ __typename }", json!({}), None).await;
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_hides_suggestions_and_graphiql_can_be_opened_explicitly() {
    // In development the error suggests the right field name...
    let dev = TestServer::start(Backend::Embedded).await;
    let body = dev
        .gql("{ userz(id: \"x\") { id } }", json!({}), None)
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{body}"
    );
    drop(dev);
    // ...in production it does not, so the schema cannot be guessed field by field.
    let prod = TestServer::start_with(Backend::Embedded, &["--profile", "production"]).await;
    let body = prod
        .gql("{ userz(id: \"x\") { id } }", json!({}), None)
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("Did you mean") && !message.contains("\"user\""),
        "{body}"
    );
    let body = prod
        .gql(
            "{ __type(name: \"User\") { fields { name } } }",
            json!({}),
            None,
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("introspection is disabled"),
        "{body}"
    );
    drop(prod);

    let opened = TestServer::start_with(
        Backend::Embedded,
        &["--profile", "production", "--graphiql", "true"],
    )
    .await;
    let page = opened.http.get(opened.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("GraphiQL"));
}
