//! GraphQL over HTTP, as the GraphQL-over-HTTP spec asks: `POST` and `GET /graphql`,
//! content negotiation by `Accept`, and its status codes. WebSocket subscriptions
//! (graphql-transport-ws) share the path.

use std::time::Instant;

use async_graphql::{
    BatchRequest, Request, Response, ServerError,
    http::ALL_WEBSOCKET_PROTOCOLS,
    parser::types::{DocumentOperations, OperationType},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    body::{Body, to_bytes},
    extract::{FromRequestParts, RawQuery, State, WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};
use gerak_schema::Auth;
use serde_json::{Value, json};

use super::{AppState, request_id};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Which media type the client gets.
#[derive(Copy, Clone, PartialEq, Eq)]
enum MediaType {
    /// The spec's own type: request errors are 4xx.
    GraphQlResponse,
    /// The legacy type: every well-formed request is 200.
    Json,
}

impl MediaType {
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(MediaType::Json);
        };
        let mut fallback = None;
        for item in accept.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            if refused {
                continue;
            }
            match media.as_str() {
                GRAPHQL_RESPONSE => return Some(MediaType::GraphQlResponse),
                JSON | "application/*" | "*/*" => fallback = fallback.or(Some(MediaType::Json)),
                _ => {}
            }
        }
        fallback
    }

    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphQlResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> HttpResponse {
    let Some(media) = MediaType::negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if content_type != JSON {
        return request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as `Content-Type: application/json`",
            &headers,
        );
    }
    let bytes = match to_bytes(body, state.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return request_error(
                media,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "the request body is larger than {} bytes",
                    state.config.max_body_bytes
                ),
                &headers,
            );
        }
    };
    let batch: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(batch) => batch,
        Err(err) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {err}"),
                &headers,
            );
        }
    };
    let missing_query = match &batch {
        BatchRequest::Single(request) => request.query.trim().is_empty(),
        BatchRequest::Batch(requests) => {
            requests.is_empty() || requests.iter().any(|r| r.query.trim().is_empty())
        }
    };
    if missing_query {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            "the request has no `query`",
            &headers,
        );
    }
    match batch {
        BatchRequest::Single(request) => execute(&state, media, &headers, request).await,
        BatchRequest::Batch(requests) => {
            if requests.len() > state.config.max_batch {
                return request_error(
                    media,
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "a batch may hold at most {} operations; this one has {}",
                        state.config.max_batch,
                        requests.len()
                    ),
                    &headers,
                );
            }
            let mut bodies = Vec::with_capacity(requests.len());
            for request in requests {
                let (_, body) = run(&state, media, &headers, request).await;
                bodies.push(body);
            }
            respond(media, StatusCode::OK, Value::Array(bodies))
        }
    }
}

/// `GET /graphql`: queries only; a WebSocket upgrade serves subscriptions.
pub async fn get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    request: axum::extract::Request,
) -> HttpResponse {
    let headers = request.headers().clone();
    let is_upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_upgrade {
        return websocket(state, request).await;
    }
    let Some(media) = MediaType::negotiate(&headers) else {
        return not_acceptable();
    };
    let request =
        match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
            Ok(request) if !request.query.trim().is_empty() => request,
            Ok(_) => {
                return request_error(
                    media,
                    StatusCode::BAD_REQUEST,
                    "the `query` parameter is missing",
                    &headers,
                );
            }
            Err(err) => {
                return request_error(
                    media,
                    StatusCode::BAD_REQUEST,
                    &format!("the query string is not a GraphQL request: {err}"),
                    &headers,
                );
            }
        };
    if is_mutation(&request) {
        let mut response = request_error(
            media,
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations must be sent with POST",
            &headers,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, media, &headers, request).await
}

async fn execute(
    state: &AppState,
    media: MediaType,
    headers: &HeaderMap,
    request: Request,
) -> HttpResponse {
    let (status, body) = run(state, media, headers, request).await;
    respond(media, status, body)
}

/// Runs one operation and shapes its answer: request errors (the document was not
/// executed) lose `data`; every error gets the request id and a code.
async fn run(
    state: &AppState,
    media: MediaType,
    headers: &HeaderMap,
    request: Request,
) -> (StatusCode, Value) {
    let started = Instant::now();
    let auth = Auth::from_header(
        &state.domains.tokens,
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let request = gerak_schema::prepare(&state.domains, request, auth);
    let response = state.schema.execute(request).await;
    let id = request_id(headers);
    let request_failed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let body = shape(response, &id, request_failed);
    let outcome = if request_failed {
        "refused"
    } else {
        "executed"
    };
    metrics::histogram!("gerak_graphql_request_seconds", "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("gerak_graphql_requests_total", "outcome" => outcome).increment(1);
    let status = if request_failed && media == MediaType::GraphQlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, body)
}

fn shape(response: Response, request_id: &str, request_failed: bool) -> Value {
    let mut errors = Vec::with_capacity(response.errors.len());
    for mut error in response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            // Errors async-graphql raises itself: parse, validation and limit failures.
            extensions.set(
                "code",
                if request_failed {
                    "BAD_USER_INPUT"
                } else {
                    "INTERNAL"
                },
            );
            metrics::counter!("gerak_graphql_errors_total", "code" => if request_failed { "BAD_USER_INPUT" } else { "INTERNAL" }).increment(1);
        }
        extensions.set("requestId", request_id);
        errors.push(error);
    }
    let mut body = serde_json::Map::new();
    if !request_failed {
        body.insert(
            "data".to_owned(),
            serde_json::to_value(&response.data).unwrap_or(Value::Null),
        );
    }
    if !errors.is_empty() {
        body.insert(
            "errors".to_owned(),
            serde_json::to_value(&errors).unwrap_or(Value::Null),
        );
    }
    if !response.extensions.is_empty() {
        body.insert(
            "extensions".to_owned(),
            serde_json::to_value(&response.extensions).unwrap_or(Value::Null),
        );
    }
    Value::Object(body)
}

fn respond(media: MediaType, status: StatusCode, body: Value) -> HttpResponse {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    response
}

/// A request that could not even be read: 4xx in both media types.
fn request_error(
    media: MediaType,
    status: StatusCode,
    message: &str,
    headers: &HeaderMap,
) -> HttpResponse {
    let error = ServerError::new(message, None);
    let mut body = json!({ "errors": [error] });
    body["errors"][0]["extensions"] =
        json!({ "code": "BAD_USER_INPUT", "requestId": request_id(headers) });
    metrics::counter!("gerak_graphql_errors_total", "code" => "BAD_USER_INPUT").increment(1);
    respond(media, status, body)
}

fn not_acceptable() -> HttpResponse {
    (
        StatusCode::NOT_ACCEPTABLE,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "errors": [{ "message": "accept application/graphql-response+json or application/json", "extensions": { "code": "BAD_USER_INPUT" } }] }).to_string(),
    )
        .into_response()
}

fn is_mutation(request: &Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false; // execution reports the syntax error
    };
    let ty = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        _ => None,
    };
    ty == Some(OperationType::Mutation)
}

async fn websocket(state: AppState, request: axum::extract::Request) -> HttpResponse {
    let (mut parts, _) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &state).await {
        Ok(protocol) => protocol,
        Err(status) => return status.into_response(),
    };
    let schema = state.schema.clone();
    let domains = state.domains.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let header = payload
                        .get("Authorization")
                        .or_else(|| payload.get("authorization"))
                        .and_then(|v| v.as_str());
                    let auth = Auth::from_header(&domains.tokens, header);
                    if let Auth::Refused(reason) = &auth {
                        return Err(async_graphql::Error::new(reason.clone()));
                    }
                    Ok(gerak_schema::connection_data(&domains, auth))
                })
                .serve()
        })
}
