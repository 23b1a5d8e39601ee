//! SQLite storage of the tables. One in-memory database per server process (memdb VFS, so
//! every session's connection sees the others' committed data, with SQLite's locking and a
//! busy timeout); `#temp` tables live in each connection's own `temp` schema. Values are
//! stored exactly, in a form chosen by the column's declared SQL Server type, which the
//! catalog records: SQLite's dynamic types never decide what a client sees.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rusqlite::types::Value as DbValue;
use rusqlite::{params, Connection, OptionalExtension};

use crate::sql::convert::{format_decimal, parse_decimal_text};
use crate::sql::parser::{parse_param_declarations, SqlError};
use crate::types::{read_value, write_value, SqlType};
use crate::value::Value;

/// How long a statement waits for another session's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const DATETIME_TICKS_PER_DAY: i64 = 86_400 * 300;
const TICKS_PER_DAY: i64 = 86_400 * 10_000_000;

/// One database of tables: an in-memory SQLite database (memdb VFS) that each session's
/// connection opens by name; the anchor connection keeps it alive as long as the server runs.
#[derive(Debug)]
pub struct Database {
    uri: String,
    _anchor: Mutex<Connection>,
}

impl Database {
    /// A new, empty database (one per server).
    pub fn new() -> Result<Database, SqlError> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let uri = format!("file:/tds_server_{}_{}?vfs=memdb", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let anchor = open_uri(&uri)?;
        anchor.execute_batch(&catalog_ddl("CREATE TABLE")).map_err(storage_error)?;
        Ok(Database { uri, _anchor: Mutex::new(anchor) })
    }

    /// The database of sessions that belong to no server (`Session::new` alone): one per process.
    pub fn process_default() -> Result<Arc<Database>, SqlError> {
        static DEFAULT: OnceLock<Arc<Database>> = OnceLock::new();
        if let Some(database) = DEFAULT.get() {
            return Ok(database.clone());
        }
        let database = Arc::new(Database::new()?);
        Ok(DEFAULT.get_or_init(|| database).clone())
    }
}

/// The catalog's tables, made with `create` (`CREATE TABLE` in the shared schema, `CREATE TEMP
/// TABLE` for a connection's #temp tables).
fn catalog_ddl(create: &str) -> String {
    format!(
        "{create} tds_tables (name TEXT PRIMARY KEY COLLATE NOCASE, identity_next INTEGER, identity_increment INTEGER, identity_seed INTEGER);
         {create} tds_columns (table_name TEXT COLLATE NOCASE, ordinal INTEGER, name TEXT, type TEXT, nullable INTEGER, is_identity INTEGER, default_sql TEXT, PRIMARY KEY (table_name, ordinal));
         {create} tds_constraints (table_name TEXT COLLATE NOCASE, name TEXT, kind TEXT, columns TEXT);
         {create} tds_modules (name TEXT PRIMARY KEY COLLATE NOCASE, kind TEXT, definition TEXT, body_offset INTEGER);"
    )
}

fn open_uri(uri: &str) -> Result<Connection, SqlError> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
        | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
        | rusqlite::OpenFlags::SQLITE_OPEN_URI
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags).map_err(storage_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(storage_error)?;
    Ok(conn)
}

/// An error of the storage layer that no SQL Server error describes.
pub fn storage_error(e: rusqlite::Error) -> SqlError {
    SqlError::new(50000, format!("Storage error in the local test server: {e}"))
}

/// A session's connection to the shared database.
#[derive(Debug)]
pub struct Store {
    pub conn: Connection,
    /// The descriptor of the session transaction the connection's open transaction belongs to
    pub transaction: Option<u64>,
}

/// A column as the catalog records it.
#[derive(Clone, Debug)]
pub struct CatalogColumn {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    pub identity: bool,
    /// The DEFAULT expression's T-SQL text
    pub default_sql: Option<String>,
}

/// What a key of a table is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    PrimaryKey,
    Unique,
    /// CREATE UNIQUE INDEX
    UniqueIndex,
    /// CREATE INDEX: no constraint, only a faster lookup
    Index,
}

impl KeyKind {
    /// The kind as the catalog records it.
    fn code(self) -> &'static str {
        match self {
            KeyKind::PrimaryKey => "PK",
            KeyKind::Unique => "UQ",
            KeyKind::UniqueIndex => "UX",
            KeyKind::Index => "IX",
        }
    }

    fn from_code(code: &str) -> KeyKind {
        match code {
            "PK" => KeyKind::PrimaryKey,
            "UQ" => KeyKind::Unique,
            "UX" => KeyKind::UniqueIndex,
            _ => KeyKind::Index,
        }
    }

    /// Whether two rows may not share the key (SQL Server counts NULLs as equal here).
    pub fn is_unique(self) -> bool {
        self != KeyKind::Index
    }

    pub fn is_index(self) -> bool {
        matches!(self, KeyKind::UniqueIndex | KeyKind::Index)
    }
}

/// A PRIMARY KEY or UNIQUE constraint, or an index.
#[derive(Clone, Debug)]
pub struct Constraint {
    pub name: String,
    pub kind: KeyKind,
    /// column ordinals
    pub columns: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct Table {
    /// As created (without schema), e.g. `t` or `#t`
    pub name: String,
    pub columns: Vec<CatalogColumn>,
    pub constraints: Vec<Constraint>,
}

impl Table {
    pub fn is_temp(&self) -> bool {
        is_temp_name(&self.name)
    }

    /// The quoted SQLite name of the table's storage.
    pub fn storage_name(&self) -> String {
        storage_name(&self.name)
    }
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with('#')
}

fn schema(name: &str) -> &'static str {
    if is_temp_name(name) {
        "temp"
    } else {
        "main"
    }
}

fn storage_name(name: &str) -> String {
    format!("{}.\"t_{}\"", schema(name), name.to_lowercase().replace('"', "\"\""))
}

/// The SQLite column holding a table's column `ordinal`.
pub fn storage_column(ordinal: usize) -> String {
    format!("c{ordinal}")
}

impl Store {
    pub fn open(database: &Database) -> Result<Store, SqlError> {
        let conn = open_uri(&database.uri)?;
        conn.execute_batch(&catalog_ddl("CREATE TEMP TABLE")).map_err(storage_error)?;
        Ok(Store { conn, transaction: None })
    }

    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    pub fn execute(&self, sql: &str) -> Result<(), SqlError> {
        self.conn.execute_batch(sql).map_err(storage_error)
    }

    /// The table's catalog entry; `None` when there is no such table.
    pub fn table(&self, name: &str) -> Result<Option<Table>, SqlError> {
        let s = schema(name);
        // every statement reads the catalog: its queries stay prepared
        let found: Option<String> = self
            .conn
            .prepare_cached(&format!("SELECT name FROM {s}.tds_tables WHERE name = ?1"))
            .and_then(|mut stmt| stmt.query_row([name], |r| r.get(0)).optional())
            .map_err(storage_error)?;
        let Some(name) = found else { return Ok(None) };
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT name, type, nullable, is_identity, default_sql FROM {s}.tds_columns WHERE table_name = ?1 ORDER BY ordinal"
            ))
            .map_err(storage_error)?;
        let rows = stmt
            .query_map([&name], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get(4)?,
                ))
            })
            .map_err(storage_error)?;
        let mut columns = Vec::new();
        for row in rows {
            let (column_name, declaration, nullable, identity, default_sql) = row.map_err(storage_error)?;
            columns.push(CatalogColumn {
                name: column_name,
                ty: parse_type(&declaration)?,
                nullable,
                identity,
                default_sql,
            });
        }
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT name, kind, columns FROM {s}.tds_constraints WHERE table_name = ?1"))
            .map_err(storage_error)?;
        let rows = stmt
            .query_map([&name], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(storage_error)?;
        let mut constraints = Vec::new();
        for row in rows {
            let (constraint_name, kind, ordinals) = row.map_err(storage_error)?;
            constraints.push(Constraint {
                name: constraint_name,
                kind: KeyKind::from_code(&kind),
                columns: ordinals.split(',').filter_map(|o| o.parse().ok()).collect(),
            });
        }
        Ok(Some(Table { name, columns, constraints }))
    }

    /// The names of the shared tables (`temp`: of the connection's #temp tables), in creation order.
    pub fn table_names(&self, temp: bool) -> Result<Vec<String>, SqlError> {
        let s = if temp { "temp" } else { "main" };
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT name FROM {s}.tds_tables ORDER BY rowid"))
            .map_err(storage_error)?;
        let names = stmt.query_map([], |r| r.get(0)).map_err(storage_error)?;
        names.collect::<Result<_, _>>().map_err(storage_error)
    }

    /// A table's identity: (seed, increment), `None` without an identity column.
    pub fn identity(&self, table: &Table) -> Result<Option<(i64, i64)>, SqlError> {
        let s = schema(&table.name);
        let found: Option<(Option<i64>, Option<i64>)> = self
            .conn
            .query_row(
                &format!("SELECT identity_seed, identity_increment FROM {s}.tds_tables WHERE name = ?1"),
                [&table.name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(storage_error)?;
        Ok(match found {
            Some((Some(seed), Some(increment))) => Some((seed, increment)),
            _ => None,
        })
    }

    /// Records and creates a table; identity columns start at `identity.0` by `identity.1`.
    pub fn create_table(&self, table: &Table, identity: Option<(i64, i64)>) -> Result<(), SqlError> {
        let s = schema(&table.name);
        let mut ddl = Vec::new();
        for (i, c) in table.columns.iter().enumerate() {
            let collate = if c.ty.is_string() { " COLLATE NOCASE" } else { "" };
            let not_null = if c.nullable { "" } else { " NOT NULL" };
            ddl.push(format!("{}{collate}{not_null}", storage_column(i)));
        }
        for k in table.constraints.iter().filter(|k| !k.kind.is_index()) {
            let cols: Vec<String> = k.columns.iter().map(|&i| storage_column(i)).collect();
            let kind = if k.kind == KeyKind::PrimaryKey { "PRIMARY KEY" } else { "UNIQUE" };
            ddl.push(format!("{kind} ({})", cols.join(", ")));
        }
        self.execute(&format!("CREATE TABLE {} ({})", table.storage_name(), ddl.join(", ")))?;
        let (next, increment) = identity.map_or((None, None), |(seed, inc)| (Some(seed), Some(inc)));
        self.conn
            .execute(
                &format!("INSERT INTO {s}.tds_tables VALUES (?1, ?2, ?3, ?2)"),
                params![table.name, next, increment],
            )
            .map_err(storage_error)?;
        for (i, c) in table.columns.iter().enumerate() {
            self.conn
                .execute(
                    &format!("INSERT INTO {s}.tds_columns VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                    params![table.name, i as i64, c.name, c.ty.declaration(), c.nullable, c.identity, c.default_sql],
                )
                .map_err(storage_error)?;
        }
        for k in &table.constraints {
            self.record_key(table, k)?;
        }
        Ok(())
    }

    fn record_key(&self, table: &Table, k: &Constraint) -> Result<(), SqlError> {
        let ordinals: Vec<String> = k.columns.iter().map(|i| i.to_string()).collect();
        self.conn
            .execute(
                &format!("INSERT INTO {}.tds_constraints VALUES (?1, ?2, ?3, ?4)", schema(&table.name)),
                params![table.name, k.name, k.kind.code(), ordinals.join(",")],
            )
            .map_err(storage_error)?;
        Ok(())
    }

    /// The SQLite index behind an index of a table (index names are per table in SQL Server).
    fn index_storage_name(table: &Table, index: &str) -> String {
        format!(
            "{}.\"i_{}_{}\"",
            schema(&table.name),
            table.name.to_lowercase().replace('"', "\"\""),
            index.to_lowercase().replace('"', "\"\"")
        )
    }

    /// Creates and records an index (`k.kind` UniqueIndex or Index) on existing rows.
    pub fn create_index(&self, table: &Table, k: &Constraint) -> Result<(), SqlError> {
        let cols: Vec<String> = k.columns.iter().map(|&i| storage_column(i)).collect();
        let name = Self::index_storage_name(table, &k.name);
        // SQLite names the index's schema; the table is named bare
        let storage = table.storage_name();
        let bare_table = storage.split_once('.').map_or(storage.as_str(), |(_, t)| t);
        let unique = if k.kind == KeyKind::UniqueIndex { "UNIQUE " } else { "" };
        self.execute(&format!("CREATE {unique}INDEX {name} ON {bare_table} ({})", cols.join(", ")))?;
        self.record_key(table, k)
    }

    pub fn drop_index(&self, table: &Table, index: &str) -> Result<(), SqlError> {
        self.execute(&format!("DROP INDEX {}", Self::index_storage_name(table, index)))?;
        self.conn
            .execute(
                &format!("DELETE FROM {}.tds_constraints WHERE table_name = ?1 AND name = ?2", schema(&table.name)),
                params![table.name, index],
            )
            .map_err(storage_error)?;
        Ok(())
    }

    /// A row other than `except` whose values of `key` equal `values`' with NULL equal to NULL,
    /// as SQL Server's unique keys compare (SQLite lets any number of NULLs in).
    fn duplicate_with_null(
        &self,
        table: &Table,
        key: &Constraint,
        values: &[DbValue],
        except: Option<i64>,
    ) -> Result<bool, rusqlite::Error> {
        let conditions: Vec<String> =
            key.columns.iter().enumerate().map(|(n, &i)| format!("{} IS ?{}", storage_column(i), n + 1)).collect();
        let except_clause = except.map_or(String::new(), |rowid| format!(" AND rowid <> {rowid}"));
        let sql = format!(
            "SELECT 1 FROM {} WHERE {}{except_clause} LIMIT 1",
            table.storage_name(),
            conditions.join(" AND ")
        );
        let key_values: Vec<&DbValue> = key.columns.iter().map(|&i| &values[i]).collect();
        self.conn.prepare_cached(&sql)?.exists(rusqlite::params_from_iter(key_values))
    }

    /// The error SQLite gives for a unique key `key`, for keys with a NULL it does not check itself.
    fn check_null_keys(&self, table: &Table, values: &[DbValue], except: Option<i64>) -> Result<(), rusqlite::Error> {
        for key in table.constraints.iter().filter(|k| k.kind.is_unique()) {
            if key.columns.iter().any(|&i| values[i] == DbValue::Null) && self.duplicate_with_null(table, key, values, except)? {
                let columns: Vec<String> =
                    key.columns.iter().map(|&i| format!("t.{}", storage_column(i))).collect();
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error {
                        code: rusqlite::ErrorCode::ConstraintViolation,
                        extended_code: rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
                    },
                    Some(format!("UNIQUE constraint failed: {}", columns.join(", "))),
                ));
            }
        }
        Ok(())
    }

    pub fn drop_table(&self, table: &Table) -> Result<(), SqlError> {
        let s = schema(&table.name);
        self.execute(&format!("DROP TABLE {}", table.storage_name()))?;
        for catalog in ["tds_tables", "tds_columns", "tds_constraints"] {
            let key = if catalog == "tds_tables" { "name" } else { "table_name" };
            self.conn
                .execute(&format!("DELETE FROM {s}.{catalog} WHERE {key} = ?1"), [&table.name])
                .map_err(storage_error)?;
        }
        Ok(())
    }

    /// Takes the next identity value of a table.
    pub fn next_identity(&self, table: &Table) -> Result<i64, SqlError> {
        let s = schema(&table.name);
        let (next, increment): (i64, i64) = self
            .conn
            .query_row(
                &format!("SELECT identity_next, identity_increment FROM {s}.tds_tables WHERE name = ?1"),
                [&table.name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(storage_error)?;
        self.conn
            .execute(
                &format!("UPDATE {s}.tds_tables SET identity_next = ?1 WHERE name = ?2"),
                params![next + increment, table.name],
            )
            .map_err(storage_error)?;
        Ok(next)
    }

    /// Moves the identity past `value`, an explicit value stored in the identity
    /// column (bulk load with KEEPIDENTITY), as SQL Server reseeds: the next
    /// assigned value never collides with it.
    pub fn observe_identity(&self, table: &Table, value: i64) -> Result<(), SqlError> {
        let s = schema(&table.name);
        self.conn
            .execute(
                &format!(
                    "UPDATE {s}.tds_tables SET identity_next = CASE \
                     WHEN identity_increment > 0 THEN max(identity_next, ?1 + identity_increment) \
                     ELSE min(identity_next, ?1 + identity_increment) END WHERE name = ?2"
                ),
                params![value, table.name],
            )
            .map_err(storage_error)?;
        Ok(())
    }

    /// Every row of a table with its rowid, in storage order.
    pub fn scan(&self, table: &Table) -> Result<Vec<(i64, Vec<Value>)>, SqlError> {
        self.rows(table, None)
    }

    /// The rows (with rowids) whose integer column `ordinal` holds `value`: a lookup SQLite
    /// answers from the primary key or an index instead of a scan.
    pub fn rows_with(&self, table: &Table, ordinal: usize, value: i64) -> Result<Vec<(i64, Vec<Value>)>, SqlError> {
        self.rows(table, Some((ordinal, value)))
    }

    fn rows(&self, table: &Table, equal: Option<(usize, i64)>) -> Result<Vec<(i64, Vec<Value>)>, SqlError> {
        let cols: Vec<String> = (0..table.columns.len()).map(storage_column).collect();
        let condition = equal.map_or(String::new(), |(ordinal, _)| format!(" WHERE {} = ?1", storage_column(ordinal)));
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT rowid, {} FROM {}{condition}", cols.join(", "), table.storage_name()))
            .map_err(storage_error)?;
        let mut rows = match equal {
            Some((_, value)) => stmt.query([value]),
            None => stmt.query([]),
        }
        .map_err(storage_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(storage_error)? {
            let rowid: i64 = row.get(0).map_err(storage_error)?;
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, c) in table.columns.iter().enumerate() {
                let stored: DbValue = row.get(i + 1).map_err(storage_error)?;
                values.push(decode(&stored, &c.ty)?);
            }
            out.push((rowid, values));
        }
        Ok(out)
    }

    /// Inserts one row (values in column order, already of the columns' types).
    pub fn insert(&self, table: &Table, values: &[Value]) -> Result<(), rusqlite::Error> {
        let cols: Vec<String> = (0..values.len()).map(storage_column).collect();
        let marks: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
        let encoded: Vec<DbValue> = values.iter().zip(&table.columns).map(|(v, c)| encode(v, &c.ty)).collect();
        self.check_null_keys(table, &encoded, None)?;
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                table.storage_name(),
                cols.join(", "),
                marks.join(", ")
            ))?
            .execute(rusqlite::params_from_iter(encoded))?;
        Ok(())
    }

    /// Replaces the row `rowid` with `values`.
    pub fn update(&self, table: &Table, rowid: i64, values: &[Value]) -> Result<(), rusqlite::Error> {
        let sets: Vec<String> = (0..values.len()).map(|i| format!("{} = ?{}", storage_column(i), i + 1)).collect();
        let mut encoded: Vec<DbValue> = values.iter().zip(&table.columns).map(|(v, c)| encode(v, &c.ty)).collect();
        self.check_null_keys(table, &encoded, Some(rowid))?;
        encoded.push(DbValue::Integer(rowid));
        self.conn
            .prepare_cached(&format!(
                "UPDATE {} SET {} WHERE rowid = ?{}",
                table.storage_name(),
                sets.join(", "),
                values.len() + 1
            ))?
            .execute(rusqlite::params_from_iter(encoded))?;
        Ok(())
    }

    pub fn delete(&self, table: &Table, rowid: i64) -> Result<(), SqlError> {
        self.conn
            .prepare_cached(&format!("DELETE FROM {} WHERE rowid = ?1", table.storage_name()))
            .and_then(|mut s| s.execute([rowid]))
            .map_err(storage_error)?;
        Ok(())
    }
}

/// A declared type's text (as `SqlType::declaration` writes it) read back by the T-SQL parser.
pub fn parse_type(declaration: &str) -> Result<SqlType, SqlError> {
    match parse_param_declarations(&format!("@c {declaration}"))?.pop() {
        Some((_, ty, _)) => Ok(ty),
        None => Err(SqlError::not_supported(format!("The type {declaration}"))),
    }
}

/// The stored form of a value of a column of type `ty`.
fn encode(v: &Value, ty: &SqlType) -> DbValue {
    match v {
        Value::Null => DbValue::Null,
        Value::Bool(b) => DbValue::Integer(*b as i64),
        Value::Int(i) => DbValue::Integer(*i),
        Value::Float(f) => DbValue::Real(*f),
        Value::Decimal(u, s) => DbValue::Text(format_decimal(*u, *s)),
        Value::Money(m) => DbValue::Integer(*m),
        Value::Str(s) => DbValue::Text(s.clone()),
        Value::Bytes(b) => DbValue::Blob(b.clone()),
        Value::Date(d) => DbValue::Integer(*d as i64),
        Value::Time(t) => DbValue::Integer(*t as i64),
        Value::DateTime { days, ticks } => DbValue::Integer(*days as i64 * DATETIME_TICKS_PER_DAY + *ticks as i64),
        Value::SmallDateTime { days, minutes } => DbValue::Integer(*days as i64 * 1440 + *minutes as i64),
        Value::DateTime2 { days, ticks } => DbValue::Integer(*days as i64 * TICKS_PER_DAY + *ticks as i64),
        Value::Guid(g) => DbValue::Blob(g.to_vec()),
        // the wire encoding is exact and read back by the same codec
        Value::DateTimeOffset { .. } | Value::Variant(..) => {
            let mut out = Vec::new();
            match write_value(&mut out, ty, true, v) {
                Ok(()) => DbValue::Blob(out),
                Err(_) => DbValue::Null,
            }
        }
    }
}

fn corrupt(ty: &SqlType) -> SqlError {
    SqlError::new(50000, format!("Stored value does not fit its {} column in the local test server.", ty.name()))
}

/// A stored value read back as a value of its column's type.
fn decode(stored: &DbValue, ty: &SqlType) -> Result<Value, SqlError> {
    use SqlType::*;
    Ok(match (ty, stored) {
        (_, DbValue::Null) => Value::Null,
        (Bit, DbValue::Integer(i)) => Value::Bool(*i != 0),
        (TinyInt | SmallInt | Int | BigInt, DbValue::Integer(i)) => Value::Int(*i),
        (Real | SqlType::Float, DbValue::Real(f)) => Value::Float(*f),
        (Decimal { scale, .. } | Numeric { scale, .. }, DbValue::Text(t)) => {
            Value::Decimal(parse_decimal_text(t).and_then(|d| d.round_to(*scale)).ok_or_else(|| corrupt(ty))?, *scale)
        }
        (Money | SmallMoney, DbValue::Integer(i)) => Value::Money(*i),
        (_, DbValue::Text(s)) if ty.is_string() || matches!(ty, Xml) => Value::Str(s.clone()),
        (_, DbValue::Blob(b)) if ty.is_binary() => Value::Bytes(b.clone()),
        (SqlType::Date, DbValue::Integer(d)) => Value::Date(*d as u32),
        (Time(_), DbValue::Integer(t)) => Value::Time(*t as u64),
        (DateTime, DbValue::Integer(i)) => Value::DateTime {
            days: i.div_euclid(DATETIME_TICKS_PER_DAY) as i32,
            ticks: i.rem_euclid(DATETIME_TICKS_PER_DAY) as u32,
        },
        (SmallDateTime, DbValue::Integer(i)) => {
            Value::SmallDateTime { days: (i / 1440) as u16, minutes: (i % 1440) as u16 }
        }
        (DateTime2(_), DbValue::Integer(i)) => {
            Value::DateTime2 { days: (i / TICKS_PER_DAY) as u32, ticks: (i % TICKS_PER_DAY) as u64 }
        }
        (UniqueIdentifier, DbValue::Blob(b)) => Value::Guid(b.as_slice().try_into().map_err(|_| corrupt(ty))?),
        (DateTimeOffset(_) | SqlVariant, DbValue::Blob(b)) => {
            read_value(&mut b.as_slice(), ty).map_err(|_| corrupt(ty))?
        }
        _ => return Err(corrupt(ty)),
    })
}
