//! The users domain's messages and the records they answer with. Records are the wire
//! types of the domain (serde), not database rows and not GraphQL types.

use actix::Message;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::DomainError;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    User,
    Sponsor,
    Admin,
    Service,
}

impl Role {
    pub fn is_privileged(self) -> bool {
        matches!(self, Role::Admin | Role::Service)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub legacy_id: Option<i64>,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub company_name: Option<String>,
    pub avatar_url: Option<String>,
    pub suspended: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthSession {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<User>,
    pub has_next_page: bool,
    pub total_count: u64,
}

macro_rules! message {
    ($name:ident => $result:ty) => {
        impl Message for $name {
            type Result = Result<$result, DomainError>;
        }
    };
}

/// Self-service sign-up. ADMIN and SERVICE cannot be chosen here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Register {
    pub email: String,
    pub password: String,
    pub full_name: String,
    pub role: Role,
    pub company_name: Option<String>,
}
message!(Register => AuthSession);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub email: String,
    pub password: String,
}
message!(Login => AuthSession);

/// Rotates a refresh token: the old one stops working.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshSession {
    pub refresh_token: String,
}
message!(RefreshSession => AuthSession);

/// Ends the session (the refresh token's family). Answers whether one was active.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Logout {
    pub refresh_token: String,
}
message!(Logout => bool);

/// Users by id, in no particular order; unknown ids are left out. Batched by loaders.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetUsers {
    pub ids: Vec<String>,
}
message!(GetUsers => Vec<User>);

/// A page of users, newest first; `after` is the id of the last user of the previous page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListUsers {
    pub role: Option<Role>,
    pub search: Option<String>,
    pub after: Option<String>,
    pub first: u64,
}
message!(ListUsers => UserPage);

/// A change of one's own profile. `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateProfile {
    pub user_id: String,
    pub full_name: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub company_name: Option<Option<String>>,
}
message!(UpdateProfile => User);

/// Changes one's password and ends every other session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePassword {
    pub user_id: String,
    pub current_password: String,
    pub new_password: String,
}
message!(ChangePassword => bool);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetRole {
    pub changed_by: String,
    pub user_id: String,
    pub role: Role,
}
message!(SetRole => User);

/// Suspends or reinstates an account. A suspended account cannot log in, refresh or act.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetSuspended {
    pub user_id: String,
    pub suspended: bool,
}
message!(SetSuspended => User);

/// The operator's way to make the first admin (`gerak create-admin`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateAdmin {
    pub email: String,
    pub password: String,
    pub full_name: String,
}
message!(CreateAdmin => User);
