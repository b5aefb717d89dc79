//! Access tokens (JWT, HS256 pinned) and refresh tokens (random, stored hashed).

use std::{
    num::NonZeroUsize,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lru::LruCache;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Role;
use crate::DomainError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

/// Signs and verifies access tokens. The algorithm is pinned to HS256: a token that
/// names any other algorithm (`none` included) is refused before its signature is read.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    /// Tokens whose signature and claims verified, by their text: an app sends the same
    /// token with every request until it expires, and verifying it each time was a tenth
    /// of an executed request's CPU. A token found here is still checked for expiry; the
    /// secret cannot change in a process's life.
    verified: Mutex<LruCache<Box<str>, Claims>>,
}

/// Seconds a token is still accepted after its `exp` (clocks differ a little).
const LEEWAY_SECS: i64 = 5;
/// Verified tokens remembered at most (a few hundred bytes each).
const VERIFIED_TOKENS: usize = 4_096;

impl AccessTokens {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            verified: Mutex::new(LruCache::new(
                NonZeroUsize::new(VERIFIED_TOKENS).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user_id: &str, role: Role) -> Result<(String, DateTime<Utc>), DomainError> {
        let now = Utc::now();
        let expires_at = now
            + chrono::Duration::from_std(self.ttl)
                .map_err(|e| DomainError::Internal(format!("token lifetime: {e}")))?;
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            exp: expires_at.timestamp(),
            iat: now.timestamp(),
            jti: uuid::Uuid::now_v7().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| DomainError::Internal(format!("signing a token: {e}")))?;
        Ok((token, expires_at))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, DomainError> {
        use jsonwebtoken::errors::ErrorKind;
        let known = self.verified().get(token).cloned();
        if let Some(claims) = known {
            // As jsonwebtoken's own check: expired once `exp` is more than the leeway ago.
            if claims.exp < Utc::now().timestamp() - LEEWAY_SECS {
                self.verified().pop(token);
                return Err(expired());
            }
            return Ok(claims);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => expired(),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    DomainError::Unauthenticated(
                        "the access token uses an algorithm that is not accepted".to_owned(),
                    )
                }
                _ => DomainError::Unauthenticated("the access token is invalid".to_owned()),
            })?;
        self.verified().put(token.into(), claims.clone());
        Ok(claims)
    }

    fn verified(&self) -> MutexGuard<'_, LruCache<Box<str>, Claims>> {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn expired() -> DomainError {
    DomainError::Unauthenticated("the access token has expired".to_owned())
}

/// A new refresh token: 32 random bytes, URL-safe.
pub fn new_refresh_token() -> Result<String, DomainError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("random refresh token: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a refresh token: its SHA-256 in hex. The token has 256 bits of
/// entropy, so a fast hash is enough (no dictionary to attack).
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_forged_ones_do_not() {
        let tokens =
            AccessTokens::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let (token, _) = tokens.issue("u1", Role::Sponsor).unwrap();
        let claims = tokens.verify(&token).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.role, Role::Sponsor);

        let other = AccessTokens::new(b"another secret, another secret!!", Duration::from_secs(60));
        assert!(other.verify(&token).is_err());

        // alg: none with the same claims.
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(
            tokens
                .verify(&format!("{none_header}.{}.", parts[1]))
                .is_err()
        );
    }

    #[test]
    fn remembered_tokens_still_expire_and_altered_ones_are_verified_afresh() {
        let tokens =
            AccessTokens::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let (token, _) = tokens.issue("u1", Role::Admin).unwrap();
        let first = tokens.verify(&token).unwrap();
        let again = tokens.verify(&token).unwrap();
        assert_eq!((&first.sub, &first.jti), (&again.sub, &again.jti));
        assert_eq!(again.role, Role::Admin);

        // The same token with one character of its signature changed is not the
        // remembered one: its signature is checked, and fails.
        let mut altered = token.clone().into_bytes();
        let at = altered.len() - 10;
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(tokens.verify(&altered).is_err());
        assert!(tokens.verify(&token).is_ok());

        // Remembered, then past its expiry and the leeway: refused as expired, and
        // forgotten.
        let mut stale = again.clone();
        stale.exp = Utc::now().timestamp() - LEEWAY_SECS - 1;
        tokens
            .verified()
            .put("remembered-but-expired".into(), stale);
        let err = tokens.verify("remembered-but-expired").unwrap_err();
        assert_eq!(err.to_string(), expired().to_string());
        assert!(tokens.verified().get("remembered-but-expired").is_none());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token().unwrap();
        let b = new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_ne!(hash_refresh_token(&a), a);
    }
}
