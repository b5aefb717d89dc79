//! A domain that panics, or whose database goes away, fails only its own fields; the
//! other domains keep answering in the same request, and the domain comes back.

use std::time::{Duration, Instant};

use gerak_actors::Domain;
use serde_json::json;

use crate::{
    on_both_backends,
    support::{Backend, TestServer, error_code},
};

const MIXED: &str = "{ me { id } campaigns: domainStatus(domain: CAMPAIGNS) { ready } donations: domainStatus(domain: DONATIONS) { ready } }";

on_both_backends! {
    async fn a_panicking_domain_fails_alone_and_recovers(server: TestServer) {
        let admin = server.admin("ops@example.id").await;
        server.data(MIXED, json!({}), Some(&admin.access)).await;

        server.domains.faults(Domain::Users).unwrap().panic_next(1);
        let body = server.gql(MIXED, json!({}), Some(&admin.access)).await;
        assert_eq!(body["data"]["me"], json!(null), "{body:#}");
        assert_eq!(body["data"]["campaigns"]["ready"], true, "{body:#}");
        assert_eq!(body["data"]["donations"]["ready"], true, "{body:#}");
        let errors = body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{body:#}");
        assert_eq!(errors[0]["path"], json!(["me"]));
        let code = errors[0]["extensions"]["code"].as_str().unwrap();
        assert!(code == "INTERNAL" || code == "UNAVAILABLE", "{code}");
        assert!(errors[0]["extensions"]["requestId"].is_string());
        assert!(!errors[0]["message"].as_str().unwrap().contains("injected"), "panic details stay in the logs");

        // Serving again within a second.
        let started = Instant::now();
        loop {
            let body = server.gql(MIXED, json!({}), Some(&admin.access)).await;
            if body.get("errors").is_none() {
                assert_eq!(body["data"]["me"]["id"], admin.user_id.as_str());
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(1), "users domain still failing: {body:#}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = server.data("{ domainStatus(domain: USERS) { ready restarts } }", json!({}), Some(&admin.access)).await;
        assert_eq!(status["domainStatus"]["ready"], true);
        assert!(status["domainStatus"]["restarts"].as_i64().unwrap() >= 1, "the supervisor restarted the actor");

        // Several panics in a row, with requests in flight on other domains meanwhile.
        server.domains.faults(Domain::Users).unwrap().panic_next(3);
        let requests = (0..6).map(|_| server.gql(MIXED, json!({}), Some(&admin.access)));
        for body in futures::future::join_all(requests).await {
            assert_eq!(body["data"]["campaigns"]["ready"], true, "{body:#}");
        }
        let body = server.gql(MIXED, json!({}), Some(&admin.access)).await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
}

/// PostgreSQL only: a domain's database stops accepting connections, and comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_unavailable_for_its_domain_only() {
    use sea_orm::{ConnectionTrait, Database};
    if !crate::support::servers_available().await {
        return;
    }
    let server = TestServer::start(Backend::Servers).await;
    let admin = server.admin("dba@example.id").await;
    let users_db = server.databases[0].clone();
    let pg = Database::connect(crate::support::postgres_admin_url())
        .await
        .unwrap();
    pg.execute_unprepared(&format!(
        "ALTER DATABASE \"{users_db}\" ALLOW_CONNECTIONS false"
    ))
    .await
    .unwrap();
    pg.execute_unprepared(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{users_db}' AND pid <> pg_backend_pid()"
    ))
    .await
    .unwrap();

    let body = server.gql(MIXED, json!({}), Some(&admin.access)).await;
    assert_eq!(body["data"]["me"], json!(null), "{body:#}");
    assert_eq!(body["data"]["campaigns"]["ready"], true, "{body:#}");
    assert_eq!(error_code(&body), "UNAVAILABLE", "{body:#}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("users")
    );
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    pg.execute_unprepared(&format!(
        "ALTER DATABASE \"{users_db}\" ALLOW_CONNECTIONS true"
    ))
    .await
    .unwrap();
    let started = Instant::now();
    loop {
        let body = server.gql(MIXED, json!({}), Some(&admin.access)).await;
        if body.get("errors").is_none() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no recovery: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}
