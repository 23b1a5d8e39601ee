//! The catalog on the engine: the object functions, sys.* and INFORMATION_SCHEMA views, and the
//! catalog procedures ODBC and bulk copy call by RPC. Expected values are SQL Server's. The sessions
//! of one process share one database, so every test names its own objects.

use tds_server::engine::{execute_batch, execute_rpc, Event, RpcParam, RpcRequest, RpcTarget, Session};
use tds_server::types::{SqlType, DEFAULT_COLLATION};
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

fn rows(events: &[Event]) -> Vec<Vec<Value>> {
    events.iter().filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None }).collect()
}

fn query(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    let events = execute_batch(s, sql);
    assert!(!events.iter().any(|e| matches!(e, Event::Error(_))), "{sql}: {events:?}");
    rows(&events)
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn text(s: &str) -> Value {
    Value::Str(s.to_string())
}

fn bit(b: bool) -> Value {
    Value::Bool(b)
}

fn create(s: &mut Session, table: &str) {
    query(
        s,
        &format!(
            "CREATE TABLE {table} (id int IDENTITY(1,1) PRIMARY KEY, name nvarchar(50) NOT NULL, \
             amount decimal(10,2) NULL DEFAULT 0)"
        ),
    );
}

#[test]
fn object_functions() {
    let mut s = session();
    create(&mut s, "cat_fn");
    query(&mut s, "CREATE VIEW cat_fn_v AS SELECT id FROM cat_fn");
    let got = query(
        &mut s,
        "SELECT OBJECT_NAME(OBJECT_ID('cat_fn')), OBJECT_ID('dbo.cat_fn', 'U') - OBJECT_ID('[cat_fn]'), \
         OBJECT_ID('cat_fn', 'V'), OBJECT_ID('master.dbo.cat_fn_v', 'V') - OBJECT_ID('cat_fn_v'), \
         OBJECT_SCHEMA_NAME(OBJECT_ID('cat_fn')), COL_NAME(OBJECT_ID('cat_fn'), 3), COL_LENGTH('cat_fn', 'name'), \
         COLUMNPROPERTY(OBJECT_ID('cat_fn'), 'id', 'IsIdentity'), COLUMNPROPERTY(OBJECT_ID('cat_fn'), 'amount', 'Scale'), \
         OBJECTPROPERTY(OBJECT_ID('cat_fn_v'), 'IsView'), TYPE_NAME(231), TYPE_ID('decimal'), \
         OBJECT_DEFINITION(OBJECT_ID('cat_fn_v'))",
    );
    assert_eq!(
        got,
        [vec![
            text("cat_fn"),
            int(0),
            Value::Null,
            int(0),
            text("dbo"),
            text("amount"),
            int(100),
            int(1),
            int(2),
            int(1),
            text("nvarchar"),
            int(106),
            text("CREATE VIEW cat_fn_v AS SELECT id FROM cat_fn"),
        ]]
    );
    query(&mut s, "DROP VIEW cat_fn_v; DROP TABLE cat_fn");
    assert_eq!(query(&mut s, "SELECT OBJECT_ID('cat_fn'), OBJECT_ID('cat_fn_v')"), [vec![Value::Null, Value::Null]]);
}

#[test]
fn sys_views() {
    let mut s = session();
    create(&mut s, "cat_sys");
    assert_eq!(
        query(&mut s, "SELECT name, schema_id, type, type_desc, is_ms_shipped FROM sys.tables WHERE name = 'cat_sys'"),
        [vec![text("cat_sys"), int(1), text("U "), text("USER_TABLE"), bit(false)]]
    );
    // the primary key and the default are objects of their own, their parent the table
    let kinds =
        query(&mut s, "SELECT type FROM sys.objects WHERE parent_object_id = OBJECT_ID('cat_sys') ORDER BY type");
    assert_eq!(kinds, [vec![text("D ")], vec![text("PK")]]);
    assert_eq!(
        query(
            &mut s,
            "SELECT c.name, t.name, c.max_length, c.precision, c.scale, c.is_nullable, c.is_identity, c.collation_name \
             FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id \
             WHERE c.object_id = OBJECT_ID('cat_sys') ORDER BY c.column_id",
        ),
        [
            vec![text("id"), text("int"), int(4), int(10), int(0), bit(false), bit(true), Value::Null],
            vec![
                text("name"),
                text("nvarchar"),
                int(100),
                int(0),
                int(0),
                bit(false),
                bit(false),
                text("SQL_Latin1_General_CP1_CI_AS")
            ],
            vec![text("amount"), text("decimal"), int(9), int(10), int(2), bit(true), bit(false), Value::Null],
        ]
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT i.type_desc, i.is_primary_key, ic.key_ordinal, COL_NAME(ic.object_id, ic.column_id) \
             FROM sys.indexes i JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
             WHERE i.object_id = OBJECT_ID('cat_sys')",
        ),
        [vec![text("CLUSTERED"), bit(true), int(1), text("id")]]
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT c.name, d.definition FROM sys.default_constraints d \
             JOIN sys.columns c ON c.object_id = d.parent_object_id AND c.column_id = d.parent_column_id \
             WHERE d.parent_object_id = OBJECT_ID('cat_sys')",
        ),
        [vec![text("amount"), text("((0))")]]
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT seed_value, increment_value FROM sys.identity_columns WHERE object_id = OBJECT_ID('cat_sys')",
        ),
        [vec![
            Value::Variant(Box::new(SqlType::Int), Box::new(int(1))),
            Value::Variant(Box::new(SqlType::Int), Box::new(int(1)))
        ]]
    );
    assert_eq!(
        query(&mut s, "SELECT name, max_length, precision, scale FROM sys.types WHERE name IN ('decimal', 'sysname') ORDER BY name"),
        [vec![text("decimal"), int(17), int(38), int(38)], vec![text("sysname"), int(256), int(0), int(0)]]
    );
    query(&mut s, "DROP TABLE cat_sys");
}

#[test]
fn temp_tables_are_in_tempdb() {
    let mut s = session();
    query(&mut s, "CREATE TABLE #cat_tmp (a int)");
    assert_eq!(query(&mut s, "SELECT COUNT(*) FROM sys.tables WHERE name LIKE '#cat[_]tmp%'"), [vec![int(0)]]);
    let found = query(&mut s, "SELECT LEFT(name, 9), object_id - OBJECT_ID('tempdb..#cat_tmp') FROM tempdb.sys.tables WHERE name LIKE '#cat[_]tmp%'");
    assert_eq!(found, [vec![text("#cat_tmp_"), int(0)]]);
    assert_eq!(
        query(&mut s, "SELECT COLUMN_NAME FROM tempdb.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME LIKE '#cat[_]tmp%'"),
        [vec![text("a")]]
    );
}

#[test]
fn information_schema() {
    let mut s = session();
    create(&mut s, "cat_is");
    assert_eq!(
        query(
            &mut s,
            "SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'cat_is'"
        ),
        [vec![text("master"), text("dbo"), text("BASE TABLE")]]
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, \
             NUMERIC_SCALE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'cat_is' ORDER BY ORDINAL_POSITION",
        ),
        [
            vec![text("id"), Value::Null, text("NO"), text("int"), Value::Null, int(10), int(0)],
            vec![text("name"), Value::Null, text("NO"), text("nvarchar"), int(50), Value::Null, Value::Null],
            vec![text("amount"), text("((0))"), text("YES"), text("decimal"), Value::Null, int(10), int(2)],
        ]
    );
    assert_eq!(
        query(
            &mut s,
            "SELECT tc.CONSTRAINT_TYPE, k.COLUMN_NAME, k.ORDINAL_POSITION FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc \
             JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k ON k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
             WHERE tc.TABLE_NAME = 'cat_is'",
        ),
        [vec![text("PRIMARY KEY"), text("id"), int(1)]]
    );
    query(&mut s, "DROP TABLE cat_is");
}

fn rpc(name: &str, params: &[(&str, Value)]) -> RpcRequest {
    RpcRequest {
        target: RpcTarget::Name(name.to_string()),
        option_flags: 0,
        params: params
            .iter()
            .map(|(n, v)| RpcParam {
                name: n.to_string(),
                status: 0,
                ty: if matches!(v, Value::Int(_)) { SqlType::Int } else { SqlType::NVarChar(Some(128)) },
                value: v.clone(),
            })
            .collect(),
    }
}

#[test]
fn catalog_procedures_by_rpc() {
    let mut s = session();
    create(&mut s, "cat_rpc");
    // SQLColumns: sp_columns_100 (COLUMN_NAME, DATA_TYPE, TYPE_NAME, PRECISION, LENGTH, SCALE, NULLABLE, COLUMN_DEF)
    let events = execute_rpc(
        &mut s,
        &rpc("sp_columns_100", &[("@table_name", text("cat_rpc")), ("@ODBCVer", int(3)), ("@fUsePattern", int(1))]),
    );
    let got: Vec<Vec<Value>> = rows(&events)
        .into_iter()
        .map(|r| {
            vec![
                r[3].clone(),
                r[4].clone(),
                r[5].clone(),
                r[6].clone(),
                r[7].clone(),
                r[8].clone(),
                r[10].clone(),
                r[12].clone(),
            ]
        })
        .collect();
    assert_eq!(
        got,
        [
            vec![text("id"), int(4), text("int identity"), int(10), int(4), int(0), int(0), Value::Null],
            vec![text("name"), int(-9), text("nvarchar"), int(50), int(100), Value::Null, int(0), Value::Null],
            vec![text("amount"), int(3), text("decimal"), int(10), int(12), int(2), int(1), text("((0))")],
        ]
    );
    assert!(matches!(events.last(), Some(Event::Done(d)) if d.kind == tds_server::engine::DoneKind::DoneProc));
    // SQLTables and SQLPrimaryKeys
    let events =
        execute_rpc(&mut s, &rpc("sp_tables", &[("@table_name", text("cat[_]rpc")), ("@table_type", text("'TABLE'"))]));
    assert_eq!(rows(&events), [vec![text("master"), text("dbo"), text("cat_rpc"), text("TABLE"), Value::Null]]);
    let events = execute_rpc(&mut s, &rpc("sp_pkeys", &[("@table_name", text("cat_rpc"))]));
    let got = rows(&events);
    assert_eq!((got.len(), &got[0][3], &got[0][4]), (1, &text("id"), &int(1)));
    // bulk copy's collations of the table's columns
    let events = execute_rpc(&mut s, &rpc("sp_tablecollations_100", &[("@object", text("[dbo].[cat_rpc]"))]));
    assert_eq!(
        rows(&events),
        [
            vec![int(1), text("id"), Value::Null, Value::Null],
            vec![int(2), text("name"), Value::Bytes(DEFAULT_COLLATION.to_vec()), text("SQL_Latin1_General_CP1_CI_AS")],
            vec![int(3), text("amount"), Value::Null, Value::Null],
        ]
    );
    // and from a batch
    let events = execute_batch(&mut s, "EXEC sp_columns @table_name = 'cat_rpc'");
    assert_eq!(rows(&events).len(), 3);
    query(&mut s, "DROP TABLE cat_rpc");
}
