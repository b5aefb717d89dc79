use crate::error::{ApiError, ApiResult};

/// Ids are UUID text; anything else is refused before any domain is asked.
pub fn parse_id(field: &str, id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| ApiError::bad_input(field, "is not a valid id"))
}
