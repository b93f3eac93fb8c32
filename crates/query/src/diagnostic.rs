//! Diagnostics as data: what went wrong, where (a [`Span`]), and what the
//! user probably meant, plus a compiler-style renderer for terminals.
//!
//! The `Display` of a [`Diagnostic`] is the one-line message the API returns
//! in its envelope; [`Diagnostic::render`] is the multi-line form the CLI
//! prints, with the query line, a caret under the position and the hint.

use std::fmt;

/// A half-open range of **character** offsets (not bytes) into the query
/// text, 0-based. Positions shown to users are `start + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: u32, end: u32) -> Self {
        Span { start, end }
    }

    /// The 1-based character position users see in messages.
    pub fn position(self) -> u32 {
        self.start + 1
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// Stable, machine-readable kind of a diagnostic. The strings are part of
/// what the CLI prints (`error[unknown_column]`) and of the API's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiagnosticCode {
    /// The text does not follow the grammar.
    Syntax,
    /// The query text exceeds [`crate::limits::MAX_QUERY_BYTES`].
    QueryTooLong,
    /// A list (select items, conditions, IN values, ORDER BY keys) is too long.
    TooManyItems,
    /// `SELECT *`.
    SelectStar,
    UnknownDataset,
    UnknownColumn,
    UnknownTimespan,
    /// A TIMESPAN that the dataset does not list in `availableDateRanges`.
    TimespanNotAvailable,
    OrderByNotSelected,
    /// A literal that cannot be converted to the column's type.
    InvalidValue,
    InvalidLimit,
    DuplicateColumn,
    /// An operator that does not apply to the column's type (LIKE on a number).
    TypeMismatch,
}

impl DiagnosticCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::Syntax => "syntax",
            DiagnosticCode::QueryTooLong => "query_too_long",
            DiagnosticCode::TooManyItems => "too_many_items",
            DiagnosticCode::SelectStar => "select_star",
            DiagnosticCode::UnknownDataset => "unknown_dataset",
            DiagnosticCode::UnknownColumn => "unknown_column",
            DiagnosticCode::UnknownTimespan => "unknown_timespan",
            DiagnosticCode::TimespanNotAvailable => "timespan_not_available",
            DiagnosticCode::OrderByNotSelected => "order_by_not_selected",
            DiagnosticCode::InvalidValue => "invalid_value",
            DiagnosticCode::InvalidLimit => "invalid_limit",
            DiagnosticCode::DuplicateColumn => "duplicate_column",
            DiagnosticCode::TypeMismatch => "type_mismatch",
        }
    }

    /// The short label printed under the caret.
    fn label(self) -> &'static str {
        match self {
            DiagnosticCode::Syntax => "unexpected here",
            DiagnosticCode::QueryTooLong => "query too long",
            DiagnosticCode::TooManyItems => "one item too many",
            DiagnosticCode::SelectStar => "not allowed",
            DiagnosticCode::UnknownDataset => "unknown dataset",
            DiagnosticCode::UnknownColumn => "unknown column or metric",
            DiagnosticCode::UnknownTimespan => "unknown range",
            DiagnosticCode::TimespanNotAvailable => "not available for this dataset",
            DiagnosticCode::OrderByNotSelected => "not in the SELECT list",
            DiagnosticCode::InvalidValue => "invalid value",
            DiagnosticCode::InvalidLimit => "invalid limit",
            DiagnosticCode::DuplicateColumn => "selected twice",
            DiagnosticCode::TypeMismatch => "wrong type",
        }
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a query, with its location and an optional suggestion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Diagnostic {
    pub code: DiagnosticCode,
    pub span: Span,
    /// What is wrong, in the terms of the spec's error list (no suggestion).
    pub text: String,
    /// A name the user probably meant ("did you mean").
    pub suggestion: Option<String>,
}

impl Diagnostic {
    pub fn new(code: DiagnosticCode, span: Span, text: impl Into<String>) -> Self {
        Diagnostic {
            code,
            span,
            text: text.into(),
            suggestion: None,
        }
    }

    pub fn with_suggestion(mut self, suggestion: Option<impl Into<String>>) -> Self {
        self.suggestion = suggestion.map(Into::into);
        self
    }

    /// The full one-line message, as the API returns it:
    /// `Unknown dataset 'OficeUsage'. Did you mean 'OfficeUsage'?`
    pub fn message(&self) -> String {
        match &self.suggestion {
            None => self.text.clone(),
            Some(s) => {
                let sep = if self.text.ends_with('.') { " " } else { ". " };
                format!("{}{sep}Did you mean '{s}'?", self.text)
            }
        }
    }

    /// Renders the diagnostic like a compiler: the message, the query line
    /// with a caret under the position, and the "did you mean".
    pub fn render(&self, src: &str) -> String {
        use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

        let range = byte_range(src, self.span);
        let title = self.text.clone();
        let help = self
            .suggestion
            .as_ref()
            .map(|s| format!("did you mean '{s}'?"));
        let snippet = Snippet::source(src)
            .path("query")
            .line_start(1)
            .annotation(AnnotationKind::Primary.span(range).label(self.code.label()));
        let mut group = Level::ERROR
            .primary_title(title)
            .id(self.code.as_str())
            .element(snippet);
        if let Some(help) = help {
            group = group.element(Level::HELP.message(help));
        }
        Renderer::plain().render(&[group]).to_string()
    }
}

/// Converts a character span to a byte range of `src`, clamped to the text.
fn byte_range(src: &str, span: Span) -> std::ops::Range<usize> {
    let byte_at = |chars: u32| {
        src.char_indices()
            .nth(chars as usize)
            .map_or(src.len(), |(i, _)| i)
    };
    let start = byte_at(span.start);
    let end = byte_at(span.end).max(start);
    start..end
}

/// Every diagnostic of a rejected query, in source order of discovery. Never
/// empty; the first one is the primary error that the API reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.primary())]
pub struct QueryError {
    diagnostics: Vec<Diagnostic>,
}

impl QueryError {
    /// `None` when `diagnostics` is empty (there is no error to report).
    pub fn from_diagnostics(diagnostics: Vec<Diagnostic>) -> Option<Self> {
        if diagnostics.is_empty() {
            None
        } else {
            Some(QueryError { diagnostics })
        }
    }

    pub fn primary(&self) -> &Diagnostic {
        // The constructor guarantees at least one element.
        &self.diagnostics[0]
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Every diagnostic rendered, separated by blank lines.
    pub fn render(&self, src: &str) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(src))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl From<Diagnostic> for QueryError {
    fn from(d: Diagnostic) -> Self {
        QueryError {
            diagnostics: vec![d],
        }
    }
}
