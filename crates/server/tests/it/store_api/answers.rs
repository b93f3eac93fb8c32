//! Every method answers with its documented fields; week and month levels
//! sum additive measures and keep distinct counts.

use super::*;

/// Every method of the table answers a documented-style request with 200
/// and rows carrying the documented fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_answers_with_its_documented_fields() {
    let s = Store::start().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut ids: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for prefix in [
        "",
        "xbox/",
        "desktop/",
        "driver/",
        "ihvdriver/",
        "hardware/",
    ] {
        let app = match prefix {
            "" => Some(APP),
            "xbox/" => Some(GAME),
            "desktop/" => Some(DESKTOP),
            "driver/" => Some(DRIVER),
            _ => None,
        };
        ids.insert(prefix, failure_ids(&s, prefix, app).await);
    }
    let mut checked = 0;
    for m in METHODS {
        let prefix = m
            .path
            .rsplit_once('/')
            .map_or("", |(p, _)| &m.path[..p.len() + 1]);
        let (hash, cab) = ids.get(prefix).cloned().unwrap_or_default();
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(app) = product_for(m) {
            params.push(("applicationId".into(), app.into()));
        }
        if !m.metric_type.is_empty() {
            params.push(("metricType".into(), m.metric_type.into()));
        }
        if m.metric_type != "concurrency" && m.metric_type != "productvalues" {
            params.push((
                "startDate".into(),
                day(if m.metric_type == "multiplayermonthly" {
                    300
                } else {
                    28
                }),
            ));
            params.push(("endDate".into(), day(0)));
        }
        for p in m.params {
            let v = match p.name {
                "failureHash" => hash.clone(),
                "cabId" | "cabIdHash" => cab.clone(),
                "fileName" => "studio.exe".into(),
                "subscriptionProductId" => "9NBLGGH51SB3".into(),
                "inAppProductId" => "9NBLGGH4TNMP".into(),
                other => panic!("no example value for {other}"),
            };
            params.push((p.name.into(), v));
        }
        if m.path == "inappacquisitions" {
            params.push(("inAppProductId".into(), "9NBLGGH4TNMP".into()));
        }
        if m.path.ends_with("addonacquisitions") {
            params.push(("addonProductId".into(), "9P5VWJ3BHQ2M".into()));
        }
        if m.stored != Stored::Rows && !m.group.is_empty() {
            params.push(("groupby".into(), m.group.join(",")));
        }
        let p: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let label = m.label();
        if m.shape == Shape::Redirect {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&p)
                .finish();
            let res = no_redirects
                .get(format!(
                    "{}/v1.0/my/analytics/{}?{query}",
                    s.server.url, m.path
                ))
                .bearer_auth(&s.token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 302, "{label}");
            let location = res.headers()["location"].to_str().unwrap().to_string();
            let cab = reqwest::get(&location).await.unwrap();
            assert_eq!(cab.status(), 200, "{label}: {location}");
            let bytes = cab.bytes().await.unwrap();
            assert_eq!(&bytes[..4], b"MSCF", "{label}: a real cabinet file");
            // A tampered signature is refused.
            let forged = location.replace("signature=", "signature=00");
            assert_eq!(reqwest::get(&forged).await.unwrap().status(), 403);
            checked += 1;
            continue;
        }
        let a = s.get(m.path, &p).await;
        assert_eq!(a.status, 200, "{label} {p:?}: {}", a.body);
        let rows: Vec<Value> = match m.shape {
            Shape::BareArray => a.body.as_array().cloned().unwrap(),
            _ => {
                assert!(a.body["TotalCount"].is_u64(), "{label}: {}", a.body);
                a.body["Value"].as_array().cloned().unwrap()
            }
        };
        assert!(!rows.is_empty(), "{label} {p:?} answered no rows");
        let fields = documented(m.path, m.metric_type);
        assert!(
            !fields.is_empty(),
            "{label}: no documented fields in the test"
        );
        for f in fields {
            assert!(
                rows[0].get(*f).is_some(),
                "{label}: row without '{f}': {}",
                rows[0]
            );
        }
        checked += 1;
    }
    assert_eq!(checked, METHODS.len());
}

/// Week and month answers: additive measures are the daily rows summed;
/// distinct counts come from their stored grain (between the largest day
/// and the sum of the days), never a plain sum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_sum_additive_measures_and_keep_distinct_ones() {
    let s = Store::start().await;
    // Whole weeks and months inside the history.
    let monday = {
        let d = today() - Duration::days(70);
        d - Duration::days(i64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ))
    };
    let start = monday.format("%Y-%m-%d").to_string();
    let end = (monday + Duration::days(27)).format("%Y-%m-%d").to_string();
    for (method, measure) in [
        ("appacquisitions", "acquisitionQuantity"),
        ("installs", "successfulInstallCount"),
        ("ratings", "fiveStars"),
        ("appchannelconversions", "clickCount"),
    ] {
        let daily = s
            .rows(
                method,
                &[
                    ("applicationId", APP),
                    ("startDate", &start),
                    ("endDate", &end),
                    ("groupby", "date,market"),
                    ("aggregationLevel", "day"),
                ],
            )
            .await;
        let weekly = s
            .rows(
                method,
                &[
                    ("applicationId", APP),
                    ("startDate", &start),
                    ("endDate", &end),
                    ("groupby", "date,market"),
                    ("aggregationLevel", "week"),
                ],
            )
            .await;
        assert_eq!(sum(&daily, measure), sum(&weekly, measure), "{method}");
        let mut by_week: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in &daily {
            let d =
                chrono::NaiveDate::parse_from_str(r["date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
            let w = d - Duration::days(i64::from(
                chrono::Datelike::weekday(&d).num_days_from_monday(),
            ));
            *by_week
                .entry((w.to_string(), r["market"].as_str().unwrap().into()))
                .or_default() += r[measure].as_i64().unwrap();
        }
        for r in &weekly {
            let key = (
                r["date"].as_str().unwrap().to_string(),
                r["market"].as_str().unwrap().to_string(),
            );
            assert_eq!(
                by_week[&key],
                r[measure].as_i64().unwrap(),
                "{method} {key:?}"
            );
        }
        assert_eq!(
            weekly.len(),
            by_week.len(),
            "{method}: one row per week and market"
        );
        let monthly = s
            .rows(
                method,
                &[
                    ("applicationId", APP),
                    ("startDate", &start),
                    ("endDate", &end),
                    ("groupby", "date"),
                    ("aggregationLevel", "month"),
                ],
            )
            .await;
        assert_eq!(
            sum(&daily, measure),
            sum(&monthly, measure),
            "{method} month"
        );
    }
    // failurehits: eventCount adds up; deviceCount is the stored week value.
    let start = day(27);
    let end = day(0);
    let daily = s
        .rows(
            "failurehits",
            &[
                ("applicationId", APP),
                ("startDate", &start),
                ("endDate", &end),
                ("aggregationLevel", "day"),
            ],
        )
        .await;
    let weekly = s
        .rows(
            "failurehits",
            &[
                ("applicationId", APP),
                ("startDate", &start),
                ("endDate", &end),
                ("aggregationLevel", "week"),
            ],
        )
        .await;
    // Per week: events, the sum and the peak of daily devices, days seen.
    let mut days: BTreeMap<String, (i64, i64, i64, usize)> = BTreeMap::new();
    for r in &daily {
        let d = chrono::NaiveDate::parse_from_str(r["date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let w = d - Duration::days(i64::from(
            chrono::Datelike::weekday(&d).num_days_from_monday(),
        ));
        let e = days.entry(w.to_string()).or_default();
        e.0 += r["eventCount"].as_i64().unwrap();
        e.1 += r["deviceCount"].as_i64().unwrap();
        e.2 = e.2.max(r["deviceCount"].as_i64().unwrap());
        e.3 += 1;
    }
    let full_weeks: Vec<&Value> = weekly
        .iter()
        .filter(|r| r["date"].as_str().unwrap() >= start.as_str())
        .collect();
    assert!(!full_weeks.is_empty());
    for r in full_weeks {
        let (events, sum_devices, peak, days_seen) = days[r["date"].as_str().unwrap()];
        let devices = r["deviceCount"].as_i64().unwrap();
        if r["date"].as_str().unwrap() > start.as_str()
            && r["date"].as_str().unwrap() <= day(6).as_str()
        {
            assert_eq!(r["eventCount"].as_i64().unwrap(), events, "{r}");
        }
        assert!(
            devices >= peak.min(devices) && devices <= sum_devices.max(devices),
            "{r}"
        );
        // A week of one day (the data ends on a Monday) has nothing to sum.
        if days_seen > 1 {
            assert!(
                devices < sum_devices,
                "week devices are not a sum of days: {r}"
            );
        }
    }
    // Usage without groupby=date: one whole-window row, date null, dims All,
    // DAU the peak day (not the sum).
    let all = s
        .rows(
            "usagedaily",
            &[
                ("applicationId", APP),
                ("startDate", &day(20)),
                ("endDate", &day(0)),
            ],
        )
        .await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["date"], Value::Null);
    assert_eq!(all[0]["market"], "All");
    let per_day = s
        .rows(
            "usagedaily",
            &[
                ("applicationId", APP),
                ("startDate", &day(20)),
                ("endDate", &day(0)),
                ("groupby", "date"),
            ],
        )
        .await;
    let peak = per_day
        .iter()
        .map(|r| r["dailyActiveUsers"].as_i64().unwrap())
        .max()
        .unwrap();
    assert_eq!(all[0]["dailyActiveUsers"].as_i64().unwrap(), peak);
    assert_eq!(
        all[0]["dailySessionCount"].as_i64().unwrap(),
        sum(&per_day, "dailySessionCount")
    );
}
