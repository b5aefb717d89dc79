//! SeaORM entities, one module per domain database.
//!
//! These are storage types: they carry no GraphQL or serde derives. The `schema` crate
//! writes its own API types and converts from the records that `actors` hands out.

pub mod campaigns;
pub mod challenges;
pub mod donations;
pub mod inbox;
pub mod outbox;
pub mod reports;
pub mod users;
