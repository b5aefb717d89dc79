use async_graphql::{Context, Enum, ID, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};

use super::Role;
use crate::{Handles, auth::require_viewer, error::FieldError};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccountEventKind {
    RoleChanged,
    Suspended,
    Reinstated,
}

/// Something that happened to the caller's own account.
#[derive(SimpleObject, Clone, Debug)]
pub struct AccountEvent {
    pub kind: AccountEventKind,
    pub user_id: ID,
    /// The new role, for ROLE_CHANGED.
    pub role: Option<Role>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct UsersSubscription;

#[Subscription]
impl UsersSubscription {
    /// Changes to the caller's account as they happen (a new role, a suspension), so
    /// that apps can refresh their session or sign out at once.
    async fn account_events(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = AccountEvent> + use<>, FieldError> {
        let viewer = require_viewer(ctx)?.clone();
        let events = Handles::of(ctx)?.bus.subscribe();
        Ok(events.filter_map(move |event| {
            let mine = event.data.get("userId").and_then(|v| v.as_str()) == Some(&viewer.user_id);
            let kind = match event.kind.as_str() {
                "users.user_role_changed" => Some(AccountEventKind::RoleChanged),
                "users.user_suspended" => Some(AccountEventKind::Suspended),
                "users.user_reinstated" => Some(AccountEventKind::Reinstated),
                _ => None,
            };
            let role = event
                .data
                .get("role")
                .and_then(|r| serde_json::from_value::<gerak_actors::users::Role>(r.clone()).ok())
                .map(Role::from);
            let item = kind.filter(|_| mine).map(|kind| AccountEvent {
                kind,
                user_id: ID(viewer.user_id.clone()),
                role,
                occurred_at: event.occurred_at,
            });
            async move { item }
        }))
    }
}
