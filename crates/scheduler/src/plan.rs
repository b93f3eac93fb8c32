//! Schedule arithmetic on the service clock.

use chrono::{DateTime, Duration, Utc};
use store::Report;

/// The index of the slot due at `due` (0 for the first).
pub fn slot_of(report: &Report, due: DateTime<Utc>) -> i64 {
    let step = report.recurrence_interval.saturating_mul(3600);
    if step <= 0 || due <= report.start_time {
        return 0;
    }
    (due - report.start_time).num_seconds() / step
}

/// The due time of slot `k`, if the recurrence count leaves it.
pub fn slot(report: &Report, k: i64) -> Option<DateTime<Utc>> {
    if report.recurrence_interval <= 0 || report.recurrence_count.is_some_and(|c| k >= c) || k < 0 {
        return None;
    }
    let secs = report
        .recurrence_interval
        .checked_mul(3600)?
        .checked_mul(k)?;
    report
        .start_time
        .checked_add_signed(Duration::seconds(secs))
}

/// The slot after the one due at `due` (None for one-off reports and when
/// the count is used up).
pub fn next_after(report: &Report, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if report.execute_now {
        return None;
    }
    slot(report, slot_of(report, due) + 1)
}

/// The first slot at or after `now` (resume: missed slots are skipped).
pub fn first_from(report: &Report, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let step = report.recurrence_interval.saturating_mul(3600);
    if step <= 0 {
        return None;
    }
    let k = if now <= report.start_time {
        0
    } else {
        ((now - report.start_time).num_seconds() + step - 1) / step
    };
    slot(report, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn report(count: Option<i64>) -> Report {
        Report {
            id: "r".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            description: String::new(),
            query_id: "q".into(),
            query_text: String::new(),
            created_by: "u".into(),
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            modified_at: None,
            execute_now: false,
            start_time: Utc.with_ymd_and_hms(2026, 1, 1, 4, 0, 0).unwrap(),
            status: store::ReportStatus::Active,
            recurrence_interval: 4,
            recurrence_count: count,
            callback_url: None,
            callback_method: store::CallbackMethod::Post,
            format: store::ReportFormat::Csv,
            query_start: None,
            query_end: None,
            restricted_access: false,
        }
    }

    #[test]
    fn slots() {
        let r = report(Some(3));
        let at = |h| Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap();
        assert_eq!(next_after(&r, at(4)), Some(at(8)));
        assert_eq!(next_after(&r, at(8)), Some(at(12)));
        assert_eq!(next_after(&r, at(12)), None);
        assert_eq!(first_from(&r, at(1)), Some(at(4)));
        assert_eq!(first_from(&r, at(5)), Some(at(8)));
        assert_eq!(first_from(&r, at(8)), Some(at(8)));
        assert_eq!(first_from(&r, at(13)), None);
        assert_eq!(
            first_from(&report(None), at(23)),
            Some(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap())
        );
    }
}
