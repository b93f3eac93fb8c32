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

/// A valid Argon2id hash of a random value nobody knows, checked instead of
/// a real hash when the client id or user name does not exist, so that the
/// answer takes as long as for a wrong secret (which part was wrong cannot be
/// timed).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9ZIYDmfoVwAEO5o5kL1c9HRprvgAvx3k8UZqFgvRJ5o";

/// [`verify_secret`] against the stored hash if there is one, otherwise
/// against a dummy hash (always false, same cost).
pub fn verify_secret_or_dummy(stored_hash: Option<&str>, secret: &Secret) -> bool {
    match stored_hash {
        Some(hash) => verify_secret(hash, secret),
        None => {
            let _ = verify_secret(DUMMY_HASH, secret);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs() {
        // It must parse (or the check would return at once) and carry the
        // same algorithm, version and cost parameters as fresh hashes.
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let fresh_text = hash_secret(&Secret::new("x")).unwrap();
        let fresh = PasswordHash::new(&fresh_text).unwrap();
        assert_eq!(dummy.algorithm, fresh.algorithm);
        assert_eq!(dummy.version, fresh.version);
        assert_eq!(dummy.params.to_string(), fresh.params.to_string());
        assert_eq!(dummy.hash.map(|h| h.len()), fresh.hash.map(|h| h.len()));
    }
}
