//! Named settings (such as the signing key set): created once by whichever
//! start comes first, then replaced only by compare-and-set.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{Result, Store, StoreError, to_secs};

impl Store {
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>("value")).transpose()?)
    }

    /// Stores a setting only if it does not exist yet; returns the value
    /// that is stored afterwards (ours, or the one a concurrent first start
    /// wrote before us).
    pub async fn init_setting(
        &self,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .bind(to_secs(now))
        .execute(self.pool())
        .await?;
        self.setting(name)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("setting '{name}'"),
            })
    }

    /// Replaces a setting if it still has the value `expected` (a
    /// compare-and-set, so two writers cannot silently overwrite each other).
    pub async fn replace_setting(
        &self,
        name: &str,
        expected: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE settings SET value = $1, updated_at = $2 WHERE name = $3 AND value = $4",
        )
        .bind(value)
        .bind(to_secs(now))
        .bind(name)
        .bind(expected)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
