//! Which month partitions a time window reads, and which of them it
//! reads whole. A `month=YYYY-MM` partition holds only rows dated in that
//! month: every writer (the loader, the seeder, rollups, a range
//! replacement's rewrite) partitions by the row's date.

use chrono::NaiveDate;
use query::TimeWindow;

use super::filters::first_day_at_or_after;
use crate::ingest::partition_month;

/// The days `[first, next)` a `month=YYYY-MM` partition holds; `None`
/// for other partitions (`all`: any date, or none).
fn partition_days(partition: &str) -> Option<(NaiveDate, NaiveDate)> {
    let month = partition_month(partition)?;
    let next = month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    Some((month, next))
}

/// True when a partition may hold rows inside the window.
pub(super) fn partition_overlaps(partition: &str, w: &TimeWindow) -> bool {
    let Some((month, next)) = partition_days(partition) else {
        return true;
    };
    let starts_before_end = w.to.is_none_or(|to| month < first_day_at_or_after(to));
    let ends_after_start = w.from.is_none_or(|from| next > first_day_at_or_after(from));
    starts_before_end && ends_after_start
}

/// True when every row a partition may hold lies inside the window (the
/// window's test, [`super::filters::window_filter`], would keep them all).
pub(super) fn partition_within(partition: &str, w: &TimeWindow) -> bool {
    let Some((month, next)) = partition_days(partition) else {
        return false;
    };
    let starts_after_start = w
        .from
        .is_none_or(|from| month >= first_day_at_or_after(from));
    let ends_before_end = w.to.is_none_or(|to| next <= first_day_at_or_after(to));
    starts_after_start && ends_before_end
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn partition_pruning() {
        let w = TimeWindow {
            column: "Month".into(),
            from: Some(t("2024-02-01T00:00:00Z")),
            to: Some(t("2024-03-01T00:00:00Z")),
        };
        assert!(!partition_overlaps("month=2024-01", &w));
        assert!(partition_overlaps("month=2024-02", &w));
        assert!(!partition_overlaps("month=2024-03", &w));
        assert!(partition_overlaps("all", &w));
        let today = TimeWindow {
            column: "Month".into(),
            from: Some(t("2024-03-05T00:00:00Z")),
            to: Some(t("2024-03-05T10:00:00Z")),
        };
        assert!(partition_overlaps("month=2024-03", &today));
        assert!(!partition_overlaps("month=2024-04", &today));
    }

    #[test]
    fn partitions_wholly_inside_a_window_need_no_row_test() {
        let months = TimeWindow {
            column: "Month".into(),
            from: Some(t("2024-02-01T00:00:00Z")),
            to: Some(t("2024-04-01T00:00:00Z")),
        };
        assert!(!partition_within("month=2024-01", &months));
        assert!(partition_within("month=2024-02", &months));
        assert!(partition_within("month=2024-03", &months));
        assert!(!partition_within("month=2024-04", &months));
        // Rows of any date, or none.
        assert!(!partition_within("all", &months));
        // A window cutting a month: its partition needs the test.
        let days = TimeWindow {
            column: "Date".into(),
            from: Some(t("2024-02-10T00:00:00Z")),
            to: Some(t("2024-03-31T00:00:00Z")),
        };
        assert!(!partition_within("month=2024-02", &days));
        assert!(!partition_within("month=2024-03", &days));
        // A bound inside a day counts from the next day, as the test does.
        let late = TimeWindow {
            column: "Date".into(),
            from: Some(t("2024-01-31T12:00:00Z")),
            to: None,
        };
        assert!(partition_within("month=2024-02", &late));
        assert!(!partition_within("month=2024-01", &late));
        let unbounded = TimeWindow {
            column: "Date".into(),
            from: None,
            to: None,
        };
        assert!(partition_within("month=2024-01", &unbounded));
    }
}
