//! Built-in functions on the engine: result types (as SQL Server declares them) and values.

use tds_server::engine::{execute_batch, Event, Session};
use tds_server::types::{write_value, ColumnDef, SqlType, DEFAULT_COLLATION};
use tds_server::value::Value;

fn session() -> Session {
    Session::new(53, "sa", "master", "fastmssql-test")
}

/// The columns and the one row of a one-row SELECT.
fn select(s: &mut Session, sql: &str) -> (Vec<ColumnDef>, Vec<Value>) {
    let events = execute_batch(s, sql);
    let columns = events.iter().find_map(|e| if let Event::ColMetadata(c) = e { Some(c.clone()) } else { None });
    let rows: Vec<Vec<Value>> =
        events.iter().filter_map(|e| if let Event::Row(r) = e { Some(r.clone()) } else { None }).collect();
    match (columns, &rows[..]) {
        (Some(columns), [row]) => (columns, row.clone()),
        _ => panic!("{sql}: {events:?}"),
    }
}

/// Each expression's (type, value).
fn typed(s: &mut Session, expressions: &[&str]) -> Vec<(SqlType, Value)> {
    let (columns, row) = select(s, &format!("SELECT {}", expressions.join(", ")));
    columns.into_iter().map(|c| c.ty).zip(row).collect()
}

fn text(s: &str) -> Value {
    Value::Str(s.to_string())
}

#[test]
fn string_functions() {
    let mut s = session();
    let got = typed(
        &mut s,
        &[
            "LEN(N'abc  ')",
            "LEN(CAST('abc' AS varchar(max)))",
            "DATALENGTH(N'abc')",
            "SUBSTRING('abcdef', 2, 3)",
            "CHARINDEX('c', 'abcabc', 4)",
            "UPPER(N'mIx')",
            "REPLACE('a-b', '-', '+')",
            "REPLICATE('ab', 3)",
            "TRIM('  a  ')",
            "FORMAT(1234.5, 'N1')",
        ],
    );
    assert_eq!(
        got,
        [
            (SqlType::Int, Value::Int(3)),
            (SqlType::BigInt, Value::Int(3)),
            (SqlType::Int, Value::Int(6)),
            (SqlType::VarChar(Some(6)), text("bcd")),
            (SqlType::Int, Value::Int(6)),
            (SqlType::NVarChar(Some(3)), text("MIX")),
            // REPLACE of a non-max string is varchar(8000)
            (SqlType::VarChar(Some(8000)), text("a+b")),
            (SqlType::VarChar(Some(8000)), text("ababab")),
            (SqlType::VarChar(Some(5)), text("a")),
            // FORMAT is nvarchar(4000)
            (SqlType::NVarChar(Some(4000)), text("1,234.5")),
        ]
    );
    // CONCAT skips NULLs
    assert_eq!(select(&mut s, "SELECT CONCAT('a', NULL, 1, N'\u{e9}')").1, [text("a1\u{e9}")]);
}

#[test]
fn string_agg_types_and_order() {
    let mut s = session();
    execute_batch(&mut s, "CREATE TABLE #fn_agg (g int, n nvarchar(10), v varchar(10))");
    execute_batch(&mut s, "INSERT INTO #fn_agg VALUES (1, N'b', 'y'), (1, N'a', NULL), (1, NULL, 'x')");
    let got = typed_from(
        &mut s,
        "SELECT STRING_AGG(n, N';') WITHIN GROUP (ORDER BY n DESC), STRING_AGG(v, ',') WITHIN GROUP (ORDER BY v) \
         FROM #fn_agg",
    );
    // nvarchar(n <= 4000) aggregates to nvarchar(4000), varchar(n <= 8000) to varchar(8000); NULLs are skipped
    assert_eq!(got, [(SqlType::NVarChar(Some(4000)), text("b;a")), (SqlType::VarChar(Some(8000)), text("x,y"))]);
}

fn typed_from(s: &mut Session, sql: &str) -> Vec<(SqlType, Value)> {
    let (columns, row) = select(s, sql);
    columns.into_iter().map(|c| c.ty).zip(row).collect()
}

#[test]
fn null_and_case_functions() {
    let mut s = session();
    let got = typed(
        &mut s,
        &[
            "COALESCE(NULL, 1, 2.5)",
            "ISNULL(CAST(NULL AS int), 7)",
            "NULLIF(3, 3)",
            "IIF(1 < 2, 'yes', 'no')",
            "CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END",
        ],
    );
    assert_eq!(
        got,
        [
            (SqlType::Numeric { precision: 11, scale: 1 }, Value::Decimal(10, 1)),
            (SqlType::Int, Value::Int(7)),
            (SqlType::Int, Value::Null),
            (SqlType::VarChar(Some(3)), text("yes")),
            (SqlType::VarChar(Some(3)), text("two")),
        ]
    );
}

#[test]
fn date_functions() {
    let mut s = session();
    let got = typed(
        &mut s,
        &[
            "DATEDIFF(day, '2024-01-01', '2024-03-01')",
            "DATEPART(dayofyear, '2024-03-01')",
            "FORMAT(EOMONTH(CAST('2024-02-10' AS date)), 'yyyy-MM-dd')",
            "FORMAT(DATEADD(month, 1, CAST('2024-01-31' AS date)), 'd')",
            "DATENAME(weekday, '2024-02-09')",
        ],
    );
    assert_eq!(
        got,
        [
            (SqlType::Int, Value::Int(60)),
            (SqlType::Int, Value::Int(61)),
            (SqlType::NVarChar(Some(4000)), text("2024-02-29")),
            (SqlType::NVarChar(Some(4000)), text("2/29/2024")),
            (SqlType::NVarChar(Some(30)), text("Friday")),
        ]
    );
    // the current date and time functions' types
    let (columns, _) = select(
        &mut s,
        "SELECT GETDATE(), SYSDATETIME(), SYSUTCDATETIME(), SYSDATETIMEOFFSET(), NEWID(), EOMONTH(GETDATE())",
    );
    let types: Vec<SqlType> = columns.into_iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        [
            SqlType::DateTime,
            SqlType::DateTime2(7),
            SqlType::DateTime2(7),
            SqlType::DateTimeOffset(7),
            SqlType::UniqueIdentifier,
            SqlType::Date
        ]
    );
}

#[test]
fn math_functions() {
    let mut s = session();
    let got =
        typed(&mut s, &["ABS(-3)", "CEILING(1.25)", "FLOOR(-1.5)", "POWER(2, 10)", "SQRT(16)", "ROUND(2.567, 2)"]);
    assert_eq!(
        got,
        [
            (SqlType::Int, Value::Int(3)),
            (SqlType::Numeric { precision: 3, scale: 0 }, Value::Decimal(2, 0)),
            (SqlType::Numeric { precision: 2, scale: 0 }, Value::Decimal(-2, 0)),
            (SqlType::Int, Value::Int(1024)),
            (SqlType::Float, Value::Float(4.0)),
            (SqlType::Numeric { precision: 4, scale: 3 }, Value::Decimal(2570, 3)),
        ]
    );
    let (_, row) = select(&mut s, "SELECT RAND(7) - RAND(7), CASE WHEN RAND() BETWEEN 0 AND 1 THEN 1 END");
    assert_eq!(row, [Value::Float(0.0), Value::Int(1)]);
}

#[test]
fn server_property_is_a_sql_variant_of_its_base_type() {
    let mut s = session();
    let (columns, row) = select(
        &mut s,
        "SELECT SERVERPROPERTY('ProductVersion'), SERVERPROPERTY('EngineEdition'), SERVERPROPERTY('nope'), \
         SQL_VARIANT_PROPERTY(SERVERPROPERTY('ProductVersion'), 'BaseType'), \
         SQL_VARIANT_PROPERTY(SERVERPROPERTY('ProductVersion'), 'MaxLength'), \
         SQL_VARIANT_PROPERTY(CAST(1.5 AS decimal(9,2)), 'Scale')",
    );
    assert!(columns.iter().all(|c| c.ty == SqlType::SqlVariant && c.nullable), "{columns:?}");
    let Value::Variant(base, version) = &row[0] else { panic!("{row:?}") };
    // ProductVersion: nvarchar(128)
    assert_eq!(**base, SqlType::NVarChar(Some(128)));
    let Value::Str(version_text) = version.as_ref() else { panic!("{row:?}") };
    assert!(version_text.starts_with("16."), "{version_text}");
    assert_eq!(row[1], Value::Variant(Box::new(SqlType::Int), Box::new(Value::Int(3))));
    assert_eq!(row[2], Value::Null);
    assert_eq!(row[3], Value::Variant(Box::new(SqlType::NVarChar(Some(128))), Box::new(text("nvarchar"))));
    assert_eq!(row[4], Value::Variant(Box::new(SqlType::Int), Box::new(Value::Int(256))));
    assert_eq!(row[5], Value::Variant(Box::new(SqlType::Int), Box::new(Value::Int(2))));
    // on the wire (MS-TDS 2.2.5.5.4): length, base type NVARCHAR (0xE7), 7 property bytes (collation,
    // max length 256), the UTF-16 value
    let mut wire = Vec::new();
    write_value(&mut wire, &SqlType::SqlVariant, true, &row[0]).unwrap();
    let utf16: Vec<u8> = version_text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let mut expected = ((2 + 7 + utf16.len()) as u32).to_le_bytes().to_vec();
    expected.extend([0xE7, 7]);
    expected.extend(DEFAULT_COLLATION);
    expected.extend(256u16.to_le_bytes());
    expected.extend(utf16);
    assert_eq!(wire, expected);
}

#[test]
fn system_functions() {
    let mut s = session();
    let got = typed(&mut s, &["@@SPID", "@@TRANCOUNT", "@@ERROR", "DB_NAME()", "DB_ID('tempdb')", "SCHEMA_NAME()"]);
    assert_eq!(
        got,
        [
            (SqlType::SmallInt, Value::Int(53)),
            (SqlType::Int, Value::Int(0)),
            (SqlType::Int, Value::Int(0)),
            (SqlType::NVarChar(Some(128)), text("master")),
            (SqlType::Int, Value::Int(2)),
            (SqlType::NVarChar(Some(128)), text("dbo")),
        ]
    );
    let (columns, row) = select(&mut s, "SELECT @@VERSION");
    assert_eq!(columns[0].ty, SqlType::NVarChar(Some(300)));
    assert!(matches!(&row[0], Value::Str(v) if v.starts_with("Microsoft SQL Server 2022")), "{row:?}");
    let events = execute_batch(&mut s, "BEGIN TRAN; SELECT @@TRANCOUNT; ROLLBACK");
    assert!(events.iter().any(|e| *e == Event::Row(vec![Value::Int(1)])), "{events:?}");
}
