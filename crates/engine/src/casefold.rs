//! Case-insensitive string tests in one pass over a string column:
//! equality, IN lists and LIKE patterns whose only wildcards are `%` at
//! the ends (prefix, suffix, contains). The engine's semantics are "both
//! sides lower-cased"; here the pattern is lower-cased once and each value
//! is compared byte by byte with ASCII folding when it is ASCII (the
//! common case, where that is exactly its lower-casing), else through
//! `str::to_lowercase`. No lower-cased copy of the column is made, and
//! no pass over the whole column precedes the test (Arrow's ILIKE checks
//! the whole column for ASCII first: a sixth of a LIKE query's time).
//!
//! A fold is a row filter's test and nothing else: a null value fails it,
//! negated or not (as in SQL), and the answer is false rather than null.
//! Filters are AND/OR trees with any NOT inside the tests, where a null
//! and a false answer drop the same rows; a null-free answer lets
//! DataFusion's AND evaluate the tests after it only on the rows it keeps
//! (its pre-selection is off for a left side holding nulls).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// How a value is tested against the lower-cased pattern text(s).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Fold {
    /// Equal to one of them (one for `=`, several for IN).
    AnyOf(Vec<String>),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    /// Every non-null value (the pattern `%`).
    Any,
}

impl Fold {
    /// How costly the test is per value, relative to the others (an AND
    /// evaluates its cheaper tests first).
    pub fn cost(&self) -> u8 {
        match self {
            Fold::Any => 0,
            Fold::AnyOf(_) => 1,
            Fold::StartsWith(_) | Fold::EndsWith(_) => 2,
            Fold::Contains(_) => 3,
        }
    }

    /// The test a LIKE pattern stands for when its only wildcards are `%`
    /// at either end (no `_`, no escapes); `None` for other patterns.
    pub fn of_like(pattern: &str) -> Option<Fold> {
        let core = pattern.trim_start_matches('%');
        let leading = core.len() != pattern.len();
        let inner = core.trim_end_matches('%');
        let trailing = inner.len() != core.len();
        if inner.contains(['%', '_', '\\']) {
            return None;
        }
        let text = inner.to_lowercase();
        Some(match (leading, trailing) {
            _ if text.is_empty() && (leading || trailing) => Fold::Any,
            (false, false) => Fold::AnyOf(vec![text]),
            (false, true) => Fold::StartsWith(text),
            (true, false) => Fold::EndsWith(text),
            (true, true) => Fold::Contains(text),
        })
    }

    /// Whether `value`, lower-cased, passes. Its bytes are compared with
    /// ASCII folding first: a match that way is a match (the pattern is
    /// lower-case, and lower-casing keeps it so), and a miss is a miss for
    /// an ASCII value; only a non-ASCII value that missed is lower-cased
    /// and compared again.
    fn test(&self, value: &str) -> bool {
        self.test_bytes(value.as_bytes(), true)
            || (self.may_fold_differently(value.as_bytes())
                && self.test_bytes(value.to_lowercase().as_bytes(), false))
    }

    /// Whether lower-casing could change the answer ASCII folding gave:
    /// only where the bytes compared hold a non-ASCII character. (The
    /// lower-casing of a value's trailing ASCII characters is their ASCII
    /// folding whatever precedes them, and likewise for leading ones.)
    fn may_fold_differently(&self, value: &[u8]) -> bool {
        match self {
            Fold::StartsWith(t) => !value[..t.len().min(value.len())].is_ascii(),
            Fold::EndsWith(t) => !value[value.len().saturating_sub(t.len())..].is_ascii(),
            Fold::AnyOf(_) | Fold::Contains(_) | Fold::Any => !value.is_ascii(),
        }
    }

    /// `value` is lower-case already unless `fold` (then ASCII folding).
    fn test_bytes(&self, value: &[u8], fold: bool) -> bool {
        let eq = |a: &[u8], b: &[u8]| if fold { fold_eq(a, b) } else { a == b };
        match self {
            Fold::AnyOf(texts) => texts.iter().any(|t| eq(value, t.as_bytes())),
            Fold::StartsWith(t) => value.len() >= t.len() && eq(&value[..t.len()], t.as_bytes()),
            Fold::EndsWith(t) => {
                value.len() >= t.len() && eq(&value[value.len() - t.len()..], t.as_bytes())
            }
            Fold::Contains(t) => {
                t.is_empty() || value.windows(t.len()).any(|w| eq(w, t.as_bytes()))
            }
            Fold::Any => true,
        }
    }

    /// The filter test of `input` (negated: NOT; a null fails either way,
    /// and the answer is false, never null: see the module doc).
    pub fn call(self, input: Expr, negated: bool) -> Expr {
        ScalarUDF::new_from_impl(FoldMatch::new(self, negated)).call(vec![input])
    }
}

/// The scalar function: one string argument, a boolean result.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FoldMatch {
    fold: Fold,
    negated: bool,
    signature: Signature,
}

impl FoldMatch {
    fn new(fold: Fold, negated: bool) -> FoldMatch {
        FoldMatch {
            fold,
            negated,
            signature: Signature::string(1, Volatility::Immutable),
        }
    }

    fn evaluate(&self, array: &ArrayRef) -> datafusion::common::Result<ArrayRef> {
        // One loop per kind of test, so the test inlines into it.
        let slow = |v: &[u8]| {
            std::str::from_utf8(v)
                .is_ok_and(|v| self.fold.test_bytes(v.to_lowercase().as_bytes(), false))
        };
        match &self.fold {
            Fold::EndsWith(t) => self.evaluate_with(array, |v| {
                let tail = &v[v.len().saturating_sub(t.len())..];
                (tail.len() == t.len() && fold_eq(tail, t.as_bytes()))
                    || (!tail.is_ascii() && slow(v))
            }),
            Fold::StartsWith(t) => self.evaluate_with(array, |v| {
                let head = &v[..t.len().min(v.len())];
                (head.len() == t.len() && fold_eq(head, t.as_bytes()))
                    || (!head.is_ascii() && slow(v))
            }),
            Fold::AnyOf(ts) => self.evaluate_with(array, |v| {
                ts.iter().any(|t| fold_eq(v, t.as_bytes())) || (!v.is_ascii() && slow(v))
            }),
            Fold::Contains(_) | Fold::Any => self.evaluate_with(array, |v| {
                std::str::from_utf8(v).is_ok_and(|v| self.fold.test(v))
            }),
        }
    }

    /// `test` (on a value's bytes) over a string column, negated if asked.
    fn evaluate_with(
        &self,
        array: &ArrayRef,
        test: impl Fn(&[u8]) -> bool,
    ) -> datafusion::common::Result<ArrayRef> {
        let n = array.len();
        let negated = self.negated;
        let values = match array.data_type() {
            DataType::Utf8View => {
                let a = array.as_string_view();
                let views = a.views();
                let mut memo = ViewMemo::default();
                let mut test_at =
                    |i: usize| memo.answer(views[i], || test(a.value(i).as_bytes())) != negated;
                if array.null_count() == 0 {
                    BooleanBuffer::collect_bool(n, test_at)
                } else {
                    BooleanBuffer::collect_bool(n, |i| a.is_valid(i) && test_at(i))
                }
            }
            DataType::Utf8 => {
                let a = array.as_string::<i32>();
                BooleanBuffer::collect_bool(n, |i| {
                    a.is_valid(i) && test(a.value(i).as_bytes()) != negated
                })
            }
            DataType::LargeUtf8 => {
                let a = array.as_string::<i64>();
                BooleanBuffer::collect_bool(n, |i| {
                    a.is_valid(i) && test(a.value(i).as_bytes()) != negated
                })
            }
            DataType::Null => BooleanBuffer::new_unset(n),
            other => return exec_err!("a case-insensitive test of a {other} column"),
        };
        Ok(Arc::new(BooleanArray::new(values, None)))
    }
}

/// Answers remembered by string view, for the columns that repeat a few
/// values (read from dictionary-encoded pages: markets, products): within
/// one array equal views are equal values (a view holds a short value's
/// bytes, else its length, prefix, buffer and offset), so a remembered
/// answer is exact. Direct-mapped; it stops looking once most lookups
/// miss (a column of names or ids), leaving the test alone.
struct ViewMemo {
    /// View and answer + 1 (0: empty).
    slots: [(u128, u8); MEMO_SLOTS],
    lookups: u32,
    misses: u32,
}

const MEMO_SLOTS: usize = 128;
/// Lookups after which the memo gives up if more than half of them missed.
const MEMO_TRIAL: u32 = 1024;

impl Default for ViewMemo {
    fn default() -> Self {
        ViewMemo {
            slots: [(0, 0); MEMO_SLOTS],
            lookups: 0,
            misses: 0,
        }
    }
}

impl ViewMemo {
    #[inline(always)]
    fn answer(&mut self, view: u128, test: impl FnOnce() -> bool) -> bool {
        // Past the trial the count stops here if the memo gave up (and
        // runs on, never equal to the trial again, if it did not).
        if self.lookups == MEMO_TRIAL && self.misses > MEMO_TRIAL / 2 {
            return test();
        }
        self.lookups = self.lookups.saturating_add(1);
        let mixed = (view as u64) ^ ((view >> 64) as u64).rotate_left(29);
        let slot = (mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 57) as usize % MEMO_SLOTS;
        let (seen, answer) = self.slots[slot];
        if answer != 0 && seen == view {
            return answer == 2;
        }
        self.misses = self.misses.saturating_add(1);
        let result = test();
        self.slots[slot] = (view, u8::from(result) + 1);
        result
    }
}

/// `a`, ASCII-folded, equals the lower-case `b` byte for byte.
#[inline(always)]
fn fold_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_ascii_lowercase() == *y)
}

impl ScalarUDFImpl for FoldMatch {
    fn name(&self) -> &str {
        match (&self.fold, self.negated) {
            (Fold::AnyOf(_), false) => "ci_in",
            (Fold::AnyOf(_), true) => "ci_not_in",
            (_, false) => "ci_like",
            (_, true) => "ci_not_like",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let [input] = args.args.as_slice() else {
            return exec_err!("{} takes one argument", self.name());
        };
        Ok(match input {
            ColumnarValue::Array(array) => ColumnarValue::Array(self.evaluate(array)?),
            ColumnarValue::Scalar(scalar) => {
                let array = scalar.to_array_of_size(1)?;
                let out = self.evaluate(&array)?;
                ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringViewArray;

    fn run(fold: Fold, negated: bool, values: &[Option<&str>]) -> Vec<Option<bool>> {
        let array: ArrayRef = Arc::new(StringViewArray::from(values.to_vec()));
        let out = FoldMatch::new(fold, negated).evaluate(&array).unwrap();
        out.as_boolean().iter().collect()
    }

    #[test]
    fn like_patterns_with_end_wildcards_become_folds() {
        let of = |p: &str| Fold::of_like(p);
        assert_eq!(of("%LTD"), Some(Fold::EndsWith("ltd".into())));
        assert_eq!(of("Con%"), Some(Fold::StartsWith("con".into())));
        assert_eq!(of("%so%"), Some(Fold::Contains("so".into())));
        assert_eq!(of("%%x%%"), Some(Fold::Contains("x".into())));
        assert_eq!(of("Exact"), Some(Fold::AnyOf(vec!["exact".into()])));
        assert_eq!(of("%"), Some(Fold::Any));
        assert_eq!(of("%%"), Some(Fold::Any));
        assert_eq!(of(""), Some(Fold::AnyOf(vec![String::new()])));
        assert_eq!(of("a_c"), None);
        assert_eq!(of("a%c"), None);
        assert_eq!(of("%a\\%"), None);
    }

    #[test]
    fn values_compare_lower_cased_and_nulls_fail() {
        let values = [
            Some("Contoso Ltd"),
            Some("contoso ltd."),
            Some("LTD"),
            None,
            Some("Müller LTD"),
            Some("ÄRGER"),
            Some(""),
        ];
        assert_eq!(
            run(Fold::EndsWith("ltd".into()), false, &values),
            [
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                Some(false)
            ]
        );
        assert_eq!(
            run(Fold::EndsWith("ltd".into()), true, &values)[..4],
            [Some(false), Some(true), Some(false), Some(false)]
        );
        // Non-ASCII values and patterns compare through to_lowercase.
        assert_eq!(
            run(
                Fold::AnyOf(vec!["ärger".into(), "ltd".into()]),
                false,
                &values
            ),
            [
                Some(false),
                Some(false),
                Some(true),
                Some(false),
                Some(false),
                Some(true),
                Some(false)
            ]
        );
        assert_eq!(
            run(Fold::StartsWith("mü".into()), false, &values)[4],
            Some(true)
        );
        assert_eq!(
            run(Fold::Contains("so l".into()), false, &values)[..3],
            [Some(true), Some(true), Some(false)]
        );
        assert_eq!(
            run(Fold::Any, false, &values)[3..5],
            [Some(false), Some(true)]
        );
    }

    /// Columns repeating a few values (short and long, deduplicated so
    /// equal long values share their bytes) and columns of distinct values
    /// (where the memo gives up) answer as value-by-value tests do.
    #[test]
    fn remembered_answers_equal_tested_ones() {
        use datafusion::arrow::array::StringViewBuilder;
        let words = [
            "Germany",
            "GERMANY",
            "germany ltd",
            "Contoso International Holdings Ltd",
            "contoso international holdings LTD",
            "Müller Maschinenbau GmbH & Co. KG",
        ];
        let folds = [
            Fold::AnyOf(vec![
                "germany".into(),
                "contoso international holdings ltd".into(),
            ]),
            Fold::EndsWith("ltd".into()),
            Fold::StartsWith("müller".into()),
        ];
        let repeated: Vec<String> = (0..5000)
            .map(|i| words[(i * 7 + i / 3) % 6].to_string())
            .collect();
        let distinct: Vec<String> = (0..5000).map(|i| format!("{} {i}", words[i % 6])).collect();
        for values in [repeated, distinct] {
            let mut b = StringViewBuilder::new().with_deduplicate_strings();
            for (i, v) in values.iter().enumerate() {
                if i % 97 == 0 {
                    b.append_null();
                } else {
                    b.append_value(v);
                }
            }
            let array: ArrayRef = Arc::new(b.finish());
            for fold in &folds {
                for negated in [false, true] {
                    let out = FoldMatch::new(fold.clone(), negated)
                        .evaluate(&array)
                        .unwrap();
                    let out = out.as_boolean();
                    assert_eq!(out.null_count(), 0);
                    for (i, v) in values.iter().enumerate() {
                        let expected = i % 97 != 0 && fold.test(v) != negated;
                        assert_eq!(out.value(i), expected, "{v:?} {fold:?} negated {negated}");
                    }
                }
            }
        }
    }

    /// The same answers as lower-casing both sides, on random strings
    /// mixing cases, ASCII and not.
    #[test]
    fn agrees_with_lower_casing_both_sides() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let alphabet: Vec<char> = "aAbBlLtTdDkK äÄßİ\u{212A}Σσς".chars().collect();
        let word = |rng: &mut rand_chacha::ChaCha8Rng, max: usize| -> String {
            let n = rng.random_range(0..=max);
            (0..n)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect()
        };
        for _ in 0..20_000 {
            let value = word(&mut rng, 8);
            let pattern = word(&mut rng, 3);
            let (v, p) = (value.to_lowercase(), pattern.to_lowercase());
            let cases = [
                (Fold::AnyOf(vec![p.clone()]), v == p),
                (Fold::StartsWith(p.clone()), v.starts_with(&p)),
                (Fold::EndsWith(p.clone()), v.ends_with(&p)),
                (Fold::Contains(p.clone()), v.contains(&p)),
            ];
            for (fold, expected) in cases {
                assert_eq!(fold.test(&value), expected, "{value:?} {fold:?}");
                let column = run(fold.clone(), false, &[Some(value.as_str())]);
                assert_eq!(column, [Some(expected)], "{value:?} {fold:?} over a column");
            }
        }
    }
}
