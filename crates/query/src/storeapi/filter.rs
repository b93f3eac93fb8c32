//! The Store API's OData-style parameter languages: `filter` (comparisons,
//! `contains()`, `and`/`or`, parentheses), `orderby` and `groupby`.
//! Parsing only; names are checked against a method in `storeapi::resolve`.
//!
//! `and` binds tighter than `or` (spec §5). Operators and keywords are
//! case-insensitive. Nesting is bounded ([`MAX_DEPTH`]) and the text is
//! capped ([`MAX_FILTER_CHARS`]), so recursion depth and work stay small
//! whatever a caller sends.

use crate::diagnostic::{Diagnostic, DiagnosticCode, Span};
use crate::syntax::ast::CompareOp;

/// The longest `filter` accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 4096;
/// The deepest parenthesis nesting accepted.
pub const MAX_DEPTH: usize = 32;
/// The most comparisons one filter may hold.
pub const MAX_TERMS: usize = 256;

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A single-quoted string (`''` is a quote).
    Str(String),
    /// A bare number, kept as text until the field's type is known.
    Number(String),
    Bool(bool),
}

impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Literal::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Number(n) => f.write_str(n),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A filter expression with the spans of its parts.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Compare {
        field: String,
        field_span: Span,
        op: CompareOp,
        value: Literal,
        value_span: Span,
    },
    Contains {
        field: String,
        field_span: Span,
        text: String,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Number(String),
    LParen,
    RParen,
    Comma,
}

fn syntax(span: Span, text: impl Into<String>) -> Diagnostic {
    Diagnostic {
        code: DiagnosticCode::Syntax,
        span,
        text: text.into(),
        suggestion: None,
    }
}

fn lex(src: &str) -> Result<Vec<(Tok, Span)>, Diagnostic> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0usize;
    let span = |a: usize, b: usize| Span::new(a as u32, b as u32);
    while let Some(&c) = chars.get(i) {
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((Tok::LParen, span(i, i + 1)));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, span(i, i + 1)));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, span(i, i + 1)));
                i += 1;
            }
            '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(syntax(
                                span(start, i),
                                "unterminated string: a quoted value must end with a single quote (write '' for a quote inside it)",
                            ));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Str(text), span(start, i)));
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '.')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push((Tok::Number(text), span(start, i)));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push((Tok::Ident(text), span(start, i)));
            }
            other => {
                return Err(syntax(
                    span(i, i + 1),
                    format!(
                        "unexpected character '{other}': a filter is made of <field> <op> <value> terms (op: eq, ne, gt, lt, ge, le), contains(<field>,'text'), and/or, and parentheses"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, Span)>,
    pos: usize,
    end: Span,
    terms: usize,
}

fn op_of(word: &str) -> Option<CompareOp> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::NotEq,
        "gt" => CompareOp::Gt,
        "lt" => CompareOp::Lt,
        "ge" => CompareOp::GtEq,
        "le" => CompareOp::LtEq,
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&(Tok, Span)> {
        self.toks.get(self.pos)
    }

    fn span_here(&self) -> Span {
        self.peek().map_or(self.end, |t| t.1)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some((Tok::Ident(w), _)) if w.eq_ignore_ascii_case(word))
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, Diagnostic> {
        let mut terms = vec![self.and(depth)?];
        while self.keyword("or") {
            self.pos += 1;
            terms.push(self.and(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, Diagnostic> {
        let mut terms = vec![self.unary(depth)?];
        while self.keyword("and") {
            self.pos += 1;
            terms.push(self.unary(depth)?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<Span, Diagnostic> {
        match self.peek() {
            Some((t, span)) if *t == want => {
                let span = *span;
                self.pos += 1;
                Ok(span)
            }
            _ => Err(syntax(self.span_here(), format!("expected {what}"))),
        }
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, Diagnostic> {
        let Some((tok, span)) = self.peek().cloned() else {
            return Err(syntax(
                self.end,
                "the filter ends too early: expected <field> <op> <value>, contains(<field>,'text') or '('",
            ));
        };
        match tok {
            Tok::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(Diagnostic {
                        code: DiagnosticCode::TooManyItems,
                        span,
                        text: format!("parentheses nest deeper than {MAX_DEPTH} levels"),
                        suggestion: None,
                    });
                }
                self.pos += 1;
                let inner = self.expr(depth + 1)?;
                self.expect(Tok::RParen, "')' to close the '('")?;
                Ok(inner)
            }
            Tok::Ident(word) => {
                self.pos += 1;
                self.count_term(span)?;
                if word.eq_ignore_ascii_case("contains")
                    && matches!(self.peek(), Some((Tok::LParen, _)))
                {
                    self.pos += 1;
                    let (field, field_span) = match self.peek().cloned() {
                        Some((Tok::Ident(f), s)) => {
                            self.pos += 1;
                            (f, s)
                        }
                        _ => {
                            return Err(syntax(
                                self.span_here(),
                                "expected a field name: contains(<field>,'text')",
                            ));
                        }
                    };
                    self.expect(
                        Tok::Comma,
                        "',' between the field and the text: contains(<field>,'text')",
                    )?;
                    let text = match self.peek().cloned() {
                        Some((Tok::Str(t), _)) => {
                            self.pos += 1;
                            t
                        }
                        _ => {
                            return Err(syntax(
                                self.span_here(),
                                "expected a quoted text: contains(<field>,'text')",
                            ));
                        }
                    };
                    self.expect(Tok::RParen, "')' to close contains(")?;
                    return Ok(Expr::Contains {
                        field,
                        field_span,
                        text,
                    });
                }
                let op = match self.peek() {
                    Some((Tok::Ident(w), _)) => op_of(w),
                    _ => None,
                };
                let Some(op) = op else {
                    return Err(syntax(
                        self.span_here(),
                        format!(
                            "expected an operator after '{word}'; allowed: eq, ne, gt, lt, ge, le"
                        ),
                    ));
                };
                self.pos += 1;
                let (value, value_span) = match self.peek().cloned() {
                    Some((Tok::Str(s), vs)) => (Literal::Str(s), vs),
                    Some((Tok::Number(n), vs)) => (Literal::Number(n), vs),
                    Some((Tok::Ident(w), vs)) if w.eq_ignore_ascii_case("true") => {
                        (Literal::Bool(true), vs)
                    }
                    Some((Tok::Ident(w), vs)) if w.eq_ignore_ascii_case("false") => {
                        (Literal::Bool(false), vs)
                    }
                    _ => {
                        return Err(syntax(
                            self.span_here(),
                            "expected a value: a quoted string ('US'), a number, true or false",
                        ));
                    }
                };
                self.pos += 1;
                Ok(Expr::Compare {
                    field: word,
                    field_span: span,
                    op,
                    value,
                    value_span,
                })
            }
            _ => Err(syntax(
                span,
                "expected <field> <op> <value>, contains(<field>,'text') or '('",
            )),
        }
    }

    fn count_term(&mut self, span: Span) -> Result<(), Diagnostic> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(Diagnostic {
                code: DiagnosticCode::TooManyItems,
                span,
                text: format!("the filter has more than {MAX_TERMS} conditions"),
                suggestion: None,
            });
        }
        Ok(())
    }
}

/// Parses a `filter` parameter.
pub fn parse_filter(src: &str) -> Result<Expr, Diagnostic> {
    let n = src.chars().count();
    if n > MAX_FILTER_CHARS {
        return Err(Diagnostic {
            code: DiagnosticCode::QueryTooLong,
            span: Span::new(MAX_FILTER_CHARS as u32, n as u32),
            text: format!("the filter is {n} characters long; the limit is {MAX_FILTER_CHARS}"),
            suggestion: None,
        });
    }
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: Span::new(n as u32, n as u32),
        terms: 0,
    };
    let e = p.expr(0)?;
    if let Some((_, span)) = p.peek() {
        return Err(syntax(
            *span,
            "unexpected text after a complete condition; join conditions with 'and' or 'or'",
        ));
    }
    Ok(e)
}

/// One `orderby` key: a field and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub field: String,
    pub span: Span,
    pub descending: bool,
}

/// A comma-separated list item with its character span.
fn items(src: &str) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let chars: Vec<char> = src.chars().collect();
    for (i, c) in chars.iter().chain(std::iter::once(&',')).enumerate() {
        if *c == ',' {
            let raw: String = chars[start..i.min(chars.len())].iter().collect();
            let lead = raw.chars().take_while(|c| c.is_whitespace()).count();
            let text = raw.trim().to_string();
            let s = (start + lead) as u32;
            out.push((text.clone(), Span::new(s, s + text.chars().count() as u32)));
            start = i + 1;
        }
    }
    out
}

/// Parses `orderby`: `field [asc|desc], ...`.
pub fn parse_orderby(src: &str) -> Result<Vec<OrderKey>, Diagnostic> {
    let mut keys = Vec::new();
    for (item, span) in items(src) {
        let mut words = item.split_whitespace();
        let Some(field) = words.next() else {
            return Err(syntax(
                span,
                "empty orderby item: write field [asc|desc], separated by commas",
            ));
        };
        let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(syntax(
                    span,
                    format!("unknown order '{other}' after '{field}'; allowed: asc, desc"),
                ));
            }
        };
        if words.next().is_some() {
            return Err(syntax(
                span,
                "an orderby item is field [asc|desc]; separate items with commas",
            ));
        }
        keys.push(OrderKey {
            field: field.to_string(),
            span: Span::new(span.start, span.start + field.chars().count() as u32),
            descending,
        });
        if keys.len() > MAX_TERMS {
            return Err(syntax(
                span,
                format!("orderby lists more than {MAX_TERMS} fields"),
            ));
        }
    }
    Ok(keys)
}

/// Parses `groupby`: a comma list of field names.
pub fn parse_groupby(src: &str) -> Result<Vec<(String, Span)>, Diagnostic> {
    let mut out = Vec::new();
    for (item, span) in items(src) {
        if item.is_empty() || item.contains(char::is_whitespace) {
            return Err(syntax(
                span,
                "groupby is a comma-separated list of field names",
            ));
        }
        out.push((item, span));
        if out.len() > MAX_TERMS {
            return Err(syntax(
                span,
                format!("groupby lists more than {MAX_TERMS} fields"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_binds_tighter_than_or() {
        let e = parse_filter("a eq 'x' or b eq 'y' and c ne 'z'").unwrap();
        let Expr::Or(terms) = e else { panic!() };
        assert_eq!(terms.len(), 2);
        assert!(matches!(terms[1], Expr::And(_)));
    }

    #[test]
    fn parentheses_and_contains() {
        let e = parse_filter("(market ne 'US') and (contains(reviewText,'it''s') or rating ge 4)")
            .unwrap();
        let Expr::And(terms) = e else { panic!() };
        assert!(
            matches!(&terms[1], Expr::Or(t) if matches!(&t[0], Expr::Contains { text, .. } if text == "it's"))
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse_filter("market xx 'US'").unwrap_err();
        assert_eq!(e.span, Span::new(7, 9));
        assert!(parse_filter("market eq 'US").is_err());
        assert!(parse_filter("(((market eq 'US')").is_err());
        assert!(parse_filter(&"(".repeat(100)).is_err());
        assert!(parse_filter("market eq 'US' market eq 'x'").is_err());
    }

    #[test]
    fn orderby_and_groupby() {
        let k = parse_orderby("date desc, market").unwrap();
        assert_eq!(k.len(), 2);
        assert!(k[0].descending && !k[1].descending);
        assert_eq!(k[1].span, Span::new(11, 17));
        assert!(parse_orderby("date sideways").is_err());
        assert_eq!(parse_groupby("ageGroup,market").unwrap().len(), 2);
        assert!(parse_groupby("a,,b").is_err());
    }
}
