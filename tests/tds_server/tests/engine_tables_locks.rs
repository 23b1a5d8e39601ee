//! Locking as SQL Server does it at READ COMMITTED, between sessions of one database: writers
//! of different rows go on together, a writer or reader of a row another open transaction
//! changed waits for it (or fails with 1222 after SET LOCK_TIMEOUT), a cycle of waits ends
//! with 1205 for one of them, and a transaction left open by a session that goes away is
//! rolled back.

mod engine_support;

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use engine_support::{error_numbers, errors, rows, run};
use tds_server::engine::{execute_batch, EnvChange, Event, Message, Session};
use tds_server::tables::store::Database;
use tds_server::value::Value;

/// Long enough for a statement that is not blocked to have finished.
const SETTLE: Duration = Duration::from_millis(150);
/// A bound on waits that must end by themselves, so a failing test fails instead of hanging.
const SAFETY_TIMEOUT: &str = "SET LOCK_TIMEOUT 10000";

/// Two sessions of a database of their own, with `t (id INT PRIMARY KEY, v NVARCHAR(10))`
/// holding (1, 'one') and (2, 'two').
fn two_sessions() -> (Session, Session) {
    let database = Arc::new(Database::new().expect("database"));
    let mut a = Session::new(51, "sa", "master", "fastmssql-test").with_tables(database.clone());
    let b = Session::new(52, "sa", "master", "fastmssql-test").with_tables(database);
    run(&mut a, "CREATE TABLE t (id INT PRIMARY KEY, v NVARCHAR(10)); INSERT INTO t VALUES (1, N'one'), (2, N'two')");
    (a, b)
}

/// Runs a batch on a thread of its own, for one that is to wait.
fn start(mut session: Session, sql: &str) -> JoinHandle<(Session, Vec<Event>)> {
    let sql = sql.to_string();
    thread::spawn(move || {
        let events = execute_batch(&mut session, &sql);
        (session, events)
    })
}

fn values(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    rows(&run(s, sql))
}

fn text(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn int(s: &mut Session, sql: &str) -> i64 {
    match values(s, sql).as_slice() {
        [row] => match row.as_slice() {
            [Value::Int(n)] => *n,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn error_messages(events: &[Event]) -> Vec<Message> {
    events.iter().filter_map(|e| if let Event::Error(m) = e { Some(m.clone()) } else { None }).collect()
}

fn env_changes(events: &[Event]) -> Vec<EnvChange> {
    events.iter().filter_map(|e| if let Event::EnvChange(c) = e { Some(c.clone()) } else { None }).collect()
}

#[test]
fn writers_of_different_rows_both_go_on_with_their_transactions_open() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1");
    // a wait would end this batch with 1222 instead of passing
    run(&mut b, "SET LOCK_TIMEOUT 0; BEGIN TRAN; UPDATE t SET v = N'b' WHERE id = 2");
    run(&mut b, "INSERT INTO t VALUES (3, N'three')");
    run(&mut a, "INSERT INTO t VALUES (4, N'four')");
    run(&mut a, "COMMIT");
    run(&mut b, "COMMIT");
    assert_eq!(
        values(&mut a, "SELECT id, v FROM t ORDER BY id"),
        [
            [Value::Int(1), text("a")],
            [Value::Int(2), text("b")],
            [Value::Int(3), text("three")],
            [Value::Int(4), text("four")]
        ]
    );
}

#[test]
fn a_writer_of_a_changed_row_waits_for_the_commit_and_sees_the_committed_value() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1");
    run(&mut b, SAFETY_TIMEOUT);
    let waiting = start(b, "UPDATE t SET v = v + N'+b' WHERE id = 1");
    thread::sleep(SETTLE);
    assert!(!waiting.is_finished(), "the second writer waits for the first one's transaction");
    let committed = Instant::now();
    run(&mut a, "COMMIT");
    let (_, events) = waiting.join().unwrap();
    assert!(committed.elapsed() < Duration::from_secs(1), "the waiter goes on right after the commit");
    assert_eq!(errors(&events), []);
    assert_eq!(values(&mut a, "SELECT v FROM t WHERE id = 1"), [[text("a+b")]]);
}

#[test]
fn a_waiter_goes_on_with_the_old_value_after_a_rollback() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1");
    run(&mut b, SAFETY_TIMEOUT);
    let waiting = start(b, "SELECT v FROM t WHERE id = 1");
    thread::sleep(SETTLE);
    assert!(!waiting.is_finished(), "a READ COMMITTED reader waits for the uncommitted row");
    run(&mut a, "ROLLBACK");
    let (_, events) = waiting.join().unwrap();
    assert_eq!(rows(&events), [[text("one")]]);
}

#[test]
fn a_lock_timeout_ends_the_statement_with_1222_and_keeps_the_transaction() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1");
    run(&mut b, "SET LOCK_TIMEOUT 100; BEGIN TRAN; UPDATE t SET v = N'b' WHERE id = 2");
    let started = Instant::now();
    let events = execute_batch(&mut b, "UPDATE t SET v = N'b' WHERE id = 1\nSELECT @@TRANCOUNT, @@LOCK_TIMEOUT");
    assert!(started.elapsed() >= Duration::from_millis(100), "waited its timeout");
    let messages = error_messages(&events);
    assert_eq!(messages.len(), 1, "{events:?}");
    assert_eq!(
        (messages[0].number, messages[0].class, messages[0].state, messages[0].text.as_str(), messages[0].line),
        (1222, 16, 51, "Lock request time out period exceeded.", 1)
    );
    // the batch went on, in the same transaction
    assert_eq!(rows(&events), [[Value::Int(1), Value::Int(100)]]);
    run(&mut b, "COMMIT");
    run(&mut a, "COMMIT");
    assert_eq!(values(&mut a, "SELECT v FROM t ORDER BY id"), [[text("a")], [text("b")]]);
}

#[test]
fn lock_timeout_0_fails_at_once_and_minus_1_is_the_default() {
    let (mut a, mut b) = two_sessions();
    assert_eq!(int(&mut b, "SELECT @@LOCK_TIMEOUT"), -1);
    run(&mut a, "BEGIN TRAN; DELETE FROM t WHERE id = 2");
    run(&mut b, "SET LOCK_TIMEOUT 0");
    let started = Instant::now();
    assert_eq!(error_numbers(&execute_batch(&mut b, "SELECT v FROM t WHERE id = 2")), [1222]);
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(int(&mut b, "SELECT @@LOCK_TIMEOUT"), 0);
    run(&mut b, "SET LOCK_TIMEOUT -1");
    assert_eq!(int(&mut b, "SELECT @@LOCK_TIMEOUT"), -1);
}

#[test]
fn two_sessions_waiting_on_each_other_end_with_1205_for_one_and_the_other_commits() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, &format!("{SAFETY_TIMEOUT}; BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1"));
    run(&mut b, &format!("{SAFETY_TIMEOUT}; BEGIN TRAN; UPDATE t SET v = N'b' WHERE id = 2"));
    let first = start(a, "UPDATE t SET v = N'a' WHERE id = 2");
    thread::sleep(SETTLE);
    let second = start(b, "UPDATE t SET v = N'b' WHERE id = 1");
    let (a, a_events) = first.join().unwrap();
    let (b, b_events) = second.join().unwrap();
    let (mut victim, victim_events, mut survivor, survivor_events, spid) =
        match (error_numbers(&a_events).as_slice(), error_numbers(&b_events).as_slice()) {
            ([1205], []) => (a, a_events, b, b_events, 51),
            ([], [1205]) => (b, b_events, a, a_events, 52),
            other => panic!("exactly one deadlock victim: {other:?}"),
        };
    let message = &error_messages(&victim_events)[0];
    assert_eq!(
        (message.class, message.state, message.text.clone()),
        (13, 51, format!("Transaction (Process ID {spid}) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction."))
    );
    assert_eq!(env_changes(&victim_events), [EnvChange::RollbackTransaction { descriptor: 1 }]);
    assert_eq!(int(&mut victim, "SELECT @@TRANCOUNT"), 0, "the victim's transaction is rolled back");
    assert_eq!(errors(&survivor_events), []);
    run(&mut survivor, "COMMIT");
    let won = if spid == 51 { "b" } else { "a" };
    assert_eq!(values(&mut victim, "SELECT v FROM t ORDER BY id"), [[text(won)], [text(won)]]);
}

#[test]
fn readers_wait_for_uncommitted_changes_unless_they_read_uncommitted() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1; INSERT INTO t VALUES (3, N'new')");
    run(&mut b, "SET LOCK_TIMEOUT 0");
    // a scan reads every row; a seek only the rows of its key
    assert_eq!(error_numbers(&execute_batch(&mut b, "SELECT v FROM t")), [1222]);
    assert_eq!(error_numbers(&execute_batch(&mut b, "SELECT v FROM t WHERE id = 3")), [1222]);
    assert_eq!(values(&mut b, "SELECT v FROM t WHERE id = 2"), [[text("two")]]);
    assert_eq!(
        values(&mut b, "SELECT v FROM t WITH (NOLOCK) ORDER BY id"),
        [[text("a")], [text("two")], [text("new")]]
    );
    run(&mut b, "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
    assert_eq!(values(&mut b, "SELECT COUNT(*) FROM t"), [[Value::Int(3)]]);
    run(&mut b, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
    assert_eq!(error_numbers(&execute_batch(&mut b, "SELECT COUNT(*) FROM t")), [1222]);
    // its own changes a transaction reads as they are
    assert_eq!(values(&mut a, "SELECT v FROM t ORDER BY id"), [[text("a")], [text("two")], [text("new")]]);
}

#[test]
fn a_deleted_or_moved_key_stays_locked_as_committed() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; DELETE FROM t WHERE id = 1; UPDATE t SET id = 20 WHERE id = 2");
    run(&mut b, "SET LOCK_TIMEOUT 0");
    for sql in [
        "SELECT v FROM t WHERE id = 1",
        "SELECT v FROM t WHERE id = 2",
        "SELECT v FROM t WHERE id = 20",
        "INSERT INTO t VALUES (1, N'again')",
        "INSERT INTO t VALUES (2, N'again')",
    ] {
        assert_eq!(error_numbers(&execute_batch(&mut b, sql)), [1222], "{sql}");
    }
    assert_eq!(values(&mut b, "SELECT v FROM t WHERE id = 7"), Vec::<Vec<Value>>::new());
    run(&mut a, "ROLLBACK");
    assert_eq!(
        values(&mut b, "SELECT id, v FROM t ORDER BY id"),
        [[Value::Int(1), text("one")], [Value::Int(2), text("two")]]
    );
}

#[test]
fn an_insert_of_a_key_another_transaction_inserted_waits_then_fails_on_its_commit() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; INSERT INTO t VALUES (3, N'a')");
    run(&mut b, "SET LOCK_TIMEOUT 0; INSERT INTO t VALUES (4, N'b'); UPDATE t SET v = N'b' WHERE id = 1");
    assert_eq!(error_numbers(&execute_batch(&mut b, "INSERT INTO t VALUES (3, N'b')")), [1222]);
    run(&mut b, SAFETY_TIMEOUT);
    let waiting = start(b, "INSERT INTO t VALUES (3, N'b')");
    thread::sleep(SETTLE);
    assert!(!waiting.is_finished());
    run(&mut a, "COMMIT");
    let (_, events) = waiting.join().unwrap();
    assert_eq!(error_numbers(&events), [2627], "a duplicate once the other insert committed");
}

#[test]
fn rollback_undoes_inserts_updates_deletes_and_ddl_and_savepoints_undo_part() {
    let (mut a, _) = two_sessions();
    run(
        &mut a,
        "CREATE TABLE kept (k INT IDENTITY(10, 5) PRIMARY KEY, s NVARCHAR(5)); INSERT INTO kept (s) VALUES (N'x'), (N'y');
         CREATE INDEX kept_s ON kept (s)",
    );
    run(
        &mut a,
        "BEGIN TRAN; UPDATE t SET v = N'u' WHERE id = 1; DELETE FROM t WHERE id = 2; INSERT INTO t VALUES (5, N'five');
         CREATE TABLE fresh (k INT); INSERT INTO fresh VALUES (1);
         SAVE TRAN half; DROP INDEX kept_s ON kept; DROP TABLE kept; INSERT INTO t VALUES (6, N'six')",
    );
    assert_eq!(error_numbers(&execute_batch(&mut a, "SELECT * FROM kept")), [208]);
    run(&mut a, "ROLLBACK TRAN half");
    assert_eq!(
        values(&mut a, "SELECT k, s FROM kept ORDER BY k"),
        [[Value::Int(10), text("x")], [Value::Int(15), text("y")]]
    );
    assert_eq!(values(&mut a, "SELECT id FROM t ORDER BY id"), [[Value::Int(1)], [Value::Int(5)]]);
    run(&mut a, "ROLLBACK");
    assert_eq!(
        values(&mut a, "SELECT id, v FROM t ORDER BY id"),
        [[Value::Int(1), text("one")], [Value::Int(2), text("two")]]
    );
    assert_eq!(error_numbers(&execute_batch(&mut a, "SELECT * FROM fresh")), [208]);
    // the index came back with the table, and the identity goes on where it was
    assert_eq!(error_numbers(&execute_batch(&mut a, "CREATE INDEX kept_s ON kept (s)")), [1913]);
    run(&mut a, "INSERT INTO kept (s) VALUES (N'z')");
    assert_eq!(values(&mut a, "SELECT MAX(k) FROM kept"), [[Value::Int(20)]]);
}

#[test]
fn identity_values_taken_by_a_rolled_back_insert_are_not_given_again() {
    let (mut a, _) = two_sessions();
    run(&mut a, "CREATE TABLE ids (k INT IDENTITY PRIMARY KEY, s INT)");
    run(&mut a, "BEGIN TRAN; INSERT INTO ids (s) VALUES (1); ROLLBACK");
    run(&mut a, "INSERT INTO ids (s) VALUES (2)");
    assert_eq!(values(&mut a, "SELECT k FROM ids"), [[Value::Int(2)]]);
}

#[test]
fn a_session_dropped_with_its_transaction_open_rolls_it_back_and_releases_its_locks() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1; INSERT INTO t VALUES (3, N'three')");
    run(&mut b, SAFETY_TIMEOUT);
    let waiting = start(b, "UPDATE t SET v = v + N'+b' WHERE id = 1");
    thread::sleep(SETTLE);
    assert!(!waiting.is_finished());
    drop(a);
    let (mut b, events) = waiting.join().unwrap();
    assert_eq!(errors(&events), []);
    assert_eq!(
        values(&mut b, "SELECT id, v FROM t ORDER BY id"),
        [[Value::Int(1), text("one+b")], [Value::Int(2), text("two")]]
    );
}

#[test]
fn ddl_in_an_open_transaction_holds_the_table_until_it_ends() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; CREATE TABLE pending (k INT); INSERT INTO pending VALUES (1)");
    run(&mut b, "SET LOCK_TIMEOUT 0");
    assert_eq!(error_numbers(&execute_batch(&mut b, "SELECT k FROM pending")), [1222]);
    run(&mut a, "ROLLBACK");
    assert_eq!(error_numbers(&execute_batch(&mut b, "SELECT k FROM pending")), [208]);
    // a writer's row locks keep DDL away
    run(&mut a, "BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1");
    assert_eq!(error_numbers(&execute_batch(&mut b, "DROP TABLE t")), [1222]);
    assert_eq!(error_numbers(&execute_batch(&mut b, "CREATE INDEX t_v ON t (v)")), [1222]);
    run(&mut a, "COMMIT");
    run(&mut b, "CREATE INDEX t_v ON t (v)");
}

#[test]
fn isolation_levels_that_hold_read_locks_are_refused() {
    let (_, mut b) = two_sessions();
    for level in ["REPEATABLE READ", "SERIALIZABLE", "SNAPSHOT"] {
        let events = execute_batch(&mut b, &format!("SET TRANSACTION ISOLATION LEVEL {level}"));
        let messages = error_messages(&events);
        assert_eq!(messages.len(), 1, "{level}");
        assert!(messages[0].text.contains("not supported by the local test server"), "{level}: {}", messages[0].text);
    }
    assert_eq!(error_numbers(&execute_batch(&mut b, "SELECT v FROM t WITH (UPDLOCK)")), [50000]);
}

#[test]
fn readpast_skips_the_rows_other_transactions_hold_instead_of_waiting() {
    let (mut a, mut b) = two_sessions();
    run(&mut a, "BEGIN TRAN; UPDATE t SET v = N'a' WHERE id = 1; INSERT INTO t VALUES (3, N'three')");
    // a wait would end this batch with 1222
    run(&mut b, "SET LOCK_TIMEOUT 0");
    assert_eq!(values(&mut b, "SELECT id, v FROM t WITH (READPAST) ORDER BY id"), [[Value::Int(2), text("two")]]);
    // the holder reads its own rows
    assert_eq!(int(&mut a, "SELECT COUNT(*) FROM t WITH (READPAST)"), 3);
    run(&mut a, "COMMIT");
    assert_eq!(int(&mut b, "SELECT COUNT(*) FROM t WITH (READPAST)"), 3);
}
