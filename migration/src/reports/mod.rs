pub mod m0001_reports;
