//! Completion while typing: which names and keywords may follow the text
//! before the cursor, filtered by the word being typed. The console's editor
//! asks for it on every keystroke, so it is one lexing pass over the text
//! before the cursor and a scan of the catalog: linear, no allocation beyond
//! the answer, and bounded like everything else in this crate (text over
//! [`MAX_QUERY_BYTES`] gets no completion).
//!
//! Context comes from the last clause keyword and the token just before the
//! word: after `FROM` come datasets, after `TIMESPAN` the dataset's ranges,
//! in `SELECT`, `WHERE` and `ORDER BY` the columns and metrics of the
//! dataset named after `FROM` (anywhere in the text), and keywords where a
//! clause may end.

use crate::catalog::{Catalog, Dataset};
use crate::diagnostic::Span;
use crate::limits::MAX_QUERY_BYTES;
use crate::syntax::lexer::{Token, TokenKind, lex};
use crate::timewindow::DateRange;

/// At most this many candidates are returned.
pub const MAX_CANDIDATES: usize = 100;

/// What a candidate names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateKind {
    Keyword,
    Dataset,
    Column,
    Metric,
    Timespan,
}

impl CandidateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Keyword => "keyword",
            CandidateKind::Dataset => "dataset",
            CandidateKind::Column => "column",
            CandidateKind::Metric => "metric",
            CandidateKind::Timespan => "timespan",
        }
    }
}

/// One proposal: the text to insert and a short description (a column's
/// type, a metric's aggregation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub label: String,
    pub kind: CandidateKind,
    pub detail: String,
}

/// The proposals for a cursor position, and the span (character offsets)
/// of the word they replace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    pub span: Span,
    pub items: Vec<Candidate>,
}

/// The clause the cursor is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    Start,
    Select,
    From,
    Where,
    OrderBy,
    Limit,
    Timespan,
}

/// Proposals for the word ending at `cursor` (a character offset, clamped
/// to the text).
pub fn complete(src: &str, cursor: u32, catalog: &dyn Catalog) -> Completion {
    if src.len() > MAX_QUERY_BYTES {
        return Completion::default();
    }
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let cursor = (cursor as usize).min(chars.len());
    let mut start = cursor;
    while start > 0 && is_word_char(chars[start - 1].1) {
        start -= 1;
    }
    let byte = |i: usize| chars.get(i).map_or(src.len(), |c| c.0);
    let word = &src[byte(start)..byte(cursor)];
    let span = Span::new(start as u32, cursor as u32);
    // Inside a string literal nothing is proposed; a text that does not lex
    // up to the word has no reliable context either.
    let Ok(before) = lex(&src[..byte(start)]) else {
        return Completion {
            span,
            items: Vec::new(),
        };
    };
    let dataset = named_dataset(src, catalog);
    let items = candidates(&before, dataset, catalog)
        .into_iter()
        .filter(|c| starts_with_ignore_case(&c.label, word))
        .take(MAX_CANDIDATES)
        .collect();
    Completion { span, items }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn starts_with_ignore_case(label: &str, word: &str) -> bool {
    label.len() >= word.len()
        && label.is_char_boundary(word.len())
        && label[..word.len()].eq_ignore_ascii_case(word)
}

/// The dataset named after `FROM`, wherever it is in the text.
fn named_dataset<'c>(src: &str, catalog: &'c dyn Catalog) -> Option<&'c Dataset> {
    let tokens = lex(src).ok()?;
    let at = tokens.iter().position(|t| t.kind.is_keyword("FROM"))?;
    match &tokens.get(at + 1)?.kind {
        TokenKind::Ident(name) => catalog.dataset(name),
        _ => None,
    }
}

fn clause_of(tokens: &[Token]) -> Clause {
    let mut clause = Clause::Start;
    for t in tokens {
        let TokenKind::Ident(word) = &t.kind else {
            continue;
        };
        clause = match word.to_ascii_uppercase().as_str() {
            "SELECT" => Clause::Select,
            "FROM" => Clause::From,
            "WHERE" => Clause::Where,
            "ORDER" | "BY" if clause != Clause::Timespan => Clause::OrderBy,
            "LIMIT" => Clause::Limit,
            "TIMESPAN" => Clause::Timespan,
            _ => continue,
        };
    }
    clause
}

fn keywords(words: &[&str]) -> Vec<Candidate> {
    words
        .iter()
        .map(|w| Candidate {
            label: (*w).to_string(),
            kind: CandidateKind::Keyword,
            detail: "keyword".into(),
        })
        .collect()
}

/// Everything that may follow `before`, unfiltered.
fn candidates(
    before: &[Token],
    dataset: Option<&Dataset>,
    catalog: &dyn Catalog,
) -> Vec<Candidate> {
    let clause = clause_of(before);
    let prev = before.last().map(|t| &t.kind);
    let is = |k: &str| prev.is_some_and(|p| p.is_keyword(k));
    let after_value = matches!(
        prev,
        Some(TokenKind::Str(_) | TokenKind::Number(_) | TokenKind::RParen)
    );
    let ends = ["ORDER BY", "LIMIT", "TIMESPAN"];
    match clause {
        Clause::Start => keywords(&["SELECT"]),
        Clause::Select if is("SELECT") => {
            let mut out = keywords(&["DISTINCT"]);
            out.extend(names(dataset, catalog));
            out
        }
        Clause::Select if is("DISTINCT") || matches!(prev, Some(TokenKind::Comma)) => {
            names(dataset, catalog)
        }
        Clause::Select => keywords(&["FROM"]),
        Clause::From if is("FROM") => catalog
            .datasets()
            .iter()
            .map(|d| Candidate {
                label: d.name.clone(),
                kind: CandidateKind::Dataset,
                detail: format!("{} columns", d.columns.len()),
            })
            .collect(),
        Clause::From => keywords(&["WHERE", "ORDER BY", "LIMIT", "TIMESPAN"]),
        Clause::Where if is("WHERE") || is("AND") => names(dataset, catalog),
        Clause::Where if after_value => keywords(&["AND", "ORDER BY", "LIMIT", "TIMESPAN"]),
        Clause::Where if is("NOT") => keywords(&["IN", "LIKE"]),
        Clause::Where if matches!(prev, Some(TokenKind::Ident(_))) => {
            keywords(&["IN", "NOT IN", "LIKE", "NOT LIKE"])
        }
        Clause::Where => Vec::new(),
        Clause::OrderBy if is("BY") || matches!(prev, Some(TokenKind::Comma)) => {
            names(dataset, catalog)
        }
        Clause::OrderBy if is("ASC") || is("DESC") => keywords(&ends[1..]),
        Clause::OrderBy if matches!(prev, Some(TokenKind::Ident(_))) => {
            let mut out = keywords(&["ASC", "DESC"]);
            out.extend(keywords(&ends[1..]));
            out
        }
        Clause::OrderBy => Vec::new(),
        Clause::Limit if after_value => keywords(&["TIMESPAN"]),
        Clause::Limit => Vec::new(),
        Clause::Timespan if is("TIMESPAN") => {
            let ranges: Vec<DateRange> = match dataset {
                Some(d) => d.available_date_ranges.clone(),
                None => DateRange::ALL.to_vec(),
            };
            ranges
                .into_iter()
                .map(|r| Candidate {
                    label: r.as_str().to_string(),
                    kind: CandidateKind::Timespan,
                    detail: "time range".into(),
                })
                .collect()
        }
        Clause::Timespan => Vec::new(),
    }
}

/// The columns and metrics of the dataset, or of every dataset (each name
/// once) while none is named yet.
fn names(dataset: Option<&Dataset>, catalog: &dyn Catalog) -> Vec<Candidate> {
    let datasets: Vec<&Dataset> = match dataset {
        Some(d) => vec![d],
        None => catalog.datasets().iter().collect(),
    };
    let mut out: Vec<Candidate> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for d in datasets {
        for c in &d.columns {
            if seen.insert(c.name.to_ascii_lowercase()) {
                out.push(Candidate {
                    label: c.name.clone(),
                    kind: CandidateKind::Column,
                    detail: if c.restricted {
                        format!("{} column, restricted", c.ty)
                    } else {
                        format!("{} column", c.ty)
                    },
                });
            }
        }
        for m in &d.metrics {
            if seen.insert(m.name.to_ascii_lowercase()) {
                let what = match &m.column {
                    Some(col) => format!("{}({col})", m.kind.as_str()),
                    None => m.kind.as_str().to_string(),
                };
                out.push(Candidate {
                    label: m.name.clone(),
                    kind: CandidateKind::Metric,
                    detail: format!("metric {what}"),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    fn labels(src: &str) -> Vec<String> {
        let cursor = src.chars().count() as u32;
        complete(src, cursor, builtin())
            .items
            .into_iter()
            .map(|c| c.label)
            .collect()
    }

    #[test]
    fn datasets_after_from() {
        let got = labels("SELECT CustomerName FROM Offi");
        assert_eq!(got, vec!["OfficeUsage".to_string()]);
    }

    #[test]
    fn columns_of_the_named_dataset_even_after_the_cursor() {
        let src = "SELECT Custo FROM OfficeUsage";
        let c = complete(src, 12, builtin());
        assert_eq!(c.span, Span::new(7, 12));
        let got: Vec<_> = c.items.iter().map(|c| c.label.as_str()).collect();
        assert!(got.contains(&"CustomerTenantId"), "{got:?}");
        assert!(c.items.iter().all(|c| c.label.starts_with("Custo")));
    }

    #[test]
    fn keywords_where_a_clause_may_end() {
        assert_eq!(labels("SEL"), vec!["SELECT"]);
        assert_eq!(labels("SELECT a "), vec!["FROM"]);
        assert!(labels("SELECT a FROM OfficeUsage ").contains(&"WHERE".to_string()));
        assert!(labels("SELECT a FROM OfficeUsage WHERE x = 1 ").contains(&"AND".to_string()));
        assert_eq!(
            labels("SELECT a FROM OfficeUsage ORDER BY a D"),
            vec!["DESC"]
        );
    }

    #[test]
    fn the_dataset_s_own_timespans() {
        let got = labels("SELECT a FROM OfficeUsage TIMESPAN ");
        assert!(got.contains(&"LAST_MONTH".to_string()), "{got:?}");
        assert!(!got.contains(&"LAST_7_DAYS".to_string()), "{got:?}");
    }

    #[test]
    fn nothing_inside_a_string_or_past_the_limit() {
        assert!(labels("SELECT a FROM OfficeUsage WHERE a = 'Of").is_empty());
        let long = "x".repeat(MAX_QUERY_BYTES + 1);
        assert!(labels(&long).is_empty());
        // A cursor beyond the end and multi-byte text are fine.
        let c = complete("SELECT é", 99, builtin());
        assert_eq!(c.span, Span::new(8, 8));
    }
}
