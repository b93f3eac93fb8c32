//! Where everything lives in the object store, in one place:
//!
//! | what | path |
//! |---|---|
//! | dataset rows (rollups are datasets too) | `data/<dataset>/tenant=<id>/<partition>/part-<uuid>.parquet` |
//! | a dataset's manifests | `data/<dataset>/tenant=<id>/_manifest/<version, 20 digits>.json` |
//! | report files | `reports/<tenant>/<report>/<execution>.<csv or tsv>` |
//! | Store analytics CAB files | `store-cabs/tenant=<id>/<cab key>.cab` |
//! | a tenant's snapshots | `snapshots/<tenant>/<name>/rows.json` and `.../objects/<path>` |
//!
//! The partition is `month=YYYY-MM` for datasets with a date column and
//! `all` otherwise.

use object_store::path::Path;

use crate::TenantId;
use crate::writer::FileFormat;

/// `data/<dataset>/tenant=<id>`: every file of one tenant's dataset.
pub fn dataset_prefix(dataset: &str, tenant: &TenantId) -> String {
    format!("data/{dataset}/tenant={tenant}")
}

/// The folder of a tenant's dataset manifests.
pub fn manifest_dir(dataset: &str, tenant: &TenantId) -> Path {
    Path::from(format!("{}/_manifest", dataset_prefix(dataset, tenant)))
}

/// One manifest version.
pub fn manifest_path(dataset: &str, tenant: &TenantId, version: u64) -> Path {
    Path::from(format!(
        "{}/_manifest/{version:020}.json",
        dataset_prefix(dataset, tenant)
    ))
}

/// A fresh, unique path for a part file in a partition.
pub fn new_part_path(dataset: &str, tenant: &TenantId, partition: &str) -> String {
    format!(
        "{}/{partition}/part-{}.parquet",
        dataset_prefix(dataset, tenant),
        uuid::Uuid::new_v4().simple()
    )
}

/// Where an attempt of an execution writes its report file. Each attempt
/// has its own name, so a worker that lost its lease but still uploads
/// can never overwrite the file another worker's completion recorded (and
/// hashed).
pub fn report_file(
    tenant: &str,
    report: &str,
    execution: &str,
    attempt: i64,
    format: FileFormat,
) -> String {
    format!(
        "reports/{tenant}/{report}/{execution}-{attempt}.{}",
        format.extension()
    )
}

/// Every report file of a tenant.
pub fn report_prefix(tenant: &str) -> String {
    format!("reports/{tenant}")
}

/// Every snapshot of a tenant.
pub fn snapshots_prefix(tenant: &TenantId) -> String {
    format!("snapshots/{tenant}")
}

/// One snapshot: its `rows.json` and its copies under `objects/`.
pub fn snapshot_prefix(tenant: &TenantId, name: &str) -> String {
    format!("snapshots/{tenant}/{name}")
}

/// Every CAB file of a tenant.
pub fn cab_prefix(tenant: &TenantId) -> String {
    format!("store-cabs/tenant={tenant}")
}

/// The folder holding one folder per dataset.
pub const DATA_ROOT: &str = "data";

/// Where a Store analytics CAB file lives.
pub fn cab_file(tenant: &TenantId, cab_key: &str) -> String {
    format!("{}/{cab_key}.cab", cab_prefix(tenant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_documented_layout() {
        let t = TenantId::parse("8e1b2b7e-2f43-4c51-a8a4-4f3d2f0c1a11").unwrap();
        assert_eq!(
            dataset_prefix("ISVUsage", &t),
            "data/ISVUsage/tenant=8e1b2b7e-2f43-4c51-a8a4-4f3d2f0c1a11"
        );
        assert_eq!(
            manifest_path("ISVUsage", &t, 7).as_ref(),
            "data/ISVUsage/tenant=8e1b2b7e-2f43-4c51-a8a4-4f3d2f0c1a11/_manifest/00000000000000000007.json"
        );
        assert!(new_part_path("ISVUsage", &t, "month=2026-11").ends_with(".parquet"));
        assert_eq!(
            report_file("t", "r", "e", 2, FileFormat::Tsv),
            "reports/t/r/e-2.tsv"
        );
        assert_eq!(
            cab_file(&t, "k"),
            "store-cabs/tenant=8e1b2b7e-2f43-4c51-a8a4-4f3d2f0c1a11/k.cab"
        );
    }
}
