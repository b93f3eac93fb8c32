//! Access tokens: issuing RS256 JWTs with the claims of the spec, and
//! verifying them fully into a [`Principal`]: the algorithm is pinned to
//! RS256 before anything else is looked at (no `none`, no HS/RS confusion),
//! the `kid` must name a known key, the signature must hold, and `exp`,
//! `nbf`, `iss` and `aud` are checked with a small clock skew.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::keys::KeySet;

/// Allowed clock skew for `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// The claims of an access token (names as the public service uses them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub oid: String,
    pub appid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub ver: String,
}

/// Who is calling, after a token was verified: code that needs a tenant
/// takes a `Principal`, so it cannot be written without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: String,
    /// The object id of the user or the app.
    pub subject: String,
    pub app_id: String,
    /// The user name for user tokens.
    pub user: Option<String>,
    pub roles: Vec<String>,
}

impl Principal {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

/// Signs claims with the key set's current key (its `kid` in the header).
pub fn issue(keys: &KeySet, claims: &AccessClaims) -> Result<String, AuthError> {
    let key = keys.current()?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    Ok(encode(&header, claims, &key.encoding_key()?)?)
}

/// Verifies tokens for one audience against a set of public keys.
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Verifier {
    /// A verifier for tokens of `audience` issued by one of `issuers`,
    /// trusting the keys of `keys` that verify at `now`.
    pub fn new(
        keys: &KeySet,
        now: DateTime<Utc>,
        issuers: &[&str],
        audience: &str,
    ) -> Result<Verifier, AuthError> {
        let mut map = HashMap::new();
        for k in keys.verifying(now) {
            map.insert(k.kid.clone(), k.decoding_key()?);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[audience]);
        validation.set_issuer(issuers);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
        Ok(Verifier {
            keys: map,
            validation,
        })
    }

    /// Checks a token completely and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header =
            decode_header(token).map_err(|_| AuthError::Invalid("the token is not a JWT"))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("the token is not signed with RS256"));
        }
        let kid = header
            .kid
            .ok_or(AuthError::Invalid("the token names no signing key (kid)"))?;
        let key = self.keys.get(&kid).ok_or(AuthError::Invalid(
            "the token's signing key (kid) is unknown",
        ))?;
        let data = decode::<AccessClaims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::Invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidAudience => "the token is for another audience",
                ErrorKind::InvalidIssuer => "the token is from another issuer",
                ErrorKind::InvalidSignature => "the token's signature is wrong",
                ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                _ => "the token is malformed",
            })
        })?;
        let c = data.claims;
        if c.tid.is_empty() {
            return Err(AuthError::Invalid("the token names no tenant (tid)"));
        }
        Ok(Principal {
            tenant: c.tid,
            subject: c.oid,
            app_id: c.appid,
            user: c.upn.or(c.unique_name),
            roles: c.roles,
        })
    }
}
