//! The donations part of the schema: gifts, payments, refunds, statements, live progress.

mod loader;
mod mutation;
mod query;
mod subscription;
mod types;

pub use loader::DonationLoader;
pub use mutation::DonationsMutation;
pub use query::{DonationsQuery, donation_connection};
pub use subscription::DonationsSubscription;
pub use types::Donation;
