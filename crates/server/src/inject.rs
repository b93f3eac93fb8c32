//! Where fault rules (`faults`) meet the transport: the answers an
//! injected fault gives, in each API's own error shape and headers — the
//! Insights envelope, the Store API's §1.7 body, OAuth2's error — and a
//! connection closed without an answer.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;

use crate::Shared;
use crate::error::{ApiError, ErrorCode};
use crate::faults::{Action, Call, Fired};
use crate::http::Gate;
use crate::ratelimit::Decision;

/// What the caller does with a fired rule.
pub enum Outcome {
    /// Answer this instead of serving the call.
    Answer(Response),
    /// Serve the call after this wait.
    Delay(Duration),
    /// Serve the call (no rule fired, or one not for this kind of call).
    Serve,
}

/// Checks the rules for a call; notes a fired rule in the journal.
pub fn check(state: &Shared, call: &Call<'_>) -> Option<Fired> {
    let fired = state.faults.check(call)?;
    crate::journal::note_fault(&fired.rule);
    Some(fired)
}

/// A response whose body fails at once: the connection is closed without
/// a (complete) answer, as a crashed or reset server would.
pub fn reset() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// The Insights or Store API's own answer for an injected status.
pub fn api_status(gate: &Gate, state: &Shared, status: u16, retry_after: u64) -> Response {
    let (error, limited) = match status {
        401 => (
            ApiError::unauthorized(
                "The access token is not valid: the token has expired. Send a current token from the token endpoint as 'Authorization: Bearer <token>'",
            ),
            false,
        ),
        429 => {
            let decision = Decision {
                limit: state.config.rate_limit.burst,
                remaining: 0,
                retry_after: Some(retry_after),
            };
            let mut e = ApiError::new(
                ErrorCode::RateLimited,
                (gate.limited)(state, &decision, retry_after),
            );
            e.retry_after = Some(retry_after);
            (e, true)
        }
        503 => {
            let mut e = ApiError::new(
                ErrorCode::Unavailable,
                "The service is temporarily unavailable; try again shortly",
            );
            e.retry_after = Some(retry_after);
            (e, false)
        }
        504 => (
            ApiError::new(
                ErrorCode::Timeout,
                "The request took too long to answer; try again, or narrow the dates or the groupby fields",
            ),
            false,
        ),
        _ => (
            ApiError::new(
                ErrorCode::Internal,
                format!(
                    "An internal error occurred (correlation id {}); the server log has the details",
                    crate::http::correlation_id()
                ),
            ),
            false,
        ),
    };
    let mut res = (gate.render)(error);
    if limited {
        crate::http::rate_limit_headers(
            &mut res,
            &Decision {
                limit: state.config.rate_limit.burst,
                remaining: 0,
                retry_after: Some(retry_after),
            },
        );
    }
    res
}

/// A fired rule on an Insights, Store or download call.
pub fn http_outcome(fired: Option<Fired>, answer: impl FnOnce(u16, u64) -> Response) -> Outcome {
    match fired.map(|f| f.action) {
        Some(Action::Status {
            status,
            retry_after,
        }) => Outcome::Answer(answer(status, retry_after)),
        Some(Action::Latency(wait)) => Outcome::Delay(wait),
        Some(Action::Reset) => Outcome::Answer(reset()),
        _ => Outcome::Serve,
    }
}
