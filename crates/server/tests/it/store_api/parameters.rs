//! Parameters: date forms, spellings and the documented defaults.

use super::*;

/// Spec §1.3: every date form, the far-future/far-past client defaults,
/// case-insensitive parameter names and `$filter`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_date_form_and_parameter_spelling() {
    let s = Store::start().await;
    let d = today() - Duration::days(10);
    let forms = [
        d.format("%-m/%-d/%Y").to_string(),
        d.format("%m/%d/%Y").to_string(),
        d.format("%Y-%m-%d").to_string(),
        d.format("%Y/%-m/%-d").to_string(),
        d.format("%Y/%m/%d").to_string(),
        d.format("%Y-%m-%d 00:00:00").to_string(),
        d.format("%-m/%-d/%Y 12:00:00 AM").to_string(),
    ];
    let mut answers = Vec::new();
    for f in &forms {
        let rows = s
            .rows(
                "installs",
                &[
                    ("applicationId", APP),
                    ("startDate", f),
                    ("endDate", f),
                    ("groupby", "date"),
                ],
            )
            .await;
        assert_eq!(rows.len(), 1, "{f}");
        assert_eq!(rows[0]["date"], d.format("%Y-%m-%d").to_string(), "{f}");
        answers.push(rows[0]["successfulInstallCount"].clone());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    // 01/01/0001 – 12/31/9999 is clamped: usage to 90 days.
    let rows = s
        .rows(
            "usagedaily",
            &[
                ("applicationId", APP),
                ("startDate", "01/01/0001"),
                ("endDate", "12/31/9999"),
                ("groupby", "date"),
            ],
        )
        .await;
    assert!(rows.len() <= 91 && rows.len() >= 85, "{}", rows.len());
    // Names in any case, $filter, orderBy.
    let rows = s
        .rows(
            "installs",
            &[
                ("APPLICATIONID", APP),
                ("StartDate", &day(5)),
                ("enddate", &day(0)),
                ("$filter", "market eq 'us'"),
                ("groupBy", "market"),
                ("orderBy", "market desc"),
            ],
        )
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["market"], "US");
    // Paths in any case.
    let a = s.get("AppAcquisitions", &[("applicationId", APP)]).await;
    assert_eq!(a.status, 200);
}

/// Defaults: dates per method (today; today-30 d; 1/1/2016; ads end
/// yesterday), `top` (10000; subscriptions 100), `aggregationLevel` day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_match_the_documented_values() {
    let s = Store::start().await;
    let same = |a: &Answer, b: &Answer, what: &str| {
        assert_eq!(a.status, 200, "{what}: {}", a.body);
        assert_eq!(a.body["Value"], b.body["Value"], "{what}");
        assert_eq!(a.body["TotalCount"], b.body["TotalCount"], "{what}");
    };
    // Dates default to today: the data lags two days, so nothing yet.
    let a = s
        .get("installs", &[("applicationId", APP), ("groupby", "date")])
        .await;
    assert_eq!(a.body["TotalCount"], 0, "{}", a.body);
    // Channel conversions start on 1/1/2016 by default.
    let implicit = s
        .get(
            "appchannelconversions",
            &[("applicationId", APP), ("groupby", "date")],
        )
        .await;
    let explicit = s
        .get(
            "appchannelconversions",
            &[
                ("applicationId", APP),
                ("groupby", "date"),
                ("startDate", "1/1/2016"),
                ("endDate", &day(0)),
            ],
        )
        .await;
    same(&implicit, &explicit, "appchannelconversions");
    assert!(implicit.body["TotalCount"].as_u64().unwrap() > 300);
    // Failure details start 30 days back.
    let (hash, _) = failure_ids(&s, "", Some(APP)).await;
    let implicit = s
        .get(
            "failuredetails",
            &[("applicationId", APP), ("failureHash", &hash)],
        )
        .await;
    let explicit = s
        .get(
            "failuredetails",
            &[
                ("applicationId", APP),
                ("failureHash", &hash),
                ("startDate", &day(30)),
                ("endDate", &day(0)),
            ],
        )
        .await;
    same(&implicit, &explicit, "failuredetails");
    // Ads: today-30 d to yesterday.
    let implicit = s
        .get(
            "adsperformance",
            &[("applicationId", APP), ("groupby", "date")],
        )
        .await;
    let explicit = s
        .get(
            "adsperformance",
            &[
                ("applicationId", APP),
                ("groupby", "date"),
                ("startDate", &day(30)),
                ("endDate", &day(1)),
            ],
        )
        .await;
    same(&implicit, &explicit, "adsperformance");
    // Without applicationId, ads cover every app of the account.
    let all_apps = s
        .rows("adsperformance", &[("groupby", "applicationId")])
        .await;
    assert!(all_apps.len() >= 2, "{all_apps:?}");
    // Level defaults to day.
    let implicit = s
        .get(
            "installs",
            &[
                ("applicationId", APP),
                ("groupby", "date"),
                ("startDate", &day(20)),
            ],
        )
        .await;
    let explicit = s
        .get(
            "installs",
            &[
                ("applicationId", APP),
                ("groupby", "date"),
                ("startDate", &day(20)),
                ("aggregationLevel", "day"),
            ],
        )
        .await;
    same(&implicit, &explicit, "aggregationLevel");
    // Add-on names come with day-level rows only (unless grouped by).
    let start = day(40);
    let daily = s
        .rows(
            "inappacquisitions",
            &[("inAppProductId", "9NBLGGH4TNMP"), ("startDate", &start)],
        )
        .await;
    assert_eq!(daily[0]["inAppProductName"], "Filter Pack", "{}", daily[0]);
    let weekly = s
        .rows(
            "inappacquisitions",
            &[
                ("inAppProductId", "9NBLGGH4TNMP"),
                ("startDate", &start),
                ("aggregationLevel", "week"),
            ],
        )
        .await;
    assert!(weekly[0].get("inAppProductName").is_none(), "{}", weekly[0]);
    // top: 10000 by default, 100 on subscriptions.
    let a = s
        .get(
            "installs",
            &[
                ("applicationId", APP),
                ("groupby", "date,market,packageVersion"),
                ("startDate", "2020-01-01"),
            ],
        )
        .await;
    // (4,800 rows: more than any smaller default would give, one page.)
    let total = a.body["TotalCount"].as_u64().unwrap();
    assert!(total > 4_000, "{total}");
    assert_eq!(a.body["Value"].as_array().unwrap().len() as u64, total);
    assert!(a.body.get("@nextLink").is_none());
    let a = s
        .get(
            "subscriptions",
            &[
                ("applicationId", APP),
                ("groupby", "date,market"),
                ("startDate", "2020-01-01"),
            ],
        )
        .await;
    assert_eq!(a.body["Value"].as_array().unwrap().len(), 100);
    assert!(
        a.body["@nextLink"]
            .as_str()
            .unwrap()
            .contains("top=100&skip=100")
    );
}
