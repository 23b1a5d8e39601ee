//! Batch control flow, messages, TRY...CATCH, stored procedures, views and dynamic SQL on the
//! engine, as events. Expected values follow SQL Server's documented behaviour. The sessions of
//! one process share one database, so every test names its own objects.

use tds_server::engine::{
    execute_batch, execute_rpc, Done, DoneKind, Event, Message, RpcParam, RpcRequest, RpcTarget, Session,
};
use tds_server::types::SqlType;
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

fn rows(events: &[Event]) -> Vec<Vec<Value>> {
    events.iter().filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None }).collect()
}

fn errors(events: &[Event]) -> Vec<(i32, u8, String)> {
    events
        .iter()
        .filter_map(|e| if let Event::Error(m) = e { Some((m.number, m.class, m.text.clone())) } else { None })
        .collect()
}

fn infos(events: &[Event]) -> Vec<Message> {
    events.iter().filter_map(|e| if let Event::Info(m) = e { Some(m.clone()) } else { None }).collect()
}

/// Runs a batch that must not fail.
fn run(s: &mut Session, sql: &str) -> Vec<Event> {
    let events = execute_batch(s, sql);
    assert!(errors(&events).is_empty(), "{sql}: {events:?}");
    events
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn text(s: &str) -> Value {
    Value::Str(s.to_string())
}

#[test]
fn while_with_break_and_continue_and_if_else() {
    let mut s = session();
    let events = run(
        &mut s,
        "DECLARE @i int = 0, @s varchar(20) = ''
         WHILE @i < 6
         BEGIN
             SET @i += 1
             IF @i = 2 CONTINUE
             IF @i = 5 BREAK
             SET @s = @s + CAST(@i AS varchar(2))
         END
         IF @s = '134' PRINT 'yes: ' + @s ELSE PRINT 'no'
         SELECT @s",
    );
    assert_eq!(rows(&events), [vec![text("134")]]);
    let printed = infos(&events);
    // PRINT is an INFO token of number 0, class 0, as SQL Server sends it
    assert_eq!(printed.len(), 1);
    assert_eq!((printed[0].number, printed[0].class, printed[0].text.as_str(), printed[0].line), (0, 0, "yes: 134", 9));
    let Some(Event::Done(last)) = events.last() else { panic!("{events:?}") };
    assert_eq!(*last, Done { kind: DoneKind::Done, status: 0x10, cur_cmd: 0xC1, row_count: 1 });
}

#[test]
fn break_outside_a_loop_and_a_variable_declared_twice_are_errors() {
    let mut s = session();
    let events = execute_batch(&mut s, "IF 1 = 1 BREAK");
    assert_eq!(errors(&events)[0].0, 135);
    let events = execute_batch(&mut s, "DECLARE @a int\nWHILE 1 = 0 BEGIN DECLARE @a int END");
    assert_eq!(
        errors(&events),
        [(
            134,
            15,
            "The variable name '@a' has already been declared. Variable names must be unique within a query batch or stored procedure."
                .to_string()
        )]
    );
}

#[test]
fn if_exists_and_object_id_idioms() {
    let mut s = session();
    for _ in 0..2 {
        run(
            &mut s,
            "IF OBJECT_ID('ctl_idiom') IS NOT NULL DROP TABLE ctl_idiom
             CREATE TABLE ctl_idiom (id int)
             IF OBJECT_ID('tempdb..#ctl_idiom') IS NOT NULL DROP TABLE #ctl_idiom
             CREATE TABLE #ctl_idiom (id int)",
        );
    }
    let events = run(
        &mut s,
        "INSERT INTO ctl_idiom VALUES (1)
         IF EXISTS (SELECT 1 FROM ctl_idiom WHERE id = 1) SELECT 'found' ELSE SELECT 'missing'
         IF NOT EXISTS (SELECT * FROM ctl_idiom WHERE id = 2) BEGIN SELECT 'absent' END
         SELECT OBJECT_ID('#ctl_idiom'), CASE WHEN OBJECT_ID('tempdb..#ctl_idiom') < 0 THEN 1 END
         DROP TABLE IF EXISTS ctl_idiom
         DROP TABLE IF EXISTS ctl_idiom
         SELECT OBJECT_ID('ctl_idiom')",
    );
    // a #temp table is found under tempdb.. only (unless tempdb is the current database)
    assert_eq!(
        rows(&events),
        [vec![text("found")], vec![text("absent")], vec![Value::Null, int(1)], vec![Value::Null]]
    );
}

#[test]
fn a_statement_keyword_ends_a_select_without_from() {
    let mut s = session();
    let events = run(&mut s, "CREATE TABLE #ctl_end (a int)\nSELECT 1\nDROP TABLE #ctl_end\nSELECT 2 PRINT 'p'");
    assert_eq!(rows(&events), [vec![int(1)], vec![int(2)]]);
    assert_eq!(infos(&events).len(), 1);
}

#[test]
fn try_catch_error_functions() {
    let mut s = session();
    let events = run(
        &mut s,
        "BEGIN TRY
             SELECT 1/0
         END TRY
         BEGIN CATCH
             SELECT ERROR_NUMBER(), ERROR_SEVERITY(), ERROR_STATE(), ERROR_LINE(), ERROR_MESSAGE(), ERROR_PROCEDURE()
         END CATCH
         SELECT ERROR_NUMBER()",
    );
    // the caught error never reaches the client; outside a CATCH block ERROR_NUMBER() is NULL
    assert_eq!(
        rows(&events),
        [
            vec![int(8134), int(16), int(1), int(2), text("Divide by zero error encountered."), Value::Null],
            vec![Value::Null]
        ]
    );
}

#[test]
fn throw_and_raiserror() {
    let mut s = session();
    let events = execute_batch(
        &mut s,
        "BEGIN TRY
             THROW 50001, 'custom', 3
         END TRY
         BEGIN CATCH
             PRINT ERROR_MESSAGE();
             THROW
         END CATCH
         SELECT 'not reached'",
    );
    // THROW without arguments re-raises the caught error, which ends the batch
    assert_eq!(infos(&events).iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["custom"]);
    let raised: Vec<_> =
        events.iter().filter_map(|e| if let Event::Error(m) = e { Some(m.clone()) } else { None }).collect();
    assert_eq!(raised.len(), 1);
    assert_eq!((raised[0].number, raised[0].class, raised[0].state, raised[0].text.as_str()), (50001, 16, 3, "custom"));
    assert!(rows(&events).is_empty());

    let events = execute_batch(
        &mut s,
        "RAISERROR('info %d', 10, 1, 5)
         RAISERROR('bad %s', 16, 2, 'x')
         SELECT @@ERROR",
    );
    // severity 10 is an informational message; 16 an error that ends only its statement
    let info = &infos(&events)[0];
    assert_eq!((info.number, info.class, info.text.as_str()), (50000, 10, "info 5"));
    assert_eq!(errors(&events), [(50000, 16, "bad x".to_string())]);
    assert_eq!(rows(&events), [vec![int(50000)]]);

    let events = execute_batch(&mut s, "BEGIN TRY THROW 49999, 'low', 1 END TRY BEGIN CATCH SELECT 1 END CATCH");
    assert_eq!(rows(&events), [vec![int(1)]]);
    let events = execute_batch(&mut s, "THROW 49999, 'low', 1");
    assert_eq!(errors(&events)[0].0, 35100);
}

#[test]
fn procedures_with_defaults_output_and_return() {
    let mut s = session();
    run(
        &mut s,
        "CREATE PROCEDURE ctl_sum @a int, @b int = 10, @sum int OUTPUT
         AS
         BEGIN
             SET NOCOUNT ON
             SET @sum = @a + @b
             SELECT @a AS a, @b AS b
             RETURN @sum * 2
         END",
    );
    let events = run(
        &mut s,
        "DECLARE @s int, @rc int
         EXEC @rc = ctl_sum 1, @sum = @s OUTPUT
         SELECT @s, @rc
         EXEC ctl_sum @b = 5, @a = 2, @sum = @s OUTPUT
         SELECT @s",
    );
    assert_eq!(rows(&events), [vec![int(1), int(10)], vec![int(11), int(22)], vec![int(2), int(5)], vec![int(7)]]);
    // each EXEC: the procedure's DONEINPROC tokens, RETURNSTATUS, DONEPROC
    let shape: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::ColMetadata(_) => "cols".to_string(),
            Event::Row(_) => "row".to_string(),
            Event::ReturnStatus(n) => format!("status {n}"),
            Event::Done(d) => format!("{:?}", d.kind),
            other => format!("{other:?}"),
        })
        .collect();
    let first_exec = &shape[..shape.iter().position(|e| e == "DoneProc").expect("DONEPROC") + 1];
    assert_eq!(first_exec.iter().filter(|e| *e == "DoneInProc").count(), 3, "{shape:?}");
    assert_eq!(&first_exec[first_exec.len() - 2..], ["status 22", "DoneProc"]);
    // SET NOCOUNT ON in the procedure ended with it: the SELECT after it counts its row
    let Some(Event::Done(after)) = events.iter().skip_while(|e| !matches!(e, Event::ReturnStatus(_))).nth(4) else {
        panic!("{events:?}")
    };
    assert_eq!((after.kind, after.status), (DoneKind::Done, 0x10));

    let events = execute_batch(&mut s, "EXEC ctl_sum");
    assert_eq!(
        errors(&events),
        [(201, 16, "Procedure or function 'ctl_sum' expects parameter '@a', which was not supplied.".to_string())]
    );
    let events = execute_batch(&mut s, "EXEC ctl_nope");
    assert_eq!(errors(&events), [(2812, 16, "Could not find stored procedure 'ctl_nope'.".to_string())]);
    // CREATE of an existing procedure: 2714; ALTER replaces it; DROP ... IF EXISTS twice is fine
    let events = execute_batch(&mut s, "CREATE PROCEDURE ctl_sum AS SELECT 1");
    assert_eq!(errors(&events)[0].0, 2714);
    run(&mut s, "ALTER PROCEDURE ctl_sum AS RETURN 3");
    let events = run(&mut s, "DECLARE @rc int; EXEC @rc = ctl_sum; SELECT @rc");
    assert_eq!(rows(&events), [vec![int(3)]]);
    run(&mut s, "DROP PROCEDURE IF EXISTS ctl_sum");
    run(&mut s, "DROP PROCEDURE IF EXISTS ctl_sum");
}

#[test]
fn procedure_called_by_rpc_returns_status_and_output_values() {
    let mut s = session();
    run(
        &mut s,
        "CREATE PROCEDURE ctl_rpc @a int, @doubled int OUTPUT AS BEGIN SELECT @a AS a; SET @doubled = @a * 2; RETURN 7 END",
    );
    let rpc = RpcRequest {
        target: RpcTarget::Name("dbo.ctl_rpc".to_string()),
        option_flags: 0,
        params: vec![
            RpcParam { name: "@a".to_string(), status: 0, ty: SqlType::Int, value: int(21) },
            RpcParam { name: "@doubled".to_string(), status: 1, ty: SqlType::Int, value: Value::Null },
        ],
    };
    let events = execute_rpc(&mut s, &rpc);
    assert!(errors(&events).is_empty(), "{events:?}");
    // MS-TDS: the procedure's results, then RETURNSTATUS, the RETURNVALUE of each OUTPUT parameter and DONEPROC
    let n = events.len();
    assert!(matches!(events[0], Event::ColMetadata(_)), "{events:?}");
    assert_eq!(events[n - 3], Event::ReturnStatus(7));
    let Event::ReturnValue { ordinal, name, status, value, .. } = &events[n - 2] else { panic!("{events:?}") };
    assert_eq!((*ordinal, name.as_str(), *status, value), (1, "@doubled", 1, &int(42)));
    let Event::Done(done) = events[n - 1] else { panic!("{events:?}") };
    assert_eq!(done.kind, DoneKind::DoneProc);

    // a parameter passed by position comes back without a name
    let rpc = RpcRequest {
        params: rpc
            .params
            .iter()
            .map(|p| RpcParam { name: String::new(), status: p.status, ty: p.ty.clone(), value: p.value.clone() })
            .collect(),
        ..rpc
    };
    let events = execute_rpc(&mut s, &rpc);
    let Event::ReturnValue { name, value, .. } = &events[events.len() - 2] else { panic!("{events:?}") };
    assert_eq!((name.as_str(), value), ("", &int(42)));
    run(&mut s, "DROP PROCEDURE ctl_rpc");
}

#[test]
fn errors_in_a_procedure() {
    let mut s = session();
    run(&mut s, "CREATE PROCEDURE ctl_fail AS BEGIN SELECT 1/0 AS x; SELECT 2 AS y END");
    // not caught: the error ends its statement, the procedure goes on and returns a negative status
    let events = execute_batch(&mut s, "DECLARE @rc int; EXEC @rc = ctl_fail; SELECT @rc");
    let raised: Vec<_> =
        events.iter().filter_map(|e| if let Event::Error(m) = e { Some(m.clone()) } else { None }).collect();
    assert_eq!((raised[0].number, raised[0].procedure.as_str()), (8134, "ctl_fail"));
    assert_eq!(rows(&events), [vec![int(2)], vec![int(-6)]]);
    // in the caller's TRY block the error ends the procedure and goes to the caller's CATCH block
    let events = run(
        &mut s,
        "BEGIN TRY EXEC ctl_fail; SELECT 'after' END TRY
         BEGIN CATCH SELECT ERROR_NUMBER(), ERROR_PROCEDURE() END CATCH",
    );
    assert_eq!(rows(&events), [vec![int(8134), text("ctl_fail")]]);
    // and from a nested TRY block inside a procedure
    run(
        &mut s,
        "CREATE PROCEDURE ctl_inner AS BEGIN TRY SELECT 1/0 END TRY BEGIN CATCH SELECT 'inner caught'; THROW END CATCH",
    );
    let events = run(&mut s, "BEGIN TRY EXEC ctl_inner END TRY BEGIN CATCH SELECT 'outer', ERROR_NUMBER() END CATCH");
    assert_eq!(rows(&events), [vec![text("inner caught")], vec![text("outer"), int(8134)]]);
    run(&mut s, "DROP PROCEDURE ctl_fail; DROP PROCEDURE ctl_inner");
}

#[test]
fn dynamic_sql() {
    let mut s = session();
    let events = run(
        &mut s,
        "DECLARE @out int, @sql nvarchar(100) = N'SELECT ''dyn'' AS d'
         EXEC sp_executesql N'SET @o = @i + 1', N'@i int, @o int OUTPUT', @i = 41, @o = @out OUTPUT
         EXEC (@sql)
         EXECUTE ('SELECT ' + '2')
         SELECT @out",
    );
    assert_eq!(rows(&events), [vec![text("dyn")], vec![int(2)], vec![int(42)]]);
    // dynamic SQL is a scope of its own: the batch's variables are not in it
    let events = execute_batch(&mut s, "DECLARE @x int = 1; EXEC ('SELECT @x')");
    assert_eq!(errors(&events)[0].0, 137);
}

#[test]
fn views() {
    let mut s = session();
    run(&mut s, "CREATE TABLE ctl_vt (id int, name nvarchar(10))");
    run(&mut s, "INSERT INTO ctl_vt VALUES (1, N'a'), (2, N'b'), (3, N'c')");
    run(&mut s, "CREATE VIEW ctl_v AS SELECT id, name FROM ctl_vt WHERE id > 1");
    let events = run(&mut s, "SELECT name FROM ctl_v ORDER BY id DESC");
    assert_eq!(rows(&events), [vec![text("c")], vec![text("b")]]);
    let Some(Event::ColMetadata(cols)) = events.first() else { panic!("{events:?}") };
    assert_eq!((cols[0].name.as_str(), &cols[0].ty), ("name", &SqlType::NVarChar(Some(10))));
    // a definition must be the only statement of its batch
    let events = execute_batch(&mut s, "SELECT 1\nCREATE VIEW ctl_v2 AS SELECT 1 AS one");
    assert_eq!(errors(&events)[0].0, 111);
    run(&mut s, "DROP VIEW IF EXISTS ctl_v; DROP VIEW IF EXISTS ctl_v; DROP TABLE ctl_vt");
}

#[test]
fn select_into_creates_the_table() {
    let mut s = session();
    run(
        &mut s,
        "CREATE TABLE #ctl_src (id int IDENTITY(1,1) PRIMARY KEY, name nvarchar(10) NOT NULL, x decimal(5,2))
         INSERT INTO #ctl_src (name, x) VALUES (N'a', 1.5), (N'b', NULL)",
    );
    let events = run(&mut s, "SELECT * INTO #ctl_copy FROM #ctl_src WHERE id > 0");
    // the rows SELECT ... INTO copied are counted
    assert!(matches!(events.last(), Some(Event::Done(d)) if d.status == 0x10 && d.row_count == 2), "{events:?}");
    // the identity column goes on after the rows copied
    let events =
        run(&mut s, "INSERT INTO #ctl_copy (name) VALUES (N'c'); SELECT id, name, x FROM #ctl_copy ORDER BY id");
    assert_eq!(
        rows(&events),
        [
            vec![int(1), text("a"), Value::Decimal(150, 2)],
            vec![int(2), text("b"), Value::Null],
            vec![int(3), text("c"), Value::Null]
        ]
    );
    let events = run(
        &mut s,
        "SELECT name, is_nullable, is_identity, TYPE_NAME(user_type_id) FROM tempdb.sys.columns
         WHERE object_id = OBJECT_ID('tempdb..#ctl_copy') ORDER BY column_id",
    );
    let b = Value::Bool;
    assert_eq!(
        rows(&events),
        [
            vec![text("id"), b(false), b(true), text("int")],
            vec![text("name"), b(false), b(false), text("nvarchar")],
            vec![text("x"), b(true), b(false), text("decimal")]
        ]
    );
    // without FROM, and an unnamed column (1038) or an existing table (2714)
    let events = run(&mut s, "SELECT 1 AS a, N'x' AS b INTO #ctl_lit; SELECT * FROM #ctl_lit");
    assert_eq!(rows(&events), [vec![int(1), text("x")]]);
    assert_eq!(errors(&execute_batch(&mut s, "SELECT 1 INTO #ctl_unnamed"))[0].0, 1038);
    assert_eq!(errors(&execute_batch(&mut s, "SELECT 1 AS a INTO #ctl_lit"))[0].0, 2714);
}

#[test]
fn modules_this_server_does_not_define_are_not_supported() {
    let mut s = session();
    for sql in [
        "CREATE FUNCTION dbo.ctl_f (@a int) RETURNS int AS BEGIN RETURN @a + 1 END",
        "CREATE OR ALTER TRIGGER ctl_tr ON ctl_t AFTER INSERT AS SELECT 1",
    ] {
        let events = execute_batch(&mut s, sql);
        let e = errors(&events);
        assert!(e.len() == 1 && e[0].2.ends_with("is not supported by the local test server."), "{sql}: {events:?}");
    }
}
