//! A report's executions: their states, planning them and listing them,
//! scoped by tenant like the rest of the store.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, from_opt_secs, from_secs, to_secs};

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

macro_rules! execution_columns {
    () => {
        "id, tenant_id, report_id, seq, status, due_time, created_at, \
     started_time, generated_time, expiry_time, location, row_count, byte_count, sha256, \
     failure_reason, attempts"
    };
}
pub(crate) use execution_columns;

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
