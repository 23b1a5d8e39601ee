//! sp_describe_undeclared_parameters on table statements (what ODBC's SQLDescribeParam sends
//! before an array-bound INSERT): parameters take the types of the columns they go to or are
//! compared with.

mod engine_support;

use engine_support::{error_numbers as errors, session};
use tds_server::engine::{execute_batch, execute_rpc, Event, RpcParam, RpcRequest, RpcTarget, Session};
use tds_server::types::SqlType;
use tds_server::value::Value;

/// (name, suggested_system_type_name) of each described parameter.
fn describe(s: &mut Session, sql: &str, declarations: Option<&str>) -> Result<Vec<(String, String)>, Vec<i32>> {
    let text =
        |v: &str| RpcParam { name: String::new(), status: 0, ty: SqlType::NVarChar(None), value: Value::Str(v.into()) };
    let mut params = vec![text(sql)];
    params.extend(declarations.map(text));
    let rpc =
        RpcRequest { target: RpcTarget::Name("sp_describe_undeclared_parameters".into()), option_flags: 0, params };
    let events = execute_rpc(s, &rpc);
    if !errors(&events).is_empty() {
        return Err(errors(&events));
    }
    Ok(events
        .iter()
        .filter_map(|e| match e {
            Event::Row(row) => match (&row[1], &row[3]) {
                (Value::Str(name), Value::Str(ty)) => Some((name.clone(), ty.clone())),
                other => panic!("{other:?}"),
            },
            _ => None,
        })
        .collect())
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

#[test]
fn insert_update_and_delete_parameters_take_their_columns_types() {
    let mut s = session();
    let events = execute_batch(
        &mut s,
        "CREATE TABLE describe_t (id INT IDENTITY PRIMARY KEY, name NVARCHAR(20), amount DECIMAL(9,2), at DATETIME2(3))",
    );
    assert!(errors(&events).is_empty());
    assert_eq!(
        describe(&mut s, "INSERT INTO describe_t VALUES (@P1, @P2, @P3)", None),
        Ok(pairs(&[("@P1", "nvarchar(20)"), ("@P2", "decimal(9,2)"), ("@P3", "datetime2(3)")]))
    );
    assert_eq!(
        describe(&mut s, "INSERT INTO describe_t (at, name) VALUES (@P1, @P2)", Some("@P2 nvarchar(5)")),
        Ok(pairs(&[("@P1", "datetime2(3)")]))
    );
    assert_eq!(
        describe(&mut s, "UPDATE describe_t SET amount = @P1 WHERE id = @P2 AND @P3 < at", None),
        Ok(pairs(&[("@P1", "decimal(9,2)"), ("@P2", "int"), ("@P3", "datetime2(3)")]))
    );
    assert_eq!(
        describe(&mut s, "DELETE FROM describe_t WHERE name <> @P1", None),
        Ok(pairs(&[("@P1", "nvarchar(20)")]))
    );
}

#[test]
fn undeducible_and_repeated_parameters_and_missing_tables_are_errors() {
    let mut s = session();
    assert!(errors(&execute_batch(&mut s, "CREATE TABLE describe_e (k INT)")).is_empty());
    assert_eq!(describe(&mut s, "DELETE FROM describe_e WHERE @P1 IS NULL", None), Err(vec![11502]));
    assert_eq!(describe(&mut s, "DELETE FROM describe_e WHERE k = @P1 OR k = @P1", None), Err(vec![11508]));
    assert_eq!(describe(&mut s, "INSERT INTO describe_missing VALUES (@P1)", None), Err(vec![208]));
}
