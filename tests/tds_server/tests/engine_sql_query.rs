//! Query features over tables: LIKE/IN/BETWEEN/IS NULL/NOT in WHERE, DISTINCT, HAVING,
//! UNION [ALL], ORDER BY ... OFFSET/FETCH, and INNER/LEFT/CROSS joins with aliases. Expected
//! rows follow SQL Server's documented semantics (case-insensitive default collation).

use tds_server::engine::{execute_batch, Event, Session};
use tds_server::types::{ColumnDef, SqlType};
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

/// A result's columns and rows.
type ResultSet = (Vec<ColumnDef>, Vec<Vec<Value>>);

/// A batch's last result, or its first error (number, text).
fn query(s: &mut Session, sql: &str) -> Result<ResultSet, (i32, String)> {
    let events = execute_batch(s, sql);
    if let Some(e) = events.iter().find_map(|e| match e {
        Event::Error(m) => Some((m.number, m.text.clone())),
        _ => None,
    }) {
        return Err(e);
    }
    let start = events.iter().rposition(|e| matches!(e, Event::ColMetadata(_))).expect("a result");
    let Event::ColMetadata(columns) = &events[start] else { unreachable!() };
    let rows = events[start..]
        .iter()
        .filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None })
        .collect();
    Ok((columns.clone(), rows))
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    query(s, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}")).1
}

fn ints(values: &[i64]) -> Vec<Vec<Value>> {
    values.iter().map(|&i| vec![Value::Int(i)]).collect()
}

fn text(s: &str) -> Value {
    Value::Str(s.into())
}

fn setup(s: &mut Session, suffix: &str) {
    let sql = format!(
        "CREATE TABLE #emp{suffix} (id int PRIMARY KEY, name varchar(20), dept int NULL, salary int)\n\
         CREATE TABLE #dept{suffix} (id int PRIMARY KEY, title varchar(20))\n\
         INSERT INTO #emp{suffix} VALUES (1, 'Alice', 10, 100), (2, 'bob', 10, 80), (3, 'Carol', 20, 120), (4, 'dave_x', NULL, 90), (5, 'Eve', 30, 80)\n\
         INSERT INTO #dept{suffix} VALUES (10, 'Sales'), (20, 'R&D'), (40, 'Empty')"
    );
    assert!(execute_batch(s, &sql).iter().all(|e| !matches!(e, Event::Error(_))));
}

#[test]
fn where_predicates() {
    let mut s = session();
    setup(&mut s, "w");
    let ids = |s: &mut Session, condition: &str| rows(s, &format!("SELECT id FROM #empw WHERE {condition} ORDER BY id"));
    // LIKE is case-insensitive under the default collation
    assert_eq!(ids(&mut s, "name LIKE 'a%'"), ints(&[1]));
    assert_eq!(ids(&mut s, "name LIKE '%O%'"), ints(&[2, 3]));
    assert_eq!(ids(&mut s, "name LIKE '_ve'"), ints(&[5]));
    assert_eq!(ids(&mut s, "name LIKE '[ab]%'"), ints(&[1, 2]));
    assert_eq!(ids(&mut s, "name LIKE '[^ab]%'"), ints(&[3, 4, 5]));
    assert_eq!(ids(&mut s, "name LIKE '%!_%' ESCAPE '!'"), ints(&[4]));
    assert_eq!(ids(&mut s, "name NOT LIKE '%e%'"), ints(&[2, 3]));
    assert_eq!(ids(&mut s, "dept IN (10, 30)"), ints(&[1, 2, 5]));
    // NOT IN with no NULL in the list; a NULL dept is UNKNOWN, never qualifies
    assert_eq!(ids(&mut s, "dept NOT IN (10)"), ints(&[3, 5]));
    assert_eq!(ids(&mut s, "salary BETWEEN 80 AND 90"), ints(&[2, 4, 5]));
    assert_eq!(ids(&mut s, "dept IS NULL"), ints(&[4]));
    assert_eq!(ids(&mut s, "NOT (dept IS NULL OR salary > 90)"), ints(&[2, 5]));
    assert_eq!(ids(&mut s, "salary + 10 = 90 AND dept = 30"), ints(&[5]));
}

#[test]
fn distinct_having_union() {
    let mut s = session();
    setup(&mut s, "d");
    assert_eq!(rows(&mut s, "SELECT DISTINCT salary FROM #empd ORDER BY salary"), ints(&[80, 90, 100, 120]));
    assert_eq!(
        rows(&mut s, "SELECT dept, COUNT(*) AS n FROM #empd GROUP BY dept HAVING COUNT(*) > 1"),
        [vec![Value::Int(10), Value::Int(2)]]
    );
    assert_eq!(
        rows(&mut s, "SELECT dept FROM #empd WHERE dept IS NOT NULL GROUP BY dept HAVING SUM(salary) >= 120 ORDER BY dept"),
        ints(&[10, 20])
    );
    assert_eq!(
        rows(&mut s, "SELECT dept FROM #empd WHERE dept IS NOT NULL GROUP BY dept ORDER BY COUNT(*) DESC, dept"),
        ints(&[10, 20, 30])
    );
    assert_eq!(rows(&mut s, "SELECT dept FROM #empd UNION SELECT id FROM #deptd ORDER BY 1"), {
        let mut r = vec![vec![Value::Null]];
        r.extend(ints(&[10, 20, 30, 40]));
        r
    });
    assert_eq!(rows(&mut s, "SELECT salary FROM #empd WHERE id < 3 UNION ALL SELECT 80").len(), 3);
    let (cols, r) = query(&mut s, "SELECT name AS n FROM #empd WHERE id = 1 UNION SELECT N'zed' ORDER BY n DESC").unwrap();
    // varchar(20) and nvarchar(3) combine to nvarchar(20); the first query names the column
    assert_eq!((cols[0].name.as_str(), &cols[0].ty), ("n", &SqlType::NVarChar(Some(20))));
    assert_eq!(r, [vec![text("zed")], vec![text("Alice")]]);
    assert_eq!(query(&mut s, "SELECT id, name FROM #empd UNION SELECT 1").unwrap_err().0, 205);
}

#[test]
fn offset_fetch_pages_an_ordered_result() {
    let mut s = session();
    setup(&mut s, "o");
    assert_eq!(
        rows(&mut s, "SELECT id FROM #empo ORDER BY salary DESC, id OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY"),
        ints(&[1, 4])
    );
    assert_eq!(rows(&mut s, "SELECT id FROM #empo ORDER BY id OFFSET 3 ROWS"), ints(&[4, 5]));
    assert_eq!(
        rows(&mut s, "DECLARE @skip int = 4; SELECT id FROM #empo ORDER BY id OFFSET @skip ROWS FETCH FIRST 5 ROWS ONLY"),
        ints(&[5])
    );
    assert_eq!(query(&mut s, "SELECT id FROM #empo ORDER BY id OFFSET -1 ROWS").unwrap_err().0, 10742);
}

#[test]
fn joins_with_aliases() {
    let mut s = session();
    setup(&mut s, "j");
    let (cols, r) = query(
        &mut s,
        "SELECT e.name, d.title FROM #empj AS e INNER JOIN #deptj d ON e.dept = d.id WHERE d.title <> 'R&D' ORDER BY e.id",
    )
    .unwrap();
    assert_eq!(cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["name", "title"]);
    assert_eq!(r, [vec![text("Alice"), text("Sales")], vec![text("bob"), text("Sales")]]);
    let (cols, r) =
        query(&mut s, "SELECT e.id, d.title FROM #empj e LEFT OUTER JOIN #deptj d ON d.id = e.dept ORDER BY e.id").unwrap();
    // the right side of a LEFT JOIN can be missing: its columns are nullable
    assert!(cols[1].nullable);
    assert_eq!(
        r,
        [
            vec![Value::Int(1), text("Sales")],
            vec![Value::Int(2), text("Sales")],
            vec![Value::Int(3), text("R&D")],
            vec![Value::Int(4), Value::Null],
            vec![Value::Int(5), Value::Null],
        ]
    );
    // RIGHT JOIN keeps every right row; the columns stay in FROM order
    let (cols, r) =
        query(&mut s, "SELECT * FROM #empj e RIGHT JOIN #deptj d ON d.id = e.dept WHERE e.id IS NULL OR e.id = 3 ORDER BY d.id").unwrap();
    assert_eq!(cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "name", "dept", "salary", "id", "title"]);
    assert!(cols[0].nullable && !cols[4].nullable);
    assert_eq!(
        r,
        [
            vec![Value::Int(3), text("Carol"), Value::Int(20), Value::Int(120), Value::Int(20), text("R&D")],
            vec![Value::Null, Value::Null, Value::Null, Value::Null, Value::Int(40), text("Empty")],
        ]
    );
    assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM #empj CROSS JOIN #deptj"), ints(&[15]));
    assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM #empj, #deptj WHERE #empj.dept = #deptj.id"), ints(&[3]));
    assert_eq!(
        rows(&mut s, "SELECT d.title, COUNT(e.id) AS n FROM #deptj d LEFT JOIN #empj e ON e.dept = d.id GROUP BY d.title ORDER BY d.title"),
        [
            vec![text("Empty"), Value::Int(0)],
            vec![text("R&D"), Value::Int(1)],
            vec![text("Sales"), Value::Int(2)]
        ]
    );
    assert_eq!(rows(&mut s, "SELECT d.* FROM #empj e JOIN #deptj d ON e.dept = d.id WHERE e.id = 3"), [vec![Value::Int(20), text("R&D")]]);
    assert_eq!(
        query(&mut s, "SELECT id FROM #empj e JOIN #deptj d ON e.dept = d.id").unwrap_err(),
        (209, "Ambiguous column name 'id'.".into())
    );
    assert_eq!(query(&mut s, "SELECT x.id FROM #empj e").unwrap_err().0, 4104);
    let (number, text) = query(&mut s, "SELECT e.id FROM #empj e FULL OUTER JOIN #deptj d ON e.dept = d.id").unwrap_err();
    assert_eq!((number, text.as_str()), (50000, "FULL OUTER JOIN is not supported by the local test server."));
}
