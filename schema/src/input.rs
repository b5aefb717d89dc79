use crate::error::{ApiError, ApiResult};

/// Ids are UUID text; anything else is refused before any domain is asked.
pub fn parse_id(field: &str, id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ApiError::bad_input(field, "is not a valid id"))
}

/// Absent: leave as is; null: clear; a value: set.
pub fn patch<T>(value: async_graphql::MaybeUndefined<T>) -> Option<Option<T>> {
    use async_graphql::MaybeUndefined;
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
