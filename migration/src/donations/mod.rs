pub mod m0001_donations;
