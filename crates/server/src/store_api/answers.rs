//! Store API answers by query and data version: the full, unpaged result
//! batches, least recently used first out, within a byte budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use engine::arrow::array::RecordBatch;

/// Store API answers (the full, unpaged result batches) by query and data
/// version, least recently used first out, within a byte budget. Callers
/// of the same query at the same time share one execution.
#[derive(Debug)]
pub struct ResultCache {
    budget: usize,
    inner: Mutex<CacheMap>,
}

type Batches = Arc<Vec<RecordBatch>>;

#[derive(Debug, Default)]
struct CacheMap {
    tick: u64,
    bytes: usize,
    entries: HashMap<String, CacheEntry>,
}

#[derive(Debug)]
struct CacheEntry {
    used: u64,
    bytes: usize,
    cell: Arc<tokio::sync::OnceCell<Batches>>,
}

impl ResultCache {
    pub fn new(budget_bytes: usize) -> ResultCache {
        ResultCache {
            budget: budget_bytes,
            inner: Mutex::new(CacheMap::default()),
        }
    }

    /// Drops every answer of a tenant (it was deleted).
    pub fn forget_tenant(&self, tenant: &str) {
        let prefix = format!("{tenant}\n");
        if let Ok(mut map) = self.inner.lock() {
            let gone: Vec<String> = map
                .entries
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            for k in gone {
                if let Some(e) = map.entries.remove(&k) {
                    map.bytes -= e.bytes;
                }
            }
        }
    }

    pub(super) async fn get_or_run<F, Fut>(
        &self,
        key: String,
        run: F,
    ) -> Result<Batches, engine::EngineError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<RecordBatch>, engine::EngineError>>,
    {
        if self.budget == 0 {
            return run().await.map(Arc::new);
        }
        let cell = {
            let Ok(mut map) = self.inner.lock() else {
                return run().await.map(Arc::new);
            };
            map.tick += 1;
            let tick = map.tick;
            let entry = map
                .entries
                .entry(key.clone())
                .or_insert_with(|| CacheEntry {
                    used: tick,
                    bytes: 0,
                    cell: Arc::new(tokio::sync::OnceCell::new()),
                });
            entry.used = tick;
            Arc::clone(&entry.cell)
        };
        let batches = cell
            .get_or_try_init(|| async { run().await.map(Arc::new) })
            .await;
        let batches = match batches {
            Ok(b) => Arc::clone(b),
            Err(e) => {
                if let Ok(mut map) = self.inner.lock() {
                    map.entries.remove(&key);
                }
                return Err(e);
            }
        };
        let size: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        if let Ok(mut map) = self.inner.lock() {
            let mut added = 0;
            if let Some(e) = map.entries.get_mut(&key)
                && e.bytes == 0
            {
                e.bytes = size.max(1);
                added = e.bytes;
            }
            map.bytes += added;
            while map.bytes > self.budget && map.entries.len() > 1 {
                let Some(oldest) = map
                    .entries
                    .iter()
                    .filter(|(k, e)| e.bytes > 0 && **k != key)
                    .min_by_key(|(_, e)| e.used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some(e) = map.entries.remove(&oldest) {
                    map.bytes -= e.bytes;
                }
            }
        }
        Ok(batches)
    }
}
