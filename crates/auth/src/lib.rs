//! Identity primitives of openinsights: RS256 signing keys with rotation
//! (`keys`), issuing and fully verifying access tokens into a `Principal`
//! (`token`), and Argon2id secrets (`secret`). No HTTP, no IO: the server
//! persists the serialised `KeySet` and hashes, and maps `AuthError` to 401.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod error;
pub mod keys;
pub mod secret;
pub mod token;

pub use error::AuthError;
pub use keys::{KeySet, SigningKey};
pub use secret::{Secret, hash_secret, verify_secret};
pub use token::{AccessClaims, Principal, Verifier, issue};
