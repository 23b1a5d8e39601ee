//! The engine's answers to SQL batches and RPCs, as events (the protocol layer turns
//! them into tokens). Expected types and values follow SQL Server's documented rules.

mod support;

use std::time::Duration;

use tds_server::engine::{
    execute_batch, execute_rpc, Done, DoneKind, EnvChange, Event, RpcParam, RpcRequest, RpcTarget, Session,
};
use tds_server::types::{ColumnDef, SqlType};
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

/// Runs a one-statement SELECT and returns its columns and row.
fn select(sql: &str) -> (Vec<ColumnDef>, Vec<Value>) {
    let events = execute_batch(&mut session(), sql);
    match &events[..] {
        [Event::ColMetadata(cols), Event::Row(row), Event::Done(done)] => {
            assert_eq!(*done, Done { kind: DoneKind::Done, status: 0x10, cur_cmd: 0xC1, row_count: 1 });
            (cols.clone(), row.clone())
        }
        other => panic!("{sql}: unexpected events {other:?}"),
    }
}

fn one(sql: &str) -> (SqlType, bool, Value) {
    let (cols, row) = select(sql);
    assert_eq!(cols.len(), 1);
    (cols[0].ty.clone(), cols[0].nullable, row[0].clone())
}

/// The error number and text of a failing batch, checking the trailing DONE_ERROR.
fn error(sql: &str) -> (i32, String) {
    let events = execute_batch(&mut session(), sql);
    let Some(Event::Done(done)) = events.last() else { panic!("{sql}: no DONE in {events:?}") };
    assert_eq!(done.status & 0x2, 0x2, "{sql}: {events:?}");
    events
        .iter()
        .find_map(|e| match e {
            Event::Error(m) => Some((m.number, m.text.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no ERROR in {events:?}"))
}

#[test]
fn literals_and_names() {
    let (cols, row) = select("SELECT 1 AS a, b = 2, 3 c, 4, [d e] = N'x'");
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "", "d e"]);
    assert!(cols.iter().all(|c| !c.nullable));
    assert_eq!(row, [Value::Int(1), Value::Int(2), Value::Int(3), Value::Int(4), Value::Str("x".into())]);
    assert_eq!(one("SELECT NULL"), (SqlType::Int, true, Value::Null));
    assert_eq!(one("SELECT 'abc'"), (SqlType::VarChar(Some(3)), false, Value::Str("abc".into())));
    assert_eq!(one("SELECT 1.50"), (SqlType::Numeric { precision: 3, scale: 2 }, false, Value::Decimal(150, 2)));
    assert_eq!(one("SELECT -$1.5"), error_free_money(-15000));
    assert_eq!(one("SELECT -1.5E0"), (SqlType::Float, false, Value::Float(-1.5)));
    assert_eq!(one("SELECT 0x"), (SqlType::VarBinary(Some(1)), false, Value::Bytes(vec![])));
    let long = "x".repeat(8001);
    assert_eq!(one(&format!("SELECT '{long}'")), (SqlType::VarChar(None), false, Value::Str(long)));
}

fn error_free_money(m: i64) -> (SqlType, bool, Value) {
    (SqlType::Money, false, Value::Money(m))
}

#[test]
fn casts_to_every_type() {
    let cases: Vec<(&str, SqlType, Value)> = vec![
        ("CAST('true' AS bit)", SqlType::Bit, Value::Bool(true)),
        ("CAST(255 AS tinyint)", SqlType::TinyInt, Value::Int(255)),
        ("CAST(-9223372036854775808 AS bigint)", SqlType::BigInt, Value::Int(i64::MIN)),
        ("CAST('3.5' AS real)", SqlType::Real, Value::Float(3.5)),
        ("CAST('-1.79E+308' AS float)", SqlType::Float, Value::Float(-1.79e308)),
        (
            "CAST(99999999999999999999999999999999999999 AS decimal(38,0))",
            SqlType::Decimal { precision: 38, scale: 0 },
            Value::Decimal(10i128.pow(38) - 1, 0),
        ),
        ("CAST('1.005' AS numeric(5,2))", SqlType::Numeric { precision: 5, scale: 2 }, Value::Decimal(101, 2)),
        ("CAST(-922337203685477.5808 AS money)", SqlType::Money, Value::Money(i64::MIN)),
        ("CAST('12.34565' AS smallmoney)", SqlType::SmallMoney, Value::Money(123457)),
        ("CAST('' AS char(3))", SqlType::Char(3), Value::Str("   ".into())),
        ("CAST('abc' AS varchar)", SqlType::VarChar(Some(30)), Value::Str("abc".into())),
        ("CAST(N'żółw' AS nchar(5))", SqlType::NChar(5), Value::Str("żółw ".into())),
        ("CAST(N'x' AS nvarchar(max))", SqlType::NVarChar(None), Value::Str("x".into())),
        ("CAST('t' AS text)", SqlType::Text, Value::Str("t".into())),
        ("CAST(N't' AS ntext)", SqlType::NText, Value::Str("t".into())),
        ("CAST(0x0102 AS binary(4))", SqlType::Binary(4), Value::Bytes(vec![1, 2, 0, 0])),
        ("CAST(0x0102 AS varbinary(max))", SqlType::VarBinary(None), Value::Bytes(vec![1, 2])),
        ("CAST(0x01 AS image)", SqlType::Image, Value::Bytes(vec![1])),
        ("CAST('0001-01-01' AS date)", SqlType::Date, Value::Date(0)),
        ("CAST('23:59:59.9999999' AS time)", SqlType::Time(7), Value::Time(863_999_999_999)),
        // rounding carries into the next day for time(0): wraps to midnight
        ("CAST('23:59:59.5' AS time(0))", SqlType::Time(0), Value::Time(0)),
        ("CAST('1900-01-01 00:00:00.002' AS datetime)", SqlType::DateTime, Value::DateTime { days: 0, ticks: 1 }),
        (
            "CAST('1900-01-01 00:00:29.998' AS smalldatetime)",
            SqlType::SmallDateTime,
            Value::SmallDateTime { days: 0, minutes: 0 },
        ),
        (
            "CAST('1900-01-01 00:00:29.999' AS smalldatetime)",
            SqlType::SmallDateTime,
            Value::SmallDateTime { days: 0, minutes: 1 },
        ),
        (
            "CAST('9999-12-31T23:59:59.9999999' AS datetime2)",
            SqlType::DateTime2(7),
            Value::DateTime2 { days: 3_652_058, ticks: 863_999_999_999 },
        ),
        (
            "CAST('2000-01-01 00:00:00.05' AS datetime2(1))",
            SqlType::DateTime2(1),
            Value::DateTime2 { days: 730_119, ticks: 1_000_000 },
        ),
        (
            // local 0001-01-01 00:00 at -14:00 is 14:00 UTC
            "CAST('0001-01-01 00:00:00 -14:00' AS datetimeoffset(0))",
            SqlType::DateTimeOffset(0),
            Value::DateTimeOffset { days: 0, ticks: 14 * 36_000_000_000, offset_minutes: -840 },
        ),
        (
            "CONVERT(uniqueidentifier, '{6F9619FF-8B86-D011-B42D-00C04FC964FF}')",
            SqlType::UniqueIdentifier,
            Value::Guid([
                0x6F, 0x96, 0x19, 0xFF, 0x8B, 0x86, 0xD0, 0x11, 0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64, 0xFF,
            ]),
        ),
        ("CAST('<a>b</a>' AS xml)", SqlType::Xml, Value::Str("<a>b</a>".into())),
        (
            "CAST(CAST(12.345 AS decimal(10,3)) AS sql_variant)",
            SqlType::SqlVariant,
            Value::Variant(Box::new(SqlType::Decimal { precision: 10, scale: 3 }), Box::new(Value::Decimal(12345, 3))),
        ),
        ("CAST(CAST(NULL AS date) AS sql_variant)", SqlType::SqlVariant, Value::Null),
        (
            "CAST(CAST('2024-02-29 10:11:12.345' AS datetime) AS varchar(30))",
            SqlType::VarChar(Some(30)),
            Value::Str("Feb 29 2024 10:11AM".into()),
        ),
        (
            "CAST(CAST('2024-02-29' AS date) AS nvarchar(10))",
            SqlType::NVarChar(Some(10)),
            Value::Str("2024-02-29".into()),
        ),
        ("CAST(CAST(-0.5 AS decimal(3,2)) AS varchar(10))", SqlType::VarChar(Some(10)), Value::Str("-0.50".into())),
        (
            "CAST(CAST('2024-02-29 12:00:00 +05:30' AS datetimeoffset(0)) AS datetime2(0))",
            SqlType::DateTime2(0),
            Value::DateTime2 { days: 738_944, ticks: 12 * 36_000_000_000 },
        ),
        (
            "CAST(CAST('1900-01-01 00:00:00.003' AS datetime) AS datetime2(7))",
            SqlType::DateTime2(7),
            Value::DateTime2 { days: 693_595, ticks: 33_333 },
        ),
        ("CAST(2.5 AS int)", SqlType::Int, Value::Int(2)),
        ("CAST($2.5 AS int)", SqlType::Int, Value::Int(3)),
        ("CAST(1 AS binary(2))", SqlType::Binary(2), Value::Bytes(vec![0, 1])),
        ("-CAST(5 AS tinyint)", SqlType::SmallInt, Value::Int(-5)),
    ];
    for (expr, ty, value) in cases {
        let (got_ty, _, got) = one(&format!("SELECT {expr}"));
        assert_eq!((got_ty, got), (ty, value), "{expr}");
    }
    // nullability follows the converted expression
    assert!(!one("SELECT CAST(1 AS bigint)").1);
    assert!(one("SELECT CAST(NULL AS bigint)").1);
}

#[test]
fn conversion_errors_use_sql_server_numbers() {
    assert_eq!(error("SELECT CAST('x' AS int)").0, 245);
    assert_eq!(error("SELECT CAST(300 AS tinyint)").0, 220);
    assert_eq!(error("SELECT CAST(123.45 AS decimal(3,1))").0, 8115);
    assert_eq!(error("SELECT CAST('1e5' AS decimal(10,0))").0, 8114);
    assert_eq!(error("SELECT CAST('2024-02-30' AS date)").0, 241);
    assert_eq!(error("SELECT CAST('9999-12-31 23:59:59.999' AS datetime)").0, 242);
    assert_eq!(error("SELECT CAST('nope' AS uniqueidentifier)").0, 8169);
    assert_eq!(error("SELECT CAST(CAST('2024-01-01' AS date) AS int)").0, 529);
    assert_eq!(error("SELECT @x").0, 137);
    assert_eq!(error("SELECT CAST(1 AS nosuchtype)").0, 243);
    assert_eq!(error("SELECT 'abc").0, 105);
    assert_eq!(error("SELECT 1,").1, "Incorrect syntax near ','.");
    assert_eq!(error("SELECT -'a'").0, 8117);
    // a varchar literal SQL Server would store as '?' is refused, not altered
    assert!(error("SELECT 'ā'").1.contains("not supported by the local test server"));
    for unsupported in ["SELECT 1 & 1", "SELECT SOUNDEX('a')", "SELECT DIFFERENCE('a', 'b')"] {
        let (number, text) = error(unsupported);
        assert!(text.contains("not supported by the local test server"), "{unsupported}: {number} {text}");
    }
}

#[test]
fn run_time_errors_follow_the_metadata_and_end_the_batch() {
    let events = execute_batch(&mut session(), "SELECT 1; SELECT CAST('x' AS int) AS v; SELECT 2");
    assert!(matches!(events[0], Event::ColMetadata(_)));
    assert!(matches!(events[1], Event::Row(_)));
    assert!(matches!(events[2], Event::Done(Done { status: 0x10, .. })));
    let Event::ColMetadata(cols) = &events[3] else { panic!("{events:?}") };
    assert_eq!(cols[0].name, "v");
    assert!(matches!(&events[4], Event::Error(m) if m.number == 245 && m.class == 16));
    assert!(matches!(events[5], Event::Done(Done { status: 0x2, row_count: 0, .. })));
    assert_eq!(events.len(), 6);
    // ERROR tokens carry the line of the failing statement, or of the token a syntax error is near
    let events = execute_batch(&mut session(), "SELECT 1\n\nSELECT\n  CAST('x' AS int)");
    assert!(matches!(&events[4], Event::Error(m) if m.line == 3), "{events:?}");
    let events = execute_batch(&mut session(), "SELECT 1\nSELECT 'a',\n");
    assert!(matches!(&events[0], Event::Error(m) if m.number == 102 && m.line == 2), "{events:?}");
    // a syntax error anywhere stops the whole batch before it runs
    let events = execute_batch(&mut session(), "SELECT 1; SELECT 1,");
    assert_eq!(events.len(), 2, "{events:?}");
}

#[test]
fn several_result_sets_and_session_values() {
    let mut s = session();
    let events = execute_batch(&mut s, "SELECT 1\nSELECT @@SPID AS spid; SELECT @@TRANCOUNT, @@VERSION");
    let rows: Vec<&Vec<Value>> = events
        .iter()
        .filter_map(|e| match e {
            Event::Row(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1], &vec![Value::Int(53)]);
    assert_eq!(rows[2][0], Value::Int(0));
    let Value::Str(version) = &rows[2][1] else { panic!() };
    assert!(version.starts_with("Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)"), "{version}");
    assert!(version.contains("(local TDS test server)"));
    s.transaction = Some(1);
    assert!(matches!(&execute_batch(&mut s, "SELECT @@TRANCOUNT")[1], Event::Row(r) if r[0] == Value::Int(1)));
}

#[test]
fn set_use_and_waitfor() {
    let mut s = session();
    let events =
        execute_batch(&mut s, "SET NOCOUNT ON;SET TEXTSIZE 2147483647\nSET TRANSACTION ISOLATION LEVEL READ COMMITTED");
    assert_eq!(
        events
            .iter()
            .map(|e| match e {
                Event::Done(d) => (d.status, d.cur_cmd),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>(),
        [(0, 0xBA), (0, 0xBA), (0, 0xF9)]
    );
    assert_eq!(s.options.get("NOCOUNT").map(String::as_str), Some("ON"));
    assert_eq!(s.options.get("TEXTSIZE").map(String::as_str), Some("2147483647"));
    // NOCOUNT ON drops DONE_COUNT
    assert!(matches!(execute_batch(&mut s, "SELECT 1")[2], Event::Done(Done { status: 0, row_count: 1, .. })));
    assert!(error("SET SHOWPLAN_XML ON").1.contains("not supported by the local test server"));

    let events = execute_batch(&mut s, "USE [tempdb]");
    assert_eq!(events[0], Event::EnvChange(EnvChange::Database { new: "tempdb".into(), old: "master".into() }));
    assert!(
        matches!(&events[1], Event::Info(m) if m.number == 5701 && m.text == "Changed database context to 'tempdb'.")
    );
    assert_eq!(s.database, "tempdb");
    assert_eq!(error("USE nosuchdb").0, 911);

    let events = execute_batch(&mut s, "WAITFOR DELAY '00:00:01.250'");
    assert!(matches!(events[0], Event::Delay(d) if d == Duration::from_millis(1250)));
    assert_eq!(error("WAITFOR DELAY '1:99'").0, 148);
}

fn nvarchar(name: &str, s: &str) -> RpcParam {
    RpcParam { name: name.into(), status: 0, ty: SqlType::NVarChar(None), value: Value::Str(s.into()) }
}

fn param(name: &str, ty: SqlType, value: Value) -> RpcParam {
    RpcParam { name: name.into(), status: 0, ty, value }
}

#[test]
fn sp_executesql_binds_declared_parameters() {
    let rpc = RpcRequest {
        target: RpcTarget::ProcId(10),
        option_flags: 0,
        params: vec![
            nvarchar("", "SELECT @P1 AS a, @p2 AS b, @P3"),
            nvarchar("", "@P1 int, @P2 nvarchar(max), @P3 decimal(10,2)"),
            param("@P1", SqlType::BigInt, Value::Int(7)),
            param("@P2", SqlType::NVarChar(Some(4000)), Value::Str("😀".into())),
            param("@P3", SqlType::NVarChar(Some(10)), Value::Str("1.235".into())),
        ],
    };
    let events = execute_rpc(&mut session(), &rpc);
    let Event::ColMetadata(cols) = &events[0] else { panic!("{events:?}") };
    assert_eq!(
        cols.iter().map(|c| (c.ty.clone(), c.nullable)).collect::<Vec<_>>(),
        [(SqlType::Int, true), (SqlType::NVarChar(None), true), (SqlType::Decimal { precision: 10, scale: 2 }, true)]
    );
    assert_eq!(events[1], Event::Row(vec![Value::Int(7), Value::Str("😀".into()), Value::Decimal(124, 2)]));
    // as in the spec's RPC response example: DONEINPROC (count), RETURNSTATUS 0, DONEPROC
    assert_eq!(events[2], Event::Done(Done { kind: DoneKind::DoneInProc, status: 0x10, cur_cmd: 0xC1, row_count: 1 }));
    assert!(matches!(events[3], Event::ReturnStatus(0)));
    assert_eq!(events[4], Event::Done(Done { kind: DoneKind::DoneProc, status: 0, cur_cmd: 0xE0, row_count: 0 }));
    assert_eq!(events.len(), 5);

    // a NULLTYPE parameter takes its declared type
    let rpc = RpcRequest {
        target: RpcTarget::ProcId(10),
        option_flags: 0,
        params: vec![
            nvarchar("", "SELECT @P1 AS n"),
            nvarchar("", "@P1 datetime2(3)"),
            param("@P1", SqlType::Null, Value::Null),
        ],
    };
    let events = execute_rpc(&mut session(), &rpc);
    assert!(matches!(&events[0], Event::ColMetadata(c) if c[0].ty == SqlType::DateTime2(3)), "{events:?}");
    assert_eq!(events[1], Event::Row(vec![Value::Null]));

    // by name, unnamed positional values, and the names tedious uses
    for (stmt_name, params_name, value_name) in [("@statement", "@params", "@v"), ("stmt", "params", ""), ("", "", "")]
    {
        let rpc = RpcRequest {
            target: RpcTarget::Name("sp_executesql".into()),
            option_flags: 0,
            params: vec![
                nvarchar(stmt_name, "SELECT @v"),
                nvarchar(params_name, "@v varchar(5)"),
                param(value_name, SqlType::VarChar(Some(3)), Value::Str("abc".into())),
            ],
        };
        let events = execute_rpc(&mut session(), &rpc);
        assert_eq!(events[1], Event::Row(vec![Value::Str("abc".into())]), "{stmt_name:?}");
    }
}

#[test]
fn sp_executesql_errors() {
    let run = |params: Vec<RpcParam>| {
        execute_rpc(&mut session(), &RpcRequest { target: RpcTarget::ProcId(10), option_flags: 0, params })
    };
    let events = run(vec![nvarchar("", "SELECT @P1"), nvarchar("", "@P1 int")]);
    assert!(matches!(&events[0], Event::Error(m) if m.number == 8178), "{events:?}");
    assert!(matches!(events.last(), Some(Event::Done(Done { kind: DoneKind::DoneProc, status: 0x2, .. }))));
    let events = run(vec![
        nvarchar("", "SELECT @P1"),
        nvarchar("", "@P1 int"),
        param("@P1", SqlType::NVarChar(Some(5)), Value::Str("x".into())),
    ]);
    assert!(matches!(&events[0], Event::Error(m) if m.number == 245), "{events:?}");
    let events = run(vec![nvarchar("", "SELECT CAST('x' AS int)")]);
    assert!(matches!(events[0], Event::ColMetadata(_)));
    assert!(matches!(&events[1], Event::Error(m) if m.number == 245));
    assert!(matches!(events[2], Event::Done(Done { kind: DoneKind::DoneInProc, status: 0x2, .. })));
    assert!(matches!(events[3], Event::Done(Done { kind: DoneKind::DoneProc, status: 0x2, .. })));
    let events = execute_rpc(
        &mut session(),
        &RpcRequest { target: RpcTarget::Name("sp_who".into()), option_flags: 0, params: vec![] },
    );
    assert!(matches!(&events[0], Event::Error(m) if m.text.contains("not supported by the local test server")));
}

#[test]
fn prepared_statements() {
    let mut s = session();
    let handle = RpcParam { name: "@handle".into(), status: 1, ty: SqlType::Int, value: Value::Null };
    // sp_prepexec: results, RETURNSTATUS, RETURNVALUE with the handle, DONEPROC (as SQL Server's capture shows)
    let events = execute_rpc(
        &mut s,
        &RpcRequest {
            target: RpcTarget::ProcId(13),
            option_flags: 0,
            params: vec![
                handle.clone(),
                nvarchar("", "@P1 int"),
                nvarchar("", "SELECT @P1 AS x"),
                param("", SqlType::Int, Value::Int(4)),
            ],
        },
    );
    assert_eq!(events[1], Event::Row(vec![Value::Int(4)]));
    assert!(matches!(events[3], Event::ReturnStatus(0)));
    let Event::ReturnValue { ordinal: 0, name, status: 1, column, value: Value::Int(h1) } = &events[4] else {
        panic!("{events:?}")
    };
    assert_eq!((name.as_str(), &column.ty), ("@handle", &SqlType::Int));
    assert!(matches!(events[5], Event::Done(Done { kind: DoneKind::DoneProc, status: 0, .. })));

    // sp_prepare returns another handle; sp_execute runs either
    let events = execute_rpc(
        &mut s,
        &RpcRequest {
            target: RpcTarget::ProcId(11),
            option_flags: 0,
            params: vec![handle, nvarchar("", "@a varchar(3)"), nvarchar("", "SELECT @a")],
        },
    );
    let Some(Event::ReturnValue { value: Value::Int(h2), .. }) =
        events.iter().find(|e| matches!(e, Event::ReturnValue { .. }))
    else {
        panic!("{events:?}")
    };
    assert_ne!(h1, h2);
    let execute = |s: &mut Session, h: i64, v: RpcParam| {
        execute_rpc(
            s,
            &RpcRequest {
                target: RpcTarget::ProcId(12),
                option_flags: 0,
                params: vec![param("", SqlType::Int, Value::Int(h)), v],
            },
        )
    };
    assert_eq!(execute(&mut s, *h1, param("", SqlType::Int, Value::Int(9)))[1], Event::Row(vec![Value::Int(9)]));
    assert_eq!(
        execute(&mut s, *h2, param("", SqlType::NVarChar(Some(2)), Value::Str("hi".into())))[1],
        Event::Row(vec![Value::Str("hi".into())])
    );
    // sp_unprepare forgets the handle
    let events = execute_rpc(
        &mut s,
        &RpcRequest {
            target: RpcTarget::ProcId(15),
            option_flags: 0,
            params: vec![param("", SqlType::Int, Value::Int(*h2))],
        },
    );
    assert!(matches!(events[0], Event::ReturnStatus(0)));
    let events = execute(&mut s, *h2, param("", SqlType::Int, Value::Int(1)));
    assert!(matches!(&events[0], Event::Error(m) if m.number == 8179), "{events:?}");
}

#[test]
fn transaction_statements_in_batches() {
    let mut s = session();
    let events = execute_batch(&mut s, "BEGIN TRANSACTION; SELECT @@TRANCOUNT");
    assert_eq!(events[0], Event::EnvChange(EnvChange::BeginTransaction { descriptor: 1 }));
    assert!(matches!(events[1], Event::Done(Done { status: 0, .. })));
    assert_eq!(events[3], Event::Row(vec![Value::Int(1)]));
    assert_eq!(s.transaction, Some(1));
    let events = execute_batch(&mut s, "COMMIT TRAN");
    assert_eq!(events[0], Event::EnvChange(EnvChange::CommitTransaction { descriptor: 1 }));
    assert_eq!(s.transaction, None);
    let events = execute_batch(&mut s, "BEGIN TRAN t1\nROLLBACK");
    assert_eq!(events[0], Event::EnvChange(EnvChange::BeginTransaction { descriptor: 2 }));
    assert_eq!(events[2], Event::EnvChange(EnvChange::RollbackTransaction { descriptor: 2 }));
    assert_eq!(error("COMMIT").0, 3902);
    assert_eq!(error("ROLLBACK TRANSACTION").0, 3903);
}

#[test]
fn sp_prepare_returns_metadata_when_asked() {
    let handle = RpcParam { name: String::new(), status: 1, ty: SqlType::Int, value: Value::Null };
    let prepare = |options: Option<i64>| {
        let mut params =
            vec![handle.clone(), nvarchar("", "@P1 decimal(5,1)"), nvarchar("", "SELECT @P1 AS d, 'x' AS s")];
        if let Some(o) = options {
            params.push(param("", SqlType::Int, Value::Int(o)));
        }
        execute_rpc(&mut session(), &RpcRequest { target: RpcTarget::ProcId(11), option_flags: 0, params })
    };
    let events = prepare(Some(1));
    let Event::ColMetadata(cols) = &events[0] else { panic!("{events:?}") };
    assert_eq!(
        cols.iter().map(|c| (c.name.as_str(), c.ty.clone(), c.nullable)).collect::<Vec<_>>(),
        [("d", SqlType::Decimal { precision: 5, scale: 1 }, true), ("s", SqlType::VarChar(Some(1)), false)]
    );
    assert!(matches!(events[1], Event::Done(Done { kind: DoneKind::DoneInProc, row_count: 0, .. })));
    assert!(matches!(events[2], Event::ReturnStatus(0)));
    assert!(matches!(events[3], Event::ReturnValue { value: Value::Int(_), .. }));
    let events = prepare(None);
    assert!(matches!(events[0], Event::ReturnStatus(0)), "{events:?}");
}

#[test]
fn prepexec_handle_encodes_as_sql_server_sends_it() {
    // real-sqlserver-2009-tds72.pcap frame 4: RETURNVALUE of sp_prepexec's unnamed handle 1:
    // ordinal 0, empty name, status 1, UserType 0, Flags 0, INTN(4), value 1
    let captured = [0xAC, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x26, 4, 4, 1, 0, 0, 0];
    let handle = RpcParam { name: String::new(), status: 1, ty: SqlType::Int, value: Value::Null };
    let events = execute_rpc(
        &mut session(),
        &RpcRequest {
            target: RpcTarget::ProcId(13),
            option_flags: 0,
            params: vec![handle, nvarchar("", ""), nvarchar("", "SELECT 1")],
        },
    );
    let Some(Event::ReturnValue { ordinal, name, status, column, value }) =
        events.iter().find(|e| matches!(e, Event::ReturnValue { .. }))
    else {
        panic!("{events:?}")
    };
    let mut out = Vec::new();
    tds_server::tokens::write_return_value(&mut out, *ordinal, name, *status, column, value).unwrap();
    assert_eq!(out, captured);
}

#[test]
fn typing_errors_fail_the_batch_before_it_runs() {
    let events = execute_batch(&mut session(), "SELECT 1; SELECT @x");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(&events[0], Event::Error(m) if m.number == 137 && m.line == 1));
    let events = execute_batch(&mut session(), "SELECT 1\nSELECT CAST(CAST('2024-01-01' AS date) AS int)");
    assert!(matches!(&events[0], Event::Error(m) if m.number == 529 && m.line == 2), "{events:?}");
}

#[test]
fn textsize_limits_large_values() {
    let mut s = session();
    let events = execute_batch(
        &mut s,
        "SET TEXTSIZE 4; SELECT CAST(N'abcdef' AS nvarchar(max)), CAST('abcdef' AS varchar(max)), \
         CAST(0x010203040506 AS varbinary(max)), CAST(N'abcdef' AS nvarchar(10)), CAST('abcdef' AS text)",
    );
    assert_eq!(
        events[2],
        Event::Row(vec![
            Value::Str("ab".into()),
            Value::Str("abcd".into()),
            Value::Bytes(vec![1, 2, 3, 4]),
            Value::Str("abcdef".into()),
            Value::Str("abcd".into()),
        ])
    );
    assert!(matches!(&execute_batch(&mut s, "SELECT @@TEXTSIZE")[1], Event::Row(r) if r[0] == Value::Int(4)));
    execute_batch(&mut s, "SET TEXTSIZE -1");
    assert!(
        matches!(&execute_batch(&mut s, "SELECT CAST('abcdef' AS varchar(max))")[1], Event::Row(r) if r[0] == Value::Str("abcdef".into()))
    );
}

#[test]
fn xact_abort_rolls_back_on_run_time_errors() {
    let mut s = session();
    let events = execute_batch(&mut s, "SET XACT_ABORT ON; BEGIN TRAN; SELECT CAST('x' AS int)");
    let n = events.len();
    assert!(matches!(&events[n - 3], Event::Error(m) if m.number == 245), "{events:?}");
    assert_eq!(events[n - 2], Event::EnvChange(EnvChange::RollbackTransaction { descriptor: 1 }));
    assert!(matches!(events[n - 1], Event::Done(Done { status: 0x2, .. })));
    assert_eq!(s.transaction, None);
    // without XACT_ABORT the transaction stays open
    let mut s = session();
    execute_batch(&mut s, "BEGIN TRAN; SELECT CAST('x' AS int)");
    assert_eq!(s.transaction, Some(1));
}

#[test]
fn options_with_unreproduced_effects_are_refused() {
    for sql in ["SET ANSI_WARNINGS OFF", "SET NUMERIC_ROUNDABORT ON", "SET DATEFORMAT dmy", "SET LANGUAGE Deutsch"] {
        assert!(error(sql).1.contains("not supported by the local test server"), "{sql}");
    }
    assert_eq!(
        error("SELECT CAST(2147483648 AS int)").1,
        "Arithmetic overflow error converting expression to data type int."
    );
    assert_eq!(
        error("SELECT CAST(123.45 AS decimal(3,1))").1,
        "Arithmetic overflow error converting numeric to data type numeric."
    );
}

#[test]
fn sp_describe_undeclared_parameters_as_odbc_calls_it() {
    // mssql-python (ODBC Driver 18) sends this by name before binding NULL parameters
    let describe = |sql: &str| {
        execute_rpc(
            &mut session(),
            &RpcRequest {
                target: RpcTarget::Name("sp_describe_undeclared_parameters".into()),
                option_flags: 0,
                params: vec![nvarchar("", sql)],
            },
        )
    };
    let events = describe("SELECT CAST(@P1 AS datetime2(3)) AS d");
    let Event::ColMetadata(cols) = &events[0] else { panic!("{events:?}") };
    assert_eq!(cols[3].name, "suggested_system_type_name");
    let Event::Row(row) = &events[1] else { panic!("{events:?}") };
    assert_eq!(row[1], Value::Str("@P1".into()));
    assert_eq!(row[3], Value::Str("datetime2(3)".into()));
    assert_eq!((&row[4], &row[5], &row[6]), (&Value::Int(7), &Value::Int(23), &Value::Int(3)));
    assert_eq!(events[2], Event::Done(Done { kind: DoneKind::DoneInProc, status: 0x10, cur_cmd: 0xC1, row_count: 1 }));
    assert!(matches!(events[3], Event::ReturnStatus(0)));
    // SQL Server cannot deduce a bare SELECT @p: the driver then picks a type itself
    let events = describe("SELECT @P1 AS a");
    assert!(matches!(&events[0], Event::Error(m) if m.number == 11502), "{events:?}");
    assert!(matches!(events.last(), Some(Event::Done(Done { kind: DoneKind::DoneProc, status: 0x2, .. }))));
}

#[test]
fn date_and_time_conversions_between_types() {
    const HOUR: u64 = 36_000_000_000;
    // 2024-02-29 is day 738944 since 0001-01-01; 1900-01-01 is day 693595
    let cases: Vec<(&str, SqlType, Value)> = vec![
        (
            "CAST(CAST('2024-02-29 23:30:00 -05:00' AS datetimeoffset(0)) AS date)",
            SqlType::Date,
            Value::Date(738_944), // the local date, not the UTC one
        ),
        (
            "CAST(CAST('2024-02-29 23:30:00 -05:00' AS datetimeoffset(0)) AS datetime)",
            SqlType::DateTime,
            Value::DateTime { days: 738_944 - 693_595, ticks: (23 * 3600 + 1800) * 300 },
        ),
        (
            "CAST(CAST('2024-02-29 10:00' AS datetime2(0)) AS datetimeoffset(0))",
            SqlType::DateTimeOffset(0),
            Value::DateTimeOffset { days: 738_944, ticks: 10 * HOUR, offset_minutes: 0 },
        ),
        (
            "CAST(CAST('12:34:56.1234567' AS time(7)) AS datetime2(3))",
            SqlType::DateTime2(3),
            Value::DateTime2 { days: 693_595, ticks: (12 * 3600 + 34 * 60 + 56) * 10_000_000 + 1_230_000 },
        ),
        (
            "CAST(CAST('2024-02-29 12:34:56.9999999' AS datetime2(7)) AS time(6))",
            SqlType::Time(6),
            Value::Time((12 * 3600 + 34 * 60 + 57) * 10_000_000),
        ),
        (
            "CAST(CAST('2024-02-29 23:59:59.998' AS datetime2(3)) AS datetime)",
            SqlType::DateTime,
            Value::DateTime { days: 738_944 - 693_595, ticks: 86_399 * 300 + 299 }, // .997
        ),
        (
            "CAST(CAST('2024-02-29 23:59:29.999' AS datetime) AS smalldatetime)",
            SqlType::SmallDateTime,
            // .999 is stored as 23:59:30.000 in datetime, which rounds up to the next day
            Value::SmallDateTime { days: (738_945 - 693_595) as u16, minutes: 0 },
        ),
        (
            "CAST(CAST('2024-02-29' AS date) AS datetime2(0))",
            SqlType::DateTime2(0),
            Value::DateTime2 { days: 738_944, ticks: 0 },
        ),
        (
            "CAST('2024-02-29T10:00:00Z' AS datetimeoffset(0))",
            SqlType::DateTimeOffset(0),
            Value::DateTimeOffset { days: 738_944, ticks: 10 * HOUR, offset_minutes: 0 },
        ),
        ("CAST('2024-02-29 10:00' AS time(0))", SqlType::Time(0), Value::Time(10 * HOUR)),
        ("CAST('' AS datetime2(0))", SqlType::DateTime2(0), Value::DateTime2 { days: 693_595, ticks: 0 }),
    ];
    for (expr, ty, value) in cases {
        let (got_ty, _, got) = one(&format!("SELECT {expr}"));
        assert_eq!((got_ty, got), (ty, value), "{expr}");
    }
    assert_eq!(error("SELECT CAST(CAST('10:00' AS time) AS date)").0, 529);
    assert_eq!(error("SELECT CAST('2024-02-29 10:00:00.1234' AS datetime)").0, 241);
    assert_eq!(error("SELECT CAST('2079-06-06 23:59:30' AS smalldatetime)").0, 242);
}

#[test]
fn spec_sql_batch_example_answered_byte_for_byte() {
    // MS-TDS 4.6/4.7: the client's "select 'foo' as 'bar'" batch (after the 8-byte header and
    // the 22-byte ALL_HEADERS) and the server's response, both copied from the spec.
    let request = support::fixture("sql_batch_request");
    let text: Vec<u16> = request[8 + 22..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let sql = String::from_utf16(&text).unwrap();
    assert!(sql.trim_start().starts_with("select 'foo' as 'bar'"), "{sql:?}");
    let events = execute_batch(&mut session(), &sql);
    let payload = tds_server::response::encode_events(&events, "fastmssql-test").unwrap();
    let mut framed = Vec::new();
    // the spec's server left SPID 0 in the header
    tds_server::packet::frame_message(&mut framed, tds_server::packet::PacketType::TabularResult, 0, 4096, &payload);
    assert_eq!(framed, support::fixture("sql_batch_response"));
}

#[test]
fn where_filters_the_single_row() {
    // no row: the columns stay described, DONE counts 0, and the select list is not computed
    let events = execute_batch(&mut session(), "SELECT CAST(1 AS bit) AS b, CAST('x' AS int) AS boom WHERE 1 = 0");
    let Event::ColMetadata(cols) = &events[0] else { panic!("{events:?}") };
    assert_eq!(cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["b", "boom"]);
    assert_eq!(events[1], Event::Done(Done { kind: DoneKind::Done, status: 0x10, cur_cmd: 0xC1, row_count: 0 }));
    assert_eq!(events.len(), 2);
    assert_eq!(one("SELECT 5 AS v WHERE 2.5 > 2"), (SqlType::Int, false, Value::Int(5)));
    // strings compare under the default collation: case and trailing spaces do not count
    assert_eq!(one("SELECT 1 WHERE N'a' = N'A '"), (SqlType::Int, false, Value::Int(1)));
}

#[test]
fn convert_styles_for_dates() {
    let text = |sql: &str| one(&format!("SELECT {sql}")).2;
    // the common idiom: style 120 cut to its date part by the target's length
    assert_eq!(
        text("CONVERT(varchar(10), CAST('2024-02-09 13:04:05.997' AS datetime), 120)"),
        Value::Str("2024-02-09".into())
    );
    assert_eq!(
        text("CONVERT(nvarchar(30), CAST('2024-02-09 13:04:05.1234567 +05:30' AS datetimeoffset), 120)"),
        Value::Str("2024-02-09 13:04:05".into())
    );
    assert_eq!(text("CONVERT(char(8), CAST('2024-02-09' AS date), 112)"), Value::Str("20240209".into()));
    assert_eq!(text("CONVERT(varchar(20), CAST('2024-02-09' AS date), 101)"), Value::Str("02/09/2024".into()));
    assert_eq!(text("CONVERT(varchar(8), CAST('13:04:05.5' AS time), 108)"), Value::Str("13:04:05".into()));
    assert_eq!(text("CAST(CAST('2024-02-29' AS date) AS varchar(4))"), Value::Str("2024".into()));
    assert_eq!(one("SELECT CONVERT(varchar(10), CAST(NULL AS date), 112)").2, Value::Null);
    assert!(error("SELECT CONVERT(varchar(30), CAST('2024-02-09' AS date), 131)").1.contains("not supported"));
    assert!(error("SELECT CONVERT(varchar(30), CAST('10:00' AS time), 112)").1.contains("not supported"));
}
