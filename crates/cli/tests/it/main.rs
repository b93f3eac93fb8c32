//! End-to-end tests of the `openinsights` binary: real process, real
//! arguments, exit codes and output as a user sees them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_cli;
mod client;
mod crash;
mod replicas;
mod serve;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openinsights"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn check_prints_the_plan_and_the_window() {
    let o = run(&[
        "query",
        "check",
        "--at",
        "2024-03-15T10:00:00Z",
        "SELECT CustomerName, CustomerCount FROM OfficeUsage ORDER BY CustomerCount LIMIT 10 TIMESPAN LAST_3_MONTHS",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("2. CustomerCount (int) = count_distinct(CustomerTpid)"),
        "{out}"
    );
    assert!(out.contains("group by: CustomerName"), "{out}");
    assert!(
        out.contains("order by: CustomerCount DESC NULLS LAST"),
        "{out}"
    );
    assert!(
        out.contains(
            "window at 2024-03-15T10:00:00Z: Month in [2023-12-01T00:00:00Z, 2024-03-01T00:00:00Z)"
        ),
        "{out}"
    );
}

#[test]
fn check_renders_the_diagnostic_and_exits_2() {
    let o = run(&["query", "check", "SELECT Custmer FROM OfficeUsage"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    let expected = "\
error[unknown_column]: Unknown column 'Custmer' in dataset 'OfficeUsage' at position 8.
 --> query:1:8
  |
1 | SELECT Custmer FROM OfficeUsage
  |        ^^^^^^^ unknown column or metric
  |
  = help: did you mean 'CustomerName'?
";
    assert_eq!(err, expected);
}

#[test]
fn check_reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_openinsights"))
        .args(["query", "check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT MPNId\nFROM Profile\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("dataset: Profile"));
}

#[test]
fn bad_reference_instant_is_a_clear_error() {
    let o = run(&[
        "query",
        "check",
        "--at",
        "yesterday",
        "SELECT MPNId FROM Profile",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--at 'yesterday' is not an RFC 3339 timestamp"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn datasets_json_matches_the_api_item_shape() {
    let o = run(&["datasets", "--json"]);
    assert!(o.status.success());
    let items: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 23);
    let office = items
        .iter()
        .find(|d| d["datasetName"] == "OfficeUsage")
        .unwrap();
    let mut keys: Vec<&str> = office
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "availableDateRanges",
            "availableMetrics",
            "datasetName",
            "minimumRecurrenceInterval",
            "selectableColumns"
        ]
    );
    assert_eq!(office["minimumRecurrenceInterval"], 24);
    assert_eq!(office["availableDateRanges"][0], "LAST_MONTH");
    assert_eq!(office["selectableColumns"][0], "PGAMpnId");
    assert_eq!(office["availableMetrics"][0], "CustomerCount");
}

#[test]
fn datasets_table_and_detail() {
    let o = run(&["datasets"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("CLASAzurePropensity"), "{out}");
    let o = run(&["datasets", "cloudproductsresellerperformance"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.starts_with("ResellerPerformance (also: CloudProductsResellerPerformance)"),
        "{out}"
    );
    assert!(out.contains("sum(BilledRevenueUSD)"), "{out}");
    let o = run(&["datasets", "OficeUsage"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: Unknown dataset 'OficeUsage'. Did you mean 'OfficeUsage'?\n"
    );
}

#[test]
fn seed_store_and_ingest_store_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let o = run(&[
        "seed",
        "--data-dir",
        data,
        "--tenant",
        "acme",
        "--store",
        "--store-acquisition-rows",
        "3650",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Store datasets: 21 datasets"), "{err}");
    assert!(err.contains("store_acquisitions: 3650 rows"), "{err}");
    assert!(
        std::fs::read_dir(dir.path().join("store-cabs/tenant=acme"))
            .unwrap()
            .count()
            > 50
    );
    // Operators load their own products like any dataset.
    let csv = dir.path().join("products.csv");
    std::fs::write(
        &csv,
        "applicationId,productName,productType,parentId\n9NBLGGH00001,Mine,app,\n",
    )
    .unwrap();
    let o = run(&[
        "ingest",
        "--data-dir",
        data,
        "--tenant",
        "acme",
        "--dataset",
        "store_products",
        "--replace-all",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "ingest",
        "--data-dir",
        data,
        "--tenant",
        "acme",
        "--dataset",
        "store_product",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Did you mean 'store_products'?"),
        "{}",
        stderr(&o)
    );
}

/// `query run` holds a sort to `--query-memory-mb`: below what a sort
/// needs it says which option to raise; above it the sort spills and
/// every row comes out.
#[test]
fn query_run_keeps_a_sort_within_its_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let o = run(&[
        "seed",
        "--data-dir",
        data,
        "--tenant",
        "acme",
        "--dataset",
        "CustomersAndTenants",
        "--rows",
        "50000",
        "--through",
        "2026-10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sort = "SELECT CustomerName, CustomerTenantId FROM CustomersAndTenants ORDER BY CustomerName TIMESPAN LAST_2_YEARS";
    let query = |limit: &str| {
        run(&[
            "query",
            "run",
            "--data-dir",
            data,
            "--tenant",
            "acme",
            "--at",
            "2026-11-15T00:00:00Z",
            "--query-memory-mb",
            limit,
            sort,
        ])
    };
    let o = query("1");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("more memory than --query-memory-mb 1 allows; raise it (0 = no limit)"),
        "{err}"
    );
    let o = query("16");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 50_001);
    let o = query("abc");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--query-memory-mb"), "{}", stderr(&o));
}
