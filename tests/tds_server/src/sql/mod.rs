//! The T-SQL subset the test server runs: lexing, parsing, conversions, evaluation.

pub mod arithmetic;
pub mod block;
pub mod convert;
pub mod dates;
pub mod definition;
pub mod describe;
pub mod eval;
pub mod format;
pub mod functions;
pub mod lexer;
pub mod like;
pub mod math;
pub mod parser;
pub mod raise;
pub mod strings;
pub mod system;
pub mod temporal;
