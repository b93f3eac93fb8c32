//! "Did you mean": the closest name by edit distance (optimal string
//! alignment, so a swapped pair of letters counts once), compared without
//! regard to case. Ties go to the alphabetically first name, so suggestions
//! are deterministic whatever order the catalog lists names in.

/// Longest input (in bytes) for which suggestions are computed.
const MAX_SUGGESTABLE_LEN: usize = 128;

/// The candidate closest to `input`, if it is close enough to be a likely
/// typo: at most 2 edits, or at most half the longer name's length.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // No catalog name is this long; refusing early keeps hostile input cheap
    // (the distance costs the product of both lengths).
    if input.len() > MAX_SUGGESTABLE_LEN {
        return None;
    }
    let input_lower = input.to_lowercase();
    let input_len = input_lower.chars().count();
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let candidate_len = lower.chars().count();
            let longest = input_len.max(candidate_len);
            let allowed = (longest / 2).max(2);
            // The distance is at least the difference in length: skip the
            // quadratic computation when that alone is too far.
            if input_len.abs_diff(candidate_len) > allowed {
                return None;
            }
            let distance = strsim::osa_distance(&input_lower, &lower);
            (distance <= allowed && distance < longest).then_some((distance, lower, candidate))
        })
        .min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)))
        .map(|(_, _, candidate)| candidate)
}

/// A keyword the word is a near miss of (`FORM` → `FROM`): stricter than
/// [`closest`], since any name could otherwise look like a short keyword.
pub fn keyword<'a>(word: &str, keywords: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    keywords
        .into_iter()
        .filter(|k| {
            let distance = strsim::osa_distance(&word_lower, &k.to_lowercase());
            distance >= 1 && distance <= 1.max(k.len() / 4)
        })
        .min_by_key(|k| strsim::osa_distance(&word_lower, &k.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        let office = [
            "PGAMpnId",
            "CustomerTenantId",
            "CustomerTpid",
            "WorkloadName",
            "Month",
            "PaidAvailableUnits",
            "MonthlyActiveUsers",
            "CustomerName",
            "CustomerMarket",
            "CustomerSegment",
            "CustomerCount",
            "CustomerTenantCount",
        ];
        assert_eq!(closest("Custmer", office), Some("CustomerName"));
        assert_eq!(
            closest("OficeUsage", ["Profile", "OfficeUsage"]),
            Some("OfficeUsage")
        );
    }

    #[test]
    fn unrelated_names_get_no_suggestion() {
        assert_eq!(closest("abc", ["SKU", "Month"]), None);
        assert_eq!(closest("x", ["y"]), None);
    }

    #[test]
    fn keyword_near_misses() {
        assert_eq!(keyword("FORM", ["FROM"]), Some("FROM"));
        assert_eq!(keyword("b", ["FROM"]), None);
        assert_eq!(keyword("TIMESPN", ["LIMIT", "TIMESPAN"]), Some("TIMESPAN"));
    }
}
