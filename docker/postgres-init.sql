-- Runs once, when the PostgreSQL volume is first created: one database per domain.
CREATE DATABASE gerak_users;
CREATE DATABASE gerak_campaigns;
CREATE DATABASE gerak_challenges;
CREATE DATABASE gerak_donations;
CREATE DATABASE gerak_reports;
