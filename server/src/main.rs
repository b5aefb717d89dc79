use clap::Parser;
use gerak_server::cli::{Cli, run};

/// mimalloc instead of glibc's malloc: the legacy import moves millions of small strings
/// between its thread and SQLite's worker thread, and glibc spent most of the import's
/// CPU consolidating its free lists.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gerak: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
