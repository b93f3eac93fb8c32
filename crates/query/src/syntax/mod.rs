//! The surface syntax of the report query language: tokens, the AST with
//! spans, the parser, and the printer (the AST's `Display`) that writes a
//! query back as canonical text that parses to the same AST.

pub mod ast;
pub mod lexer;
pub mod parser;
