pub mod m0001_campaigns;
