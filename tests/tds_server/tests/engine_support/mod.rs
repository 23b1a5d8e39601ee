//! Helpers of the engine-level table tests (bulk, transactions, OUTPUT, describe): a session
//! and what its events say. Each test binary uses its own subset.
#![allow(dead_code)]

use tds_server::engine::{execute_batch, Event, Session};
use tds_server::value::Value;

pub fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

/// (number, text) of each ERROR.
pub fn errors(events: &[Event]) -> Vec<(i32, String)> {
    events
        .iter()
        .filter_map(|e| if let Event::Error(m) = e { Some((m.number, m.text.clone())) } else { None })
        .collect()
}

pub fn error_numbers(events: &[Event]) -> Vec<i32> {
    errors(events).into_iter().map(|(number, _)| number).collect()
}

pub fn rows(events: &[Event]) -> Vec<Vec<Value>> {
    events.iter().filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None }).collect()
}

/// Runs a batch that must not fail.
pub fn run(s: &mut Session, sql: &str) -> Vec<Event> {
    let events = execute_batch(s, sql);
    assert!(errors(&events).is_empty(), "{sql}: {events:?}");
    events
}
