//! Starting and stopping the whole server inside one process.
//!
//! actix and axum share one tokio runtime: the actix `System` is built on a multi-thread
//! tokio runtime, axum serves on that runtime's workers, and each domain's actor runs on
//! its own Arbiter thread. Requests hop from an axum worker to a domain's thread by
//! message and back by a oneshot reply, so no domain's work blocks HTTP or another domain.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use gerak_actors::{Domains, StartOptions, bus::Bus};
use gerak_schema::{FrontDoor, LocalStore, ParsedDocuments, PersistedStore, Throttle};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::{
    admission::Admission, cache::ResponseCache, config::Config, http, persisted::RedisStore,
    ratelimit::RateLimiter, redis_link::RedisLink,
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Start(#[from] gerak_actors::StartError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Http(std::io::Error),
    #[error("the event bus could not be set up: {0}")]
    Bus(String),
    #[error("the runtime could not be built: {0}")]
    Runtime(std::io::Error),
}

/// The metrics recorder is process-wide by the `metrics` crate's design: install it once
/// and let every server in the process (tests start several) render from it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                // A count, not seconds: up to group_commit's 256 payments a batch.
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full("gerak_payment_batch_size".to_owned()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
                    )
                })
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

pub fn bus_for(config: &Config) -> Result<Bus, ServeError> {
    match &config.redis_url {
        None => Ok(Bus::in_process()),
        Some(url) => gerak_actors::bus::RedisBus::connect(url, &config.redis_prefix)
            .map(|bus| Bus::new(bus.with_claim_idle(config.event_claim_idle)))
            .map_err(|e| ServeError::Bus(e.to_string())),
    }
}

/// Starts the domains; used by `serve` and by the CLI commands that need a domain.
pub async fn start_domains(config: &Config) -> Result<Arc<Domains>, ServeError> {
    let domains = Domains::start(StartOptions {
        urls: config.urls.clone(),
        bus: bus_for(config)?,
        jwt_secret: config.jwt_secret.clone(),
        access_token_ttl: config.access_token_ttl,
        refresh_token_ttl: config.refresh_token_ttl,
        auto_hide_reports: config.auto_hide_reports,
        postgres_pool: config.postgres_pool,
    })
    .await?;
    Ok(Arc::new(domains))
}

/// Serves until `shutdown` completes. `started` receives the domains and the bound address
/// once everything runs (tests use it to reach fault switches and the port).
/// Must run inside an actix `System` (see [`run_system`]).
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    started: impl FnOnce(Arc<Domains>, std::net::SocketAddr),
) -> Result<(), ServeError> {
    // First: the handles the front door registers must reach the recorder.
    let metrics = metrics_handle();
    let config = Arc::new(config);
    let domains = start_domains(&config).await?;
    let FrontDoorParts {
        front,
        limiter,
        cache,
    } = front_door(&config)?;
    let documents = front.documents.clone();
    if let Some(cache) = &cache {
        cache.watch(&domains, config.redis_url.as_deref(), &config.redis_prefix);
    }
    let schema = gerak_schema::build(domains.clone(), &config.limits, front);
    let state = http::AppState::new(http::Parts {
        config: config.clone(),
        domains: domains.clone(),
        schema,
        metrics: metrics.clone(),
        limiter,
        cache,
        admission: Admission::new(config.max_in_flight, config.queue_timeout),
        metrics_of_requests: http::RequestMetrics::default(),
        documents,
    });
    let addr = listener.local_addr().map_err(ServeError::Http)?;
    started(domains.clone(), addr);
    let app = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
        SocketAddr,
    >(http::app(state));
    let upkeep = tokio::spawn(metrics_upkeep(metrics));
    // Small writes (a subscription's messages, a response after its headers) go out at
    // once: with Nagle's algorithm one waits for the client's delayed ACK, up to 40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "TCP_NODELAY could not be set on a connection");
        }
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Http);
    upkeep.abort();
    domains.stop().await;
    result
}

/// The recorder keeps every histogram sample until it folds them into buckets, which it
/// does only when `/metrics` is scraped or upkeep runs: without this, an unscraped server
/// under load grew by 8 bytes a request (about 80 MB over the benchmark's run).
async fn metrics_upkeep(metrics: PrometheusHandle) {
    let mut every = tokio::time::interval(METRICS_UPKEEP);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        metrics.run_upkeep();
    }
}

const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// The parts of the front door: what the schema needs (persisted queries, the safelist,
/// per-mutation limits), the rate limiter and the response cache.
pub struct FrontDoorParts {
    pub front: FrontDoor,
    pub limiter: Arc<RateLimiter>,
    pub cache: Option<Arc<ResponseCache>>,
}

/// Builds the front door, shared through Redis when it is configured.
pub fn front_door(config: &Config) -> Result<FrontDoorParts, ServeError> {
    let redis = match &config.redis_url {
        Some(url) => Some(Arc::new(
            RedisLink::new(url, &config.redis_prefix)
                .map_err(|e| ServeError::Bus(e.to_string()))?,
        )),
        None => None,
    };
    let limiter = Arc::new(RateLimiter::new(&config.rates, redis.clone()));
    let persisted: Option<Arc<dyn PersistedStore>> =
        config
            .persisted_queries
            .map(|capacity| -> Arc<dyn PersistedStore> {
                match &redis {
                    Some(redis) => Arc::new(RedisStore::new(capacity, redis.clone())),
                    None => Arc::new(LocalStore::new(capacity)),
                }
            });
    let front = FrontDoor {
        persisted,
        safelist: config.safelist.clone(),
        throttle: Some(Throttle::new(limiter.clone())),
        documents: Arc::new(ParsedDocuments::new()),
    };
    let cache = ResponseCache::new(config.cache_ttl, config.cache_capacity, redis);
    Ok(FrontDoorParts {
        front,
        limiter,
        cache,
    })
}

pub async fn bind(config: &Config) -> Result<TcpListener, ServeError> {
    TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Listen {
            addr: config.addr,
            source,
        })
}

/// Runs `work` inside an actix System on a multi-thread tokio runtime.
pub fn run_system<F, T>(work: F) -> Result<T, ServeError>
where
    F: Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gerak-http")
        .build()
        .map_err(ServeError::Runtime)?;
    Ok(actix_rt::System::with_tokio_rt(move || runtime).block_on(work))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    /// Seconds get seconds' buckets; the payment batch's size, a count, its own.
    #[test]
    fn histograms_have_buckets_of_their_unit() {
        let handle = super::metrics_handle();
        metrics::histogram!("gerak_payment_batch_size").record(3.0);
        metrics::histogram!("gerak_payment_commit_seconds").record(0.002);
        let rendered = handle.render();
        assert!(
            rendered.contains("gerak_payment_batch_size_bucket{le=\"4\"} 1"),
            "{rendered}"
        );
        assert!(
            !rendered.contains("gerak_payment_batch_size_bucket{le=\"0.0005\"}"),
            "{rendered}"
        );
        assert!(
            rendered.contains("gerak_payment_commit_seconds_bucket{le=\"0.0025\"} 1"),
            "{rendered}"
        );
    }
}
