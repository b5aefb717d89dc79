//! The integration suite: one binary, the real server over HTTP and WebSocket.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

mod support;

mod auth;
mod cache;
mod campaigns;
mod cors;
mod donations;
mod durability;
mod files;
mod http;
mod isolation;
mod legacy;
mod limits;
mod logs;
mod moderation;
mod ops;
mod persisted;
mod ratelimit;
mod roles;
mod security;
mod subscriptions;
mod users;
