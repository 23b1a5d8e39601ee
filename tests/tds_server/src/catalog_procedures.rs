//! The catalog's system procedures that client libraries call: sp_tablecollations_100 (bulk
//! copy's collations of a table's columns), and the ODBC catalog functions' sp_columns,
//! sp_tables, sp_pkeys and sp_datatype_info (SQLColumns, SQLTables, SQLPrimaryKeys, SQLGetTypeInfo), with their _90 and
//! _100 forms. Types are described with the values SQL Server's spt_datatype_info table holds.

use crate::engine::{done, DoneKind, Event, RpcParam, Session};
use crate::sql::functions::{integer, text};
use crate::sql::like;
use crate::sql::parser::SqlError;
use crate::sql::system::{COLLATION_NAME, SYSNAME};
use crate::tables::catalog::{self, default_definition};
use crate::tokens::{CURCMD_SELECT, DONE_COUNT};
use crate::types::{ColumnDef, SqlType, DEFAULT_COLLATION};
use crate::value::Value;

/// The procedure a name names, without database and schema (`tempdb..sp_x`, `[sys].[sp_x]`).
fn bare_name(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).trim_matches(|c| c == '[' || c == ']').to_ascii_lowercase()
}

/// Runs the catalog procedure `name`, appending its result; `None` when it is none of them.
pub fn call(
    session: &mut Session,
    name: &str,
    params: &[RpcParam],
    events: &mut Vec<Event>,
) -> Option<Result<(), SqlError>> {
    let result = match bare_name(name).as_str() {
        "sp_tablecollations" | "sp_tablecollations_90" | "sp_tablecollations_100" => {
            table_collations(session, params, events)
        }
        "sp_columns" | "sp_columns_90" => columns(session, params, events, false),
        "sp_columns_100" => columns(session, params, events, true),
        "sp_tables" => tables(session, params, events),
        "sp_pkeys" => primary_keys(session, params, events),
        "sp_datatype_info" | "sp_datatype_info_90" => datatype_info(session, params, events, false),
        "sp_datatype_info_100" => datatype_info(session, params, events, true),
        _ => return None,
    };
    Some(result)
}

/// A parameter's text, by position or by name; `None` when it is missing or NULL.
fn text_param(params: &[RpcParam], position: usize, name: &str) -> Result<Option<String>, SqlError> {
    let param = params
        .iter()
        .find(|p| p.name.trim_start_matches('@').eq_ignore_ascii_case(name))
        .or_else(|| params.get(position).filter(|p| p.name.is_empty()));
    match param {
        None => Ok(None),
        Some(p) => text(&p.value, &p.ty),
    }
}

/// An integer parameter, by position or by name; `None` when it is missing or NULL.
fn int_param(params: &[RpcParam], position: usize, name: &str) -> Result<Option<i64>, SqlError> {
    let param = params
        .iter()
        .find(|p| p.name.trim_start_matches('@').eq_ignore_ascii_case(name))
        .or_else(|| params.get(position).filter(|p| p.name.is_empty()));
    match param {
        None => Ok(None),
        Some(p) => integer(crate::sql::eval::Typed { ty: p.ty.clone(), nullable: true, value: Ok(p.value.clone()) }),
    }
}

/// Whether a catalog name matches a procedure's name argument: a LIKE pattern with @fUsePattern
/// (the default), else equal; a missing argument matches everything.
fn name_matches(name: &str, pattern: Option<&str>, use_pattern: bool) -> bool {
    match pattern {
        None => true,
        Some(p) if use_pattern => like::matches(name, p, None),
        Some(p) => name.eq_ignore_ascii_case(p),
    }
}

fn column(name: &str, ty: SqlType, nullable: bool) -> ColumnDef {
    ColumnDef { name: name.to_string(), ty, nullable, updatable: false, identity: false, computed: false }
}

/// A result set and its DONEINPROC.
fn push_result(events: &mut Vec<Event>, columns: Vec<ColumnDef>, rows: Vec<Vec<Value>>, session: &Session) {
    let count = rows.len() as u64;
    let status =
        if session.options.get("NOCOUNT").is_some_and(|v| v.eq_ignore_ascii_case("ON")) { 0 } else { DONE_COUNT };
    events.push(Event::ColMetadata(columns));
    events.extend(rows.into_iter().map(Event::Row));
    events.push(done(DoneKind::DoneInProc, status, CURCMD_SELECT, count));
}

/// `sp_tablecollations_100 @object`: each column of the table with its collation, in TDS form
/// and by name (NULL for columns without one).
fn table_collations(session: &mut Session, params: &[RpcParam], events: &mut Vec<Event>) -> Result<(), SqlError> {
    let object = text_param(params, 0, "object")?.unwrap_or_default();
    let columns = vec![
        column("colid", SqlType::Int, false),
        column("name", SYSNAME, false),
        column("tds_collation", SqlType::Binary(5), true),
        column("collation", SYSNAME, true),
    ];
    let rows = match catalog::relation(session, &object)? {
        None => Vec::new(),
        Some(relation) => relation
            .columns
            .iter()
            .enumerate()
            .map(|(i, (name, ty, ..))| {
                let collated = ty.is_string();
                vec![
                    Value::Int(i as i64 + 1),
                    Value::Str(name.clone()),
                    if collated { Value::Bytes(DEFAULT_COLLATION.to_vec()) } else { Value::Null },
                    if collated { Value::Str(COLLATION_NAME.to_string()) } else { Value::Null },
                ]
            })
            .collect(),
    };
    push_result(events, columns, rows, session);
    Ok(())
}

/// A type as the ODBC catalog procedures describe it (a row of SQL Server's spt_datatype_info, for
/// ODBC 3), with the sizes of a column of that type.
struct OdbcType {
    type_name: String,
    data_type: i64,
    precision: Option<i64>,
    length: Option<i64>,
    scale: Option<i64>,
    radix: Option<i64>,
    sql_data_type: i64,
    datetime_sub: Option<i64>,
    octet_length: Option<i64>,
    ss_data_type: i64,
}

/// The ODBC description of a column of type `ty` (identity columns are `int identity` ...).
fn odbc_type(ty: &SqlType, identity: bool) -> OdbcType {
    let name = ty.name();
    // (DATA_TYPE, PRECISION, LENGTH, SCALE, RADIX, SQL_DATA_TYPE, SQL_DATETIME_SUB, SS_DATA_TYPE)
    let char_length = |n: Option<u16>, unit: i64| n.map_or((0, 0), |n| (n as i64, n as i64 * unit));
    let (data_type, precision, length, scale, radix, sql_data_type, datetime_sub, ss_data_type) = match ty {
        SqlType::Bit => (-7, 1, 1, None, None, -7, None, 50),
        SqlType::TinyInt => (-6, 3, 1, Some(0), Some(10), -6, None, if identity { 48 } else { 38 }),
        SqlType::SmallInt => (5, 5, 2, Some(0), Some(10), 5, None, if identity { 52 } else { 38 }),
        SqlType::Int => (4, 10, 4, Some(0), Some(10), 4, None, if identity { 56 } else { 38 }),
        SqlType::BigInt => (-5, 19, 8, Some(0), Some(10), -5, None, if identity { 63 } else { 108 }),
        SqlType::Decimal { precision, scale } => (
            3,
            *precision as i64,
            *precision as i64 + 2,
            Some(*scale as i64),
            Some(10),
            3,
            None,
            if identity { 55 } else { 106 },
        ),
        SqlType::Numeric { precision, scale } => (
            2,
            *precision as i64,
            *precision as i64 + 2,
            Some(*scale as i64),
            Some(10),
            2,
            None,
            if identity { 63 } else { 108 },
        ),
        SqlType::Money => (3, 19, 21, Some(4), Some(10), 3, None, 110),
        SqlType::SmallMoney => (3, 10, 12, Some(4), Some(10), 3, None, 110),
        SqlType::Float => (6, 53, 8, None, Some(2), 6, None, 109),
        SqlType::Real => (7, 24, 4, None, Some(2), 7, None, 109),
        SqlType::Char(n) => (1, *n as i64, *n as i64, None, None, 1, None, 39),
        SqlType::VarChar(n) => {
            let (p, l) = char_length(*n, 1);
            (12, p, l, None, None, 12, None, 39)
        }
        SqlType::NChar(n) => (-8, *n as i64, *n as i64 * 2, None, None, -8, None, 39),
        SqlType::NVarChar(n) => {
            let (p, l) = char_length(*n, 2);
            (-9, p, l, None, None, -9, None, 39)
        }
        SqlType::Text => (-1, 2_147_483_647, 2_147_483_647, None, None, -1, None, 35),
        SqlType::NText => (-10, 1_073_741_823, 2_147_483_646, None, None, -10, None, 35),
        SqlType::Binary(n) => (-2, *n as i64, *n as i64, None, None, -2, None, 37),
        SqlType::VarBinary(n) => {
            let (p, l) = char_length(*n, 1);
            (-3, p, l, None, None, -3, None, 37)
        }
        SqlType::Image => (-4, 2_147_483_647, 2_147_483_647, None, None, -4, None, 34),
        SqlType::Date => (91, 10, 6, None, None, 9, Some(1), 0),
        SqlType::Time(s) => {
            (-154, 8 + if *s > 0 { *s as i64 + 1 } else { 0 }, 12, Some(*s as i64), None, -154, Some(0), 0)
        }
        SqlType::DateTime2(s) => {
            (93, 19 + if *s > 0 { *s as i64 + 1 } else { 0 }, 16, Some(*s as i64), None, 9, Some(3), 0)
        }
        SqlType::DateTimeOffset(s) => {
            (-155, 26 + if *s > 0 { *s as i64 + 1 } else { 0 }, 20, Some(*s as i64), None, -155, Some(0), 0)
        }
        SqlType::DateTime => (93, 23, 16, Some(3), None, 9, Some(3), 111),
        SqlType::SmallDateTime => (93, 16, 16, Some(0), None, 9, Some(3), 111),
        SqlType::UniqueIdentifier => (-11, 36, 16, None, None, -11, None, 37),
        SqlType::Xml => (-152, 0, 0, None, None, -152, None, 0),
        SqlType::SqlVariant | SqlType::Null => (-150, 8000, 8000, Some(0), Some(10), -150, None, 39),
    };
    let octet_length = match ty {
        SqlType::Xml => Some(0),
        SqlType::SqlVariant => Some(8000),
        t if t.is_string() || t.is_binary() => Some(length),
        _ => None,
    };
    OdbcType {
        type_name: if identity { format!("{name} identity") } else { name.to_string() },
        data_type,
        precision: Some(precision),
        length: Some(length),
        scale,
        radix,
        sql_data_type,
        datetime_sub,
        octet_length,
        ss_data_type,
    }
}

fn opt(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Int)
}

fn str_or_null(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::Str(s.to_string()))
}

/// `sp_columns[_100] @table_name, @table_owner, @table_qualifier, @column_name, @ODBCVer, @fUsePattern`
/// (SQLColumns): each column of the matching tables and views, ordered by table and position.
fn columns(
    session: &mut Session,
    params: &[RpcParam],
    events: &mut Vec<Event>,
    with_100: bool,
) -> Result<(), SqlError> {
    let table = text_param(params, 0, "table_name")?;
    let owner = text_param(params, 1, "table_owner")?;
    let qualifier = text_param(params, 2, "table_qualifier")?;
    let column_name = text_param(params, 3, "column_name")?;
    let use_pattern = int_param(params, 5, "fUsePattern")?.is_none_or(|p| p != 0);
    let mut result = vec![
        column("TABLE_QUALIFIER", SYSNAME, true),
        column("TABLE_OWNER", SYSNAME, true),
        column("TABLE_NAME", SYSNAME, true),
        column("COLUMN_NAME", SYSNAME, true),
        column("DATA_TYPE", SqlType::SmallInt, true),
        column("TYPE_NAME", SYSNAME, true),
        column("PRECISION", SqlType::Int, true),
        column("LENGTH", SqlType::Int, true),
        column("SCALE", SqlType::SmallInt, true),
        column("RADIX", SqlType::SmallInt, true),
        column("NULLABLE", SqlType::SmallInt, true),
        column("REMARKS", SqlType::VarChar(Some(254)), true),
        column("COLUMN_DEF", SqlType::NVarChar(Some(4000)), true),
        column("SQL_DATA_TYPE", SqlType::SmallInt, true),
        column("SQL_DATETIME_SUB", SqlType::SmallInt, true),
        column("CHAR_OCTET_LENGTH", SqlType::Int, true),
        column("ORDINAL_POSITION", SqlType::Int, true),
        column("IS_NULLABLE", SqlType::VarChar(Some(254)), true),
    ];
    if with_100 {
        result.extend([
            column("SS_IS_SPARSE", SqlType::SmallInt, true),
            column("SS_IS_COLUMN_SET", SqlType::SmallInt, true),
            column("SS_IS_COMPUTED", SqlType::SmallInt, true),
            column("SS_IS_IDENTITY", SqlType::SmallInt, true),
            column("SS_UDT_CATALOG_NAME", SqlType::NVarChar(Some(128)), true),
            column("SS_UDT_SCHEMA_NAME", SqlType::NVarChar(Some(128)), true),
            column("SS_UDT_ASSEMBLY_TYPE_NAME", SqlType::NVarChar(None), true),
            column("SS_XML_SCHEMACOLLECTION_CATALOG_NAME", SqlType::NVarChar(Some(128)), true),
            column("SS_XML_SCHEMACOLLECTION_SCHEMA_NAME", SqlType::NVarChar(Some(128)), true),
            column("SS_XML_SCHEMACOLLECTION_NAME", SqlType::NVarChar(Some(128)), true),
        ]);
    }
    result.push(column("SS_DATA_TYPE", SqlType::TinyInt, true));
    let database = session.database.clone();
    let in_scope = name_matches("dbo", owner.as_deref(), use_pattern)
        && name_matches(&database, qualifier.as_deref(), use_pattern);
    let mut relations = if in_scope {
        catalog::relations(session, |n| !n.starts_with('#') && name_matches(n, table.as_deref(), use_pattern))?
    } else {
        Vec::new()
    };
    relations.sort_by_key(|r| r.name.to_lowercase());
    let mut rows = Vec::new();
    for relation in relations {
        for (i, (name, ty, nullable, identity, default)) in relation.columns.iter().enumerate() {
            if !name_matches(name, column_name.as_deref(), use_pattern) {
                continue;
            }
            let t = odbc_type(ty, *identity);
            let mut row = vec![
                Value::Str(database.clone()),
                Value::Str("dbo".to_string()),
                Value::Str(relation.name.clone()),
                Value::Str(name.clone()),
                Value::Int(t.data_type),
                Value::Str(t.type_name),
                opt(t.precision),
                opt(t.length),
                opt(t.scale),
                opt(t.radix),
                Value::Int(*nullable as i64),
                Value::Null,
                str_or_null(default.as_deref().map(default_definition).as_deref()),
                Value::Int(t.sql_data_type),
                opt(t.datetime_sub),
                opt(t.octet_length),
                Value::Int(i as i64 + 1),
                Value::Str(if *nullable { "YES" } else { "NO" }.to_string()),
            ];
            if with_100 {
                row.extend([Value::Int(0), Value::Int(0), Value::Int(0), Value::Int(*identity as i64)]);
                row.extend(std::iter::repeat_n(Value::Null, 6));
            }
            row.push(Value::Int(t.ss_data_type));
            rows.push(row);
        }
    }
    push_result(events, result, rows, session);
    Ok(())
}

/// `sp_tables @table_name, @table_owner, @table_qualifier, @table_type, @fUsePattern` (SQLTables):
/// the matching tables ('TABLE'), views ('VIEW') and catalog views ('SYSTEM TABLE').
fn tables(session: &mut Session, params: &[RpcParam], events: &mut Vec<Event>) -> Result<(), SqlError> {
    let table = text_param(params, 0, "table_name")?;
    let owner = text_param(params, 1, "table_owner")?;
    let qualifier = text_param(params, 2, "table_qualifier")?;
    let types = text_param(params, 3, "table_type")?;
    let use_pattern = int_param(params, 4, "fUsePattern")?.is_none_or(|p| p != 0);
    let columns = vec![
        column("TABLE_QUALIFIER", SYSNAME, true),
        column("TABLE_OWNER", SYSNAME, true),
        column("TABLE_NAME", SYSNAME, true),
        column("TABLE_TYPE", SqlType::VarChar(Some(32)), true),
        column("REMARKS", SqlType::VarChar(Some(254)), true),
    ];
    // @table_type is a list of quoted types: 'TABLE','VIEW'
    let wanted = |kind: &str| types.as_deref().is_none_or(|t| t.to_ascii_uppercase().contains(&format!("'{kind}'")));
    let database = session.database.clone();
    let mut rows: Vec<Vec<Value>> = Vec::new();
    if name_matches(&database, qualifier.as_deref(), use_pattern) {
        let mut listed: Vec<(String, String, &str)> = Vec::new();
        if name_matches("dbo", owner.as_deref(), use_pattern) {
            for r in
                catalog::relations(session, |n| !n.starts_with('#') && name_matches(n, table.as_deref(), use_pattern))?
            {
                listed.push(("dbo".to_string(), r.name, if r.view { "VIEW" } else { "TABLE" }));
            }
        }
        for (schema, view) in catalog::system_view_names() {
            if name_matches(schema, owner.as_deref(), use_pattern) && name_matches(view, table.as_deref(), use_pattern)
            {
                listed.push((schema.to_string(), view.to_string(), "SYSTEM TABLE"));
            }
        }
        listed.retain(|(_, _, kind)| wanted(kind));
        // SQL Server orders by TABLE_TYPE, TABLE_QUALIFIER, TABLE_OWNER, TABLE_NAME
        listed.sort_by(|a, b| {
            (a.2, a.0.to_lowercase(), a.1.to_lowercase()).cmp(&(b.2, b.0.to_lowercase(), b.1.to_lowercase()))
        });
        rows = listed
            .into_iter()
            .map(|(schema, name, kind)| {
                vec![
                    Value::Str(database.clone()),
                    Value::Str(schema),
                    Value::Str(name),
                    Value::Str(kind.to_string()),
                    Value::Null,
                ]
            })
            .collect();
    }
    push_result(events, columns, rows, session);
    Ok(())
}

/// `sp_pkeys @table_name, @table_owner, @table_qualifier` (SQLPrimaryKeys): the table's primary
/// key columns by KEY_SEQ. The names are not patterns.
fn primary_keys(session: &mut Session, params: &[RpcParam], events: &mut Vec<Event>) -> Result<(), SqlError> {
    let table = text_param(params, 0, "table_name")?;
    let owner = text_param(params, 1, "table_owner")?;
    let qualifier = text_param(params, 2, "table_qualifier")?;
    let columns = vec![
        column("TABLE_QUALIFIER", SYSNAME, true),
        column("TABLE_OWNER", SYSNAME, true),
        column("TABLE_NAME", SYSNAME, false),
        column("COLUMN_NAME", SYSNAME, false),
        column("KEY_SEQ", SqlType::SmallInt, true),
        column("PK_NAME", SYSNAME, true),
    ];
    let database = session.database.clone();
    let mut rows = Vec::new();
    if let Some(table) = table {
        if name_matches(&database, qualifier.as_deref(), false) && name_matches("dbo", owner.as_deref(), false) {
            for (name, key, key_columns) in catalog::primary_keys(session, |n| n.eq_ignore_ascii_case(&table))? {
                for (seq, c) in key_columns.into_iter().enumerate() {
                    rows.push(vec![
                        Value::Str(database.clone()),
                        Value::Str("dbo".to_string()),
                        Value::Str(name.clone()),
                        Value::Str(c),
                        Value::Int(seq as i64 + 1),
                        Value::Str(key.clone()),
                    ]);
                }
            }
        }
    }
    push_result(events, columns, rows, session);
    Ok(())
}

/// `sp_datatype_info[_100] @data_type, @ODBCVer` (SQLGetTypeInfo): the rows of SQL Server's
/// spt_datatype_info for `@data_type` (all of them for 0), ordered by DATA_TYPE.
fn datatype_info(
    session: &mut Session,
    params: &[RpcParam],
    events: &mut Vec<Event>,
    with_100: bool,
) -> Result<(), SqlError> {
    let wanted = int_param(params, 0, "data_type")?.unwrap_or(0);
    let odbc3 = int_param(params, 1, "ODBCVer")?.unwrap_or(2) >= 3;
    let columns = vec![
        column("TYPE_NAME", SYSNAME, false),
        column("DATA_TYPE", SqlType::SmallInt, true),
        column("PRECISION", SqlType::Int, true),
        column("LITERAL_PREFIX", SqlType::VarChar(Some(32)), true),
        column("LITERAL_SUFFIX", SqlType::VarChar(Some(32)), true),
        column("CREATE_PARAMS", SqlType::VarChar(Some(32)), true),
        column("NULLABLE", SqlType::SmallInt, true),
        column("CASE_SENSITIVE", SqlType::SmallInt, true),
        column("SEARCHABLE", SqlType::SmallInt, true),
        column("UNSIGNED_ATTRIBUTE", SqlType::SmallInt, true),
        column("MONEY", SqlType::SmallInt, true),
        column("AUTO_INCREMENT", SqlType::SmallInt, true),
        column("LOCAL_TYPE_NAME", SYSNAME, true),
        column("MINIMUM_SCALE", SqlType::SmallInt, true),
        column("MAXIMUM_SCALE", SqlType::SmallInt, true),
        column("SQL_DATA_TYPE", SqlType::SmallInt, true),
        column("SQL_DATETIME_SUB", SqlType::SmallInt, true),
        column("NUM_PREC_RADIX", SqlType::Int, true),
        column("INTERVAL_PRECISION", SqlType::SmallInt, true),
        column("USERTYPE", SqlType::SmallInt, true),
    ];
    let mut rows: Vec<(i64, i64, i64, i64, Vec<Value>)> = DATATYPE_INFO
        .iter()
        .filter(|d| with_100 || !d.since_100)
        .map(|d| {
            // ODBC 2 knows the date and time types by their old codes
            let data_type = match (odbc3, d.data_type) {
                (false, 91) => 9,
                (false, 93) => 11,
                (_, t) => t,
            };
            let (sql_data_type, datetime_sub) =
                if odbc3 { (d.sql_data_type, d.datetime_sub) } else { (data_type, None) };
            let row = vec![
                Value::Str(d.name.to_string()),
                Value::Int(data_type),
                Value::Int(d.precision),
                str_or_null(d.prefix),
                str_or_null(d.suffix),
                str_or_null(d.create_params),
                Value::Int(d.nullable as i64),
                Value::Int(d.case_sensitive as i64),
                Value::Int(d.searchable),
                opt(d.unsigned.map(i64::from)),
                Value::Int(d.money as i64),
                opt(d.auto_increment.map(i64::from)),
                Value::Str(d.name.to_string()),
                opt(d.minimum_scale),
                opt(d.maximum_scale),
                Value::Int(sql_data_type),
                opt(datetime_sub),
                opt(d.radix),
                Value::Null,
                Value::Int(d.usertype),
            ];
            (data_type, d.auto_increment.unwrap_or(false) as i64, d.money as i64, d.usertype, row)
        })
        .filter(|(data_type, ..)| wanted == 0 || *data_type == wanted)
        .collect();
    rows.sort_by_key(|(data_type, auto, money, usertype, _)| (*data_type, *auto, *money, *usertype));
    push_result(events, columns, rows.into_iter().map(|(.., row)| row).collect(), session);
    Ok(())
}

/// A row of SQL Server's spt_datatype_info (ODBC 3 codes).
struct DatatypeInfo {
    name: &'static str,
    data_type: i64,
    precision: i64,
    prefix: Option<&'static str>,
    suffix: Option<&'static str>,
    create_params: Option<&'static str>,
    nullable: bool,
    case_sensitive: bool,
    searchable: i64,
    unsigned: Option<bool>,
    money: bool,
    auto_increment: Option<bool>,
    minimum_scale: Option<i64>,
    maximum_scale: Option<i64>,
    sql_data_type: i64,
    datetime_sub: Option<i64>,
    radix: Option<i64>,
    usertype: i64,
    /// Listed by the _100 procedure only (the date and time types of SQL Server 2008)
    since_100: bool,
}

macro_rules! datatype {
    ($name:expr, $dt:expr, $prec:expr, $pre:expr, $suf:expr, $cp:expr, $null:expr, $cs:expr, $search:expr, $uns:expr, $money:expr, $auto:expr, $min:expr, $max:expr, $sdt:expr, $sub:expr, $radix:expr, $user:expr, $since:expr) => {
        DatatypeInfo {
            name: $name,
            data_type: $dt,
            precision: $prec,
            prefix: $pre,
            suffix: $suf,
            create_params: $cp,
            nullable: $null,
            case_sensitive: $cs,
            searchable: $search,
            unsigned: $uns,
            money: $money,
            auto_increment: $auto,
            minimum_scale: $min,
            maximum_scale: $max,
            sql_data_type: $sdt,
            datetime_sub: $sub,
            radix: $radix,
            usertype: $user,
            since_100: $since,
        }
    };
}

const Q: Option<&str> = Some("'");
const NQ: Option<&str> = Some("N'");
const HEX: Option<&str> = Some("0x");

// (name, DATA_TYPE, PRECISION, LITERAL_PREFIX, LITERAL_SUFFIX, CREATE_PARAMS, NULLABLE, CASE_SENSITIVE,
//  SEARCHABLE, UNSIGNED_ATTRIBUTE, MONEY, AUTO_INCREMENT, MINIMUM_SCALE, MAXIMUM_SCALE, SQL_DATA_TYPE,
//  SQL_DATETIME_SUB, NUM_PREC_RADIX, USERTYPE, only in the _100 procedures)
#[rustfmt::skip]
const DATATYPE_INFO: &[DatatypeInfo] = &[
    datatype!("datetimeoffset", -155, 34, Q, Q, Some("scale"), true, false, 3, None, false, None, Some(0), Some(7), -155, Some(0), None, 0, true),
    datatype!("time", -154, 16, Q, Q, Some("scale"), true, false, 3, None, false, None, Some(0), Some(7), -154, Some(0), None, 0, true),
    datatype!("xml", -152, 0, NQ, Q, None, true, true, 0, None, false, None, None, None, -152, None, None, 0, false),
    datatype!("sql_variant", -150, 8000, None, None, None, true, false, 2, None, false, None, Some(0), Some(0), -150, None, Some(10), 0, false),
    datatype!("uniqueidentifier", -11, 36, Q, Q, None, true, false, 2, None, false, None, None, None, -11, None, None, 0, false),
    datatype!("ntext", -10, 1_073_741_823, NQ, Q, None, true, true, 1, None, false, None, None, None, -10, None, None, 0, false),
    datatype!("nvarchar", -9, 4000, NQ, Q, Some("max length"), true, true, 3, None, false, None, None, None, -9, None, None, 0, false),
    datatype!("sysname", -9, 128, NQ, Q, None, false, true, 3, None, false, None, None, None, -9, None, None, 18, false),
    datatype!("nchar", -8, 4000, NQ, Q, Some("length"), true, true, 3, None, false, None, None, None, -8, None, None, 0, false),
    datatype!("bit", -7, 1, None, None, None, true, false, 2, None, false, None, Some(0), Some(0), -7, None, None, 16, false),
    datatype!("tinyint", -6, 3, None, None, None, true, false, 2, Some(true), false, Some(false), Some(0), Some(0), -6, None, Some(10), 5, false),
    datatype!("tinyint identity", -6, 3, None, None, None, false, false, 2, Some(true), false, Some(true), Some(0), Some(0), -6, None, Some(10), 5, false),
    datatype!("bigint", -5, 19, None, None, None, true, false, 2, Some(false), false, Some(false), Some(0), Some(0), -5, None, Some(10), 0, false),
    datatype!("bigint identity", -5, 19, None, None, None, false, false, 2, Some(false), false, Some(true), Some(0), Some(0), -5, None, Some(10), 0, false),
    datatype!("image", -4, 2_147_483_647, HEX, None, None, true, false, 0, None, false, None, None, None, -4, None, None, 20, false),
    datatype!("varbinary", -3, 8000, HEX, None, Some("max length"), true, false, 2, None, false, None, None, None, -3, None, None, 4, false),
    datatype!("binary", -2, 8000, HEX, None, Some("length"), true, false, 2, None, false, None, None, None, -2, None, None, 3, false),
    datatype!("timestamp", -2, 8, HEX, None, None, false, false, 2, None, false, None, None, None, -2, None, None, 80, false),
    datatype!("text", -1, 2_147_483_647, Q, Q, None, true, true, 1, None, false, None, None, None, -1, None, None, 19, false),
    datatype!("char", 1, 8000, Q, Q, Some("length"), true, true, 3, None, false, None, None, None, 1, None, None, 1, false),
    datatype!("numeric", 2, 38, None, None, Some("precision,scale"), true, false, 2, Some(false), false, Some(false), Some(0), Some(38), 2, None, Some(10), 10, false),
    datatype!("numeric() identity", 2, 38, None, None, Some("precision"), false, false, 2, Some(false), false, Some(true), Some(0), Some(0), 2, None, Some(10), 10, false),
    datatype!("decimal", 3, 38, None, None, Some("precision,scale"), true, false, 2, Some(false), false, Some(false), Some(0), Some(38), 3, None, Some(10), 24, false),
    datatype!("money", 3, 19, Some("$"), None, None, true, false, 2, Some(false), true, Some(false), Some(4), Some(4), 3, None, Some(10), 11, false),
    datatype!("smallmoney", 3, 10, Some("$"), None, None, true, false, 2, Some(false), true, Some(false), Some(4), Some(4), 3, None, Some(10), 21, false),
    datatype!("decimal() identity", 3, 38, None, None, Some("precision"), false, false, 2, Some(false), false, Some(true), Some(0), Some(0), 3, None, Some(10), 24, false),
    datatype!("int", 4, 10, None, None, None, true, false, 2, Some(false), false, Some(false), Some(0), Some(0), 4, None, Some(10), 7, false),
    datatype!("int identity", 4, 10, None, None, None, false, false, 2, Some(false), false, Some(true), Some(0), Some(0), 4, None, Some(10), 7, false),
    datatype!("smallint", 5, 5, None, None, None, true, false, 2, Some(false), false, Some(false), Some(0), Some(0), 5, None, Some(10), 6, false),
    datatype!("smallint identity", 5, 5, None, None, None, false, false, 2, Some(false), false, Some(true), Some(0), Some(0), 5, None, Some(10), 6, false),
    datatype!("float", 6, 53, None, None, None, true, false, 2, Some(false), false, Some(false), None, None, 6, None, Some(2), 8, false),
    datatype!("real", 7, 24, None, None, None, true, false, 2, Some(false), false, Some(false), None, None, 7, None, Some(2), 23, false),
    datatype!("varchar", 12, 8000, Q, Q, Some("max length"), true, true, 3, None, false, None, None, None, 12, None, None, 2, false),
    datatype!("date", 91, 10, Q, Q, None, true, false, 3, None, false, None, None, Some(0), 9, Some(1), None, 0, true),
    datatype!("datetime2", 93, 27, Q, Q, Some("scale"), true, false, 3, None, false, None, Some(0), Some(7), 9, Some(3), None, 0, true),
    datatype!("datetime", 93, 23, Q, Q, None, true, false, 3, None, false, None, Some(3), Some(3), 9, Some(3), None, 12, false),
    datatype!("smalldatetime", 93, 16, Q, Q, None, true, false, 3, None, false, None, Some(0), Some(0), 9, Some(3), None, 22, false),
];
