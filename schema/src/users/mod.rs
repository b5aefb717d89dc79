//! The users part of the schema: accounts, sessions, profiles, roles.

mod loader;
mod mutation;
mod query;
mod subscription;
mod types;

pub use loader::{UserLoader, load_user, require_active};
pub use mutation::UsersMutation;
pub use query::UsersQuery;
pub use subscription::UsersSubscription;
pub use types::{Role, User};
