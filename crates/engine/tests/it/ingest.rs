//! Ingestion: formats, validation messages, atomicity (a bad batch or a
//! crash changes nothing), range replacement, concurrent writers, garbage.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use engine::EngineError;
use engine::ingest::{LoadMode, Loader};
use query::Catalog;

use crate::support::{Fixture, tenant};

const AT: &str = "2024-04-10T00:00:00Z";
const ALL: &str = "SELECT CustomerName, Month, PaidAvailableUnits FROM OfficeUsage ORDER BY Month ASC TIMESPAN LAST_1_YEAR";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn bad_values_are_reported_by_file_line_and_column_and_nothing_is_loaded() {
    let f = Fixture::new();
    f.load_csv(
        "acme",
        "OfficeUsage",
        "CustomerName,Month,PaidAvailableUnits\nKeep,2024-03-01,1\n",
    )
    .await;
    let path = f.file(
        "bad.csv",
        b"customername,MONTH,PaidAvailableUnits\nA,2024-03-01,5\nB,2024-03-01,abc\nC,2024-02-30,7\nD,,8\n",
    );
    let err = f
        .load("acme", "OfficeUsage", &[path], LoadMode::Append)
        .await
        .unwrap_err();
    let EngineError::BadValues(bad) = err else {
        panic!("{err}")
    };
    let shown = f.dir.path().join("bad.csv").display().to_string();
    assert_eq!(
        bad.problems,
        [
            format!("{shown}:3: column 'PaidAvailableUnits': 'abc' is not a valid int"),
            format!(
                "{shown}:4: column 'Month': '2024-02-30' is not a valid date (expected yyyy-MM-dd)"
            ),
            format!(
                "{shown}:4: column 'Month': a date is required (the dataset is partitioned by it)"
            ),
            format!(
                "{shown}:5: column 'Month': a date is required (the dataset is partitioned by it)"
            ),
        ]
    );
    // The good row A of the rejected batch is not visible; the old row is.
    assert_eq!(
        f.run_at("acme", ALL, AT).await,
        "CustomerName,Month,PaidAvailableUnits\nKeep,2024-03-01,1\n"
    );
    // And nothing of it is left on disk.
    assert_eq!(
        f.store
            .collect_garbage_older_than("OfficeUsage", &tenant("acme"), chrono::Duration::zero())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn many_bad_values_are_counted_after_twenty() {
    let f = Fixture::new();
    let mut csv = String::from("CustomerName,Month,PaidAvailableUnits\n");
    for i in 0..25 {
        csv.push_str(&format!("X{i},2024-03-01,x{i}\n"));
    }
    let path = f.file("many.csv", csv.as_bytes());
    let err = f
        .load("acme", "OfficeUsage", &[path], LoadMode::Append)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("the batch was rejected and nothing was loaded:\n"),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("is not a valid int"))
            .count(),
        20
    );
    assert!(text.ends_with("... and 5 more bad values\n"), "{text}");
}

#[tokio::test]
async fn unknown_and_duplicate_columns_are_refused_with_the_allowed_names() {
    let f = Fixture::new();
    let path = f.file("unknown.csv", b"CustomerNam,Month\nA,2024-03-01\n");
    let err = f.load_error("OfficeUsage", &path).await;
    assert!(
        err.contains(
            "column 'CustomerNam' is not in dataset 'OfficeUsage'. Did you mean 'CustomerName'?"
        ),
        "{err}"
    );
    assert!(
        err.contains("Its columns are: PGAMpnId, CustomerTenantId"),
        "{err}"
    );
    let path = f.file("dup.csv", b"Month,month\n2024-03-01,2024-03-01\n");
    let err = f.load_error("OfficeUsage", &path).await;
    assert!(
        err.contains("column 'Month' appears twice in the header"),
        "{err}"
    );
}

#[tokio::test]
async fn ndjson_and_parquet_load_like_csv() {
    let f = Fixture::new();
    let ndjson = f.file(
        "rows.ndjson",
        b"{\"customername\": \"Json\", \"Month\": \"2024-03-01T00:00:00Z\", \"PaidAvailableUnits\": 3}\n\n{\"CustomerName\": \"Json2\", \"Month\": \"2024-02-01\", \"PaidAvailableUnits\": \"4\"}\n",
    );
    let schema = Arc::new(Schema::new(vec![
        Field::new("CUSTOMERNAME", DataType::Utf8, true),
        Field::new("Month", DataType::Utf8, true),
        Field::new("PaidAvailableUnits", DataType::Int64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["Pq"])),
        Arc::new(StringArray::from(vec!["2024-01-01"])),
        Arc::new(Int64Array::from(vec![9])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut bytes = Vec::new();
    let mut writer =
        datafusion::parquet::arrow::ArrowWriter::try_new(&mut bytes, schema.clone(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let parquet = f.file("rows.parquet", &bytes);
    let report = f
        .load("acme", "OfficeUsage", &[ndjson, parquet], LoadMode::Append)
        .await
        .unwrap();
    assert_eq!(report.rows, 3);
    assert_eq!(
        f.run_at("acme", ALL, AT).await,
        "CustomerName,Month,PaidAvailableUnits\nPq,2024-01-01,9\nJson2,2024-02-01,4\nJson,2024-03-01,3\n"
    );
    // Bad values are reported by line in NDJSON and by row in Parquet.
    let bad = f.file(
        "bad.ndjson",
        b"{\"Month\": \"2024-03-01\", \"PaidAvailableUnits\": 1.5}\n",
    );
    let err = f.load_error("OfficeUsage", &bad).await;
    assert!(
        err.contains("bad.ndjson:1: column 'PaidAvailableUnits': '1.5' is not a valid int"),
        "{err}"
    );
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["Ok", "Bad"])),
        Arc::new(StringArray::from(vec!["2024-01-01", "2024-13-01"])),
        Arc::new(Int64Array::from(vec![1, 2])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut bytes = Vec::new();
    let mut writer =
        datafusion::parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let bad = f.file("bad.parquet", &bytes);
    let err = f.load_error("OfficeUsage", &bad).await;
    assert!(
        err.contains("bad.parquet:2: column 'Month': '2024-13-01' is not a valid date"),
        "{err}"
    );
}

#[tokio::test]
async fn replace_range_keeps_rows_outside_it() {
    let f = Fixture::new();
    f.load_csv(
        "acme",
        "OfficeUsage",
        "CustomerName,Month,PaidAvailableUnits\nJan,2024-01-01,1\nFeb1,2024-02-01,2\nFeb20,2024-02-20,3\nMar,2024-03-01,4\n",
    )
    .await;
    let path = f.file(
        "new.csv",
        b"CustomerName,Month,PaidAvailableUnits\nNewFeb,2024-02-10,20\n",
    );
    let mode = LoadMode::ReplaceRange {
        from: day("2024-02-05"),
        to: day("2024-03-31"),
    };
    f.load("acme", "OfficeUsage", std::slice::from_ref(&path), mode)
        .await
        .unwrap();
    assert_eq!(
        f.run_at("acme", ALL, AT).await,
        "CustomerName,Month,PaidAvailableUnits\nJan,2024-01-01,1\nFeb1,2024-02-01,2\nNewFeb,2024-02-10,20\n"
    );
    // Rows outside the range being replaced are refused.
    let outside = f.file("outside.csv", b"CustomerName,Month\nX,2024-01-15\n");
    let err = f
        .load("acme", "OfficeUsage", &[outside], mode)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2024-01-15 is outside the replaced range 2024-02-05..2024-03-31"),
        "{err}"
    );
    // Replace-all empties the rest.
    f.load("acme", "OfficeUsage", &[path], LoadMode::ReplaceAll)
        .await
        .unwrap();
    assert_eq!(
        f.run_at("acme", ALL, AT).await,
        "CustomerName,Month,PaidAvailableUnits\nNewFeb,2024-02-10,20\n"
    );
}

#[tokio::test]
async fn a_crash_before_commit_leaves_nothing_visible_and_garbage_is_collected() {
    let f = Fixture::new();
    f.load_csv(
        "acme",
        "OfficeUsage",
        "CustomerName,Month\nKeep,2024-03-01\n",
    )
    .await;
    let dataset = query::builtin().dataset("OfficeUsage").unwrap();
    // A load that uploads its part files completely and then dies before
    // writing the manifest.
    let path = f.file(
        "crash.csv",
        b"CustomerName,Month\nCrash1,2024-03-01\nCrash2,2024-02-01\n",
    );
    {
        let mut loader = Loader::new(&f.store, dataset, tenant("acme"), LoadMode::Append).unwrap();
        loader.read_file(&path).await.unwrap();
        let uploaded = loader.finish_parts().await.unwrap();
        assert_eq!(uploaded.len(), 2);
    }
    let parts = |f: &Fixture| {
        std::fs::read_dir(
            f.dir
                .path()
                .join("data/OfficeUsage/tenant=acme/month=2024-03"),
        )
        .unwrap()
        .count()
    };
    assert!(parts(&f) >= 2, "the crashed load wrote part files");
    assert_eq!(
        f.run_at(
            "acme",
            "SELECT CustomerName FROM OfficeUsage TIMESPAN LAST_MONTH",
            AT
        )
        .await,
        "CustomerName\nKeep\n"
    );
    let deleted = f
        .store
        .collect_garbage_older_than("OfficeUsage", &tenant("acme"), chrono::Duration::zero())
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(parts(&f), 1);
    assert_eq!(
        f.run_at(
            "acme",
            "SELECT CustomerName FROM OfficeUsage TIMESPAN LAST_MONTH",
            AT
        )
        .await,
        "CustomerName\nKeep\n"
    );
}

#[tokio::test]
async fn concurrent_appends_both_land() {
    let f = Fixture::new();
    let a = f.file("a.csv", b"CustomerName,Month\nA,2024-03-01\n");
    let b = f.file("b.csv", b"CustomerName,Month\nB,2024-03-01\n");
    let (ra, rb) = tokio::join!(
        f.load(
            "acme",
            "OfficeUsage",
            std::slice::from_ref(&a),
            LoadMode::Append
        ),
        f.load(
            "acme",
            "OfficeUsage",
            std::slice::from_ref(&b),
            LoadMode::Append
        )
    );
    let (va, vb) = (ra.unwrap().version, rb.unwrap().version);
    assert_ne!(va, vb);
    assert_eq!(
        crate::support::sorted(
            &f.run_at(
                "acme",
                "SELECT CustomerName FROM OfficeUsage TIMESPAN LAST_MONTH",
                AT
            )
            .await
        ),
        "CustomerName\nA\nB\n"
    );
}

#[tokio::test]
async fn invalid_tenant_ids_cannot_escape_the_layout() {
    for id in ["", "..", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
        assert!(engine::TenantId::parse(id).is_err(), "{id:?}");
    }
    assert!(engine::TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
}

/// Lines are numbered as an editor shows them (the header is line 1),
/// whether the file ends its lines with LF or CRLF, also after a quoted
/// value spanning lines.
#[tokio::test]
async fn bad_values_name_the_editor_line_with_lf_or_crlf() {
    for eol in ["\n", "\r\n"] {
        let f = Fixture::new();
        let text = [
            "CustomerName,Month,PaidAvailableUnits",
            "A,2024-03-01,5",
            "\"two",
            "lines\",2024-03-01,6",
            "B,2024-03-01,abc",
            "",
        ]
        .join(eol);
        let path = f.file("eol.csv", text.as_bytes());
        let err = f
            .load("acme", "OfficeUsage", &[path], LoadMode::Append)
            .await
            .unwrap_err();
        let EngineError::BadValues(bad) = err else {
            panic!("{err}")
        };
        let shown = f.dir.path().join("eol.csv").display().to_string();
        assert_eq!(
            bad.problems,
            [format!(
                "{shown}:5: column 'PaidAvailableUnits': 'abc' is not a valid int"
            )],
            "line ends {eol:?}"
        );
    }
}
