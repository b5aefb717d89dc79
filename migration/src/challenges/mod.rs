pub mod m0001_challenges;
