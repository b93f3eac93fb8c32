//! A tenant's objects copied aside and back: `save_snapshot` copies every
//! live object of the tenant (dataset parts and manifests, rollups, report
//! and CAB files) under `snapshots/<tenant>/<name>/objects/` and writes
//! the caller's `rows.json` last (its presence marks a whole snapshot);
//! `restore_snapshot` empties the tenant's live objects and copies the
//! snapshot's back to their places. Copies are server-side (`copy`), so no
//! byte passes through this process.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use super::{DataStore, layout};
use crate::error::{EngineError, Result};
use crate::storage::TenantId;

const ROWS: &str = "rows.json";
const OBJECTS: &str = "objects";

impl DataStore {
    /// Copies the tenant's objects into the snapshot `name`, then stores
    /// `rows` as its `rows.json`. Returns how many objects were copied.
    pub async fn save_snapshot(
        &self,
        tenant: &TenantId,
        name: &str,
        rows: Vec<u8>,
    ) -> Result<usize> {
        let base = layout::snapshot_prefix(tenant, name);
        let mut copied = 0;
        for prefix in self.tenant_prefixes(tenant).await? {
            let objects: Vec<object_store::ObjectMeta> =
                self.store.list(Some(&prefix)).try_collect().await?;
            for meta in objects {
                let to = Path::from(format!("{base}/{OBJECTS}/{}", meta.location));
                self.store.copy(&meta.location, &to).await?;
                copied += 1;
            }
        }
        self.store
            .put(
                &Path::from(format!("{base}/{ROWS}")),
                PutPayload::from(rows),
            )
            .await?;
        Ok(copied)
    }

    /// The `rows.json` of a snapshot, or `None` when there is no such
    /// (whole) snapshot.
    pub async fn snapshot_rows(&self, tenant: &TenantId, name: &str) -> Result<Option<Vec<u8>>> {
        let path = Path::from(format!("{}/{ROWS}", layout::snapshot_prefix(tenant, name)));
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the tenant's live objects by the snapshot's.
    pub async fn restore_snapshot(&self, tenant: &TenantId, name: &str) -> Result<usize> {
        let objects_prefix = Path::from(format!(
            "{}/{OBJECTS}",
            layout::snapshot_prefix(tenant, name)
        ));
        let saved: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&objects_prefix)).try_collect().await?;
        let live = self.tenant_prefixes(tenant).await?;
        self.delete_under(&live).await?;
        let strip = format!("{objects_prefix}/");
        let mut restored = 0;
        for meta in saved {
            let original = meta
                .location
                .as_ref()
                .strip_prefix(&strip)
                .ok_or_else(|| EngineError::Corrupt {
                    what: format!("snapshot {name} of {tenant}"),
                    reason: format!("{} is outside its objects", meta.location),
                })?
                .to_string();
            self.store
                .copy(&meta.location, &Path::from(original))
                .await?;
            restored += 1;
        }
        Ok(restored)
    }

    /// The tenant's objects (not its snapshots) deleted: a reset.
    pub async fn delete_tenant_objects(&self, tenant: &TenantId) -> Result<usize> {
        let live = self.tenant_prefixes(tenant).await?;
        self.delete_under(&live).await
    }

    /// Every whole snapshot of the tenant with when it was saved.
    pub async fn snapshots(&self, tenant: &TenantId) -> Result<Vec<(String, DateTime<Utc>)>> {
        let root = Path::from(layout::snapshots_prefix(tenant));
        let listed = self.store.list_with_delimiter(Some(&root)).await?;
        let mut found = Vec::new();
        for dir in listed.common_prefixes {
            let Some(name) = dir.filename().map(str::to_string) else {
                continue;
            };
            let rows = Path::from(format!("{dir}/{ROWS}"));
            match self.store.head(&rows).await {
                Ok(meta) => found.push((name, meta.last_modified)),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        found.sort();
        Ok(found)
    }
}
