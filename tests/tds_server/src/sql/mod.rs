//! The T-SQL subset the test server runs: lexing, parsing, conversions, evaluation.

pub mod arithmetic;
pub mod convert;
pub mod describe;
pub mod eval;
pub mod functions;
pub mod lexer;
pub mod parser;
pub mod raise;
pub mod temporal;
