//! The date inputs Store API clients send (spec §1.3): `m/d/yyyy`,
//! `yyyy-mm-dd`, `yyyy/m/d`, each optionally followed by a time
//! (`hh:mm:ss`, `h:mm:ss AM`, or ISO `Thh:mm:ss[.f][Z]`).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// The accepted forms, for error messages.
pub const DATE_FORMS: &str = "m/d/yyyy, yyyy-mm-dd, yyyy/mm/dd, optionally followed by a time (hh:mm:ss, h:mm:ss AM/PM, or ISO Thh:mm:ssZ)";

/// Parses one date input; `None` when it is not one of [`DATE_FORMS`].
pub fn parse_date_input(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    let (date_part, time_part) = match text.find(['T', ' ']) {
        Some(i) => (&text[..i], Some(text[i + 1..].trim())),
        None => (text, None),
    };
    let date = parse_day(date_part)?;
    let time = match time_part {
        None | Some("") => NaiveTime::MIN,
        Some(t) => parse_time(t)?,
    };
    Some(date.and_time(time))
}

fn numbers(s: &str, sep: char) -> Option<[u32; 3]> {
    let mut parts = s.split(sep);
    let mut out = [0u32; 3];
    for slot in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    if let Some([a, b, c]) = numbers(s, '-') {
        return NaiveDate::from_ymd_opt(a as i32, b, c);
    }
    let [a, b, c] = numbers(s, '/')?;
    if s.split('/').next().is_some_and(|first| first.len() == 4) {
        NaiveDate::from_ymd_opt(a as i32, b, c)
    } else {
        NaiveDate::from_ymd_opt(c as i32, a, b)
    }
}

fn parse_time(t: &str) -> Option<NaiveTime> {
    let upper = t.to_ascii_uppercase();
    let (clock, meridiem) = if let Some(rest) = upper.strip_suffix("AM") {
        (rest.trim(), Some(false))
    } else if let Some(rest) = upper.strip_suffix("PM") {
        (rest.trim(), Some(true))
    } else {
        (upper.trim_end_matches('Z'), None)
    };
    // Drop fractional seconds and an offset; the date is what matters.
    let clock = clock.split(['.', '+']).next()?;
    let mut parts = clock.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let s: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let h = match meridiem {
        None => h,
        Some(pm) if (1..=12).contains(&h) => (h % 12) + if pm { 12 } else { 0 },
        Some(_) => return None,
    };
    NaiveTime::from_hms_opt(h, m, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        parse_date_input(s)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "none".into())
    }

    #[test]
    fn every_documented_form() {
        assert_eq!(d("1/1/2015"), "2015-01-01 00:00:00");
        assert_eq!(d("06/19/2022"), "2022-06-19 00:00:00");
        assert_eq!(d("2018-08-10"), "2018-08-10 00:00:00");
        assert_eq!(d("2015/1/20"), "2015-01-20 00:00:00");
        assert_eq!(d("2018-08-10 13:00:00"), "2018-08-10 13:00:00");
        assert_eq!(d("8/1/2015 12:00:00 AM"), "2015-08-01 00:00:00");
        assert_eq!(d("8/1/2015 1:30:00 PM"), "2015-08-01 13:30:00");
        assert_eq!(d("01/01/0001"), "0001-01-01 00:00:00");
        assert_eq!(d("12/31/9999"), "9999-12-31 00:00:00");
        assert_eq!(d("2019-01-15T01:00:00.0000000Z"), "2019-01-15 01:00:00");
        assert_eq!(d("2/30/2020"), "none");
        assert_eq!(d("yesterday"), "none");
        assert_eq!(d("2020-01-01 25:00:00"), "none");
    }
}
