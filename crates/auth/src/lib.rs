//! Identity primitives of openinsights: RS256 signing keys with rotation
//! (`keys`), the roles and APIs identities are granted (`roles`), issuing and fully verifying access tokens into a `Principal`
//! (`token`, also for external OpenID Connect issuers), Argon2id secrets
//! (`secret`), and exponential delays after failed credential checks
//! (`limiter`). No HTTP, no IO: the server
//! persists the serialised `KeySet` and hashes, and maps `AuthError` to 401.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod error;
pub mod keys;
pub mod limiter;
pub mod roles;
pub mod secret;
pub mod token;

pub use error::AuthError;
pub use keys::{KeySet, SigningKey};
pub use limiter::FailureLimiter;
pub use roles::{Api, Role};
pub use secret::{Secret, hash_secret, verify_secret, verify_secret_or_dummy};
pub use token::{AccessClaims, ClaimMapping, Principal, Verifier, issue, token_exp, token_kid};
