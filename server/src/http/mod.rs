//! The HTTP surface: GraphQL, GraphiQL, health, readiness, metrics.

pub mod client;
mod graphiql;
mod graphql;
mod ops;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderMap, HeaderName, Method, Request, StatusCode, header},
    routing::get,
};
use gerak_actors::Domains;
use gerak_schema::GerakSchema;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::{
    classify::ServerErrorsFailureClass,
    cors::{AllowCredentials, AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{admission::Admission, cache::ResponseCache, config::Config, ratelimit::RateLimiter};

pub use graphql::{RATE_LIMIT, RequestMetrics, X_CACHE};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler sees. Axum clones the state for each request: one shared
/// pointer, so that costs one reference count rather than one per part.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl AppState {
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

pub struct Parts {
    pub config: Arc<Config>,
    pub domains: Arc<Domains>,
    pub schema: GerakSchema,
    pub metrics: PrometheusHandle,
    pub limiter: Arc<RateLimiter>,
    /// Anonymous reads; `None` when caching is off.
    pub cache: Option<Arc<ResponseCache>>,
    pub admission: Admission,
    pub metrics_of_requests: RequestMetrics,
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics));
    if state.config.graphiql {
        router = router
            .route("/", get(graphiql::page))
            .route("/graphiql/{file}", get(graphiql::asset));
    }
    let cors = cors(&state.config);
    let router = router
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id(request.headers()),
                    )
                })
                .on_request(())
                // A 503 is admission turning work away on purpose (counted in
                // `gerak_admission_refused_total`): logging each one at ERROR would flood
                // the log exactly when the server is busiest.
                .on_failure(
                    |class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span| {
                        if !matches!(class, ServerErrorsFailureClass::StatusCode(status) if status == StatusCode::SERVICE_UNAVAILABLE) {
                            tracing::error!(classification = %class, ms = latency.as_secs_f64() * 1000.0, "response failed");
                        }
                    },
                )
                .on_response(
                    |response: &axum::http::Response<_>,
                     latency: Duration,
                     _span: &tracing::Span| {
                        tracing::debug!(
                            status = response.status().as_u16(),
                            ms = latency.as_secs_f64() * 1000.0,
                            "answered"
                        );
                    },
                ),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    // Outermost, so that preflights are answered before anything else runs.
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Browsers may call from the listed origins only, with credentials; no list, no CORS
/// headers at all (same-origin only).
fn cors(config: &Config) -> Option<CorsLayer> {
    if config.cors_origins.is_empty() {
        return None;
    }
    let origins = config.cors_origins.clone();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.clone()))
            // tower-http would send `Allow-Credentials: true` to any origin otherwise.
            .allow_credentials(AllowCredentials::predicate(move |origin, _| {
                origins.contains(origin)
            }))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                REQUEST_ID,
            ])
            .expose_headers([
                REQUEST_ID,
                RATE_LIMIT,
                header::RETRY_AFTER,
                header::ETAG,
                X_CACHE,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// The request id set by `SetRequestIdLayer` (or sent by a proxy in front of us).
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned()
}
