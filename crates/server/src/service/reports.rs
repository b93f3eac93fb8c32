//! The Insights API's report rules, apart from HTTP: what a report body
//! must hold (the spec's validation table), how a schedule is checked
//! (StartTime lead, interval bounds, the dataset's minimum interval), the
//! delivery settings (format, callback URL through `netguard`, method), and
//! the lifecycle (create with its first execution, update re-planning what
//! has not started, pause, resume from the first slot at or after now,
//! delete with its files). Every store call names the caller's tenant.

use chrono::{DateTime, Duration, Utc};
use query::Catalog;
use query::catalog::Dataset;
use store::{CallbackMethod, NewExecution, Report, ReportFormat, ReportStatus, Store};

use crate::body::format_time;
use crate::service::queries::{
    check_name_and_description, check_query, check_restricted, required, system_query,
};
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

/// The query a report names: a system query or one of the tenant's (id,
/// text, dataset).
async fn report_query(store: &Store, tenant: &str, id: &str) -> Result<(String, String, String)> {
    if let Some(q) = system_query(id) {
        return Ok((q.query_id.clone(), q.query.clone(), q.dataset.clone()));
    }
    if uuid::Uuid::parse_str(id.trim()).is_ok()
        && let Some(q) = store.query(tenant, id.trim()).await?
    {
        return Ok((q.id, q.text, q.dataset));
    }
    Err(ServiceError::invalid("Invalid QueryId"))
}

/// Whether the report's files may hold restricted values unredacted: it
/// runs with ExecutiveReportViewer rights and selects a restricted column.
/// Their secure links are not shown to callers who see restricted values
/// redacted.
pub fn files_hold_restricted(report: &Report) -> bool {
    report.restricted_access
        && check_query(&report.query_text).map_or(true, |p| p.outputs.iter().any(|o| o.restricted))
}

/// The report operations of one tenant at one instant.
pub struct Reports<'a> {
    pub store: &'a Store,
    pub rules: &'a Rules,
    pub tenant: &'a str,
    /// Service time now.
    pub now: DateTime<Utc>,
    /// The caller sees restricted values (ExecutiveReportViewer): the
    /// reports it creates run with that right, re-checked at every run.
    pub sees_restricted: bool,
}

impl Reports<'_> {
    /// A report of the tenant, or 404.
    pub async fn get(&self, id: &str) -> Result<Report> {
        self.store
            .report(self.tenant, id.trim())
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("Report '{id}' not found")))
    }

    /// Checks a new report and saves it with its first execution.
    pub async fn create(&self, user: String, req: ReportRequest) -> Result<Report> {
        let name = required("ReportName", req.name.clone())?;
        let description = req.description.clone().unwrap_or_default();
        check_name_and_description("ReportName", &name, &description)?;
        let query_id = required("QueryId", req.query_id.clone())?;
        let (query_id, query_text, dataset) =
            report_query(self.store, self.tenant, &query_id).await?;
        check_restricted(&check_query(&query_text)?, !self.sees_restricted)?;
        let dataset = query::builtin().dataset(&dataset);
        let execute_now = req.execute_now.unwrap_or(false);
        let (schedule, query_start, query_end) = if execute_now {
            check_query_window(req.query_start, req.query_end)?;
            // StartTime, RecurrenceInterval and RecurrenceCount are ignored.
            let once = Schedule {
                start_time: self.now,
                recurrence_interval: 0,
                recurrence_count: Some(1),
                delivery: check_delivery(&req, self.rules).await?,
            };
            (once, req.query_start, req.query_end)
        } else {
            if req.query_start.is_some() || req.query_end.is_some() {
                return Err(ServiceError::invalid(
                    "QueryStartTime and QueryEndTime are only allowed with ExecuteNow=true",
                ));
            }
            let s = check_schedule(&req, dataset, self.rules, self.now).await?;
            (s, None, None)
        };
        let report = Report {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: self.tenant.to_string(),
            name,
            description,
            query_id,
            query_text,
            created_by: user,
            created_at: self.now,
            modified_at: None,
            execute_now,
            start_time: schedule.start_time,
            status: ReportStatus::Active,
            recurrence_interval: schedule.recurrence_interval,
            recurrence_count: schedule.recurrence_count,
            callback_url: schedule.delivery.callback_url,
            callback_method: schedule.delivery.callback_method,
            format: schedule.delivery.format,
            query_start,
            query_end,
            restricted_access: self.sees_restricted,
        };
        let first = NewExecution {
            id: uuid::Uuid::new_v4().to_string(),
            due_time: report.start_time,
        };
        self.store
            .create_report(&report, &[first], self.now)
            .await?;
        Ok(report)
    }

    /// Replaces a scheduled report's name, description, schedule and
    /// delivery; executions not started yet are re-planned.
    pub async fn update(&self, id: &str, req: ReportRequest) -> Result<Report> {
        let mut report = self.get(id).await?;
        if report.restricted_access && !self.sees_restricted {
            // Its files hold restricted values: a ReportViewer must not
            // reschedule them or send them elsewhere.
            return Err(ServiceError::forbidden(
                "This report runs with ExecutiveReportViewer rights (its files hold restricted values); only an ExecutiveReportViewer may update it",
            ));
        }
        if report.execute_now {
            return Err(ServiceError::invalid(
                "This report was created with ExecuteNow=true and runs once; create a scheduled report instead of updating it",
            ));
        }
        let name = required("ReportName", req.name.clone())?;
        let description = req.description.clone().unwrap_or_default();
        check_name_and_description("ReportName", &name, &description)?;
        let dataset = match system_query(&report.query_id) {
            Some(q) => Some(q.dataset.clone()),
            None => self
                .store
                .query(self.tenant, &report.query_id)
                .await?
                .map(|q| q.dataset),
        };
        let dataset = dataset.as_deref().and_then(|d| query::builtin().dataset(d));
        let s = check_schedule(&req, dataset, self.rules, self.now).await?;
        report.name = name;
        report.description = description;
        report.start_time = s.start_time;
        report.recurrence_interval = s.recurrence_interval;
        report.recurrence_count = s.recurrence_count;
        report.format = s.delivery.format;
        report.callback_url = s.delivery.callback_url;
        report.callback_method = s.delivery.callback_method;
        report.modified_at = Some(self.now);
        if report.status == ReportStatus::Inactive {
            report.status = ReportStatus::Active;
        }
        let replan = match report.status {
            ReportStatus::Active => vec![NewExecution {
                id: uuid::Uuid::new_v4().to_string(),
                due_time: report.start_time,
            }],
            _ => Vec::new(),
        };
        if !self
            .store
            .update_report(&report, Some(&replan), self.now)
            .await?
        {
            return Err(ServiceError::not_found(format!("Report '{id}' not found")));
        }
        Ok(report)
    }

    /// Pauses an Active report (others answer as they are).
    pub async fn pause(&self, id: &str) -> Result<Report> {
        let mut report = self.get(id).await?;
        if report.status == ReportStatus::Active {
            if self
                .store
                .pause_report(self.tenant, &report.id, self.now)
                .await?
            {
                report.status = ReportStatus::Paused;
                report.modified_at = Some(self.now);
            } else {
                // Changed meanwhile by another request: answer what is stored.
                report = self.get(id).await?;
            }
        }
        Ok(report)
    }

    /// Resumes a Paused report from its first slot at or after now (an
    /// ExecuteNow report runs now); true when an execution was planned.
    pub async fn resume(&self, id: &str) -> Result<(Report, bool)> {
        let mut report = self.get(id).await?;
        if report.status != ReportStatus::Paused {
            return Ok((report, false));
        }
        let next = if report.execute_now {
            Some(self.now)
        } else {
            scheduler::plan::first_from(&report, self.now)
        };
        let next = next.map(|due_time| NewExecution {
            id: uuid::Uuid::new_v4().to_string(),
            due_time,
        });
        if self
            .store
            .resume_report(self.tenant, &report.id, next.as_ref(), self.now)
            .await?
        {
            report.status = match next {
                Some(_) => ReportStatus::Active,
                None => ReportStatus::Inactive,
            };
            report.modified_at = Some(self.now);
            Ok((report, next.is_some()))
        } else {
            // Changed meanwhile by another request: answer what is stored.
            Ok((self.get(id).await?, false))
        }
    }

    /// Deletes a report with its executions; answers the report and the
    /// locations of its files (for the caller to remove).
    pub async fn delete(&self, id: &str) -> Result<(Report, Vec<String>)> {
        let (report, executions) = self
            .store
            .delete_report(self.tenant, id.trim())
            .await?
            .ok_or_else(|| ServiceError::not_found(format!("Report '{id}' not found")))?;
        let files = executions.into_iter().filter_map(|e| e.location).collect();
        Ok((report, files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap()
    }

    fn rules() -> Rules {
        Rules {
            min_start_lead: Duration::hours(4),
            allow_private_callbacks: false,
        }
    }

    fn scheduled() -> ReportRequest {
        ReportRequest {
            name: Some("Weekly".into()),
            query_id: Some("q".into()),
            start_time: Some(now() + Duration::hours(5)),
            recurrence_interval: Some(24),
            ..ReportRequest::default()
        }
    }

    fn invalid(r: Result<impl std::fmt::Debug>) -> String {
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

    #[tokio::test]
    async fn a_report_lives_through_create_pause_resume_update_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("metadata.db"))
            .await
            .unwrap();
        store
            .create_tenant(&store::Tenant {
                id: "t1".into(),
                name: "t1".into(),
                domains: vec![],
                created_at: now(),
            })
            .await
            .unwrap();
        let system = query::builtin().system_queries()[0].query_id.clone();
        let rules = rules();
        let at = |now| Reports {
            store: &store,
            rules: &rules,
            tenant: "t1",
            now,
            sees_restricted: true,
        };
        let mut req = scheduled();
        req.query_id = Some("not-a-query".into());
        assert_eq!(
            invalid(at(now()).create("u".into(), req.clone()).await),
            "Invalid QueryId"
        );
        req.query_id = Some(system.clone());
        let r = at(now()).create("u".into(), req.clone()).await.unwrap();
        assert_eq!(r.status, ReportStatus::Active);
        assert_eq!(r.start_time, now() + Duration::hours(5));
        // Another tenant sees nothing.
        let other = Reports {
            tenant: "t2",
            ..at(now())
        };
        assert!(matches!(
            other.pause(&r.id).await,
            Err(ServiceError::NotFound(_))
        ));
        let paused = at(now()).pause(&r.id).await.unwrap();
        assert_eq!(paused.status, ReportStatus::Paused);
        // Resumed two days later: the first slot at or after then.
        let later = now() + Duration::days(2);
        let (resumed, planned) = at(later).resume(&r.id).await.unwrap();
        assert!(planned);
        assert_eq!(resumed.status, ReportStatus::Active);
        let next = store.next_due().await.unwrap().unwrap();
        assert!(
            next >= later && next < later + Duration::hours(24),
            "{next}"
        );
        // An update needs the same schedule rules.
        let mut change = scheduled();
        change.start_time = Some(later);
        assert!(invalid(at(later).update(&r.id, change.clone()).await).contains("StartTime"));
        change.start_time = Some(later + Duration::hours(6));
        change.name = Some("Renamed".into());
        let updated = at(later).update(&r.id, change).await.unwrap();
        assert_eq!(updated.name, "Renamed");
        assert_eq!(
            store.next_due().await.unwrap(),
            Some(later + Duration::hours(6))
        );
        let (deleted, files) = at(later).delete(&r.id).await.unwrap();
        assert_eq!(deleted.id, r.id);
        assert!(files.is_empty());
        assert!(matches!(
            at(later).get(&r.id).await,
            Err(ServiceError::NotFound(_))
        ));
    }
}
