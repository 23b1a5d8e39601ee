//! Local variables of a batch: DECLARE (with an initial value), SET and SELECT assignments,
//! typed by their declaration and converted on assignment, visible to the later statements of
//! the same batch, table statements included.

use tds_server::engine::{execute_batch, execute_rpc, Event, RpcParam, RpcRequest, RpcTarget, Session};
use tds_server::types::SqlType;
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

/// A result's column types and rows.
type Typed = (Vec<SqlType>, Vec<Vec<Value>>);

/// The rows of each result of a batch, or its first error (number, text).
fn results(s: &mut Session, sql: &str) -> Result<Vec<Typed>, (i32, String)> {
    let events = execute_batch(s, sql);
    let mut out: Vec<Typed> = Vec::new();
    for e in events {
        match e {
            Event::Error(m) => return Err((m.number, m.text)),
            Event::ColMetadata(cols) => out.push((cols.iter().map(|c| c.ty.clone()).collect(), Vec::new())),
            Event::Row(r) => out.last_mut().expect("metadata first").1.push(r),
            _ => {}
        }
    }
    Ok(out)
}

#[test]
fn declared_variables_are_typed_by_their_declaration() {
    let mut s = session();
    let out = results(
        &mut s,
        "DECLARE @i int = 5, @d decimal(5,2), @s varchar(3) = 'abcdef'\n\
         SET @d = 1.234\n\
         SET @i += 2\n\
         SELECT @i AS i, @d AS d, @s AS s, @i * 2 AS twice",
    )
    .unwrap();
    assert_eq!(
        out,
        [(
            vec![SqlType::Int, SqlType::Decimal { precision: 5, scale: 2 }, SqlType::VarChar(Some(3)), SqlType::Int],
            // 1.234 rounds to the declared scale; a longer string is cut to the declared length
            vec![vec![Value::Int(7), Value::Decimal(123, 2), Value::Str("abc".into()), Value::Int(14)]]
        )]
    );
}

#[test]
fn a_declared_variable_without_a_value_is_null() {
    let out = results(&mut session(), "DECLARE @x nvarchar(10); SELECT @x AS x").unwrap();
    assert_eq!(out, [(vec![SqlType::NVarChar(Some(10))], vec![vec![Value::Null]])]);
}

#[test]
fn select_assigns_in_order_and_sets_rowcount() {
    let out = results(
        &mut session(),
        "DECLARE @a int, @b int; SELECT @a = 1, @b = @a + 1; SELECT @@ROWCOUNT AS r, @a AS a, @b AS b",
    )
    .unwrap();
    assert_eq!(out[0].1, [vec![Value::Int(1), Value::Int(1), Value::Int(2)]]);
}

#[test]
fn variable_errors_are_sql_server_errors() {
    let mut s = session();
    assert_eq!(results(&mut s, "SET @nope = 1").unwrap_err().0, 137);
    assert_eq!(results(&mut s, "DECLARE @a int; DECLARE @a int").unwrap_err().0, 134);
    // a conversion error on assignment is a run-time error
    assert_eq!(results(&mut s, "DECLARE @a int; SET @a = 'x'").unwrap_err().0, 245);
    // variables live for one batch
    assert_eq!(results(&mut s, "DECLARE @kept int = 1").map(|r| r.len()), Ok(0));
    assert_eq!(results(&mut s, "SELECT @kept").unwrap_err().0, 137);
    assert_eq!(results(&mut s, "DECLARE @a int; SELECT @a = 1, 2").unwrap_err().0, 141);
}

#[test]
fn table_statements_read_variables() {
    let mut s = session();
    let out = results(
        &mut s,
        "CREATE TABLE var_t (id int PRIMARY KEY, v nvarchar(10))\n\
         DECLARE @id int = 2, @v nvarchar(10) = N'two'\n\
         INSERT INTO var_t VALUES (1, N'one'), (@id, @v)\n\
         SET @id = @id - 1\n\
         UPDATE var_t SET v = v + N'!' WHERE id = @id\n\
         SELECT id, v FROM var_t WHERE id >= @id ORDER BY id\n\
         DROP TABLE var_t",
    )
    .unwrap();
    assert_eq!(
        out[0].1,
        [vec![Value::Int(1), Value::Str("one!".into())], vec![Value::Int(2), Value::Str("two".into())]]
    );
}

#[test]
fn sp_executesql_output_parameters_return_what_the_statement_assigned() {
    let mut s = session();
    let param = |name: &str, ty: SqlType, value: Value, status: u8| RpcParam { name: name.into(), status, ty, value };
    let rpc = RpcRequest {
        target: RpcTarget::ProcId(10),
        option_flags: 0,
        params: vec![
            param("", SqlType::NVarChar(None), Value::Str("SET @out = @in * 3".into()), 0),
            param("", SqlType::NVarChar(None), Value::Str("@in int, @out int OUTPUT".into()), 0),
            param("@in", SqlType::Int, Value::Int(14), 0),
            param("@out", SqlType::Int, Value::Null, 1),
        ],
    };
    let events = execute_rpc(&mut s, &rpc);
    let returned: Vec<&Value> = events
        .iter()
        .filter_map(|e| match e {
            Event::ReturnValue { value, .. } => Some(value),
            _ => None,
        })
        .collect();
    assert_eq!(returned, [&Value::Int(42)]);
}

#[test]
fn select_assigns_variables_from_a_table() {
    let mut s = session();
    let out = results(
        &mut s,
        "CREATE TABLE #assign (id int PRIMARY KEY, v nvarchar(10))\n\
         INSERT INTO #assign VALUES (1, N'one'), (2, N'two'), (3, N'three')\n\
         DECLARE @v nvarchar(3) = N'-', @n int, @none int = 7\n\
         SELECT @v = v, @n = id * 10 FROM #assign WHERE id <= 2 ORDER BY id\n\
         SELECT @none = id FROM #assign WHERE id > 100\n\
         SELECT @v AS v, @n AS n, @none AS none, @@ROWCOUNT AS r",
    )
    .unwrap();
    // the last row's values, cut to the variable's type; no row leaves a variable unchanged
    assert_eq!(out[0].1, [vec![Value::Str("two".into()), Value::Int(20), Value::Int(7), Value::Int(0)]]);
    assert_eq!(results(&mut s, "DECLARE @x int; SELECT @x = id, v FROM #assign").unwrap_err().0, 141);
}
