//! Saved queries, reports and their executions, always scoped by tenant:
//! every read and write names the tenant, so a row of another tenant is
//! indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::executions::{
    Execution, NewExecution, execution_columns, execution_of, insert_executions,
};
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
}
