//! Client secrets and passwords: stored only as Argon2id PHC strings,
//! checked with the library's constant-time comparison, and wrapped in a
//! type whose `Debug` never shows the value.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::AuthError;

/// A secret value in memory (a client secret or password as received).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (hashing, or showing a
    /// newly created secret once).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The Argon2id PHC hash of a secret, with a random salt.
pub fn hash_secret(secret: &Secret) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Key(format!("hashing failed: {e}")))
}

/// True when `secret` matches the stored hash (constant-time comparison).
/// A stored value that is not a valid hash never matches.
pub fn verify_secret(stored_hash: &str, secret: &Secret) -> bool {
    PasswordHash::new(stored_hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(secret.expose().as_bytes(), &h)
            .is_ok()
    })
}
