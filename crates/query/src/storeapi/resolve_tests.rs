//! Unit tests of `resolve`: the method table against the catalog, a
//! documented request, the errors' wording, clamping, bucket starts.

use super::*;
use crate::plan::DateUnit;
use crate::storeapi::methods;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn params(q: &str) -> StoreParams {
    StoreParams::new(form_pairs(q))
}

fn form_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_catalog_loads_and_every_method_names_real_columns() {
    let catalog = store_catalog();
    for m in methods::METHODS {
        let d = catalog
            .dataset(m.dataset)
            .unwrap_or_else(|| panic!("{}: dataset {}", m.label(), m.dataset));
        let all = m
            .filter
            .iter()
            .chain(m.order)
            .chain(m.group)
            .chain(if m.stored == Stored::Rows {
                &[][..]
            } else {
                m.always
            })
            .chain(m.measures.iter().map(|(w, _)| w))
            .chain(m.fields);
        for wire in all {
            assert!(
                d.stored_column(&m.column_of(wire)).is_some(),
                "{}: field {wire} has no column in {}",
                m.label(),
                m.dataset
            );
        }
        for (c, _) in m.fixed {
            assert!(d.stored_column(c).is_some(), "{}: fixed {c}", m.label());
        }
    }
}

#[test]
fn a_documented_request_resolves() {
    let m = methods::find("appacquisitions", None).unwrap();
    let q = resolve(
        m,
        &params("applicationId=9NBLGGGZ5QDR&startDate=1/1/2026&endDate=2/1/2026&top=10&skip=0&filter=market eq 'US' and gender eq 'm'&orderby=date desc&groupby=date,market&aggregationLevel=week"),
        today(),
    )
    .unwrap();
    assert_eq!(q.top, 10);
    assert_eq!(q.plan.group_by, ["applicationId", "market"]);
    assert_eq!(q.plan.rollup.as_ref().unwrap().unit, Some(DateUnit::Week));
    assert!(
        q.fields
            .iter()
            .any(|f| f.wire == "date" && matches!(f.source, FieldSource::Output(_)))
    );
}

#[test]
fn errors_name_the_parameter_and_the_allowed_values() {
    let m = methods::find("appacquisitions", None).unwrap();
    let e = resolve(m, &params("applicationId=X&top=10001"), today()).unwrap_err();
    assert_eq!(e[0].message, "top parameter cannot be more than 10000");
    let e = resolve(m, &params("applicationId=X&aggregationLevel=year"), today()).unwrap_err();
    assert!(
        e[0].message
            .contains("aggregationLevel must be one of day, week, month")
    );
    let e = resolve(m, &params("applicationId=X&filter=foo eq 'x'"), today()).unwrap_err();
    assert!(
        e[0].message.starts_with(
            "filter field 'foo' (at character 1) is not filterable; filterable: acquisitionType"
        ),
        "{}",
        e[0].message
    );
    let e = resolve(
        m,
        &params("applicationId=X&startDate=2026-02-01&endDate=2026-01-01"),
        today(),
    )
    .unwrap_err();
    assert!(e[0].message.contains("after endDate"));
    let e = resolve(m, &params(""), today()).unwrap_err();
    assert_eq!(e[0].param, "applicationId");
}

#[test]
fn retention_and_far_dates_are_clamped() {
    let m = methods::find("usagedaily", None).unwrap();
    let q = resolve(
        m,
        &params("applicationId=X&startDate=01/01/0001&endDate=12/31/9999"),
        today(),
    )
    .unwrap();
    assert_eq!(q.start, today() - Duration::days(90));
    assert_eq!(q.end, today());
    let m = methods::find("acquisitions", None).unwrap();
    let q = resolve(m, &params("applicationId=X&startDate=1/1/2015"), today()).unwrap();
    assert_eq!(q.start.to_string(), "2016-10-01");
}

#[test]
fn week_and_month_levels_of_per_grain_data_start_at_their_bucket() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let m = methods::find("usagemonthly", None).unwrap();
    let q = resolve(
        m,
        &params("applicationId=X&startDate=2026-11-04&endDate=2026-12-02"),
        today,
    )
    .unwrap();
    assert_eq!(q.start.to_string(), "2026-11-01");
    let m = methods::find("failurehits", None).unwrap();
    let q = resolve(
        m,
        &params("applicationId=X&startDate=2026-11-26&aggregationLevel=week"),
        today,
    )
    .unwrap();
    assert_eq!(q.start.to_string(), "2026-11-23", "the Monday of that week");
    // Day-level and summed data keep the date asked for.
    let q = resolve(m, &params("applicationId=X&startDate=2026-11-26"), today).unwrap();
    assert_eq!(q.start.to_string(), "2026-11-26");
}
