//! The same storage, ingestion and query path against a real S3-compatible
//! server: moto, installed by this test into a venv (PyPI) and started on
//! 127.0.0.1 for the duration of the test.

use engine::ingest::{LoadMode, load_files};
use engine::testing::start_moto;
use engine::writer::{FileFormat, WriteOptions, write_stream};
use engine::{DataStore, Engine, ExecOptions, S3Config};
use object_store::{PutMode, PutOptions, PutPayload};
use query::Catalog;

use crate::support::{t, tenant};

#[tokio::test(flavor = "multi_thread")]
async fn load_and_query_through_an_s3_bucket() {
    let moto = start_moto("insights");
    // moto accepts any credentials.
    let store = DataStore::s3(&S3Config {
        bucket: "insights".into(),
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
    })
    .unwrap();
    let dataset = query::builtin().dataset("OfficeUsage").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    std::fs::write(
        &csv,
        "CustomerName,Month,PaidAvailableUnits\nS3 Corp,2024-03-01,5\nOld,2024-01-01,1\n",
    )
    .unwrap();
    for expected_version in 1..=2 {
        let report = load_files(
            &store,
            dataset,
            &tenant("acme"),
            std::slice::from_ref(&csv),
            LoadMode::Append,
        )
        .await
        .unwrap();
        assert_eq!(report.version, expected_version);
    }

    // The layout in the bucket is the spec's.
    let manifest = store
        .manifest("OfficeUsage", &tenant("acme"))
        .await
        .unwrap();
    assert_eq!(manifest.files.len(), 4);
    assert!(manifest.files.iter().all(|f| {
        f.path
            .starts_with("data/OfficeUsage/tenant=acme/month=2024-0")
    }));

    // Manifest versions are created at most once (conditional put).
    let again = store
        .object_store()
        .put_opts(
            &object_store::path::Path::from(
                "data/OfficeUsage/tenant=acme/_manifest/00000000000000000002.json",
            ),
            PutPayload::from_static(b"{}"),
            PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            },
        )
        .await;
    assert!(
        matches!(again, Err(object_store::Error::AlreadyExists { .. })),
        "{again:?}"
    );

    let engine = Engine::new(store).unwrap();
    let plan = query::check(
        "SELECT CustomerName, TotalPaidAvailableUnits FROM OfficeUsage ORDER BY TotalPaidAvailableUnits TIMESPAN LAST_MONTH",
        query::builtin(),
    )
    .unwrap();
    let opts = ExecOptions {
        window: plan.time_window(t("2024-04-02T00:00:00Z")),
        ..ExecOptions::default()
    };
    let stream = engine.execute(&tenant("acme"), &plan, &opts).await.unwrap();
    let mut out = Vec::new();
    let header = vec![
        "CustomerName".to_string(),
        "TotalPaidAvailableUnits".to_string(),
    ];
    write_stream(
        stream,
        &header,
        &mut out,
        WriteOptions {
            format: FileFormat::Csv,
            gzip: false,
            bom: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "CustomerName,TotalPaidAvailableUnits\r\nS3 Corp,10\r\n"
    );
}
