//! A tenant's reporting state as plain rows — its saved queries, reports,
//! executions and callback deliveries, every column as stored — read out
//! for a snapshot and written back exactly (ids, times and statuses
//! included) on restore, or cleared on reset. Each table's SQL is a
//! literal; values are only ever bound.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store};

/// One stored value: the schema has only TEXT and BIGINT columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// The rows of the four tables, in column order of each SELECT below.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantRows {
    pub queries: Vec<Vec<Cell>>,
    pub reports: Vec<Vec<Cell>>,
    pub executions: Vec<Vec<Cell>>,
    pub deliveries: Vec<Vec<Cell>>,
}

/// A table's rows, each a list of cells in SELECT order.
type Table = Vec<Vec<Cell>>;

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
}
use Kind::{Int, Text};

const QUERY_KINDS: &[Kind] = &[Text, Text, Text, Text, Text, Text, Text, Int];
const SELECT_QUERIES: &str = "SELECT id, tenant_id, name, description, query_text, dataset, created_by, created_at \
     FROM queries WHERE tenant_id = $1 ORDER BY id";
const INSERT_QUERY: &str = "INSERT INTO queries (id, tenant_id, name, description, query_text, dataset, created_by, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

const REPORT_KINDS: &[Kind] = &[
    Text, Text, Text, Text, Text, Text, Text, Int, Int, Int, Int, Text, Int, Int, Text, Text, Text,
    Int, Int, Int,
];
const SELECT_REPORTS: &str = "SELECT id, tenant_id, name, description, query_id, query_text, created_by, created_at, \
     modified_at, execute_now, start_time, status, recurrence_interval, recurrence_count, callback_url, \
     callback_method, format, query_start, query_end, restricted_access \
     FROM reports WHERE tenant_id = $1 ORDER BY id";
const INSERT_REPORT: &str = "INSERT INTO reports (id, tenant_id, name, description, query_id, query_text, created_by, \
     created_at, modified_at, execute_now, start_time, status, recurrence_interval, recurrence_count, \
     callback_url, callback_method, format, query_start, query_end, restricted_access) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)";

const EXECUTION_KINDS: &[Kind] = &[
    Text, Text, Text, Int, Text, Int, Int, Int, Int, Int, Text, Int, Int, Text, Text, Int, Text,
    Int, Int,
];
const SELECT_EXECUTIONS: &str = "SELECT id, tenant_id, report_id, seq, status, due_time, created_at, started_time, \
     generated_time, expiry_time, location, row_count, byte_count, sha256, failure_reason, attempts, \
     lease_owner, lease_until, not_before \
     FROM executions WHERE tenant_id = $1 ORDER BY id";
const INSERT_EXECUTION: &str = "INSERT INTO executions (id, tenant_id, report_id, seq, status, due_time, created_at, \
     started_time, generated_time, expiry_time, location, row_count, byte_count, sha256, failure_reason, \
     attempts, lease_owner, lease_until, not_before) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";

const DELIVERY_KINDS: &[Kind] = &[
    Text, Text, Text, Text, Text, Text, Text, Text, Int, Int, Int, Text, Int,
];
const SELECT_DELIVERIES: &str = "SELECT id, tenant_id, report_id, execution_id, url, method, body, status, attempts, \
     next_attempt_at, lease_until, last_error, created_at \
     FROM deliveries WHERE tenant_id = $1 ORDER BY id";
const INSERT_DELIVERY: &str = "INSERT INTO deliveries (id, tenant_id, report_id, execution_id, url, method, body, \
     status, attempts, next_attempt_at, lease_until, last_error, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

fn cells(row: &AnyRow, kinds: &[Kind]) -> Result<Vec<Cell>> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            Ok(match kind {
                Text => row
                    .try_get::<Option<String>, _>(i)?
                    .map_or(Cell::Null, Cell::Text),
                Int => row
                    .try_get::<Option<i64>, _>(i)?
                    .map_or(Cell::Null, Cell::Int),
            })
        })
        .collect()
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    row: &'q [Cell],
    kinds: &[Kind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for (cell, kind) in row.iter().zip(kinds) {
        query = match (cell, kind) {
            (Cell::Text(t), _) => query.bind(t.as_str()),
            (Cell::Int(n), _) => query.bind(*n),
            (Cell::Null, Text) => query.bind(None::<String>),
            (Cell::Null, Int) => query.bind(None::<i64>),
        };
    }
    query
}

impl Store {
    /// Every query, report, execution and delivery row of a tenant.
    pub async fn tenant_rows(&self, tenant_id: &str) -> Result<TenantRows> {
        let mut tx = self.pool().begin().await?;
        let read = |sql: &'static str| sqlx::query(sql).bind(tenant_id.to_string());
        let queries = read(SELECT_QUERIES).fetch_all(&mut *tx).await?;
        let reports = read(SELECT_REPORTS).fetch_all(&mut *tx).await?;
        let executions = read(SELECT_EXECUTIONS).fetch_all(&mut *tx).await?;
        let deliveries = read(SELECT_DELIVERIES).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let all = |rows: Vec<AnyRow>, kinds: &[Kind]| -> Result<Vec<Vec<Cell>>> {
            rows.iter().map(|r| cells(r, kinds)).collect()
        };
        Ok(TenantRows {
            queries: all(queries, QUERY_KINDS)?,
            reports: all(reports, REPORT_KINDS)?,
            executions: all(executions, EXECUTION_KINDS)?,
            deliveries: all(deliveries, DELIVERY_KINDS)?,
        })
    }

    /// Replaces a tenant's queries, reports, executions and deliveries by
    /// `rows` (none: a reset), in one transaction. Rows of another tenant
    /// are refused.
    pub async fn replace_tenant_rows(&self, tenant_id: &str, rows: &TenantRows) -> Result<()> {
        let own = |row: &[Cell]| matches!(row.get(1), Some(Cell::Text(t)) if t == tenant_id);
        let every = [
            &rows.queries,
            &rows.reports,
            &rows.executions,
            &rows.deliveries,
        ];
        if every.iter().any(|table| table.iter().any(|r| !own(r))) {
            return Err(crate::StoreError::Corrupt(format!(
                "the snapshot holds rows of another tenant than '{tenant_id}'"
            )));
        }
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM deliveries WHERE tenant_id = $1",
            "DELETE FROM executions WHERE tenant_id = $1",
            "DELETE FROM reports WHERE tenant_id = $1",
            "DELETE FROM queries WHERE tenant_id = $1",
        ] {
            sqlx::query(sql).bind(tenant_id).execute(&mut *tx).await?;
        }
        let tables: [(&str, &[Kind], &Table); 4] = [
            (INSERT_QUERY, QUERY_KINDS, &rows.queries),
            (INSERT_REPORT, REPORT_KINDS, &rows.reports),
            (INSERT_EXECUTION, EXECUTION_KINDS, &rows.executions),
            (INSERT_DELIVERY, DELIVERY_KINDS, &rows.deliveries),
        ];
        for (sql, kinds, table) in tables {
            for row in table {
                if row.len() != kinds.len() {
                    return Err(crate::StoreError::Corrupt(format!(
                        "a snapshot row has {} columns, the table {}",
                        row.len(),
                        kinds.len()
                    )));
                }
                bind_all(sqlx::query(sql), row, kinds)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
