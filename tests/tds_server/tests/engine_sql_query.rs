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
    let rows =
        events[start..].iter().filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None }).collect();
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
    let ids =
        |s: &mut Session, condition: &str| rows(s, &format!("SELECT id FROM #empw WHERE {condition} ORDER BY id"));
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
        rows(
            &mut s,
            "SELECT dept FROM #empd WHERE dept IS NOT NULL GROUP BY dept HAVING SUM(salary) >= 120 ORDER BY dept"
        ),
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
    let (cols, r) =
        query(&mut s, "SELECT name AS n FROM #empd WHERE id = 1 UNION SELECT N'zed' ORDER BY n DESC").unwrap();
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
        rows(
            &mut s,
            "DECLARE @skip int = 4; SELECT id FROM #empo ORDER BY id OFFSET @skip ROWS FETCH FIRST 5 ROWS ONLY"
        ),
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
        query(&mut s, "SELECT e.id, d.title FROM #empj e LEFT OUTER JOIN #deptj d ON d.id = e.dept ORDER BY e.id")
            .unwrap();
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
    let (cols, r) = query(
        &mut s,
        "SELECT * FROM #empj e RIGHT JOIN #deptj d ON d.id = e.dept WHERE e.id IS NULL OR e.id = 3 ORDER BY d.id",
    )
    .unwrap();
    assert_eq!(
        cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["id", "name", "dept", "salary", "id", "title"]
    );
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
    assert_eq!(
        rows(&mut s, "SELECT d.* FROM #empj e JOIN #deptj d ON e.dept = d.id WHERE e.id = 3"),
        [vec![Value::Int(20), text("R&D")]]
    );
    assert_eq!(
        query(&mut s, "SELECT id FROM #empj e JOIN #deptj d ON e.dept = d.id").unwrap_err(),
        (209, "Ambiguous column name 'id'.".into())
    );
    assert_eq!(query(&mut s, "SELECT x.id FROM #empj e").unwrap_err().0, 4104);
    let (number, text) =
        query(&mut s, "SELECT e.id FROM #empj e FULL OUTER JOIN #deptj d ON e.dept = d.id").unwrap_err();
    assert_eq!((number, text.as_str()), (50000, "FULL OUTER JOIN is not supported by the local test server."));
}

/// SQL Server's 8120 is for columns of the query's own FROM sources outside the aggregates and
/// GROUP BY; constants, variables, `@@` variables, functions of them and outer references have
/// one value per group.
#[test]
fn grouped_select_list_beside_aggregates() {
    let mut s = session();
    setup(&mut s, "g");
    assert_eq!(rows(&mut s, "SELECT COUNT(*) AS n, @@TRANCOUNT AS t FROM #empg"), [vec![Value::Int(5), Value::Int(0)]]);
    assert_eq!(
        rows(&mut s, "BEGIN TRAN SELECT COUNT(*) AS n, @@TRANCOUNT AS t FROM #empg"),
        [vec![Value::Int(5), Value::Int(1)]]
    );
    rows(&mut s, "ROLLBACK SELECT 1");
    assert_eq!(
        rows(&mut s, "DECLARE @v int = 7 SELECT MAX(salary), 'x', 1 + 2, @v * 2, UPPER('a'), LEN(@@SERVERNAME) - LEN(@@SERVERNAME) FROM #empg"),
        [vec![Value::Int(120), text("x"), Value::Int(3), Value::Int(14), text("A"), Value::Int(0)]]
    );
    // no rows and no GROUP BY: still one row, whose other items are computed
    assert_eq!(
        rows(&mut s, "SELECT COUNT(*) AS n, @@TRANCOUNT + 1 AS t, 'k' AS k FROM #empg WHERE id > 100"),
        [vec![Value::Int(0), Value::Int(1), text("k")]]
    );
    // an expression over a grouped column, however qualified
    assert_eq!(
        rows(&mut s, "SELECT dept * 10, COUNT(*) FROM #empg e WHERE e.dept IS NOT NULL GROUP BY e.dept ORDER BY 1"),
        [
            vec![Value::Int(100), Value::Int(2)],
            vec![Value::Int(200), Value::Int(1)],
            vec![Value::Int(300), Value::Int(1)]
        ]
    );
    // a subquery selecting an outer column
    assert_eq!(rows(&mut s, "SELECT (SELECT e.salary) AS s FROM #empg e WHERE e.id = 3"), ints(&[120]));
    // a subquery correlated on a grouped column
    assert_eq!(
        rows(&mut s, "SELECT e.dept, (SELECT d.title FROM #deptg d WHERE d.id = e.dept), COUNT(*) FROM #empg e WHERE dept < 30 GROUP BY e.dept ORDER BY e.dept"),
        [vec![Value::Int(10), text("Sales"), Value::Int(2)], vec![Value::Int(20), text("R&D"), Value::Int(1)]]
    );
    for ungrouped in [
        "SELECT name, COUNT(*) FROM #empg",
        "SELECT salary + 1, COUNT(*) FROM #empg GROUP BY dept",
        "SELECT UPPER(e.name), COUNT(*) FROM #empg e",
        "SELECT CASE WHEN salary > 1 THEN 1 END, COUNT(*) FROM #empg",
        "SELECT dept, MAX(salary) + id FROM #empg GROUP BY dept",
        "SELECT ISNULL(SUM(salary), salary) FROM #empg",
    ] {
        assert_eq!(query(&mut s, ungrouped).unwrap_err().0, 8120, "{ungrouped}");
    }
    // expressions over aggregates, typed by their aggregates' types
    let (cols, r) = query(
        &mut s,
        "SELECT dept, COUNT(*) * 10 + 1 AS c, ISNULL(SUM(salary), 0) - MIN(salary) AS spread, \
         CAST(AVG(salary) AS varchar(10)) AS a, CASE WHEN MAX(salary) > 90 THEN 'high' ELSE 'low' END AS h \
         FROM #empg WHERE dept IS NOT NULL GROUP BY dept ORDER BY MAX(salary) - MIN(salary) DESC, dept",
    )
    .unwrap();
    assert_eq!(cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["dept", "c", "spread", "a", "h"]);
    assert_eq!((&cols[1].ty, &cols[2].ty, &cols[3].ty), (&SqlType::Int, &SqlType::Int, &SqlType::VarChar(Some(10))));
    assert_eq!(
        r,
        [
            vec![Value::Int(10), Value::Int(21), Value::Int(100), text("90"), text("high")],
            vec![Value::Int(20), Value::Int(11), Value::Int(0), text("120"), text("high")],
            vec![Value::Int(30), Value::Int(11), Value::Int(0), text("80"), text("low")],
        ]
    );
    // over no rows, SUM is NULL and COUNT 0
    assert_eq!(
        rows(&mut s, "SELECT ISNULL(SUM(salary), -1), COUNT(*) + 1 FROM #empg WHERE id > 100"),
        [vec![Value::Int(-1), Value::Int(1)]]
    );
    // a subquery reading an ungrouped column would see one row of the group: refused
    let (number, text) = query(&mut s, "SELECT (SELECT e.salary), COUNT(*) FROM #empg e GROUP BY e.dept").unwrap_err();
    assert_eq!(number, 50000);
    assert!(text.ends_with("is not supported by the local test server."), "{text}");
}

/// UNION [ALL] without tables, and the typing of a UNION's columns: the first query names
/// them, data type precedence types them (decimals wide enough for both, strings as long as the
/// longer), a column is nullable when either side's is.
#[test]
fn union_of_queries_without_tables() {
    let mut s = session();
    let (cols, r) = query(&mut s, "SELECT 3 AS d UNION ALL SELECT 4").unwrap();
    assert_eq!((cols.len(), cols[0].name.as_str(), &cols[0].ty, cols[0].nullable), (1, "d", &SqlType::Int, false));
    assert_eq!(r, ints(&[3, 4]));
    assert_eq!(rows(&mut s, "SELECT 3 AS d UNION SELECT 3 UNION SELECT 1 ORDER BY d"), ints(&[1, 3]));
    assert_eq!(rows(&mut s, "SELECT 3 AS d UNION ALL SELECT 3 UNION ALL SELECT 1 ORDER BY d DESC"), ints(&[3, 3, 1]));
    // int is decimal(10,0): with numeric(2,1) it makes numeric(11,1)
    let (cols, r) = query(&mut s, "SELECT 1 AS a UNION ALL SELECT 2.5").unwrap();
    assert_eq!(cols[0].ty, SqlType::Numeric { precision: 11, scale: 1 });
    assert_eq!(r, [vec![Value::Decimal(10, 1)], vec![Value::Decimal(25, 1)]]);
    let (cols, _) = query(&mut s, "SELECT 'a' AS s UNION ALL SELECT N'abc'").unwrap();
    assert_eq!((cols[0].name.as_str(), &cols[0].ty), ("s", &SqlType::NVarChar(Some(3))));
    let (cols, _) = query(&mut s, "SELECT CAST('a' AS char(5)) AS c UNION ALL SELECT CAST('b' AS char(10))").unwrap();
    assert_eq!(cols[0].ty, SqlType::Char(10));
    let (cols, _) = query(&mut s, "SELECT CAST('a' AS char(5)) AS c UNION ALL SELECT CAST('b' AS varchar(3))").unwrap();
    assert_eq!(cols[0].ty, SqlType::VarChar(Some(5)));
    let (cols, r) = query(&mut s, "SELECT NULL AS x UNION ALL SELECT 5").unwrap();
    assert_eq!((&cols[0].ty, cols[0].nullable), (&SqlType::Int, true));
    assert_eq!(r, [vec![Value::Null], vec![Value::Int(5)]]);
    // '12' converts to the int of the other side; 'x' cannot
    assert_eq!(rows(&mut s, "SELECT 1 AS n UNION SELECT '12' ORDER BY n"), ints(&[1, 12]));
    assert_eq!(query(&mut s, "SELECT 1 AS n UNION SELECT 'x'").unwrap_err().0, 245);
    assert_eq!(query(&mut s, "SELECT 1, 2 UNION SELECT 3").unwrap_err().0, 205);
    // inside a batch with other statements, and with a variable
    assert_eq!(rows(&mut s, "DECLARE @v int = 9\nSELECT @v AS v UNION ALL SELECT @v + 1"), ints(&[9, 10]));
}

/// EXCEPT and INTERSECT, as the example of SQL Server's documentation ("Performing Semi-Joins
/// with EXCEPT and INTERSECT"): distinct rows, two NULLs equal, INTERSECT before EXCEPT.
#[test]
fn except_and_intersect() {
    let mut s = session();
    let setup = "CREATE TABLE #ta (col1 int NULL) CREATE TABLE #tb (col1 int NULL) CREATE TABLE #tc (col1 int NULL)\n\
                 INSERT INTO #ta VALUES (NULL), (NULL), (NULL), (1), (2), (2), (2), (3), (4), (4)\n\
                 INSERT INTO #tb VALUES (NULL), (1), (3), (4), (4)\n\
                 INSERT INTO #tc VALUES (2), (2), (2), (4), (4)";
    assert!(execute_batch(&mut s, setup).iter().all(|e| !matches!(e, Event::Error(_))));
    assert_eq!(rows(&mut s, "SELECT * FROM #ta EXCEPT SELECT * FROM #tb"), ints(&[2]));
    let (cols, r) = query(&mut s, "SELECT * FROM #ta INTERSECT SELECT * FROM #tb ORDER BY col1").unwrap();
    assert_eq!((cols[0].name.as_str(), cols[0].nullable), ("col1", true));
    assert_eq!(r, [vec![Value::Null], vec![Value::Int(1)], vec![Value::Int(3)], vec![Value::Int(4)]]);
    assert_eq!(
        rows(&mut s, "SELECT * FROM #ta EXCEPT SELECT * FROM #tb INTERSECT SELECT * FROM #tc ORDER BY col1"),
        [vec![Value::Null], vec![Value::Int(1)], vec![Value::Int(2)], vec![Value::Int(3)]]
    );
    // the left query's nullability
    let (cols, r) = query(&mut s, "SELECT 1 AS a EXCEPT SELECT NULL").unwrap();
    assert_eq!((cols[0].nullable, r), (false, ints(&[1])));
    assert!(query(&mut s, "SELECT 1 AS a INTERSECT SELECT 2").unwrap().1.is_empty());
    assert_eq!(
        query(&mut s, "SELECT 1 EXCEPT ALL SELECT 2").unwrap_err(),
        (102, "Incorrect syntax near 'ALL'.".into())
    );
}
