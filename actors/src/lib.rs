//! The domain actors: each domain (users, campaigns, challenges, donations, reports) is
//! owned by a supervised actix actor on its own Arbiter, with its own database. Callers
//! reach a domain only through its handle, which carries the domain's messages and knows
//! nothing of the actor type behind them.

mod batch_sql;
pub mod bus;
pub mod db;
mod error;
pub mod money;
mod payments;
pub mod runtime;
pub mod system;
pub mod validate;

pub mod campaigns;
pub mod challenges;
pub mod donations;
pub mod reports;
pub mod users;

pub use error::DomainError;
pub use runtime::Domain;
pub use system::{DomainUrls, Domains, StartError, StartOptions, migrate_all};
