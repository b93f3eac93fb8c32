//! The request journal: the last calls of each tenant, for integrators to
//! see what their client did (`GET /admin/v1/tenants/{tenant}/journal`,
//! `openinsights journal`). A bounded ring per tenant (`journal.per_tenant`
//! entries, 10,000 by default; 0 turns it off), kept in this process (each
//! replica journals the calls it served). A call is journaled under a
//! tenant only once the tenant is known for sure — a verified token, or a
//! token request whose tenant exists — so unknown names cannot grow it.
//! Entries never hold tokens, secrets or signatures: the method, the path,
//! the query string with sensitive values masked, the status, the latency,
//! the correlation id, the client id and user, the body sizes and the
//! fault rule that fired (none yet).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// Query parameters whose values are credentials, masked in the journal.
const SECRET_PARAMS: [&str; 10] = [
    "signature",
    "sig",
    "token",
    "access_token",
    "refresh_token",
    "client_secret",
    "password",
    "code",
    "assertion",
    "client_assertion",
];

/// Who a call was for, filled in as the request is authenticated (an
/// `Arc`, so the layer that journals sees what the handler learned).
#[derive(Debug, Clone, Default)]
pub struct Who {
    identity: Arc<Mutex<Option<Identity>>>,
    fault: Arc<Mutex<Option<String>>>,
}

#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub tenant: String,
    pub client_id: Option<String>,
    pub user: Option<String>,
}

tokio::task_local! {
    /// The `Who` of the request being served (set by `http::measure`).
    static CURRENT: Who;
}

/// Names the tenant (and client and user) of the request being served;
/// nothing outside a request or with the journal off.
pub fn note(identity: Identity) {
    let _ = CURRENT.try_with(|who| who.set(identity));
}

/// Notes the fault rule that fired for the request being served.
pub fn note_fault(rule: &str) {
    let _ = CURRENT.try_with(|who| {
        if let Ok(mut fault) = who.fault.lock() {
            *fault = Some(rule.to_string());
        }
    });
}

impl Who {
    /// The fault rule that fired, if one did.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().ok().and_then(|f| f.clone())
    }

    /// Runs `work` (a request) with this `Who` as the current one.
    pub async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    pub fn set(&self, identity: Identity) {
        if let Ok(mut slot) = self.identity.lock() {
            *slot = Some(identity);
        }
    }

    pub fn get(&self) -> Option<Identity> {
        self.identity.lock().ok().and_then(|slot| slot.clone())
    }
}

/// One journaled call.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub time: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub latency_ms: f64,
    pub correlation_id: Option<String>,
    pub client_id: Option<String>,
    pub user: Option<String>,
    pub request_bytes: Option<u64>,
    pub response_bytes: Option<u64>,
    pub fault: Option<String>,
}

#[derive(Debug)]
pub struct Journal {
    per_tenant: usize,
    inner: Mutex<Rings>,
}

#[derive(Debug, Default)]
struct Rings {
    seq: u64,
    tenants: HashMap<String, VecDeque<Entry>>,
}

impl Journal {
    pub fn new(per_tenant: usize) -> Journal {
        Journal {
            per_tenant,
            inner: Mutex::new(Rings::default()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_tenant > 0
    }

    /// Adds a call (its `seq` is assigned here), dropping the tenant's
    /// oldest beyond the bound.
    pub fn record(&self, tenant: &str, mut entry: Entry) {
        if !self.enabled() {
            return;
        }
        let Ok(mut rings) = self.inner.lock() else {
            return;
        };
        rings.seq += 1;
        entry.seq = rings.seq;
        let ring = rings.tenants.entry(tenant.to_string()).or_default();
        if ring.len() >= self.per_tenant {
            ring.pop_front();
        }
        ring.push_back(entry);
    }

    /// The tenant's calls after `since` (a `seq`), newest first, at most
    /// `limit`.
    pub fn read(&self, tenant: &str, since: u64, limit: usize) -> Vec<Entry> {
        let Ok(rings) = self.inner.lock() else {
            return Vec::new();
        };
        rings
            .tenants
            .get(tenant)
            .map(|ring| {
                ring.iter()
                    .rev()
                    .take_while(|e| e.seq > since)
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Drops a deleted tenant's calls.
    pub fn forget_tenant(&self, tenant: &str) {
        if let Ok(mut rings) = self.inner.lock() {
            rings.tenants.remove(tenant);
        }
    }
}

/// A query string with the values of credential parameters masked.
pub fn masked_query(query: &str) -> String {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let secret = SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s));
            let v = if secret { "***".into() } else { v };
            (k, v)
        })
        .fold(
            form_urlencoded::Serializer::new(String::new()),
            |mut out, (k, v)| {
                out.append_pair(&k, &v);
                out
            },
        )
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            seq: 0,
            time: DateTime::UNIX_EPOCH,
            method: "GET".into(),
            path: path.into(),
            query: None,
            status: 200,
            latency_ms: 1.0,
            correlation_id: None,
            client_id: None,
            user: None,
            request_bytes: None,
            response_bytes: None,
            fault: None,
        }
    }

    #[test]
    fn rings_are_bounded_and_read_newest_first() {
        let j = Journal::new(3);
        for i in 0..5 {
            j.record("t", entry(&format!("/{i}")));
        }
        j.record("u", entry("/other"));
        let all = j.read("t", 0, 100);
        let paths: Vec<&str> = all.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/4", "/3", "/2"]);
        assert_eq!(all[0].seq, 5);
        let newer = j.read("t", 4, 100);
        assert_eq!(newer.len(), 1);
        assert_eq!(j.read("t", 0, 2).len(), 2);
        j.forget_tenant("t");
        assert!(j.read("t", 0, 100).is_empty());
        assert!(Journal::new(0).read("u", 0, 10).is_empty());
    }

    #[test]
    fn credentials_in_query_strings_are_masked() {
        assert_eq!(
            masked_query("expiry=1&signature=abcd&Client_Secret=s3cr3t&top=5"),
            "expiry=1&signature=***&Client_Secret=***&top=5"
        );
    }
}
