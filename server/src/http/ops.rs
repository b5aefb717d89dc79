//! What operators and orchestrators poll.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use gerak_actors::Domain;
use serde_json::{Map, Value, json};

use super::AppState;

/// The process is alive (it answers); says nothing about its dependencies.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Every domain's actor and database answer, and the bus is reachable.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let checks = Domain::ALL.map(|domain| {
        let domains = state.domains.clone();
        async move { (domain, domains.ping(domain).await) }
    });
    let results = futures::future::join_all(checks).await;
    let mut ready = true;
    let mut report = Map::new();
    for (domain, result) in results {
        let entry = match result {
            Ok(health) => {
                json!({ "ready": true, "databaseMs": health.database_ms, "restarts": health.restarts, "outboxBacklog": health.outbox_backlog })
            }
            Err(err) => {
                ready = false;
                json!({ "ready": false, "error": err.to_string() })
            }
        };
        report.insert(domain.to_string(), entry);
    }
    let bus = match state.domains.bus.ping().await {
        Ok(()) => json!({ "ready": true, "transport": state.domains.bus.transport_name() }),
        Err(err) => {
            ready = false;
            json!({ "ready": false, "transport": state.domains.bus.transport_name(), "error": err.to_string() })
        }
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "ready": ready, "domains": Value::Object(report), "bus": bus })),
    )
        .into_response()
}

/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
