//! `gerak-bench`: everything `bench/run.sh` needs besides the server and the load tools.
//!
//! - `raw`: the baseline server (an axum JSON constant, and one sqlx query on the
//!   server's own campaigns database);
//! - `seed`: a realistic dataset through the real GraphQL API;
//! - `load`: an open-loop (fixed rate) or closed-loop (saturation) driver that checks
//!   every response body, for the mixed workload and body sampling beside `oha`;
//! - `events`: mutation commit → subscription message, at a fixed rate;
//! - `rss`: resident memory of a process;
//! - `report`: the table of ratios and its JSON.

mod error;
mod events;
mod gql;
mod load;
mod raw;
mod report;
mod rss;
mod seed;
mod state;
mod stats;

use clap::{Parser, Subcommand};

pub use error::{Error, Result};

#[derive(Parser)]
#[command(
    name = "gerak-bench",
    about = "Gerak's benchmark tools (see bench/run.sh)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Raw(raw::Args),
    Seed(seed::Args),
    Load(load::Args),
    Events(events::Args),
    Rss(rss::Args),
    Report(report::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("gerak-bench: no runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Raw(args) => raw::run(args).await,
            Command::Seed(args) => seed::run(args).await,
            Command::Load(args) => load::run(args).await,
            Command::Events(args) => events::run(args).await,
            Command::Rss(args) => rss::run(args).await,
            Command::Report(args) => report::run(args),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gerak-bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
