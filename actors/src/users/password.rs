//! Password hashing: argon2id for everything new; the legacy monolith's unsalted MD5 and
//! `sha256$salt$hex` are still checked so imported users can log in, then re-hashed.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use gerak_entities::users::user::PasswordScheme;
use sha2::{Digest, Sha256};

use crate::DomainError;

pub const MIN_LENGTH: usize = 10;
/// Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
pub const MAX_LENGTH: usize = 256;

pub fn validate(field: &str, password: &str) -> Result<(), DomainError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(DomainError::invalid(
            field,
            format!("must be at least {MIN_LENGTH} characters long"),
        ));
    }
    if length > MAX_LENGTH {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {MAX_LENGTH} characters long"),
        ));
    }
    Ok(())
}

/// Hashes with argon2id off the actor's thread: it is deliberately slow.
pub async fn hash(password: String) -> Result<String, DomainError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| DomainError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| DomainError::Internal(format!("hashing task: {e}")))?
}

/// Checks a password against a stored hash of any known scheme, off the actor's thread.
pub async fn verify(
    password: String,
    stored: String,
    scheme: PasswordScheme,
) -> Result<bool, DomainError> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &stored, scheme))
        .await
        .map_err(|e| DomainError::Internal(format!("password check task: {e}")))
}

fn verify_blocking(password: &str, stored: &str, scheme: PasswordScheme) -> bool {
    match scheme {
        PasswordScheme::Argon2id => PasswordHash::new(stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false),
        PasswordScheme::LegacyMd5 => constant_time_eq(
            &hex::encode(md5::Md5::digest(password)),
            &stored.to_lowercase(),
        ),
        PasswordScheme::LegacySha256 => {
            let mut parts = stored.splitn(3, '$');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("sha256"), Some(salt), Some(hex_digest)) => {
                    let digest = Sha256::digest(format!("{salt}{password}"));
                    constant_time_eq(&hex::encode(digest), &hex_digest.to_lowercase())
                }
                _ => false,
            }
        }
    }
}

/// Verifies against a fixed argon2 hash so that an unknown email costs as much time as
/// a wrong password (no account enumeration by timing).
pub async fn burn_time(password: String) {
    static DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE";
    let _ = verify(password, DUMMY.to_owned(), PasswordScheme::Argon2id).await;
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2id_round_trip() {
        let hash = hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify(
                "correct horse battery".into(),
                hash.clone(),
                PasswordScheme::Argon2id
            )
            .await
            .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), hash, PasswordScheme::Argon2id)
                .await
                .unwrap()
        );
    }

    #[test]
    fn legacy_schemes() {
        let md5 = hex::encode(md5::Md5::digest("legacy-pass-7"));
        assert!(verify_blocking(
            "legacy-pass-7",
            &md5,
            PasswordScheme::LegacyMd5
        ));
        assert!(!verify_blocking(
            "legacy-pass-8",
            &md5,
            PasswordScheme::LegacyMd5
        ));
        let sha = format!(
            "sha256$abc${}",
            hex::encode(Sha256::digest("abclegacy-pass-7"))
        );
        assert!(verify_blocking(
            "legacy-pass-7",
            &sha,
            PasswordScheme::LegacySha256
        ));
        assert!(!verify_blocking(
            "legacy-pass-7",
            "sha256$abc",
            PasswordScheme::LegacySha256
        ));
    }

    #[test]
    fn length_limits() {
        assert!(validate("password", "short").is_err());
        assert!(validate("password", "long enough!").is_ok());
        assert!(validate("password", &"x".repeat(300)).is_err());
    }
}
