//! CREATE [UNIQUE] [NONCLUSTERED] INDEX and DROP INDEX, and SQL Server's rule that a unique
//! key admits one NULL: a second NULL is a duplicate key (2627 for a constraint, 2601 for a
//! unique index), unlike SQLite's UNIQUE.

use tds_server::engine::{execute_batch, Event, Session};
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

/// The errors (number, text) and the rows of a batch.
fn run(s: &mut Session, sql: &str) -> (Vec<(i32, String)>, Vec<Vec<Value>>) {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for e in execute_batch(s, sql) {
        match e {
            Event::Error(m) => errors.push((m.number, m.text)),
            Event::Row(r) => rows.push(r),
            _ => {}
        }
    }
    (errors, rows)
}

#[test]
fn a_unique_index_rejects_duplicates_with_2601() {
    let mut s = session();
    let (errors, _) = run(
        &mut s,
        "CREATE TABLE ix_t (id int PRIMARY KEY, code varchar(10), n int)\n\
         CREATE UNIQUE NONCLUSTERED INDEX ix_code ON ix_t (code)\n\
         CREATE INDEX ix_n ON ix_t (n)\n\
         INSERT INTO ix_t VALUES (1, 'a', 1), (2, 'b', 1)\n\
         INSERT INTO ix_t VALUES (3, 'A', 2)",
    );
    // the default collation is case-insensitive: 'A' repeats 'a'
    assert_eq!(
        errors,
        [(
            2601,
            "Cannot insert duplicate key row in object 'dbo.ix_t' with unique index 'ix_code'. The duplicate key value is (A).".to_string()
        )]
    );
    let (errors, _) = run(&mut s, "UPDATE ix_t SET code = 'b' WHERE id = 1");
    assert_eq!(errors[0].0, 2601);
    let (errors, _) = run(&mut s, "CREATE INDEX ix_n ON ix_t (code)");
    assert_eq!(errors[0].0, 1913);
    let (errors, _) = run(&mut s, "CREATE UNIQUE INDEX ix_un ON ix_t (n)");
    assert_eq!(errors[0].0, 1505);
    let (errors, rows) = run(
        &mut s,
        "DROP INDEX ix_code ON ix_t\nINSERT INTO ix_t VALUES (3, 'A', 2)\nDROP INDEX ix_t.ix_n\nSELECT COUNT(*) FROM ix_t",
    );
    assert_eq!((errors, rows), (vec![], vec![vec![Value::Int(3)]]));
    let (errors, _) = run(&mut s, "DROP INDEX ix_code ON ix_t");
    assert_eq!(errors[0].0, 3701);
    run(&mut s, "DROP TABLE ix_t");
}

#[test]
fn a_unique_key_admits_one_null() {
    let mut s = session();
    let (errors, rows) = run(
        &mut s,
        "CREATE TABLE #uq_null (id int PRIMARY KEY, code int UNIQUE, other int)\n\
         CREATE UNIQUE INDEX ix_other ON #uq_null (other)\n\
         INSERT INTO #uq_null VALUES (1, NULL, NULL)\n\
         INSERT INTO #uq_null VALUES (2, NULL, 5)\n\
         INSERT INTO #uq_null VALUES (3, 7, NULL)\n\
         INSERT INTO #uq_null VALUES (4, 8, 6)\n\
         UPDATE #uq_null SET code = NULL WHERE id = 4\n\
         SELECT id FROM #uq_null ORDER BY id",
    );
    let numbers: Vec<i32> = errors.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [2627, 2601, 2627]);
    assert!(
        errors[0].1.contains("Violation of UNIQUE KEY constraint")
            && errors[0].1.ends_with("The duplicate key value is (<NULL>)."),
        "{errors:?}"
    );
    assert_eq!(rows, [vec![Value::Int(1)], vec![Value::Int(4)]]);
}
