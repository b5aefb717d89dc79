//! GraphQL over HTTP, as the GraphQL-over-HTTP spec asks: `POST` and `GET /graphql`,
//! content negotiation by `Accept`, and its status codes. WebSocket subscriptions
//! (graphql-transport-ws) share the path.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::{
    BatchRequest, Request, Response, ServerError, http::ALL_WEBSOCKET_PROTOCOLS,
    parser::types::OperationType,
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    body::{Body, Bytes},
    extract::{FromRequestParts, RawQuery, State, WebSocketUpgrade},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};
use futures::StreamExt;
use gerak_schema::{Auth, ParsedDocuments, Verdict};
use serde_json::{Value, json};
use sha2::Digest;
use tracing::Instrument;

use super::{AppState, client::Caller, request_id, scope::request_span};
use crate::cache::{CacheKey, Layer};

/// Whether the response cache answered: `hit`, `hit-shared` (another instance's answer,
/// through Redis) or `miss`. Absent when the request could not be cached.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// The IETF draft's `RateLimit` header: `limit=100, remaining=42, reset=17`.
pub const RATE_LIMIT: HeaderName = HeaderName::from_static("ratelimit");

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

pub async fn post(State(state): State<AppState>, request: axum::extract::Request) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let caller = Caller::identify(&state, &parts.extensions, &headers, false);
    let mut verdict = state.limiter.take(caller.rule, caller.key(), 1).await;
    let mut response = match verdict {
        Some(v) if !v.allowed => too_many(&caller, &headers, &v),
        _ => post_admitted(&state, &caller, &headers, body, &mut verdict).await,
    };
    rate_headers(&mut response, verdict.as_ref());
    response
}

async fn post_admitted(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
    verdict: &mut Option<Verdict>,
) -> HttpResponse {
    let Some(media) = MediaType::negotiate(headers) else {
        return not_acceptable();
    };
    let limit = state.config.max_body_bytes;
    // Refused before a byte of the body is read when it says it is too large.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        discard(body.into_data_stream());
        return body_too_large(state, media, headers);
    }
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
            headers,
        );
    }
    let bytes = match read_body(body, limit).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return body_too_large(state, media, headers),
        Err(BodyError::Broken) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
                headers,
            );
        }
    };
    let batch = match parse_batch(&bytes) {
        Ok(batch) => batch,
        Err(err) => {
            return request_error(
                media,
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {err}"),
                headers,
            );
        }
    };
    // A persisted query may come as its hash alone.
    let no_query =
        |r: &Request| r.query.trim().is_empty() && !r.extensions.contains_key("persistedQuery");
    let missing_query = match &batch {
        BatchRequest::Single(request) => no_query(request),
        BatchRequest::Batch(requests) => requests.is_empty() || requests.iter().any(no_query),
    };
    if missing_query {
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            "the request has no `query`",
            headers,
        );
    }
    match batch {
        BatchRequest::Single(request) => execute(state, caller, media, headers, request).await,
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
                    headers,
                );
            }
            // Each operation of a batch counts as a request; the first was counted.
            let extra = u32::try_from(requests.len().saturating_sub(1)).unwrap_or(u32::MAX);
            if extra > 0 {
                let more = state.limiter.take(caller.rule, caller.key(), extra).await;
                if let Some(v) = more {
                    *verdict = Some(v);
                    if !v.allowed {
                        return too_many(caller, headers, &v);
                    }
                }
            }
            // Each answer is JSON text already: the batch is their array.
            let mut bodies = String::from("[");
            let mut retry_after = None;
            for (i, request) in requests.into_iter().enumerate() {
                let answer = run(state, caller, media, headers, request).await;
                retry_after = retry_after.max(answer.retry_after);
                if i > 0 {
                    bodies.push(',');
                }
                bodies.push_str(&answer.body);
            }
            bodies.push(']');
            let mut response = respond_text(media, StatusCode::OK, bodies);
            set_retry_after(&mut response, retry_after);
            response
        }
    }
}

/// One operation or a batch, told apart by the first byte. `BatchRequest`'s own
/// (untagged) parse buffers the whole document before trying each shape, which showed
/// in the profile, and its error could not say what was wrong.
fn parse_batch(bytes: &[u8]) -> Result<BatchRequest, serde_json::Error> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice(bytes).map(BatchRequest::Batch),
        _ => serde_json::from_slice(bytes).map(BatchRequest::Single),
    }
}

enum BodyError {
    TooLarge,
    Broken,
}

/// The body, up to `limit` bytes. Past the limit the rest is discarded in the
/// background (see [`discard`]) and the request refused.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if buffer.len() + chunk.len() > limit {
            discard(stream);
            return Err(BodyError::TooLarge);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buffer))
}

/// Most clients (reqwest, browsers' fetch) write the whole body before they read the
/// answer; closing on them mid-upload gives them a connection reset instead of our 413.
/// So the rest of a refused body is read and dropped by a task of its own, bounded in
/// bytes and time, while the answer goes out at once.
fn discard(mut stream: axum::body::BodyDataStream) {
    const MAX_DISCARD: usize = 64 * 1024 * 1024;
    const MAX_TIME: Duration = Duration::from_secs(10);
    tokio::spawn(async move {
        let _ = tokio::time::timeout(MAX_TIME, async {
            let mut seen = 0usize;
            while let Some(Ok(chunk)) = stream.next().await {
                seen += chunk.len();
                if seen > MAX_DISCARD {
                    break;
                }
            }
        })
        .await;
    });
}

fn body_too_large(state: &AppState, media: MediaType, headers: &HeaderMap) -> HttpResponse {
    request_error(
        media,
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "the request body is larger than {} bytes",
            state.config.max_body_bytes
        ),
        headers,
    )
}

/// Over the per-client request limit: 429, nothing executed.
fn too_many(caller: &Caller, headers: &HeaderMap, verdict: &Verdict) -> HttpResponse {
    let seconds = verdict.retry_after_secs.max(1);
    tracing::info!(
        request_id = request_id(headers),
        rule = caller.rule,
        client = caller.key(),
        retry_after = seconds,
        "rate limited"
    );
    metrics::counter!("gerak_rate_limited_total", "rule" => caller.rule).increment(1);
    metrics::counter!("gerak_graphql_errors_total", "code" => "RATE_LIMITED").increment(1);
    let media = MediaType::negotiate(headers).unwrap_or(MediaType::Json);
    let body = json!({ "errors": [{
        "message": format!("too many requests; try again in {seconds} s"),
        "extensions": { "code": "RATE_LIMITED", "retryAfter": seconds, "requestId": request_id(headers) },
    }] });
    let mut response = respond(media, StatusCode::TOO_MANY_REQUESTS, body);
    set_retry_after(&mut response, Some(seconds));
    response
}

/// `RateLimit` on every GraphQL response that went through the per-client limit.
fn rate_headers(response: &mut HttpResponse, verdict: Option<&Verdict>) {
    let Some(v) = verdict else { return };
    let value = format!(
        "limit={}, remaining={}, reset={}",
        v.limit, v.remaining, v.reset_secs
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(RATE_LIMIT, value);
    }
}

fn set_retry_after(response: &mut HttpResponse, seconds: Option<u64>) {
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
}

/// `GET /graphql`: queries only; a WebSocket upgrade serves subscriptions.
pub async fn get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    request: axum::extract::Request,
) -> HttpResponse {
    let headers = request.headers().clone();
    let caller = Caller::identify(&state, request.extensions(), &headers, true);
    let verdict = state.limiter.take(caller.rule, caller.key(), 1).await;
    let mut response = match verdict {
        Some(v) if !v.allowed => too_many(&caller, &headers, &v),
        _ => get_admitted(state, caller, query, request).await,
    };
    rate_headers(&mut response, verdict.as_ref());
    response
}

async fn get_admitted(
    state: AppState,
    caller: Caller,
    query: Option<String>,
    request: axum::extract::Request,
) -> HttpResponse {
    let headers = request.headers().clone();
    let is_upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_upgrade {
        return websocket(state, caller, request).await;
    }
    let Some(media) = MediaType::negotiate(&headers) else {
        return not_acceptable();
    };
    let request =
        match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
            Ok(request)
                if !request.query.trim().is_empty()
                    || request.extensions.contains_key("persistedQuery") =>
            {
                request
            }
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
    if operation_type(&state.documents, &request) == Some(OperationType::Mutation) {
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
    let answer = run(&state, &caller, media, &headers, request).await;
    http_cached(answer, &caller, media, &headers)
}

/// A GET answer as HTTP caches should see it: an `ETag` to revalidate with (304 when the
/// client's copy is current), shareable only when anonymous, never stored when it holds
/// errors. `no-cache` rather than a max-age: our own cache forgets the moment the data
/// changes, a browser's or a CDN's could not.
fn http_cached(
    answer: Answer,
    caller: &Caller,
    media: MediaType,
    headers: &HeaderMap,
) -> HttpResponse {
    let cache_control = match (&answer.clean, &caller.auth) {
        (false, _) => "no-store",
        (true, Auth::Anonymous) => "public, no-cache",
        (true, _) => "private, no-cache",
    };
    let etag = answer.clean.then(|| {
        let digest = sha2::Sha256::digest(answer.body.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    });
    let current = etag.as_deref().is_some_and(|etag| {
        headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|sent| sent.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    });
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = respond_text(media, answer.status, shared_body(answer.body));
        set_retry_after(&mut response, answer.retry_after);
        response
    };
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    response_headers.insert(
        header::VARY,
        HeaderValue::from_static("authorization, accept"),
    );
    if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        response_headers.insert(header::ETAG, etag);
    }
    if let Some(layer) = answer.cache {
        response_headers.insert(X_CACHE, HeaderValue::from_static(layer));
    }
    response
}

async fn execute(
    state: &AppState,
    caller: &Caller,
    media: MediaType,
    headers: &HeaderMap,
    request: Request,
) -> HttpResponse {
    let answer = run(state, caller, media, headers, request).await;
    let mut response = respond_text(media, answer.status, shared_body(answer.body));
    set_retry_after(&mut response, answer.retry_after);
    if let Some(layer) = answer.cache {
        response
            .headers_mut()
            .insert(X_CACHE, HeaderValue::from_static(layer));
    }
    response
}

/// The per-request metrics, registered once: looking them up by name and labels on
/// every request showed in the profile of cached answers.
pub struct RequestMetrics {
    cached: Outcome,
    executed: Outcome,
    refused: Outcome,
}

struct Outcome {
    seconds: metrics::Histogram,
    total: metrics::Counter,
}

impl Outcome {
    fn new(outcome: &'static str) -> Self {
        Self {
            seconds: metrics::histogram!("gerak_graphql_request_seconds", "outcome" => outcome),
            total: metrics::counter!("gerak_graphql_requests_total", "outcome" => outcome),
        }
    }

    fn record(&self, started: Instant) {
        self.seconds.record(started.elapsed().as_secs_f64());
        self.total.increment(1);
    }
}

impl Default for RequestMetrics {
    /// After the recorder is installed, or the handles go nowhere.
    fn default() -> Self {
        Self {
            cached: Outcome::new("cached"),
            executed: Outcome::new("executed"),
            refused: Outcome::new("refused"),
        }
    }
}

/// One operation's answer, serialised.
struct Answer {
    status: StatusCode,
    body: Arc<str>,
    /// The longest `retryAfter` of any RATE_LIMITED error, for the `Retry-After` header.
    retry_after: Option<u64>,
    /// Executed without errors.
    clean: bool,
    /// For `X-Cache`: `hit`, `hit-shared` or `miss` when the response cache was asked.
    cache: Option<&'static str>,
}

/// Runs one operation and shapes its answer: request errors (the document was not
/// executed) lose `data`; every error gets the request id and a code. Anonymous queries
/// go through the response cache; anything else that may write forgets it.
async fn run(
    state: &AppState,
    caller: &Caller,
    media: MediaType,
    headers: &HeaderMap,
    request: Request,
) -> Answer {
    let started = Instant::now();
    let cache = state.cache.as_deref();
    // Only queries are ever stored, so an answer found under this request's key is a
    // query's: a hit needs no parse. Documents that may hold a mutation are parsed first,
    // so that they never cost a look-up (a Redis round trip with the shared layer).
    let anonymous = cache.filter(|_| matches!(caller.auth, Auth::Anonymous));
    let key = anonymous
        .filter(|_| !request.query.is_empty() && !may_write(&request.query))
        .map(|_| CacheKey::of(&request));
    if let (Some(cache), Some(key)) = (anonymous, &key)
        && let Some((body, layer)) = cache.get(key).await
    {
        return cached_answer(state, started, body, layer);
    }
    let kind = operation_type(&state.documents, &request);
    let cacheable = anonymous.filter(|_| kind == Some(OperationType::Query));
    let mut lookup = None;
    if let Some(cache) = cacheable {
        let key = match key {
            Some(key) => key,
            // Parsed as a query after all: look it up now.
            None => {
                let key = CacheKey::of(&request);
                if let Some((body, layer)) = cache.get(&key).await {
                    return cached_answer(state, started, body, layer);
                }
                key
            }
        };
        lookup = Some((key, cache.ticket()));
    }
    // Executed: in the span that names the request in every line its work logs.
    run_uncached(
        state, caller, media, headers, request, kind, lookup, started,
    )
    .instrument(request_span(headers))
    .await
}

/// [`run`] past the response cache: the operation executed and its answer shaped (and
/// stored, when `lookup` holds the cache's ticket).
#[allow(clippy::too_many_arguments)]
async fn run_uncached(
    state: &AppState,
    caller: &Caller,
    media: MediaType,
    headers: &HeaderMap,
    request: Request,
    kind: Option<OperationType>,
    lookup: Option<(CacheKey, crate::cache::Ticket)>,
    started: Instant,
) -> Answer {
    let cache = state.cache.as_deref();
    let Some(_turn) = state.admission.enter().await else {
        return busy(state, headers);
    };
    let request = gerak_schema::prepare(
        &state.domains,
        request,
        caller.auth.clone(),
        caller.meta.clone(),
    );
    // Boxed: execution's state is kilobytes, and every request's future (cached answers
    // too) would otherwise carry and move it.
    let response = Box::pin(gerak_schema::in_passes(state.schema.execute(request))).await;
    // A mutation (or an operation whose kind is unknown here: a persisted query sent by
    // its hash) may have changed what any reader sees.
    if let (Some(cache), false) = (cache, kind == Some(OperationType::Query)) {
        cache.invalidate();
    }
    let clean = response.errors.is_empty();
    let id = request_id(headers);
    let request_failed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let retry_after = response
        .errors
        .iter()
        .filter_map(|e| {
            let ext = e.extensions.as_ref()?;
            match (ext.get("code")?, ext.get("retryAfter")?) {
                (async_graphql::Value::String(code), async_graphql::Value::Number(n))
                    if code == "RATE_LIMITED" =>
                {
                    n.as_u64()
                }
                _ => None,
            }
        })
        .max();
    let body = shape(response, &id, request_failed);
    let outcomes = &state.metrics_of_requests;
    if request_failed {
        outcomes.refused.record(started);
    } else {
        outcomes.executed.record(started);
    }
    let status = if request_failed && media == MediaType::GraphQlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body: Arc<str> = body.to_string().into();
    let mut cache_status = None;
    // A ticket only for a cacheable query (see `run`).
    if let (Some(cache), Some((key, ticket))) = (cache, lookup) {
        cache_status = Some("miss");
        // Only clean answers: errors carry a request id and may be passing trouble.
        if clean {
            cache.put(key, ticket, body.clone()).await;
        }
    }
    Answer {
        status,
        body,
        retry_after,
        clean,
        cache: cache_status,
    }
}

/// Refused by admission: the server is at capacity and the queue did not move in time.
fn busy(state: &AppState, headers: &HeaderMap) -> Answer {
    metrics::counter!("gerak_graphql_errors_total", "code" => "UNAVAILABLE").increment(1);
    state.metrics_of_requests.refused.total.increment(1);
    let body = json!({ "errors": [{
        "message": "the server is at capacity; retry in a moment",
        "extensions": { "code": "UNAVAILABLE", "retryAfter": BUSY_RETRY_AFTER, "requestId": request_id(headers) },
    }] });
    Answer {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: body.to_string().into(),
        retry_after: Some(BUSY_RETRY_AFTER),
        clean: false,
        cache: None,
    }
}

/// Seconds a refused client is asked to wait: the queue drains in about that.
const BUSY_RETRY_AFTER: u64 = 1;

fn cached_answer(state: &AppState, started: Instant, body: Arc<str>, layer: Layer) -> Answer {
    state.metrics_of_requests.cached.record(started);
    Answer {
        status: StatusCode::OK,
        body,
        retry_after: None,
        clean: true,
        cache: Some(match layer {
            Layer::Local => "hit",
            Layer::Shared => "hit-shared",
        }),
    }
}

/// Whether a document may hold a mutation or subscription: a cheap over-estimate (the
/// words may be a field name or in a string), which only costs a parse.
fn may_write(query: &str) -> bool {
    query.contains("mutation") || query.contains("subscription")
}

fn shape(response: Response, request_id: &str, request_failed: bool) -> Value {
    let mut errors = Vec::with_capacity(response.errors.len());
    for mut error in response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            // Errors async-graphql raises itself: parse, validation and limit failures
            // (no path), and input values it could not coerce while resolving (a path,
            // and its own wording). Anything else is ours and unexpected: its message
            // goes to the log, not to the client.
            let bad_input = request_failed
                || error.message.starts_with("Failed to parse \"")
                || error.message.starts_with("Expected input type \"");
            let code = if bad_input {
                "BAD_USER_INPUT"
            } else {
                tracing::error!(detail = %error.message, "internal error without a code");
                error.message = "internal error; quote the requestId when reporting it".to_owned();
                "INTERNAL"
            };
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("code", code);
            metrics::counter!("gerak_graphql_errors_total", "code" => code).increment(1);
        }
        let extensions = error.extensions.get_or_insert_with(Default::default);
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
    respond_text(media, status, body.to_string())
}

fn respond_text(media: MediaType, status: StatusCode, body: impl Into<Body>) -> HttpResponse {
    let mut response = HttpResponse::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    response
}

/// An answer the response cache may hold too, sent without copying it.
fn shared_body(text: Arc<str>) -> Body {
    struct Shared(Arc<str>);
    impl AsRef<[u8]> for Shared {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }
    Body::from(Bytes::from_owner(Shared(text)))
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

/// The kind of operation the request runs; `None` when the text does not say (a syntax
/// error in a document that mentions `mutation` or `subscription`, which execution
/// reports, or a persisted query sent by its hash alone). A syntax error in any other
/// document is taken for a query: it runs nothing either way.
fn operation_type(documents: &ParsedDocuments, request: &Request) -> Option<OperationType> {
    // A document that never says `mutation` or `subscription` holds queries only: no need
    // to look it up here.
    if !request.query.trim().is_empty() && !may_write(&request.query) {
        return Some(OperationType::Query);
    }
    documents.operation_type(&request.query, request.operation_name.as_deref())
}

async fn websocket(
    state: AppState,
    caller: Caller,
    request: axum::extract::Request,
) -> HttpResponse {
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
    // Over the socket any operation may run, and each counts as a request.
    let meta = gerak_schema::RequestMeta {
        read_only: false,
        ..caller.meta
    };
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
                    let count_each = match &auth {
                        Auth::Viewer(viewer) => (
                            gerak_schema::throttle::rules::USER,
                            format!("user:{}", viewer.user_id),
                        ),
                        _ => (
                            gerak_schema::throttle::rules::ANONYMOUS,
                            meta.client.clone(),
                        ),
                    };
                    let meta = gerak_schema::RequestMeta {
                        count_each: Some(count_each),
                        ..meta
                    };
                    Ok(gerak_schema::connection_data(&domains, auth, meta))
                })
                .serve()
        })
}
