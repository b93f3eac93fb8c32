//! What an operator scrapes: the Prometheus registry behind `GET /metrics`
//! (`prometheus-client`, the Prometheus project's Rust client, OpenMetrics
//! text). Every label takes values from a closed set — an API, a route
//! template, a status code, an outcome — so no caller can grow it.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The API a request belongs to (from its path).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum ApiLabel {
    insights,
    store,
    token,
    download,
    admin,
    ops,
    other,
}

impl ApiLabel {
    /// The API of a request path (or its route template).
    pub fn of_path(path: &str) -> ApiLabel {
        let lower = path.to_ascii_lowercase();
        if lower.starts_with("/insights/v1/mpn/download/") {
            ApiLabel::download
        } else if lower.starts_with("/insights/") {
            ApiLabel::insights
        } else if lower.starts_with("/v1.0/my/analytics") || lower.starts_with("/store/cab/") {
            ApiLabel::store
        } else if lower.starts_with("/admin/") {
            ApiLabel::admin
        } else if matches!(lower.as_str(), "/healthz" | "/readyz" | "/metrics") {
            ApiLabel::ops
        } else if lower.contains("/oauth2/")
            || lower.contains("/.well-known/")
            || lower.contains("/discovery/")
        {
            ApiLabel::token
        } else {
            ApiLabel::other
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub api: ApiLabel,
    /// `METHOD /route/{template}` (or `unmatched`).
    pub operation: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DurationLabels {
    pub api: ApiLabel,
    pub operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// Hit or miss of one of the caches.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum CacheResult {
    hit,
    miss,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `store_answers`, `query_lists`, `verified_tokens`.
    pub cache: &'static str,
    pub result: CacheResult,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueryLabels {
    /// `preview`, `store`, `execution`.
    pub kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabels {
    /// The rule's api: insights, store, token, download, execution, callback.
    pub api: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoadLabels {
    /// `loaded` or `rejected`.
    pub result: &'static str,
}

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<DurationLabels, Histogram>,
    executions: Family<StatusLabels, Counter>,
    scheduler_lag: Histogram,
    pub executions_pending: Gauge,
    callback_deliveries: Family<OutcomeLabels, Counter>,
    cache_requests: Family<CacheLabels, Counter>,
    query_duration: Family<QueryLabels, Histogram>,
    data_loads: Family<LoadLabels, Counter>,
    faults: Family<FaultLabels, Counter>,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    // 1 ms … ~65 s.
    exponential_buckets(0.001, 2.0, 17)
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("openinsights");
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by API, operation and status code",
            http_requests.clone(),
        );
        let http_duration = Family::<DurationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (headers sent)",
            http_duration.clone(),
        );
        let executions = Family::<StatusLabels, Counter>::default();
        registry.register(
            "executions",
            "Report execution attempts ended, by how they ended",
            executions.clone(),
        );
        let scheduler_lag = Histogram::new(latency_buckets());
        registry.register(
            "scheduler_lag_seconds",
            "Wall time from an execution's due time to its start",
            scheduler_lag.clone(),
        );
        let executions_pending = Gauge::default();
        registry.register(
            "executions_pending",
            "Executions due and waiting for a worker (all replicas)",
            executions_pending.clone(),
        );
        let callback_deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "callback_deliveries",
            "Callback delivery attempts, by outcome",
            callback_deliveries.clone(),
        );
        let cache_requests = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_requests",
            "Cache lookups, by cache and hit or miss",
            cache_requests.clone(),
        );
        let query_duration = Family::<QueryLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "query_duration_seconds",
            "Time queries ran on the engine, by kind",
            query_duration.clone(),
        );
        let data_loads = Family::<LoadLabels, Counter>::default();
        registry.register(
            "data_loads",
            "Data loads through the admin API, by result",
            data_loads.clone(),
        );
        let faults = Family::<FaultLabels, Counter>::default();
        registry.register(
            "faults_injected",
            "Fault rules that fired, by the rule's api",
            faults.clone(),
        );
        // Every outcome starts at zero, so a rate is defined from the
        // first scrape.
        for end in [
            scheduler::AttemptEnd::Completed,
            scheduler::AttemptEnd::Retry,
            scheduler::AttemptEnd::Failed,
            scheduler::AttemptEnd::LostLease,
        ] {
            let _ = executions.get_or_create(&StatusLabels { status: end.name() });
        }
        for outcome in ["delivered", "failed", "gave_up"] {
            let _ = callback_deliveries.get_or_create(&OutcomeLabels { outcome });
        }
        for result in ["loaded", "rejected"] {
            let _ = data_loads.get_or_create(&LoadLabels { result });
        }
        for cache in ["store_answers", "query_lists"] {
            for result in [CacheResult::hit, CacheResult::miss] {
                let _ = cache_requests.get_or_create(&CacheLabels { cache, result });
            }
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            executions,
            scheduler_lag,
            executions_pending,
            callback_deliveries,
            cache_requests,
            query_duration,
            data_loads,
            faults,
        }
    }

    pub fn fault(&self, api: &'static str) {
        self.faults.get_or_create(&FaultLabels { api }).inc();
    }

    pub fn request(&self, api: ApiLabel, operation: &'static str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&RequestLabels {
                api,
                operation,
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&DurationLabels { api, operation })
            .observe(elapsed.as_secs_f64());
    }

    pub fn callback(&self, outcome: &'static str) {
        self.callback_deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn cache(&self, cache: &'static str, hit: bool) {
        let result = if hit {
            CacheResult::hit
        } else {
            CacheResult::miss
        };
        self.cache_requests
            .get_or_create(&CacheLabels { cache, result })
            .inc();
    }

    pub fn query(&self, kind: &'static str, elapsed: Duration) {
        self.query_duration
            .get_or_create(&QueryLabels { kind })
            .observe(elapsed.as_secs_f64());
    }

    pub fn data_load(&self, loaded: bool) {
        let result = if loaded { "loaded" } else { "rejected" };
        self.data_loads.get_or_create(&LoadLabels { result }).inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl scheduler::Observer for Metrics {
    fn started(&self, lag: Duration) {
        self.scheduler_lag.observe(lag.as_secs_f64());
    }

    fn finished(&self, end: scheduler::AttemptEnd, elapsed: Duration) {
        self.executions
            .get_or_create(&StatusLabels { status: end.name() })
            .inc();
        self.query("execution", elapsed);
    }
}

/// The `operation` label of a request, `METHOD <prefix><route>`, made
/// once per (method, route) and kept: routes and methods are closed sets
/// (the router's templates, the Store method table), so the kept strings
/// are bounded, and a request costs a lookup instead of a `format!` and
/// two copies. `prefix` must be the same for every call with a route.
pub fn operation(method: &axum::http::Method, prefix: &str, route: &str) -> &'static str {
    type Interned = std::collections::HashMap<String, Vec<(String, &'static str)>>;
    static KNOWN: std::sync::LazyLock<std::sync::RwLock<Interned>> =
        std::sync::LazyLock::new(Default::default);
    // At most this many routes: beyond it (never, with a fixed router) the
    // label is "other".
    const MAX: usize = 4096;
    let method = method.as_str();
    let find = |known: &Interned| {
        known
            .get(route)
            .and_then(|methods| methods.iter().find(|(m, _)| m == method))
            .map(|(_, label)| *label)
    };
    if let Some(found) = find(&KNOWN.read().unwrap_or_else(|p| p.into_inner())) {
        return found;
    }
    let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = find(&known) {
        return found;
    }
    if known.len() >= MAX {
        return "other";
    }
    let label: &'static str = Box::leak(format!("{method} {prefix}{route}").into_boxed_str());
    known
        .entry(route.to_string())
        .or_default()
        .push((method.to_string(), label));
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_made_once_per_method_and_route() {
        use axum::http::Method;
        let a = operation(&Method::GET, "", "/insights/v1/mpn/ScheduledQueries");
        assert_eq!(a, "GET /insights/v1/mpn/ScheduledQueries");
        let again = operation(&Method::GET, "", "/insights/v1/mpn/ScheduledQueries");
        assert!(std::ptr::eq(a, again), "the same kept string");
        assert_eq!(
            operation(&Method::POST, "", "/insights/v1/mpn/ScheduledQueries"),
            "POST /insights/v1/mpn/ScheduledQueries"
        );
        assert_eq!(
            operation(&Method::GET, "/v1.0/my/analytics/", "appacquisitions"),
            "GET /v1.0/my/analytics/appacquisitions"
        );
    }

    #[test]
    fn encodes_the_named_families() {
        let m = Metrics::new();
        m.request(
            ApiLabel::insights,
            "GET /insights/v1/mpn/ScheduledQueries",
            200,
            Duration::from_millis(3),
        );
        m.cache("store_answers", true);
        scheduler::Observer::finished(&m, scheduler::AttemptEnd::Completed, Duration::from_secs(1));
        let text = m.encode();
        for needle in [
            "openinsights_http_requests_total{api=\"insights\",operation=\"GET /insights/v1/mpn/ScheduledQueries\",status=\"200\"} 1",
            "openinsights_http_request_duration_seconds_bucket",
            "openinsights_executions_total{status=\"Completed\"} 1",
            "openinsights_cache_requests_total{cache=\"store_answers\",result=\"hit\"} 1",
            "openinsights_executions_pending",
            "# EOF",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }

    #[test]
    fn paths_map_to_apis() {
        assert_eq!(
            ApiLabel::of_path("/insights/v1/mpn/ScheduledReport"),
            ApiLabel::insights
        );
        assert_eq!(
            ApiLabel::of_path("/v1.0/my/analytics/appacquisitions"),
            ApiLabel::store
        );
        assert_eq!(ApiLabel::of_path("/t/oauth2/token"), ApiLabel::token);
        assert_eq!(ApiLabel::of_path("/admin/v1/tenants"), ApiLabel::admin);
        assert_eq!(ApiLabel::of_path("/metrics"), ApiLabel::ops);
        assert_eq!(
            ApiLabel::of_path("/insights/v1/mpn/download/{execution}"),
            ApiLabel::download
        );
    }
}
