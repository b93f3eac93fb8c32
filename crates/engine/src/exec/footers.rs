//! The statistics of the files a plan reads, taken from their footers by
//! parallel tasks before DataFusion plans the scan.
//!
//! Planning a scan collects every file's statistics
//! (`ListingTable::collect_files_for_scan`): the footer reads overlap, but
//! decoding each footer and converting its statistics run in turn on the
//! planning task (at 1 M rows in 24 files, ~10 ms of a 40 ms query before
//! the first row is read). Planning looks in the runtime's statistics
//! cache first, and the scan's readers in its footer cache, so doing that
//! work here, one task per file, spreads it over the runtime's workers.
//! A file that cannot be read is left for planning, which reports it.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::datasource::physical_plan::parquet::metadata::{
    DFParquetMetadata, ordering_from_parquet_metadata,
};
use datafusion::execution::cache::cache_manager::{
    CachedFileMetadata, SchemaFingerprint, TableScopedPath,
};
use datafusion::prelude::SessionContext;
use object_store::ObjectStoreExt;
use tokio::task::JoinSet;

use crate::storage::DataStore;

/// Puts the statistics of `urls` (files of `store`, read with `schema`)
/// into `session`'s statistics cache, reading `hint` bytes from each
/// file's end at once; returns when all are in or have failed.
pub(super) async fn warm(
    session: &SessionContext,
    store: &DataStore,
    schema: &SchemaRef,
    urls: &[String],
    hint: usize,
) {
    let runtime = session.runtime_env();
    let Some(statistics) = runtime.cache_manager.get_file_statistic_cache() else {
        return;
    };
    if urls.len() < 2 {
        return;
    }
    let footers = runtime.cache_manager.get_file_metadata_cache();
    let fingerprint = Arc::new(SchemaFingerprint::from_schema(schema));
    // As many files at once as DataFusion's own statistics collection
    // reads (32 by default): each holds its footer read until decoded, and
    // 672 files at once (100 M rows) held ~30 MiB more at the peak.
    let at_once = session
        .copied_config()
        .options()
        .execution
        .meta_fetch_concurrency
        .get();
    let mut tasks = JoinSet::new();
    for url in urls {
        let Ok(url) = ListingTableUrl::parse(url) else {
            continue;
        };
        // The key planning looks under: files read by URL belong to no
        // table.
        let key = TableScopedPath {
            table: None,
            path: url.prefix().clone(),
        };
        // Part files are never rewritten (a new version is a new file), so
        // an entry under the key is this file's; planning still checks it
        // against the file's size and time. A server asks the store
        // nothing more after a file's first query with these columns.
        if statistics
            .get(&key)
            .is_some_and(|cached| *cached.schema_fingerprint == *fingerprint)
        {
            continue;
        }
        while tasks.len() >= at_once {
            tasks.join_next().await;
        }
        let object_store = store.object_store().clone();
        let (statistics, footers) = (statistics.clone(), footers.clone());
        let (schema, fingerprint) = (schema.clone(), fingerprint.clone());
        tasks.spawn(async move {
            let Ok(meta) = object_store.head(&key.path).await else {
                return;
            };
            let Ok(footer) = DFParquetMetadata::new(object_store.as_ref(), &meta)
                .with_metadata_size_hint(Some(hint))
                .with_file_metadata_cache(Some(footers))
                .fetch_metadata()
                .await
            else {
                return;
            };
            let (Ok(stats), Ok(ordering)) = (
                DFParquetMetadata::statistics_from_parquet_metadata(&footer, &schema),
                ordering_from_parquet_metadata(&footer, &schema),
            ) else {
                return;
            };
            statistics.put(
                &key,
                CachedFileMetadata::new(meta, fingerprint, Arc::new(stats), ordering),
            );
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::scan::{narrowed, read_files_in};
    use crate::exec::{Engine, FOOTER_READ_BYTES};
    use crate::generate::{Universe, seed_dataset};
    use crate::schema::read_schema;
    use crate::storage::{PartFile, TenantId};
    use datafusion::common::stats::Precision;
    use query::Catalog;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn statistics_go_under_the_keys_planning_looks_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = DataStore::local(dir.path()).unwrap();
        let tenant = TenantId::parse("acme").unwrap();
        let dataset = query::builtin().dataset("CustomersAndTenants").unwrap();
        let through = chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let universe = Arc::new(Universe::new(42, 20_000, through));
        seed_dataset(&store, &universe, dataset, &tenant, 42, 20_000)
            .await
            .unwrap();
        let files = store.manifest(&dataset.name, &tenant).await.unwrap().files;
        assert!(files.len() > 2, "{} files", files.len());
        let engine = Engine::new(store.clone()).unwrap();
        let session = &engine.ctx;
        let statistics = session
            .runtime_env()
            .cache_manager
            .get_file_statistic_cache()
            .unwrap();

        // Read with two of the dataset's columns, as a query naming them is.
        let columns = ["CustomerTpid", "Month"];
        let schema = narrowed(read_schema(dataset), &columns);
        assert_eq!(schema.fields().len(), 2);
        let urls: Vec<String> = files
            .iter()
            .map(|f| format!("{}/{}", store.url(), f.path))
            .collect();
        warm(session, &store, &schema, &urls, FOOTER_READ_BYTES).await;
        assert_eq!(statistics.len(), files.len());
        let key = |file: &PartFile| TableScopedPath {
            table: None,
            path: file.path.as_str().into(),
        };
        let warmed: Vec<_> = files
            .iter()
            .map(|file| {
                let cached = statistics.get(&key(file)).unwrap();
                assert_eq!(
                    cached.statistics.num_rows,
                    Precision::Exact(file.rows as usize),
                    "{}",
                    file.path
                );
                assert_eq!(cached.statistics.column_statistics.len(), 2);
                cached.statistics
            })
            .collect();

        // Planning the scan takes every file's statistics from the cache
        // (same key, same columns) instead of computing its own.
        let frame = read_files_in(session, &store, dataset, Some(&columns), files.iter())
            .await
            .unwrap();
        frame.create_physical_plan().await.unwrap();
        assert_eq!(statistics.len(), files.len());
        for (file, warmed) in files.iter().zip(&warmed) {
            let planned = statistics.get(&key(file)).unwrap().statistics;
            assert!(
                Arc::ptr_eq(&planned, warmed),
                "{} computed again",
                file.path
            );
        }
    }
}
