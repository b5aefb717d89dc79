//! Readable ASCII slugs: "Tanam 1.000 Pohon di Bali!" → "tanam-1-000-pohon-di-bali".

pub const MAX_LEN: usize = 80;

pub fn from_title(title: &str) -> String {
    let ascii = deunicode::deunicode(title).to_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug = slug.trim_end_matches('-').to_owned();
    if slug.len() > MAX_LEN {
        slug.truncate(MAX_LEN);
        slug = slug.trim_end_matches('-').to_owned();
    }
    if slug.is_empty() {
        "campaign".to_owned()
    } else {
        slug
    }
}

/// A slug someone chose: lower-case letters, digits and single dashes.
pub fn is_valid(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_LEN
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_ascii() {
        assert_eq!(
            from_title("Tanam 1.000 Pohon di Bali!"),
            "tanam-1-000-pohon-di-bali"
        );
        assert_eq!(from_title("Café Crème — Ñandú"), "cafe-creme-nandu");
        assert_eq!(from_title("  !!! "), "campaign");
        assert!(from_title(&"x".repeat(300)).len() <= MAX_LEN);
        assert!(is_valid(&from_title("Bersih-bersih Pantai Kuta")));
        assert!(!is_valid("Bad Slug"));
        assert!(!is_valid("a--b"));
    }
}
