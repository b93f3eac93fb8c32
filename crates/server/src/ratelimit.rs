//! Per-tenant token buckets for the API rate limit: `burst` calls at once,
//! refilled at `per_second`, at most 50,000 buckets (tenants, and source
//! addresses of unauthenticated callers). Answers carry `X-RateLimit-Limit` and
//! `X-RateLimit-Remaining`; a refused call gets 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept at most (tenants, and source addresses of unauthenticated
/// callers).
const MAX_KEYS: usize = 50_000;

#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, (f64, Instant), foldhash::fast::RandomState>>,
}

/// The outcome of one call's check.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until a call would be allowed, when refused.
    pub retry_after: Option<u64>,
}

impl RateLimiter {
    pub fn new(burst: u32, per_second: f64) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst),
            per_second,
            buckets: Mutex::new(HashMap::default()),
        }
    }

    /// Makes room at the bound: buckets that have refilled completely
    /// (their keys are indistinguishable from new ones) go first; if none
    /// has, the least recently used one.
    fn evict(
        &self,
        buckets: &mut HashMap<String, (f64, Instant), foldhash::fast::RandomState>,
        now: Instant,
    ) {
        let full_after = std::time::Duration::from_secs_f64(self.burst / self.per_second);
        buckets.retain(|_, (_, last)| now.duration_since(*last) < full_after);
        if buckets.len() >= MAX_KEYS
            && let Some(oldest) = buckets
                .iter()
                .min_by_key(|(_, (_, last))| *last)
                .map(|(k, _)| k.clone())
        {
            buckets.remove(&oldest);
        }
    }

    pub fn check(&self, tenant: &str) -> Decision {
        let now = Instant::now();
        let mut buckets = match self.buckets.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Look up without allocating; a tenant's key is made once.
        if !buckets.contains_key(tenant) {
            if buckets.len() >= MAX_KEYS {
                self.evict(&mut buckets, now);
            }
            buckets.insert(tenant.to_string(), (self.burst, now));
        }
        let Some((tokens, last)) = buckets.get_mut(tenant) else {
            return Decision {
                limit: self.burst as u32,
                remaining: 0,
                retry_after: None,
            };
        };
        let refill = now.duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        let limit = self.burst as u32;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Decision {
                limit,
                remaining: *tokens as u32,
                retry_after: None,
            }
        } else {
            let wait = ((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64;
            Decision {
                limit,
                remaining: 0,
                retry_after: Some(wait),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_per_tenant() {
        let l = RateLimiter::new(3, 0.001);
        assert_eq!(l.check("a").remaining, 2);
        assert_eq!(l.check("a").remaining, 1);
        assert_eq!(l.check("a").remaining, 0);
        assert!(l.check("a").retry_after.is_some());
        assert!(l.check("b").retry_after.is_none());
    }
}
