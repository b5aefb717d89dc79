//! Per-request DataLoaders: each batches the look-ups of one request into one message to
//! the owning domain, so a page of N items costs a constant number of messages.

use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{Context, dataloader::DataLoader};
use futures::future::BoxFuture;

use crate::error::{ApiError, ApiResult};

/// The request's loader of type `L` (registered by `crate::prepare`).
pub fn loader<'a, L: Send + Sync + 'static>(ctx: &'a Context<'_>) -> ApiResult<&'a DataLoader<L>> {
    ctx.data::<DataLoader<L>>()
        .map_err(|e| ApiError::Internal(format!("loader missing: {}", e.message)))
}

tokio::task_local! {
    /// Loader fetches asked for during the current poll of a request run by [`in_passes`].
    static STARTED: Arc<Mutex<Vec<BoxFuture<'static, ()>>>>;
}

/// The loaders' spawner. Inside a request run by [`in_passes`], a fetch starts only once
/// the poll that asked for it is over: sibling fields are all resolved in that one poll,
/// so every key they ask for is in the batch, however busy the machine (a timer window
/// can close early when the thread is preempted, and splits batches). Elsewhere (a
/// subscription, say) it starts at once.
pub(crate) fn spawn_fetch(fetch: BoxFuture<'static, ()>) {
    let mut fetch = Some(fetch);
    let _ = STARTED.try_with(|started| {
        if let Some(fetch) = fetch.take() {
            started
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(fetch);
        }
    });
    if let Some(fetch) = fetch {
        tokio::spawn(fetch);
    }
}

/// Runs a request's execution so that its loaders batch per poll (see [`spawn_fetch`]).
pub async fn in_passes<F: Future>(future: F) -> F::Output {
    let started: Arc<Mutex<Vec<BoxFuture<'static, ()>>>> = Arc::default();
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        let poll = STARTED.sync_scope(started.clone(), || future.as_mut().poll(cx));
        let fetches = std::mem::take(&mut *started.lock().unwrap_or_else(PoisonError::into_inner));
        for fetch in fetches {
            tokio::spawn(fetch);
        }
        poll
    })
    .await
}
