//! sp_describe_first_result_set (as an RPC by name and through EXEC in a batch): SQL Server's
//! 39 columns in its order, one row per column of the first result, typed as the engine types
//! the SELECT; and EXEC of the system procedures in a batch.

use tds_server::engine::{execute_batch, execute_rpc, Event, RpcParam, RpcRequest, RpcTarget, Session};
use tds_server::types::{ColumnDef, SqlType};
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

fn result(events: &[Event]) -> (Vec<ColumnDef>, Vec<Vec<Value>>) {
    if let Some(m) = events.iter().find_map(|e| if let Event::Error(m) = e { Some(m) } else { None }) {
        panic!("{m:?}");
    }
    let start = events.iter().rposition(|e| matches!(e, Event::ColMetadata(_))).expect("a result");
    let Event::ColMetadata(columns) = &events[start] else { unreachable!() };
    let rows =
        events[start..].iter().filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None }).collect();
    (columns.clone(), rows)
}

fn describe_rpc(s: &mut Session, tsql: &str, params: &str) -> (Vec<ColumnDef>, Vec<Vec<Value>>) {
    let text =
        |v: &str| RpcParam { name: String::new(), status: 0, ty: SqlType::NVarChar(None), value: Value::Str(v.into()) };
    let rpc = RpcRequest {
        target: RpcTarget::Name("sys.sp_describe_first_result_set".into()),
        option_flags: 0,
        params: vec![text(tsql), text(params)],
    };
    result(&execute_rpc(s, &rpc))
}

/// (name, is_nullable, system_type_id, system_type_name, max_length, precision, scale) of each row.
fn summary(rows: &[Vec<Value>]) -> Vec<(Value, Value, Value, Value, Value, Value, Value)> {
    rows.iter()
        .map(|r| (r[2].clone(), r[3].clone(), r[4].clone(), r[5].clone(), r[6].clone(), r[7].clone(), r[8].clone()))
        .collect()
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

#[test]
fn the_result_set_has_sql_server_columns_in_order() {
    let (cols, rows) = describe_rpc(&mut session(), "SELECT 1 AS a", "");
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 39);
    assert_eq!(
        &names[..10],
        [
            "is_hidden",
            "column_ordinal",
            "name",
            "is_nullable",
            "system_type_id",
            "system_type_name",
            "max_length",
            "precision",
            "scale",
            "collation_name"
        ]
    );
    assert_eq!(&names[35..], ["tds_type_id", "tds_length", "tds_collation_id", "tds_collation_sort_id"]);
    assert_eq!((&cols[0].ty, &cols[6].ty, &cols[7].ty), (&SqlType::Bit, &SqlType::SmallInt, &SqlType::TinyInt));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][..2], [Value::Bool(false), Value::Int(1)]);
}

#[test]
fn table_less_and_table_queries_are_described_with_the_engine_typing() {
    let mut s_ = session();
    let (_, rows) =
        describe_rpc(&mut s_, "SELECT CAST(1.5 AS decimal(5,2)) * 2 AS p, N'ab' + 'c' AS t, @x AS x", "@x bigint");
    assert_eq!(
        summary(&rows),
        [
            (
                s("p"),
                Value::Bool(false),
                Value::Int(106),
                s("decimal(16,2)"),
                Value::Int(9),
                Value::Int(16),
                Value::Int(2)
            ),
            (
                s("t"),
                Value::Bool(false),
                Value::Int(231),
                s("nvarchar(3)"),
                Value::Int(6),
                Value::Int(0),
                Value::Int(0)
            ),
            (s("x"), Value::Bool(true), Value::Int(127), s("bigint"), Value::Int(8), Value::Int(19), Value::Int(0)),
        ]
    );
    // the nvarchar column is collated as the server's default
    assert_eq!(rows[1][9], s("SQL_Latin1_General_CP1_CI_AS"));
    let events = execute_batch(&mut s_, "CREATE TABLE #desc (id int IDENTITY PRIMARY KEY, v varchar(10) NULL)");
    assert!(!events.iter().any(|e| matches!(e, Event::Error(_))));
    let (_, rows) =
        describe_rpc(&mut s_, "INSERT INTO #desc (v) VALUES ('x'); SELECT id, v FROM #desc WHERE id = @id", "@id int");
    assert_eq!(
        summary(&rows),
        [
            (s("id"), Value::Bool(false), Value::Int(56), s("int"), Value::Int(4), Value::Int(10), Value::Int(0)),
            (
                s("v"),
                Value::Bool(true),
                Value::Int(167),
                s("varchar(10)"),
                Value::Int(10),
                Value::Int(0),
                Value::Int(0)
            ),
        ]
    );
    // is_identity_column, is_updateable
    assert_eq!((&rows[0][27], &rows[0][29]), (&Value::Bool(true), &Value::Bool(false)));
    // a batch without a result describes no column
    assert!(describe_rpc(&mut s_, "DECLARE @a int = 1", "").1.is_empty());
}

#[test]
fn exec_runs_system_procedures_from_a_batch() {
    let mut s_ = session();
    let (_, rows) = result(&execute_batch(&mut s_, "EXEC sp_describe_first_result_set @tsql = N'SELECT 2 AS two'"));
    assert_eq!(rows[0][2], s("two"));
    let events = execute_batch(&mut s_, "EXEC sp_executesql N'SELECT @a + 1 AS b', N'@a int', @a = 41");
    assert_eq!(result(&events).1, [vec![Value::Int(42)]]);
    assert!(events.iter().any(|e| matches!(e, Event::ReturnStatus(0))));
}

#[test]
fn sp_prepare_describes_and_runs_a_table_statement() {
    let mut s_ = session();
    assert!(!execute_batch(
        &mut s_,
        "CREATE TABLE #prep (id int PRIMARY KEY, v nvarchar(5))\nINSERT INTO #prep VALUES (1, N'one')"
    )
    .iter()
    .any(|e| matches!(e, Event::Error(_))));
    let param = |name: &str, ty: SqlType, value: Value, status: u8| RpcParam { name: name.into(), status, ty, value };
    let prepare = RpcRequest {
        target: RpcTarget::ProcId(11),
        option_flags: 0,
        params: vec![
            param("@handle", SqlType::Int, Value::Null, 1),
            param("", SqlType::NVarChar(None), Value::Str("@id int".into()), 0),
            param("", SqlType::NVarChar(None), Value::Str("SELECT v FROM #prep WHERE id = @id".into()), 0),
            // RETURN_METADATA: the result's columns come before the handle
            param("", SqlType::Int, Value::Int(1), 0),
        ],
    };
    let events = execute_rpc(&mut s_, &prepare);
    let Some(Event::ColMetadata(cols)) = events.first() else { panic!("{events:?}") };
    assert_eq!((cols[0].name.as_str(), &cols[0].ty), ("v", &SqlType::NVarChar(Some(5))));
    let handle = events
        .iter()
        .find_map(|e| match e {
            Event::ReturnValue { value, .. } => Some(value.clone()),
            _ => None,
        })
        .expect("a handle");
    let execute = RpcRequest {
        target: RpcTarget::ProcId(12),
        option_flags: 0,
        params: vec![param("", SqlType::Int, handle, 0), param("@id", SqlType::Int, Value::Int(1), 0)],
    };
    assert_eq!(result(&execute_rpc(&mut s_, &execute)).1, [vec![s("one")]]);
}
