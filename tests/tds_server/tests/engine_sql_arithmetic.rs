//! Arithmetic operators and scalar functions, typed and failing as SQL Server's documentation
//! says: data type precedence, decimal precision/scale ("Precision, scale, and length"),
//! 8115 arithmetic overflow and 8134 divide by zero (statement errors: the batch goes on).

use tds_server::engine::{execute_batch, Event, Session};
use tds_server::types::{ColumnDef, SqlType};
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

/// Each result of a batch (columns, rows) and each error (number, text), in order.
#[derive(Debug, PartialEq)]
enum Outcome {
    Result(Vec<ColumnDef>, Vec<Vec<Value>>),
    Error(i32, String),
}

fn run(s: &mut Session, sql: &str) -> Vec<Outcome> {
    let mut out = Vec::new();
    for e in execute_batch(s, sql) {
        match e {
            Event::ColMetadata(cols) => out.push(Outcome::Result(cols, Vec::new())),
            Event::Row(r) => match out.last_mut() {
                Some(Outcome::Result(_, rows)) => rows.push(r),
                other => panic!("{sql}: a row after {other:?}"),
            },
            Event::Error(m) => out.push(Outcome::Error(m.number, m.text)),
            _ => {}
        }
    }
    out
}

/// The type and value of `SELECT <expr>`.
fn one(expr: &str) -> (SqlType, Value) {
    match run(&mut session(), &format!("SELECT {expr}")).as_slice() {
        [Outcome::Result(cols, rows)] if rows.len() == 1 => (cols[0].ty.clone(), rows[0][0].clone()),
        other => panic!("{expr}: {other:?}"),
    }
}

/// The error number of `SELECT <expr>`.
fn error(expr: &str) -> (i32, String) {
    run(&mut session(), &format!("SELECT {expr}"))
        .into_iter()
        .find_map(|o| match o {
            Outcome::Error(n, t) => Some((n, t)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{expr}: no error"))
}

fn numeric(precision: u8, scale: u8) -> SqlType {
    SqlType::Numeric { precision, scale }
}

fn decimal(precision: u8, scale: u8) -> SqlType {
    SqlType::Decimal { precision, scale }
}

#[test]
fn integer_arithmetic_keeps_the_higher_integer_type() {
    assert_eq!(one("1 + 2 * 3"), (SqlType::Int, Value::Int(7)));
    assert_eq!(one("(1 + 2) * 3"), (SqlType::Int, Value::Int(9)));
    // integer division truncates toward zero; % takes the dividend's sign
    assert_eq!(one("7 / 2"), (SqlType::Int, Value::Int(3)));
    assert_eq!(one("-7 / 2"), (SqlType::Int, Value::Int(-3)));
    assert_eq!(one("-7 % 3"), (SqlType::Int, Value::Int(-1)));
    assert_eq!(one("7 % -3"), (SqlType::Int, Value::Int(1)));
    assert_eq!(one("CAST(2 AS tinyint) * CAST(3 AS tinyint)"), (SqlType::TinyInt, Value::Int(6)));
    assert_eq!(one("CAST(2 AS smallint) + CAST(3 AS tinyint)"), (SqlType::SmallInt, Value::Int(5)));
    assert_eq!(one("CAST(2 AS bigint) - 3"), (SqlType::BigInt, Value::Int(-1)));
    assert_eq!(one("NULL + 1"), (SqlType::Int, Value::Null));
}

#[test]
fn overflow_and_division_by_zero_are_sql_server_errors() {
    assert_eq!(
        error("2147483647 + 1"),
        (8115, "Arithmetic overflow error converting expression to data type int.".into())
    );
    assert_eq!(error("CAST(255 AS tinyint) + CAST(1 AS tinyint)").0, 8115);
    assert_eq!(error("CAST(-32768 AS smallint) * CAST(-1 AS smallint)").0, 8115);
    assert_eq!(error("1 / 0"), (8134, "Divide by zero error encountered.".into()));
    assert_eq!(error("1 % 0").0, 8134);
    assert_eq!(error("1.5 / 0").0, 8134);
    assert_eq!(error("1E0 / 0").0, 8134);
    assert_eq!(error("$1 / 0").0, 8134);
    assert_eq!(
        error("CAST(1 AS bit) + CAST(1 AS bit)"),
        (8117, "Operand data type bit is invalid for add operator.".into())
    );
    assert_eq!(error("'a' - 'b'"), (8117, "Operand data type varchar is invalid for subtract operator.".into()));
    assert_eq!(error("5 % 2E0"), (402, "The data types int and float are incompatible in the modulo operator.".into()));
    assert_eq!(error("'x' + 1").0, 245);
}

#[test]
fn a_divide_by_zero_ends_its_statement_not_the_batch() {
    let out = run(&mut session(), "SELECT 1 / 0 AS q; SELECT 2 AS r");
    assert!(matches!(&out[0], Outcome::Result(cols, rows) if cols[0].name == "q" && rows.is_empty()), "{out:?}");
    assert_eq!(out[1], Outcome::Error(8134, "Divide by zero error encountered.".into()));
    assert!(matches!(&out[2], Outcome::Result(_, rows) if rows == &[vec![Value::Int(2)]]), "{out:?}");
}

#[test]
fn decimal_results_take_the_documented_precision_and_scale() {
    // e1 + e2: p = max(s1,s2) + max(p1-s1, p2-s2) + 1, s = max(s1,s2); int is decimal(10,0)
    assert_eq!(one("CAST(5 AS decimal(5,2)) + 10"), (decimal(13, 2), Value::Decimal(1500, 2)));
    // e1 * e2: p = p1 + p2 + 1, s = s1 + s2
    assert_eq!(one("CAST(1.5 AS decimal(5,2)) * CAST(2 AS decimal(4,1))"), (decimal(10, 3), Value::Decimal(3000, 3)));
    // e1 / e2: s = max(6, s1 + p2 + 1) = 12, p = p1 - s1 + s2 + s = 13 (1.0 is numeric(2,1))
    assert_eq!(one("1.0 / 3"), (numeric(13, 12), Value::Decimal(333_333_333_333, 12)));
    assert_eq!(one("1.0 / 4"), (numeric(13, 12), Value::Decimal(250_000_000_000, 12)));
    // beyond 38 digits the scale is reduced: decimal(38,10) * decimal(38,10) is decimal(38,6)
    assert_eq!(
        one("CAST(1.5 AS decimal(38,10)) * CAST(2.25 AS decimal(38,10))"),
        (decimal(38, 6), Value::Decimal(3_375_000, 6))
    );
    assert_eq!(one("-(2.50 - 3)"), (numeric(13, 2), Value::Decimal(50, 2)));
    assert_eq!(one("CAST(7.5 AS decimal(3,1)) % 2"), (decimal(3, 1), Value::Decimal(15, 1)));
    assert_eq!(error("CAST(99999999999999999999999999999999999999 AS decimal(38,0)) + 1").0, 8115);
}

#[test]
fn money_float_and_real_follow_precedence() {
    assert_eq!(one("$1.50 * 2"), (SqlType::Money, Value::Money(30_000)));
    assert_eq!(one("$10 / 4"), (SqlType::Money, Value::Money(25_000)));
    assert_eq!(one("$1.50 + 1.5"), (numeric(20, 4), Value::Decimal(30_000, 4)));
    assert_eq!(one("1.5E0 / 2"), (SqlType::Float, Value::Float(0.75)));
    assert_eq!(one("CAST(1.5 AS real) + 1"), (SqlType::Real, Value::Float(2.5)));
    assert_eq!(one("CAST(1.5 AS real) + 1E0"), (SqlType::Float, Value::Float(2.5)));
}

#[test]
fn plus_concatenates_strings() {
    assert_eq!(one("'a' + 'bc'"), (SqlType::VarChar(Some(3)), Value::Str("abc".into())));
    assert_eq!(one("N'a' + 'b'"), (SqlType::NVarChar(Some(2)), Value::Str("ab".into())));
    assert_eq!(one("'a' + NULL").1, Value::Null);
    // a string and a number: the string converts to the number's type
    assert_eq!(one("'1' + 1"), (SqlType::Int, Value::Int(2)));
}

#[test]
fn arithmetic_in_conditions_and_comparisons_still_hold() {
    let out = run(&mut session(), "SELECT 1 AS a WHERE 1 + 1 = 2; SELECT 1 AS b WHERE 2 * 3 < 5");
    assert!(matches!(&out[0], Outcome::Result(_, rows) if rows.len() == 1), "{out:?}");
    assert!(matches!(&out[1], Outcome::Result(_, rows) if rows.is_empty()), "{out:?}");
}

#[test]
fn table_statements_compute_and_fail_like_sql_server() {
    let mut s = session();
    let out = run(
        &mut s,
        "CREATE TABLE ar_t (id int PRIMARY KEY, v int, a int, b int)\n\
         INSERT INTO ar_t VALUES (1, 10, 7, 2), (2, 2147483647, 1, 0)\n\
         UPDATE ar_t SET v = v + 1 WHERE id = 1\n\
         UPDATE ar_t SET v = v + 1\n\
         SELECT id, v, id * 2 + a AS x FROM ar_t ORDER BY id",
    );
    // the failing UPDATE changes no row (its first row's change is undone) and the batch goes on
    assert_eq!(
        out[0],
        Outcome::Error(8115, "Arithmetic overflow error converting expression to data type int.".into())
    );
    let Outcome::Result(cols, rows) = &out[1] else { panic!("{out:?}") };
    assert_eq!(cols[2].ty, SqlType::Int);
    assert_eq!(
        rows,
        &[
            vec![Value::Int(1), Value::Int(11), Value::Int(9)],
            vec![Value::Int(2), Value::Int(2147483647), Value::Int(5)]
        ]
    );
    let out = run(&mut s, "SELECT a / b AS q FROM ar_t WHERE id = 1; SELECT a / b AS q FROM ar_t; DROP TABLE ar_t");
    assert!(matches!(&out[0], Outcome::Result(_, rows) if rows == &[vec![Value::Int(3)]]), "{out:?}");
    assert!(matches!(&out[1], Outcome::Result(cols, _) if cols[0].name == "q"), "{out:?}");
    assert_eq!(out[2], Outcome::Error(8134, "Divide by zero error encountered.".into()));
}

#[test]
fn scalar_functions_are_typed_as_sql_server_types_them() {
    assert_eq!(one("ISNULL(NULL, 5)"), (SqlType::Int, Value::Int(5)));
    assert_eq!(
        one("ISNULL(CAST(NULL AS varchar(3)), 'abcdef')"),
        (SqlType::VarChar(Some(3)), Value::Str("abc".into()))
    );
    assert_eq!(one("COALESCE(NULL, 2, 3)"), (SqlType::Int, Value::Int(2)));
    assert_eq!(one("COALESCE(NULL, 2, 3.5)"), (numeric(11, 1), Value::Decimal(20, 1)));
    assert_eq!(one("LEN('ab  ')"), (SqlType::Int, Value::Int(2)));
    assert_eq!(one("UPPER('ab')"), (SqlType::VarChar(Some(2)), Value::Str("AB".into())));
    assert_eq!(one("LOWER(N'AB')"), (SqlType::NVarChar(Some(2)), Value::Str("ab".into())));
    assert_eq!(one("ABS(-5)"), (SqlType::Int, Value::Int(5)));
    assert_eq!(one("ABS(-1.25)"), (numeric(3, 2), Value::Decimal(125, 2)));
    assert_eq!(error("ABS(-2147483647 - 1)").0, 8115);
    // ROUND keeps the argument's type (the documented examples)
    assert_eq!(one("ROUND(123.9994, 3)"), (numeric(7, 4), Value::Decimal(1_239_990, 4)));
    assert_eq!(one("ROUND(123.9995, 3)"), (numeric(7, 4), Value::Decimal(1_240_000, 4)));
    assert_eq!(one("ROUND(123.4545, 2)"), (numeric(7, 4), Value::Decimal(1_234_500, 4)));
    assert_eq!(one("ROUND(123.45, -2)"), (numeric(5, 2), Value::Decimal(10_000, 2)));
    assert_eq!(one("ROUND(150.75, 0)"), (numeric(5, 2), Value::Decimal(15_100, 2)));
    assert_eq!(one("ROUND(150.75, 0, 1)"), (numeric(5, 2), Value::Decimal(15_000, 2)));
    assert_eq!(one("ROUND(-1234, -2)"), (SqlType::Int, Value::Int(-1200)));
    // 0.7 is numeric(1,1), which cannot hold 1.0
    assert_eq!(error("ROUND(0.7, 0)").0, 8115);
    assert_eq!(one("GETDATE()").0, SqlType::DateTime);
    assert_eq!(one("SYSDATETIME()").0, SqlType::DateTime2(7));
    let (ty, first) = one("NEWID()");
    assert_eq!(ty, SqlType::UniqueIdentifier);
    assert_ne!(first, one("NEWID()").1);
    // GETDATE() and SYSDATETIME() read one clock: today's date in both
    let out = run(&mut session(), "SELECT CAST(GETDATE() AS date) AS a, CAST(SYSDATETIME() AS date) AS b");
    let Outcome::Result(_, rows) = &out[0] else { panic!("{out:?}") };
    assert_eq!(rows[0][0], rows[0][1]);
}
