//! The schema's one error type, and the one place where errors become GraphQL errors
//! with `extensions.code` (and `extensions.field` for bad input).

use async_graphql::ErrorExtensions;
use gerak_actors::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {message}")]
    BadUserInput { field: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unavailable(String),
    /// The detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn login_required() -> Self {
        Self::Unauthenticated("log in first: send `Authorization: Bearer <accessToken>`".to_owned())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::BadUserInput { .. } => "BAD_USER_INPUT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::Unavailable(_) => "UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid { field, message } => ApiError::BadUserInput { field, message },
            DomainError::NotFound { entity } => ApiError::NotFound(entity),
            DomainError::Conflict(message) => ApiError::Conflict(message),
            DomainError::Unauthenticated(message) => ApiError::Unauthenticated(message),
            DomainError::Forbidden(message) => ApiError::Forbidden(message),
            err @ DomainError::Unavailable { .. } => ApiError::Unavailable(err.to_string()),
            DomainError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

/// What resolvers return. It deliberately has no `Display`: async-graphql turns any
/// `Display` error into a GraphQL error without extensions, and every error we send must
/// carry its code. `?` on an [`ApiError`] or a `DomainError` lands here with its code.
#[derive(Debug, Clone)]
pub struct FieldError(async_graphql::Error);

pub type FieldResult<T> = Result<T, FieldError>;

impl From<ApiError> for FieldError {
    fn from(err: ApiError) -> Self {
        Self(err.extend())
    }
}

impl From<DomainError> for FieldError {
    fn from(err: DomainError) -> Self {
        ApiError::from(err).into()
    }
}

impl From<FieldError> for async_graphql::Error {
    fn from(err: FieldError) -> Self {
        err.0
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            ApiError::Internal(detail) => {
                // Logged inside the request's span, which carries the request id that the
                // server adds to the error the client sees.
                tracing::error!(detail = %detail, "internal error");
                "internal error; quote the requestId when reporting it".to_owned()
            }
            ApiError::NotFound(what) => format!("{what} not found"),
            other => other.to_string(),
        };
        metrics::counter!("gerak_graphql_errors_total", "code" => self.code()).increment(1);
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                ApiError::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                ApiError::RateLimited {
                    retry_after_secs, ..
                } => ext.set("retryAfter", *retry_after_secs),
                _ => {}
            }
        })
    }
}
