//! The Insights API's report lifecycle, apart from HTTP: create with its
//! first execution, update re-planning what has not started, pause,
//! resume from the first slot at or after now, delete with its files
//! (the body's rules are in `report_rules`). Every store call names the
//! caller's tenant.

use chrono::{DateTime, Utc};
use query::Catalog;
use store::{NewExecution, Report, ReportStatus, Store};

use crate::service::queries::{
    check_name_and_description, check_query, check_restricted, required, system_query,
};
use crate::service::report_rules::{
    ReportRequest, Rules, Schedule, check_delivery, check_query_window, check_schedule,
};
use crate::service::{Result, ServiceError};

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
    use crate::service::report_rules::tests::{invalid, now, rules, scheduled};
    use chrono::Duration;

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
