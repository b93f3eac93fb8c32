//! Saved queries, reports and their executions, always scoped by tenant:
//! every read and write names the tenant, so a row of another tenant is
//! indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, from_opt_secs, from_secs, to_secs};

/// A user-defined query of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredQuery {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub text: String,
    /// The canonical dataset name the query reads.
    pub dataset: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Active,
    Paused,
    Inactive,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Active => "Active",
            ReportStatus::Paused => "Paused",
            ReportStatus::Inactive => "Inactive",
        }
    }

    fn parse(s: &str) -> Result<ReportStatus> {
        match s {
            "Active" => Ok(ReportStatus::Active),
            "Paused" => Ok(ReportStatus::Paused),
            "Inactive" => Ok(ReportStatus::Inactive),
            other => Err(StoreError::Corrupt(format!("report status '{other}'"))),
        }
    }
}

/// A scheduled or one-off report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub query_id: String,
    pub query_text: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: Option<DateTime<Utc>>,
    pub execute_now: bool,
    pub start_time: DateTime<Utc>,
    pub status: ReportStatus,
    /// Hours; 0 for ExecuteNow reports.
    pub recurrence_interval: i64,
    /// `None` = unbounded.
    pub recurrence_count: Option<i64>,
    pub callback_url: Option<String>,
    pub callback_method: CallbackMethod,
    pub format: ReportFormat,
    pub query_start: Option<DateTime<Utc>>,
    pub query_end: Option<DateTime<Utc>>,
    /// The report may see restricted values: its creator could when it was
    /// made (re-checked at every run). Otherwise its files hold them
    /// redacted and its query may not filter or sort on them.
    pub restricted_access: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    Pending,
    Running,
    Paused,
    Completed,
    Failed,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 5] = [
        ExecutionStatus::Pending,
        ExecutionStatus::Running,
        ExecutionStatus::Paused,
        ExecutionStatus::Completed,
        ExecutionStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "Pending",
            ExecutionStatus::Running => "Running",
            ExecutionStatus::Paused => "Paused",
            ExecutionStatus::Completed => "Completed",
            ExecutionStatus::Failed => "Failed",
        }
    }

    /// Parses a status name in any case.
    pub fn parse(s: &str) -> Option<ExecutionStatus> {
        ExecutionStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

/// The report file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportFormat {
    Csv,
    Tsv,
}

impl ReportFormat {
    /// As stored and answered: `csv`, `tsv`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Tsv => "tsv",
        }
    }

    /// `CSV` or `TSV` in any case.
    pub fn parse(s: &str) -> Option<ReportFormat> {
        [ReportFormat::Csv, ReportFormat::Tsv]
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// How a completion callback is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackMethod {
    Get,
    Post,
}

impl CallbackMethod {
    /// As stored and answered: `GET`, `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackMethod::Get => "GET",
            CallbackMethod::Post => "POST",
        }
    }

    /// `GET` or `POST` in any case.
    pub fn parse(s: &str) -> Option<CallbackMethod> {
        [CallbackMethod::Get, CallbackMethod::Post]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// One run of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub id: String,
    pub tenant_id: String,
    pub report_id: String,
    /// Order of creation within the report (0, 1, ...).
    pub seq: i64,
    pub status: ExecutionStatus,
    pub due_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_time: Option<DateTime<Utc>>,
    pub generated_time: Option<DateTime<Utc>>,
    pub expiry_time: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub row_count: Option<i64>,
    pub byte_count: Option<i64>,
    pub sha256: Option<String>,
    pub failure_reason: Option<String>,
    pub attempts: i64,
}

/// An execution to plan.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub id: String,
    pub due_time: DateTime<Utc>,
}

/// Which executions to list; empty lists match everything.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub report_ids: Vec<String>,
    pub execution_ids: Vec<String>,
    pub statuses: Vec<ExecutionStatus>,
    /// Only executions due at or after this instant.
    pub due_since: Option<DateTime<Utc>>,
}

macro_rules! query_columns {
    () => {
        "id, tenant_id, name, description, query_text, dataset, created_by, created_at"
    };
}
macro_rules! report_columns {
    () => {
        "id, tenant_id, name, description, query_id, query_text, created_by, \
     created_at, modified_at, execute_now, start_time, status, recurrence_interval, \
     recurrence_count, callback_url, callback_method, format, query_start, query_end, \
     restricted_access"
    };
}
macro_rules! execution_columns {
    () => {
        "id, tenant_id, report_id, seq, status, due_time, created_at, \
     started_time, generated_time, expiry_time, location, row_count, byte_count, sha256, \
     failure_reason, attempts"
    };
}
pub(crate) use execution_columns;

fn query_of(row: &AnyRow) -> Result<StoredQuery> {
    Ok(StoredQuery {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        text: row.try_get("query_text")?,
        dataset: row.try_get("dataset")?,
        created_by: row.try_get("created_by")?,
        created_at: from_secs(row.try_get("created_at")?)?,
    })
}

fn report_of(row: &AnyRow) -> Result<Report> {
    Ok(Report {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        query_id: row.try_get("query_id")?,
        query_text: row.try_get("query_text")?,
        created_by: row.try_get("created_by")?,
        created_at: from_secs(row.try_get("created_at")?)?,
        modified_at: from_opt_secs(row.try_get("modified_at")?)?,
        execute_now: row.try_get::<i64, _>("execute_now")? != 0,
        start_time: from_secs(row.try_get("start_time")?)?,
        status: ReportStatus::parse(&row.try_get::<String, _>("status")?)?,
        recurrence_interval: row.try_get("recurrence_interval")?,
        recurrence_count: row.try_get("recurrence_count")?,
        callback_url: row.try_get("callback_url")?,
        callback_method: {
            let m: String = row.try_get("callback_method")?;
            CallbackMethod::parse(&m)
                .ok_or_else(|| StoreError::Corrupt(format!("callback method '{m}'")))?
        },
        format: {
            let f: String = row.try_get("format")?;
            ReportFormat::parse(&f)
                .ok_or_else(|| StoreError::Corrupt(format!("report format '{f}'")))?
        },
        query_start: from_opt_secs(row.try_get("query_start")?)?,
        query_end: from_opt_secs(row.try_get("query_end")?)?,
        restricted_access: row.try_get::<i64, _>("restricted_access")? != 0,
    })
}

pub(crate) fn execution_of(row: &AnyRow) -> Result<Execution> {
    let status: String = row.try_get("status")?;
    Ok(Execution {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        report_id: row.try_get("report_id")?,
        seq: row.try_get("seq")?,
        status: ExecutionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("execution status '{status}'")))?,
        due_time: from_secs(row.try_get("due_time")?)?,
        created_at: from_secs(row.try_get("created_at")?)?,
        started_time: from_opt_secs(row.try_get("started_time")?)?,
        generated_time: from_opt_secs(row.try_get("generated_time")?)?,
        expiry_time: from_opt_secs(row.try_get("expiry_time")?)?,
        location: row.try_get("location")?,
        row_count: row.try_get("row_count")?,
        byte_count: row.try_get("byte_count")?,
        sha256: row.try_get("sha256")?,
        failure_reason: row.try_get("failure_reason")?,
        attempts: row.try_get("attempts")?,
    })
}

pub(crate) async fn insert_executions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    report_id: &str,
    executions: &[NewExecution],
    now: DateTime<Utc>,
) -> Result<()> {
    if executions.is_empty() {
        return Ok(());
    }
    let next: Option<i64> =
        sqlx::query("SELECT MAX(seq) AS seq FROM executions WHERE report_id = $1")
            .bind(report_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("seq")?;
    for (seq, e) in (next.map_or(0, |s| s + 1)..).zip(executions) {
        sqlx::query(
            "INSERT INTO executions (id, tenant_id, report_id, seq, status, due_time, created_at, \
             attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
        )
        .bind(&e.id)
        .bind(tenant_id)
        .bind(report_id)
        .bind(seq)
        .bind(ExecutionStatus::Pending.as_str())
        .bind(to_secs(e.due_time))
        .bind(to_secs(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    // ----- queries ---------------------------------------------------------

    pub async fn create_query(&self, q: &StoredQuery) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO queries (",
            query_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&q.id)
        .bind(&q.tenant_id)
        .bind(&q.name)
        .bind(&q.description)
        .bind(&q.text)
        .bind(&q.dataset)
        .bind(&q.created_by)
        .bind(to_secs(q.created_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The tenant's queries, oldest first.
    pub async fn queries(&self, tenant_id: &str) -> Result<Vec<StoredQuery>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            query_columns!(),
            " FROM queries WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(query_of).collect()
    }

    pub async fn query(&self, tenant_id: &str, id: &str) -> Result<Option<StoredQuery>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            query_columns!(),
            " FROM queries WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id.to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(query_of).transpose()
    }

    /// Deletes a query unless an Active or Paused report uses it (then
    /// `Conflict` naming those reports). `None` when it does not exist.
    pub async fn delete_query(&self, tenant_id: &str, id: &str) -> Result<Option<StoredQuery>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            query_columns!(),
            " FROM queries WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id.to_lowercase())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let query = query_of(&row)?;
        let users = sqlx::query(
            "SELECT id, name FROM reports WHERE tenant_id = $1 AND query_id = $2 \
             AND status IN ('Active', 'Paused') ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .bind(&query.id)
        .fetch_all(&mut *tx)
        .await?;
        if !users.is_empty() {
            let mut names = Vec::new();
            for r in &users {
                let id: String = r.try_get("id")?;
                let name: String = r.try_get("name")?;
                names.push(format!("'{name}' ({id})"));
            }
            return Err(StoreError::Conflict {
                what: format!(
                    "Query {} is used by active or paused reports: {}. Delete or finish those reports first",
                    query.id,
                    names.join(", ")
                ),
            });
        }
        sqlx::query("DELETE FROM queries WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(&query.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(query))
    }

    // ----- reports -----------------------------------------------------------

    /// Creates a report together with its first planned executions.
    pub async fn create_report(
        &self,
        r: &Report,
        executions: &[NewExecution],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(concat!(
            "INSERT INTO reports (",
            report_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        ))
        .bind(&r.id)
        .bind(&r.tenant_id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(&r.query_id)
        .bind(&r.query_text)
        .bind(&r.created_by)
        .bind(to_secs(r.created_at))
        .bind(r.modified_at.map(to_secs))
        .bind(i64::from(r.execute_now))
        .bind(to_secs(r.start_time))
        .bind(r.status.as_str())
        .bind(r.recurrence_interval)
        .bind(r.recurrence_count)
        .bind(r.callback_url.as_deref())
        .bind(r.callback_method.as_str())
        .bind(r.format.as_str())
        .bind(r.query_start.map(to_secs))
        .bind(r.query_end.map(to_secs))
        .bind(i64::from(r.restricted_access))
        .execute(&mut *tx)
        .await?;
        insert_executions(&mut tx, &r.tenant_id, &r.id, executions, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's reports, oldest first.
    pub async fn reports(&self, tenant_id: &str) -> Result<Vec<Report>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(report_of).collect()
    }

    pub async fn report(&self, tenant_id: &str, id: &str) -> Result<Option<Report>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id.to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(report_of).transpose()
    }

    /// Replaces a report's editable fields and status; its Pending
    /// executions are replaced by `replan` (finished ones are kept).
    pub async fn update_report(
        &self,
        r: &Report,
        replan: Option<&[NewExecution]>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE reports SET name = $1, description = $2, modified_at = $3, start_time = $4, \
             status = $5, recurrence_interval = $6, recurrence_count = $7, callback_url = $8, \
             callback_method = $9, format = $10 WHERE tenant_id = $11 AND id = $12",
        )
        .bind(&r.name)
        .bind(&r.description)
        .bind(r.modified_at.map(to_secs))
        .bind(to_secs(r.start_time))
        .bind(r.status.as_str())
        .bind(r.recurrence_interval)
        .bind(r.recurrence_count)
        .bind(r.callback_url.as_deref())
        .bind(r.callback_method.as_str())
        .bind(r.format.as_str())
        .bind(&r.tenant_id)
        .bind(&r.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(replan) = replan {
            sqlx::query("DELETE FROM executions WHERE report_id = $1 AND status = 'Pending'")
                .bind(&r.id)
                .execute(&mut *tx)
                .await?;
            insert_executions(&mut tx, &r.tenant_id, &r.id, replan, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a report and its executions; returns the report and the
    /// executions it had (their files are the caller's to remove).
    pub async fn delete_report(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<(Report, Vec<Execution>)>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            report_columns!(),
            " FROM reports WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id.to_lowercase())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let report = report_of(&row)?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            execution_columns!(),
            " FROM executions WHERE report_id = $1"
        ))
        .bind(&report.id)
        .fetch_all(&mut *tx)
        .await?;
        let executions = rows.iter().map(execution_of).collect::<Result<Vec<_>>>()?;
        sqlx::query("DELETE FROM executions WHERE report_id = $1")
            .bind(&report.id)
            .execute(&mut *tx)
            .await?;
        // Pending callback deliveries (and their retries) go with it.
        sqlx::query("DELETE FROM deliveries WHERE report_id = $1")
            .bind(&report.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM reports WHERE id = $1")
            .bind(&report.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some((report, executions)))
    }

    /// Pauses an Active report: its Pending executions become Paused.
    /// False when the report does not exist in the tenant.
    pub async fn pause_report(
        &self,
        tenant_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE reports SET status = 'Paused', modified_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND status = 'Active'",
        )
        .bind(to_secs(now))
        .bind(tenant_id)
        .bind(id.to_lowercase())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            sqlx::query(
                "UPDATE executions SET status = 'Paused' WHERE report_id = $1 AND status = 'Pending'",
            )
            .bind(id.to_lowercase())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Resumes a Paused report: its Paused executions are dropped (missed
    /// slots are not back-filled) and `next` is planned; the status becomes
    /// Active, or Inactive when no slot is left.
    pub async fn resume_report(
        &self,
        tenant_id: &str,
        id: &str,
        next: Option<&NewExecution>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let status = if next.is_some() { "Active" } else { "Inactive" };
        let done = sqlx::query(
            "UPDATE reports SET status = $1, modified_at = $2 \
             WHERE tenant_id = $3 AND id = $4 AND status = 'Paused'",
        )
        .bind(status)
        .bind(to_secs(now))
        .bind(tenant_id)
        .bind(id.to_lowercase())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            sqlx::query("DELETE FROM executions WHERE report_id = $1 AND status = 'Paused'")
                .bind(id.to_lowercase())
                .execute(&mut *tx)
                .await?;
            if let Some(next) = next {
                insert_executions(
                    &mut tx,
                    tenant_id,
                    &id.to_lowercase(),
                    std::slice::from_ref(next),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    // ----- executions ----------------------------------------------------------

    /// The tenant's executions matching `filter`, newest first (by due time,
    /// then creation order).
    pub async fn executions(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<Vec<Execution>> {
        let mut out = Vec::new();
        let since = filter.due_since.map_or(i64::MIN, to_secs);
        let report_ids: Vec<Option<&str>> = if filter.report_ids.is_empty() {
            vec![None]
        } else {
            filter.report_ids.iter().map(|r| Some(r.as_str())).collect()
        };
        for report_id in report_ids {
            let rows = match report_id {
                Some(report_id) => {
                    sqlx::query(concat!(
                        "SELECT ",
                        execution_columns!(),
                        " FROM executions WHERE tenant_id = $1 \
                         AND report_id = $2 AND due_time >= $3"
                    ))
                    .bind(tenant_id)
                    .bind(report_id.to_lowercase())
                    .bind(since)
                    .fetch_all(self.pool())
                    .await?
                }
                None => {
                    sqlx::query(concat!(
                        "SELECT ",
                        execution_columns!(),
                        " FROM executions WHERE tenant_id = $1 \
                         AND due_time >= $2"
                    ))
                    .bind(tenant_id)
                    .bind(since)
                    .fetch_all(self.pool())
                    .await?
                }
            };
            for row in &rows {
                let e = execution_of(row)?;
                let id_ok = filter.execution_ids.is_empty()
                    || filter
                        .execution_ids
                        .iter()
                        .any(|id| id.eq_ignore_ascii_case(&e.id));
                let status_ok = filter.statuses.is_empty() || filter.statuses.contains(&e.status);
                if id_ok && status_ok && !out.iter().any(|o: &Execution| o.id == e.id) {
                    out.push(e);
                }
            }
        }
        out.sort_by(|a, b| {
            b.due_time
                .cmp(&a.due_time)
                .then(b.seq.cmp(&a.seq))
                .then(b.created_at.cmp(&a.created_at))
        });
        Ok(out)
    }

    /// Adds executions to a report (the scheduler plans the next slot).
    pub async fn plan_executions(
        &self,
        tenant_id: &str,
        report_id: &str,
        executions: &[NewExecution],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_executions(&mut tx, tenant_id, report_id, executions, now).await?;
        tx.commit().await?;
        Ok(())
    }
}
