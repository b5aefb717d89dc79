use gerak_actors::StartError;
use sea_orm::DbErr;

/// Why an import stopped. A bad legacy *row* is never an error: it is rejected with its
/// reason and the import goes on. These are the failures of the import itself.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("the legacy database URL must start with sqlite:, postgres:// or mysql://, got {0}")]
    UnsupportedSource(String),
    #[error("the legacy database could not be opened: {0}")]
    Source(DbErr),
    #[error("reading the legacy table {table} failed: {source}")]
    Read { table: &'static str, source: DbErr },
    #[error("writing the {domain} database failed: {source}")]
    Write { domain: &'static str, source: DbErr },
    #[error(transparent)]
    Target(#[from] StartError),
    #[error("writing {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the import's writer stopped unexpectedly: {0}")]
    WriterStopped(String),
    #[error("stopped on purpose after {0} batches (--stop-after-batches)")]
    Interrupted(u64),
}
