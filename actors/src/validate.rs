//! Input checks shared by the domains. Each failure names the input field.

use chrono::{DateTime, Utc};

use crate::DomainError;

pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_URL: usize = 2048;

/// Trimmed, non-empty, at most `max` characters, no control characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    check_text(field, value, max)?;
    Ok(value.to_owned())
}

/// Like [`required_text`], but empty or blank means "none".
pub fn optional_text(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => {
            check_text(field, text, max)?;
            Ok(Some(text.to_owned()))
        }
    }
}

/// Multi-line text: newlines and tabs are fine, other control characters are not.
pub fn check_text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters long"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An http(s) URL, or none.
pub fn optional_url(field: &str, value: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(url) = optional_text(field, value, MAX_URL)? else {
        return Ok(None);
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty() && !host.starts_with('/') && !url.contains(char::is_whitespace) =>
        {
            Ok(Some(url))
        }
        _ => Err(DomainError::invalid(field, "must be an http or https URL")),
    }
}

/// An https URL (proof of an action must not travel in clear text).
pub fn https_url(field: &str, value: &str) -> Result<String, DomainError> {
    let url = required_text(field, value, MAX_URL)?;
    match url.strip_prefix("https://") {
        Some(host)
            if !host.is_empty() && !host.starts_with('/') && !url.contains(char::is_whitespace) =>
        {
            Ok(url)
        }
        _ => Err(DomainError::invalid(field, "must be an https URL")),
    }
}

/// `ends_at` must not be before `starts_at`.
pub fn period(
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
) -> Result<(), DomainError> {
    match (starts_at, ends_at) {
        (Some(start), Some(end)) if end < start => Err(DomainError::invalid(
            "endsAt",
            "must not be before startsAt",
        )),
        _ => Ok(()),
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as the escape character.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A case-insensitive substring search term, or None for an empty one.
pub fn search_pattern(search: Option<&str>) -> Result<Option<String>, DomainError> {
    match search.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(term) if term.chars().count() > 200 => Err(DomainError::invalid(
            "search",
            "must be at most 200 characters long",
        )),
        Some(term) => Ok(Some(format!("%{}%", escape_like(&term.to_lowercase())))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(optional_url("u", Some("javascript:alert(1)".into())).is_err());
        assert_eq!(optional_url("u", Some("".into())).unwrap(), None);
        assert!(
            optional_url("u", Some("https://cdn.example/a.png".into()))
                .unwrap()
                .is_some()
        );
        assert!(https_url("proofUrl", "http://x.id/p.jpg").is_err());
        assert!(https_url("proofUrl", "https://x.id/p.jpg").is_ok());
    }

    #[test]
    fn text() {
        assert!(required_text("title", "  ", 10).is_err());
        assert!(required_text("title", "a\u{0}b", 10).is_err());
        assert_eq!(required_text("title", " ok ", 10).unwrap(), "ok");
        assert!(check_text("description", "line\nline", 100).is_ok());
        assert_eq!(search_pattern(Some("50%")).unwrap().unwrap(), "%50\\%%");
    }
}
