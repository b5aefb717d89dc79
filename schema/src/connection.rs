//! Relay cursor connections: `first` (default 20, at most 100) and opaque cursors.

use async_graphql::{SimpleObject, connection::CursorType};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// `totalCount` on every connection.
#[derive(SimpleObject)]
pub struct Total {
    /// How many items match, over all pages.
    pub total_count: i64,
}

pub fn page_size(first: Option<i32>) -> ApiResult<u64> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE as i32).contains(&n) => Ok(n as u64),
        Some(_) => Err(ApiError::bad_input(
            "first",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// An opaque cursor naming a row by kind and key.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor(pub String);

impl Cursor {
    /// Decodes the `after` argument; `kind` guards against cursors of other lists.
    pub fn decode_after(kind: &str, after: Option<&str>) -> ApiResult<Option<String>> {
        let Some(after) = after else { return Ok(None) };
        let bad = || ApiError::bad_input("after", "is not a cursor of this list");
        let bytes = URL_SAFE_NO_PAD.decode(after).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        match text.split_once(':') {
            Some((k, key))
                if k == kind && !key.is_empty() && !key.chars().any(char::is_control) =>
            {
                Ok(Some(key.to_owned()))
            }
            _ => Err(bad()),
        }
    }

    pub fn new(kind: &str, key: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(format!("{kind}:{key}")))
    }
}

impl CursorType for Cursor {
    type Error = std::convert::Infallible;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        Ok(Self(s.to_owned()))
    }

    fn encode_cursor(&self) -> String {
        self.0.clone()
    }
}
