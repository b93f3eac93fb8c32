//! Tenant data in an object store, laid out as the spec says (every path
//! is made by [`layout`]):
//! `data/<dataset>/tenant=<id>/<partition>/part-*.parquet`, where the
//! partition is `month=YYYY-MM` for datasets with a date column and `all`
//! otherwise.
//!
//! **Atomic batches.** Part files become visible only through a manifest:
//! `data/<dataset>/tenant=<id>/_manifest/<version>.json` lists the live
//! files. A writer uploads its part files first (each upload is itself
//! atomic: staged, then renamed or completed), then creates the next
//! manifest version with a create-if-absent put. Two writers racing for the
//! same version: one wins, the other re-reads and retries. A crash before
//! the manifest is written leaves only unreferenced files, which readers
//! never see and [`DataStore::collect_garbage`] removes after a grace period.

pub mod layout;
mod snapshots;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// A tenant id that is safe to use as a path segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// Letters, digits, `-`, `_` and `.`, 1–64 characters, not starting with `.`.
    pub fn parse(id: &str) -> Result<TenantId> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && !id.starts_with('.')
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(TenantId(id.to_string()))
        } else {
            Err(EngineError::InvalidTenant { id: id.to_string() })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One live part file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartFile {
    /// Object path from the store root.
    pub path: String,
    /// `month=YYYY-MM` or `all`.
    pub partition: String,
    pub rows: u64,
    pub bytes: u64,
}

/// A file dropped from the live set, kept until no reader can still use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedFile {
    pub path: String,
    pub removed_at: DateTime<Utc>,
}

/// The live file set of one (dataset, tenant) at one version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u64,
    pub files: Vec<PartFile>,
    #[serde(default)]
    pub removed: Vec<RemovedFile>,
}

/// What [`DataStore::dataset_status`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetStatus {
    pub version: u64,
    pub rows: u64,
    pub last_load: Option<DateTime<Utc>>,
}

/// How long unreferenced files survive: longer than any query or upload.
pub const GARBAGE_GRACE: chrono::Duration = chrono::Duration::hours(1);

/// How many commits a conflicting append retries before giving up.
const COMMIT_RETRIES: usize = 16;

/// Where an S3-compatible bucket is and how to sign in to it.
#[derive(Clone, Default)]
pub struct S3Config {
    pub bucket: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where tenant data lives: an object store and the URL DataFusion reads it by.
#[derive(Clone)]
pub struct DataStore {
    store: Arc<dyn ObjectStore>,
    url: String,
}

impl std::fmt::Debug for DataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataStore").field("url", &self.url).finish()
    }
}

impl DataStore {
    /// A local directory (created if missing) as the store root.
    pub fn local(dir: &std::path::Path) -> Result<DataStore> {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(DataStore::new(Arc::new(store), "openinsights://local"))
    }

    /// An S3-compatible bucket. Settings not given in `config` come from
    /// the usual `AWS_*` environment variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, ...). An `http://` endpoint
    /// (a local S3-compatible server) allows plain HTTP. Manifests are
    /// committed with conditional puts (`If-None-Match`), which the server
    /// must support.
    pub fn s3(config: &S3Config) -> Result<DataStore> {
        let mut builder =
            object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&config.bucket);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &config.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build()?;
        Ok(DataStore::new(
            Arc::new(store),
            &format!("s3://{}", config.bucket),
        ))
    }

    /// Any object store; `url` (`scheme://host`) is how the query engine
    /// addresses it and must be unique per store in one process.
    pub fn new(store: Arc<dyn ObjectStore>, url: &str) -> DataStore {
        DataStore {
            store,
            url: url.trim_end_matches('/').to_string(),
        }
    }

    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The `scheme://host` the store is registered under in DataFusion.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The newest manifest's version and when it was written: one listing.
    async fn latest_manifest(
        &self,
        dataset: &str,
        tenant: &TenantId,
    ) -> Result<Option<(u64, DateTime<Utc>)>> {
        let dir = layout::manifest_dir(dataset, tenant);
        let metas: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&dir)).try_collect().await?;
        Ok(metas
            .iter()
            .filter_map(|m| {
                let name = m.location.filename()?;
                let version = name.strip_suffix(".json")?.parse::<u64>().ok()?;
                Some((version, m.last_modified))
            })
            .max_by_key(|(version, _)| *version))
    }

    async fn read_manifest(
        &self,
        dataset: &str,
        tenant: &TenantId,
        version: u64,
    ) -> Result<Manifest> {
        let bytes = self
            .store
            .get(&layout::manifest_path(dataset, tenant, version))
            .await?
            .bytes()
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| EngineError::Corrupt {
            what: format!("manifest {version} of {dataset}/tenant={tenant}"),
            reason: e.to_string(),
        })
    }

    /// The latest committed manifest version (0 if none): one listing, no
    /// read. Anything derived from a dataset's rows may be cached under it.
    pub async fn manifest_version(&self, dataset: &str, tenant: &TenantId) -> Result<u64> {
        Ok(self
            .latest_manifest(dataset, tenant)
            .await?
            .map_or(0, |(version, _)| version))
    }

    /// What names the current data of a dataset for caching: its version
    /// and when that version was written (`0` when never loaded). A tenant
    /// deleted and created again under the same id starts at version 1
    /// again, but never with the same write time, so an answer cached for
    /// the old tenant is never taken for the new one's.
    pub async fn data_stamp(&self, dataset: &str, tenant: &TenantId) -> Result<String> {
        Ok(match self.latest_manifest(dataset, tenant).await? {
            Some((version, written)) => {
                format!(
                    "{version}@{}",
                    written.timestamp_nanos_opt().unwrap_or_default()
                )
            }
            None => "0".to_string(),
        })
    }

    /// A dataset's state for one tenant: the current version, its live
    /// rows and when that version was committed (`None`: never loaded).
    pub async fn dataset_status(&self, dataset: &str, tenant: &TenantId) -> Result<DatasetStatus> {
        let Some((version, committed)) = self.latest_manifest(dataset, tenant).await? else {
            return Ok(DatasetStatus::default());
        };
        let manifest = self.read_manifest(dataset, tenant, version).await?;
        Ok(DatasetStatus {
            version,
            rows: manifest.files.iter().map(|f| f.rows).sum(),
            last_load: Some(committed),
        })
    }

    /// The latest committed manifest (version 0, no files, if none).
    pub async fn manifest(&self, dataset: &str, tenant: &TenantId) -> Result<Manifest> {
        match self.latest_manifest(dataset, tenant).await? {
            Some((version, _)) => self.read_manifest(dataset, tenant, version).await,
            None => Ok(Manifest::default()),
        }
    }

    /// Commits a change to the live file set. `change` maps the current
    /// manifest's files to the new ones; it is re-run on the newer manifest
    /// when another writer committed first. Returns the new manifest.
    pub async fn commit(
        &self,
        dataset: &str,
        tenant: &TenantId,
        mut change: impl FnMut(&Manifest) -> Result<Vec<PartFile>>,
    ) -> Result<Manifest> {
        for _ in 0..COMMIT_RETRIES {
            let current = self.manifest(dataset, tenant).await?;
            let files = change(&current)?;
            let now = Utc::now();
            let mut removed: Vec<RemovedFile> = current
                .removed
                .iter()
                .filter(|r| now - r.removed_at < GARBAGE_GRACE * 2)
                .cloned()
                .collect();
            for old in &current.files {
                if !files.iter().any(|f| f.path == old.path) {
                    removed.push(RemovedFile {
                        path: old.path.clone(),
                        removed_at: now,
                    });
                }
            }
            let next = Manifest {
                version: current.version + 1,
                files,
                removed,
            };
            let json = serde_json::to_vec_pretty(&next).map_err(|e| EngineError::Corrupt {
                what: "new manifest".into(),
                reason: e.to_string(),
            })?;
            let opts = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            match self
                .store
                .put_opts(
                    &layout::manifest_path(dataset, tenant, next.version),
                    PutPayload::from(json),
                    opts,
                )
                .await
            {
                Ok(_) => return Ok(next),
                Err(object_store::Error::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Conflict {
            what: format!("{dataset}/tenant={tenant}"),
        })
    }

    /// Deletes everything a tenant has in the store: every dataset's part
    /// files and manifests (rollups included, they are datasets), its
    /// report files and its CAB files. Returns how many objects went. A
    /// tenant re-created with the same id starts empty.
    pub async fn delete_tenant(&self, tenant: &TenantId) -> Result<usize> {
        let mut prefixes = self.tenant_prefixes(tenant).await?;
        prefixes.push(Path::from(layout::snapshots_prefix(tenant)));
        self.delete_under(&prefixes).await
    }

    /// Every prefix holding a tenant's live objects: each dataset's (rollups
    /// included), its report files and its CAB files (not its snapshots).
    pub(crate) async fn tenant_prefixes(&self, tenant: &TenantId) -> Result<Vec<Path>> {
        let root = Path::from(layout::DATA_ROOT);
        let datasets = self.store.list_with_delimiter(Some(&root)).await?;
        let mut prefixes: Vec<Path> = datasets
            .common_prefixes
            .iter()
            .filter_map(|d| d.filename())
            .map(|name| Path::from(layout::dataset_prefix(name, tenant)))
            .collect();
        prefixes.push(Path::from(layout::report_prefix(tenant.as_str())));
        prefixes.push(Path::from(layout::cab_prefix(tenant)));
        Ok(prefixes)
    }

    /// Deletes every object under the prefixes; returns how many went.
    pub(crate) async fn delete_under(&self, prefixes: &[Path]) -> Result<usize> {
        let mut deleted = 0;
        for prefix in prefixes {
            let objects: Vec<object_store::ObjectMeta> =
                self.store.list(Some(prefix)).try_collect().await?;
            for meta in objects {
                match self.store.delete(&meta.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(deleted)
    }

    /// Deletes part files no manifest references any more (dropped or never
    /// committed) once they are older than [`GARBAGE_GRACE`], and manifests
    /// older than the ten newest. Returns how many objects were deleted.
    pub async fn collect_garbage(&self, dataset: &str, tenant: &TenantId) -> Result<usize> {
        self.collect_garbage_older_than(dataset, tenant, GARBAGE_GRACE)
            .await
    }

    /// [`DataStore::collect_garbage`] with another grace period (tests use 0).
    pub async fn collect_garbage_older_than(
        &self,
        dataset: &str,
        tenant: &TenantId,
        grace: chrono::Duration,
    ) -> Result<usize> {
        let manifest = self.manifest(dataset, tenant).await?;
        let prefix = Path::from(layout::dataset_prefix(dataset, tenant));
        let now = Utc::now();
        let objects: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&prefix)).try_collect().await?;
        let mut deleted = 0;
        for meta in objects {
            let path = meta.location.to_string();
            let is_manifest = path.contains("/_manifest/");
            let stale = if is_manifest {
                meta.location
                    .filename()
                    .and_then(|n| n.strip_suffix(".json"))
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some_and(|v| v + 10 <= manifest.version)
            } else {
                let live = manifest.files.iter().any(|f| f.path == path);
                let removed_at = manifest
                    .removed
                    .iter()
                    .find(|r| r.path == path)
                    .map(|r| r.removed_at);
                let since = removed_at.unwrap_or(meta.last_modified);
                !live && now - since >= grace
            };
            if stale {
                match self.store.delete(&meta.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(deleted)
    }
}
