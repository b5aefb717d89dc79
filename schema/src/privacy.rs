//! What may be logged of personal data. Logs go to pipelines that many people can read:
//! an email appears there only masked.

/// `ana@example.id` → `a***@example.id`. Control characters are dropped (no forged log
/// lines) and a long domain is cut, so the result is always short and printable.
pub fn mask_email(email: &str) -> String {
    let email = email.trim();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return "***".to_owned();
    };
    let first: String = local.chars().filter(|c| !c.is_control()).take(1).collect();
    let domain: String = domain
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    format!("{first}***@{domain}")
}

#[cfg(test)]
mod tests {
    use super::mask_email;

    #[test]
    fn emails_are_masked() {
        assert_eq!(mask_email("ana@example.id"), "a***@example.id");
        assert_eq!(
            mask_email("  Budi.Santoso@Mail.Example.ID "),
            "B***@Mail.Example.ID"
        );
        assert_eq!(mask_email("not an email"), "***");
        assert_eq!(mask_email("@example.id"), "***@example.id");
        assert_eq!(
            mask_email("x@evil\n2026-01-01 INFO forged"),
            "x***@evil2026-01-01 INFO forged"
        );
        let long = format!("a@{}", "d".repeat(500));
        assert!(mask_email(&long).len() < 80);
        assert!(!mask_email("ana@example.id").contains("ana"));
    }
}
