//! Automatic persisted queries (in memory, or shared through Redis) and the safelist.

use std::path::PathBuf;

use clap::Parser;
use gerak_server::{
    cli::Cli,
    config::{Config, ConfigError},
};
use serde_json::{Value, json};

use crate::{
    on_both_backends,
    support::{Backend, TestServer, error_code, servers_available},
};

fn sha256(text: &str) -> String {
    gerak_schema::persisted::query_hash(text)
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

on_both_backends! {
    async fn queries_are_registered_once_and_then_sent_by_hash(server: TestServer) {
        let query = "query Ping { __typename }";
        let hash = sha256(query);

        let unknown = server.post_raw(&json!({ "extensions": persisted(&hash) }), None, &[]).await;
        let body: Value = unknown.json().await.unwrap();
        assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound", "{body}");
        assert_eq!(error_code(&body), "BAD_USER_INPUT");

        let wrong = server.post_raw(&json!({ "query": query, "extensions": persisted(&sha256("other")) }), None, &[]).await;
        let body: Value = wrong.json().await.unwrap();
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("sha"), "{body}");

        let registered = server.post_raw(&json!({ "query": query, "extensions": persisted(&hash) }), None, &[]).await;
        let body: Value = registered.json().await.unwrap();
        assert_eq!(body["data"]["__typename"], "Query", "{body}");

        let by_hash = server.post_raw(&json!({ "extensions": persisted(&hash) }), None, &[]).await;
        let body: Value = by_hash.json().await.unwrap();
        assert_eq!(body["data"]["__typename"], "Query", "{body}");

        // GET, as CDNs like it.
        let get = server
            .http
            .get(server.url("/graphql"))
            .query(&[("extensions", persisted(&hash).to_string())])
            .send()
            .await
            .unwrap();
        let body: Value = get.json().await.unwrap();
        assert_eq!(body["data"]["__typename"], "Query", "{body}");

        // A persisted mutation still cannot run over GET.
        let mutation = "mutation { logout(refreshToken: \"nothing\") }";
        let mutation_hash = sha256(mutation);
        server.post_raw(&json!({ "query": mutation, "extensions": persisted(&mutation_hash) }), None, &[]).await;
        let get = server
            .http
            .get(server.url("/graphql"))
            .query(&[("extensions", persisted(&mutation_hash).to_string())])
            .send()
            .await
            .unwrap();
        let body: Value = get.json().await.unwrap();
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert!(body.get("data").is_none(), "{body}");

        // Registering does not get around the limits.
        let aliases: String = (0..101).map(|i| format!("a{i}: __typename ")).collect();
        let greedy = format!("{{ {aliases} }}");
        let body: Value = server
            .post_raw(&json!({ "query": greedy, "extensions": persisted(&sha256(&greedy)) }), None, &[])
            .await
            .json()
            .await
            .unwrap();
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("101 aliases"), "{body}");
        let body: Value = server.post_raw(&json!({ "extensions": persisted(&sha256(&greedy)) }), None, &[]).await.json().await.unwrap();
        assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_persisted_queries_through_redis() {
    if !servers_available().await {
        return;
    }
    let prefix = TestServer::unique_prefix();
    let a = TestServer::start_with(Backend::Servers, &["--redis-prefix", &prefix]).await;
    let b = TestServer::start_with(Backend::Servers, &["--redis-prefix", &prefix]).await;
    let query = "query($id: ID!) { user(id: $id) { id } }";
    let hash = sha256(query);
    let id = uuid::Uuid::now_v7().to_string();
    let body: Value = a
        .post_raw(
            &json!({ "query": query, "variables": { "id": id }, "extensions": persisted(&hash) }),
            None,
            &[],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["user"], json!(null), "{body}");
    // Variables survive: the other instance parses the text it finds in Redis.
    let body: Value = b
        .post_raw(
            &json!({ "variables": { "id": id }, "extensions": persisted(&hash) }),
            None,
            &[],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["user"], json!(null), "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

fn manifest(entries: &[&str]) -> PathBuf {
    let map: serde_json::Map<String, Value> = entries
        .iter()
        .map(|q| (sha256(q), Value::String((*q).to_owned())))
        .collect();
    let path = std::env::temp_dir().join(format!("gerak-safelist-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(&path, Value::Object(map).to_string()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safelisted_server_runs_only_the_listed_operations() {
    let ping = "query Ping { __typename }";
    let me = "query Me { me { id } }";
    let path = manifest(&[ping, me]);
    let server =
        TestServer::start_with(Backend::Embedded, &["--safelist", path.to_str().unwrap()]).await;

    let by_text = server.data(ping, json!({}), None).await;
    assert_eq!(by_text["__typename"], "Query");
    let body: Value = server
        .post_raw(&json!({ "extensions": persisted(&sha256(me)) }), None, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["me"], json!(null), "{body}");

    for refused in [
        json!({ "query": "{ __typename }" }),
        json!({ "query": "query Ping {  __typename }" }),
        json!({ "extensions": persisted(&sha256("{ users { totalCount } }")) }),
        json!({ "query": "{ users { totalCount } }", "extensions": persisted(&sha256("{ users { totalCount } }")) }),
    ] {
        let body: Value = server
            .post_raw(&refused, None, &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(error_code(&body), "FORBIDDEN", "{refused}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("safelist"),
            "{body}"
        );
        assert!(body.get("data").is_none());
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_broken_safelist_stops_the_server_from_starting() {
    let path = std::env::temp_dir().join(format!("gerak-safelist-{}.json", uuid::Uuid::now_v7()));
    let dir = std::env::temp_dir().join(format!("gerak-cfg-{}", uuid::Uuid::now_v7()));
    for (content, expect) in [
        (
            json!({ "0000": "{ __typename }" }).to_string(),
            "does not match",
        ),
        (
            json!({ sha256("{ nope"): "{ nope" }).to_string(),
            "not a valid GraphQL document",
        ),
        ("[1, 2]".to_owned(), "not a JSON object"),
    ] {
        std::fs::write(&path, content).unwrap();
        let cli = Cli::try_parse_from([
            "gerak",
            "--data-dir",
            dir.to_str().unwrap(),
            "--jwt-secret",
            crate::support::JWT_SECRET,
            "--safelist",
            path.to_str().unwrap(),
        ])
        .unwrap();
        match Config::resolve(cli.settings) {
            Err(err @ ConfigError::Safelist { .. }) => {
                assert!(err.to_string().contains(expect), "{err}")
            }
            Err(other) => panic!("wrong error: {other}"),
            Ok(_) => panic!("a broken safelist was accepted"),
        }
    }
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(dir);
}
