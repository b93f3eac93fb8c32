//! Filters: every field of every method with every operator, detail
//! methods included.

use super::*;

/// Every filter field of every method, with eq and ne: eq keeps only the
/// value, eq and ne partition the rows; plus and/or/parentheses, ordering
/// operators and contains() on reviews.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_field_and_operator() {
    let s = Store::start().await;
    let start = day(28);
    let end = day(0);
    for m in METHODS
        .iter()
        .filter(|m| m.stored != Stored::Rows && m.shape == Shape::Envelope)
    {
        let Some(app) = product_for(m).or(Some("")) else {
            continue;
        };
        let mut base: Vec<(&str, &str)> = vec![("startDate", &start), ("endDate", &end)];
        if !app.is_empty() {
            base.push(("applicationId", app));
        }
        if !m.metric_type.is_empty() {
            base.push(("metricType", m.metric_type));
        }
        if m.path == "desktop/blockdetails" {
            base.push(("fileName", "studio.exe"));
        }
        let Some((measure, _)) = m.measures.iter().find(|(name, _)| {
            *name != "deviceCount"
                && !name.contains("Active")
                && !name.contains("monthly")
                && !name.contains("average")
                && *name != "installBase"
                && *name != "userCount"
        }) else {
            continue;
        };
        let total = sum_f(&s.rows(m.path, &base).await, measure);
        for field in m
            .filter
            .iter()
            .filter(|f| **f != "date" && m.group.contains(f))
        {
            let mut grouped = base.clone();
            grouped.push(("groupby", field));
            let rows = s.rows(m.path, &grouped).await;
            let Some(value) = rows.iter().find_map(|r| {
                r[*field]
                    .as_str()
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .or_else(|| r[*field].as_bool().map(|b| b.to_string()))
            }) else {
                continue;
            };
            let quoted = if value == "true" || value == "false" {
                value.clone()
            } else {
                format!("'{}'", value.to_uppercase().replace('\'', "''"))
            };
            let mut eq = base.clone();
            let f_eq = format!("{field} eq {quoted}");
            eq.push(("filter", &f_eq));
            eq.push(("groupby", field));
            let eq_rows = s.rows(m.path, &eq).await;
            assert!(!eq_rows.is_empty(), "{} {f_eq}", m.label());
            for r in &eq_rows {
                let got = r[*field]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| r[*field].as_bool().map(|b| b.to_string()))
                    .unwrap();
                assert!(
                    got.eq_ignore_ascii_case(&value),
                    "{} {f_eq}: {r}",
                    m.label()
                );
            }
            let mut ne = base.clone();
            let f_ne = format!("{field} ne {quoted}");
            ne.push(("filter", &f_ne));
            let ne_rows = s.rows(m.path, &ne).await;
            let parts = sum_f(&eq_rows, measure) + sum_f(&ne_rows, measure);
            assert!(
                (parts - total).abs() < 1e-6 * total.abs().max(1.0),
                "{} {field}: eq + ne = all ({parts} vs {total})",
                m.label()
            );
        }
    }
    // and / or / parentheses (and binds tighter than or).
    let base = [
        ("applicationId", APP),
        ("startDate", start.as_str()),
        ("endDate", end.as_str()),
        ("groupby", "market,deviceType"),
    ];
    let rows = |f: &'static str| {
        let mut p = base.to_vec();
        p.push(("filter", f));
        p
    };
    let us_or_de = s
        .rows(
            "appacquisitions",
            &rows("market eq 'US' or market eq 'DE' and deviceType eq 'PC'"),
        )
        .await;
    assert!(
        us_or_de
            .iter()
            .all(|r| r["market"] == "US" || (r["market"] == "DE" && r["deviceType"] == "PC"))
    );
    assert!(
        us_or_de
            .iter()
            .any(|r| r["market"] == "US" && r["deviceType"] != "PC")
    );
    let grouped = s
        .rows(
            "appacquisitions",
            &rows("(market eq 'US' or market eq 'DE') and deviceType eq 'PC'"),
        )
        .await;
    assert!(!grouped.is_empty() && grouped.iter().all(|r| r["deviceType"] == "PC"));
    // Ordering operators and contains() on reviews; booleans bare.
    let reviews = s
        .rows(
            "reviews",
            &[
                ("applicationId", APP),
                ("startDate", &day(100)),
                ("endDate", &end),
                (
                    "filter",
                    "rating le 2 and contains(reviewText,'CRASH') and isRevised eq false",
                ),
            ],
        )
        .await;
    assert!(!reviews.is_empty());
    assert!(reviews.iter().all(|r| {
        r["rating"].as_i64().unwrap() <= 2
            && r["reviewText"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("crash")
            && r["isRevised"] == false
    }));
    for (op, ok) in [("gt", 4), ("ge", 5), ("lt", 2), ("eq", 5), ("ne", 5)] {
        let f = format!("rating {op} {ok}");
        let rows = s
            .rows(
                "reviews",
                &[
                    ("applicationId", APP),
                    ("startDate", &day(100)),
                    ("endDate", &end),
                    ("filter", &f),
                ],
            )
            .await;
        assert!(!rows.is_empty(), "{f}");
        for r in rows {
            let v = r["rating"].as_i64().unwrap();
            let holds = match op {
                "gt" => v > ok,
                "ge" => v >= ok,
                "lt" => v < ok,
                "eq" => v == ok,
                _ => v != ok,
            };
            assert!(holds, "{f}: {v}");
        }
    }
    // A non-filterable field and an ordering operator on a string are 400s naming what is allowed.
    let a = s
        .get(
            "appacquisitions",
            &[("applicationId", APP), ("filter", "rating gt 3")],
        )
        .await;
    let data = store_error(&a, 400, "BadRequest");
    assert!(
        data[0].contains("not filterable; filterable: acquisitionType, ageGroup"),
        "{data:?}"
    );
    let a = s
        .get(
            "appacquisitions",
            &[("applicationId", APP), ("filter", "market gt 'US'")],
        )
        .await;
    assert!(
        store_error(&a, 400, "BadRequest")[0].contains("operator 'gt' does not apply to 'market'")
    );
}

/// Detail methods (one row per review, CAB, insight): every filter field
/// with eq keeps exactly the rows with that value, and eq + ne = all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_field_of_detail_methods() {
    let s = Store::start().await;
    let (hash, _) = failure_ids(&s, "", Some(APP)).await;
    let (desktop_hash, _) = failure_ids(&s, "desktop/", Some(DESKTOP)).await;
    let start = day(60);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "reviews",
            vec![("applicationId", APP), ("startDate", &start)],
        ),
        (
            "failuredetails",
            vec![("applicationId", APP), ("failureHash", &hash)],
        ),
        (
            "desktop/failuredetails",
            vec![("applicationId", DESKTOP), ("failureHash", &desktop_hash)],
        ),
        ("insights", vec![("applicationId", APP)]),
    ];
    let mut checked = 0;
    for (method, base) in cases {
        let m = METHODS.iter().find(|m| m.path == method).unwrap();
        let all = s.rows(method, &base).await;
        assert!(!all.is_empty(), "{method}");
        if method == "reviews" {
            // Reviews show the submission time as the samples do.
            let date = all[0]["date"].as_str().unwrap();
            assert!(
                date.contains('/') && (date.ends_with(" AM") || date.ends_with(" PM")),
                "{date}"
            );
        }
        for field in m.filter {
            let Some(value) = all.iter().find_map(|r| match &r[*field] {
                Value::String(v) if !v.is_empty() => Some(format!("'{}'", v.replace('\'', "''"))),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }) else {
                continue;
            };
            // Dates compare as dates: the rows print them with a time.
            let value = if *field == "date" {
                format!("'{}'", &value[1..11])
            } else {
                value
            };
            let f_eq = format!("{field} eq {value}");
            let mut eq = base.clone();
            eq.push(("filter", &f_eq));
            let eq_rows = s.rows(method, &eq).await;
            assert!(!eq_rows.is_empty(), "{method} {f_eq}");
            if *field != "date" {
                for r in &eq_rows {
                    let got = match &r[*field] {
                        Value::String(v) => format!("'{}'", v.replace('\'', "''")),
                        other => other.to_string(),
                    };
                    assert!(got.eq_ignore_ascii_case(&value), "{method} {f_eq}: {got}");
                }
            }
            let f_ne = format!("{field} ne {value}");
            let mut ne = base.clone();
            ne.push(("filter", &f_ne));
            let ne_rows = s.rows(method, &ne).await;
            let nulls = all.iter().filter(|r| r[*field].is_null()).count();
            assert_eq!(
                eq_rows.len() + ne_rows.len() + nulls,
                all.len(),
                "{method} {field}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} fields checked");
}
