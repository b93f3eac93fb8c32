//! Tokens → `ast::Query`, by recursive descent over the grammar of the spec.
//! The grammar has no nesting, so the parser needs no recursion limit; every
//! list it builds is bounded by [`crate::limits`]. The first syntax error
//! stops parsing: the message names what was expected and what was found.

use crate::diagnostic::{Diagnostic, DiagnosticCode, Span};
use crate::limits::{MAX_CONDITIONS, MAX_IN_VALUES, MAX_ORDER_KEYS, MAX_SELECT_ITEMS};
use crate::suggest;
use crate::syntax::ast::{
    CompareOp, Condition, Direction, Ident, Limit, Literal, LiteralKind, OrderItem, Query, Test,
};
use crate::syntax::lexer::{Token, TokenKind, lex};

/// Words that cannot be used as names, because the grammar gives them a role.
pub const RESERVED: &[&str] = &[
    "SELECT", "DISTINCT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC",
    "DESC", "LIMIT", "TIMESPAN",
];

/// Parses query text into its syntax tree.
pub fn parse(src: &str) -> Result<Query, Diagnostic> {
    let tokens = lex(src)?;
    let end = src.chars().count() as u32;
    let mut parser = Parser {
        tokens,
        pos: 0,
        end: Span::new(end, end),
    };
    parser.query()
}

/// One thing the parser would have accepted at a point, for messages.
#[derive(Clone, Copy)]
enum Expect {
    Keyword(&'static str),
    Text(&'static str),
}

impl Expect {
    fn describe(self) -> &'static str {
        match self {
            Expect::Keyword(k) | Expect::Text(k) => k,
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// An empty span just past the last character, for "end of query".
    end: Span,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_kind(&self) -> Option<&TokenKind> {
        self.peek().map(|t| &t.kind)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        self.peek_kind().is_some_and(|k| k.is_keyword(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.at_keyword(keyword);
        if found {
            self.pos += 1;
        }
        found
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        let found = self.peek_kind() == Some(kind);
        if found {
            self.pos += 1;
        }
        found
    }

    fn current_span(&self) -> Span {
        self.peek().map_or(self.end, |t| t.span)
    }

    /// "Syntax error at position P: expected A, B or C, found X". When the
    /// found word is a near-miss of one expected keyword (`FORM` for
    /// `FROM`), the message names just that keyword and suggests it.
    fn unexpected(&self, expected: &[Expect]) -> Diagnostic {
        let span = self.current_span();
        let found = self
            .peek()
            .map_or_else(|| "end of query".to_string(), |t| t.kind.describe());
        let keywords = expected.iter().filter_map(|e| match e {
            Expect::Keyword(k) => Some(*k),
            Expect::Text(_) => None,
        });
        let near_miss = match self.peek_kind() {
            Some(TokenKind::Ident(word)) if !is_reserved(word) => suggest::keyword(word, keywords),
            _ => None,
        };
        let expected_text = match near_miss {
            Some(k) => k.to_string(),
            None => join_alternatives(expected.iter().map(|e| e.describe())),
        };
        let mut text = format!(
            "Syntax error at position {}: expected {expected_text}, found {found}",
            span.position()
        );
        if let Some(TokenKind::Ident(word)) = self.peek_kind() {
            text.push_str(&clause_hint(word));
        }
        // The near miss is already the whole "expected" part, so no separate
        // "Did you mean" is added: the spec's form is `expected FROM, found 'FORM'`.
        Diagnostic::new(DiagnosticCode::Syntax, span, text)
    }

    fn too_many(&self, what: &str, limit: usize) -> Diagnostic {
        let span = self.current_span();
        Diagnostic::new(
            DiagnosticCode::TooManyItems,
            span,
            format!(
                "Too many {what} at position {}: at most {limit} are allowed",
                span.position()
            ),
        )
    }

    /// A name (dataset, column, metric): any identifier but a reserved word.
    fn name(&mut self, what: &'static str) -> Result<Ident, Diagnostic> {
        match self.peek() {
            Some(Token {
                kind: TokenKind::Ident(word),
                span,
            }) if !is_reserved(word) => {
                let ident = Ident {
                    name: word.clone(),
                    span: *span,
                };
                self.pos += 1;
                Ok(ident)
            }
            _ => Err(self.unexpected(&[Expect::Text(what)])),
        }
    }

    /// A SELECT item: a name, with a helpful refusal of `*`.
    fn select_item(&mut self) -> Result<Ident, Diagnostic> {
        if let Some(Token {
            kind: TokenKind::Star,
            span,
        }) = self.peek()
        {
            return Err(Diagnostic::new(
                DiagnosticCode::SelectStar,
                *span,
                format!(
                    "SELECT * is not allowed (position {}): list the columns and metrics to \
                     select by name, e.g. SELECT CustomerName, Month FROM ...; \
                     GET /ScheduledDataset lists each dataset's selectableColumns and availableMetrics",
                    span.position()
                ),
            ));
        }
        self.name("a column or metric name")
    }

    fn query(&mut self) -> Result<Query, Diagnostic> {
        if !self.eat_keyword("SELECT") {
            return Err(self.unexpected(&[Expect::Keyword("SELECT")]));
        }
        let distinct = self.eat_keyword("DISTINCT");
        let mut select = vec![self.select_item()?];
        while self.eat(&TokenKind::Comma) {
            if select.len() >= MAX_SELECT_ITEMS {
                return Err(self.too_many("selected columns", MAX_SELECT_ITEMS));
            }
            select.push(self.select_item()?);
        }
        if !self.eat_keyword("FROM") {
            return Err(self.unexpected(&[Expect::Text("','"), Expect::Keyword("FROM")]));
        }
        let from = self.name("a dataset name")?;

        let mut conditions = Vec::new();
        if self.eat_keyword("WHERE") {
            conditions.push(self.condition()?);
            while self.eat_keyword("AND") {
                if conditions.len() >= MAX_CONDITIONS {
                    return Err(self.too_many("conditions", MAX_CONDITIONS));
                }
                conditions.push(self.condition()?);
            }
        }

        let mut order_by = Vec::new();
        if self.at_keyword("ORDER") {
            self.pos += 1;
            if !self.eat_keyword("BY") {
                return Err(self.unexpected(&[Expect::Keyword("BY")]));
            }
            order_by.push(self.order_item()?);
            while self.eat(&TokenKind::Comma) {
                if order_by.len() >= MAX_ORDER_KEYS {
                    return Err(self.too_many("ORDER BY keys", MAX_ORDER_KEYS));
                }
                order_by.push(self.order_item()?);
            }
        }

        let mut limit = None;
        if self.eat_keyword("LIMIT") {
            match self.peek() {
                Some(Token {
                    kind: TokenKind::Number(n),
                    span,
                }) => {
                    limit = Some(Limit {
                        value: Literal {
                            kind: LiteralKind::Number(n.clone()),
                            span: *span,
                        },
                    });
                    self.pos += 1;
                }
                _ => return Err(self.unexpected(&[Expect::Text("a number")])),
            }
        }

        let mut timespan = None;
        if self.eat_keyword("TIMESPAN") {
            match self.peek() {
                Some(Token {
                    kind: TokenKind::Ident(word),
                    span,
                }) => {
                    timespan = Some(Ident {
                        name: word.clone(),
                        span: *span,
                    });
                    self.pos += 1;
                }
                _ => {
                    return Err(self.unexpected(&[Expect::Text("a range such as LAST_MONTH")]));
                }
            }
        }

        self.eat(&TokenKind::Semicolon);
        if self.peek().is_some() {
            return Err(self.unexpected(&self.expected_after(
                !conditions.is_empty(),
                !order_by.is_empty(),
                limit.is_some(),
                timespan.is_some(),
            )));
        }
        Ok(Query {
            distinct,
            select,
            from,
            conditions,
            order_by,
            limit,
            timespan,
        })
    }

    /// What could follow the clauses parsed so far.
    fn expected_after(
        &self,
        has_where: bool,
        has_order: bool,
        has_limit: bool,
        has_timespan: bool,
    ) -> Vec<Expect> {
        let mut expected = Vec::new();
        if !has_timespan {
            if !has_limit {
                if !has_order {
                    if has_where {
                        expected.push(Expect::Keyword("AND"));
                    } else {
                        expected.push(Expect::Keyword("WHERE"));
                    }
                    expected.push(Expect::Text("ORDER BY"));
                } else {
                    expected.push(Expect::Text("','"));
                }
                expected.push(Expect::Keyword("LIMIT"));
            }
            expected.push(Expect::Keyword("TIMESPAN"));
        }
        expected.push(Expect::Text("end of query"));
        expected
    }

    fn condition(&mut self) -> Result<Condition, Diagnostic> {
        let name = self.name("a column or metric name")?;
        let negated = self.eat_keyword("NOT");
        let test = if self.eat_keyword("IN") {
            if !self.eat(&TokenKind::LParen) {
                return Err(self.unexpected(&[Expect::Text("'('")]));
            }
            let mut values = vec![self.value()?];
            while self.eat(&TokenKind::Comma) {
                if values.len() >= MAX_IN_VALUES {
                    return Err(self.too_many("values in the IN list", MAX_IN_VALUES));
                }
                values.push(self.value()?);
            }
            if !self.eat(&TokenKind::RParen) {
                return Err(self.unexpected(&[Expect::Text("','"), Expect::Text("')'")]));
            }
            Test::In { negated, values }
        } else if self.eat_keyword("LIKE") {
            match self.peek() {
                Some(Token {
                    kind: TokenKind::Str(s),
                    span,
                }) => {
                    let pattern = Literal {
                        kind: LiteralKind::Str(s.clone()),
                        span: *span,
                    };
                    self.pos += 1;
                    Test::Like { negated, pattern }
                }
                _ => return Err(self.unexpected(&[Expect::Text("a 'string' pattern")])),
            }
        } else if negated {
            return Err(self.unexpected(&[Expect::Keyword("IN"), Expect::Keyword("LIKE")]));
        } else {
            let op = match self.peek_kind() {
                Some(TokenKind::Eq) => CompareOp::Eq,
                Some(TokenKind::NotEq) => CompareOp::NotEq,
                Some(TokenKind::Lt) => CompareOp::Lt,
                Some(TokenKind::LtEq) => CompareOp::LtEq,
                Some(TokenKind::Gt) => CompareOp::Gt,
                Some(TokenKind::GtEq) => CompareOp::GtEq,
                _ => {
                    return Err(self.unexpected(&[
                        Expect::Text("an operator (=, !=, <>, <, <=, >, >=)"),
                        Expect::Keyword("IN"),
                        Expect::Text("NOT IN"),
                        Expect::Keyword("LIKE"),
                        Expect::Text("NOT LIKE"),
                    ]));
                }
            };
            self.pos += 1;
            Test::Compare {
                op,
                value: self.value()?,
            }
        };
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(self.end, |t| t.span);
        Ok(Condition {
            span: name.span.to(end),
            name,
            test,
        })
    }

    fn value(&mut self) -> Result<Literal, Diagnostic> {
        let literal = match self.peek() {
            Some(Token {
                kind: TokenKind::Number(n),
                span,
            }) => Literal {
                kind: LiteralKind::Number(n.clone()),
                span: *span,
            },
            Some(Token {
                kind: TokenKind::Str(s),
                span,
            }) => Literal {
                kind: LiteralKind::Str(s.clone()),
                span: *span,
            },
            Some(Token {
                kind: TokenKind::Eq,
                ..
            }) => {
                let mut d = self.unexpected(&[Expect::Text("a number or a 'string'")]);
                d.text.push_str("; equality is a single '='");
                return Err(d);
            }
            _ => return Err(self.unexpected(&[Expect::Text("a number or a 'string'")])),
        };
        self.bump();
        Ok(literal)
    }

    fn order_item(&mut self) -> Result<OrderItem, Diagnostic> {
        let name = self.name("a column or metric name")?;
        let direction = if self.eat_keyword("ASC") {
            Some(Direction::Asc)
        } else if self.eat_keyword("DESC") {
            Some(Direction::Desc)
        } else {
            None
        };
        Ok(OrderItem { name, direction })
    }
}

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// "A", "A or B", "A, B or C".
fn join_alternatives<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Extra advice when the unexpected word is a keyword used out of place.
fn clause_hint(word: &str) -> String {
    let is = |k: &str| word.eq_ignore_ascii_case(k);
    if is("OR") {
        "; OR is not supported: conditions are combined with AND, \
         and IN (...) lists alternatives for one column"
            .to_string()
    } else if ["WHERE", "ORDER", "LIMIT", "TIMESPAN"]
        .iter()
        .any(|k| is(k))
    {
        "; clauses must appear in the order WHERE, ORDER BY, LIMIT, TIMESPAN, each at most once"
            .to_string()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        match parse(src) {
            Ok(q) => panic!("expected an error for {src:?}, parsed {q}"),
            Err(d) => d.message(),
        }
    }

    #[test]
    fn spec_syntax_error_example() {
        assert_eq!(
            err("SELECT CustomerTenantId, Month FORM OfficeUsage"),
            "Syntax error at position 32: expected FROM, found 'FORM'"
        );
    }

    #[test]
    fn missing_comma_lists_both_choices() {
        assert_eq!(
            err("SELECT a b FROM t"),
            "Syntax error at position 10: expected ',' or FROM, found 'b'"
        );
    }

    #[test]
    fn out_of_order_clause() {
        assert_eq!(
            err("SELECT a FROM t LIMIT 5 WHERE a = 1"),
            "Syntax error at position 25: expected TIMESPAN or end of query, found 'WHERE'; \
             clauses must appear in the order WHERE, ORDER BY, LIMIT, TIMESPAN, each at most once"
        );
    }

    #[test]
    fn empty_query() {
        assert_eq!(
            err("   "),
            "Syntax error at position 4: expected SELECT, found end of query"
        );
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let q = parse(
            "select distinct a from t where b not in (1, 'x') and c not like 'a%' order by a asc limit 3 timespan last_month;",
        );
        assert!(q.is_ok(), "{q:?}");
    }
}
