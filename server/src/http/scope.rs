//! What every HTTP request gets around it, in one layer: its id (kept from a proxy in
//! front of us, made otherwise) in `X-Request-Id` both ways, a `request` span for the
//! log lines it causes, and an error line when it ends in a server error.
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

use axum::http::{HeaderValue, Request, Response, StatusCode};
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
        // With INFO filtered out the span is `Span::none()`, and its fields are never
        // formatted.
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = id.to_str().unwrap_or("unknown"),
        );
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ScopeFuture {
            inner,
            span,
            id: Some(id),
            started,
        }
    }
}

pin_project! {
    pub struct ScopeFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        id: Option<HeaderValue>,
        started: Instant,
    }
}

impl<F, ResBody, E> Future for ScopeFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut response = ready!(this.inner.poll(cx))?;
        let status = response.status();
        let ms = this.started.elapsed().as_secs_f64() * 1000.0;
        // A 503 is admission turning work away on purpose (counted in
        // `gerak_admission_refused_total`): logging each one at ERROR would flood the log
        // exactly when the server is busiest.
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(status = status.as_u16(), ms, "response failed");
        } else {
            tracing::debug!(status = status.as_u16(), ms, "answered");
        }
        if let Some(id) = this.id.take() {
            response.headers_mut().entry(REQUEST_ID).or_insert(id);
        }
        Poll::Ready(Ok(response))
    }
}

/// A v4 UUID, written without the formatting machinery.
fn new_request_id() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("unknown"))
}
