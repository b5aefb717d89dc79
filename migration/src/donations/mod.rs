pub mod m0001_donations;
pub mod m0002_ledger_account_by_owner;
