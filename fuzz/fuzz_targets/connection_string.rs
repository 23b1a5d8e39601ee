//! Arbitrary text after a password in a connection string: the parser must
//! return settings or an error, never panic, and its error must not quote
//! the password (which starts with a marker here).
#![no_main]

use fastmssql::config::parse_connection_string;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(error) = parse_connection_string(&format!("Server=h;Password=Zq{text}")) {
        assert!(!error.0.contains("Zq"), "{}", error.0);
    }
});
