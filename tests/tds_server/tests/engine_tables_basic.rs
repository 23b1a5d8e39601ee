//! Tables on the engine: CREATE/DROP, INSERT/UPDATE/DELETE counts, typed SELECTs, errors,
//! transactions and visibility between sessions. Every test uses its own table names,
//! because the sessions of one process share one database.

use tds_server::engine::{execute_batch, execute_rpc, Done, DoneKind, Event, RpcParam, RpcRequest, RpcTarget, Session};
use tds_server::types::SqlType;
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

fn dones(events: &[Event]) -> Vec<Done> {
    events.iter().filter_map(|e| if let Event::Done(d) = e { Some(*d) } else { None }).collect()
}

fn errors(events: &[Event]) -> Vec<(i32, String)> {
    events
        .iter()
        .filter_map(|e| if let Event::Error(m) = e { Some((m.number, m.text.clone())) } else { None })
        .collect()
}

fn rows(events: &[Event]) -> Vec<Vec<Value>> {
    events.iter().filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None }).collect()
}

/// Runs a batch that must not fail.
fn run(s: &mut Session, sql: &str) -> Vec<Event> {
    let events = execute_batch(s, sql);
    assert!(errors(&events).is_empty(), "{sql}: {events:?}");
    events
}

fn done(status: u16, cur_cmd: u16, row_count: u64) -> Done {
    Done { kind: DoneKind::Done, status, cur_cmd, row_count }
}

#[test]
fn create_insert_select_with_declared_types() {
    let mut s = session();
    let events = run(
        &mut s,
        "CREATE TABLE typed_rt (id INT IDENTITY(1,1) PRIMARY KEY, name NVARCHAR(20) NOT NULL, price DECIMAL(10,2), \
         amount MONEY, at DATETIME2(7), g UNIQUEIDENTIFIER, data VARBINARY(MAX), ok BIT)",
    );
    assert_eq!(dones(&events), [done(0, 0xC6, 0)]);
    let events = run(
        &mut s,
        "INSERT INTO typed_rt (name, price, amount, at, g, data, ok) VALUES \
         (N'a\u{e9}', 12.5, 3, '2024-02-29 23:59:59.1234567', '6F9619FF-8B86-D011-B42D-00C04FC964FF', 0x0102, 1), \
         (N'b', NULL, -1.25, NULL, NULL, NULL, 0)",
    );
    assert_eq!(dones(&events), [done(0x10, 0xC3, 2)]);
    let events = run(&mut s, "SELECT * FROM typed_rt ORDER BY id");
    let Some(Event::ColMetadata(cols)) = events.first() else { panic!("{events:?}") };
    let types: Vec<SqlType> = cols.iter().map(|c| c.ty.clone()).collect();
    assert_eq!(
        types,
        [
            SqlType::Int,
            SqlType::NVarChar(Some(20)),
            SqlType::Decimal { precision: 10, scale: 2 },
            SqlType::Money,
            SqlType::DateTime2(7),
            SqlType::UniqueIdentifier,
            SqlType::VarBinary(None),
            SqlType::Bit
        ]
    );
    assert!(!cols[0].nullable && cols[0].identity && !cols[0].updatable);
    assert!(!cols[1].nullable && cols[1].updatable && !cols[1].computed);
    assert!(cols[2].nullable);
    let r = rows(&events);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0][0], Value::Int(1));
    assert_eq!(r[0][1], Value::Str("a\u{e9}".into()));
    assert_eq!(r[0][2], Value::Decimal(1250, 2));
    assert_eq!(r[0][3], Value::Money(30000));
    // 2024-02-29 is day 738944 since 0001-01-01
    assert_eq!(r[0][4], Value::DateTime2 { days: 738944, ticks: 863_991_234_567 });
    assert_eq!(
        r[0][5],
        Value::Guid([0x6F, 0x96, 0x19, 0xFF, 0x8B, 0x86, 0xD0, 0x11, 0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64, 0xFF])
    );
    assert_eq!(r[0][6], Value::Bytes(vec![1, 2]));
    assert_eq!(r[0][7], Value::Bool(true));
    assert_eq!(
        r[1],
        [
            Value::Int(2),
            Value::Str("b".into()),
            Value::Null,
            Value::Money(-12500),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Bool(false)
        ]
    );
    assert_eq!(dones(&events), [done(0x10, 0xC1, 2)]);
}

#[test]
fn where_order_top_and_expressions() {
    let mut s = session();
    run(&mut s, "CREATE TABLE wot (k INT NOT NULL, v VARCHAR(10))\nINSERT INTO wot VALUES (1, 'one'), (2, 'TWO'), (3, NULL), (4, 'four')");
    let events = run(&mut s, "SELECT TOP 2 v, k AS key_ FROM wot WHERE k >= 2 ORDER BY k DESC");
    assert_eq!(rows(&events), [vec![Value::Str("four".into()), Value::Int(4)], vec![Value::Null, Value::Int(3)]]);
    let Some(Event::ColMetadata(cols)) = events.first() else { panic!() };
    assert_eq!(cols[1].name, "key_");
    // strings compare case-insensitively; IS NULL, IN, BETWEEN, NOT, OR
    let events = run(&mut s, "SELECT k FROM wot WHERE v = 'two' OR v IS NULL ORDER BY k");
    assert_eq!(rows(&events), [vec![Value::Int(2)], vec![Value::Int(3)]]);
    let events = run(&mut s, "SELECT k FROM wot WHERE k IN (1, 4) AND NOT k BETWEEN 2 AND 3 ORDER BY v");
    assert_eq!(rows(&events), [vec![Value::Int(4)], vec![Value::Int(1)]]);
    // an expression column is computed and typed by the evaluator
    let events = run(&mut s, "SELECT CAST(k AS DECIMAL(5,1)) AS d FROM wot WHERE k = 1");
    let Some(Event::ColMetadata(cols)) = events.first() else { panic!() };
    assert_eq!(cols[0].ty, SqlType::Decimal { precision: 5, scale: 1 });
    assert!(cols[0].computed);
    assert_eq!(rows(&events), [vec![Value::Decimal(10, 1)]]);
    // mixed batch: a table-less SELECT between table statements, no semicolons
    let events = run(&mut s, "SELECT 7 AS seven\nSELECT k FROM wot WHERE k = 2");
    assert_eq!(rows(&events), [vec![Value::Int(7)], vec![Value::Int(2)]]);
}

#[test]
fn update_delete_counts_and_nocount() {
    let mut s = session();
    run(&mut s, "CREATE TABLE udc (k INT, v INT); INSERT INTO udc VALUES (1, 10), (2, 20), (3, 30)");
    let events = run(&mut s, "UPDATE udc SET v = v WHERE k > 1");
    assert_eq!(dones(&events), [done(0x10, 0xC5, 2)]);
    let events = run(&mut s, "UPDATE udc SET v = -1 WHERE k = 3; DELETE FROM udc WHERE v < 0");
    assert_eq!(dones(&events), [done(0x10, 0xC5, 1), done(0x10, 0xC4, 1)]);
    let events = run(&mut s, "SET NOCOUNT ON; DELETE FROM udc");
    assert_eq!(dones(&events), [done(0, 0xBA, 0), done(0, 0xC4, 2)]);
}

#[test]
fn errors_as_sql_server_reports_them() {
    let mut s = session();
    assert_eq!(
        errors(&execute_batch(&mut s, "SELECT * FROM no_such_table")),
        [(208, "Invalid object name 'no_such_table'.".into())]
    );
    run(&mut s, "CREATE TABLE errs (id INT PRIMARY KEY, name VARCHAR(3) NOT NULL)");
    assert_eq!(errors(&execute_batch(&mut s, "SELECT nope FROM errs")), [(207, "Invalid column name 'nope'.".into())]);
    run(&mut s, "INSERT INTO errs VALUES (1, 'abc')");
    // a duplicate key ends its statement only: the batch goes on
    let events = execute_batch(&mut s, "INSERT INTO errs VALUES (1, 'x'); SELECT 5");
    let errs = errors(&events);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, 2627);
    assert!(errs[0].1.starts_with("Violation of PRIMARY KEY constraint 'PK__errs__"), "{}", errs[0].1);
    assert!(
        errs[0].1.ends_with("Cannot insert duplicate key in object 'dbo.errs'. The duplicate key value is (1)."),
        "{}",
        errs[0].1
    );
    assert_eq!(rows(&events), [vec![Value::Int(5)]]);
    assert_eq!(
        errors(&execute_batch(&mut s, "INSERT INTO errs VALUES (2, NULL)")),
        [(515, "Cannot insert the value NULL into column 'name', table 'master.dbo.errs'; column does not allow nulls. INSERT fails.".into())]
    );
    assert_eq!(
        errors(&execute_batch(&mut s, "INSERT INTO errs VALUES (3, 'abcd')")),
        [(2628, "String or binary data would be truncated in table 'master.dbo.errs', column 'name'. Truncated value: 'abc'.".into())]
    );
    // a failing multi-row INSERT inserts none of its rows
    execute_batch(&mut s, "INSERT INTO errs VALUES (4, 'd'), (1, 'dup')");
    assert_eq!(rows(&run(&mut s, "SELECT id FROM errs")), [vec![Value::Int(1)]]);
}

#[test]
fn transactions_roll_back_and_sessions_share_committed_data() {
    let mut a = session();
    let mut b = session();
    run(&mut a, "CREATE TABLE shared_tx (k INT)");
    run(&mut a, "BEGIN TRAN; INSERT INTO shared_tx VALUES (1); ROLLBACK");
    assert!(rows(&run(&mut a, "SELECT k FROM shared_tx")).is_empty());
    run(&mut a, "BEGIN TRANSACTION\nINSERT INTO shared_tx VALUES (2)\nCOMMIT");
    assert_eq!(rows(&run(&mut b, "SELECT k FROM shared_tx")), [vec![Value::Int(2)]]);
    // #temp tables belong to their session
    run(&mut a, "CREATE TABLE #mine (k INT); INSERT INTO #mine VALUES (3)");
    assert_eq!(rows(&run(&mut a, "SELECT k FROM #mine")), [vec![Value::Int(3)]]);
    assert_eq!(errors(&execute_batch(&mut b, "SELECT k FROM #mine"))[0].0, 208);
    run(&mut a, "DROP TABLE #mine; DROP TABLE shared_tx");
    assert_eq!(errors(&execute_batch(&mut b, "SELECT k FROM shared_tx"))[0].0, 208);
}

#[test]
fn parameters_of_sp_executesql() {
    let mut s = session();
    run(&mut s, "CREATE TABLE params_t (id INT, name NVARCHAR(10))");
    let param = |name: &str, ty: SqlType, value: Value| RpcParam { name: name.into(), status: 0, ty, value };
    let rpc = RpcRequest {
        target: RpcTarget::ProcId(10),
        option_flags: 0,
        params: vec![
            param("", SqlType::NVarChar(None), Value::Str("INSERT INTO params_t VALUES (@P1, @P2)".into())),
            param("", SqlType::NVarChar(None), Value::Str("@P1 int, @P2 nvarchar(10)".into())),
            param("@P1", SqlType::Int, Value::Int(7)),
            param("@P2", SqlType::NVarChar(Some(10)), Value::Str("seven".into())),
        ],
    };
    let events = execute_rpc(&mut s, &rpc);
    assert_eq!(dones(&events)[0], Done { kind: DoneKind::DoneInProc, status: 0x10, cur_cmd: 0xC3, row_count: 1 });
    assert_eq!(rows(&run(&mut s, "SELECT * FROM params_t")), [vec![Value::Int(7), Value::Str("seven".into())]]);
}

#[test]
fn conversions_in_table_statements_use_the_part1_rules() {
    let mut s = session();
    run(
        &mut s,
        "CREATE TABLE conv_t (d DATETIME2(7), n INT)\nINSERT conv_t VALUES ('2024-01-02 03:04:05.1234567', 12345)",
    );
    // CAST without a length is 30 characters, as in SQL Server; CONVERT takes its style
    let events = run(&mut s, "SELECT CAST(n AS varchar) AS s, CONVERT(varchar(30), d, 120) AS t FROM conv_t");
    let Some(Event::ColMetadata(cols)) = events.first() else { panic!() };
    assert_eq!(cols[0].ty, SqlType::VarChar(Some(30)));
    assert_eq!(rows(&events), [vec![Value::Str("12345".into()), Value::Str("2024-01-02 03:04:05".into())]]);
    // a comparison with a string converts the string to the column's type
    assert_eq!(rows(&run(&mut s, "SELECT n FROM conv_t WHERE d > '2024-01-02'")), [vec![Value::Int(12345)]]);
    assert!(rows(&run(&mut s, "SELECT n FROM conv_t WHERE n < '100'")).is_empty());
}

#[test]
fn scope_identity_and_rowcount() {
    let mut s = session();
    run(&mut s, "CREATE TABLE ident_t (id INT IDENTITY(10, 5) PRIMARY KEY, v INT)");
    let events = run(&mut s, "INSERT INTO ident_t (v) VALUES (1), (2)\nSELECT SCOPE_IDENTITY() AS id, @@ROWCOUNT AS n");
    let Some(Event::ColMetadata(cols)) = events.iter().find(|e| matches!(e, Event::ColMetadata(_))) else { panic!() };
    assert_eq!(cols[0].ty, SqlType::Numeric { precision: 38, scale: 0 });
    assert_eq!(rows(&events), [vec![Value::Decimal(15, 0), Value::Int(2)]]);
    // a new batch is a new scope; @@IDENTITY is the session's
    assert_eq!(rows(&run(&mut s, "SELECT SCOPE_IDENTITY(), @@IDENTITY")), [vec![Value::Null, Value::Decimal(15, 0)]]);
    let events = run(&mut s, "UPDATE ident_t SET v = 0 WHERE id >= 10; SELECT @@ROWCOUNT; SELECT @@ROWCOUNT");
    assert_eq!(rows(&events), [vec![Value::Int(2)], vec![Value::Int(1)]]);
    assert_eq!(rows(&run(&mut s, "SELECT id FROM ident_t WHERE id = SCOPE_IDENTITY()")), Vec::<Vec<Value>>::new());
}

#[test]
fn a_transaction_ended_by_a_reset_is_rolled_back_not_continued() {
    let mut s = session();
    run(&mut s, "CREATE TABLE reset_tx (k INT)");
    run(&mut s, "BEGIN TRAN; INSERT INTO reset_tx VALUES (1)");
    // RESETCONNECTION dropped the transaction, then TransMgrReq began a new one
    s.transaction = Some(99);
    run(&mut s, "INSERT INTO reset_tx VALUES (2)");
    s.transaction = None;
    assert!(tds_server::engine::end_transaction(&mut s, true).is_empty());
    assert_eq!(rows(&run(&mut session(), "SELECT k FROM reset_tx")), [vec![Value::Int(2)]]);
}
