//! Source text → [`Token`]s. Keywords are not special here: they are
//! identifiers that the parser compares case-insensitively, so a column may
//! share a keyword's spelling without confusing the lexer.

use crate::diagnostic::{Diagnostic, DiagnosticCode, Span};
use crate::limits::MAX_QUERY_BYTES;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A name or keyword: letters, digits and `_`, not starting with a digit.
    Ident(String),
    /// `-`? digits (`.` digits)?, kept as written.
    Number(String),
    /// A single-quoted string with `''` unescaped to `'`.
    Str(String),
    Comma,
    LParen,
    RParen,
    Star,
    Semicolon,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl TokenKind {
    /// How the token is named in "found ..." parts of messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Ident(s) | TokenKind::Number(s) => format!("'{s}'"),
            TokenKind::Str(s) => format!("string '{}'", s.replace('\'', "''")),
            TokenKind::Comma => "','".into(),
            TokenKind::LParen => "'('".into(),
            TokenKind::RParen => "')'".into(),
            TokenKind::Star => "'*'".into(),
            TokenKind::Semicolon => "';'".into(),
            TokenKind::Eq => "'='".into(),
            TokenKind::NotEq => "'!='".into(),
            TokenKind::Lt => "'<'".into(),
            TokenKind::LtEq => "'<='".into(),
            TokenKind::Gt => "'>'".into(),
            TokenKind::GtEq => "'>='".into(),
        }
    }

    /// True for an identifier spelling `keyword` in any case.
    pub fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, TokenKind::Ident(s) if s.eq_ignore_ascii_case(keyword))
    }
}

/// Splits `src` into tokens. Fails on the first character that cannot start
/// a token, on an unterminated string, and on text over the size limit.
pub fn lex(src: &str) -> Result<Vec<Token>, Diagnostic> {
    if src.len() > MAX_QUERY_BYTES {
        return Err(Diagnostic::new(
            DiagnosticCode::QueryTooLong,
            Span::new(0, 0),
            format!(
                "Query is too long: {} bytes; the limit is {MAX_QUERY_BYTES} bytes (64 KiB)",
                src.len()
            ),
        ));
    }
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0usize;
    // Offsets fit in u32: the text is at most 64 KiB.
    let at = |i: usize| i as u32;
    while let Some(&c) = chars.get(i) {
        let start = i;
        let single = |kind| Token {
            kind,
            span: Span::new(at(start), at(start + 1)),
        };
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ',' => tokens.push(single(TokenKind::Comma)),
            '(' => tokens.push(single(TokenKind::LParen)),
            ')' => tokens.push(single(TokenKind::RParen)),
            '*' => tokens.push(single(TokenKind::Star)),
            ';' => tokens.push(single(TokenKind::Semicolon)),
            '=' => tokens.push(single(TokenKind::Eq)),
            '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (kind, len) = match (c, next) {
                    ('!', Some('=')) => (TokenKind::NotEq, 2),
                    ('<', Some('>')) => (TokenKind::NotEq, 2),
                    ('<', Some('=')) => (TokenKind::LtEq, 2),
                    ('>', Some('=')) => (TokenKind::GtEq, 2),
                    ('<', _) => (TokenKind::Lt, 1),
                    ('>', _) => (TokenKind::Gt, 1),
                    _ => return Err(unexpected_char(c, start)),
                };
                tokens.push(Token {
                    kind,
                    span: Span::new(at(start), at(start + len)),
                });
                i += len;
                continue;
            }
            '\'' => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(Diagnostic::new(
                                DiagnosticCode::Syntax,
                                Span::new(at(start), at(start + 1)),
                                format!(
                                    "Syntax error at position {}: unterminated string; \
                                     close it with ' (write '' for a quote inside it)",
                                    start + 1
                                ),
                            ));
                        }
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            value.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&other) => {
                            value.push(other);
                            j += 1;
                        }
                    }
                }
                tokens.push(Token {
                    kind: TokenKind::Str(value),
                    span: Span::new(at(start), at(j + 1)),
                });
                i = j + 1;
                continue;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let mut j = i + 1;
                while chars.get(j).is_some_and(char::is_ascii_digit) {
                    j += 1;
                }
                if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(char::is_ascii_digit)
                {
                    j += 2;
                    while chars.get(j).is_some_and(char::is_ascii_digit) {
                        j += 1;
                    }
                }
                tokens.push(Token {
                    kind: TokenKind::Number(chars[i..j].iter().collect()),
                    span: Span::new(at(start), at(j)),
                });
                i = j;
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    j += 1;
                }
                tokens.push(Token {
                    kind: TokenKind::Ident(chars[i..j].iter().collect()),
                    span: Span::new(at(start), at(j)),
                });
                i = j;
                continue;
            }
            other => return Err(unexpected_char(other, start)),
        }
        i += 1;
    }
    Ok(tokens)
}

fn unexpected_char(c: char, at: usize) -> Diagnostic {
    let shown = if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    };
    Diagnostic::new(
        DiagnosticCode::Syntax,
        Span::new(at as u32, at as u32 + 1),
        format!(
            "Syntax error at position {}: unexpected character {shown}; \
             names, numbers, 'strings', commas, parentheses and the operators = != <> < <= > >= are allowed",
            at + 1
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        lex(src)
            .map(|t| t.into_iter().map(|t| t.kind).collect())
            .unwrap_or_default()
    }

    #[test]
    fn operators_and_literals() {
        assert_eq!(
            kinds("a<>'it''s' >= -1.5 <= != < > = ;"),
            vec![
                TokenKind::Ident("a".into()),
                TokenKind::NotEq,
                TokenKind::Str("it's".into()),
                TokenKind::GtEq,
                TokenKind::Number("-1.5".into()),
                TokenKind::LtEq,
                TokenKind::NotEq,
                TokenKind::Lt,
                TokenKind::Gt,
                TokenKind::Eq,
                TokenKind::Semicolon,
            ]
        );
    }

    #[test]
    fn spans_count_characters_not_bytes() {
        let tokens = lex("'é' x").unwrap_or_default();
        assert_eq!(tokens[1].span, Span::new(4, 5));
    }

    #[test]
    fn unterminated_string() {
        let err = lex("SELECT 'abc").err().map(|d| d.text);
        assert_eq!(
            err.as_deref(),
            Some(
                "Syntax error at position 8: unterminated string; close it with ' (write '' for a quote inside it)"
            )
        );
    }

    #[test]
    fn lone_minus_and_bang_are_errors() {
        assert!(lex("a - b").is_err());
        assert!(lex("a ! b").is_err());
    }
}
