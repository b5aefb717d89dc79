//! Who is asking. Tokens are verified once per request (HTTP) or connection (WebSocket);
//! guards below are the only place that decides what a role may do.

use std::sync::Arc;

use async_graphql::Context;
use gerak_actors::users::{Role, tokens::AccessTokens};

use crate::error::{ApiError, ApiResult};

/// The authenticated caller, as the access token says.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: String,
    pub role: Role,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What the request's credentials came to.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    Viewer(Viewer),
    /// A token was sent but is not acceptable; fields that need a viewer report why.
    Refused(String),
}

impl Auth {
    /// From an `Authorization` header value (or the same in a WebSocket init payload).
    pub fn from_header(tokens: &Arc<AccessTokens>, header: Option<&str>) -> Self {
        let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else {
            return Auth::Anonymous;
        };
        let Some(token) = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
        else {
            return Auth::Refused(
                "the Authorization header must be `Bearer <accessToken>`".to_owned(),
            );
        };
        match tokens.verify(token.trim()) {
            Ok(claims) => Auth::Viewer(Viewer {
                user_id: claims.sub,
                role: claims.role,
            }),
            Err(err) => Auth::Refused(err.to_string()),
        }
    }
}

/// The viewer if there is one; an error only if a token was sent and refused.
pub fn optional_viewer<'a>(ctx: &'a Context<'_>) -> ApiResult<Option<&'a Viewer>> {
    match ctx.data_opt::<Auth>() {
        None | Some(Auth::Anonymous) => Ok(None),
        Some(Auth::Viewer(viewer)) => Ok(Some(viewer)),
        Some(Auth::Refused(reason)) => Err(ApiError::Unauthenticated(reason.clone())),
    }
}

pub fn require_viewer<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Viewer> {
    optional_viewer(ctx)?.ok_or_else(ApiError::login_required)
}

/// Admin-only fields. Reads trust the (short-lived) token's role; mutations also check
/// the account's current state in the users domain (see `users::require_active`).
pub fn require_admin<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Viewer> {
    let viewer = require_viewer(ctx)?;
    if viewer.is_admin() {
        Ok(viewer)
    } else {
        Err(ApiError::Forbidden("only admins may do this".to_owned()))
    }
}
