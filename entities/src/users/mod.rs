//! The users domain database: accounts and refresh tokens.

pub mod refresh_token;
pub mod user;

pub use user::Role;
