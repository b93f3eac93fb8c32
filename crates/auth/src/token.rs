//! Access tokens: issuing RS256 JWTs with the claims of the spec, and
//! verifying them fully into a [`Principal`]: the algorithm is pinned to
//! RS256 before anything else is looked at (no `none`, no HS/RS confusion),
//! the `kid` must name a known key, the signature must hold, and `exp`,
//! `nbf`, `iss` and `aud` are checked with a small clock skew.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    /// Whether the token grants `role` (names compared in any case;
    /// names that are no role of the spec grant nothing).
    pub fn has_role(&self, role: crate::Role) -> bool {
        self.roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(role.name()))
    }
}

/// Signs claims (normally [`AccessClaims`]) with the key set's current key,
/// its `kid` in the header.
pub fn issue(keys: &KeySet, claims: &impl Serialize) -> Result<String, AuthError> {
    let key = keys.current()?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    Ok(encode(&header, claims, &key.encoding_key()?)?)
}

/// How a verified token's claims become a [`Principal`]. The defaults are
/// the built-in token service's claims; an external OpenID Connect issuer
/// may name the tenant and roles differently, or grant roles by group.
#[derive(Debug, Clone)]
pub struct ClaimMapping {
    pub tenant_claim: String,
    pub roles_claim: String,
    /// Roles granted by membership of a group (`groups` claim).
    pub group_roles: HashMap<String, Vec<String>>,
    pub groups_claim: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            tenant_claim: "tid".into(),
            roles_claim: "roles".into(),
            group_roles: HashMap::new(),
            groups_claim: "groups".into(),
        }
    }
}

/// Verifies tokens for one audience against a set of public keys.
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    mapping: ClaimMapping,
    /// Set for the built-in service: `iss` must be `<base>/<tid>/` (v1) or
    /// `<base>/<tid>/v2.0` (v2) for the token's own `tid`.
    tenant_issuer_base: Option<String>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn validation(issuers: &[&str], audiences: &[&str]) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.algorithms = vec![Algorithm::RS256];
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_audience(audiences);
    validation.set_issuer(issuers);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation
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
        Ok(Verifier {
            keys: map,
            validation: validation(issuers, &[audience]),
            mapping: ClaimMapping::default(),
            tenant_issuer_base: None,
        })
    }

    /// The built-in token service's verifier: one issuer per tenant,
    /// `<issuer_base>/<tid>/` (or `.../v2.0`), checked against the token's
    /// own `tid` claim.
    pub fn for_tenants(
        keys: &KeySet,
        now: DateTime<Utc>,
        issuer_base: &str,
        audience: &str,
    ) -> Result<Verifier, AuthError> {
        let mut verifier = Verifier::new(keys, now, &[], audience)?;
        verifier.validation.iss = None;
        verifier.tenant_issuer_base = Some(issuer_base.trim_end_matches('/').to_string());
        Ok(verifier)
    }

    /// A verifier trusting an external issuer's JWKS document (RSA keys
    /// for signing; others are ignored) with a claim mapping.
    pub fn from_jwks(
        jwks: &serde_json::Value,
        issuers: &[&str],
        audiences: &[&str],
        mapping: ClaimMapping,
    ) -> Result<Verifier, AuthError> {
        let mut map = HashMap::new();
        let keys = jwks
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or_else(|| AuthError::Key("the JWKS document has no \"keys\" array".into()))?;
        for key in keys {
            let field = |name: &str| key.get(name).and_then(|v| v.as_str());
            let usable = field("kty") == Some("RSA")
                && field("use").is_none_or(|u| u == "sig")
                && field("alg").is_none_or(|a| a == "RS256");
            if let (true, Some(kid), Some(n), Some(e)) =
                (usable, field("kid"), field("n"), field("e"))
            {
                let decoding = DecodingKey::from_rsa_components(n, e)
                    .map_err(|e| AuthError::Key(e.to_string()))?;
                map.insert(kid.to_string(), decoding);
            }
        }
        Ok(Verifier {
            keys: map,
            validation: validation(issuers, audiences),
            mapping,
            tenant_issuer_base: None,
        })
    }

    /// True when the verifier knows a key id (an external issuer's JWKS is
    /// refetched when a token names an unknown one).
    pub fn knows_kid(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Checks a token completely and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = decode_header(token).map_err(|_| {
            // An algorithm the library does not know (such as `none`) is
            // named as what it is rather than as garbage.
            let alg = token
                .split('.')
                .next()
                .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
                .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
                .and_then(|h| h.get("alg").and_then(|a| a.as_str()).map(str::to_string));
            match alg {
                Some(_) => AuthError::Invalid("the token is not signed with RS256"),
                None => AuthError::Invalid("the token is not a JWT"),
            }
        })?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("the token is not signed with RS256"));
        }
        let kid = header
            .kid
            .ok_or(AuthError::Invalid("the token names no signing key (kid)"))?;
        let key = self.keys.get(&kid).ok_or(AuthError::Invalid(
            "the token's signing key (kid) is unknown",
        ))?;
        let data =
            decode::<serde_json::Map<String, serde_json::Value>>(token, key, &self.validation)
                .map_err(|e| {
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
        self.principal(&data.claims)
    }

    fn principal(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Principal, AuthError> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let list = |name: &str| -> Vec<String> {
            match claims.get(name) {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                Some(serde_json::Value::String(s)) => s
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            }
        };
        let tenant = text(&self.mapping.tenant_claim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Invalid("the token names no tenant (tid)"))?;
        if let Some(base) = &self.tenant_issuer_base {
            let iss = text("iss").unwrap_or_default();
            let v1 = format!("{base}/{tenant}/");
            let v2 = format!("{base}/{tenant}/v2.0");
            if iss != v1 && iss != v2 {
                return Err(AuthError::Invalid("the token is from another issuer"));
            }
        }
        let mut roles = list(&self.mapping.roles_claim);
        for group in list(&self.mapping.groups_claim) {
            if let Some(granted) = self.mapping.group_roles.get(&group) {
                roles.extend(granted.iter().cloned());
            }
        }
        roles.sort_unstable();
        roles.dedup();
        Ok(Principal {
            tenant,
            subject: text("oid").or_else(|| text("sub")).unwrap_or_default(),
            app_id: text("appid").or_else(|| text("azp")).unwrap_or_default(),
            user: text("upn")
                .or_else(|| text("unique_name"))
                .or_else(|| text("preferred_username")),
            roles,
        })
    }
}

/// The `exp` claim of a token, without verifying anything (for caching a
/// token that was verified: it must not outlive its expiry).
pub fn token_exp(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
}

/// The `kid` a token's header names, without verifying anything (to pick
/// or refresh the key set that will verify it).
pub fn token_kid(token: &str) -> Option<String> {
    decode_header(token).ok().and_then(|h| h.kid)
}
