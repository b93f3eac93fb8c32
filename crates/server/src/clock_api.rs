//! `GET /admin/v1/clock` and `POST /admin/v1/clock` (admin credential): the
//! deployment's service time, moved forward with `{"advance": "4h"}` or
//! `{"set": "<RFC 3339>"}`. The scheduler wakes at once (a slot that became
//! due starts within a second) and every instant the APIs show follows;
//! the other replicas follow within a second (`cluster::ClockSync`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use proto::admin::ClockItem;

use crate::Shared;
use crate::body::{RequestFields, format_time};
use crate::error::{ApiError, json_response};
use crate::service::ServiceError;

pub fn routes() -> Router<Shared> {
    Router::new().route("/admin/v1/clock", get(show).post(move_clock))
}

fn item(state: &Shared) -> ClockItem {
    ClockItem {
        now: format_time(state.clock.now()),
        rate: state.clock.rate(),
    }
}

async fn show(State(state): State<Shared>) -> Response {
    json_response(StatusCode::OK, &item(&state))
}

/// Where a move request takes the clock: exactly one of `advance` (a
/// positive duration such as `4h`, `90m`, `1d 2h`) and `set` (an RFC 3339
/// instant, not in the past).
pub fn target_of(
    now: DateTime<Utc>,
    advance: Option<&str>,
    set: Option<&str>,
) -> Result<DateTime<Utc>, ServiceError> {
    match (advance, set) {
        (Some(by), None) => {
            let by = humantime::parse_duration(by.trim()).map_err(|e| {
                ServiceError::invalid(format!(
                    "advance '{by}' is not a duration ({e}); write e.g. 4h, 90m or 1d 2h"
                ))
            })?;
            let by = chrono::Duration::from_std(by)
                .ok()
                .filter(|d| *d > chrono::Duration::zero())
                .ok_or_else(|| {
                    ServiceError::invalid("advance must be a positive duration such as 4h")
                })?;
            now.checked_add_signed(by)
                .ok_or_else(|| ServiceError::invalid("advance takes the clock out of range"))
        }
        (None, Some(at)) => DateTime::parse_from_rfc3339(at.trim())
            .map(|t| t.to_utc())
            .map_err(|e| {
                ServiceError::invalid(format!(
                    "set '{at}' is not an RFC 3339 instant ({e}); write e.g. 2026-12-02T14:00:00Z"
                ))
            }),
        _ => Err(ServiceError::invalid(
            "Send exactly one of {\"advance\": \"4h\"} or {\"set\": \"<RFC 3339 instant>\"}",
        )),
    }
}

async fn move_clock(
    State(state): State<Shared>,
    RequestFields(f): RequestFields,
) -> Result<Response, ApiError> {
    let advance = f.string("advance")?;
    let set = f.string("set")?;
    let target = target_of(
        state.clock.now_precise(),
        advance.as_deref(),
        set.as_deref(),
    )?;
    state
        .clock_sync
        .move_to(&state.store, &state.clock, &state.wall, target)
        .await?;
    state.scheduler.wake();
    tracing::info!(now = %state.clock.now(), "the service clock was moved");
    Ok(json_response(StatusCode::OK, &item(&state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked() {
        let now: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        assert_eq!(
            target_of(now, Some("4h"), None).unwrap(),
            "2026-12-02T14:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            target_of(now, None, Some("2026-12-03T00:00:00+01:00")).unwrap(),
            "2026-12-02T23:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        for (advance, set, needle) in [
            (Some("soon"), None, "not a duration"),
            (Some("0s"), None, "positive duration"),
            (None, Some("tomorrow"), "not an RFC 3339 instant"),
            (None, None, "exactly one of"),
            (Some("1h"), Some("2026-12-03T00:00:00Z"), "exactly one of"),
        ] {
            let e = target_of(now, advance, set).unwrap_err().to_string();
            assert!(e.contains(needle), "{advance:?} {set:?}: {e}");
        }
    }
}
