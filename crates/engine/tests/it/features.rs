//! Every language feature, end to end, against expected report text.

use engine::ExecOptions;
use engine::writer::FileFormat;

use crate::support::{Fixture, sorted, t};

/// At 2024-04-10: LAST_MONTH is March 2024, LAST_3_MONTHS January–March.
const AT: &str = "2024-04-10T09:30:00Z";

const OFFICE: &str = "\
CustomerTenantId,CustomerTpid,CustomerName,CustomerMarket,Month,PaidAvailableUnits,MonthlyActiveUsers,WorkloadName
t1,tp1,Contoso,United States,2024-01-01,100,80,Exchange
t1,tp1,Contoso,United States,2024-02-01,110,90,Exchange
t1,tp1,Contoso,United States,2024-03-01,120,,SharePoint
t2,tp2,Fabrikam,Germany,2024-03-01,50,40,Exchange
t3,tp3,\"Northwind, Inc\",France,2024-03-01,7,7,Teams
t4,tp4,,France,2024-03-01,,3,Teams
t5,tp5,Old Corp,Spain,2023-06-01,999,999,Exchange
";

async fn office() -> Fixture {
    let f = Fixture::new();
    f.load_csv("acme", "OfficeUsage", OFFICE).await;
    f
}

async fn check(f: &Fixture, query: &str, expected: &str) {
    assert_eq!(f.run_at("acme", query, AT).await, expected, "{query}");
}

async fn check_sorted(f: &Fixture, query: &str, expected: &str) {
    assert_eq!(
        sorted(&f.run_at("acme", query, AT).await),
        expected,
        "{query}"
    );
}

#[tokio::test]
async fn projection_order_desc_default_and_nulls_last() {
    let f = office().await;
    check(
        &f,
        "SELECT customername, PaidAvailableUnits FROM OfficeUsage ORDER BY PaidAvailableUnits TIMESPAN LAST_MONTH",
        "CustomerName,PaidAvailableUnits\nContoso,120\nFabrikam,50\n\"Northwind, Inc\",7\n,\n",
    )
    .await;
    check(
        &f,
        "SELECT CustomerName, PaidAvailableUnits FROM OfficeUsage ORDER BY PaidAvailableUnits ASC TIMESPAN LAST_MONTH",
        "CustomerName,PaidAvailableUnits\n\"Northwind, Inc\",7\nFabrikam,50\nContoso,120\n,\n",
    )
    .await;
    check(
        &f,
        "SELECT CustomerMarket, PaidAvailableUnits FROM OfficeUsage ORDER BY CustomerMarket ASC, PaidAvailableUnits TIMESPAN LAST_MONTH",
        "CustomerMarket,PaidAvailableUnits\nFrance,7\nFrance,\nGermany,50\nUnited States,120\n",
    )
    .await;
}

#[tokio::test]
async fn string_conditions_are_case_insensitive_and_nulls_never_match() {
    let f = office().await;
    let q = |cond: &str| {
        format!(
            "SELECT CustomerName FROM OfficeUsage WHERE {cond} ORDER BY CustomerName ASC TIMESPAN LAST_MONTH"
        )
    };
    check(
        &f,
        &q("CustomerMarket = 'FRANCE'"),
        "CustomerName\n\"Northwind, Inc\"\n\n",
    )
    .await;
    check(
        &f,
        &q("CustomerName != 'contoso'"),
        "CustomerName\nFabrikam\n\"Northwind, Inc\"\n",
    )
    .await;
    check(
        &f,
        &q("CustomerName <> 'CONTOSO'"),
        "CustomerName\nFabrikam\n\"Northwind, Inc\"\n",
    )
    .await;
    check(
        &f,
        &q("CustomerName IN ('contoso', 'FABRIKAM')"),
        "CustomerName\nContoso\nFabrikam\n",
    )
    .await;
    check(
        &f,
        &q("CustomerName NOT IN ('CONTOSO')"),
        "CustomerName\nFabrikam\n\"Northwind, Inc\"\n",
    )
    .await;
    check(
        &f,
        &q("CustomerName LIKE '%NORTH%'"),
        "CustomerName\n\"Northwind, Inc\"\n",
    )
    .await;
    check(
        &f,
        &q("CustomerName LIKE 'f_bRIKAM'"),
        "CustomerName\nFabrikam\n",
    )
    .await;
    check(
        &f,
        &q("CustomerName NOT LIKE 'c%'"),
        "CustomerName\nFabrikam\n\"Northwind, Inc\"\n",
    )
    .await;
    // Within AND chains too (a fold answers false for a null, which drops
    // the same rows a null answer would).
    check(
        &f,
        &q("CustomerMarket IN ('france', 'GERMANY') AND CustomerName NOT IN ('CONTOSO')"),
        "CustomerName\nFabrikam\n\"Northwind, Inc\"\n",
    )
    .await;
    check(
        &f,
        &q("CustomerMarket != 'Nowhere' AND CustomerName NOT LIKE '%x%'"),
        "CustomerName\nContoso\nFabrikam\n\"Northwind, Inc\"\n",
    )
    .await;
    check(
        &f,
        &q("CustomerName > 'd'"),
        "CustomerName\nFabrikam\n\"Northwind, Inc\"\n",
    )
    .await;
}

#[tokio::test]
async fn numeric_and_date_conditions() {
    let f = office().await;
    check(
        &f,
        "SELECT CustomerName, PaidAvailableUnits FROM OfficeUsage WHERE PaidAvailableUnits >= 50 ORDER BY PaidAvailableUnits TIMESPAN LAST_MONTH",
        "CustomerName,PaidAvailableUnits\nContoso,120\nFabrikam,50\n",
    )
    .await;
    check(
        &f,
        "SELECT CustomerName, PaidAvailableUnits FROM OfficeUsage WHERE PaidAvailableUnits != 50 AND PaidAvailableUnits IN (7, 120, '999') ORDER BY PaidAvailableUnits TIMESPAN LAST_1_YEAR",
        "CustomerName,PaidAvailableUnits\nOld Corp,999\nContoso,120\n\"Northwind, Inc\",7\n",
    )
    .await;
    check(
        &f,
        "SELECT CustomerName, Month FROM OfficeUsage WHERE Month >= '2024-02-01' AND CustomerName = 'Contoso' ORDER BY Month TIMESPAN LAST_1_YEAR",
        "CustomerName,Month\nContoso,2024-03-01\nContoso,2024-02-01\n",
    )
    .await;
}

#[tokio::test]
async fn metrics_group_by_the_selected_columns() {
    let f = office().await;
    check(
        &f,
        "SELECT CustomerMarket, CustomerCount, TotalPaidAvailableUnits FROM OfficeUsage ORDER BY CustomerMarket ASC TIMESPAN LAST_3_MONTHS",
        "CustomerMarket,CustomerCount,TotalPaidAvailableUnits\nFrance,2,7\nGermany,1,50\nUnited States,1,330\n",
    )
    .await;
    // A sum and a count over no rows are 0.
    check(
        &f,
        "SELECT CustomerCount, TotalPaidAvailableUnits FROM OfficeUsage WHERE CustomerMarket = 'Japan'",
        "CustomerCount,TotalPaidAvailableUnits\n0,0\n",
    )
    .await;
    // A condition on a metric filters groups, even when not selected.
    check_sorted(
        &f,
        "SELECT CustomerMarket FROM OfficeUsage WHERE TotalPaidAvailableUnits > 40 TIMESPAN LAST_3_MONTHS",
        "CustomerMarket\nGermany\nUnited States\n",
    )
    .await;
    check(
        &f,
        "SELECT CustomerMarket, TotalMonthlyActiveUsers FROM OfficeUsage WHERE TotalMonthlyActiveUsers >= 10 ORDER BY TotalMonthlyActiveUsers TIMESPAN LAST_3_MONTHS",
        "CustomerMarket,TotalMonthlyActiveUsers\nUnited States,170\nGermany,40\nFrance,10\n",
    )
    .await;
}

#[tokio::test]
async fn distinct_and_limit() {
    let f = office().await;
    check_sorted(
        &f,
        "SELECT DISTINCT CustomerMarket FROM OfficeUsage TIMESPAN LAST_1_YEAR",
        "CustomerMarket\nFrance\nGermany\nSpain\nUnited States\n",
    )
    .await;
    check(
        &f,
        "SELECT CustomerName, PaidAvailableUnits FROM OfficeUsage ORDER BY PaidAvailableUnits LIMIT 2 TIMESPAN LAST_3_MONTHS",
        "CustomerName,PaidAvailableUnits\nContoso,120\nContoso,110\n",
    )
    .await;
}

#[tokio::test]
async fn time_windows_select_partitions() {
    let f = office().await;
    let q = |range: &str| format!("SELECT DISTINCT CustomerName FROM OfficeUsage TIMESPAN {range}");
    check_sorted(
        &f,
        &q("LAST_MONTH"),
        "CustomerName\n\n\"Northwind, Inc\"\nContoso\nFabrikam\n",
    )
    .await;
    check_sorted(
        &f,
        &q("LAST_1_YEAR"),
        "CustomerName\n\n\"Northwind, Inc\"\nContoso\nFabrikam\nOld Corp\n",
    )
    .await;
    // The default TIMESPAN is LAST_6_MONTHS: October 2023 to March 2024.
    assert!(
        !f.run_at("acme", "SELECT CustomerName FROM OfficeUsage", AT)
            .await
            .contains("Old Corp")
    );
    // An explicit window replaces the TIMESPAN.
    let plan = query::check(
        "SELECT CustomerName, Month FROM OfficeUsage TIMESPAN LAST_MONTH",
        query::builtin(),
    )
    .unwrap();
    let opts = ExecOptions {
        window: plan.explicit_window(t("2023-06-01T00:00:00Z"), t("2023-07-01T00:00:00Z")),
        ..ExecOptions::default()
    };
    assert_eq!(
        f.run_plan("acme", &plan, &opts, FileFormat::Csv).await,
        "CustomerName,Month\nOld Corp,2023-06-01\n"
    );
}

/// Daily rows in month partitions: a window of whole months reads its
/// partitions without testing rows; a window cutting a month tests every
/// row read, whole months included.
#[tokio::test]
async fn windows_of_whole_months_and_of_days_keep_exactly_their_rows() {
    let f = Fixture::new();
    f.load_csv(
        "acme",
        "CompetencySummaryHistory",
        "CompetencyName,CompetencyStartDate\n\
         a,2024-02-28\nb,2024-03-01\nc,2024-03-15\nd,2024-03-31\ne,2024-04-01\n",
    )
    .await;
    let plan = query::check(
        "SELECT CompetencyName, CompetencyStartDate FROM CompetencySummaryHistory \
         ORDER BY CompetencyStartDate TIMESPAN LAST_MONTH",
        query::builtin(),
    )
    .unwrap();
    let names = |from: &str, to: &str| {
        let opts = ExecOptions {
            window: plan.explicit_window(t(from), t(to)),
            ..ExecOptions::default()
        };
        let f = &f;
        let plan = &plan;
        async move {
            let csv = f.run_plan("acme", plan, &opts, FileFormat::Csv).await;
            let mut names: Vec<String> = csv
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap_or_default().to_string())
                .collect();
            names.sort();
            names.join(" ")
        }
    };
    assert_eq!(
        names("2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z").await,
        "b c d"
    );
    assert_eq!(
        names("2024-02-01T00:00:00Z", "2024-04-01T00:00:00Z").await,
        "a b c d"
    );
    assert_eq!(
        names("2024-03-10T00:00:00Z", "2024-04-01T00:00:00Z").await,
        "c d"
    );
    assert_eq!(
        names("2024-02-01T00:00:00Z", "2024-03-16T00:00:00Z").await,
        "a b c"
    );
    assert_eq!(
        names("2024-03-01T00:00:00Z", "2024-04-02T00:00:00Z").await,
        "b c d e"
    );
    // A bound inside a day counts from the next day.
    assert_eq!(
        names("2024-03-14T12:00:00Z", "2024-04-01T00:00:00Z").await,
        "c d"
    );
}

#[tokio::test]
async fn tenants_are_isolated_and_empty_results_have_a_header() {
    let f = office().await;
    f.load_csv(
        "other",
        "OfficeUsage",
        "CustomerName,Month\nSecret Ltd,2024-03-01\n",
    )
    .await;
    check(&f, "SELECT CustomerName FROM OfficeUsage WHERE CustomerName = 'Secret Ltd' TIMESPAN LAST_MONTH", "CustomerName\n").await;
    assert_eq!(
        f.run_at(
            "other",
            "SELECT CustomerName FROM OfficeUsage TIMESPAN LAST_MONTH",
            AT
        )
        .await,
        "CustomerName\nSecret Ltd\n"
    );
    assert_eq!(
        f.run_at("nobody", "SELECT CustomerName FROM OfficeUsage", AT)
            .await,
        "CustomerName\n"
    );
}

#[tokio::test]
async fn tsv_escapes_and_restricted_columns_are_redacted() {
    let f = Fixture::new();
    f.load_csv(
        "acme",
        "CustomersAndTenants",
        "CustomerName,Month,BilledRevenueUSD,AvailableSeats\n\"Tab\tand\\slash\",2024-03-01,1234567.25,10\nPlain,2024-03-01,0.1,5\nPlain,2024-03-01,0.2,5\n",
    )
    .await;
    let q = "SELECT CustomerName, BilledRevenueUSD, AvailableSeats FROM CustomersAndTenants ORDER BY CustomerName ASC TIMESPAN LAST_MONTH";
    assert_eq!(
        f.run_with("acme", q, AT, FileFormat::Tsv, false).await,
        "CustomerName\tBilledRevenueUSD\tAvailableSeats\nPlain\t0.30000000000000004\t10\nTab\\tand\\\\slash\t1234567.25\t10\n"
    );
    assert_eq!(
        f.run_with("acme", q, AT, FileFormat::Csv, true).await,
        "CustomerName,BilledRevenueUSD,AvailableSeats\nPlain,,10\nTab\tand\\slash,,10\n"
    );
}

#[tokio::test]
async fn datasets_without_dates_live_in_one_partition() {
    let f = Fixture::new();
    f.load_csv(
        "acme",
        "Profile",
        "MPNId,PartnerName,Country\n1,Alpha,United States\n2,Beta,France\n3,Gamma,united states\n",
    )
    .await;
    assert!(f.dir.path().join("data/Profile/tenant=acme/all").is_dir());
    assert_eq!(
        sorted(
            &f.run_at(
                "acme",
                "SELECT MPNId, PartnerName FROM Profile WHERE Country = 'United States'",
                AT
            )
            .await
        ),
        "MPNId,PartnerName\n1,Alpha\n3,Gamma\n"
    );
    assert_eq!(
        f.run_at(
            "acme",
            "SELECT MpnIdCount FROM Profile TIMESPAN LIFETIME",
            AT
        )
        .await,
        "MpnIdCount\n3\n"
    );
}

#[tokio::test]
async fn preview_stops_at_max_rows_and_gzip_output_decompresses() {
    let f = office().await;
    let plan = query::check(
        "SELECT CustomerName, PaidAvailableUnits FROM OfficeUsage ORDER BY PaidAvailableUnits TIMESPAN LAST_1_YEAR",
        query::builtin(),
    )
    .unwrap();
    let opts = ExecOptions {
        window: plan.time_window(t(AT)),
        max_rows: Some(2),
        ..ExecOptions::default()
    };
    assert_eq!(
        f.run_plan("acme", &plan, &opts, FileFormat::Csv).await,
        "CustomerName,PaidAvailableUnits\nOld Corp,999\nContoso,120\n"
    );

    let stream = f
        .engine
        .execute(&crate::support::tenant("acme"), &plan, &opts)
        .await
        .unwrap();
    let mut gz = Vec::new();
    let options = engine::writer::WriteOptions {
        format: FileFormat::Csv,
        gzip: true,
        bom: true,
    };
    let stats = engine::writer::write_stream(
        stream,
        &["CustomerName".into(), "PaidAvailableUnits".into()],
        &mut gz,
        options,
    )
    .await
    .unwrap();
    assert_eq!(stats.rows, 2);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut text)
        .unwrap();
    assert_eq!(
        text,
        "\u{feff}CustomerName,PaidAvailableUnits\r\nOld Corp,999\r\nContoso,120\r\n"
    );
    assert_eq!(stats.bytes as usize, text.len());
}
