//! The `gerak` server: configuration, the HTTP front door (axum) and the CLI commands.
//! The binary in `main.rs` only parses the command line and calls in here.

pub mod admission;
pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod http;
pub mod persisted;
pub mod ratelimit;
pub mod redis_link;
pub mod telemetry;
