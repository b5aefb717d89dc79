pub mod m0001_accounts;
pub mod m0002_inbox;
