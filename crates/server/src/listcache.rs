//! Answers of `GET /ScheduledQueries` kept per tenant and query string,
//! dropped whenever that tenant's queries change. Only for the embedded
//! SQLite default, where this process is the only writer of queries; with
//! PostgreSQL (several replicas) every list is read from the database.
//! Bounded twice: entries per tenant, and bytes in all (when a new answer
//! would pass the budget the cache starts over; it is only a shortcut).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

/// Entries per tenant at most (distinct query strings).
const PER_TENANT: usize = 256;

#[derive(Debug, Default)]
pub struct ListCache {
    enabled: bool,
    budget: usize,
    tenants: Mutex<Tenants>,
}

#[derive(Debug, Default)]
struct Tenants {
    bytes: usize,
    answers: HashMap<String, HashMap<String, Bytes>>,
}

/// Bytes an entry costs: its key and its answer.
fn cost(query: &str, bytes: &Bytes) -> usize {
    query.len() + bytes.len()
}

impl ListCache {
    /// A cache holding at most `budget` bytes of answers.
    pub fn new(enabled: bool, budget: usize) -> ListCache {
        ListCache {
            enabled,
            budget,
            tenants: Mutex::new(Tenants::default()),
        }
    }

    /// False with PostgreSQL (several writers): nothing is cached.
    pub fn enabled(&self) -> bool {
        self.enabled && self.budget > 0
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    pub fn get(&self, tenant: &str, query: &str) -> Option<Bytes> {
        if !self.enabled {
            return None;
        }
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants.answers.get(tenant)?.get(query).cloned()
    }

    pub fn put(&self, tenant: &str, query: &str, bytes: Bytes) {
        if !self.enabled {
            return;
        }
        let added = cost(query, &bytes);
        if added > self.budget / 4 {
            return;
        }
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if tenants.bytes + added > self.budget {
            tenants.answers.clear();
            tenants.bytes = 0;
        }
        let entries = tenants.answers.entry(tenant.to_string()).or_default();
        let mut freed = 0;
        if entries.len() >= PER_TENANT {
            freed = entries.iter().map(|(q, b)| cost(q, b)).sum();
            entries.clear();
        }
        if let Some(old) = entries.insert(query.to_string(), bytes) {
            freed += cost(query, &old);
        }
        tenants.bytes = tenants.bytes + added - freed;
    }

    /// The tenant's queries changed.
    pub fn forget(&self, tenant: &str) {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entries) = tenants.answers.remove(tenant) {
            let freed: usize = entries.iter().map(|(q, b)| cost(q, b)).sum();
            tenants.bytes -= freed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_never_holds_more_than_its_budget() {
        let cache = ListCache::new(true, 10_000);
        let answer = Bytes::from(vec![b'x'; 1_000]);
        for i in 0..1_000 {
            cache.put(&format!("t{}", i % 7), &format!("top={i}"), answer.clone());
            assert!(cache.bytes() <= 10_000, "{}", cache.bytes());
        }
        // Too big for the budget: not kept at all.
        cache.put("t", "big", Bytes::from(vec![b'x'; 5_000]));
        assert!(cache.get("t", "big").is_none());
        cache.forget("t1");
        assert!(cache.bytes() <= 10_000);
    }
}
