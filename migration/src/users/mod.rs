pub mod m0001_accounts;
