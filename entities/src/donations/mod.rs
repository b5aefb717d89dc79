//! The donations database: donations and the double-entry ledger of every money movement.

pub mod donation;
pub mod ledger_entry;

pub use donation::{DonationKind, DonationStatus};
