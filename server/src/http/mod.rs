//! The HTTP surface: GraphQL, GraphiQL, health, readiness, metrics.

pub mod client;
mod graphiql;
mod graphql;
mod ops;
mod scope;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderMap, HeaderName, Method, header},
    routing::get,
};
use gerak_actors::Domains;
use gerak_schema::{GerakSchema, ParsedDocuments};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

use crate::{admission::Admission, cache::ResponseCache, config::Config, ratelimit::RateLimiter};
use scope::RequestScopeLayer;

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
    /// The schema's parsed documents (`FrontDoor::documents`).
    pub documents: Arc<ParsedDocuments>,
}

/// The routes, with what every request gets around them (its id, its span, CORS) wrapped
/// once around the whole router: a layer added to the router itself is added to each
/// route, and costs a boxed clone and a boxed future per request.
pub fn app(state: AppState) -> App {
    let cors = cors(&state.config);
    let router = routes(state);
    // CORS outermost, so that preflights are answered before anything else runs.
    tower::ServiceBuilder::new()
        .option_layer(cors)
        .layer(RequestScopeLayer)
        .service(router)
}

/// The HTTP service `app` builds.
pub type App = tower::util::Either<
    tower_http::cors::Cors<scope::RequestScope<Router>>,
    scope::RequestScope<Router>,
>;

fn routes(state: AppState) -> Router {
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
    router.with_state(state)
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

/// The request id set by `RequestScope` (or sent by a proxy in front of us).
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned()
}
