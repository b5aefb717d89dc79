//! Per-request DataLoaders: each batches the look-ups of one request into one message to
//! the owning domain, so a page of N items costs a constant number of messages.

use async_graphql::{Context, dataloader::DataLoader};

use crate::error::{ApiError, ApiResult};

/// The request's loader of type `L` (registered by `crate::prepare`).
pub fn loader<'a, L: Send + Sync + 'static>(ctx: &'a Context<'_>) -> ApiResult<&'a DataLoader<L>> {
    ctx.data::<DataLoader<L>>()
        .map_err(|e| ApiError::Internal(format!("loader missing: {}", e.message)))
}
