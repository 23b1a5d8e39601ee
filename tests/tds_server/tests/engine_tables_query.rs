//! SELECTs over tables: aggregates typed as SQL Server types them, GROUP BY, derived tables
//! (the query shapes connectorx sends). Each test uses its own tables (one shared database).

use tds_server::engine::{execute_batch, Event, Session};
use tds_server::types::{ColumnDef, SqlType};
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

/// The columns and rows of a result.
type ResultSet = (Vec<ColumnDef>, Vec<Vec<Value>>);

/// A batch's last result, or its first error (number, text).
fn query(s: &mut Session, sql: &str) -> Result<ResultSet, (i32, String)> {
    let events = execute_batch(s, sql);
    if let Some((n, t)) =
        events.iter().find_map(|e| if let Event::Error(m) = e { Some((m.number, m.text.clone())) } else { None })
    {
        return Err((n, t));
    }
    let start = events.iter().rposition(|e| matches!(e, Event::ColMetadata(_))).expect("a result");
    let Event::ColMetadata(columns) = &events[start] else { unreachable!() };
    let rows =
        events[start..].iter().filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None }).collect();
    Ok((columns.clone(), rows))
}

fn setup(s: &mut Session, table: &str) {
    let sql = format!(
        "CREATE TABLE {table} (k INT NOT NULL, grp VARCHAR(5), small SMALLINT, price DECIMAL(10,2), cash MONEY, f FLOAT)\n\
         INSERT INTO {table} VALUES (1, 'a', 1, 1.50, 1, 0.5), (2, 'b', 2, 2.25, 2, 1.5), (3, 'a', NULL, NULL, 3, NULL), (4, 'b', 4, 4.00, 4, 2.0), (5, 'A', 5, 0.01, 5, 1.0)"
    );
    assert!(query(s, &format!("{sql}\nSELECT 1 AS done")).is_ok());
}

#[test]
fn aggregates_are_typed_as_sql_server_types_them() {
    let mut s = session();
    setup(&mut s, "agg_t");
    let (cols, rows) = query(
        &mut s,
        "SELECT COUNT(*), COUNT(small) AS c, COUNT_BIG(*) AS cb, MIN(price) AS mn, MAX(grp) AS mx, SUM(small) AS s, \
         SUM(price) AS sp, AVG(small) AS a, AVG(price) AS ap, SUM(cash) AS sc, AVG(f) AS af FROM agg_t",
    )
    .unwrap();
    let types: Vec<SqlType> = cols.iter().map(|c| c.ty.clone()).collect();
    assert_eq!(
        types,
        [
            SqlType::Int,
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Decimal { precision: 10, scale: 2 },
            SqlType::VarChar(Some(5)),
            SqlType::Int,
            SqlType::Decimal { precision: 38, scale: 2 },
            SqlType::Int,
            SqlType::Decimal { precision: 38, scale: 6 },
            SqlType::Money,
            SqlType::Float
        ]
    );
    assert!(cols.iter().all(|c| c.nullable && c.computed));
    assert_eq!(cols[0].name, "");
    assert_eq!(
        rows,
        [vec![
            Value::Int(5),
            Value::Int(4),
            Value::Int(5),
            Value::Decimal(1, 2),
            Value::Str("b".into()),
            Value::Int(12),
            Value::Decimal(776, 2),
            // 12 / 4 and 7.76 / 4 (NULLs left out)
            Value::Int(3),
            Value::Decimal(1_940_000, 6),
            Value::Money(150_000),
            Value::Float(1.25)
        ]]
    );
    // no rows: COUNT is 0, the others NULL
    let (_, rows) = query(&mut s, "SELECT COUNT(*), MAX(k), SUM(price) FROM agg_t WHERE k > 100").unwrap();
    assert_eq!(rows, [vec![Value::Int(0), Value::Null, Value::Null]]);
}

#[test]
fn group_by_and_its_errors() {
    let mut s = session();
    setup(&mut s, "grp_t");
    // 'a' and 'A' are one group under the case-insensitive collation
    let (cols, rows) =
        query(&mut s, "SELECT grp, COUNT(*) AS n, SUM(k) AS total FROM grp_t GROUP BY grp ORDER BY total DESC")
            .unwrap();
    assert_eq!(cols[0].name, "grp");
    assert!(!cols[0].computed);
    assert_eq!(
        rows,
        [
            vec![Value::Str("a".into()), Value::Int(3), Value::Int(9)],
            vec![Value::Str("b".into()), Value::Int(2), Value::Int(6)]
        ]
    );
    assert_eq!(query(&mut s, "SELECT k, COUNT(*) FROM grp_t").unwrap_err().0, 8120);
    assert_eq!(query(&mut s, "SELECT SUM(grp) FROM grp_t").unwrap_err().0, 8117);
}

#[test]
fn derived_tables_in_the_shapes_connectorx_sends() {
    let mut s = session();
    setup(&mut s, "cx_t");
    let (cols, rows) =
        query(&mut s, "SELECT min(t.k), max(t.k) FROM (SELECT k, price FROM cx_t WHERE k > 1) AS t").unwrap();
    assert_eq!(cols.iter().map(|c| c.ty.clone()).collect::<Vec<_>>(), [SqlType::Int, SqlType::Int]);
    assert_eq!(rows, [vec![Value::Int(2), Value::Int(5)]]);
    let (cols, rows) =
        query(&mut s, "SELECT * FROM (SELECT k, price FROM cx_t) AS t WHERE 1 <= t.k AND t.k < 3").unwrap();
    assert_eq!(cols[1].ty, SqlType::Decimal { precision: 10, scale: 2 });
    assert!(!cols[0].nullable);
    assert_eq!(rows, [vec![Value::Int(1), Value::Decimal(150, 2)], vec![Value::Int(2), Value::Decimal(225, 2)]]);
    let (_, rows) = query(&mut s, "SELECT count(*) FROM (SELECT * FROM cx_t) AS t").unwrap();
    assert_eq!(rows, [vec![Value::Int(5)]]);
    assert_eq!(query(&mut s, "SELECT * FROM (SELECT k + 0 FROM cx_t) AS t").unwrap_err().0, 8155);
    assert_eq!(query(&mut s, "SELECT * FROM (SELECT CAST(k AS int) FROM cx_t) AS t").unwrap_err().0, 8155);
}

#[test]
fn insert_from_a_select() {
    let mut s = session();
    setup(&mut s, "src_t");
    let events = execute_batch(
        &mut s,
        "CREATE TABLE dst_t (k BIGINT, p DECIMAL(12,3))\nINSERT INTO dst_t (p, k) SELECT price, k FROM src_t WHERE price IS NOT NULL",
    );
    let counts: Vec<u64> =
        events.iter().filter_map(|e| if let Event::Done(d) = e { Some(d.row_count) } else { None }).collect();
    assert_eq!(counts, [0, 4]);
    let (cols, rows) = query(&mut s, "SELECT k, p FROM dst_t WHERE k = 2").unwrap();
    assert_eq!(cols[1].ty, SqlType::Decimal { precision: 12, scale: 3 });
    assert_eq!(rows, [vec![Value::Int(2), Value::Decimal(2250, 3)]]);
    assert_eq!(query(&mut s, "INSERT INTO dst_t (k, p) SELECT k FROM src_t").unwrap_err().0, 120);
}

#[test]
fn a_run_time_error_follows_the_rows_computed_before_it() {
    let mut s = session();
    let events = execute_batch(
        &mut s,
        "CREATE TABLE late_t (k INT, v VARCHAR(10))\nINSERT INTO late_t VALUES (1, '1'), (2, '2'), (3, 'three')\n\
         SELECT CAST(v AS int) AS n FROM late_t ORDER BY k",
    );
    let tail: Vec<&Event> = events.iter().skip_while(|e| !matches!(e, Event::ColMetadata(_))).collect();
    assert!(matches!(tail[1], Event::Row(r) if r == &[Value::Int(1)]), "{tail:?}");
    assert!(matches!(tail[2], Event::Row(r) if r == &[Value::Int(2)]), "{tail:?}");
    assert!(matches!(tail[3], Event::Error(m) if m.number == 245), "{tail:?}");
    assert!(matches!(tail[4], Event::Done(d) if d.status & 0x2 != 0), "{tail:?}");
    assert_eq!(tail.len(), 5);
}

#[test]
fn joins_are_produced_row_by_row_in_from_order() {
    let mut s = session();
    let setup = "CREATE TABLE ja (x INT, tag VARCHAR(5))\nINSERT INTO ja VALUES (1, 'one'), (2, 'two'), (3, NULL)\n\
                 CREATE TABLE jb (y INT)\nINSERT INTO jb VALUES (10), (20)\nSELECT 1 AS done";
    assert!(query(&mut s, setup).is_ok());
    let row = |x: i64, tag: Option<&str>, y: i64| {
        vec![Value::Int(x), tag.map_or(Value::Null, |t| Value::Str(t.into())), Value::Int(y)]
    };
    let (columns, rows) = query(&mut s, "SELECT a.x, a.tag, b.y FROM ja AS a CROSS JOIN jb AS b").unwrap();
    assert_eq!(columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["x", "tag", "y"]);
    assert_eq!(
        rows,
        [
            row(1, Some("one"), 10),
            row(1, Some("one"), 20),
            row(2, Some("two"), 10),
            row(2, Some("two"), 20),
            row(3, None, 10),
            row(3, None, 20)
        ]
    );
    // TOP stops the join; the ON of an INNER JOIN and the WHERE see the joined row; commas join too
    let (_, rows) = query(&mut s, "SELECT TOP 3 a.x, a.tag, b.y FROM ja a, jb b").unwrap();
    assert_eq!(rows, [row(1, Some("one"), 10), row(1, Some("one"), 20), row(2, Some("two"), 10)]);
    let (_, rows) =
        query(&mut s, "SELECT a.x, a.tag, b.y FROM ja a JOIN jb b ON b.y = a.x * 10 WHERE a.tag IS NOT NULL").unwrap();
    assert_eq!(rows, [row(1, Some("one"), 10), row(2, Some("two"), 20)]);
    let (_, rows) = query(&mut s, "SELECT a.x + b.y AS s FROM ja a INNER JOIN jb b ON 1 = 1 WHERE b.y > 10").unwrap();
    assert_eq!(rows, [[Value::Int(21)], [Value::Int(22)], [Value::Int(23)]]);
    // a run-time error of the WHERE follows the rows before it
    let events = execute_batch(
        &mut s,
        "SELECT a.x FROM ja a CROSS JOIN jb b WHERE CASE WHEN a.x < 2 THEN 1 ELSE CAST(a.tag AS int) END = 1",
    );
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::ColMetadata(_) => "columns",
            Event::Row(_) => "row",
            Event::Error(m) if m.number == 245 => "245",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds[..4], ["columns", "row", "row", "245"], "{events:?}");
}

#[test]
fn order_by_without_from() {
    let mut s = session();
    assert_eq!(query(&mut s, "SELECT 1 AS a ORDER BY a").unwrap().1, [[Value::Int(1)]]);
    assert_eq!(query(&mut s, "SELECT 1 AS a, 2 AS b ORDER BY b DESC, 1").unwrap().1, [[Value::Int(1), Value::Int(2)]]);
    // an ORDER BY names what the select list has
    assert_eq!(query(&mut s, "SELECT 1 AS a ORDER BY c").unwrap_err().0, 207);
}

#[test]
fn a_trailing_comma_ends_a_create_table_column_list() {
    let mut s = session();
    let sql = "CREATE TABLE #trailing (a INT, b VARCHAR(3), )\nCREATE TABLE trailing2 (k INT PRIMARY KEY, CONSTRAINT u UNIQUE (k),\n)\n\
               INSERT INTO #trailing VALUES (1, 'x')\nINSERT INTO trailing2 VALUES (7)\n\
               SELECT t.a, t.b, u.k FROM #trailing t CROSS JOIN trailing2 u";
    assert_eq!(query(&mut s, sql).unwrap().1, [[Value::Int(1), Value::Str("x".into()), Value::Int(7)]]);
    // only there: a comma before any other closing parenthesis is still a syntax error
    assert_eq!(query(&mut s, "CREATE TABLE trailing3 (a INT, b DECIMAL(5,))").unwrap_err().0, 102);
}

#[test]
fn app_name_is_the_application_the_login_named() {
    let mut s = session().with_application("fastmssql-tests");
    let (columns, rows) = query(&mut s, "SELECT APP_NAME() AS app").unwrap();
    assert_eq!(rows, [[Value::Str("fastmssql-tests".into())]]);
    assert_eq!(columns[0].ty, SqlType::NVarChar(Some(128)));
    assert_eq!(query(&mut session(), "SELECT APP_NAME() AS app").unwrap().1, [[Value::Str(String::new())]]);
    assert_eq!(query(&mut s, "SELECT APP_NAME(1) AS app").unwrap_err().0, 174);
}
