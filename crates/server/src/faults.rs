//! Fault injection for integrators: rules that make the service fail the
//! way the public one does — an API's error answer, latency, a connection
//! closed without an answer, a Failed execution, a callback that fails —
//! so a client's failure paths can be tested deterministically.
//!
//! A rule matches on `api` and optionally `method`, `path` (a glob over the
//! path without its query string, any case), `tenant` and `clientId`. Each
//! match draws from the rule's own random sequence (ChaCha8 seeded with
//! `seed`, or from entropy) against `probability`, before the ordinary rate
//! limiter; a rule with `count` fires that many times, then stays listed
//! with `remaining: 0`. Rules live in this process (`[[faults]]` in the
//! configuration, `POST /admin/v1/faults`, `openinsights faults`); with no
//! rule the check is one read of an empty list.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Where a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultApi {
    Insights,
    Store,
    Token,
    Download,
    Execution,
    Callback,
}

impl FaultApi {
    pub fn name(self) -> &'static str {
        match self {
            FaultApi::Insights => "insights",
            FaultApi::Store => "store",
            FaultApi::Token => "token",
            FaultApi::Download => "download",
            FaultApi::Execution => "execution",
            FaultApi::Callback => "callback",
        }
    }
}

/// A rule as given (the config file, the admin API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    pub api: Option<FaultApi>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    /// 429 (with `retryAfter`), 401 (an expired token), 500, 503, 504.
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub latency_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    /// Close the connection without an answer.
    pub reset: Option<bool>,
    /// `execution`: `Failed` (at once, no retry) with `failureReason`.
    pub outcome: Option<String>,
    pub failure_reason: Option<String>,
    /// `execution`: wait this long before completing.
    pub delay_ms: Option<u64>,
    /// `callback`: the delivery fails (and is retried as a real failure).
    pub fail: Option<bool>,
    /// 0–1 (default 1).
    pub probability: Option<f64>,
    pub seed: Option<u64>,
    /// Fire this many times at most (default: no limit).
    pub count: Option<u64>,
}

/// What a firing rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Status { status: u16, retry_after: u64 },
    Latency(Duration),
    Reset,
    FailExecution(String),
    DelayExecution(Duration),
    FailCallback,
}

/// What a rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub api: FaultApi,
    pub method: &'a str,
    pub path: &'a str,
    pub tenant: &'a str,
    pub client_id: Option<&'a str>,
}

/// A fired rule: its id (for the journal and the log) and its action.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub rule: String,
    pub action: Action,
}

#[derive(Debug)]
struct Rule {
    id: String,
    spec: RuleSpec,
    api: FaultApi,
    action: ActionKind,
    rng: Mutex<ChaCha8Rng>,
    hits: u64,
    remaining: Option<u64>,
}

#[derive(Debug, Clone)]
enum ActionKind {
    Status(u16, u64),
    Latency(u64, u64),
    Reset,
    FailExecution(String),
    DelayExecution(u64),
    FailCallback,
}

/// A rule as listed: the spec with its id, hits and remaining count.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleItem {
    pub id: String,
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub hits: u64,
    pub remaining: Option<u64>,
}

/// Called with the rule's api each time a rule fires (the server counts
/// them in `/metrics`).
pub type OnFire = Box<dyn Fn(FaultApi) + Send + Sync>;

/// The rules of this process.
#[derive(Default)]
pub struct Faults {
    on_fire: Option<OnFire>,
    rules: RwLock<Vec<Rule>>,
    next_id: Mutex<u64>,
    /// True while any rule exists (the hot path reads only this).
    any: std::sync::atomic::AtomicBool,
}

fn invalid(message: impl Into<String>) -> String {
    message.into()
}

/// Checks a rule and works out its action; the message names what is
/// wrong and what is allowed.
fn validate(spec: &RuleSpec) -> Result<(FaultApi, ActionKind), String> {
    let api = spec.api.ok_or_else(|| {
        invalid("api is required: insights, store, token, download, execution or callback")
    })?;
    if let Some(p) = spec.probability
        && !(0.0..=1.0).contains(&p)
    {
        return Err(invalid(format!("probability must be from 0 to 1, not {p}")));
    }
    if let Some(path) = &spec.path
        && (path.is_empty() || path.len() > 1000)
    {
        return Err(invalid("path must be a glob of 1 to 1000 characters"));
    }
    let http = matches!(
        api,
        FaultApi::Insights | FaultApi::Store | FaultApi::Token | FaultApi::Download
    );
    let mut actions = Vec::new();
    if let Some(status) = spec.status {
        if !http {
            return Err(invalid(
                "status applies to insights, store, token and download rules",
            ));
        }
        if !matches!(status, 401 | 429 | 500 | 503 | 504) {
            return Err(invalid(format!(
                "status {status} is not injectable; use 429, 401, 500, 503 or 504"
            )));
        }
        actions.push(ActionKind::Status(status, spec.retry_after.unwrap_or(1)));
    }
    if let Some(ms) = spec.latency_ms {
        if !http {
            return Err(invalid(
                "latencyMs applies to insights, store, token and download rules",
            ));
        }
        actions.push(ActionKind::Latency(ms, spec.jitter_ms.unwrap_or(0)));
    }
    if spec.reset == Some(true) {
        if !http {
            return Err(invalid(
                "reset applies to insights, store, token and download rules",
            ));
        }
        actions.push(ActionKind::Reset);
    }
    if let Some(outcome) = &spec.outcome {
        if api != FaultApi::Execution || !outcome.eq_ignore_ascii_case("Failed") {
            return Err(invalid(
                "outcome is \"Failed\" and applies to execution rules",
            ));
        }
        actions.push(ActionKind::FailExecution(
            spec.failure_reason
                .clone()
                .unwrap_or_else(|| "Injected failure".into()),
        ));
    }
    if let Some(ms) = spec.delay_ms {
        if api != FaultApi::Execution {
            return Err(invalid("delayMs applies to execution rules"));
        }
        actions.push(ActionKind::DelayExecution(ms));
    }
    if spec.fail == Some(true) {
        if api != FaultApi::Callback {
            return Err(invalid("fail applies to callback rules"));
        }
        actions.push(ActionKind::FailCallback);
    }
    match actions.len() {
        1 => Ok((api, actions.remove(0))),
        0 => Err(invalid(
            "a rule needs one action: status (429/401/500/503/504), latencyMs, reset, outcome \"Failed\" (execution), delayMs (execution) or fail (callback)",
        )),
        _ => Err(invalid("a rule has exactly one action")),
    }
}

/// `*` any run of characters, `?` one; any case.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

impl Rule {
    fn matches(&self, call: &Call<'_>) -> bool {
        let s = &self.spec;
        self.api == call.api
            && s.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(call.method))
            && s.path.as_deref().is_none_or(|p| glob(p, call.path))
            && s.tenant
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case(call.tenant))
            && s.client_id
                .as_deref()
                .is_none_or(|c| call.client_id.is_some_and(|id| c.eq_ignore_ascii_case(id)))
    }

    fn item(&self) -> RuleItem {
        RuleItem {
            id: self.id.clone(),
            spec: self.spec.clone(),
            hits: self.hits,
            remaining: self.remaining,
        }
    }
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("rules", &self.list())
            .finish()
    }
}

impl Faults {
    /// Calls `f` each time a rule fires.
    pub fn on_fire(mut self, f: impl Fn(FaultApi) + Send + Sync + 'static) -> Faults {
        self.on_fire = Some(Box::new(f));
        self
    }

    /// Rules from the configuration (`[[faults]]`), refused with the first
    /// problem.
    pub fn from_specs(specs: &[RuleSpec]) -> Result<Faults, String> {
        let faults = Faults::default();
        for (i, spec) in specs.iter().enumerate() {
            faults
                .add(spec.clone())
                .map_err(|e| format!("faults[{i}]: {e}"))?;
        }
        Ok(faults)
    }

    /// True while any rule exists: the one read the hot path makes.
    pub fn armed(&self) -> bool {
        self.any.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Adds a rule; its random sequence starts afresh here.
    pub fn add(&self, spec: RuleSpec) -> Result<RuleItem, String> {
        let (api, action) = validate(&spec)?;
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
            *next += 1;
            format!("f{}", *next)
        };
        let rng = match spec.seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => ChaCha8Rng::from_rng(&mut rand::rng()),
        };
        let rule = Rule {
            id,
            remaining: spec.count,
            spec,
            api,
            action,
            rng: Mutex::new(rng),
            hits: 0,
        };
        let item = rule.item();
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.push(rule);
        self.any.store(true, std::sync::atomic::Ordering::Release);
        Ok(item)
    }

    pub fn list(&self) -> Vec<RuleItem> {
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
        rules.iter().map(Rule::item).collect()
    }

    /// False when no rule has that id.
    pub fn delete(&self, id: &str) -> bool {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        let before = rules.len();
        rules.retain(|r| r.id != id);
        self.any
            .store(!rules.is_empty(), std::sync::atomic::Ordering::Release);
        rules.len() != before
    }

    pub fn clear(&self) {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.clear();
        self.any.store(false, std::sync::atomic::Ordering::Release);
    }

    /// The first rule that matches `call` and wins its draw (each matching
    /// rule draws once, in order, until one fires).
    pub fn check(&self, call: &Call<'_>) -> Option<Fired> {
        if !self.armed() {
            return None;
        }
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        for rule in rules.iter_mut() {
            if rule.remaining == Some(0) || !rule.matches(call) {
                continue;
            }
            let probability = rule.spec.probability.unwrap_or(1.0);
            let draw: f64 = rule.rng.lock().unwrap_or_else(|p| p.into_inner()).random();
            if draw >= probability {
                continue;
            }
            rule.hits += 1;
            if let Some(left) = rule.remaining.as_mut() {
                *left -= 1;
            }
            let action = match &rule.action {
                ActionKind::Status(status, retry_after) => Action::Status {
                    status: *status,
                    retry_after: *retry_after,
                },
                ActionKind::Latency(ms, jitter) => {
                    let extra = if *jitter > 0 {
                        rule.rng
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .random_range(0..=*jitter)
                    } else {
                        0
                    };
                    Action::Latency(Duration::from_millis(ms + extra))
                }
                ActionKind::Reset => Action::Reset,
                ActionKind::FailExecution(reason) => Action::FailExecution(reason.clone()),
                ActionKind::DelayExecution(ms) => {
                    Action::DelayExecution(Duration::from_millis(*ms))
                }
                ActionKind::FailCallback => Action::FailCallback,
            };
            tracing::info!(rule = %rule.id, ?action, tenant = call.tenant, path = call.path, "fault injected");
            if let Some(f) = &self.on_fire {
                f(call.api);
            }
            return Some(Fired {
                rule: rule.id.clone(),
                action,
            });
        }
        None
    }
}

impl scheduler::Injector for Faults {
    fn execution(&self, tenant: &str, report_id: &str) -> Option<scheduler::ExecutionFault> {
        let path = format!("/reports/{report_id}");
        let call = Call {
            api: FaultApi::Execution,
            method: "RUN",
            path: &path,
            tenant,
            client_id: None,
        };
        match self.check(&call)?.action {
            Action::FailExecution(reason) => Some(scheduler::ExecutionFault::Fail(reason)),
            Action::DelayExecution(wait) => Some(scheduler::ExecutionFault::Delay(wait)),
            _ => None,
        }
    }
}

/// Shared by the server's state and the scheduler's hook.
pub type SharedFaults = Arc<Faults>;

#[cfg(test)]
mod tests {
    use super::*;

    fn call(path: &str) -> Call<'_> {
        Call {
            api: FaultApi::Store,
            method: "GET",
            path,
            tenant: "t1",
            client_id: Some("app"),
        }
    }

    fn spec(json: &str) -> RuleSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn globs_match_any_case() {
        assert!(glob(
            "/v1.0/my/analytics/*",
            "/V1.0/my/Analytics/appacquisitions"
        ));
        assert!(glob("*failure?its", "/v1.0/my/analytics/failurehits"));
        assert!(!glob("/insights/*", "/v1.0/my/analytics/x"));
        assert!(glob("*", ""));
    }

    #[test]
    fn count_and_probability_with_a_seed_repeat() {
        let draws = || {
            let f = Faults::default();
            f.add(spec(
                r#"{"api":"store","status":503,"probability":0.5,"seed":7}"#,
            ))
            .unwrap();
            (0..40)
                .map(|_| f.check(&call("/v1.0/my/analytics/x")).is_some())
                .collect::<Vec<bool>>()
        };
        let first = draws();
        assert_eq!(first, draws(), "the same seed, the same sequence");
        let fired = first.iter().filter(|b| **b).count();
        assert!((10..30).contains(&fired), "{fired} of 40");

        let f = Faults::default();
        let item = f
            .add(spec(
                r#"{"api":"store","path":"*/failurehits","status":504,"count":3}"#,
            ))
            .unwrap();
        assert_eq!(item.remaining, Some(3));
        assert!(
            f.check(&call("/v1.0/my/analytics/appacquisitions"))
                .is_none()
        );
        for _ in 0..3 {
            assert!(f.check(&call("/v1.0/my/analytics/failurehits")).is_some());
        }
        assert!(f.check(&call("/v1.0/my/analytics/failurehits")).is_none());
        let listed = f.list();
        assert_eq!((listed[0].hits, listed[0].remaining), (3, Some(0)));
        assert!(f.delete(&listed[0].id));
        assert!(!f.delete(&listed[0].id));
    }

    #[test]
    fn bad_rules_name_what_is_allowed() {
        for (json, needle) in [
            (r#"{"status":503}"#, "api is required"),
            (r#"{"api":"store"}"#, "needs one action"),
            (
                r#"{"api":"store","status":404}"#,
                "use 429, 401, 500, 503 or 504",
            ),
            (
                r#"{"api":"store","status":503,"reset":true}"#,
                "exactly one action",
            ),
            (r#"{"api":"execution","status":503}"#, "status applies to"),
            (
                r#"{"api":"store","outcome":"Failed"}"#,
                "applies to execution rules",
            ),
            (
                r#"{"api":"store","status":503,"probability":2}"#,
                "probability must be",
            ),
        ] {
            let e = Faults::default().add(spec(json)).unwrap_err();
            assert!(e.contains(needle), "{json}: {e}");
        }
        let e = serde_json::from_str::<RuleSpec>(r#"{"api":"ftp"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
    }
}
