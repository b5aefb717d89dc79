use crate::runtime::Domain;

/// Everything a domain can refuse or fail with. The schema maps each variant to one
/// GraphQL error code; internal details stay in `Internal` and are logged, not shown.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum DomainError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{entity} not found")]
    NotFound { entity: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("the {domain} domain is unavailable: {reason}")]
    Unavailable { domain: Domain, reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn not_found(entity: &str) -> Self {
        Self::NotFound {
            entity: entity.to_owned(),
        }
    }

    /// Classifies a database error: a lost connection is UNAVAILABLE (the domain recovers
    /// when the database returns), a unique violation a CONFLICT, the rest INTERNAL.
    pub fn from_db(domain: Domain, err: sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, RuntimeErr, SqlErr};
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::Conflict("already exists".to_owned());
        }
        let unavailable = match &err {
            DbErr::ConnectionAcquire(_) => true,
            DbErr::Conn(RuntimeErr::SqlxError(e)) => connection_lost(e.as_ref()),
            DbErr::Conn(_) => true,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
                connection_lost(e.as_ref())
            }
            _ => false,
        };
        if unavailable {
            Self::Unavailable {
                domain,
                reason: "its database cannot be reached".to_owned(),
            }
        } else {
            Self::Internal(format!("{domain} database: {err}"))
        }
    }
}

/// Errors that mean "the database is not there right now" rather than "this query is
/// wrong": lost sockets, an exhausted pool, and PostgreSQL's connection-exception (08),
/// insufficient-resources (53) and operator-intervention (57P) classes, or a database
/// that refuses connections (55000, e.g. `ALLOW_CONNECTIONS false`).
fn connection_lost(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed
        | Error::Tls(_) => true,
        Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "55000"
        }),
        _ => false,
    }
}
