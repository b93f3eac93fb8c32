//! Answers of `GET /ScheduledQueries` kept per tenant and query string,
//! dropped whenever that tenant's queries change. Only for the embedded
//! SQLite default, where this process is the only writer of queries; with
//! PostgreSQL (several replicas) every list is read from the database.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

/// Entries per tenant at most (distinct query strings).
const PER_TENANT: usize = 256;

#[derive(Debug, Default)]
pub struct ListCache {
    enabled: bool,
    tenants: Mutex<HashMap<String, HashMap<String, Bytes>>>,
}

impl ListCache {
    pub fn new(enabled: bool) -> ListCache {
        ListCache {
            enabled,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, tenant: &str, query: &str) -> Option<Bytes> {
        if !self.enabled {
            return None;
        }
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants.get(tenant)?.get(query).cloned()
    }

    pub fn put(&self, tenant: &str, query: &str, bytes: Bytes) {
        if !self.enabled {
            return;
        }
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        let entries = tenants.entry(tenant.to_string()).or_default();
        if entries.len() >= PER_TENANT {
            entries.clear();
        }
        entries.insert(query.to_string(), bytes);
    }

    /// The tenant's queries changed.
    pub fn forget(&self, tenant: &str) {
        self.tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tenant);
    }
}
