//! Transactions nested as SQL Server nests them: @@TRANCOUNT, ENVCHANGE only at the outermost
//! level, 3902/3903 with nothing to end, named transactions, and savepoints (SAVE TRAN,
//! ROLLBACK TRAN name) on tables.

mod engine_support;

use engine_support::{error_numbers as errors, rows, run, session};
use tds_server::engine::{execute_batch, EnvChange, Event, Session};
use tds_server::value::Value;

fn env_changes(events: &[Event]) -> Vec<EnvChange> {
    events.iter().filter_map(|e| if let Event::EnvChange(c) = e { Some(c.clone()) } else { None }).collect()
}

fn trancount(s: &mut Session) -> i64 {
    match rows(&run(s, "SELECT @@TRANCOUNT")).as_slice() {
        [row] => match row.as_slice() {
            [Value::Int(n)] => *n,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn keys(s: &mut Session, table: &str) -> Vec<i64> {
    rows(&run(s, &format!("SELECT k FROM {table} ORDER BY k")))
        .into_iter()
        .map(|r| match r.as_slice() {
            [Value::Int(k)] => *k,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn begin_nests_and_only_the_outermost_commit_commits() {
    let mut s = session();
    run(&mut s, "CREATE TABLE tx_nest (k INT)");
    let events = run(&mut s, "BEGIN TRAN");
    assert_eq!(env_changes(&events), [EnvChange::BeginTransaction { descriptor: 1 }]);
    assert_eq!(env_changes(&run(&mut s, "BEGIN TRANSACTION inner_tx")), []);
    assert_eq!(trancount(&mut s), 2);
    run(&mut s, "INSERT INTO tx_nest VALUES (1)");
    assert_eq!(env_changes(&run(&mut s, "COMMIT TRAN inner_tx")), []);
    assert_eq!(trancount(&mut s), 1);
    assert_eq!(s.transaction, Some(1), "still open");
    assert_eq!(env_changes(&run(&mut s, "COMMIT")), [EnvChange::CommitTransaction { descriptor: 1 }]);
    assert_eq!(trancount(&mut s), 0);
    assert_eq!(keys(&mut s, "tx_nest"), [1]);
}

#[test]
fn rollback_ends_every_level_and_sets_trancount_to_0() {
    let mut s = session();
    run(&mut s, "CREATE TABLE tx_rollback (k INT)");
    run(&mut s, "BEGIN TRAN; INSERT INTO tx_rollback VALUES (1); BEGIN TRAN; INSERT INTO tx_rollback VALUES (2)");
    assert_eq!(trancount(&mut s), 2);
    let events = run(&mut s, "ROLLBACK");
    assert_eq!(env_changes(&events), [EnvChange::RollbackTransaction { descriptor: 1 }]);
    assert_eq!(trancount(&mut s), 0);
    assert_eq!(keys(&mut s, "tx_rollback"), Vec::<i64>::new());
}

#[test]
fn nothing_to_commit_or_roll_back_is_3902_and_3903_and_save_outside_a_transaction_628() {
    let mut s = session();
    assert_eq!(errors(&execute_batch(&mut s, "COMMIT")), [3902]);
    assert_eq!(errors(&execute_batch(&mut s, "ROLLBACK TRAN")), [3903]);
    assert_eq!(errors(&execute_batch(&mut s, "ROLLBACK TRAN some_name")), [3903]);
    assert_eq!(errors(&execute_batch(&mut s, "SAVE TRAN s1")), [628]);
    run(&mut s, "BEGIN TRAN; COMMIT");
    assert_eq!(errors(&execute_batch(&mut s, "COMMIT TRANSACTION")), [3902]);
}

#[test]
fn rollback_to_a_savepoint_keeps_the_work_before_it_and_the_transaction() {
    let mut s = session();
    run(&mut s, "CREATE TABLE tx_save (k INT)");
    let events = run(
        &mut s,
        "BEGIN TRAN\nINSERT INTO tx_save VALUES (1)\nSAVE TRANSACTION first_save\nINSERT INTO tx_save VALUES (2)\n\
         SAVE TRAN second_save\nINSERT INTO tx_save VALUES (3)\nROLLBACK TRAN second_save\nSELECT @@TRANCOUNT",
    );
    assert_eq!(rows(&events), [vec![Value::Int(1)]], "a savepoint does not nest");
    assert_eq!(keys(&mut s, "tx_save"), [1, 2]);
    run(&mut s, "ROLLBACK TRANSACTION first_save");
    assert_eq!(keys(&mut s, "tx_save"), [1]);
    assert_eq!(trancount(&mut s), 1);
    // the savepoint stays: work after it can be rolled back to it again
    run(&mut s, "INSERT INTO tx_save VALUES (4); ROLLBACK TRAN first_save; INSERT INTO tx_save VALUES (5)");
    assert_eq!(env_changes(&run(&mut s, "COMMIT")), [EnvChange::CommitTransaction { descriptor: 1 }]);
    assert_eq!(keys(&mut s, "tx_save"), [1, 5]);
}

#[test]
fn rollback_naming_no_savepoint_rolls_back_the_whole_transaction() {
    let mut s = session();
    run(&mut s, "CREATE TABLE tx_named (k INT)");
    run(&mut s, "BEGIN TRAN outer_tx; INSERT INTO tx_named VALUES (1); SAVE TRAN s1; INSERT INTO tx_named VALUES (2)");
    let events = run(&mut s, "ROLLBACK TRAN outer_tx");
    assert_eq!(env_changes(&events), [EnvChange::RollbackTransaction { descriptor: 1 }]);
    assert_eq!(keys(&mut s, "tx_named"), Vec::<i64>::new());
    // the savepoints went with it
    run(&mut s, "BEGIN TRAN");
    assert_eq!(errors(&execute_batch(&mut s, "ROLLBACK TRAN s1; SELECT 1")), []);
    assert_eq!(trancount(&mut s), 0, "s1 is no savepoint of the new transaction, so it all rolls back");
}

#[test]
fn rollback_undoes_create_alter_and_drop_of_procedures_and_views() {
    let mut s = session();
    run(&mut s, "CREATE PROCEDURE kept AS SELECT 1 AS n");
    run(&mut s, "BEGIN TRAN");
    run(&mut s, "CREATE PROCEDURE made AS SELECT 2 AS n");
    run(&mut s, "ALTER PROCEDURE kept AS SELECT 3 AS n");
    run(&mut s, "CREATE VIEW v AS SELECT 4 AS n");
    assert_eq!(rows(&run(&mut s, "EXEC kept")), [[Value::Int(3)]]);
    run(&mut s, "ROLLBACK");
    assert_eq!(errors(&execute_batch(&mut s, "EXEC made")), [2812]);
    assert_eq!(errors(&execute_batch(&mut s, "SELECT n FROM v")), [208]);
    assert_eq!(rows(&run(&mut s, "EXEC kept")), [[Value::Int(1)]]);
    run(&mut s, "BEGIN TRAN; DROP PROCEDURE kept; ROLLBACK");
    assert_eq!(rows(&run(&mut s, "EXEC kept")), [[Value::Int(1)]]);
}

#[test]
fn a_table_whose_drop_is_rolled_back_keeps_its_identity_seed_and_next_value() {
    let mut s = session();
    run(&mut s, "CREATE TABLE ident (id INT IDENTITY(5, 2), k INT); INSERT INTO ident (k) VALUES (1), (2)");
    run(&mut s, "BEGIN TRAN; DROP TABLE ident; ROLLBACK");
    assert_eq!(
        rows(&run(
            &mut s,
            "SELECT CAST(seed_value AS int) FROM sys.identity_columns WHERE object_id = OBJECT_ID('ident')"
        )),
        [[Value::Int(5)]]
    );
    run(&mut s, "INSERT INTO ident (k) VALUES (3)");
    assert_eq!(rows(&run(&mut s, "SELECT id FROM ident WHERE k = 3")), [[Value::Int(9)]]);
}
