//! What every HTTP request gets around it, in one layer: its id (kept from a proxy in
//! front of us, made otherwise) in `X-Request-Id` both ways, and an error line naming it
//! when it ends in a server error.
//!
//! The `request` span that ties a request's log lines together is made where work that
//! logs begins ([`request_span`]: GraphQL execution), not here: with logging at INFO
//! every span is registered and its fields formatted as it is made, whether a line is
//! logged in it or not, and a span around every request cost cached `{ __typename }`
//! answers 8–11% of their rate (`wrk`, alternated with `--log warn`).
//!
//! One hand-written layer instead of tower-http's three (`SetRequestId`,
//! `PropagateRequestId`, `Trace`), wrapped around the whole router rather than added to
//! each route: each route-level layer cost a boxed clone of the route and a boxed future
//! per request. Cached `{ __typename }` answers went from 84–85k to 97–102k req/s alone
//! with this (see "Latest figures" in the README).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::Span;

use super::REQUEST_ID;

#[derive(Clone, Copy, Default)]
pub struct RequestScopeLayer;

impl<S> Layer<S> for RequestScopeLayer {
    type Service = RequestScope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestScope { inner }
    }
}

#[derive(Clone)]
pub struct RequestScope<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestScope<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ScopeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let id = match request.headers().get(&REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = new_request_id();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let method = request.method().clone();
        let uri = request.uri().clone();
        ScopeFuture {
            inner: self.inner.call(request),
            id: Some(id),
            started,
            method,
            uri,
        }
    }
}

pin_project! {
    pub struct ScopeFuture<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
        started: Instant,
        method: Method,
        uri: Uri,
    }
}

impl<F, ResBody, E> Future for ScopeFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        let status = response.status();
        let ms = this.started.elapsed().as_secs_f64() * 1000.0;
        // A 503 is admission turning work away on purpose (counted in
        // `gerak_admission_refused_total`): logging each one at ERROR would flood the log
        // exactly when the server is busiest.
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(request_id = request_id(this.id), method = %this.method, path = this.uri.path(), status = status.as_u16(), ms, "response failed");
        } else {
            tracing::debug!(request_id = request_id(this.id), method = %this.method, path = this.uri.path(), status = status.as_u16(), ms, "answered");
        }
        if let Some(id) = this.id.take() {
            response.headers_mut().entry(REQUEST_ID).or_insert(id);
        }
        Poll::Ready(Ok(response))
    }
}

/// The span of the work a request does, named by its id (as [`RequestScope`] set it).
pub fn request_span(headers: &HeaderMap) -> Span {
    let id = headers.get(&REQUEST_ID).and_then(|id| id.to_str().ok());
    tracing::info_span!("request", request_id = id.unwrap_or("unknown"))
}

fn request_id(id: &Option<HeaderValue>) -> &str {
    id.as_ref()
        .and_then(|id| id.to_str().ok())
        .unwrap_or("unknown")
}

/// A v4 UUID, written without the formatting machinery.
fn new_request_id() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("unknown"))
}
