//! RS256 signing keys: generation, the key set with rotation, the public
//! JWKS, and a serialised form for the caller to persist (this crate does
//! no IO). Private key material has a redacting `Debug`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};

use crate::error::AuthError;

/// Bits of every generated key.
pub const KEY_BITS: usize = 2048;

/// One signing key pair.
#[derive(Clone, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    pub created_at: DateTime<Utc>,
    /// When the key stops verifying tokens (set on rotation: the moment the
    /// last token it signed expires). `None` while it is current.
    pub retire_at: Option<DateTime<Utc>>,
    /// PKCS#1 DER of the private key, base64url.
    private_der: String,
    /// Modulus and exponent, base64url big-endian (the JWKS form).
    pub n: String,
    pub e: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retire_at", &self.retire_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh 2048-bit RSA key with a random kid.
    pub fn generate(now: DateTime<Utc>) -> Result<SigningKey, AuthError> {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, KEY_BITS)
            .map_err(|e| AuthError::Key(e.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| AuthError::Key(e.to_string()))?;
        Ok(SigningKey {
            kid: uuid::Uuid::new_v4().simple().to_string(),
            created_at: now,
            retire_at: None,
            private_der: URL_SAFE_NO_PAD.encode(der.as_bytes()),
            n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        })
    }

    pub(crate) fn encoding_key(&self) -> Result<EncodingKey, AuthError> {
        let der = URL_SAFE_NO_PAD
            .decode(&self.private_der)
            .map_err(|e| AuthError::Key(format!("stored key {} is not base64: {e}", self.kid)))?;
        // Parse once to refuse corrupt material early with a clear error.
        rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map_err(|e| AuthError::Key(format!("stored key {}: {e}", self.kid)))?;
        Ok(EncodingKey::from_rsa_der(&der))
    }

    pub(crate) fn decoding_key(&self) -> Result<DecodingKey, AuthError> {
        DecodingKey::from_rsa_components(&self.n, &self.e)
            .map_err(|e| AuthError::Key(e.to_string()))
    }

    /// The key's public JWK.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e,
        })
    }
}

/// Every key that may still verify tokens; the newest unretired one signs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeySet {
    pub keys: Vec<SigningKey>,
}

impl KeySet {
    /// A set with one fresh key.
    pub fn generate(now: DateTime<Utc>) -> Result<KeySet, AuthError> {
        Ok(KeySet {
            keys: vec![SigningKey::generate(now)?],
        })
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> Result<&SigningKey, AuthError> {
        self.keys
            .iter()
            .filter(|k| k.retire_at.is_none())
            .max_by_key(|k| k.created_at)
            .ok_or_else(|| AuthError::Key("no current signing key".into()))
    }

    /// Adds a new current key. The old ones keep verifying until every token
    /// they signed has expired (`now + token_lifetime`), then are dropped by
    /// [`KeySet::prune`].
    pub fn rotate(
        &mut self,
        now: DateTime<Utc>,
        token_lifetime: Duration,
    ) -> Result<&SigningKey, AuthError> {
        let new = SigningKey::generate(now)?;
        for k in &mut self.keys {
            if k.retire_at.is_none() {
                k.retire_at = Some(now + token_lifetime);
            }
        }
        self.keys.push(new);
        self.current()
    }

    /// Drops keys whose retirement time has passed.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        self.keys.retain(|k| k.retire_at.is_none_or(|t| t > now));
    }

    /// Keys that verify tokens at `now`.
    pub fn verifying(&self, now: DateTime<Utc>) -> impl Iterator<Item = &SigningKey> {
        self.keys
            .iter()
            .filter(move |k| k.retire_at.is_none_or(|t| t > now))
    }

    /// The public JWKS document (`{"keys": [...]}`) at `now`.
    pub fn jwks(&self, now: DateTime<Utc>) -> serde_json::Value {
        serde_json::json!({ "keys": self.verifying(now).map(SigningKey::jwk).collect::<Vec<_>>() })
    }
}
