//! PRINT, RAISERROR and THROW: numbers, severities (classes), states and lines as SQL Server
//! raises them; RAISERROR below severity 11 is an INFO, at 11 and above an ERROR that lets the
//! batch go on; THROW ends the batch.

use tds_server::engine::{execute_batch, Event, Message, Session};

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

fn msg(number: i32, state: u8, class: u8, text: &str, line: i32) -> Message {
    Message { number, state, class, text: text.into(), procedure: String::new(), line }
}

/// The INFO/ERROR messages of a batch (true for ERROR) and whether its last SELECT ran.
fn messages(sql: &str) -> (Vec<(bool, Message)>, bool) {
    let events = execute_batch(&mut session(), sql);
    let out = events
        .iter()
        .filter_map(|e| match e {
            Event::Info(m) => Some((false, m.clone())),
            Event::Error(m) => Some((true, m.clone())),
            _ => None,
        })
        .collect();
    (out, events.iter().any(|e| matches!(e, Event::ColMetadata(c) if c[0].name == "after")))
}

#[test]
fn print_is_an_info_message() {
    let (m, after) = messages("DECLARE @n int = 3\nPRINT 'n is ' + CAST(@n AS varchar(5))\nSELECT 1 AS after");
    assert_eq!(m, [(false, msg(0, 1, 0, "n is 3", 2))]);
    assert!(after);
}

#[test]
fn raiserror_severity_decides_info_or_error() {
    let (m, after) =
        messages("RAISERROR('low %s %d%%', 10, 2, N'x', 42)\nRAISERROR(N'high', 16, 3)\nSELECT 1 AS after");
    assert_eq!(m, [(false, msg(50000, 2, 10, "low x 42%", 1)), (true, msg(50000, 3, 16, "high", 2))]);
    // an error raised by RAISERROR does not end the batch
    assert!(after);
    let (m, _) = messages("RAISERROR(50001, 16, 1)");
    assert_eq!(m[0].1.number, 18054);
    assert!(m[0].1.text.starts_with("Error 50001, severity 16, state 1 was raised"));
}

#[test]
fn throw_raises_its_number_and_ends_the_batch() {
    let (m, after) = messages("SELECT 0 AS before;\nTHROW 50001, N'custom failure', 7;\nSELECT 1 AS after");
    assert_eq!(m, [(true, msg(50001, 7, 16, "custom failure", 2))]);
    assert!(!after);
    let (m, _) = messages("THROW 49999, 'x', 1");
    assert_eq!(m[0].1.number, 35100);
}
