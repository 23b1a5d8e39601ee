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
