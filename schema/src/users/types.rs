use async_graphql::{Context, Enum, ID, Object, SimpleObject, connection::Connection};
use chrono::{DateTime, Utc};
use gerak_actors::users as domain;

use crate::{
    auth::optional_viewer,
    challenges::{Participation, participation_connection},
    connection::{Cursor, Total},
    error::FieldResult,
};

/// What a user may do.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Joins campaigns and challenges, donates.
    User,
    /// Organizes campaigns and pays for approved actions.
    Sponsor,
    /// Runs the platform.
    Admin,
    /// Another service (payments, notifications) acting through the API.
    Service,
}

impl From<domain::Role> for Role {
    fn from(role: domain::Role) -> Self {
        match role {
            domain::Role::User => Role::User,
            domain::Role::Sponsor => Role::Sponsor,
            domain::Role::Admin => Role::Admin,
            domain::Role::Service => Role::Service,
        }
    }
}

impl From<Role> for domain::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::User => domain::Role::User,
            Role::Sponsor => domain::Role::Sponsor,
            Role::Admin => domain::Role::Admin,
            Role::Service => domain::Role::Service,
        }
    }
}

/// A person or organisation with an account.
pub struct User {
    pub record: domain::User,
    /// Set when the record is the caller's own session (register, login): the caller may
    /// see their email even before their request carries the new token.
    owner_view: bool,
}

impl User {
    pub fn new(record: domain::User) -> Self {
        Self {
            record,
            owner_view: false,
        }
    }

    fn own(record: domain::User) -> Self {
        Self {
            record,
            owner_view: true,
        }
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.record.id.clone())
    }

    /// The id this account had in the legacy monolith, if it was imported.
    async fn legacy_id(&self) -> Option<i64> {
        self.record.legacy_id
    }

    /// Visible to the user themself and to admins only; null for everyone else.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        if self.owner_view {
            return Some(self.record.email.as_str());
        }
        let viewer = optional_viewer(ctx).ok().flatten()?;
        (viewer.user_id == self.record.id || viewer.is_admin())
            .then_some(self.record.email.as_str())
    }

    async fn full_name(&self) -> &str {
        &self.record.full_name
    }

    async fn role(&self) -> Role {
        self.record.role.into()
    }

    async fn company_name(&self) -> Option<&str> {
        self.record.company_name.as_deref()
    }

    async fn avatar_url(&self) -> Option<&str> {
        self.record.avatar_url.as_deref()
    }

    /// Suspended accounts cannot log in or act.
    async fn suspended(&self) -> bool {
        self.record.suspended
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.record.created_at
    }

    /// The challenges this user has joined, newest first.
    async fn participations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<Cursor, Participation, Total>> {
        Ok(participation_connection(ctx, None, Some(&self.record.id), first, after, None).await?)
    }

    /// Their donations, newest first: visible to themself and admins only.
    async fn donations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> FieldResult<Connection<Cursor, crate::donations::Donation, Total>> {
        let viewer = optional_viewer(ctx)?;
        if !viewer.is_some_and(|v| v.is_admin() || v.user_id == self.record.id) {
            return Err(crate::error::ApiError::Forbidden(
                "only the user themself or an admin may see their donations".to_owned(),
            )
            .into());
        }
        Ok(crate::donations::donation_connection(
            ctx,
            None,
            Some(self.record.id.clone()),
            false,
            first,
            after,
        )
        .await?)
    }
}

/// A session: a short-lived access token and the refresh token that renews it.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// Use once with `refreshToken`; each use returns a new one.
    pub refresh_token: String,
    /// When the access token stops working.
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

impl From<domain::AuthSession> for AuthPayload {
    fn from(session: domain::AuthSession) -> Self {
        Self {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            expires_at: session.expires_at,
            user: User::own(session.user),
        }
    }
}
