//! CORS: the configured origins only, with credentials; none configured, no headers.

use crate::support::{Backend, TestServer};

async fn post_from(server: &TestServer, origin: &str) -> reqwest::Response {
    server
        .http
        .post(server.url("/graphql"))
        .header("origin", origin)
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_listed_origins_get_cors_headers() {
    let server = TestServer::start_with(
        Backend::Embedded,
        &[
            "--cors-origins",
            "https://app.example.id, https://admin.example.id",
        ],
    )
    .await;
    let allowed = post_from(&server, "https://admin.example.id").await;
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://admin.example.id"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let exposed = headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("x-request-id")
            && exposed.contains("ratelimit")
            && exposed.contains("retry-after"),
        "{exposed}"
    );

    let stranger = post_from(&server, "https://evil.example").await;
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        stranger
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );

    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/graphql"))
        .header("origin", "https://app.example.id")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.id"
    );
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("authorization")
    );
    let evil = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/graphql"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_origins_no_cors() {
    let server = TestServer::start(Backend::Embedded).await;
    let response = post_from(&server, "https://app.example.id").await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}

#[test]
fn wildcards_and_paths_are_not_origins() {
    use clap::Parser;
    for origins in [
        "*",
        "https://app.example.id/",
        "app.example.id",
        "https://*.example.id",
    ] {
        let cli = gerak_server::cli::Cli::try_parse_from([
            "gerak",
            "--jwt-secret",
            crate::support::JWT_SECRET,
            "--data-dir",
            std::env::temp_dir()
                .join("gerak-cors-config")
                .to_str()
                .unwrap(),
            "--cors-origins",
            origins,
        ])
        .unwrap();
        assert!(
            gerak_server::config::Config::resolve(cli.settings).is_err(),
            "{origins}"
        );
    }
}
