//! The demo data generator: deterministic, coherent across datasets,
//! realistic in shape, and able to fill every dataset so that every system
//! query returns rows.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use engine::generate::{Universe, generate_batches, seed_dataset};
use query::Catalog;

use crate::support::{Fixture, tenant};

fn through() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
}

/// The reference instant just after the generated history.
const AT: &str = "2026-11-15T00:00:00Z";

fn batches(seed: u64, rows: u64) -> Vec<datafusion::arrow::array::RecordBatch> {
    let universe = Universe::new(seed, rows, through());
    let dataset = query::builtin().dataset("CustomersAndTenants").unwrap();
    let mut out = Vec::new();
    generate_batches(&universe, dataset, seed, rows, |b| {
        out.push(b);
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn same_seed_and_size_give_identical_rows() {
    let a = batches(7, 140_000);
    let b = batches(7, 140_000);
    assert_eq!(a.iter().map(|b| b.num_rows()).sum::<usize>(), 140_000);
    assert_eq!(a, b);
    assert_ne!(a, batches(8, 140_000));
}

async fn seeded(datasets: &[&str], rows: u64) -> Fixture {
    let f = Fixture::new();
    let universe = Arc::new(Universe::new(42, rows, through()));
    for name in datasets {
        let dataset = query::builtin().dataset(name).unwrap();
        let report = seed_dataset(&f.store, &universe, dataset, &tenant("demo"), 42, rows)
            .await
            .unwrap();
        assert_eq!(report.rows, rows);
    }
    f
}

fn rows_of(report: &str) -> Vec<Vec<String>> {
    report
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn customers_are_the_same_in_every_dataset() {
    let f = seeded(
        &["OfficeUsage", "CustomersAndTenants", "DynamicsUsage"],
        5_000,
    )
    .await;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut ids_by_dataset = Vec::new();
    for dataset in ["OfficeUsage", "CustomersAndTenants", "DynamicsUsage"] {
        let q = format!(
            "SELECT DISTINCT CustomerTenantId, CustomerName, CustomerMarket FROM {dataset} TIMESPAN LAST_1_YEAR"
        );
        let report = f.run_at("demo", &q, AT).await;
        let mut ids = HashSet::new();
        for row in rows_of(&report) {
            let (id, name) = (row[0].clone(), row[1].clone());
            if name.is_empty() {
                continue; // An optional value left empty.
            }
            let known = names.entry(id.clone()).or_insert_with(|| name.clone());
            assert_eq!(known, &name, "tenant {id} has two names");
            ids.insert(id);
        }
        ids_by_dataset.push(ids);
    }
    let shared = ids_by_dataset[0].intersection(&ids_by_dataset[1]).count();
    assert!(
        shared * 2 > ids_by_dataset[0].len().min(ids_by_dataset[1].len()),
        "most customers appear in both"
    );
}

#[tokio::test]
async fn history_seasonality_skew_nulls_and_revenue() {
    let f = seeded(&["CustomersAndTenants"], 20_000).await;
    // 24 months of history ending with the `through` month.
    let months = f
        .run_at(
            "demo",
            "SELECT DISTINCT Month FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
            AT,
        )
        .await;
    let mut months: Vec<&str> = months.lines().skip(1).collect();
    months.sort_unstable();
    assert_eq!(months.len(), 24);
    assert_eq!((months[0], months[23]), ("2024-11-01", "2026-10-01"));
    // Skewed customer sizes: the biggest customer has far more rows than the median one.
    let per_customer = f
        .run_at("demo", "SELECT CustomerTpid, CustomerCount, AvailableSeats FROM CustomersAndTenants ORDER BY AvailableSeats TIMESPAN LAST_2_YEARS", AT)
        .await;
    let seats: Vec<i64> = rows_of(&per_customer)
        .iter()
        .map(|r| r[2].parse().unwrap())
        .collect();
    assert!(seats.len() > 40);
    assert!(
        seats[0] > 20 * seats[seats.len() / 2],
        "top {} vs median {}",
        seats[0],
        seats[seats.len() / 2]
    );
    // Optional columns have nulls; revenue (restricted) is filled.
    let all = f
        .run_at(
            "demo",
            "SELECT CustomerCount FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
            AT,
        )
        .await;
    let with_duns = f
        .run_at("demo", "SELECT CustomerCount FROM CustomersAndTenants WHERE DUNSNumber LIKE '%' TIMESPAN LAST_2_YEARS", AT)
        .await;
    let (all, with_duns): (i64, i64) = (
        rows_of(&all)[0][0].parse().unwrap(),
        rows_of(&with_duns)[0][0].parse().unwrap(),
    );
    assert!(
        with_duns < all && with_duns > all / 2,
        "DUNSNumber is optional: {with_duns} of {all}"
    );
    let revenue = f
        .run_at(
            "demo",
            "SELECT BilledRevenueUSD FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
            AT,
        )
        .await;
    let revenue: f64 = rows_of(&revenue)[0][0].parse().unwrap();
    assert!(revenue > 1000.0, "{revenue}");
    let empty_names = f
        .run_at(
            "demo",
            "SELECT DISTINCT CustomerName FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
            AT,
        )
        .await;
    assert!(
        empty_names.lines().any(str::is_empty),
        "some optional names are null"
    );
}

#[tokio::test]
async fn every_dataset_can_be_seeded_and_every_system_query_returns_rows() {
    let names: Vec<&str> = query::builtin()
        .datasets()
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    let f = seeded(&names, 2_000).await;
    for q in query::builtin().system_queries() {
        let report = f.run_at("demo", &q.query, AT).await;
        let rows = report.lines().count() - 1;
        assert!(rows > 0, "system query of {} returned nothing", q.dataset);
    }
}

/// Under a memory limit a query that needs more fails with a
/// resources-exhausted error the server turns into a clear answer; the
/// same query runs without the limit.
#[tokio::test]
async fn a_query_over_the_memory_limit_fails_cleanly() {
    let f = seeded(&["OfficeUsage"], 50_000).await;
    let q = "SELECT CustomerTenantId, CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage ORDER BY CustomerName TIMESPAN LAST_1_YEAR";
    let plan = query::check(q, query::builtin()).unwrap();
    let window = plan.time_window(chrono::Utc::now());
    let opts = engine::ExecOptions {
        window,
        ..engine::ExecOptions::default()
    };
    let limited = engine::Engine::with_memory_limit(f.store.clone(), Some(64 * 1024)).unwrap();
    let result = async {
        let df = limited.dataframe(&tenant("demo"), &plan, &opts).await?;
        df.collect().await.map_err(engine::EngineError::from)
    }
    .await;
    let err = result.expect_err("a sort of 50,000 rows does not fit in 64 KiB");
    assert!(err.is_memory_limit(), "{err}");
    let rows: usize = f
        .engine
        .dataframe(&tenant("demo"), &plan, &opts)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert!(rows > 0);
}

/// A plan keeping the first rows of an order (DataFusion's top-k, with its
/// threshold filter) answers the first rows of the same query without
/// LIMIT, filters or not, both orders.
#[tokio::test]
async fn top_rows_equal_the_first_rows_of_the_whole_order() {
    let f = seeded(&["CustomersAndTenants"], 60_000).await;
    let shapes = [
        ("CustomerTpid, Month", "CustomerTpid, Month", ""),
        (
            "CustomerName, CustomerTpid",
            "CustomerName ASC, CustomerTpid ASC",
            "WHERE CustomerMarket NOT IN ('germany', 'FRANCE') AND CustomerName LIKE '%a%'",
        ),
        (
            "CustomerName, Month",
            "CustomerName ASC, Month",
            "WHERE SKU != 'nothing'",
        ),
    ];
    for (columns, order, filter) in shapes {
        let whole = f
            .run_at(
                "demo",
                &format!("SELECT {columns} FROM CustomersAndTenants {filter} ORDER BY {order} TIMESPAN LAST_2_YEARS"),
                AT,
            )
            .await;
        let top = f
            .run_at(
                "demo",
                &format!("SELECT {columns} FROM CustomersAndTenants {filter} ORDER BY {order} LIMIT 250 TIMESPAN LAST_2_YEARS"),
                AT,
            )
            .await;
        assert!(
            whole.lines().count() > 1_000,
            "{filter}: {}",
            whole.lines().count()
        );
        let first: Vec<&str> = whole.lines().take(251).collect();
        assert_eq!(
            top.lines().collect::<Vec<_>>(),
            first,
            "{columns} {order} {filter}"
        );
    }
}

/// Under a memory limit far smaller than the rows, a full sort (ORDER BY
/// without LIMIT) spills and still returns every row in order: one sort
/// over all partitions, where a sort per partition and a merge ran out of
/// memory in the merge.
#[tokio::test]
async fn a_full_sort_spills_under_a_small_limit_and_keeps_every_row_in_order() {
    let f = seeded(&["CustomersAndTenants"], 200_000).await;
    let q = "SELECT CustomerName, CustomerTenantId, SKU, Month FROM CustomersAndTenants ORDER BY CustomerName TIMESPAN LAST_2_YEARS";
    let plan = query::check(q, query::builtin()).unwrap();
    let window = plan.time_window(crate::support::t(AT));
    let opts = engine::ExecOptions {
        window,
        ..engine::ExecOptions::default()
    };
    // Each row as text, a null as an empty field.
    let rows_of = |batches: Vec<datafusion::arrow::array::RecordBatch>| -> Vec<String> {
        use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
        let options = FormatOptions::default();
        let mut out = Vec::new();
        for b in &batches {
            let fields: Vec<_> = b
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
                .collect();
            for r in 0..b.num_rows() {
                let row: Vec<String> = fields.iter().map(|f| f.value(r).to_string()).collect();
                out.push(row.join(","));
            }
        }
        out
    };
    let limited = engine::Engine::with_memory_limit(f.store.clone(), Some(24 << 20)).unwrap();
    let sorted = limited
        .dataframe(&tenant("demo"), &plan, &opts)
        .await
        .unwrap()
        .collect()
        .await
        .expect("a sort spills rather than failing");
    let sorted = rows_of(sorted);
    let whole = rows_of(
        f.engine
            .dataframe(&tenant("demo"), &plan, &opts)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap(),
    );
    assert_eq!(sorted.len(), whole.len());
    assert!(sorted.len() > 150_000, "{}", sorted.len());
    // Names in descending byte order (the language's default), the empty
    // (null) ones last.
    let names: Vec<&str> = sorted
        .iter()
        .map(|r| r.split(',').next().unwrap())
        .collect();
    let named = names
        .iter()
        .position(|n| n.is_empty())
        .unwrap_or(names.len());
    assert!(
        names[..named].windows(2).all(|w| w[0] >= w[1]),
        "out of order"
    );
    assert!(
        names[named..].iter().all(|n| n.is_empty()),
        "a name after the nulls"
    );
    let (mut a, mut b) = (sorted.clone(), whole.clone());
    a.sort();
    b.sort();
    assert!(a == b, "the limited sort returned other rows");
}

/// A result stream as CSV text with its data lines sorted.
async fn sorted_csv(
    stream: datafusion::execution::SendableRecordBatchStream,
    plan: &query::Plan,
) -> String {
    crate::support::sorted(&csv(stream, plan).await)
}

/// A result stream as CSV text, rows in the stream's order.
async fn csv(
    stream: datafusion::execution::SendableRecordBatchStream,
    plan: &query::Plan,
) -> String {
    let header: Vec<String> = plan.outputs.iter().map(|o| o.name.clone()).collect();
    let mut out = Vec::new();
    let options = engine::writer::WriteOptions {
        format: engine::writer::FileFormat::Csv,
        gzip: false,
        bom: false,
    };
    engine::writer::write_stream(stream, &header, &mut out, options)
        .await
        .unwrap();
    String::from_utf8(out).unwrap().replace("\r\n", "\n")
}

fn window_opts(plan: &query::Plan) -> engine::ExecOptions {
    engine::ExecOptions {
        window: plan.time_window(crate::support::t(AT)),
        ..engine::ExecOptions::default()
    }
}

/// The rows of `plan` as DataFusion's own DISTINCT (an aggregation)
/// gives them, sorted: the reference for the engine's DISTINCT through
/// codes.
async fn aggregated_distinct(engine: &engine::Engine, plan: &query::Plan) -> String {
    let df = engine
        .dataframe(&tenant("demo"), plan, &window_opts(plan))
        .await
        .unwrap();
    sorted_csv(df.execute_stream().await.unwrap(), plan).await
}

/// DISTINCT through codes (two columns in a `u64`, three or four in a
/// `u128`; strings, dates, integers, nulls; over aggregated rows too;
/// floats in the unit tests) keeps exactly the rows DataFusion's aggregation keeps.
#[tokio::test]
async fn distinct_through_codes_equals_the_aggregation() {
    let f = seeded(&["CustomersAndTenants"], 60_000).await;
    for q in [
        "SELECT DISTINCT CustomerTenantId, SKU FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
        "SELECT DISTINCT CustomerName FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
        "SELECT DISTINCT CustomerMarket, Month, CustomerStatus, PartnerLocation FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
        // Aggregated rows (float sums differ in their last digits between
        // runs, so integers only).
        "SELECT DISTINCT CustomerMarket, CustomerSegment, AvailableSeats FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
        "SELECT DISTINCT DUNSNumber, Month FROM CustomersAndTenants WHERE CustomerMarket IN ('Germany', 'France') TIMESPAN LAST_1_YEAR",
    ] {
        let plan = query::check(q, query::builtin()).unwrap();
        let ours = crate::support::sorted(&f.run_at("demo", q, AT).await);
        assert!(ours.lines().count() > 2, "{q}: {ours}");
        assert_eq!(ours, aggregated_distinct(&f.engine, &plan).await, "{q}");
    }
    // OFFSET and LIMIT without ORDER BY: that many of the distinct rows.
    let all = f
        .run_at(
            "demo",
            "SELECT DISTINCT CustomerTenantId, SKU FROM CustomersAndTenants TIMESPAN LAST_2_YEARS",
            AT,
        )
        .await;
    let some = f
        .run_at("demo", "SELECT DISTINCT CustomerTenantId, SKU FROM CustomersAndTenants LIMIT 100 TIMESPAN LAST_2_YEARS", AT)
        .await;
    let all: HashSet<&str> = all.lines().skip(1).collect();
    let some: Vec<&str> = some.lines().skip(1).collect();
    assert_eq!(some.len(), 100);
    assert!(some.iter().all(|row| all.contains(row)));
    assert_eq!(some.iter().collect::<HashSet<_>>().len(), 100);
}

/// ORDER BY + LIMIT through the engine's bound (`exec::top_k`: 1,000 rows
/// kept or more) gives DataFusion's sorted rows in the same order: keys
/// descending and ascending, strings and dates (floats in the unit tests:
/// here they are metrics, summed), filtered rows, a limit above the rows
/// there are. Only the sort keys are selected, so
/// that rows tied at the cut are equal.
#[tokio::test]
async fn order_by_with_a_limit_through_the_bound_equals_datafusions_sort() {
    let f = seeded(&["CustomersAndTenants"], 60_000).await;
    for q in [
        "SELECT CustomerTpid, Month FROM CustomersAndTenants ORDER BY CustomerTpid, Month LIMIT 1000 TIMESPAN LAST_2_YEARS",
        "SELECT CustomerName, Month FROM CustomersAndTenants ORDER BY CustomerName ASC, Month DESC LIMIT 2500 TIMESPAN LAST_2_YEARS",
        "SELECT DUNSNumber, PartnerLocation FROM CustomersAndTenants ORDER BY DUNSNumber ASC, PartnerLocation LIMIT 1500 TIMESPAN LAST_2_YEARS",
        "SELECT CustomerMarket, CustomerTenantId FROM CustomersAndTenants WHERE CustomerMarket IN ('Germany', 'France') ORDER BY CustomerTenantId LIMIT 1200 TIMESPAN LAST_1_YEAR",
        "SELECT SKU, Month FROM CustomersAndTenants ORDER BY Month, SKU LIMIT 200000 TIMESPAN LAST_2_YEARS",
    ] {
        let plan = query::check(q, query::builtin()).unwrap();
        let opts = window_opts(&plan);
        let ours = csv(
            f.engine
                .execute(&tenant("demo"), &plan, &opts)
                .await
                .unwrap(),
            &plan,
        )
        .await;
        let df = f
            .engine
            .dataframe(&tenant("demo"), &plan, &opts)
            .await
            .unwrap();
        let sorted = csv(df.execute_stream().await.unwrap(), &plan).await;
        assert!(
            ours.lines().count() > 1000,
            "{q}: {} lines",
            ours.lines().count()
        );
        assert_eq!(ours, sorted, "{q}");
    }
}

/// Under a memory limit (whether or not the codes fit in it: the unit
/// tests of `exec::distinct` show the fallback to the aggregation) a
/// DISTINCT gives the same rows.
#[tokio::test]
async fn distinct_under_a_memory_limit_gives_the_same_rows() {
    let f = seeded(&["CustomersAndTenants"], 60_000).await;
    let q = "SELECT DISTINCT CustomerTenantId, SKU FROM CustomersAndTenants TIMESPAN LAST_2_YEARS";
    let plan = query::check(q, query::builtin()).unwrap();
    let expected = crate::support::sorted(&f.run_at("demo", q, AT).await);
    let limited = engine::Engine::with_memory_limit(f.store.clone(), Some(2 << 20)).unwrap();
    let stream = limited
        .execute(&tenant("demo"), &plan, &window_opts(&plan))
        .await
        .unwrap();
    assert_eq!(sorted_csv(stream, &plan).await, expected);
}

/// COUNT(DISTINCT) through codes counts, per group and over all rows,
/// what DataFusion's own DISTINCT of (group, value) rows gives.
#[tokio::test]
async fn distinct_counts_through_codes_equal_the_distinct_rows() {
    let f = seeded(&["CustomersAndTenants"], 60_000).await;
    for groups in ["CustomerMarket, CustomerSegment, Product", "Month", ""] {
        let sep = if groups.is_empty() { "" } else { ", " };
        let counted = f
            .run_at(
                "demo",
                &format!("SELECT {groups}{sep}CustomerCount FROM CustomersAndTenants TIMESPAN LAST_2_YEARS"),
                AT,
            )
            .await;
        let q = format!(
            "SELECT DISTINCT {groups}{sep}CustomerTpid FROM CustomersAndTenants TIMESPAN LAST_2_YEARS"
        );
        let plan = query::check(&q, query::builtin()).unwrap();
        let pairs = aggregated_distinct(&f.engine, &plan).await;
        let mut expected: HashMap<String, usize> = HashMap::new();
        for line in pairs.lines().skip(1) {
            let (group, tpid) = line.rsplit_once(',').unwrap_or(("", line));
            if !tpid.is_empty() {
                *expected.entry(group.to_string()).or_default() += 1;
            }
        }
        let mut got: HashMap<String, usize> = HashMap::new();
        for line in counted.lines().skip(1) {
            let (group, count) = line.rsplit_once(',').unwrap_or(("", line));
            let count: usize = count.parse().unwrap();
            if count > 0 {
                got.insert(group.to_string(), count);
            }
        }
        assert!(got.values().sum::<usize>() > 100, "{groups}: {got:?}");
        assert_eq!(got, expected, "grouped by {groups:?}");
    }
}
