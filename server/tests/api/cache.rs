//! The response cache: anonymous reads are answered from it, never a logged-in user's;
//! a change forgets it at once, however long the TTL; GET answers revalidate by ETag;
//! instances share answers and forgetting through Redis.

use std::time::{Duration, Instant};

use reqwest::header;
use serde_json::{Value, json};

use crate::{
    campaigns::active_campaign_with_challenge,
    donations::{PAY, donate, service_account},
    support::{Backend, TestServer, servers_available},
};

const PAGE: &str = "query($id: ID!) { campaign(id: $id) { title raised { amount } donorCount } }";

/// Long enough that an answer kept by TTL alone would outlive every test: whatever the
/// tests see change, the cache forgot on purpose.
const LONG_TTL: &[&str] = &["--cache-ttl", "600"];

async fn read(
    server: &TestServer,
    query: &str,
    vars: &Value,
    token: Option<&str>,
) -> (Value, Option<String>) {
    let response = server
        .post_raw(&json!({ "query": query, "variables": vars }), token, &[])
        .await;
    let cache = response
        .headers()
        .get("x-cache")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.json().await.unwrap(), cache)
}

async fn anonymous_reads_are_cached_until_something_changes(backend: Backend) {
    let server = TestServer::start_with(backend, LONG_TTL).await;
    let admin = server.admin("cache-admin@example.id").await;
    let service = service_account(&server, &admin).await;
    let sponsor = server.register("cache-sponsor@example.id", "SPONSOR").await;
    let donor = server.register("cache-donor@example.id", "USER").await;
    let (campaign, _) = active_campaign_with_challenge(&server, &sponsor, "Cached", None).await;
    let vars = json!({ "id": campaign });

    // Events of the setup may still be arriving, each forgetting: read until quiet.
    let started = Instant::now();
    let first = loop {
        let (first, cache) = read(&server, PAGE, &vars, None).await;
        assert!(cache.is_some(), "{first}");
        let (second, cache) = read(&server, PAGE, &vars, None).await;
        assert_eq!(first, second);
        if cache.as_deref() == Some("hit") {
            break first;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never answered from the cache"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(first["data"]["campaign"]["raised"]["amount"], "0.00");

    // A logged-in reader is never served from, nor stored in, the shared cache.
    let (mine, cache) = read(&server, PAGE, &vars, Some(&donor.access)).await;
    assert_eq!(cache, None);
    assert_eq!(mine["data"], first["data"]);
    // Other variables, other answer.
    let (other, cache) = read(
        &server,
        PAGE,
        &json!({ "id": uuid::Uuid::now_v7().to_string() }),
        None,
    )
    .await;
    assert_eq!(cache.as_deref(), Some("miss"), "{other}");

    // A mutation answered here forgets at once.
    server
        .data(
            "mutation($id: ID!) { updateCampaign(id: $id, input: { title: \"Cached, renamed\" }) { id } }",
            vars.clone(),
            Some(&sponsor.access),
        )
        .await;
    let (renamed, cache) = read(&server, PAGE, &vars, None).await;
    assert_eq!(cache.as_deref(), Some("miss"));
    assert_eq!(renamed["data"]["campaign"]["title"], "Cached, renamed");

    // A payment moves `raised` later, when the campaigns domain applies its event: the
    // cache forgets then too, long before its TTL.
    let (_, payment_ref) = donate(&server, &donor, &campaign, "75000").await;
    let _ = read(&server, PAGE, &vars, None).await; // keeps the total before the payment
    server
        .data(
            PAY,
            json!({ "input": { "paymentRef": payment_ref, "succeeded": true, "amount": { "amount": "75000" } } }),
            Some(&service.access),
        )
        .await;
    let started = Instant::now();
    loop {
        let (page, _) = read(&server, PAGE, &vars, None).await;
        if page["data"]["campaign"]["raised"]["amount"] == "75000.00" {
            assert_eq!(page["data"]["campaign"]["donorCount"], 1);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the cache still shows the total before the payment: {page}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Once the total is right it stays right: no stale answer comes back from a slot
    // filled while the change landed.
    for _ in 0..20 {
        let (page, _) = read(&server, PAGE, &vars, None).await;
        assert_eq!(page["data"]["campaign"]["raised"]["amount"], "75000.00");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_reads_are_cached_until_something_changes_embedded() {
    anonymous_reads_are_cached_until_something_changes(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_reads_are_cached_until_something_changes_servers() {
    if !servers_available().await {
        return;
    }
    anonymous_reads_are_cached_until_something_changes(Backend::Servers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_answers_carry_an_etag_and_cache_control() {
    let server = TestServer::start(Backend::Embedded).await;
    let user = server.register("etag@example.id", "USER").await;
    let url =
        server.url("/graphql?query=%7B%20campaigns(first%3A%203)%20%7B%20totalCount%20%7D%20%7D");

    let first = server.http.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()[header::CACHE_CONTROL], "public, no-cache");
    assert!(
        first.headers()[header::VARY]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    // The client's copy is current: 304, no body.
    let revalidated = server
        .http
        .get(&url)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()[header::ETAG].to_str().unwrap(), etag);
    assert!(revalidated.bytes().await.unwrap().is_empty());

    // Once the data changes, the old tag no longer matches.
    let sponsor = server.register("etag-sponsor@example.id", "SPONSOR").await;
    active_campaign_with_challenge(&server, &sponsor, "Tagged", None).await;
    let changed = server
        .http
        .get(&url)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()[header::ETAG].to_str().unwrap(), etag);

    // A logged-in reader's answer is private; an answer with errors is not kept at all.
    let private = server
        .http
        .get(&url)
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        private.headers()[header::CACHE_CONTROL],
        "private, no-cache"
    );
    let failed = server
        .http
        .get(server.url("/graphql?query=%7B%20campaign(id%3A%20%22nope%22)%20%7B%20id%20%7D%20%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.headers()[header::CACHE_CONTROL], "no-store");
    assert!(failed.headers().get(header::ETAG).is_none());
    // POST answers carry no ETag: they cannot be revalidated.
    let posted = server
        .post_raw(
            &json!({ "query": "{ campaigns(first: 3) { totalCount } }" }),
            None,
            &[],
        )
        .await;
    assert!(posted.headers().get(header::ETAG).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_ttl_turns_the_cache_off() {
    let server = TestServer::start_with(Backend::Embedded, &["--cache-ttl", "0"]).await;
    for _ in 0..2 {
        let (body, cache) = read(
            &server,
            "{ campaigns(first: 1) { totalCount } }",
            &json!({}),
            None,
        )
        .await;
        assert_eq!(cache, None, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_answers_and_forgetting_through_redis() {
    if !servers_available().await {
        return;
    }
    let prefix = TestServer::unique_prefix();
    let args = ["--redis-prefix", prefix.as_str(), "--cache-ttl", "600"];
    let a = TestServer::start_with(Backend::Servers, &args).await;
    let b = TestServer::start_with(Backend::Servers, &args).await;
    let query = "{ campaigns(first: 2) { totalCount } }";

    // The shared generation is synced in the background at start.
    let started = Instant::now();
    loop {
        let (_, on_a) = read(&a, query, &json!({}), None).await;
        let (_, on_b) = read(&b, query, &json!({}), None).await;
        if on_a.as_deref() == Some("miss") && on_b.as_deref() == Some("hit-shared") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B never found A's answer in Redis (A: {on_a:?}, B: {on_b:?})"
        );
        // Forget both local copies so that the next round starts from scratch.
        let sponsor_email = format!("share-{}@example.id", uuid::Uuid::now_v7().simple());
        a.register(&sponsor_email, "USER").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // B keeps what it found in memory too (late events of the setup may make it fetch
    // again first).
    let started = Instant::now();
    loop {
        let (_, on_b) = read(&b, query, &json!({}), None).await;
        if on_b.as_deref() == Some("hit") {
            break;
        }
        assert!(on_b.is_some());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B never kept it locally"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A mutation answered by A makes B forget, though B saw no request.
    a.register("forget-me@example.id", "USER").await;
    let started = Instant::now();
    loop {
        let (_, on_b) = read(&b, query, &json!({}), None).await;
        if on_b.as_deref() == Some("miss") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B still serves the answer from before A's change"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_answer_is_computed_again_by_one_caller_only() {
    let server = TestServer::start_with(Backend::Embedded, &["--cache-ttl", "1"]).await;
    let query = "{ campaigns(first: 5) { totalCount } }";
    let (_, first) = read(&server, query, &json!({}), None).await;
    assert_eq!(first.as_deref(), Some("miss"));
    let (_, second) = read(&server, query, &json!({}), None).await;
    assert_eq!(second.as_deref(), Some("hit"));

    tokio::time::sleep(Duration::from_millis(1300)).await;
    // Everyone asks at once just after the TTL: one computes, the others are answered
    // with the answer of the same generation meanwhile (nothing changed).
    let no_variables = json!({});
    let answers =
        futures::future::join_all((0..20).map(|_| read(&server, query, &no_variables, None))).await;
    for (body, _) in &answers {
        assert!(body["errors"].is_null(), "{body}");
    }
    let misses = answers
        .iter()
        .filter(|(_, cache)| cache.as_deref() == Some("miss"))
        .count();
    assert_eq!(misses, 1, "{answers:?}");
}
