use std::collections::HashMap;

use async_graphql::{
    Context,
    dataloader::{DataLoader, Loader},
};
use gerak_actors::{
    DomainError,
    users::{GetUsers, User, UsersHandle},
};

use crate::{
    Handles,
    auth::Viewer,
    error::{ApiError, ApiResult},
};

/// Batches user look-ups of one request into one message to the users domain.
pub struct UserLoader(pub UsersHandle);

impl Loader<String> for UserLoader {
    type Value = User;
    type Error = DomainError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, User>, DomainError> {
        let users = self.0.send(GetUsers { ids: ids.to_vec() }).await?;
        Ok(users.into_iter().map(|u| (u.id.clone(), u)).collect())
    }
}

pub async fn load_user(ctx: &Context<'_>, id: &str) -> ApiResult<Option<User>> {
    let loader = ctx
        .data::<DataLoader<UserLoader>>()
        .map_err(|e| ApiError::Internal(format!("user loader missing: {}", e.message)))?;
    Ok(loader.load_one(id.to_owned()).await?)
}

/// For mutations: the viewer's account as it is now (not as the token remembers it; a
/// change made on another instance within a second). A deleted account is
/// UNAUTHENTICATED, a suspended one FORBIDDEN.
pub async fn require_active(ctx: &Context<'_>, viewer: &Viewer) -> ApiResult<User> {
    let domains = Handles::of(ctx)?;
    let user = domains
        .accounts
        .get(&domains.users, &viewer.user_id)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("the account no longer exists".to_owned()))?;
    if user.suspended {
        return Err(ApiError::Forbidden("this account is suspended".to_owned()));
    }
    Ok(user)
}
