//! The Store API's request language: resolved plans and diagnostics are
//! pinned as snapshots; hostile filters never panic.

use chrono::NaiveDate;
use proptest::prelude::*;
use query::storeapi::{StoreParams, methods, resolve};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

/// `method?query` resolved: the plan, or every error message.
fn run(request: &str) -> String {
    let (path, query) = request.split_once('?').unwrap_or((request, ""));
    let params = StoreParams::new(form_urlencoded::parse(query.as_bytes()).into_owned());
    let Some(method) = methods::find(path, params.get("metricType")) else {
        return format!("no method {path}");
    };
    match resolve(method, &params, today()) {
        Ok(q) => {
            let fields: Vec<String> = q
                .fields
                .iter()
                .map(|f| format!("{}={:?}", f.wire, f.source))
                .collect();
            format!(
                "{}window: {} .. {}\ntop {} skip {} level {}\nfields: {}\n",
                q.plan,
                q.start,
                q.end,
                q.top,
                q.skip,
                q.level,
                fields.join(", ")
            )
        }
        Err(errors) => errors
            .iter()
            .map(|e| format!("[{}] {}\n", e.param, e.message))
            .collect(),
    }
}

const ACCEPTED: &[(&str, &str)] = &[
    (
        "appacquisitions_week_market",
        "appacquisitions?applicationId=9NBLGGGZ5QDR&startDate=1/1/2026&endDate=2/1/2026&top=10&skip=0&filter=market%20eq%20%27US%27%20and%20gender%20eq%20%27m%27&orderby=date%20desc&groupby=date,market&aggregationLevel=week",
    ),
    (
        "appacquisitions_ungrouped",
        "appacquisitions?applicationId=9NBLGGGZ5QDR",
    ),
    (
        "failurehits_hour",
        "failurehits?applicationId=9NBLGGGZ5QDR&startDate=2026-11-18%2000:00:00&endDate=2026-11-20%2023:00:00&aggregationLevel=hour&groupby=failureName,failureHash",
    ),
    (
        "usagedaily_clamped",
        "usagedaily?applicationId=9NBLGGGZ5QDR&startDate=01/01/0001&endDate=12/31/9999",
    ),
    (
        "reviews_operators",
        "reviews?applicationId=9NBLGGGZ5QDR&$filter=(market%20ne%20%27US%27)%20and%20(rating%20ge%204%20or%20contains(reviewText,%27great%27))%20and%20isRevised%20eq%20true",
    ),
    (
        "inappacquisitions_product_wins",
        "inappacquisitions?applicationId=9NBLGGGZ5QDR&inAppProductId=9NBLGGH4TNMP&groupby=inAppProductName",
    ),
    (
        "subscriptions_states",
        "subscriptions?applicationId=9NBLGGGZ5QDR&startDate=2026-11-01&endDate=2026-11-19&groupby=date&aggregationLevel=week",
    ),
    (
        "gameanalytics_concurrency",
        "gameanalytics?applicationId=9NBLGGGZ5QDR&metricType=concurrency&aggregationLevel=minute",
    ),
];

const REFUSED: &[(&str, &str)] = &[
    ("top_over_max", "appacquisitions?applicationId=X&top=10001"),
    (
        "everything_wrong",
        "appacquisitions?top=x&skip=-3&aggregationLevel=year&startDate=13/45/2020&groupby=rating&orderby=date%20up",
    ),
    (
        "filter_unknown_field",
        "installs?applicationId=X&filter=foo%20eq%20%27x%27",
    ),
    (
        "filter_syntax",
        "installs?applicationId=X&filter=market%20eq%20%27US%27%20and",
    ),
    (
        "filter_operator",
        "installs?applicationId=X&filter=market%20gt%20%27US%27",
    ),
    (
        "filter_contains",
        "installs?applicationId=X&filter=contains(market,%27U%27)",
    ),
    (
        "filter_value_type",
        "reviews?applicationId=X&filter=rating%20eq%20%27five%27",
    ),
    (
        "filter_unclosed",
        "installs?applicationId=X&filter=(market%20eq%20%27US%27",
    ),
    (
        "start_after_end",
        "installs?applicationId=X&startDate=2026-02-01&endDate=2026-01-01",
    ),
    ("missing_required", "failuredetails?applicationId=X"),
    (
        "orderby_not_grouped",
        "installs?applicationId=X&orderby=market",
    ),
];

#[test]
fn accepted_requests() {
    for (name, request) in ACCEPTED {
        insta::assert_snapshot!(format!("accepted_{name}"), run(request), request);
    }
}

#[test]
fn refused_requests() {
    for (name, request) in REFUSED {
        insta::assert_snapshot!(format!("refused_{name}"), run(request), request);
    }
}

proptest! {
    #[test]
    fn any_filter_text_resolves_or_fails_cleanly(text in ".{0,200}") {
        let m = methods::find("reviews", None).unwrap();
        let params = StoreParams::new(vec![
            ("applicationId".to_string(), "X".to_string()),
            ("filter".to_string(), text),
        ]);
        let _ = resolve(m, &params, today());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed(depth in 0usize..5000) {
        let text = format!("{}market eq 'US'{}", "(".repeat(depth), ")".repeat(depth));
        let r = query::storeapi::filter::parse_filter(&text);
        prop_assert_eq!(r.is_ok(), depth <= query::storeapi::filter::MAX_DEPTH);
    }
}
