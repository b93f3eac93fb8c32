//! The scheduler's side of the store: claiming due executions under a
//! lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer lock on
//! SQLite), renewing it, finishing an execution with one conditional update
//! (so it completes at most once even when two workers race) together with
//! planning the report's next execution and queueing its callback, and the
//! durable callback deliveries. Due times use the service clock; leases use
//! wall time, since they measure whether a process is alive.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::executions::{execution_columns, execution_of, insert_executions};
use crate::{
    Backend, CallbackMethod, Execution, NewExecution, Result, Store, from_opt_secs, from_secs,
    to_secs,
};

/// How an execution ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed {
        generated_time: DateTime<Utc>,
        expiry_time: DateTime<Utc>,
        location: String,
        row_count: i64,
        byte_count: i64,
        sha256: String,
    },
    /// Failed for now; runnable again at `retry_at` (service time).
    Retry {
        reason: String,
        retry_at: DateTime<Utc>,
    },
    Failed {
        reason: String,
    },
}

/// A callback to deliver, queued with the completion that causes it.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub url: String,
    pub method: CallbackMethod,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub tenant_id: String,
    pub report_id: String,
    pub execution_id: String,
    pub url: String,
    pub method: CallbackMethod,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

// Two claims, each served by its own index: due Pending executions
// (`executions_due`) and Running ones whose lease expired
// (`executions_lease`). One OR-ed condition would scan the table.
macro_rules! due {
    () => {
        "status = 'Pending' AND due_time <= $3 AND (not_before IS NULL OR not_before <= $3)"
    };
}
macro_rules! expired {
    () => {
        "status = 'Running' AND lease_until < $4"
    };
}
macro_rules! claim {
    ($cond:tt, $order:literal, $lock:literal) => {
        concat!(
            "UPDATE executions SET status = 'Running', lease_owner = $1, lease_until = $2, \
             started_time = $3, attempts = attempts + 1 WHERE id = (SELECT id FROM executions WHERE ",
            $cond!(),
            " ORDER BY ",
            $order,
            " LIMIT 1",
            $lock,
            ") AND ",
            $cond!(),
            " RETURNING ",
            execution_columns!()
        )
    };
}

const CLAIM_DUE_SQLITE: &str = claim!(due, "due_time, seq", "");
const CLAIM_DUE_POSTGRES: &str = claim!(due, "due_time, seq", " FOR UPDATE SKIP LOCKED");
const CLAIM_EXPIRED_SQLITE: &str = claim!(expired, "lease_until", "");
const CLAIM_EXPIRED_POSTGRES: &str = claim!(expired, "lease_until", " FOR UPDATE SKIP LOCKED");

macro_rules! delivery_columns {
    () => {
        "id, tenant_id, report_id, execution_id, url, method, body, status, attempts, \
         next_attempt_at, last_error, created_at"
    };
}

const CLAIM_DELIVERY_SQLITE: &str = concat!(
    "UPDATE deliveries SET lease_until = $1, attempts = attempts + 1 WHERE id = (SELECT id FROM \
     deliveries WHERE status = 'Pending' AND next_attempt_at <= $2 AND \
     (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at LIMIT 1) \
     AND status = 'Pending' AND (lease_until IS NULL OR lease_until < $3) RETURNING ",
    delivery_columns!()
);

const CLAIM_DELIVERY_POSTGRES: &str = concat!(
    "UPDATE deliveries SET lease_until = $1, attempts = attempts + 1 WHERE id = (SELECT id FROM \
     deliveries WHERE status = 'Pending' AND next_attempt_at <= $2 AND \
     (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at LIMIT 1 \
     FOR UPDATE SKIP LOCKED) AND status = 'Pending' AND (lease_until IS NULL OR lease_until < $3) \
     RETURNING ",
    delivery_columns!()
);

fn delivery_of(row: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        report_id: row.try_get("report_id")?,
        execution_id: row.try_get("execution_id")?,
        url: row.try_get("url")?,
        method: {
            let m: String = row.try_get("method")?;
            CallbackMethod::parse(&m)
                .ok_or_else(|| crate::StoreError::Corrupt(format!("callback method '{m}'")))?
        },
        body: row.try_get("body")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: from_secs(row.try_get("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        created_at: from_secs(row.try_get("created_at")?)?,
    })
}

impl Store {
    /// Claims the most overdue runnable execution for `owner` until
    /// `lease_until` (wall time): a due Pending one, or a Running one whose
    /// lease expired (its process died).
    pub async fn claim_execution(
        &self,
        owner: &str,
        service_now: DateTime<Utc>,
        wall_now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Execution>> {
        let claims = match self.backend() {
            Backend::Sqlite => [CLAIM_DUE_SQLITE, CLAIM_EXPIRED_SQLITE],
            Backend::Postgres => [CLAIM_DUE_POSTGRES, CLAIM_EXPIRED_POSTGRES],
        };
        for (i, sql) in claims.into_iter().enumerate() {
            let query = sqlx::query(sql)
                .bind(owner)
                .bind(to_secs(lease_until))
                .bind(to_secs(service_now));
            // Only the expired-lease claim compares with wall time ($4).
            let query = if i == 1 {
                query.bind(to_secs(wall_now))
            } else {
                query
            };
            // fetch_all, not fetch_optional: SQLite commits an UPDATE ...
            // RETURNING only when the statement has run to its end.
            let row = query.fetch_all(self.pool()).await?.into_iter().next();
            if let Some(row) = row {
                return execution_of(&row).map(Some);
            }
        }
        Ok(None)
    }

    /// Extends a lease; false when the execution is no longer ours.
    pub async fn renew_lease(
        &self,
        id: &str,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE executions SET lease_until = $1 WHERE id = $2 AND status = 'Running' \
             AND lease_owner = $3",
        )
        .bind(to_secs(lease_until))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends a Running execution held by `owner` in one transaction: the
    /// conditional status update (false, and nothing changed, when the
    /// execution is no longer ours), then — unless it is retried — the
    /// report's next execution (or Inactive when `next` is `None`) and the
    /// callback delivery.
    pub async fn finish_execution(
        &self,
        execution: &Execution,
        owner: &str,
        outcome: &Outcome,
        next: Option<&NewExecution>,
        delivery: Option<&NewDelivery>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = match outcome {
            Outcome::Completed {
                generated_time,
                expiry_time,
                location,
                row_count,
                byte_count,
                sha256,
            } => {
                sqlx::query(
                    "UPDATE executions SET status = 'Completed', generated_time = $1, \
                     expiry_time = $2, location = $3, row_count = $4, byte_count = $5, sha256 = $6, \
                     failure_reason = NULL, lease_owner = NULL, lease_until = NULL \
                     WHERE id = $7 AND status = 'Running' AND lease_owner = $8",
                )
                .bind(to_secs(*generated_time))
                .bind(to_secs(*expiry_time))
                .bind(location)
                .bind(*row_count)
                .bind(*byte_count)
                .bind(sha256)
                .bind(&execution.id)
                .bind(owner)
                .execute(&mut *tx)
                .await?
            }
            Outcome::Retry { reason, retry_at } => {
                sqlx::query(
                    "UPDATE executions SET status = 'Pending', not_before = $1, failure_reason = $2, \
                     lease_owner = NULL, lease_until = NULL \
                     WHERE id = $3 AND status = 'Running' AND lease_owner = $4",
                )
                .bind(to_secs(*retry_at))
                .bind(reason)
                .bind(&execution.id)
                .bind(owner)
                .execute(&mut *tx)
                .await?
            }
            Outcome::Failed { reason } => {
                sqlx::query(
                    "UPDATE executions SET status = 'Failed', failure_reason = $1, \
                     lease_owner = NULL, lease_until = NULL \
                     WHERE id = $2 AND status = 'Running' AND lease_owner = $3",
                )
                .bind(reason)
                .bind(&execution.id)
                .bind(owner)
                .execute(&mut *tx)
                .await?
            }
        };
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if !matches!(outcome, Outcome::Retry { .. }) {
            let status: Option<String> = sqlx::query("SELECT status FROM reports WHERE id = $1")
                .bind(&execution.report_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("status"))
                .transpose()?;
            if status.as_deref() == Some("Active") {
                match next {
                    Some(next) => {
                        insert_executions(
                            &mut tx,
                            &execution.tenant_id,
                            &execution.report_id,
                            std::slice::from_ref(next),
                            now,
                        )
                        .await?
                    }
                    None => {
                        sqlx::query("UPDATE reports SET status = 'Inactive' WHERE id = $1")
                            .bind(&execution.report_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            if let Some(d) = delivery {
                sqlx::query(
                    "INSERT INTO deliveries (id, tenant_id, report_id, execution_id, url, method, \
                     body, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'Pending', 0, $8, $9)",
                )
                .bind(&d.id)
                .bind(&execution.tenant_id)
                .bind(&execution.report_id)
                .bind(&execution.id)
                .bind(&d.url)
                .bind(d.method.as_str())
                .bind(&d.body)
                .bind(to_secs(now))
                .bind(to_secs(now))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// When the scheduler next has something to do (service time): the
    /// earliest Pending due time. `None` when nothing is planned.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let row =
            sqlx::query("SELECT MIN(due_time) AS due FROM executions WHERE status = 'Pending'")
                .fetch_one(self.pool())
                .await?;
        from_opt_secs(row.try_get("due")?)
    }

    /// How many executions are due and waiting (Pending, due at or before
    /// `now`, service time): the scheduler's backlog.
    pub async fn executions_waiting(&self, now: DateTime<Utc>) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM executions WHERE status = 'Pending' AND due_time <= $1",
        )
        .bind(to_secs(now))
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Any execution of any tenant by id (the download endpoint's signed
    /// link names only the execution).
    pub async fn execution_by_id(&self, id: &str) -> Result<Option<Execution>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            execution_columns!(),
            " FROM executions WHERE id = $1"
        ))
        .bind(id.to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(execution_of).transpose()
    }

    // ----- deliveries ----------------------------------------------------------

    pub async fn claim_delivery(
        &self,
        service_now: DateTime<Utc>,
        wall_now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Delivery>> {
        let sql = match self.backend() {
            Backend::Sqlite => CLAIM_DELIVERY_SQLITE,
            Backend::Postgres => CLAIM_DELIVERY_POSTGRES,
        };
        let row = sqlx::query(sql)
            .bind(to_secs(lease_until))
            .bind(to_secs(service_now))
            .bind(to_secs(wall_now))
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .next();
        row.as_ref().map(delivery_of).transpose()
    }

    /// Records a delivery attempt: delivered, retried at `retry_at`, or
    /// given up (`retry_at` = None with an error).
    pub async fn finish_delivery(
        &self,
        id: &str,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let status = match (error, retry_at) {
            (None, _) => "Delivered",
            (Some(_), Some(_)) => "Pending",
            (Some(_), None) => "Failed",
        };
        sqlx::query(
            "UPDATE deliveries SET status = $1, last_error = $2, next_attempt_at = \
             COALESCE($3, next_attempt_at), lease_until = NULL WHERE id = $4",
        )
        .bind(status)
        .bind(error)
        .bind(retry_at.map(to_secs))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The callback deliveries of one of a tenant's reports, newest first,
    /// at most `limit`.
    pub async fn report_deliveries(
        &self,
        tenant: &str,
        report_id: &str,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE tenant_id = $1 AND report_id = $2 \
             ORDER BY created_at DESC, id LIMIT $3"
        ))
        .bind(tenant)
        .bind(report_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(delivery_of).collect()
    }

    pub async fn deliveries(&self, execution_id: &str) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE execution_id = $1"
        ))
        .bind(execution_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(delivery_of).collect()
    }
}
