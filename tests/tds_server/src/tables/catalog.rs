//! The catalog as SQL Server shows it: object ids and names (OBJECT_ID, OBJECT_NAME, OBJECTPROPERTY,
//! COLUMNPROPERTY ...) and the catalog views that tools read (sys.objects, sys.tables, sys.columns,
//! sys.types, sys.schemas, sys.indexes ... and INFORMATION_SCHEMA.TABLES, COLUMNS ...), built from
//! the store's tables, keys, indexes and modules. Every object is in schema dbo; #temp tables are
//! in tempdb under SQL Server's padded internal names, with negative object ids.

use sqlparser::ast;

use super::modules::{self, Module, ModuleKind};
use super::query::{run_query, Context};
use super::store::{KeyKind, Store, Table};
use crate::calendar::{days_from_civil, DAYS_TO_1900};
use crate::engine::Session;
use crate::sql::eval::{Typed, Variables};
use crate::sql::functions::{arguments, integer, text};
use crate::sql::parser::SqlError;
use crate::sql::system::{COLLATION_NAME, SCHEMAS, SYSNAME};
use crate::types::{ColumnDef, SqlType};
use crate::value::Value;

/// The catalog functions.
pub const FUNCTIONS: &[&str] = &[
    "OBJECT_ID",
    "OBJECT_NAME",
    "OBJECT_SCHEMA_NAME",
    "OBJECTPROPERTY",
    "COLUMNPROPERTY",
    "COL_NAME",
    "COL_LENGTH",
    "TYPE_NAME",
    "TYPE_ID",
    "OBJECT_DEFINITION",
];

const DBO: i32 = 1;
const INFORMATION_SCHEMA: i32 = 3;
const SYS: i32 = 4;

/// What kind of object a catalog entry is (sys.objects.type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    UserTable,
    View,
    Procedure,
    PrimaryKey,
    Unique,
    Default,
    SystemView,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::UserTable => "U",
            Kind::View | Kind::SystemView => "V",
            Kind::Procedure => "P",
            Kind::PrimaryKey => "PK",
            Kind::Unique => "UQ",
            Kind::Default => "D",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Kind::UserTable => "USER_TABLE",
            Kind::View | Kind::SystemView => "VIEW",
            Kind::Procedure => "SQL_STORED_PROCEDURE",
            Kind::PrimaryKey => "PRIMARY_KEY_CONSTRAINT",
            Kind::Unique => "UNIQUE_CONSTRAINT",
            Kind::Default => "DEFAULT_CONSTRAINT",
        }
    }
}

/// One object of the catalog.
struct Object {
    id: i32,
    /// As sys.objects shows it (a #temp table's padded internal name)
    name: String,
    /// As statements name it (`#t` for a #temp table)
    given_name: String,
    schema_id: i32,
    kind: Kind,
    parent_id: i32,
    temp: bool,
    /// The table of a table, key or default (an index into `Snapshot::tables`)
    table: Option<usize>,
    /// The key of a PRIMARY KEY or UNIQUE object, the column of a DEFAULT one
    member: Option<usize>,
    /// The module of a view or procedure (an index into `Snapshot::modules`)
    module: Option<usize>,
    /// The system view of a system view (an index into `SYSTEM_VIEWS`)
    system_view: Option<usize>,
}

/// A table or view with its columns as the catalog lists them.
struct Relation {
    id: i32,
    columns: Vec<RelationColumn>,
    /// The table behind a user table (views have none)
    table: Option<Table>,
    identity: Option<(i64, i64)>,
}

struct RelationColumn {
    name: String,
    ty: SqlType,
    nullable: bool,
    identity: bool,
    /// The object id of its DEFAULT constraint, 0 without one
    default_object: i32,
    default_sql: Option<String>,
}

/// Everything the catalog shows, read from the store at one moment.
struct Snapshot {
    objects: Vec<Object>,
    tables: Vec<Relation>,
    modules: Vec<Module>,
}

/// A stable object id for a name: user objects positive, #temp objects negative, none of them in
/// the small negative range of the system views.
fn object_id(kind: &str, name: &str, temp: bool) -> i32 {
    // FNV-1a over the kind and the case-folded name
    let mut h: u32 = 0x811C_9DC5;
    for b in kind.bytes().chain(name.to_lowercase().bytes()) {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    let id = 1_000_000 + (h % 2_000_000_000) as i32;
    if temp {
        -id
    } else {
        id
    }
}

/// The name SQL Server gives a #temp table in tempdb: padded with underscores to 116 characters
/// and a 12-digit hexadecimal suffix.
fn internal_temp_name(name: &str, id: i32) -> String {
    let padding = 116usize.saturating_sub(name.chars().count());
    format!("{name}{}{:012X}", "_".repeat(padding), id.unsigned_abs())
}

fn snapshot(session: &Session) -> Result<Snapshot, SqlError> {
    let store = open_store(session)?;
    let mut snapshot = Snapshot { objects: Vec::new(), tables: Vec::new(), modules: store.modules()? };
    for temp in [false, true] {
        for name in store.table_names(temp)? {
            let Some(table) = store.table(&name)? else {
                continue;
            };
            add_table(&mut snapshot, store, table, temp)?;
        }
    }
    for index in 0..snapshot.modules.len() {
        let module = &snapshot.modules[index];
        let (kind, code) = match module.kind {
            ModuleKind::View => (Kind::View, "V"),
            ModuleKind::Procedure => (Kind::Procedure, "P"),
        };
        let id = object_id(code, &module.name, false);
        snapshot.objects.push(Object {
            id,
            name: module.name.clone(),
            given_name: module.name.clone(),
            schema_id: DBO,
            kind,
            parent_id: 0,
            temp: false,
            table: None,
            member: None,
            module: Some(index),
            system_view: None,
        });
        if kind == Kind::View {
            let columns = view_columns(session, &module.name).unwrap_or_default();
            let columns = columns
                .into_iter()
                .map(|c| RelationColumn {
                    name: c.name,
                    ty: c.ty,
                    nullable: c.nullable,
                    identity: false,
                    default_object: 0,
                    default_sql: None,
                })
                .collect();
            snapshot.tables.push(Relation { id, columns, table: None, identity: None });
            snapshot.objects.last_mut().expect("just pushed").table = Some(snapshot.tables.len() - 1);
        }
    }
    for (index, view) in SYSTEM_VIEWS.iter().enumerate() {
        snapshot.objects.push(Object {
            id: -100 - index as i32,
            name: view.name.to_string(),
            given_name: view.name.to_string(),
            schema_id: view.schema,
            kind: Kind::SystemView,
            parent_id: 0,
            temp: false,
            table: None,
            member: None,
            module: None,
            system_view: Some(index),
        });
    }
    Ok(snapshot)
}

fn open_store(session: &Session) -> Result<&Store, SqlError> {
    session.store.as_ref().ok_or_else(|| SqlError::not_supported("The catalog before the store opens"))
}

/// A view's columns, typed by running its query.
fn view_columns(session: &Session, name: &str) -> Result<Vec<ColumnDef>, SqlError> {
    let Some(view) = modules::view(open_store(session)?, name)? else {
        return Ok(Vec::new());
    };
    let variables = Variables::new();
    Ok(run_query(&Context::new(session, &variables), &view.query)?.columns)
}

fn add_table(snapshot: &mut Snapshot, store: &Store, table: Table, temp: bool) -> Result<(), SqlError> {
    let id = object_id("U", &table.name, temp);
    let name = if temp { internal_temp_name(&table.name, id) } else { table.name.clone() };
    let index = snapshot.tables.len();
    let object =
        |id: i32, name: String, given_name: String, kind: Kind, parent_id: i32, member: Option<usize>| Object {
            id,
            name,
            given_name,
            schema_id: DBO,
            kind,
            parent_id,
            temp,
            table: Some(index),
            member,
            module: None,
            system_view: None,
        };
    snapshot.objects.push(object(id, name, table.name.clone(), Kind::UserTable, 0, None));
    for (k, key) in table.constraints.iter().enumerate() {
        let kind = match key.kind {
            KeyKind::PrimaryKey => Kind::PrimaryKey,
            KeyKind::Unique => Kind::Unique,
            KeyKind::UniqueIndex | KeyKind::Index => continue,
        };
        let key_id = object_id(kind.code(), &format!("{}.{}", table.name, key.name), temp);
        snapshot.objects.push(object(key_id, key.name.clone(), key.name.clone(), kind, id, Some(k)));
    }
    let mut columns = Vec::new();
    for (c, column) in table.columns.iter().enumerate() {
        let mut default_object = 0;
        if column.default_sql.is_some() {
            let constraint = default_constraint_name(&table.name, &column.name);
            default_object = object_id("D", &format!("{}.{}", table.name, column.name), temp);
            snapshot.objects.push(object(default_object, constraint.clone(), constraint, Kind::Default, id, Some(c)));
        }
        columns.push(RelationColumn {
            name: column.name.clone(),
            ty: column.ty.clone(),
            nullable: column.nullable,
            identity: column.identity,
            default_object,
            default_sql: column.default_sql.clone(),
        });
    }
    let identity = store.identity(&table)?;
    snapshot.tables.push(Relation { id, columns, table: Some(table), identity });
    Ok(())
}

/// A DEFAULT's definition as SQL Server keeps it: in parentheses, a number in two (`((0))`).
pub fn default_definition(sql: &str) -> String {
    let number = sql.trim_start_matches('-').chars().all(|c| c.is_ascii_digit() || c == '.') && !sql.is_empty();
    if number {
        format!("(({sql}))")
    } else {
        format!("({sql})")
    }
}

/// The name SQL Server gives an unnamed DEFAULT constraint: DF__table__column__<hex>.
fn default_constraint_name(table: &str, column: &str) -> String {
    let short = |s: &str| s.trim_start_matches('#').chars().take(9).collect::<String>();
    let id = object_id("DF", &format!("{table}.{column}"), false);
    format!("DF__{}__{}__{:08X}", short(table), short(column), id as u32)
}

/// Where a catalog view is read: in tempdb it shows the #temp tables, elsewhere the others.
struct Place {
    database: String,
    tempdb: bool,
    /// sys.all_objects and sys.all_columns: with the system views
    with_system: bool,
}

impl Place {
    fn shows(&self, o: &Object) -> bool {
        match o.kind {
            Kind::SystemView => self.with_system,
            _ => o.temp == self.tempdb,
        }
    }
}

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// A type as sys.types and sys.columns describe it.
pub(crate) struct TypeInfo {
    pub(crate) name: &'static str,
    pub(crate) system_type_id: i32,
    pub(crate) user_type_id: i32,
    pub(crate) max_length: i32,
    pub(crate) precision: i32,
    pub(crate) scale: i32,
}

pub(crate) fn type_info(ty: &SqlType) -> TypeInfo {
    let t = |name, id, max_length, precision, scale| TypeInfo {
        name,
        system_type_id: id,
        user_type_id: id,
        max_length,
        precision,
        scale,
    };
    let time_length = |s: u8| match s {
        0..=2 => 3,
        3..=4 => 4,
        _ => 5,
    };
    let digits = |s: u8| if s == 0 { 0 } else { s as i32 + 1 };
    let var = |n: &Option<u16>, unit: i32| n.map_or(-1, |n| n as i32 * unit);
    match ty {
        SqlType::Image => t("image", 34, 16, 0, 0),
        SqlType::Text => t("text", 35, 16, 0, 0),
        SqlType::UniqueIdentifier => t("uniqueidentifier", 36, 16, 0, 0),
        SqlType::Date => t("date", 40, 3, 10, 0),
        SqlType::Time(s) => t("time", 41, time_length(*s), 8 + digits(*s), *s as i32),
        SqlType::DateTime2(s) => t("datetime2", 42, time_length(*s) + 3, 19 + digits(*s), *s as i32),
        SqlType::DateTimeOffset(s) => t("datetimeoffset", 43, time_length(*s) + 5, 26 + digits(*s), *s as i32),
        SqlType::TinyInt => t("tinyint", 48, 1, 3, 0),
        SqlType::SmallInt => t("smallint", 52, 2, 5, 0),
        SqlType::Int => t("int", 56, 4, 10, 0),
        SqlType::SmallDateTime => t("smalldatetime", 58, 4, 16, 0),
        SqlType::Real => t("real", 59, 4, 24, 0),
        SqlType::Money => t("money", 60, 8, 19, 4),
        SqlType::DateTime => t("datetime", 61, 8, 23, 3),
        SqlType::Float => t("float", 62, 8, 53, 0),
        SqlType::SqlVariant => t("sql_variant", 98, 8016, 0, 0),
        SqlType::NText => t("ntext", 99, 16, 0, 0),
        SqlType::Bit => t("bit", 104, 1, 1, 0),
        SqlType::Decimal { precision, scale } | SqlType::Numeric { precision, scale } => {
            let length = match precision {
                1..=9 => 5,
                10..=19 => 9,
                20..=28 => 13,
                _ => 17,
            };
            let (name, id) = if matches!(ty, SqlType::Decimal { .. }) { ("decimal", 106) } else { ("numeric", 108) };
            t(name, id, length, *precision as i32, *scale as i32)
        }
        SqlType::SmallMoney => t("smallmoney", 122, 4, 10, 4),
        SqlType::BigInt => t("bigint", 127, 8, 19, 0),
        SqlType::VarBinary(n) => t("varbinary", 165, var(n, 1), 0, 0),
        SqlType::VarChar(n) => t("varchar", 167, var(n, 1), 0, 0),
        SqlType::Binary(n) => t("binary", 173, *n as i32, 0, 0),
        SqlType::Char(n) => t("char", 175, *n as i32, 0, 0),
        SqlType::NVarChar(n) => t("nvarchar", 231, var(n, 2), 0, 0),
        SqlType::NChar(n) => t("nchar", 239, *n as i32 * 2, 0, 0),
        SqlType::Xml => t("xml", 241, -1, 0, 0),
        SqlType::Null => t("int", 56, 4, 10, 0),
    }
}

/// The rows of sys.types: each system type with its largest length and precision, and sysname.
fn system_types() -> Vec<(TypeInfo, bool)> {
    let mut types: Vec<(TypeInfo, bool)> = [
        SqlType::Image,
        SqlType::Text,
        SqlType::UniqueIdentifier,
        SqlType::Date,
        SqlType::Time(7),
        SqlType::DateTime2(7),
        SqlType::DateTimeOffset(7),
        SqlType::TinyInt,
        SqlType::SmallInt,
        SqlType::Int,
        SqlType::SmallDateTime,
        SqlType::Real,
        SqlType::Money,
        SqlType::DateTime,
        SqlType::Float,
        SqlType::SqlVariant,
        SqlType::NText,
        SqlType::Bit,
        SqlType::Decimal { precision: 38, scale: 38 },
        SqlType::Numeric { precision: 38, scale: 38 },
        SqlType::SmallMoney,
        SqlType::BigInt,
        SqlType::VarBinary(Some(8000)),
        SqlType::VarChar(Some(8000)),
        SqlType::Binary(8000),
        SqlType::Char(8000),
        SqlType::NVarChar(Some(4000)),
        SqlType::NChar(4000),
        SqlType::Xml,
    ]
    .iter()
    .map(|ty| (type_info(ty), ty.is_string() || matches!(ty, SqlType::Xml)))
    .collect();
    types.push((
        TypeInfo { name: "sysname", system_type_id: 231, user_type_id: 256, max_length: 256, precision: 0, scale: 0 },
        true,
    ));
    types
}

// ---------------------------------------------------------------------------
// Catalog functions
// ---------------------------------------------------------------------------

/// The parts of a multi-part name (`[db].dbo.t`, `tempdb..#t`), brackets and quotes removed.
fn name_parts(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => parts.push(String::new()),
            '[' | '"' => {
                let close = if c == '[' { ']' } else { '"' };
                while let Some(d) = chars.next() {
                    if d == close {
                        if chars.peek() == Some(&close) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    parts.last_mut().expect("one part at least").push(d);
                }
            }
            c => parts.last_mut().expect("one part at least").push(c),
        }
    }
    parts
}

/// The object a name names (OBJECT_ID's rules): a #temp table only in tempdb (named, or the
/// current database `current`), a system view only in its schema, a user object in dbo (or no schema).
fn resolve<'s>(snapshot: &'s Snapshot, text: &str, current: &str) -> Option<&'s Object> {
    let parts = name_parts(text);
    let (database, schema, name) = match parts.as_slice() {
        [name] => (None, None, name),
        [schema, name] => (None, Some(schema), name),
        [database, schema, name] => (Some(database), Some(schema), name),
        _ => return None,
    };
    let schema = schema.filter(|s| !s.is_empty());
    let temp = name.starts_with('#');
    let named = database.filter(|d| !d.is_empty());
    let in_tempdb = named.map_or(current, |d| d.as_str()).eq_ignore_ascii_case("tempdb");
    // (this server's user objects are in whichever database is current, tempdb too)
    if (temp && !in_tempdb) || (!temp && named.is_some_and(|d| d.eq_ignore_ascii_case("tempdb"))) {
        return None;
    }
    let schema_id = match schema {
        None => DBO,
        Some(s) => SCHEMAS.iter().find(|(_, n)| n.eq_ignore_ascii_case(s))?.0,
    };
    snapshot
        .objects
        .iter()
        .find(|o| o.temp == temp && o.given_name.eq_ignore_ascii_case(name) && o.schema_id == schema_id)
}

fn object_by_id(snapshot: &Snapshot, id: i64) -> Option<&Object> {
    snapshot.objects.iter().find(|o| o.id as i64 == id)
}

fn text_arg(a: Typed) -> Result<Option<String>, SqlError> {
    let v = a.value?;
    text(&v, &a.ty)
}

/// Evaluates one of `FUNCTIONS`.
pub fn call(name: &str, args: Vec<Typed>, session: &Session) -> Result<Typed, SqlError> {
    let typed = |ty: SqlType, value: Result<Value, SqlError>| Ok(Typed { ty, nullable: true, value });
    let snapshot = snapshot(session)?;
    let name_of = |o: Option<&Object>| o.map_or(Value::Null, |o| Value::Str(o.name.clone()));
    let mut args = args.into_iter();
    match name {
        "OBJECT_ID" => {
            arguments(name, args.as_slice(), 1, 2)?;
            let object = args.next().expect("one");
            let kind = args.next();
            let value = (|| {
                let Some(object) = text_arg(object)? else {
                    return Ok(Value::Null);
                };
                let kind = match kind {
                    None => None,
                    Some(k) => text_arg(k)?,
                };
                Ok(match resolve(&snapshot, &object, &session.database) {
                    Some(o) if kind.as_deref().is_none_or(|k| k.trim().eq_ignore_ascii_case(o.kind.code())) => {
                        Value::Int(o.id as i64)
                    }
                    _ => Value::Null,
                })
            })();
            typed(SqlType::Int, value)
        }
        "OBJECT_NAME" | "OBJECT_SCHEMA_NAME" | "OBJECT_DEFINITION" => {
            let most = if name == "OBJECT_DEFINITION" { 1 } else { 2 };
            arguments(name, args.as_slice(), 1, most)?;
            let id = integer(args.next().expect("one"))?;
            // a #temp table is tempdb's (database 2): seen from there only
            let database = match args.next() {
                None => Some(if session.database.eq_ignore_ascii_case("tempdb") { 2 } else { 0 }),
                Some(d) => integer(d)?,
            };
            let object = id.and_then(|id| object_by_id(&snapshot, id)).filter(|o| {
                database.is_some_and(|d| {
                    if o.temp {
                        d == 2
                    } else {
                        d != 2 || session.database.eq_ignore_ascii_case("tempdb")
                    }
                })
            });
            let (ty, value) = match name {
                "OBJECT_NAME" => (SYSNAME, name_of(object)),
                "OBJECT_SCHEMA_NAME" => (
                    SYSNAME,
                    object
                        .and_then(|o| SCHEMAS.iter().find(|(id, _)| *id == o.schema_id))
                        .map_or(Value::Null, |(_, s)| Value::Str(s.to_string())),
                ),
                _ => (
                    SqlType::NVarChar(None),
                    object
                        .and_then(|o| o.module)
                        .map_or(Value::Null, |m| Value::Str(snapshot.modules[m].definition.clone())),
                ),
            };
            typed(ty, Ok(value))
        }
        "OBJECTPROPERTY" => {
            arguments(name, args.as_slice(), 2, 2)?;
            let id = integer(args.next().expect("two"))?;
            let property = text_arg(args.next().expect("two"))?;
            let value = match (id.and_then(|id| object_by_id(&snapshot, id)), property) {
                (Some(o), Some(p)) => object_property(&snapshot, o, &p),
                _ => Value::Null,
            };
            typed(SqlType::Int, Ok(value))
        }
        "COLUMNPROPERTY" => {
            arguments(name, args.as_slice(), 3, 3)?;
            let id = integer(args.next().expect("three"))?;
            let column = text_arg(args.next().expect("three"))?;
            let property = text_arg(args.next().expect("three"))?;
            let relation = id.and_then(|id| snapshot.tables.iter().find(|t| t.id as i64 == id));
            let value = match (relation, column, property) {
                (Some(r), Some(c), Some(p)) => match r.columns.iter().position(|rc| rc.name.eq_ignore_ascii_case(&c)) {
                    Some(i) => column_property(r, i, &p),
                    None => Value::Null,
                },
                _ => Value::Null,
            };
            typed(SqlType::Int, Ok(value))
        }
        "COL_NAME" => {
            arguments(name, args.as_slice(), 2, 2)?;
            let id = integer(args.next().expect("two"))?;
            let column = integer(args.next().expect("two"))?;
            let value = (|| {
                let relation = snapshot.tables.iter().find(|t| Some(t.id as i64) == id)?;
                let c = relation.columns.get(usize::try_from(column?.checked_sub(1)?).ok()?)?;
                Some(Value::Str(c.name.clone()))
            })();
            typed(SYSNAME, Ok(value.unwrap_or(Value::Null)))
        }
        "COL_LENGTH" => {
            arguments(name, args.as_slice(), 2, 2)?;
            let table = text_arg(args.next().expect("two"))?;
            let column = text_arg(args.next().expect("two"))?;
            let value = (|| {
                let object = resolve(&snapshot, &table?, &session.database)?;
                let relation = &snapshot.tables[object.table?];
                let column = column?;
                let c = relation.columns.iter().find(|c| c.name.eq_ignore_ascii_case(&column))?;
                Some(Value::Int(type_info(&c.ty).max_length as i64))
            })();
            typed(SqlType::SmallInt, Ok(value.unwrap_or(Value::Null)))
        }
        "TYPE_NAME" => {
            arguments(name, args.as_slice(), 1, 1)?;
            let id = integer(args.next().expect("one"))?;
            let value = system_types()
                .into_iter()
                .find(|(t, _)| Some(t.user_type_id as i64) == id)
                .map_or(Value::Null, |(t, _)| Value::Str(t.name.to_string()));
            typed(SYSNAME, Ok(value))
        }
        "TYPE_ID" => {
            arguments(name, args.as_slice(), 1, 1)?;
            let type_name = text_arg(args.next().expect("one"))?;
            let value = type_name
                .and_then(|n| {
                    let n = name_parts(&n).pop().unwrap_or_default();
                    system_types().into_iter().find(|(t, _)| t.name.eq_ignore_ascii_case(&n))
                })
                .map_or(Value::Null, |(t, _)| Value::Int(t.user_type_id as i64));
            typed(SqlType::Int, Ok(value))
        }
        _ => Err(SqlError::not_supported(format!("The function '{name}'"))),
    }
}

fn flag(b: bool) -> Value {
    Value::Int(b as i64)
}

/// OBJECTPROPERTY: the properties tools ask about; NULL for the others.
fn object_property(snapshot: &Snapshot, o: &Object, property: &str) -> Value {
    let table = o.table.and_then(|t| snapshot.tables[t].table.as_ref());
    match property.to_ascii_lowercase().as_str() {
        "isusertable" => flag(o.kind == Kind::UserTable),
        "istable" => flag(matches!(o.kind, Kind::UserTable)),
        "isview" => flag(matches!(o.kind, Kind::View | Kind::SystemView)),
        "isprocedure" => flag(o.kind == Kind::Procedure),
        "isprimarykey" => flag(o.kind == Kind::PrimaryKey),
        "isuniquecnst" => flag(o.kind == Kind::Unique),
        "isdefaultcnst" => flag(o.kind == Kind::Default),
        "isconstraint" => flag(matches!(o.kind, Kind::PrimaryKey | Kind::Unique | Kind::Default)),
        "ismsshipped" | "issystemtable" => {
            flag(o.kind == Kind::SystemView && property.eq_ignore_ascii_case("ismsshipped"))
        }
        "isschemabound" => flag(false),
        "ownerid" | "schemaid" => Value::Int(o.schema_id as i64),
        "tablehasidentity" if o.kind == Kind::UserTable => {
            flag(table.is_some_and(|t| t.columns.iter().any(|c| c.identity)))
        }
        "tablehasprimarykey" if o.kind == Kind::UserTable => {
            flag(table.is_some_and(|t| t.constraints.iter().any(|k| k.kind == KeyKind::PrimaryKey)))
        }
        "execisansinullson" | "execisquotedidenton" if matches!(o.kind, Kind::Procedure | Kind::View) => flag(true),
        _ => Value::Null,
    }
}

/// COLUMNPROPERTY: the properties tools ask about; NULL for the others.
fn column_property(relation: &Relation, index: usize, property: &str) -> Value {
    let c = &relation.columns[index];
    let info = type_info(&c.ty);
    match property.to_ascii_lowercase().as_str() {
        "allowsnull" => flag(c.nullable),
        "columnid" => Value::Int(index as i64 + 1),
        "isidentity" => flag(c.identity),
        "iscomputed" | "isrowguidcol" | "issparse" | "iscolumnset" | "ishidden" | "isfulltextindexed" => flag(false),
        "precision" => Value::Int(match c.ty {
            ref ty if ty.is_string() || ty.is_binary() => character_length(ty).unwrap_or(-1),
            _ => info.precision as i64,
        }),
        "scale" => Value::Int(info.scale as i64),
        "charmaxlen" => character_length(&c.ty).map_or(Value::Null, Value::Int),
        "generatedalwaystype" => Value::Int(0),
        _ => Value::Null,
    }
}

/// The length in characters (bytes for binary) of a string or binary type; -1 for (max).
fn character_length(ty: &SqlType) -> Option<i64> {
    Some(match ty {
        SqlType::Char(n) | SqlType::NChar(n) | SqlType::Binary(n) => *n as i64,
        SqlType::VarChar(n) | SqlType::NVarChar(n) | SqlType::VarBinary(n) => n.map_or(-1, |n| n as i64),
        SqlType::Text | SqlType::Image => 2_147_483_647,
        SqlType::NText => 1_073_741_823,
        SqlType::Xml => -1,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Catalog views
// ---------------------------------------------------------------------------

/// A column of a catalog view.
struct Column {
    name: &'static str,
    ty: SqlType,
    nullable: bool,
}

/// A row of a catalog view: the values it has; the others are NULL, or 0 when the column is NOT NULL.
type Row = Vec<(&'static str, Value)>;

fn col(name: &'static str, ty: SqlType, nullable: bool) -> Column {
    Column { name, ty, nullable }
}

/// A catalog view: its schema, name, columns and rows.
struct SystemView {
    schema: i32,
    name: &'static str,
    columns: fn() -> Vec<Column>,
    rows: fn(&Snapshot, &Place) -> Vec<Row>,
}

const SYSTEM_VIEWS: &[SystemView] = &[
    SystemView { schema: SYS, name: "objects", columns: object_columns, rows: objects_rows },
    SystemView { schema: SYS, name: "all_objects", columns: object_columns, rows: objects_rows },
    SystemView { schema: SYS, name: "tables", columns: tables_columns, rows: tables_rows },
    SystemView { schema: SYS, name: "views", columns: views_columns, rows: views_rows },
    SystemView { schema: SYS, name: "system_views", columns: views_columns, rows: system_views_rows },
    SystemView { schema: SYS, name: "procedures", columns: procedures_columns, rows: procedures_rows },
    SystemView { schema: SYS, name: "columns", columns: columns_columns, rows: columns_rows },
    SystemView { schema: SYS, name: "all_columns", columns: columns_columns, rows: columns_rows },
    SystemView {
        schema: SYS,
        name: "identity_columns",
        columns: identity_columns_columns,
        rows: identity_columns_rows,
    },
    SystemView { schema: SYS, name: "computed_columns", columns: computed_columns_columns, rows: no_rows },
    SystemView { schema: SYS, name: "types", columns: types_columns, rows: types_rows },
    SystemView { schema: SYS, name: "schemas", columns: schemas_columns, rows: schemas_rows },
    SystemView { schema: SYS, name: "databases", columns: databases_columns, rows: databases_rows },
    SystemView { schema: SYS, name: "indexes", columns: indexes_columns, rows: indexes_rows },
    SystemView { schema: SYS, name: "index_columns", columns: index_columns_columns, rows: index_columns_rows },
    SystemView { schema: SYS, name: "key_constraints", columns: key_constraints_columns, rows: key_constraints_rows },
    SystemView {
        schema: SYS,
        name: "default_constraints",
        columns: default_constraints_columns,
        rows: default_constraints_rows,
    },
    SystemView { schema: SYS, name: "foreign_keys", columns: foreign_keys_columns, rows: no_rows },
    SystemView { schema: SYS, name: "foreign_key_columns", columns: foreign_key_columns_columns, rows: no_rows },
    SystemView { schema: SYS, name: "check_constraints", columns: check_constraints_columns, rows: no_rows },
    SystemView { schema: SYS, name: "extended_properties", columns: extended_properties_columns, rows: no_rows },
    SystemView { schema: SYS, name: "sql_modules", columns: sql_modules_columns, rows: sql_modules_rows },
    SystemView { schema: SYS, name: "sequences", columns: sequences_columns, rows: no_rows },
    SystemView { schema: SYS, name: "synonyms", columns: synonyms_columns, rows: no_rows },
    SystemView { schema: INFORMATION_SCHEMA, name: "TABLES", columns: is_tables_columns, rows: is_tables_rows },
    SystemView { schema: INFORMATION_SCHEMA, name: "COLUMNS", columns: is_columns_columns, rows: is_columns_rows },
    SystemView { schema: INFORMATION_SCHEMA, name: "VIEWS", columns: is_views_columns, rows: is_views_rows },
    SystemView { schema: INFORMATION_SCHEMA, name: "SCHEMATA", columns: is_schemata_columns, rows: is_schemata_rows },
    SystemView {
        schema: INFORMATION_SCHEMA,
        name: "TABLE_CONSTRAINTS",
        columns: is_table_constraints_columns,
        rows: is_table_constraints_rows,
    },
    SystemView {
        schema: INFORMATION_SCHEMA,
        name: "KEY_COLUMN_USAGE",
        columns: is_key_column_usage_columns,
        rows: is_key_column_usage_rows,
    },
    SystemView {
        schema: INFORMATION_SCHEMA,
        name: "CONSTRAINT_COLUMN_USAGE",
        columns: is_constraint_column_usage_columns,
        rows: is_constraint_column_usage_rows,
    },
    SystemView {
        schema: INFORMATION_SCHEMA,
        name: "REFERENTIAL_CONSTRAINTS",
        columns: is_referential_constraints_columns,
        rows: no_rows,
    },
    SystemView {
        schema: INFORMATION_SCHEMA,
        name: "CHECK_CONSTRAINTS",
        columns: is_check_constraints_columns,
        rows: no_rows,
    },
    SystemView { schema: INFORMATION_SCHEMA, name: "ROUTINES", columns: is_routines_columns, rows: is_routines_rows },
    SystemView { schema: INFORMATION_SCHEMA, name: "SEQUENCES", columns: is_sequences_columns, rows: no_rows },
];

/// The schema and name of each catalog view.
pub fn system_view_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    SYSTEM_VIEWS.iter().map(|v| {
        let schema = SCHEMAS.iter().find(|(id, _)| *id == v.schema).map_or("sys", |(_, n)| n);
        (schema, v.name)
    })
}

/// A catalog view's content: its name, columns and rows.
pub type ViewContent = (&'static str, Vec<ColumnDef>, Vec<Vec<Value>>);

/// The catalog view `name` names, with its content; `None` when it names none (`sys.objects`,
/// `tempdb.sys.objects`, `INFORMATION_SCHEMA.COLUMNS` ...).
pub fn system_view(session: &Session, name: &ast::ObjectName) -> Result<Option<ViewContent>, SqlError> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(|i| i.value.clone())).collect();
    let (database, schema, view) = match parts.as_slice() {
        [schema, view] => (None, schema, view),
        [database, schema, view] => (Some(database.as_str()), schema, view),
        _ => return Ok(None),
    };
    let Some(schema_id) = SCHEMAS.iter().find(|(_, n)| n.eq_ignore_ascii_case(schema)).map(|(id, _)| *id) else {
        return Ok(None);
    };
    let Some(definition) = SYSTEM_VIEWS.iter().find(|v| v.schema == schema_id && v.name.eq_ignore_ascii_case(view))
    else {
        if schema_id == SYS || schema_id == INFORMATION_SCHEMA {
            return Err(SqlError::not_supported(format!("The catalog view {name}")));
        }
        return Ok(None);
    };
    let database = database.filter(|d| !d.is_empty()).unwrap_or(session.database.as_str());
    let database = crate::engine::find_database(database)
        .ok_or_else(|| SqlError::new(208, format!("Invalid object name '{name}'.")))?;
    let place = Place {
        database: database.to_string(),
        tempdb: database.eq_ignore_ascii_case("tempdb"),
        with_system: definition.name.starts_with("all_"),
    };
    let snapshot = snapshot(session)?;
    let columns = (definition.columns)();
    let rows = (definition.rows)(&snapshot, &place).into_iter().map(|row| project(&columns, row)).collect();
    let defs = columns
        .into_iter()
        .map(|c| ColumnDef {
            name: c.name.to_string(),
            ty: c.ty,
            nullable: c.nullable,
            updatable: false,
            identity: false,
            computed: false,
        })
        .collect();
    Ok(Some((definition.name, defs, rows)))
}

/// A row's values in the view's column order.
fn project(columns: &[Column], mut row: Row) -> Vec<Value> {
    columns
        .iter()
        .map(|c| match row.iter().position(|(n, _)| *n == c.name) {
            Some(i) => row.swap_remove(i).1,
            None if c.nullable => Value::Null,
            None => match c.ty {
                SqlType::Bit => Value::Bool(false),
                _ => Value::Int(0),
            },
        })
        .collect()
}

fn no_rows(_: &Snapshot, _: &Place) -> Vec<Row> {
    Vec::new()
}

fn name(s: &str) -> Value {
    Value::Str(s.to_string())
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn bit(b: bool) -> Value {
    Value::Bool(b)
}

/// The creation time the catalog shows for every object: this server keeps none.
fn created() -> Value {
    let days = days_from_civil(2022, 10, 8) - DAYS_TO_1900;
    Value::DateTime { days: days as i32, ticks: 0 }
}

fn object_columns() -> Vec<Column> {
    vec![
        col("name", SYSNAME, false),
        col("object_id", SqlType::Int, false),
        col("principal_id", SqlType::Int, true),
        col("schema_id", SqlType::Int, false),
        col("parent_object_id", SqlType::Int, false),
        col("type", SqlType::Char(2), true),
        col("type_desc", SqlType::NVarChar(Some(60)), true),
        col("create_date", SqlType::DateTime, false),
        col("modify_date", SqlType::DateTime, false),
        col("is_ms_shipped", SqlType::Bit, false),
        col("is_published", SqlType::Bit, false),
        col("is_schema_published", SqlType::Bit, false),
    ]
}

fn object_row(o: &Object) -> Row {
    vec![
        ("name", name(&o.name)),
        ("object_id", int(o.id as i64)),
        ("schema_id", int(o.schema_id as i64)),
        ("parent_object_id", int(o.parent_id as i64)),
        ("type", Value::Str(format!("{:<2}", o.kind.code()))),
        ("type_desc", name(o.kind.description())),
        ("create_date", created()),
        ("modify_date", created()),
        ("is_ms_shipped", bit(o.kind == Kind::SystemView)),
    ]
}

fn objects_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects.iter().filter(|o| place.shows(o)).map(object_row).collect()
}

fn with_object_columns(extra: Vec<Column>) -> Vec<Column> {
    let mut columns = object_columns();
    columns.extend(extra);
    columns
}

fn tables_columns() -> Vec<Column> {
    with_object_columns(vec![
        col("lob_data_space_id", SqlType::Int, false),
        col("filestream_data_space_id", SqlType::Int, true),
        col("max_column_id_used", SqlType::Int, false),
        col("lock_on_bulk_load", SqlType::Bit, false),
        col("uses_ansi_nulls", SqlType::Bit, true),
        col("is_replicated", SqlType::Bit, true),
        col("has_replication_filter", SqlType::Bit, true),
        col("is_merge_published", SqlType::Bit, true),
        col("is_sync_tran_subscribed", SqlType::Bit, true),
        col("has_unchecked_assembly_data", SqlType::Bit, false),
        col("text_in_row_limit", SqlType::Int, true),
        col("large_value_types_out_of_row", SqlType::Bit, true),
        col("is_tracked_by_cdc", SqlType::Bit, true),
        col("lock_escalation", SqlType::TinyInt, true),
        col("lock_escalation_desc", SqlType::NVarChar(Some(60)), true),
        col("is_filetable", SqlType::Bit, true),
        col("is_memory_optimized", SqlType::Bit, true),
        col("durability", SqlType::TinyInt, true),
        col("durability_desc", SqlType::NVarChar(Some(60)), true),
        col("temporal_type", SqlType::TinyInt, true),
        col("temporal_type_desc", SqlType::NVarChar(Some(60)), true),
        col("history_table_id", SqlType::Int, true),
        col("is_remote_data_archive_enabled", SqlType::Bit, true),
        col("is_external", SqlType::Bit, false),
        col("history_retention_period", SqlType::Int, true),
        col("history_retention_period_unit", SqlType::Int, true),
        col("history_retention_period_unit_desc", SqlType::NVarChar(Some(10)), true),
        col("is_node", SqlType::Bit, true),
        col("is_edge", SqlType::Bit, true),
    ])
}

fn tables_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| o.kind == Kind::UserTable && place.shows(o))
        .map(|o| {
            let mut row = object_row(o);
            let columns = o.table.map_or(0, |t| s.tables[t].columns.len());
            row.extend([
                ("max_column_id_used", int(columns as i64)),
                ("uses_ansi_nulls", bit(true)),
                ("is_replicated", bit(false)),
                ("has_replication_filter", bit(false)),
                ("is_merge_published", bit(false)),
                ("is_sync_tran_subscribed", bit(false)),
                ("text_in_row_limit", int(0)),
                ("large_value_types_out_of_row", bit(false)),
                ("is_tracked_by_cdc", bit(false)),
                ("lock_escalation", Value::Int(0)),
                ("lock_escalation_desc", name("TABLE")),
                ("is_filetable", bit(false)),
                ("is_memory_optimized", bit(false)),
                ("durability", Value::Int(0)),
                ("durability_desc", name("SCHEMA_AND_DATA")),
                ("temporal_type", Value::Int(0)),
                ("temporal_type_desc", name("NON_TEMPORAL_TABLE")),
                ("is_remote_data_archive_enabled", bit(false)),
                ("is_node", bit(false)),
                ("is_edge", bit(false)),
            ]);
            row
        })
        .collect()
}

fn views_columns() -> Vec<Column> {
    with_object_columns(vec![
        col("is_replicated", SqlType::Bit, true),
        col("has_replication_filter", SqlType::Bit, true),
        col("has_opaque_metadata", SqlType::Bit, false),
        col("has_unchecked_assembly_data", SqlType::Bit, false),
        col("with_check_option", SqlType::Bit, false),
        col("is_date_correlation_view", SqlType::Bit, false),
        col("is_tracked_by_cdc", SqlType::Bit, true),
    ])
}

fn views_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| o.kind == Kind::View && place.shows(o))
        .map(|o| {
            let mut row = object_row(o);
            row.extend([
                ("is_replicated", bit(false)),
                ("has_replication_filter", bit(false)),
                ("is_tracked_by_cdc", bit(false)),
            ]);
            row
        })
        .collect()
}

fn system_views_rows(s: &Snapshot, _: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| o.kind == Kind::SystemView)
        .map(|o| {
            let mut row = object_row(o);
            row.extend([
                ("is_replicated", bit(false)),
                ("has_replication_filter", bit(false)),
                ("is_tracked_by_cdc", bit(false)),
            ]);
            row
        })
        .collect()
}

fn procedures_columns() -> Vec<Column> {
    with_object_columns(vec![
        col("is_auto_executed", SqlType::Bit, false),
        col("is_execution_replicated", SqlType::Bit, true),
        col("is_repl_serializable_only", SqlType::Bit, true),
        col("skips_repl_constraints", SqlType::Bit, true),
    ])
}

fn procedures_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| o.kind == Kind::Procedure && place.shows(o))
        .map(|o| {
            let mut row = object_row(o);
            row.extend([
                ("is_execution_replicated", bit(false)),
                ("is_repl_serializable_only", bit(false)),
                ("skips_repl_constraints", bit(false)),
            ]);
            row
        })
        .collect()
}

fn columns_columns() -> Vec<Column> {
    vec![
        col("object_id", SqlType::Int, false),
        col("name", SYSNAME, true),
        col("column_id", SqlType::Int, false),
        col("system_type_id", SqlType::TinyInt, false),
        col("user_type_id", SqlType::Int, false),
        col("max_length", SqlType::SmallInt, false),
        col("precision", SqlType::TinyInt, false),
        col("scale", SqlType::TinyInt, false),
        col("collation_name", SYSNAME, true),
        col("is_nullable", SqlType::Bit, true),
        col("is_ansi_padded", SqlType::Bit, false),
        col("is_rowguidcol", SqlType::Bit, false),
        col("is_identity", SqlType::Bit, false),
        col("is_computed", SqlType::Bit, false),
        col("is_filestream", SqlType::Bit, false),
        col("is_replicated", SqlType::Bit, true),
        col("is_non_sql_subscribed", SqlType::Bit, true),
        col("is_merge_published", SqlType::Bit, true),
        col("is_dts_replicated", SqlType::Bit, true),
        col("is_xml_document", SqlType::Bit, false),
        col("xml_collection_id", SqlType::Int, false),
        col("default_object_id", SqlType::Int, false),
        col("rule_object_id", SqlType::Int, false),
        col("is_sparse", SqlType::Bit, true),
        col("is_column_set", SqlType::Bit, true),
        col("generated_always_type", SqlType::TinyInt, true),
        col("generated_always_type_desc", SqlType::NVarChar(Some(60)), true),
        col("encryption_type", SqlType::Int, true),
        col("encryption_type_desc", SqlType::NVarChar(Some(64)), true),
        col("encryption_algorithm_name", SYSNAME, true),
        col("column_encryption_key_id", SqlType::Int, true),
        col("column_encryption_key_database_name", SYSNAME, true),
        col("is_hidden", SqlType::Bit, true),
        col("is_masked", SqlType::Bit, false),
        col("graph_type", SqlType::Int, true),
        col("graph_type_desc", SqlType::NVarChar(Some(60)), true),
    ]
}

/// A column as sys.columns shows it.
fn column_row(
    object_id: i32,
    column_id: usize,
    c_name: &str,
    ty: &SqlType,
    nullable: bool,
    identity: bool,
    default_object: i32,
) -> Row {
    let info = type_info(ty);
    let collation = if ty.is_string() { name(COLLATION_NAME) } else { Value::Null };
    // char and binary are padded under SET ANSI_PADDING ON, the session default
    let padded = ty.is_string() || ty.is_binary();
    vec![
        ("object_id", int(object_id as i64)),
        ("name", name(c_name)),
        ("column_id", int(column_id as i64)),
        ("system_type_id", int(info.system_type_id as i64)),
        ("user_type_id", int(info.user_type_id as i64)),
        ("max_length", int(info.max_length as i64)),
        ("precision", int(info.precision as i64)),
        ("scale", int(info.scale as i64)),
        ("collation_name", collation),
        ("is_nullable", bit(nullable)),
        ("is_ansi_padded", bit(padded)),
        ("is_identity", bit(identity)),
        ("default_object_id", int(default_object as i64)),
        ("is_replicated", bit(false)),
        ("is_non_sql_subscribed", bit(false)),
        ("is_merge_published", bit(false)),
        ("is_dts_replicated", bit(false)),
        ("is_sparse", bit(false)),
        ("is_column_set", bit(false)),
        ("generated_always_type", int(0)),
        ("generated_always_type_desc", name("NOT_APPLICABLE")),
        ("is_hidden", bit(false)),
    ]
}

fn columns_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    let mut rows = Vec::new();
    for o in s.objects.iter().filter(|o| place.shows(o)) {
        if let Some(t) = o.table.filter(|_| matches!(o.kind, Kind::UserTable | Kind::View)) {
            for (i, c) in s.tables[t].columns.iter().enumerate() {
                rows.push(column_row(o.id, i + 1, &c.name, &c.ty, c.nullable, c.identity, c.default_object));
            }
        }
        if let Some(v) = o.system_view {
            for (i, c) in (SYSTEM_VIEWS[v].columns)().iter().enumerate() {
                rows.push(column_row(o.id, i + 1, c.name, &c.ty, c.nullable, false, 0));
            }
        }
    }
    rows
}

fn identity_columns_columns() -> Vec<Column> {
    let mut columns = columns_columns();
    columns.extend([
        col("seed_value", SqlType::SqlVariant, true),
        col("increment_value", SqlType::SqlVariant, true),
        col("last_value", SqlType::SqlVariant, true),
        col("is_not_for_replication", SqlType::Bit, true),
    ]);
    columns
}

fn identity_columns_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    let mut rows = Vec::new();
    for o in s.objects.iter().filter(|o| o.kind == Kind::UserTable && place.shows(o)) {
        let Some(t) = o.table else { continue };
        let relation = &s.tables[t];
        for (i, c) in relation.columns.iter().enumerate().filter(|(_, c)| c.identity) {
            let mut row = column_row(o.id, i + 1, &c.name, &c.ty, c.nullable, true, c.default_object);
            // seed and increment are sql_variants of the column's type
            let variant = |v: i64| match &c.ty {
                SqlType::Decimal { .. } | SqlType::Numeric { .. } => {
                    Value::Variant(Box::new(c.ty.clone()), Box::new(Value::Decimal(v as i128, 0)))
                }
                ty => Value::Variant(Box::new(ty.clone()), Box::new(Value::Int(v))),
            };
            if let Some((seed, increment)) = relation.identity {
                row.push(("seed_value", variant(seed)));
                row.push(("increment_value", variant(increment)));
            }
            row.push(("is_not_for_replication", bit(false)));
            rows.push(row);
        }
    }
    rows
}

fn computed_columns_columns() -> Vec<Column> {
    let mut columns = columns_columns();
    columns.extend([
        col("definition", SqlType::NVarChar(None), true),
        col("uses_database_collation", SqlType::Bit, false),
        col("is_persisted", SqlType::Bit, false),
    ]);
    columns
}

fn types_columns() -> Vec<Column> {
    vec![
        col("name", SYSNAME, false),
        col("system_type_id", SqlType::TinyInt, false),
        col("user_type_id", SqlType::Int, false),
        col("schema_id", SqlType::Int, false),
        col("principal_id", SqlType::Int, true),
        col("max_length", SqlType::SmallInt, false),
        col("precision", SqlType::TinyInt, false),
        col("scale", SqlType::TinyInt, false),
        col("collation_name", SYSNAME, true),
        col("is_nullable", SqlType::Bit, true),
        col("is_user_defined", SqlType::Bit, false),
        col("is_assembly_type", SqlType::Bit, false),
        col("default_object_id", SqlType::Int, false),
        col("rule_object_id", SqlType::Int, false),
        col("is_table_type", SqlType::Bit, false),
    ]
}

fn types_rows(_: &Snapshot, _: &Place) -> Vec<Row> {
    system_types()
        .into_iter()
        .map(|(t, collated)| {
            vec![
                ("name", name(t.name)),
                ("system_type_id", int(t.system_type_id as i64)),
                ("user_type_id", int(t.user_type_id as i64)),
                ("schema_id", int(SYS as i64)),
                ("max_length", int(t.max_length as i64)),
                ("precision", int(t.precision as i64)),
                ("scale", int(t.scale as i64)),
                ("collation_name", if collated { name(COLLATION_NAME) } else { Value::Null }),
                // sysname is NOT NULL, every other system type nullable
                ("is_nullable", bit(t.name != "sysname")),
            ]
        })
        .collect()
}

fn schemas_columns() -> Vec<Column> {
    vec![col("name", SYSNAME, false), col("schema_id", SqlType::Int, false), col("principal_id", SqlType::Int, true)]
}

fn schemas_rows(_: &Snapshot, _: &Place) -> Vec<Row> {
    // dbo and INFORMATION_SCHEMA/sys belong to dbo (principal 1); guest to guest (2)
    SCHEMAS
        .iter()
        .map(|(id, n)| {
            vec![("name", name(n)), ("schema_id", int(*id as i64)), ("principal_id", int(if *id == 2 { 2 } else { 1 }))]
        })
        .collect()
}

fn databases_columns() -> Vec<Column> {
    vec![
        col("name", SYSNAME, false),
        col("database_id", SqlType::Int, false),
        col("source_database_id", SqlType::Int, true),
        col("create_date", SqlType::DateTime, false),
        col("compatibility_level", SqlType::TinyInt, false),
        col("collation_name", SYSNAME, true),
        col("user_access", SqlType::TinyInt, true),
        col("user_access_desc", SqlType::NVarChar(Some(60)), true),
        col("is_read_only", SqlType::Bit, true),
        col("state", SqlType::TinyInt, true),
        col("state_desc", SqlType::NVarChar(Some(60)), true),
        col("recovery_model", SqlType::TinyInt, true),
        col("recovery_model_desc", SqlType::NVarChar(Some(60)), true),
    ]
}

fn databases_rows(_: &Snapshot, _: &Place) -> Vec<Row> {
    crate::engine::DATABASES
        .iter()
        .enumerate()
        .map(|(i, db)| {
            vec![
                ("name", name(db)),
                ("database_id", int(i as i64 + 1)),
                ("create_date", created()),
                ("compatibility_level", int(160)),
                ("collation_name", name(COLLATION_NAME)),
                ("user_access", int(0)),
                ("user_access_desc", name("MULTI_USER")),
                ("is_read_only", bit(false)),
                ("state", int(0)),
                ("state_desc", name("ONLINE")),
                ("recovery_model", int(3)),
                ("recovery_model_desc", name("SIMPLE")),
            ]
        })
        .collect()
}

fn indexes_columns() -> Vec<Column> {
    vec![
        col("object_id", SqlType::Int, false),
        col("name", SYSNAME, true),
        col("index_id", SqlType::Int, false),
        col("type", SqlType::TinyInt, false),
        col("type_desc", SqlType::NVarChar(Some(60)), true),
        col("is_unique", SqlType::Bit, true),
        col("data_space_id", SqlType::Int, true),
        col("ignore_dup_key", SqlType::Bit, true),
        col("is_primary_key", SqlType::Bit, true),
        col("is_unique_constraint", SqlType::Bit, true),
        col("fill_factor", SqlType::TinyInt, false),
        col("is_padded", SqlType::Bit, true),
        col("is_disabled", SqlType::Bit, true),
        col("is_hypothetical", SqlType::Bit, true),
        col("is_ignored_in_optimization", SqlType::Bit, true),
        col("allow_row_locks", SqlType::Bit, true),
        col("allow_page_locks", SqlType::Bit, true),
        col("has_filter", SqlType::Bit, true),
        col("filter_definition", SqlType::NVarChar(None), true),
        col("compression_delay", SqlType::Int, true),
        col("suppress_dup_key_messages", SqlType::Bit, true),
        col("auto_created", SqlType::Bit, true),
        col("optimize_for_sequential_key", SqlType::Bit, true),
    ]
}

/// A table's indexes as sys.indexes numbers them: the clustered PRIMARY KEY (or the heap) is 1 (0),
/// then UNIQUE constraints and CREATE INDEX indexes from 2 in creation order. Each with its key.
fn table_indexes(table: &Table) -> Vec<(i64, Option<&super::store::Constraint>)> {
    let clustered = table.constraints.iter().find(|k| k.kind == KeyKind::PrimaryKey);
    let mut indexes = vec![(if clustered.is_some() { 1 } else { 0 }, clustered)];
    let others = table.constraints.iter().filter(|k| k.kind != KeyKind::PrimaryKey);
    indexes.extend(others.enumerate().map(|(i, k)| (i as i64 + 2, Some(k))));
    indexes
}

fn indexes_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    let mut rows = Vec::new();
    for o in s.objects.iter().filter(|o| o.kind == Kind::UserTable && place.shows(o)) {
        let Some(table) = o.table.and_then(|t| s.tables[t].table.as_ref()) else {
            continue;
        };
        for (index_id, key) in table_indexes(table) {
            let (ty, description) = match index_id {
                0 => (0, "HEAP"),
                1 => (1, "CLUSTERED"),
                _ => (2, "NONCLUSTERED"),
            };
            rows.push(vec![
                ("object_id", int(o.id as i64)),
                ("name", key.map_or(Value::Null, |k| name(&k.name))),
                ("index_id", int(index_id)),
                ("type", int(ty)),
                ("type_desc", name(description)),
                ("is_unique", bit(key.is_some_and(|k| k.kind.is_unique()))),
                ("data_space_id", int(1)),
                ("ignore_dup_key", bit(false)),
                ("is_primary_key", bit(key.is_some_and(|k| k.kind == KeyKind::PrimaryKey))),
                ("is_unique_constraint", bit(key.is_some_and(|k| k.kind == KeyKind::Unique))),
                ("is_padded", bit(false)),
                ("is_disabled", bit(false)),
                ("is_hypothetical", bit(false)),
                ("is_ignored_in_optimization", bit(false)),
                ("allow_row_locks", bit(true)),
                ("allow_page_locks", bit(true)),
                ("has_filter", bit(false)),
                ("suppress_dup_key_messages", bit(false)),
                ("auto_created", bit(false)),
                ("optimize_for_sequential_key", bit(false)),
            ]);
        }
    }
    rows
}

fn index_columns_columns() -> Vec<Column> {
    vec![
        col("object_id", SqlType::Int, false),
        col("index_id", SqlType::Int, false),
        col("index_column_id", SqlType::Int, false),
        col("column_id", SqlType::Int, false),
        col("key_ordinal", SqlType::TinyInt, false),
        col("partition_ordinal", SqlType::TinyInt, false),
        col("is_descending_key", SqlType::Bit, true),
        col("is_included_column", SqlType::Bit, true),
        col("column_store_order_ordinal", SqlType::TinyInt, false),
    ]
}

fn index_columns_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    let mut rows = Vec::new();
    for o in s.objects.iter().filter(|o| o.kind == Kind::UserTable && place.shows(o)) {
        let Some(table) = o.table.and_then(|t| s.tables[t].table.as_ref()) else {
            continue;
        };
        for (index_id, key) in table_indexes(table) {
            for (n, column) in key.iter().flat_map(|k| k.columns.iter()).enumerate() {
                rows.push(vec![
                    ("object_id", int(o.id as i64)),
                    ("index_id", int(index_id)),
                    ("index_column_id", int(n as i64 + 1)),
                    ("column_id", int(*column as i64 + 1)),
                    ("key_ordinal", int(n as i64 + 1)),
                    ("is_descending_key", bit(false)),
                    ("is_included_column", bit(false)),
                ]);
            }
        }
    }
    rows
}

fn key_constraints_columns() -> Vec<Column> {
    with_object_columns(vec![
        col("unique_index_id", SqlType::Int, true),
        col("is_system_named", SqlType::Bit, false),
        col("is_enforced", SqlType::Bit, true),
    ])
}

fn key_constraints_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::PrimaryKey | Kind::Unique) && place.shows(o))
        .map(|o| {
            let mut row = object_row(o);
            let table = o.table.and_then(|t| s.tables[t].table.as_ref());
            let index_id = table.and_then(|t| {
                let key = &t.constraints[o.member?];
                table_indexes(t).into_iter().find(|(_, k)| k.is_some_and(|k| k.name == key.name)).map(|(id, _)| id)
            });
            row.extend([
                ("unique_index_id", index_id.map_or(Value::Null, int)),
                ("is_system_named", bit(o.name.contains("__"))),
                ("is_enforced", bit(true)),
            ]);
            row
        })
        .collect()
}

fn default_constraints_columns() -> Vec<Column> {
    with_object_columns(vec![
        col("parent_column_id", SqlType::Int, false),
        col("definition", SqlType::NVarChar(None), true),
        col("is_system_named", SqlType::Bit, false),
    ])
}

fn default_constraints_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| o.kind == Kind::Default && place.shows(o))
        .map(|o| {
            let mut row = object_row(o);
            let column = o.table.zip(o.member).map(|(t, c)| (c, &s.tables[t].columns[c]));
            if let Some((c, column)) = column {
                row.push(("parent_column_id", int(c as i64 + 1)));
                row.push((
                    "definition",
                    column.default_sql.as_deref().map_or(Value::Null, |d| name(&default_definition(d))),
                ));
            }
            row.push(("is_system_named", bit(true)));
            row
        })
        .collect()
}

fn foreign_keys_columns() -> Vec<Column> {
    with_object_columns(vec![
        col("referenced_object_id", SqlType::Int, true),
        col("key_index_id", SqlType::Int, true),
        col("is_disabled", SqlType::Bit, false),
        col("is_not_for_replication", SqlType::Bit, false),
        col("is_not_trusted", SqlType::Bit, false),
        col("delete_referential_action", SqlType::TinyInt, true),
        col("delete_referential_action_desc", SqlType::NVarChar(Some(60)), true),
        col("update_referential_action", SqlType::TinyInt, true),
        col("update_referential_action_desc", SqlType::NVarChar(Some(60)), true),
        col("is_system_named", SqlType::Bit, false),
    ])
}

fn foreign_key_columns_columns() -> Vec<Column> {
    vec![
        col("constraint_object_id", SqlType::Int, false),
        col("constraint_column_id", SqlType::Int, false),
        col("parent_object_id", SqlType::Int, false),
        col("parent_column_id", SqlType::Int, false),
        col("referenced_object_id", SqlType::Int, false),
        col("referenced_column_id", SqlType::Int, false),
    ]
}

fn check_constraints_columns() -> Vec<Column> {
    with_object_columns(vec![
        col("is_disabled", SqlType::Bit, false),
        col("is_not_for_replication", SqlType::Bit, false),
        col("is_not_trusted", SqlType::Bit, false),
        col("parent_column_id", SqlType::Int, false),
        col("definition", SqlType::NVarChar(None), true),
        col("uses_database_collation", SqlType::Bit, true),
        col("is_system_named", SqlType::Bit, false),
    ])
}

fn extended_properties_columns() -> Vec<Column> {
    vec![
        col("class", SqlType::TinyInt, false),
        col("class_desc", SqlType::NVarChar(Some(60)), true),
        col("major_id", SqlType::Int, false),
        col("minor_id", SqlType::Int, false),
        col("name", SYSNAME, false),
        col("value", SqlType::SqlVariant, true),
    ]
}

fn sql_modules_columns() -> Vec<Column> {
    vec![
        col("object_id", SqlType::Int, false),
        col("definition", SqlType::NVarChar(None), true),
        col("uses_ansi_nulls", SqlType::Bit, true),
        col("uses_quoted_identifier", SqlType::Bit, true),
        col("is_schema_bound", SqlType::Bit, true),
        col("uses_database_collation", SqlType::Bit, true),
        col("is_recompiled", SqlType::Bit, true),
        col("null_on_null_input", SqlType::Bit, true),
        col("execute_as_principal_id", SqlType::Int, true),
        col("uses_native_compilation", SqlType::Bit, true),
        col("inline_type", SqlType::Bit, true),
        col("is_inlineable", SqlType::Bit, true),
    ]
}

fn sql_modules_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| place.shows(o))
        .filter_map(|o| {
            let module = &s.modules[o.module?];
            Some(vec![
                ("object_id", int(o.id as i64)),
                ("definition", name(&module.definition)),
                ("uses_ansi_nulls", bit(true)),
                ("uses_quoted_identifier", bit(true)),
                ("is_schema_bound", bit(false)),
                ("uses_database_collation", bit(false)),
                ("is_recompiled", bit(false)),
                ("null_on_null_input", bit(false)),
                ("uses_native_compilation", bit(false)),
                ("inline_type", bit(false)),
                ("is_inlineable", bit(false)),
            ])
        })
        .collect()
}

fn sequences_columns() -> Vec<Column> {
    with_object_columns(vec![
        col("start_value", SqlType::SqlVariant, false),
        col("increment", SqlType::SqlVariant, false),
        col("minimum_value", SqlType::SqlVariant, true),
        col("maximum_value", SqlType::SqlVariant, true),
        col("is_cycling", SqlType::Bit, true),
        col("is_cached", SqlType::Bit, true),
        col("cache_size", SqlType::Int, true),
        col("system_type_id", SqlType::TinyInt, false),
        col("user_type_id", SqlType::Int, false),
        col("precision", SqlType::TinyInt, false),
        col("scale", SqlType::TinyInt, false),
        col("current_value", SqlType::SqlVariant, false),
        col("is_exhausted", SqlType::Bit, false),
        col("last_used_value", SqlType::SqlVariant, true),
    ])
}

fn synonyms_columns() -> Vec<Column> {
    with_object_columns(vec![col("base_object_name", SqlType::NVarChar(Some(1035)), true)])
}

// INFORMATION_SCHEMA views: names are nvarchar(128) (sysname where SQL Server declares sysname)

fn is_catalog(place: &Place) -> Value {
    name(&place.database)
}

fn is_tables_columns() -> Vec<Column> {
    vec![
        col("TABLE_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("TABLE_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("TABLE_NAME", SYSNAME, false),
        col("TABLE_TYPE", SqlType::VarChar(Some(10)), true),
    ]
}

fn is_tables_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::UserTable | Kind::View) && place.shows(o))
        .map(|o| {
            vec![
                ("TABLE_CATALOG", is_catalog(place)),
                ("TABLE_SCHEMA", name("dbo")),
                ("TABLE_NAME", name(&o.name)),
                ("TABLE_TYPE", name(if o.kind == Kind::View { "VIEW" } else { "BASE TABLE" })),
            ]
        })
        .collect()
}

fn is_columns_columns() -> Vec<Column> {
    vec![
        col("TABLE_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("TABLE_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("TABLE_NAME", SYSNAME, false),
        col("COLUMN_NAME", SYSNAME, true),
        col("ORDINAL_POSITION", SqlType::Int, true),
        col("COLUMN_DEFAULT", SqlType::NVarChar(Some(4000)), true),
        col("IS_NULLABLE", SqlType::VarChar(Some(3)), true),
        col("DATA_TYPE", SqlType::NVarChar(Some(128)), true),
        col("CHARACTER_MAXIMUM_LENGTH", SqlType::Int, true),
        col("CHARACTER_OCTET_LENGTH", SqlType::Int, true),
        col("NUMERIC_PRECISION", SqlType::TinyInt, true),
        col("NUMERIC_PRECISION_RADIX", SqlType::SmallInt, true),
        col("NUMERIC_SCALE", SqlType::Int, true),
        col("DATETIME_PRECISION", SqlType::SmallInt, true),
        col("CHARACTER_SET_CATALOG", SYSNAME, true),
        col("CHARACTER_SET_SCHEMA", SYSNAME, true),
        col("CHARACTER_SET_NAME", SYSNAME, true),
        col("COLLATION_CATALOG", SYSNAME, true),
        col("COLLATION_SCHEMA", SYSNAME, true),
        col("COLLATION_NAME", SYSNAME, true),
        col("DOMAIN_CATALOG", SYSNAME, true),
        col("DOMAIN_SCHEMA", SYSNAME, true),
        col("DOMAIN_NAME", SYSNAME, true),
    ]
}

fn is_columns_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    let mut rows = Vec::new();
    for o in s.objects.iter().filter(|o| matches!(o.kind, Kind::UserTable | Kind::View) && place.shows(o)) {
        let Some(t) = o.table else { continue };
        for (i, c) in s.tables[t].columns.iter().enumerate() {
            let info = type_info(&c.ty);
            let mut row = vec![
                ("TABLE_CATALOG", is_catalog(place)),
                ("TABLE_SCHEMA", name("dbo")),
                ("TABLE_NAME", name(&o.name)),
                ("COLUMN_NAME", name(&c.name)),
                ("ORDINAL_POSITION", int(i as i64 + 1)),
                ("COLUMN_DEFAULT", c.default_sql.as_deref().map_or(Value::Null, |d| name(&default_definition(d)))),
                ("IS_NULLABLE", name(if c.nullable { "YES" } else { "NO" })),
                ("DATA_TYPE", name(info.name)),
            ];
            if let Some(length) = character_length(&c.ty) {
                let octets = match &c.ty {
                    SqlType::NChar(n) | SqlType::NVarChar(Some(n)) => *n as i64 * 2,
                    SqlType::NText => 2_147_483_646,
                    _ => length,
                };
                row.push(("CHARACTER_MAXIMUM_LENGTH", int(length)));
                row.push(("CHARACTER_OCTET_LENGTH", int(octets)));
            }
            // bit has no numeric precision here
            if c.ty.is_number() && c.ty != SqlType::Bit {
                let float = matches!(c.ty, SqlType::Float | SqlType::Real);
                row.push(("NUMERIC_PRECISION", int(info.precision as i64)));
                row.push(("NUMERIC_PRECISION_RADIX", int(if float { 2 } else { 10 })));
                if !float {
                    row.push(("NUMERIC_SCALE", int(info.scale as i64)));
                }
            }
            if c.ty.is_temporal() {
                row.push((
                    "DATETIME_PRECISION",
                    int(if matches!(c.ty, SqlType::Date | SqlType::SmallDateTime) { 0 } else { info.scale as i64 }),
                ));
            }
            if c.ty.is_string() {
                row.push(("CHARACTER_SET_NAME", name(if c.ty.is_unicode() { "UNICODE" } else { "iso_1" })));
                row.push(("COLLATION_NAME", name(COLLATION_NAME)));
            }
            rows.push(row);
        }
    }
    rows
}

fn is_views_columns() -> Vec<Column> {
    vec![
        col("TABLE_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("TABLE_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("TABLE_NAME", SYSNAME, false),
        col("VIEW_DEFINITION", SqlType::NVarChar(Some(4000)), true),
        col("CHECK_OPTION", SqlType::VarChar(Some(7)), true),
        col("IS_UPDATABLE", SqlType::VarChar(Some(2)), true),
    ]
}

fn is_views_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| o.kind == Kind::View && place.shows(o))
        .map(|o| {
            let definition = o.module.map_or(String::new(), |m| s.modules[m].definition.chars().take(4000).collect());
            vec![
                ("TABLE_CATALOG", is_catalog(place)),
                ("TABLE_SCHEMA", name("dbo")),
                ("TABLE_NAME", name(&o.name)),
                ("VIEW_DEFINITION", name(&definition)),
                ("CHECK_OPTION", name("NONE")),
                ("IS_UPDATABLE", name("NO")),
            ]
        })
        .collect()
}

fn is_schemata_columns() -> Vec<Column> {
    vec![
        col("CATALOG_NAME", SqlType::NVarChar(Some(128)), true),
        col("SCHEMA_NAME", SYSNAME, false),
        col("SCHEMA_OWNER", SqlType::NVarChar(Some(128)), true),
        col("DEFAULT_CHARACTER_SET_CATALOG", SqlType::VarChar(Some(6)), true),
        col("DEFAULT_CHARACTER_SET_SCHEMA", SqlType::VarChar(Some(3)), true),
        col("DEFAULT_CHARACTER_SET_NAME", SYSNAME, true),
    ]
}

fn is_schemata_rows(_: &Snapshot, place: &Place) -> Vec<Row> {
    SCHEMAS
        .iter()
        .map(|(id, n)| {
            vec![
                ("CATALOG_NAME", is_catalog(place)),
                ("SCHEMA_NAME", name(n)),
                ("SCHEMA_OWNER", name(if *id == 2 { "guest" } else { "dbo" })),
                ("DEFAULT_CHARACTER_SET_NAME", name("iso_1")),
            ]
        })
        .collect()
}

fn is_table_constraints_columns() -> Vec<Column> {
    vec![
        col("CONSTRAINT_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_NAME", SYSNAME, false),
        col("TABLE_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("TABLE_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("TABLE_NAME", SYSNAME, false),
        col("CONSTRAINT_TYPE", SqlType::VarChar(Some(11)), true),
        col("IS_DEFERRABLE", SqlType::VarChar(Some(2)), false),
        col("INITIALLY_DEFERRED", SqlType::VarChar(Some(2)), false),
    ]
}

/// The PRIMARY KEY and UNIQUE constraints shown in `place`, with their table's catalog name.
fn key_objects<'s>(s: &'s Snapshot, place: &Place) -> Vec<(&'s Object, &'s str, &'s super::store::Constraint)> {
    s.objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::PrimaryKey | Kind::Unique) && place.shows(o))
        .filter_map(|o| {
            let table_object = s.objects.iter().find(|t| t.id == o.parent_id)?;
            let key = &s.tables[o.table?].table.as_ref()?.constraints[o.member?];
            Some((o, table_object.name.as_str(), key))
        })
        .collect()
}

fn is_table_constraints_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    key_objects(s, place)
        .into_iter()
        .map(|(o, table, _)| {
            vec![
                ("CONSTRAINT_CATALOG", is_catalog(place)),
                ("CONSTRAINT_SCHEMA", name("dbo")),
                ("CONSTRAINT_NAME", name(&o.name)),
                ("TABLE_CATALOG", is_catalog(place)),
                ("TABLE_SCHEMA", name("dbo")),
                ("TABLE_NAME", name(table)),
                ("CONSTRAINT_TYPE", name(if o.kind == Kind::PrimaryKey { "PRIMARY KEY" } else { "UNIQUE" })),
                ("IS_DEFERRABLE", name("NO")),
                ("INITIALLY_DEFERRED", name("NO")),
            ]
        })
        .collect()
}

fn is_key_column_usage_columns() -> Vec<Column> {
    vec![
        col("CONSTRAINT_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_NAME", SYSNAME, false),
        col("TABLE_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("TABLE_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("TABLE_NAME", SYSNAME, false),
        col("COLUMN_NAME", SqlType::NVarChar(Some(128)), true),
        col("ORDINAL_POSITION", SqlType::Int, false),
    ]
}

fn key_column_rows(s: &Snapshot, place: &Place, with_ordinal: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for (o, table, key) in key_objects(s, place) {
        let Some(relation) = o.table.map(|t| &s.tables[t]) else {
            continue;
        };
        for (n, c) in key.columns.iter().enumerate() {
            let mut row = vec![
                ("CONSTRAINT_CATALOG", is_catalog(place)),
                ("CONSTRAINT_SCHEMA", name("dbo")),
                ("CONSTRAINT_NAME", name(&o.name)),
                ("TABLE_CATALOG", is_catalog(place)),
                ("TABLE_SCHEMA", name("dbo")),
                ("TABLE_NAME", name(table)),
                ("COLUMN_NAME", name(&relation.columns[*c].name)),
            ];
            if with_ordinal {
                row.push(("ORDINAL_POSITION", int(n as i64 + 1)));
            }
            rows.push(row);
        }
    }
    rows
}

fn is_key_column_usage_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    key_column_rows(s, place, true)
}

fn is_constraint_column_usage_columns() -> Vec<Column> {
    vec![
        col("TABLE_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("TABLE_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("TABLE_NAME", SYSNAME, false),
        col("COLUMN_NAME", SYSNAME, true),
        col("CONSTRAINT_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_NAME", SYSNAME, false),
    ]
}

fn is_constraint_column_usage_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    key_column_rows(s, place, false)
}

fn is_referential_constraints_columns() -> Vec<Column> {
    vec![
        col("CONSTRAINT_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_NAME", SYSNAME, false),
        col("UNIQUE_CONSTRAINT_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("UNIQUE_CONSTRAINT_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("UNIQUE_CONSTRAINT_NAME", SYSNAME, true),
        col("MATCH_OPTION", SqlType::VarChar(Some(7)), true),
        col("UPDATE_RULE", SqlType::VarChar(Some(11)), true),
        col("DELETE_RULE", SqlType::VarChar(Some(11)), true),
    ]
}

fn is_check_constraints_columns() -> Vec<Column> {
    vec![
        col("CONSTRAINT_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("CONSTRAINT_NAME", SYSNAME, false),
        col("CHECK_CLAUSE", SqlType::NVarChar(Some(4000)), true),
    ]
}

fn is_routines_columns() -> Vec<Column> {
    vec![
        col("SPECIFIC_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("SPECIFIC_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("SPECIFIC_NAME", SYSNAME, false),
        col("ROUTINE_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("ROUTINE_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("ROUTINE_NAME", SYSNAME, false),
        col("ROUTINE_TYPE", SqlType::NVarChar(Some(20)), true),
        col("DATA_TYPE", SYSNAME, true),
        col("ROUTINE_BODY", SqlType::NVarChar(Some(30)), true),
        col("ROUTINE_DEFINITION", SqlType::NVarChar(Some(4000)), true),
        col("IS_DETERMINISTIC", SqlType::NVarChar(Some(10)), true),
        col("SQL_DATA_ACCESS", SqlType::NVarChar(Some(30)), true),
        col("IS_NULL_CALL", SqlType::NVarChar(Some(10)), true),
        col("SCHEMA_LEVEL_ROUTINE", SqlType::NVarChar(Some(10)), true),
        col("MAX_DYNAMIC_RESULT_SETS", SqlType::SmallInt, true),
        col("IS_USER_DEFINED_CAST", SqlType::NVarChar(Some(10)), true),
        col("IS_IMPLICITLY_INVOCABLE", SqlType::NVarChar(Some(10)), true),
        col("CREATED", SqlType::DateTime, false),
        col("LAST_ALTERED", SqlType::DateTime, false),
    ]
}

fn is_routines_rows(s: &Snapshot, place: &Place) -> Vec<Row> {
    s.objects
        .iter()
        .filter(|o| o.kind == Kind::Procedure && place.shows(o))
        .map(|o| {
            let definition = o.module.map_or(String::new(), |m| s.modules[m].definition.chars().take(4000).collect());
            vec![
                ("SPECIFIC_CATALOG", is_catalog(place)),
                ("SPECIFIC_SCHEMA", name("dbo")),
                ("SPECIFIC_NAME", name(&o.name)),
                ("ROUTINE_CATALOG", is_catalog(place)),
                ("ROUTINE_SCHEMA", name("dbo")),
                ("ROUTINE_NAME", name(&o.name)),
                ("ROUTINE_TYPE", name("PROCEDURE")),
                ("ROUTINE_BODY", name("SQL")),
                ("ROUTINE_DEFINITION", name(&definition)),
                ("IS_DETERMINISTIC", name("NO")),
                ("SQL_DATA_ACCESS", name("MODIFIES")),
                ("SCHEMA_LEVEL_ROUTINE", name("YES")),
                ("MAX_DYNAMIC_RESULT_SETS", int(-1)),
                ("IS_USER_DEFINED_CAST", name("NO")),
                ("IS_IMPLICITLY_INVOCABLE", name("NO")),
                ("CREATED", created()),
                ("LAST_ALTERED", created()),
            ]
        })
        .collect()
}

fn is_sequences_columns() -> Vec<Column> {
    vec![
        col("SEQUENCE_CATALOG", SqlType::NVarChar(Some(128)), true),
        col("SEQUENCE_SCHEMA", SqlType::NVarChar(Some(128)), true),
        col("SEQUENCE_NAME", SYSNAME, false),
        col("DATA_TYPE", SYSNAME, true),
        col("NUMERIC_PRECISION", SqlType::TinyInt, true),
        col("NUMERIC_PRECISION_RADIX", SqlType::SmallInt, true),
        col("NUMERIC_SCALE", SqlType::Int, true),
        col("START_VALUE", SqlType::SqlVariant, true),
        col("MINIMUM_VALUE", SqlType::SqlVariant, true),
        col("MAXIMUM_VALUE", SqlType::SqlVariant, true),
        col("INCREMENT", SqlType::SqlVariant, true),
        col("CYCLE_OPTION", SqlType::VarChar(Some(3)), true),
        col("DECLARED_DATA_TYPE", SqlType::Int, true),
        col("DECLARED_NUMERIC_PRECISION", SqlType::Int, true),
        col("DECLARED_NUMERIC_SCALE", SqlType::Int, true),
    ]
}

/// A user table or view for the catalog procedures (sp_columns ...): its name and its columns
/// with type, nullability, identity and default.
pub struct CatalogRelation {
    pub name: String,
    pub view: bool,
    pub temp: bool,
    pub columns: Vec<(String, SqlType, bool, bool, Option<String>)>,
}

fn catalog_relation(snapshot: &Snapshot, o: &Object) -> Option<CatalogRelation> {
    let relation = &snapshot.tables[o.table?];
    Some(CatalogRelation {
        name: o.given_name.clone(),
        view: o.kind == Kind::View,
        temp: o.temp,
        columns: relation
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone(), c.nullable, c.identity, c.default_sql.clone()))
            .collect(),
    })
}

/// The tables and views whose names match `matches` (`temp` for #temp tables), in creation order.
pub fn relations(session: &Session, matches: impl Fn(&str) -> bool) -> Result<Vec<CatalogRelation>, SqlError> {
    let snapshot = snapshot(session)?;
    Ok(snapshot
        .objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::UserTable | Kind::View) && matches(&o.given_name))
        .filter_map(|o| catalog_relation(&snapshot, o))
        .collect())
}

/// The user tables whose names `matches` with their primary keys: (table, key name, key columns).
pub fn primary_keys(
    session: &Session,
    matches: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String, Vec<String>)>, SqlError> {
    let snapshot = snapshot(session)?;
    Ok(snapshot
        .objects
        .iter()
        .filter(|o| o.kind == Kind::UserTable && !o.temp && matches(&o.given_name))
        .filter_map(|o| {
            let table = snapshot.tables[o.table?].table.as_ref()?;
            let key = table.constraints.iter().find(|k| k.kind == KeyKind::PrimaryKey)?;
            let columns = key.columns.iter().map(|c| table.columns[*c].name.clone()).collect();
            Some((o.given_name.clone(), key.name.clone(), columns))
        })
        .collect())
}

/// The table or view a (multi-part) name names, as OBJECT_ID resolves it.
pub fn relation(session: &Session, name: &str) -> Result<Option<CatalogRelation>, SqlError> {
    let snapshot = snapshot(session)?;
    Ok(resolve(&snapshot, name, &session.database)
        .filter(|o| matches!(o.kind, Kind::UserTable | Kind::View))
        .and_then(|o| catalog_relation(&snapshot, o)))
}
