//! The OUTPUT clause of INSERT, UPDATE and DELETE: the touched rows as a result set typed from
//! the catalog, sent before the statement's DONE with its count. And `DELETE t` without FROM.

mod engine_support;

use engine_support::{error_numbers as errors, rows, run, session};
use tds_server::engine::{execute_batch, Done, DoneKind, Event};
use tds_server::types::SqlType;
use tds_server::value::Value;

/// Names and types of the result's columns.
fn columns(events: &[Event]) -> Vec<(String, SqlType, bool)> {
    match events.iter().find(|e| matches!(e, Event::ColMetadata(_))) {
        Some(Event::ColMetadata(cols)) => cols.iter().map(|c| (c.name.clone(), c.ty.clone(), c.nullable)).collect(),
        _ => panic!("no result set: {events:?}"),
    }
}

fn str(s: &str) -> Value {
    Value::Str(s.into())
}

#[test]
fn insert_output_inserted_star_returns_the_new_rows_with_their_identities() {
    let mut s = session();
    run(&mut s, "CREATE TABLE out_ins (id INT IDENTITY(10,5) PRIMARY KEY, name NVARCHAR(20) NOT NULL, note VARCHAR(5) DEFAULT 'x')");
    let events = run(&mut s, "INSERT INTO out_ins (name) OUTPUT INSERTED.* VALUES (N'a'), (N'b')");
    assert_eq!(
        columns(&events),
        [
            ("id".into(), SqlType::Int, false),
            ("name".into(), SqlType::NVarChar(Some(20)), false),
            ("note".into(), SqlType::VarChar(Some(5)), true)
        ]
    );
    assert_eq!(rows(&events), [vec![Value::Int(10), str("a"), str("x")], vec![Value::Int(15), str("b"), str("x")]]);
    // the result comes before the INSERT's DONE, which carries the count
    assert!(matches!(
        events.last(),
        Some(Event::Done(Done { kind: DoneKind::Done, status: 0x10, cur_cmd: 0xC3, row_count: 2 }))
    ));
    let events = run(
        &mut s,
        "INSERT out_ins OUTPUT INSERTED.id AS new_id, inserted.name SELECT name, note FROM out_ins WHERE id = 10",
    );
    assert_eq!(columns(&events)[0].0, "new_id");
    assert_eq!(rows(&events), [vec![Value::Int(20), str("a")]]);
}

#[test]
fn delete_and_update_output_the_old_and_new_values() {
    let mut s = session();
    run(&mut s, "CREATE TABLE out_dml (k INT PRIMARY KEY, v DECIMAL(5,2))");
    run(&mut s, "INSERT INTO out_dml VALUES (1, 1.5), (2, 2.5), (3, 3.5)");
    let events =
        run(&mut s, "UPDATE out_dml SET v = 9.99 OUTPUT DELETED.v AS old_v, INSERTED.v, INSERTED.k WHERE k >= 2");
    assert_eq!(
        rows(&events),
        [
            vec![Value::Decimal(250, 2), Value::Decimal(999, 2), Value::Int(2)],
            vec![Value::Decimal(350, 2), Value::Decimal(999, 2), Value::Int(3)],
        ]
    );
    let events = run(&mut s, "DELETE FROM out_dml OUTPUT DELETED.* WHERE k = 1; SELECT COUNT(*) FROM out_dml");
    assert_eq!(rows(&events), [vec![Value::Int(1), Value::Decimal(150, 2)], vec![Value::Int(2)]]);
}

#[test]
fn output_errors() {
    let mut s = session();
    run(&mut s, "CREATE TABLE out_err (k INT PRIMARY KEY)");
    assert_eq!(errors(&execute_batch(&mut s, "INSERT INTO out_err OUTPUT DELETED.k VALUES (1)")), [4104]);
    assert_eq!(errors(&execute_batch(&mut s, "INSERT INTO out_err OUTPUT INSERTED.nope VALUES (1)")), [207]);
    run(&mut s, "INSERT INTO out_err VALUES (1)");
    // a failing statement outputs nothing
    let events = execute_batch(&mut s, "INSERT INTO out_err OUTPUT INSERTED.k VALUES (1)");
    assert_eq!(errors(&events), [2627]);
    assert!(rows(&events).is_empty());
}

#[test]
fn delete_without_from_with_and_without_output() {
    let mut s = session();
    run(&mut s, "CREATE TABLE out_nofrom (k INT)");
    run(&mut s, "INSERT INTO out_nofrom VALUES (1), (2), (3), (4)");
    let events = run(&mut s, "DELETE out_nofrom WHERE k = 1\nDELETE dbo.out_nofrom OUTPUT DELETED.k WHERE k > 3");
    assert_eq!(rows(&events), [vec![Value::Int(4)]]);
    let counts: Vec<u64> =
        events.iter().filter_map(|e| if let Event::Done(d) = e { Some(d.row_count) } else { None }).collect();
    assert_eq!(counts, [1, 1]);
    assert_eq!(rows(&run(&mut s, "SELECT k FROM out_nofrom ORDER BY k")), [vec![Value::Int(2)], vec![Value::Int(3)]]);
    // a syntax error on the second line keeps its line number
    let events = execute_batch(&mut s, "DELETE out_nofrom WHERE k = 2\nDELETE out_nofrom WHERE");
    let lines: Vec<i32> =
        events.iter().filter_map(|e| if let Event::Error(m) = e { Some(m.line) } else { None }).collect();
    assert_eq!(lines, [2]);
}
