use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use gerak_actors::users::{
    ChangePassword, Login, Logout, RefreshSession, Register, SetRole, UpdateProfile,
};

use super::{Role, User, require_active, types::AuthPayload};
use crate::{
    Handles,
    auth::{require_admin, require_viewer},
    error::{ApiError, FieldResult},
    input::{parse_id, patch},
};

/// Sign-up. ADMIN and SERVICE cannot be chosen here.
#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    pub full_name: String,
    /// USER (the default) or SPONSOR.
    #[graphql(default_with = "Some(Role::User)")]
    pub role: Option<Role>,
    /// For sponsors.
    pub company_name: Option<String>,
}

#[derive(Default)]
pub struct UsersMutation;

#[Object]
impl UsersMutation {
    /// Creates an account and logs it in. Emails are unique, whatever their case.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> FieldResult<AuthPayload> {
        let session = Handles::of(ctx)?
            .users
            .send(Register {
                email: input.email,
                password: input.password,
                full_name: input.full_name,
                role: input.role.unwrap_or(Role::User).into(),
                company_name: input.company_name,
            })
            .await?;
        Ok(session.into())
    }

    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> FieldResult<AuthPayload> {
        let session = Handles::of(ctx)?
            .users
            .send(Login { email, password })
            .await?;
        Ok(session.into())
    }

    /// Exchanges a refresh token for a new session. The old refresh token stops working;
    /// presenting it again ends the whole session (it was stolen, or replayed).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> FieldResult<AuthPayload> {
        let session = Handles::of(ctx)?
            .users
            .send(RefreshSession { refresh_token })
            .await?;
        Ok(session.into())
    }

    /// Ends the session the refresh token belongs to. False if it had already ended.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> FieldResult<bool> {
        Ok(Handles::of(ctx)?
            .users
            .send(Logout { refresh_token })
            .await?)
    }

    /// Changes the caller's profile. An empty string clears `avatarUrl` or `companyName`.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        full_name: Option<String>,
        avatar_url: MaybeUndefined<String>,
        company_name: MaybeUndefined<String>,
    ) -> FieldResult<User> {
        let viewer = require_viewer(ctx)?;
        let user = Handles::of(ctx)?
            .users
            .send(UpdateProfile {
                user_id: viewer.user_id.clone(),
                full_name,
                avatar_url: patch(avatar_url),
                company_name: patch(company_name),
            })
            .await?;
        Ok(User::new(user))
    }

    /// Changes the caller's password and ends all their sessions.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> FieldResult<bool> {
        let viewer = require_viewer(ctx)?;
        Ok(Handles::of(ctx)?
            .users
            .send(ChangePassword {
                user_id: viewer.user_id.clone(),
                current_password,
                new_password,
            })
            .await?)
    }

    /// Gives an account another role (ADMIN).
    async fn set_user_role(&self, ctx: &Context<'_>, user_id: ID, role: Role) -> FieldResult<User> {
        let viewer = require_admin(ctx)?;
        let admin = require_active(ctx, viewer).await?;
        if admin.role != gerak_actors::users::Role::Admin {
            return Err(ApiError::Forbidden("only admins may do this".to_owned()).into());
        }
        let user_id = parse_id("userId", &user_id)?;
        let user = Handles::of(ctx)?
            .users
            .send(SetRole {
                changed_by: viewer.user_id.clone(),
                user_id,
                role: role.into(),
            })
            .await?;
        Ok(User::new(user))
    }
}
