//! The persisted signing key set: created on the first start (a
//! concurrent first start of another replica wins or loses cleanly) and
//! rotated by `openinsights keys rotate` or the admin API with a
//! compare-and-swap on the stored settings row.

use auth::{AuthError, KeySet};
use chrono::{DateTime, Duration, Utc};
use store::Store;

/// The settings row holding the serialised [`KeySet`].
pub const KEYS_SETTING: &str = "signing_keys";
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the stored signing keys are unreadable: {0}")]
    Corrupt(String),
}

/// Loads the key set, generating and storing one on first start (a
/// concurrent first start of another replica wins or loses cleanly).
pub async fn load_or_create_keys(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<(String, KeySet), KeyError> {
    let raw = match store.setting(KEYS_SETTING).await? {
        Some(raw) => raw,
        None => {
            let fresh = tokio::task::spawn_blocking(move || KeySet::generate(now))
                .await
                .map_err(|e| KeyError::Corrupt(e.to_string()))??;
            let text =
                serde_json::to_string(&fresh).map_err(|e| KeyError::Corrupt(e.to_string()))?;
            store.init_setting(KEYS_SETTING, &text, now).await?
        }
    };
    let keys = serde_json::from_str(&raw).map_err(|e| KeyError::Corrupt(e.to_string()))?;
    Ok((raw, keys))
}

/// Adds a new signing key; the old ones verify until their tokens expire.
/// Returns the new key's kid.
pub async fn rotate_keys(
    store: &Store,
    now: DateTime<Utc>,
    token_lifetime: Duration,
) -> Result<String, KeyError> {
    loop {
        let (raw, mut keys) = load_or_create_keys(store, now).await?;
        keys.prune(now);
        let mut rotated = tokio::task::spawn_blocking(move || {
            keys.rotate(now, token_lifetime)?;
            Ok::<_, AuthError>(keys)
        })
        .await
        .map_err(|e| KeyError::Corrupt(e.to_string()))??;
        rotated.prune(now);
        let kid = rotated.current()?.kid.clone();
        let text = serde_json::to_string(&rotated).map_err(|e| KeyError::Corrupt(e.to_string()))?;
        if store
            .replace_setting(KEYS_SETTING, &raw, &text, now)
            .await?
        {
            return Ok(kid);
        }
    }
}
