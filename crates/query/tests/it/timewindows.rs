//! The spec's table of TIMESPAN windows at month and year boundaries, leap
//! days, and the first and last second of a month.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use query::{Catalog, DateRange};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn window(range: DateRange, at: &str) -> (String, String) {
    let show = |x: Option<DateTime<Utc>>| {
        x.map_or("-".into(), |x| x.format("%Y-%m-%dT%H:%M:%S").to_string())
    };
    let (from, to) = range.bounds(t(at));
    (show(from), show(to))
}

fn days(from: &str, to: &str) -> (String, String) {
    (format!("{from}T00:00:00"), format!("{to}T00:00:00"))
}

#[test]
fn first_second_of_a_month() {
    let at = "2024-03-01T00:00:00Z";
    assert_eq!(
        window(DateRange::Today, at),
        ("2024-03-01T00:00:00".into(), "2024-03-01T00:00:00".into())
    );
    // The day before 1 March 2024 is the leap day.
    assert_eq!(
        window(DateRange::Yesterday, at),
        days("2024-02-29", "2024-03-01")
    );
    assert_eq!(
        window(DateRange::LastMonth, at),
        days("2024-02-01", "2024-03-01")
    );
    assert_eq!(
        window(DateRange::Last7Days, at),
        days("2024-02-23", "2024-03-01")
    );
    assert_eq!(
        window(DateRange::Last30Days, at),
        days("2024-01-31", "2024-03-01")
    );
    assert_eq!(
        window(DateRange::Last3Months, at),
        days("2023-12-01", "2024-03-01")
    );
}

#[test]
fn last_second_of_a_leap_february() {
    let at = "2024-02-29T23:59:59Z";
    assert_eq!(
        window(DateRange::Today, at),
        ("2024-02-29T00:00:00".into(), "2024-02-29T23:59:59".into())
    );
    assert_eq!(
        window(DateRange::Yesterday, at),
        days("2024-02-28", "2024-02-29")
    );
    assert_eq!(
        window(DateRange::Last7Days, at),
        days("2024-02-22", "2024-02-29")
    );
    assert_eq!(
        window(DateRange::LastMonth, at),
        days("2024-01-01", "2024-02-01")
    );
    assert_eq!(
        window(DateRange::Last1Year, at),
        days("2023-02-01", "2024-02-01")
    );
    assert_eq!(
        window(DateRange::Last365Days, at),
        days("2023-03-01", "2024-02-29")
    );
}

#[test]
fn year_boundaries() {
    let at = "2025-01-01T00:00:00Z";
    assert_eq!(
        window(DateRange::LastMonth, at),
        days("2024-12-01", "2025-01-01")
    );
    assert_eq!(
        window(DateRange::Last3Months, at),
        days("2024-10-01", "2025-01-01")
    );
    assert_eq!(
        window(DateRange::Last6Months, at),
        days("2024-07-01", "2025-01-01")
    );
    // 2024 has 366 days: 365 days before 1 January 2025 is 2 January 2024.
    assert_eq!(
        window(DateRange::Last365Days, at),
        days("2024-01-02", "2025-01-01")
    );
    let at = "2024-12-31T23:59:59Z";
    assert_eq!(
        window(DateRange::LastMonth, at),
        days("2024-11-01", "2024-12-01")
    );
    assert_eq!(
        window(DateRange::Last1Year, at),
        days("2023-12-01", "2024-12-01")
    );
    assert_eq!(
        window(DateRange::Last2Years, at),
        days("2022-12-01", "2024-12-01")
    );
    assert_eq!(
        window(DateRange::Last3Years, at),
        days("2021-12-01", "2024-12-01")
    );
    let at = "2025-01-15T08:00:00Z";
    assert_eq!(
        window(DateRange::LastMonth, at),
        days("2024-12-01", "2025-01-01")
    );
    assert_eq!(
        window(DateRange::Last14Days, at),
        days("2025-01-01", "2025-01-15")
    );
    assert_eq!(
        window(DateRange::Last90Days, at),
        days("2024-10-17", "2025-01-15")
    );
    assert_eq!(
        window(DateRange::Last180Days, at),
        days("2024-07-19", "2025-01-15")
    );
}

#[test]
fn end_of_a_31_day_month() {
    let at = "2025-03-31T12:00:00Z";
    assert_eq!(
        window(DateRange::Last30Days, at),
        days("2025-03-01", "2025-03-31")
    );
    assert_eq!(
        window(DateRange::LastMonth, at),
        days("2025-02-01", "2025-03-01")
    );
    assert_eq!(
        window(DateRange::Last6Months, at),
        days("2024-09-01", "2025-03-01")
    );
    assert_eq!(window(DateRange::Lifetime, at), ("-".into(), "-".into()));
}

#[test]
fn window_depends_on_the_dataset() {
    let catalog = query::builtin();
    let office = catalog.dataset("OfficeUsage").unwrap();
    let w = query::window(DateRange::LastMonth, t("2024-03-10T10:00:00Z"), office).unwrap();
    assert_eq!(w.column, "Month");
    assert!(w.contains(t("2024-02-01T00:00:00Z")));
    assert!(
        !w.contains(t("2024-03-01T00:00:00Z")),
        "half-open: the end is excluded"
    );
    assert!(!w.contains(t("2024-01-31T00:00:00Z")));
    let learn = catalog.dataset("MSLearn").unwrap();
    assert_eq!(
        query::window(DateRange::LastMonth, t("2024-03-10T10:00:00Z"), learn)
            .unwrap()
            .column,
        "CompletionDate"
    );
    let profile = catalog.dataset("Profile").unwrap();
    assert_eq!(
        query::window(DateRange::Lifetime, t("2024-03-10T10:00:00Z"), profile),
        None
    );
}

proptest! {
    #[test]
    fn windows_are_well_formed(secs in 0i64..4_102_444_800, range_idx in 0usize..14) {
        let at = DateTime::from_timestamp(secs, 0).unwrap();
        let range = DateRange::ALL[range_idx];
        let (from, to) = range.bounds(at);
        let (from, to) = (from.unwrap(), to.unwrap());
        prop_assert!(from <= to);
        prop_assert!(to <= at);
        prop_assert!(at - to < chrono::Duration::days(31));
        prop_assert_eq!(from.time(), chrono::NaiveTime::MIN);
    }
}
