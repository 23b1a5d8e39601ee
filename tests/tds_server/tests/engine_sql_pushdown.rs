//! WHERE integer_column = constant is answered by a SQLite lookup instead of a scan; the
//! results are those of the full WHERE, whatever form the constant takes.

use std::time::Instant;

use tds_server::engine::{execute_batch, execute_rpc, Event, RpcParam, RpcRequest, RpcTarget, Session};
use tds_server::types::SqlType;
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    let events = execute_batch(s, sql);
    if let Some(m) = events.iter().find_map(|e| if let Event::Error(m) = e { Some(m) } else { None }) {
        panic!("{sql}: {m:?}");
    }
    events.into_iter().filter_map(|e| if let Event::Row(r) = e { Some(r) } else { None }).collect()
}

fn ids(values: &[i64]) -> Vec<Vec<Value>> {
    values.iter().map(|&i| vec![Value::Int(i)]).collect()
}

#[test]
fn point_lookups_return_what_the_where_qualifies() {
    let mut s = session();
    rows(
        &mut s,
        "CREATE TABLE #pd (id int PRIMARY KEY, grp smallint, v varchar(5))\n\
         INSERT INTO #pd VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, 2, NULL)",
    );
    assert_eq!(rows(&mut s, "SELECT id FROM #pd WHERE id = 2"), ids(&[2]));
    assert_eq!(rows(&mut s, "SELECT id FROM #pd WHERE 3 = id"), ids(&[3]));
    assert_eq!(rows(&mut s, "SELECT id FROM #pd WHERE #pd.id = '2'"), ids(&[2]));
    // 2.5 equals no int; 2.0 equals 2
    assert!(rows(&mut s, "SELECT id FROM #pd WHERE id = 2.5").is_empty());
    assert_eq!(rows(&mut s, "SELECT id FROM #pd WHERE id = 2.0"), ids(&[2]));
    assert_eq!(rows(&mut s, "SELECT id FROM #pd WHERE grp = 2 AND v IS NULL"), ids(&[4]));
    assert_eq!(
        rows(&mut s, "SELECT id FROM #pd t WHERE t.grp = 1 + 0 AND (id > 1 OR v = 'a') ORDER BY id"),
        ids(&[1, 2])
    );
    assert!(rows(&mut s, "SELECT id FROM #pd WHERE id = NULL").is_empty());
    rows(&mut s, "UPDATE #pd SET v = 'z' WHERE id = 3; DELETE FROM #pd WHERE id = 1");
    assert_eq!(
        rows(&mut s, "SELECT id, v FROM #pd ORDER BY id"),
        [
            vec![Value::Int(2), Value::Str("b".into())],
            vec![Value::Int(3), Value::Str("z".into())],
            vec![Value::Int(4), Value::Null]
        ]
    );
}

#[test]
fn a_parameterized_primary_key_lookup_does_not_scan_the_table() {
    let mut s = session();
    let mut batch = String::from("CREATE TABLE #big (id int PRIMARY KEY, v int)\n");
    for chunk in 0..50 {
        let values: Vec<String> = (0..1000).map(|i| format!("({}, {})", chunk * 1000 + i, i)).collect();
        batch.push_str(&format!("INSERT INTO #big VALUES {}\n", values.join(", ")));
    }
    rows(&mut s, &batch);
    let lookup = |s: &mut Session, id: i64| {
        let text = |v: &str| RpcParam {
            name: String::new(),
            status: 0,
            ty: SqlType::NVarChar(None),
            value: Value::Str(v.into()),
        };
        let rpc = RpcRequest {
            target: RpcTarget::ProcId(10),
            option_flags: 0,
            params: vec![
                text("SELECT id, v FROM #big WHERE id = @P1"),
                text("@P1 int"),
                RpcParam { name: "@P1".into(), status: 0, ty: SqlType::Int, value: Value::Int(id) },
            ],
        };
        execute_rpc(s, &rpc)
            .into_iter()
            .filter_map(|e| if let Event::Row(r) = e { Some(r) } else { None })
            .collect::<Vec<_>>()
    };
    assert_eq!(lookup(&mut s, 43_210), [vec![Value::Int(43_210), Value::Int(210)]]);
    // 200 lookups on 50,000 rows: a scan per lookup would decode 10 million rows
    let started = Instant::now();
    for i in 0..200 {
        assert_eq!(lookup(&mut s, i * 250).len(), 1);
    }
    let elapsed = started.elapsed();
    assert!(elapsed.as_secs_f64() < 5.0, "200 point lookups took {elapsed:?}");
}

#[test]
fn range_conditions_on_a_derived_table_return_what_the_where_qualifies() {
    let mut s = session();
    rows(
        &mut s,
        "CREATE TABLE #rg (id int PRIMARY KEY, n bigint NULL, label varchar(5))\n\
         INSERT INTO #rg VALUES (4, 40, 'd'), (1, 10, 'a'), (3, NULL, 'c'), (2, 20, 'b'), (5, NULL, 'e'), (6, 60, 'f')",
    );
    let derived = "SELECT * FROM (SELECT id, n, label FROM #rg) AS t";
    let id_set = |s: &mut Session, sql: &str| {
        let mut found: Vec<i64> = rows(s, sql)
            .into_iter()
            .map(|r| match r[0] {
                Value::Int(i) => i,
                ref other => panic!("{other:?}"),
            })
            .collect();
        found.sort();
        found
    };
    assert_eq!(id_set(&mut s, &format!("{derived} WHERE t.id >= 2 AND t.id < 5")), [2, 3, 4]);
    assert_eq!(id_set(&mut s, &format!("{derived} WHERE t.[id] < 3")), [1, 2]);
    assert_eq!(id_set(&mut s, &format!("{derived} WHERE 4 <= id")), [4, 5, 6]);
    assert_eq!(id_set(&mut s, &format!("{derived} WHERE id > 2.5 AND id <= 4")), [3, 4]);
    assert_eq!(id_set(&mut s, &format!("{derived} WHERE id > 1 AND id < 6 AND label <> 'c'")), [2, 4, 5]);
    assert_eq!(id_set(&mut s, &format!("{derived} WHERE t.n IS NULL")), [3, 5]);
    assert_eq!(id_set(&mut s, &format!("{derived} WHERE t.n >= 20 AND t.n < 60")), [2, 4]);
    assert!(id_set(&mut s, &format!("{derived} WHERE t.id >= 5 AND t.id < 5")).is_empty());
    assert!(id_set(&mut s, &format!("{derived} WHERE t.id < NULL")).is_empty());
    // renamed and partly selected columns; a derived table that is not one plain SELECT
    assert_eq!(id_set(&mut s, "SELECT k FROM (SELECT id AS k FROM #rg WHERE n > 0) AS t WHERE t.k < 4"), [1, 2]);
    assert_eq!(id_set(&mut s, "SELECT id FROM (SELECT TOP 2 id FROM #rg ORDER BY id DESC) AS t WHERE id < 6"), [5]);
    assert_eq!(id_set(&mut s, "SELECT id FROM (SELECT DISTINCT id FROM #rg) AS t WHERE id BETWEEN 2 AND 3"), [2, 3]);
    // extreme bounds of bigint
    assert_eq!(
        id_set(
            &mut s,
            "SELECT id FROM (SELECT id, n FROM #rg) AS t WHERE n > -9223372036854775808 AND n < 9223372036854775807"
        ),
        [1, 2, 4, 6]
    );
    // parameters are constants of the statement too
    let text =
        |v: &str| RpcParam { name: String::new(), status: 0, ty: SqlType::NVarChar(None), value: Value::Str(v.into()) };
    let int = |name: &str, v: i64| RpcParam { name: name.into(), status: 0, ty: SqlType::BigInt, value: Value::Int(v) };
    let rpc = RpcRequest {
        target: RpcTarget::ProcId(10),
        option_flags: 0,
        params: vec![
            text(&format!("{derived} WHERE t.id >= @P1 AND t.id < @P2")),
            text("@P1 bigint, @P2 bigint"),
            int("@P1", 3),
            int("@P2", 5),
        ],
    };
    let mut found: Vec<Vec<Value>> = execute_rpc(&mut s, &rpc)
        .into_iter()
        .filter_map(|e| if let Event::Row(r) = e { Some(r) } else { None })
        .collect();
    found.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(
        found,
        [
            vec![Value::Int(3), Value::Null, Value::Str("c".into())],
            vec![Value::Int(4), Value::Int(40), Value::Str("d".into())]
        ]
    );
}
