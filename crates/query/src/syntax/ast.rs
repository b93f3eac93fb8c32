//! `ast::Query`: what the user wrote, with spans, before any name is looked
//! up. Its `Display` is the printer: canonical text (upper-case keywords,
//! names as written) that parses back to the same tree.

use std::fmt;

use crate::diagnostic::Span;

/// A name as written (dataset, column, metric, or range), with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralKind {
    /// Digits as written, with an optional leading `-` and fraction.
    Number(String),
    /// The string's value (quotes removed, `''` unescaped).
    Str(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub kind: LiteralKind,
    pub span: Span,
}

impl Literal {
    /// The literal's text without quotes, as used in messages.
    pub fn text(&self) -> &str {
        match &self.kind {
            LiteralKind::Number(s) | LiteralKind::Str(s) => s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::NotEq => "!=",
            CompareOp::Lt => "<",
            CompareOp::LtEq => "<=",
            CompareOp::Gt => ">",
            CompareOp::GtEq => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Compare { op: CompareOp, value: Literal },
    In { negated: bool, values: Vec<Literal> },
    Like { negated: bool, pattern: Literal },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub name: Ident,
    pub test: Test,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub name: Ident,
    /// `None` when not written; the language's default is DESC.
    pub direction: Option<Direction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The number as written; its range is checked by the resolver.
    pub value: Literal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub distinct: bool,
    pub select: Vec<Ident>,
    pub from: Ident,
    pub conditions: Vec<Condition>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<Limit>,
    /// The range name as written; checked against the catalog by the resolver.
    pub timespan: Option<Ident>,
}

impl Query {
    /// The same tree with every span zeroed, for comparing trees parsed from
    /// different texts (the printer round-trip).
    pub fn without_spans(&self) -> Query {
        let ident = |i: &Ident| Ident {
            name: i.name.clone(),
            span: Span::default(),
        };
        let lit = |l: &Literal| Literal {
            kind: l.kind.clone(),
            span: Span::default(),
        };
        Query {
            distinct: self.distinct,
            select: self.select.iter().map(ident).collect(),
            from: ident(&self.from),
            conditions: self
                .conditions
                .iter()
                .map(|c| Condition {
                    name: ident(&c.name),
                    span: Span::default(),
                    test: match &c.test {
                        Test::Compare { op, value } => Test::Compare {
                            op: *op,
                            value: lit(value),
                        },
                        Test::In { negated, values } => Test::In {
                            negated: *negated,
                            values: values.iter().map(lit).collect(),
                        },
                        Test::Like { negated, pattern } => Test::Like {
                            negated: *negated,
                            pattern: lit(pattern),
                        },
                    },
                })
                .collect(),
            order_by: self
                .order_by
                .iter()
                .map(|o| OrderItem {
                    name: ident(&o.name),
                    direction: o.direction,
                })
                .collect(),
            limit: self.limit.as_ref().map(|l| Limit {
                value: lit(&l.value),
            }),
            timespan: self.timespan.as_ref().map(ident),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            LiteralKind::Number(n) => f.write_str(n),
            LiteralKind::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name.name;
        let not = |negated: bool| if negated { "NOT " } else { "" };
        match &self.test {
            Test::Compare { op, value } => write!(f, "{name} {} {value}", op.as_str()),
            Test::In { negated, values } => {
                write!(f, "{name} {}IN (", not(*negated))?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Test::Like { negated, pattern } => {
                write!(f, "{name} {}LIKE {pattern}", not(*negated))
            }
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        if self.distinct {
            f.write_str("DISTINCT ")?;
        }
        let names: Vec<&str> = self.select.iter().map(|i| i.name.as_str()).collect();
        write!(f, "{} FROM {}", names.join(", "), self.from.name)?;
        for (i, c) in self.conditions.iter().enumerate() {
            f.write_str(if i == 0 { " WHERE " } else { " AND " })?;
            write!(f, "{c}")?;
        }
        for (i, o) in self.order_by.iter().enumerate() {
            f.write_str(if i == 0 { " ORDER BY " } else { ", " })?;
            f.write_str(&o.name.name)?;
            match o.direction {
                None => {}
                Some(Direction::Asc) => f.write_str(" ASC")?,
                Some(Direction::Desc) => f.write_str(" DESC")?,
            }
        }
        if let Some(limit) = &self.limit {
            write!(f, " LIMIT {}", limit.value)?;
        }
        if let Some(range) = &self.timespan {
            write!(f, " TIMESPAN {}", range.name)?;
        }
        Ok(())
    }
}
