//! The users domain's logic, run by its actor.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use gerak_entities::users::{
    refresh_token,
    user::{self, PasswordScheme},
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use serde_json::json;

use super::{
    AccountCache,
    messages::*,
    password,
    tokens::{AccessTokens, hash_refresh_token, new_refresh_token},
};
use crate::{
    DomainError,
    bus::Event,
    db::{DomainDb, Order},
    runtime::{
        ApplyEvent, ApplyEvents, Domain, DomainService, Outbox, claim, commit_with, event_text,
        one_by_one,
    },
    validate::{optional_text, optional_url, required_text, search_pattern},
};

const MAX_NAME: usize = 200;
const MAX_EMAIL: usize = 320;

#[derive(Clone)]
pub struct UsersService {
    pub(crate) db: DomainDb,
    pub(crate) tokens: Arc<AccessTokens>,
    pub(crate) outbox: Outbox,
    pub(crate) refresh_ttl: Duration,
    pub(crate) accounts: AccountCache,
}

impl DomainService for UsersService {
    const DOMAIN: Domain = Domain::Users;

    fn db(&self) -> &DomainDb {
        &self.db
    }
}

impl UsersService {
    pub async fn register(self, msg: Register) -> Result<AuthSession, DomainError> {
        if msg.role.is_privileged() {
            return Err(DomainError::Forbidden(format!(
                "the role {:?} cannot be chosen at registration",
                msg.role
            )));
        }
        let row = new_user(
            msg.email,
            msg.password,
            msg.full_name,
            msg.role,
            msg.company_name,
        )
        .await?;
        let txn = self.begin().await?;
        let user = self.insert_user(&txn, row).await?;
        let event = registered(&user);
        let session = self.open_session(&txn, user, None).await?;
        self.commit_with(txn, vec![event]).await?;
        Ok(session)
    }

    pub async fn create_admin(self, msg: CreateAdmin) -> Result<User, DomainError> {
        let row = new_user(msg.email, msg.password, msg.full_name, Role::Admin, None).await?;
        let txn = self.begin().await?;
        let user = self.insert_user(&txn, row).await?;
        self.commit_with(txn, vec![registered(&user)]).await?;
        Ok(user)
    }

    async fn insert_user(
        &self,
        txn: &DatabaseTransaction,
        model: user::ActiveModel,
    ) -> Result<User, DomainError> {
        match model.insert(txn).await {
            Ok(row) => Ok(row.into()),
            Err(err) => Err(match self.db.map_err(err) {
                DomainError::Conflict(_) => {
                    DomainError::Conflict("an account with this email already exists".to_owned())
                }
                other => other,
            }),
        }
    }
}

fn registered(user: &User) -> Event {
    Event::new(
        Domain::Users,
        "user_registered",
        json!({ "userId": user.id, "role": user.role, "createdAt": user.created_at }),
    )
}

/// A checked, hashed new account, before any transaction (hashing is slow on purpose
/// and must not hold the database's writer).
async fn new_user(
    email: String,
    password_text: String,
    full_name: String,
    role: Role,
    company_name: Option<String>,
) -> Result<user::ActiveModel, DomainError> {
    {
        let (email, email_key) = normalize_email(&email)?;
        password::validate("password", &password_text)?;
        let full_name = required_text("fullName", &full_name, MAX_NAME)?;
        let company_name = optional_text("companyName", company_name, MAX_NAME)?;
        let password_hash = password::hash(password_text).await?;
        let now = Utc::now();
        let model = user::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            legacy_id: Set(None),
            email: Set(email),
            email_key: Set(email_key),
            password_hash: Set(password_hash),
            password_scheme: Set(PasswordScheme::Argon2id),
            full_name: Set(full_name),
            role: Set(role.into()),
            company_name: Set(company_name),
            avatar_url: Set(None),
            phone: Set(None),
            suspended: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        };
        Ok(model)
    }
}

impl UsersService {
    pub async fn login(self, msg: Login) -> Result<AuthSession, DomainError> {
        let refused = || DomainError::Unauthenticated("wrong email or password".to_owned());
        let key = msg.email.trim().to_lowercase();
        // No account has such an email; asking the database would only let it choke on
        // a NUL (PostgreSQL) or a huge key, and answer faster than a real miss.
        if key.len() > MAX_EMAIL || key.chars().any(char::is_control) {
            password::burn_time(msg.password).await;
            return Err(refused());
        }
        let found = user::Entity::find()
            .filter(user::Column::EmailKey.eq(key))
            .one(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let Some(row) = found else {
            password::burn_time(msg.password).await;
            return Err(refused());
        };
        let ok = password::verify(
            msg.password.clone(),
            row.password_hash.clone(),
            row.password_scheme,
        )
        .await?;
        if !ok {
            return Err(refused());
        }
        ensure_not_suspended(&row)?;
        let txn = self.begin().await?;
        if row.password_scheme != PasswordScheme::Argon2id {
            // A legacy hash proved right: replace it with argon2id now.
            let mut upgrade: user::ActiveModel = row.clone().into();
            upgrade.password_hash = Set(password::hash(msg.password).await?);
            upgrade.password_scheme = Set(PasswordScheme::Argon2id);
            upgrade.updated_at = Set(Utc::now());
            upgrade.update(&txn).await.map_err(|e| self.db.map_err(e))?;
        }
        let session = self.open_session(&txn, row.into(), None).await?;
        self.commit(txn).await?;
        Ok(session)
    }

    pub async fn refresh(self, msg: RefreshSession) -> Result<AuthSession, DomainError> {
        let txn = self.begin().await?;
        let token = self.find_refresh_token(&txn, &msg.refresh_token).await?;
        let now = Utc::now();
        if token.revoked_at.is_some() || token.expires_at <= now {
            return Err(DomainError::Unauthenticated(
                "the refresh token has expired or was revoked; log in again".to_owned(),
            ));
        }
        // Mark it used only if nobody else did first: of two concurrent refreshes with the
        // same token, exactly one wins and the other is treated as reuse.
        let claimed = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(token.id.clone()))
            .filter(refresh_token::Column::UsedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        if claimed.rows_affected != 1 {
            self.revoke_family(&txn, &token.family_id).await?;
            self.commit(txn).await?;
            tracing::warn!(user_id = %token.user_id, "refresh token reused: session revoked");
            return Err(DomainError::Unauthenticated(
                "this refresh token was already used; the session has been revoked for safety, log in again"
                    .to_owned(),
            ));
        }
        let row = user::Entity::find_by_id(token.user_id.clone())
            .one(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| {
                DomainError::Unauthenticated("the account no longer exists".to_owned())
            })?;
        ensure_not_suspended(&row)?;
        let session = self
            .open_session(&txn, row.into(), Some(token.family_id))
            .await?;
        self.commit(txn).await?;
        Ok(session)
    }

    pub async fn logout(self, msg: Logout) -> Result<bool, DomainError> {
        let txn = self.begin().await?;
        let hash = hash_refresh_token(&msg.refresh_token);
        let found = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .one(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        let Some(token) = found else {
            return Ok(false);
        };
        let revoked = self.revoke_family(&txn, &token.family_id).await?;
        self.commit(txn).await?;
        Ok(revoked > 0)
    }

    pub async fn get_users(self, msg: GetUsers) -> Result<Vec<User>, DomainError> {
        if msg.ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = user::Entity::find()
            .filter(user::Column::Id.is_in(msg.ids))
            .all(&self.db.read)
            .await
            .map_err(|e| self.db.map_err(e))?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub async fn list_users(self, msg: ListUsers) -> Result<UserPage, DomainError> {
        let mut filter = Condition::all();
        if let Some(role) = msg.role {
            filter = filter.add(user::Column::Role.eq(user::Role::from(role)));
        }
        if let Some(pattern) = search_pattern(msg.search.as_deref())? {
            filter = filter.add(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col(user::Column::FullName)))
                            .like(LikeExpr::new(pattern.clone()).escape('\\')),
                    )
                    .add(
                        Expr::col(user::Column::EmailKey).like(LikeExpr::new(pattern).escape('\\')),
                    ),
            );
        }
        let page = self
            .db
            .keyset_page::<user::Entity>(
                filter,
                user::Column::Id,
                msg.after,
                msg.first,
                Order::NewestFirst,
            )
            .await?;
        let (has_next_page, total_count) = (page.has_next_page, page.total_count);
        let users: Vec<User> = page.rows.into_iter().map(User::from).collect();
        Ok(UserPage {
            users,
            has_next_page,
            total_count,
        })
    }

    pub async fn update_profile(self, msg: UpdateProfile) -> Result<User, DomainError> {
        let row = self.active_user(&msg.user_id).await?;
        let mut change: user::ActiveModel = row.into();
        if let Some(full_name) = msg.full_name {
            change.full_name = Set(required_text("fullName", &full_name, MAX_NAME)?);
        }
        if let Some(avatar_url) = msg.avatar_url {
            change.avatar_url = Set(optional_url("avatarUrl", avatar_url)?);
        }
        if let Some(company_name) = msg.company_name {
            change.company_name = Set(optional_text("companyName", company_name, MAX_NAME)?);
        }
        change.updated_at = Set(Utc::now());
        let row = change
            .update(&self.db.write)
            .await
            .map_err(|e| self.db.map_err(e))?;
        self.accounts.forget(&row.id);
        Ok(row.into())
    }

    pub async fn change_password(self, msg: ChangePassword) -> Result<bool, DomainError> {
        password::validate("newPassword", &msg.new_password)?;
        let row = self.active_user(&msg.user_id).await?;
        let ok = password::verify(
            msg.current_password,
            row.password_hash.clone(),
            row.password_scheme,
        )
        .await?;
        if !ok {
            return Err(DomainError::invalid(
                "currentPassword",
                "is not the current password",
            ));
        }
        let hash = password::hash(msg.new_password).await?;
        let txn = self.begin().await?;
        let mut change: user::ActiveModel = row.into();
        change.password_hash = Set(hash);
        change.password_scheme = Set(PasswordScheme::Argon2id);
        change.updated_at = Set(Utc::now());
        change.update(&txn).await.map_err(|e| self.db.map_err(e))?;
        // Every session of the account ends: whoever knew the old password is out.
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(refresh_token::Column::UserId.eq(msg.user_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        self.commit(txn).await?;
        Ok(true)
    }

    pub async fn set_role(self, msg: SetRole) -> Result<User, DomainError> {
        if msg.changed_by == msg.user_id {
            return Err(DomainError::invalid(
                "userId",
                "admins cannot change their own role; ask another admin",
            ));
        }
        let row = self.existing_user(&msg.user_id).await?;
        let previous: Role = row.role.into();
        let mut change: user::ActiveModel = row.into();
        change.role = Set(msg.role.into());
        change.updated_at = Set(Utc::now());
        let txn = self.begin().await?;
        let user: User = change
            .update(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?
            .into();
        let mut events = Vec::new();
        if previous != user.role {
            events.push(Event::new(
                Domain::Users,
                "user_role_changed",
                json!({ "userId": user.id, "previousRole": previous, "role": user.role, "changedBy": msg.changed_by }),
            ));
        }
        self.commit_with(txn, events).await?;
        self.accounts.forget(&user.id);
        Ok(user)
    }

    pub async fn set_suspended(self, msg: SetSuspended) -> Result<User, DomainError> {
        let row = self.existing_user(&msg.user_id).await?;
        let was = row.suspended;
        let txn = self.begin().await?;
        let mut change: user::ActiveModel = row.into();
        change.suspended = Set(msg.suspended);
        change.updated_at = Set(Utc::now());
        let user: User = change
            .update(&txn)
            .await
            .map_err(|e| self.db.map_err(e))?
            .into();
        if msg.suspended {
            refresh_token::Entity::update_many()
                .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
                .filter(refresh_token::Column::UserId.eq(user.id.clone()))
                .filter(refresh_token::Column::RevokedAt.is_null())
                .exec(&txn)
                .await
                .map_err(|e| self.db.map_err(e))?;
        }
        let mut events = Vec::new();
        if was != msg.suspended {
            let kind = if msg.suspended {
                "user_suspended"
            } else {
                "user_reinstated"
            };
            events.push(Event::new(
                Domain::Users,
                kind,
                json!({ "userId": user.id }),
            ));
        }
        self.commit_with(txn, events).await?;
        self.accounts.forget(&user.id);
        Ok(user)
    }

    /// Several events, each in its own transaction.
    pub async fn apply_all(self, ApplyEvents(events): ApplyEvents) -> Result<(), DomainError> {
        one_by_one(events, |event| self.clone().apply(event)).await
    }

    /// Moderation's decisions about accounts.
    pub async fn apply(self, ApplyEvent(event): ApplyEvent) -> Result<(), DomainError> {
        let user_id = event_text(&event.data, "userId")?.to_owned();
        let txn = self.begin().await?;
        if !claim(&txn, &event).await.map_err(|e| self.db.map_err(e))? {
            return Ok(());
        }
        self.commit(txn).await?;
        if event.kind == "reports.user_suspended" {
            match self
                .clone()
                .set_suspended(SetSuspended {
                    user_id,
                    suspended: true,
                })
                .await
            {
                Ok(_) | Err(DomainError::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    async fn existing_user(&self, id: &str) -> Result<user::Model, DomainError> {
        user::Entity::find_by_id(id.to_owned())
            .one(&self.db.write)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| DomainError::not_found("user"))
    }

    /// The account of someone acting on their own behalf: it must exist and not be suspended.
    async fn active_user(&self, id: &str) -> Result<user::Model, DomainError> {
        let row = self
            .existing_user(id)
            .await
            .map_err(|_| DomainError::Unauthenticated("the account no longer exists".to_owned()))?;
        ensure_not_suspended(&row)?;
        Ok(row)
    }

    async fn find_refresh_token(
        &self,
        txn: &DatabaseTransaction,
        token: &str,
    ) -> Result<refresh_token::Model, DomainError> {
        refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash_refresh_token(token)))
            .one(txn)
            .await
            .map_err(|e| self.db.map_err(e))?
            .ok_or_else(|| {
                DomainError::Unauthenticated("the refresh token is not valid".to_owned())
            })
    }

    async fn revoke_family(
        &self,
        txn: &DatabaseTransaction,
        family_id: &str,
    ) -> Result<u64, DomainError> {
        let result = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(refresh_token::Column::FamilyId.eq(family_id.to_owned()))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(txn)
            .await
            .map_err(|e| self.db.map_err(e))?;
        Ok(result.rows_affected)
    }

    /// Issues an access token and a new refresh token (in `family`, or a new family).
    async fn open_session(
        &self,
        txn: &DatabaseTransaction,
        user: User,
        family: Option<String>,
    ) -> Result<AuthSession, DomainError> {
        let (access_token, expires_at) = self.tokens.issue(&user.id, user.role)?;
        let refresh = new_refresh_token()?;
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.refresh_ttl)
            .map_err(|e| DomainError::Internal(format!("refresh token lifetime: {e}")))?;
        refresh_token::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            user_id: Set(user.id.clone()),
            family_id: Set(family.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())),
            token_hash: Set(hash_refresh_token(&refresh)),
            created_at: Set(now),
            expires_at: Set(now + ttl),
            used_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(txn)
        .await
        .map_err(|e| self.db.map_err(e))?;
        Ok(AuthSession {
            access_token,
            refresh_token: refresh,
            expires_at,
            user,
        })
    }

    async fn begin(&self) -> Result<DatabaseTransaction, DomainError> {
        self.db.write.begin().await.map_err(|e| self.db.map_err(e))
    }

    async fn commit_with(
        &self,
        txn: DatabaseTransaction,
        events: Vec<Event>,
    ) -> Result<(), DomainError> {
        commit_with(&self.db, &self.outbox, txn, events).await
    }

    async fn commit(&self, txn: DatabaseTransaction) -> Result<(), DomainError> {
        txn.commit().await.map_err(|e| self.db.map_err(e))
    }
}

fn ensure_not_suspended(row: &user::Model) -> Result<(), DomainError> {
    if row.suspended {
        Err(DomainError::Forbidden(
            "this account is suspended".to_owned(),
        ))
    } else {
        Ok(())
    }
}

/// Trims an email and checks its shape; the key (lower-cased) is what must be unique.
fn normalize_email(raw: &str) -> Result<(String, String), DomainError> {
    let email = raw.trim();
    let invalid = |why: &str| DomainError::invalid("email", why.to_owned());
    if email.is_empty() {
        return Err(invalid("is required"));
    }
    if email.len() > MAX_EMAIL {
        return Err(invalid("is too long"));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(invalid("is not an email address"));
    };
    let plausible = !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !plausible {
        return Err(invalid("is not an email address"));
    }
    Ok((email.to_owned(), email.to_lowercase()))
}

impl From<user::Model> for User {
    fn from(row: user::Model) -> Self {
        Self {
            id: row.id,
            legacy_id: row.legacy_id,
            email: row.email,
            full_name: row.full_name,
            role: row.role.into(),
            company_name: row.company_name,
            avatar_url: row.avatar_url,
            suspended: row.suspended,
            created_at: row.created_at,
        }
    }
}

impl From<user::Role> for Role {
    fn from(role: user::Role) -> Self {
        match role {
            user::Role::User => Role::User,
            user::Role::Sponsor => Role::Sponsor,
            user::Role::Admin => Role::Admin,
            user::Role::Service => Role::Service,
        }
    }
}

impl From<Role> for user::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::User => user::Role::User,
            Role::Sponsor => user::Role::Sponsor,
            Role::Admin => user::Role::Admin,
            Role::Service => user::Role::Service,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_keyed_case_insensitively() {
        let (email, key) = normalize_email("  Ana@Example.COM ").unwrap();
        assert_eq!(email, "Ana@Example.COM");
        assert_eq!(key, "ana@example.com");
        for bad in ["", "no-at", "a@b", "a b@c.id", "@x.id", "a@.id"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_http() {
        assert!(optional_url("avatarUrl", Some("javascript:alert(1)".into())).is_err());
        assert_eq!(optional_url("avatarUrl", Some("".into())).unwrap(), None);
        assert!(
            optional_url("avatarUrl", Some("https://cdn.example/a.png".into()))
                .unwrap()
                .is_some()
        );
    }
}
