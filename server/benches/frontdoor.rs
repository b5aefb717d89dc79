//! What the front door costs: refusing each kind of abusive request, and rate limiting
//! an ordinary one. Requests go through the whole router (`tower::ServiceExt::oneshot`,
//! no sockets, so the figures are the server's own work) of a server on SQLite.
//!
//! `cargo bench -p gerak-server --bench frontdoor` (set `GERAK_TEST_REDIS_URL` to
//! measure the Redis limiter somewhere else than redis://127.0.0.1:6379).
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a failure is the report

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::ConnectInfo,
    http::{Request, header},
};
use clap::Parser;
use gerak_server::{app, cli::Cli, config::Config, http, ratelimit::RateLimiter};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Case {
    name: &'static str,
    body: Bytes,
    /// Send the body in 64 KiB chunks without a Content-Length.
    chunked: bool,
    expect: u16,
}

fn case(name: &'static str, body: String, expect: u16) -> Case {
    Case {
        name,
        body: Bytes::from(body),
        chunked: false,
        expect,
    }
}

fn request(case: &Case, peer: SocketAddr) -> Request<Body> {
    let body = if case.chunked {
        let chunks: Vec<Result<Bytes, std::io::Error>> = case
            .body
            .chunks(64 * 1024)
            .map(|c| Ok(case.body.slice_ref(c)))
            .collect();
        Body::from_stream(futures::stream::iter(chunks))
    } else {
        Body::from(case.body.clone())
    };
    let mut builder = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if !case.chunked {
        builder = builder.header(header::CONTENT_LENGTH, case.body.len());
    }
    let mut request = builder.body(body).unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "{name:<46} {:>9.1} {:>9.1} {:>9.1} {:>7}",
        mean.as_secs_f64() * 1e6,
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        samples.len()
    );
}

async fn measure(router: &http::App, case: &Case, iterations: usize) {
    let peer: SocketAddr = "192.0.2.1:40000".parse().unwrap();
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations + iterations / 10 {
        let request = request(case, peer);
        let started = Instant::now();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let _ = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(status, case.expect, "{}", case.name);
        if i >= iterations / 10 {
            samples.push(elapsed);
        }
    }
    report(case.name, samples);
}

async fn server(extra: &[&str]) -> (http::App, std::sync::Arc<RateLimiter>) {
    let dir = std::env::temp_dir().join(format!("gerak-bench-{}", uuid::Uuid::now_v7()));
    let mut args = vec![
        "gerak",
        "--data-dir",
        dir.to_str().unwrap(),
        "--jwt-secret",
        "bench-secret-bench-secret-bench-secret-0",
        "--log",
        "error",
    ];
    args.extend_from_slice(extra);
    let config = Config::resolve(Cli::try_parse_from(&args).unwrap().settings).unwrap();
    let domains = app::start_domains(&config).await.unwrap();
    let app::FrontDoorParts { front, limiter, .. } = app::front_door(&config).unwrap();
    let documents = front.documents.clone();
    let schema = gerak_schema::build(domains.clone(), &config.limits, front);
    let admission =
        gerak_server::admission::Admission::new(config.max_in_flight, config.queue_timeout);
    let state = http::AppState::new(http::Parts {
        config: std::sync::Arc::new(config),
        domains,
        schema,
        metrics: app::metrics_handle(),
        limiter: limiter.clone(),
        // Measures execution and refusal, not the response cache.
        cache: None,
        admission,
        metrics_of_requests: http::RequestMetrics::default(),
        documents,
    });
    (http::app(state), limiter)
}

async fn redis_reachable(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            client.get_multiplexed_async_connection()
        )
        .await,
        Ok(Ok(_))
    )
}

fn main() {
    // `cargo bench` passes --bench; anything else (a test run) only checks it works.
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 2000 } else { 20 };
    app::run_system(async move {
        let open = [
            "--rate-anonymous",
            "off",
            "--rate-user",
            "off",
            "--rate-register",
            "off",
        ];
        let (router, _) = server(&open).await;
        let ten_mb = 10 * 1024 * 1024;
        let aliases: String = (0..1000).map(|i| format!("a{i}: __typename ")).collect();
        let batch: Vec<Value> = (0..100)
            .map(|_| json!({ "query": "{ __typename }" }))
            .collect();
        let mut chunked = case(
            "10 MB body, chunked (reads 2 MB, refuses)",
            json!({ "query": format!("{{ __typename }} # {}", "x".repeat(ten_mb)) }).to_string(),
            413,
        );
        chunked.chunked = true;
        let cases = [
            case(
                "baseline: { __typename }, executed",
                json!({ "query": "{ __typename }" }).to_string(),
                200,
            ),
            case(
                "10 MB body, Content-Length (refused unread)",
                json!({ "query": format!("{{ __typename }} # {}", "x".repeat(ten_mb)) })
                    .to_string(),
                413,
            ),
            chunked,
            case(
                "nested 10,000 deep",
                json!({ "query": format!("{}{}", "{ me ".repeat(10_000), "}".repeat(10_000)) })
                    .to_string(),
                200,
            ),
            case(
                "1,000 aliases",
                json!({ "query": format!("{{ {aliases} }}") }).to_string(),
                200,
            ),
            case(
                "100-operation batch",
                Value::Array(batch).to_string(),
                400,
            ),
            case(
                "60 directives",
                json!({ "query": format!("{{ __typename {} }}", "@include(if: true) ".repeat(60)) })
                    .to_string(),
                200,
            ),
            case(
                "6,000 tokens",
                json!({ "query": format!("{{ {} }}", "a ".repeat(6000)) }).to_string(),
                200,
            ),
            case(
                "16 levels deep (parsed, refused by depth)",
                json!({ "query": format!("{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}", "ofType { ".repeat(13), "} ".repeat(13)) })
                    .to_string(),
                200,
            ),
        ];
        println!(
            "{:<46} {:>9} {:>9} {:>9} {:>7}",
            "case (µs per request)", "mean", "p50", "p99", "n"
        );
        for case in &cases {
            let iterations = if case.body.len() > 1_000_000 { n / 10 } else { n };
            measure(&router, case, iterations.max(5)).await;
        }

        // The per-client limiter on an ordinary request: off, in process, Redis.
        let ping = case("", json!({ "query": "{ __typename }" }).to_string(), 200);
        let mut limited_on = vec![("rate limits off", router.clone())];
        let (local, local_limiter) = server(&["--rate-anonymous", "100000000/min"]).await;
        limited_on.push(("rate limits in process", local));
        let redis_url = std::env::var("GERAK_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let prefix = format!("gerak-bench-{}", uuid::Uuid::now_v7().simple());
        let mut redis_limiter = None;
        if redis_reachable(&redis_url).await {
            let (shared, limiter) = server(&[
                "--rate-anonymous",
                "100000000/min",
                "--redis-url",
                &redis_url,
                "--redis-prefix",
                &prefix,
            ])
            .await;
            limited_on.push(("rate limits in Redis", shared));
            redis_limiter = Some(limiter);
        } else {
            println!("(Redis at {redis_url} not reachable: its figures are skipped)");
        }
        for (name, router) in &limited_on {
            let case = Case {
                name,
                body: ping.body.clone(),
                chunked: false,
                expect: 200,
            };
            measure(router, &case, n).await;
        }
        let (tight, _) = server(&["--rate-anonymous", "1/h"]).await;
        let peer: SocketAddr = "192.0.2.1:40000".parse().unwrap();
        let first = tight.clone().oneshot(request(&ping, peer)).await.unwrap();
        assert_eq!(first.status(), 200, "spends the only request of the hour");
        measure(
            &tight,
            &case(
                "over the limit (429), in process",
                json!({ "query": "{ __typename }" }).to_string(),
                429,
            ),
            n,
        )
        .await;

        // The limiter alone.
        for (name, limiter) in [
            ("limiter.take alone, in process", Some(local_limiter)),
            ("limiter.take alone, Redis", redis_limiter),
        ] {
            let Some(limiter) = limiter else { continue };
            let mut samples = Vec::with_capacity(n);
            for i in 0..n {
                let key = format!("ip:198.51.100.{}", i % 200);
                let started = Instant::now();
                let verdict = limiter.take("anonymous", &key, 1).await;
                samples.push(started.elapsed());
                assert!(verdict.is_some_and(|v| v.allowed));
            }
            report(name, samples);
        }
    })
    .unwrap();
}
