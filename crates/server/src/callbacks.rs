//! Callback delivery: the durable queue in the store is worked by one
//! sender per process. A delivery is `GET <url>?reportId=<id>` or
//! `POST <url>/<reportId>` with the JSON body queued at completion,
//! `X-Insights-Signature: sha256=<HMAC of the body, or of the URL for GET>`
//! under the tenant's callback key, and `X-Insights-Delivery: <id>`. Each
//! call has a 10 s timeout; a connection error or non-2xx answer is retried
//! after 1, 2, 4 … minutes (service time) for up to 24 hours. The URL is
//! checked again before every attempt and the client's resolver connects
//! only to the public addresses it checked (`netguard`); redirects are not
//! followed, so a callback cannot be steered to a private address. Logs
//! and stored errors show the URL without credentials or query string. A
//! failing callback never changes the execution's status.

use std::time::Duration as StdDuration;

use chrono::Duration;
use store::Delivery;
use tokio::sync::watch;

use crate::Shared;
use crate::netguard::{GlobalResolver, display_url};

/// Retries stop this long after the first attempt.
const GIVE_UP_AFTER: Duration = Duration::hours(24);
const FIRST_RETRY: Duration = Duration::minutes(1);
const TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// The delivery client: no redirects, no proxy from the environment, and —
/// unless private callbacks are allowed — names resolved by
/// [`GlobalResolver`], so it connects only to the public addresses it
/// checked.
pub fn client(allow_private: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(std::sync::Arc::new(GlobalResolver))
    };
    builder.build().unwrap_or_default()
}

/// The URL a delivery calls.
pub fn target(d: &Delivery) -> String {
    if d.method == store::CallbackMethod::Get {
        let sep = if d.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}reportId={}", d.url, d.report_id)
    } else {
        format!("{}/{}", d.url.trim_end_matches('/'), d.report_id)
    }
}

async fn attempt(state: &Shared, http: &reqwest::Client, d: &Delivery) -> Result<(), String> {
    let url = target(d);
    let call = crate::faults::Call {
        api: crate::faults::FaultApi::Callback,
        method: if d.method == store::CallbackMethod::Get {
            "GET"
        } else {
            "POST"
        },
        path: &format!("/reports/{}", d.report_id),
        tenant: &d.tenant_id,
        client_id: None,
    };
    if let Some(fired) = state.faults.check(&call)
        && fired.action == crate::faults::Action::FailCallback
    {
        return Err(format!(
            "injected fault (rule {}): the delivery failed",
            fired.rule
        ));
    }
    crate::netguard::check_callback(&url, state.config.callbacks.allow_private).await?;
    let key = crate::downloads::callback_key(state, &d.tenant_id);
    let req = if d.method == store::CallbackMethod::Get {
        http.get(&url).header(
            "X-Insights-Signature",
            crate::downloads::signature(&key, url.as_bytes()),
        )
    } else {
        http.post(&url)
            .header("content-type", "application/json")
            .header(
                "X-Insights-Signature",
                crate::downloads::signature(&key, d.body.as_bytes()),
            )
            .body(d.body.clone())
    };
    let res = req
        .header("X-Insights-Delivery", &d.id)
        .send()
        .await
        .map_err(|e| format!("calling {}: {}", display_url(&url), without_url(&e)))?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("{} answered {}", display_url(&url), res.status()))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let text = e.to_string();
    if e.is_timeout() {
        "no answer within 10 s".into()
    } else if e.is_connect() {
        // The resolver's refusal of a non-public address is a connect error.
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            let why = cause.to_string();
            if why.contains("globally reachable") {
                return why;
            }
            source = cause.source();
        }
        "connection failed".into()
    } else {
        text
    }
}

/// Delivers one due callback; false when none was due.
pub async fn deliver_once(
    state: &Shared,
    http: &reqwest::Client,
) -> Result<bool, store::StoreError> {
    let wall = state.wall.now_precise();
    let Some(d) = state
        .store
        .claim_delivery(state.clock.now(), wall, wall + Duration::seconds(60))
        .await?
    else {
        return Ok(false);
    };
    match attempt(state, http, &d).await {
        Ok(()) => {
            tracing::info!(delivery = %d.id, report = %d.report_id, attempt = d.attempts, "callback delivered");
            state.metrics.callback("delivered");
            state.store.finish_delivery(&d.id, None, None).await?;
        }
        Err(error) => {
            let now = state.clock.now();
            let wait = FIRST_RETRY
                * 2i32.saturating_pow(u32::try_from(d.attempts.clamp(1, 20) - 1).unwrap_or(0));
            let retry_at = now + wait;
            let give_up = retry_at - d.created_at > GIVE_UP_AFTER;
            tracing::warn!(delivery = %d.id, report = %d.report_id, attempt = d.attempts, %error, give_up, "callback failed");
            state
                .metrics
                .callback(if give_up { "gave_up" } else { "failed" });
            state
                .store
                .finish_delivery(&d.id, Some(&error), (!give_up).then_some(retry_at))
                .await?;
        }
    }
    Ok(true)
}

/// The sender loop; stops when `stop` turns true.
pub async fn run(state: Shared, mut stop: watch::Receiver<bool>) {
    let http = client(state.config.callbacks.allow_private);
    while !*stop.borrow() {
        match deliver_once(&state, &http).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "callbacks: claiming failed"),
        }
        let poll =
            StdDuration::from_millis((1000.0 / state.clock.rate().max(1.0)).max(50.0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = state.deliveries.notified() => {}
            _ = stop.changed() => {}
        }
    }
}
