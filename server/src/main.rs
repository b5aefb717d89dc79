use clap::Parser;
use gerak_server::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gerak: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
