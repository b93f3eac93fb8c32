//! Abuse limits for credential checks: after a few failures for one key
//! (a client id, a user name), each further failure doubles the time the
//! key must wait before the next attempt, up to a ceiling; a success
//! clears the key. The clock is passed in, so the rule is testable.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 3;
/// The first delay, doubled on each further failure.
pub const BASE_DELAY: Duration = Duration::seconds(1);
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::minutes(5);
/// Keys remembered at most; the stalest are forgotten first. Callers bound
/// a key's length (a few hundred bytes), so the map stays a few MiB.
pub const MAX_KEYS: usize = 20_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    blocked_until: DateTime<Utc>,
    last_failure: DateTime<Utc>,
}

/// Failed-attempt bookkeeping shared by every request.
#[derive(Debug, Default)]
pub struct FailureLimiter {
    entries: Mutex<HashMap<String, Entry>>,
}

impl FailureLimiter {
    pub fn new() -> FailureLimiter {
        FailureLimiter::default()
    }

    /// `Err(wait)` when `key` must wait before trying again.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some(e) if e.blocked_until > now => Err(e.blocked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; returns how long the key is now blocked.
    pub fn record_failure(&self, key: &str, now: DateTime<Utc>) -> Duration {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            let stale = entries
                .iter()
                .min_by_key(|(_, e)| e.last_failure)
                .map(|(k, _)| k.clone());
            if let Some(stale) = stale {
                entries.remove(&stale);
            }
        }
        let entry = entries.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            blocked_until: now,
            last_failure: now,
        });
        // A quiet period as long as the ceiling forgives earlier failures.
        if now - entry.last_failure > MAX_DELAY {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        let delay = if entry.failures <= FREE_FAILURES {
            Duration::zero()
        } else {
            let doublings = (entry.failures - FREE_FAILURES - 1).min(16);
            (BASE_DELAY * 2i32.pow(doublings)).min(MAX_DELAY)
        };
        entry.blocked_until = now + delay;
        delay
    }

    /// Clears a key after a successful check.
    pub fn record_success(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}
