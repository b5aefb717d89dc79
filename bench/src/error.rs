use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("SQL: {0}")]
    Sql(#[from] sea_orm::sqlx::Error),
    #[error("WebSocket: {0}")]
    Ws(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    #[error("GraphQL error {code}: {body}")]
    Graphql { code: String, body: Value },
    #[error("{0}")]
    Msg(String),
}

impl Error {
    pub fn msg(text: impl Into<String>) -> Self {
        Error::Msg(text.into())
    }

    /// Worth trying again: the transport failed, or the server said so.
    pub fn transient(&self) -> bool {
        match self {
            Error::Http(_) => true,
            Error::Graphql { code, .. } => code == "UNAVAILABLE" || code == "INTERNAL",
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
