//! What a report body must hold, apart from its lifecycle: the spec's
//! validation table, how a schedule is checked (StartTime lead, interval
//! bounds, the dataset's minimum interval, an execute-now query window)
//! and the delivery settings (format, callback URL through `netguard`,
//! method). Pure checks, but for the callback's address lookup.

use chrono::{DateTime, Duration, Utc};
use query::catalog::Dataset;
use store::{CallbackMethod, ReportFormat};

use crate::body::format_time;
use crate::service::{Result, ServiceError};

/// A report body as sent: typed, not yet validated. `None` = absent.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub query_id: Option<String>,
    pub execute_now: Option<bool>,
    pub start_time: Option<DateTime<Utc>>,
    pub recurrence_interval: Option<i64>,
    pub recurrence_count: Option<i64>,
    pub format: Option<String>,
    pub callback_url: Option<String>,
    pub callback_method: Option<String>,
    pub query_start: Option<DateTime<Utc>>,
    pub query_end: Option<DateTime<Utc>>,
}

/// The deployment's settings the rules depend on.
#[derive(Debug, Clone)]
pub struct Rules {
    /// How far ahead of now a StartTime must be.
    pub min_start_lead: Duration,
    /// Callbacks may go to loopback and private addresses (local testing).
    pub allow_private_callbacks: bool,
}

/// The shortest and longest recurrence interval, in hours.
pub const INTERVAL_HOURS: std::ops::RangeInclusive<i64> = 4..=2160;

/// A checked schedule and delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub start_time: DateTime<Utc>,
    pub recurrence_interval: i64,
    pub recurrence_count: Option<i64>,
    pub delivery: Delivery,
}

/// How the file is written and announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub format: ReportFormat,
    pub callback_url: Option<String>,
    pub callback_method: CallbackMethod,
}

/// "4 hours", "30 minutes", "10 seconds".
pub fn lead_text(lead: Duration) -> String {
    let secs = lead.num_seconds();
    if secs % 3600 == 0 {
        format!("{} hours", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

/// The schedule's own rules (pure: no IO).
pub fn check_timing(
    req: &ReportRequest,
    dataset: Option<&Dataset>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, i64, Option<i64>)> {
    let start_time = req
        .start_time
        .ok_or_else(|| ServiceError::invalid("StartTime is required unless ExecuteNow is true"))?;
    let earliest = now + rules.min_start_lead;
    if start_time < earliest {
        return Err(ServiceError::invalid(format!(
            "StartTime must be at least {} after the current time: got {}, the earliest allowed is {}",
            lead_text(rules.min_start_lead),
            format_time(start_time),
            format_time(earliest)
        )));
    }
    let interval = req.recurrence_interval.ok_or_else(|| {
        ServiceError::invalid("RecurrenceInterval is required unless ExecuteNow is true")
    })?;
    if !INTERVAL_HOURS.contains(&interval) {
        return Err(ServiceError::invalid(
            "Recurrence interval should be between 4 and 2160",
        ));
    }
    if let Some(d) = dataset
        && interval < i64::from(d.minimum_recurrence_interval)
    {
        return Err(ServiceError::invalid(format!(
            "RecurrenceInterval must be at least {} hours for dataset '{}', got {interval}",
            d.minimum_recurrence_interval, d.name
        )));
    }
    if req.recurrence_count.is_some_and(|c| c < 1) {
        return Err(ServiceError::invalid(
            "RecurrenceCount must be at least 1 (leave it out for no end)",
        ));
    }
    Ok((start_time, interval, req.recurrence_count))
}

/// Format, callback URL (checked against the SSRF rules) and method.
pub async fn check_delivery(req: &ReportRequest, rules: &Rules) -> Result<Delivery> {
    let format = match req.format.as_deref() {
        None => ReportFormat::Csv,
        Some(f) => ReportFormat::parse(f).ok_or_else(|| {
            ServiceError::invalid(format!("Format must be CSV or TSV, got '{f}'"))
        })?,
    };
    let callback_url = match req.callback_url.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => {
            crate::netguard::check_callback(url, rules.allow_private_callbacks)
                .await
                .map_err(ServiceError::Invalid)?;
            Some(url.to_string())
        }
        _ => None,
    };
    let callback_method = match req.callback_method.as_deref() {
        None => CallbackMethod::Post,
        Some(m) => CallbackMethod::parse(m).ok_or_else(|| {
            ServiceError::invalid(format!("CallbackMethod must be GET or POST, got '{m}'"))
        })?,
    };
    Ok(Delivery {
        format,
        callback_url,
        callback_method,
    })
}

/// A recurring schedule: timing, then delivery.
pub async fn check_schedule(
    req: &ReportRequest,
    dataset: Option<&Dataset>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Schedule> {
    let (start_time, recurrence_interval, recurrence_count) =
        check_timing(req, dataset, rules, now)?;
    Ok(Schedule {
        start_time,
        recurrence_interval,
        recurrence_count,
        delivery: check_delivery(req, rules).await?,
    })
}

/// ExecuteNow's QueryStartTime/QueryEndTime: both or neither, in order.
pub fn check_query_window(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Result<()> {
    match (start, end) {
        (Some(s), Some(e)) if s >= e => Err(ServiceError::invalid(
            "QueryStartTime must be before QueryEndTime",
        )),
        (Some(_), None) | (None, Some(_)) => Err(ServiceError::invalid(
            "Give both QueryStartTime and QueryEndTime, or neither",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use query::Catalog;

    pub(crate) fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap()
    }

    pub(crate) fn rules() -> Rules {
        Rules {
            min_start_lead: Duration::hours(4),
            allow_private_callbacks: false,
        }
    }

    pub(crate) fn scheduled() -> ReportRequest {
        ReportRequest {
            name: Some("Weekly".into()),
            query_id: Some("q".into()),
            start_time: Some(now() + Duration::hours(5)),
            recurrence_interval: Some(24),
            ..ReportRequest::default()
        }
    }

    pub(crate) fn invalid(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(ServiceError::Invalid(m)) => m,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn the_start_must_lead_now_by_the_configured_time() {
        let mut req = scheduled();
        req.start_time = Some(now() + Duration::hours(3));
        assert_eq!(
            invalid(check_timing(&req, None, &rules(), now())),
            "StartTime must be at least 4 hours after the current time: got 2026-12-02T13:00:00Z, the earliest allowed is 2026-12-02T14:00:00Z"
        );
        req.start_time = Some(now() + Duration::hours(4));
        assert!(check_timing(&req, None, &rules(), now()).is_ok());
        let lax = Rules {
            min_start_lead: Duration::minutes(90),
            ..rules()
        };
        req.start_time = Some(now());
        assert!(invalid(check_timing(&req, None, &lax, now())).contains("at least 90 minutes"));
        req.start_time = None;
        assert_eq!(
            invalid(check_timing(&req, None, &rules(), now())),
            "StartTime is required unless ExecuteNow is true"
        );
    }

    #[test]
    fn intervals_and_counts_are_bounded() {
        let mut req = scheduled();
        for bad in [0, 3, 2161] {
            req.recurrence_interval = Some(bad);
            assert_eq!(
                invalid(check_timing(&req, None, &rules(), now())),
                "Recurrence interval should be between 4 and 2160"
            );
        }
        req.recurrence_interval = Some(4);
        let dataset = query::builtin()
            .datasets()
            .iter()
            .find(|d| d.minimum_recurrence_interval > 4)
            .expect("a dataset with a longer minimum interval");
        let message = invalid(check_timing(&req, Some(dataset), &rules(), now()));
        assert!(message.contains(&dataset.name), "{message}");
        req.recurrence_count = Some(0);
        assert_eq!(
            invalid(check_timing(&req, None, &rules(), now())),
            "RecurrenceCount must be at least 1 (leave it out for no end)"
        );
    }

    #[tokio::test]
    async fn delivery_settings_are_typed_and_callbacks_checked() {
        let mut req = scheduled();
        let d = check_delivery(&req, &rules()).await.unwrap();
        assert_eq!(d.format, ReportFormat::Csv);
        assert_eq!(d.callback_method, CallbackMethod::Post);
        req.format = Some("TsV".into());
        req.callback_method = Some("get".into());
        req.callback_url = Some(" https://8.8.8.8/cb ".into());
        let d = check_delivery(&req, &rules()).await.unwrap();
        assert_eq!(d.format, ReportFormat::Tsv);
        assert_eq!(d.callback_method, CallbackMethod::Get);
        assert_eq!(d.callback_url.as_deref(), Some("https://8.8.8.8/cb"));
        req.format = Some("xlsx".into());
        assert_eq!(
            invalid(check_delivery(&req, &rules()).await),
            "Format must be CSV or TSV, got 'xlsx'"
        );
        req.format = None;
        req.callback_url = Some("http://127.0.0.1:9/cb".into());
        assert!(
            check_delivery(&req, &rules()).await.is_err(),
            "loopback refused"
        );
        req.callback_url = None;
        req.callback_method = Some("PUT".into());
        assert_eq!(
            invalid(check_delivery(&req, &rules()).await),
            "CallbackMethod must be GET or POST, got 'PUT'"
        );
    }

    #[test]
    fn an_execute_now_window_has_both_ends_in_order() {
        let t = now();
        assert!(check_query_window(None, None).is_ok());
        assert!(check_query_window(Some(t), Some(t + Duration::days(1))).is_ok());
        assert_eq!(
            invalid(check_query_window(Some(t), Some(t))),
            "QueryStartTime must be before QueryEndTime"
        );
        assert_eq!(
            invalid(check_query_window(Some(t), None)),
            "Give both QueryStartTime and QueryEndTime, or neither"
        );
    }
}
