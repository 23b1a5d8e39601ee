//! SQLite storage of the tables. One in-memory database per server process (memdb VFS, so
//! every session's connection sees the others' data); `#temp` tables live in each
//! connection's own `temp` schema. Values are stored exactly, in a form chosen by the
//! column's declared SQL Server type, which the catalog records: SQLite's dynamic types
//! never decide what a client sees.
//!
//! Sessions take turns at SQLite (`Turn`), each statement's writes are committed to SQLite
//! when it ends, and the lock manager and the session's undo log make transactions of them:
//! see `tables::locks` for the design.

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::types::Value as DbValue;
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, Statement};

use super::locks::{block_without_stalling, LockManager, TransactionId, WaitOutcome};
use super::modules::{Module, ModuleKind};
use super::undo::{Change, Mark, UndoLog};
use crate::sql::convert::{format_decimal, parse_decimal_text, DecimalString};
use crate::sql::eval::compare;
use crate::sql::parser::{parse_param_declarations, SqlError};
use crate::types::{read_value, write_value, SqlType};
use crate::value::Value;

const DATETIME_TICKS_PER_DAY: i64 = 86_400 * 300;
const TICKS_PER_DAY: i64 = 86_400 * 10_000_000;
/// The hidden rowid column of every table: AUTOINCREMENT, so a rowid is never handed out
/// twice and a row lock names one row for as long as it is held.
const ROWID_COLUMN: &str = "tds_rowid";

/// One database of tables: an in-memory SQLite database (memdb VFS) that each session's
/// connection opens by name; the anchor connection keeps it alive as long as the server runs.
#[derive(Debug)]
pub struct Database {
    uri: String,
    _anchor: Mutex<Connection>,
    turn: Turn,
    locks: LockManager,
}

impl Database {
    /// A new, empty database (one per server).
    pub fn new() -> Result<Database, SqlError> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let uri = format!("file:/tds_server_{}_{}?vfs=memdb", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let anchor = open_uri(&uri)?;
        anchor.execute_batch(&catalog_ddl("CREATE TABLE")).map_err(storage_error)?;
        Ok(Database { uri, _anchor: Mutex::new(anchor), turn: Turn::default(), locks: LockManager::default() })
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

/// Whose turn it is at SQLite: one session at a time reads or writes it, so SQLite never
/// finds its database locked (and never sleeps in its busy handler).
#[derive(Debug, Default)]
struct Turn {
    taken: Mutex<bool>,
    given_back: Condvar,
}

impl Turn {
    fn take(&self) {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        if *taken {
            taken = block_without_stalling(move || {
                while *taken {
                    taken = self.given_back.wait(taken).unwrap_or_else(PoisonError::into_inner);
                }
                taken
            });
        }
        *taken = true;
    }

    fn give(&self) {
        *self.taken.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.given_back.notify_one();
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
    configure_sqlite();
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
        | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
        | rusqlite::OpenFlags::SQLITE_OPEN_URI
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(uri, flags).map_err(storage_error)
}

/// Turns off SQLite's memory statistics, which nothing here reads: with them on, every
/// malloc and free of SQLite (two per text value bound to an INSERT) takes a global mutex.
/// Done once, before the process's first connection initializes SQLite.
fn configure_sqlite() {
    static CONFIGURED: Once = Once::new();
    CONFIGURED.call_once(|| {
        // SAFETY: SQLite allows sqlite3_config before sqlite3_initialize, which the first
        // connection calls, and every connection is opened here, after this; should SQLite be
        // initialized already, it returns SQLITE_MISUSE and changes nothing.
        unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
    });
}

/// An error of the storage layer that no SQL Server error describes.
pub fn storage_error(e: rusqlite::Error) -> SqlError {
    SqlError::new(50000, format!("Storage error in the local test server: {e}"))
}

fn lock_timeout_error() -> SqlError {
    SqlError::new(1222, "Lock request time out period exceeded.")
}

fn deadlock_error(spid: u16) -> SqlError {
    SqlError {
        class: 13,
        ..SqlError::new(
            1205,
            format!("Transaction (Process ID {spid}) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction."),
        )
    }
}

/// A row a statement changed: (values now, values before), `None` for a side the row does
/// not have (an inserted row had no values before, a deleted one has none now).
pub type ChangedRow = (Option<Vec<Value>>, Option<Vec<Value>>);

/// Why a row could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// SQLite refused it (a unique key): the caller words SQL Server's error
    Refused(rusqlite::Error),
    /// A lock wait failed (1222, 1205), or the storage did
    Failed(SqlError),
}

impl From<SqlError> for WriteError {
    fn from(e: SqlError) -> WriteError {
        WriteError::Failed(e)
    }
}

/// A range of an integer column's values a read is limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRange {
    /// Between the bounds (both inclusive; `None`: unbounded)
    Between { ordinal: usize, low: Option<i64>, high: Option<i64> },
    /// NULL
    Null(usize),
}

/// How a statement reads rows others may be changing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// READ COMMITTED: a row another open transaction changed is waited for
    Committed,
    /// `WITH (NOLOCK)`, READ UNCOMMITTED: rows are read as they are, changed or not
    Uncommitted,
    /// `WITH (READPAST)`: rows another open transaction holds are skipped, not waited for
    SkipLocked,
}

/// A session's connection to the shared database, its open transaction and undo log.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    database: Arc<Database>,
    /// The session's SPID, for the deadlock message
    spid: u16,
    /// The lock owner of reads outside any transaction or statement (they hold no locks)
    idle_owner: TransactionId,
    state: RefCell<StoreState>,
}

#[derive(Debug, Default)]
struct StoreState {
    /// How many holders of `Store::sqlite` are on the stack (the turn is taken while > 0)
    turn_depth: u32,
    /// A statement's SQLite transaction is open
    writing: bool,
    /// The statement's SQLite transaction was committed early, to wait for a lock: its undo
    /// log, not a SQLite rollback, undoes it now
    committed_early: bool,
    transaction: Option<OpenTransaction>,
    /// The lock owner of the autocommit statement running
    statement_owner: Option<TransactionId>,
    /// The open transaction's changes; outside one, the last statement's
    undo: UndoLog,
    statement_start: Mark,
    /// SET LOCK_TIMEOUT; `None` waits forever
    lock_timeout: Option<Duration>,
    /// The server rolled the transaction back (deadlock victim): the session has yet to end it
    rolled_back: bool,
}

#[derive(Clone, Copy, Debug)]
struct OpenTransaction {
    /// The session's transaction descriptor
    descriptor: u64,
    id: TransactionId,
}

/// A statement's SQLite transaction, open: ended by `Store::statement`, or undone when
/// dropped without a commit (an error, or a panic unwinding).
struct StatementScope<'a> {
    store: &'a Store,
    committed: bool,
}

impl<'a> StatementScope<'a> {
    fn begin(store: &'a Store) -> StatementScope<'a> {
        let mut state = store.state();
        if state.transaction.is_none() {
            state.undo.clear();
            state.statement_owner = Some(store.database.locks.new_transaction());
        }
        state.statement_start = state.undo.mark();
        state.committed_early = false;
        state.writing = true;
        StatementScope { store, committed: false }
    }
}

impl Drop for StatementScope<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.store.undo_statement();
        }
        let owner = {
            let mut state = self.store.state();
            state.writing = false;
            state.statement_owner.take()
        };
        if let Some(owner) = owner {
            self.store.database.locks.release(owner);
        }
    }
}

/// The connection while it is the session's turn at SQLite.
struct Sqlite<'a> {
    store: &'a Store,
}

impl Deref for Sqlite<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.store.conn
    }
}

impl Drop for Sqlite<'_> {
    fn drop(&mut self) {
        let last = {
            let mut state = self.store.state();
            state.turn_depth = state.turn_depth.saturating_sub(1);
            state.turn_depth == 0
        };
        if last {
            self.store.database.turn.give();
        }
    }
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

/// A table's identity column as the catalog keeps it: created with `seed` and `increment`,
/// `next` the value the next row takes.
#[derive(Clone, Copy, Debug)]
pub struct IdentityCounter {
    pub seed: i64,
    pub increment: i64,
    pub next: i64,
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

    /// Whether a key or index starts with column `ordinal`, so that SQL Server seeks rows by
    /// it (and locks only those) instead of scanning the table.
    fn is_seekable(&self, ordinal: usize) -> bool {
        self.constraints.iter().any(|k| k.columns.first() == Some(&ordinal))
    }

    /// Whether `a` and `b` (rows of the table) have the same values of `key`, NULL equal to NULL.
    fn same_key(&self, key: &Constraint, a: &[Value], b: &[Value]) -> bool {
        key.columns.iter().all(|&i| {
            let ty = &self.columns[i].ty;
            match (&a[i], &b[i]) {
                (Value::Null, Value::Null) => true,
                (Value::Null, _) | (_, Value::Null) => false,
                (x, y) => compare(ty, x, ty, y).ok().flatten() == Some(std::cmp::Ordering::Equal),
            }
        })
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

/// The SQLite index behind an index of a table (index names are per table in SQL Server).
fn index_storage_name(table: &str, index: &str) -> String {
    format!(
        "{}.\"i_{}_{}\"",
        schema(table),
        table.to_lowercase().replace('"', "\"\""),
        index.to_lowercase().replace('"', "\"\"")
    )
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

impl Store {
    pub fn open(database: Arc<Database>, spid: u16) -> Result<Store, SqlError> {
        let conn = open_uri(&database.uri)?;
        conn.execute_batch(&catalog_ddl("CREATE TEMP TABLE")).map_err(storage_error)?;
        let idle_owner = database.locks.new_transaction();
        Ok(Store { conn, database, spid, idle_owner, state: RefCell::default() })
    }

    fn state(&self) -> RefMut<'_, StoreState> {
        self.state.borrow_mut()
    }

    /// The connection, once it is this session's turn at SQLite (kept until the guard drops).
    fn sqlite(&self) -> Sqlite<'_> {
        let first = {
            let mut state = self.state();
            state.turn_depth += 1;
            state.turn_depth == 1
        };
        if first {
            self.database.turn.take();
        }
        Sqlite { store: self }
    }

    /// The lock owner of what the session does now: its transaction, else its statement.
    fn owner(&self) -> TransactionId {
        let state = self.state();
        state.transaction.map(|t| t.id).or(state.statement_owner).unwrap_or(self.idle_owner)
    }

    // -----------------------------------------------------------------------------------
    // Transactions and statements
    // -----------------------------------------------------------------------------------

    /// SET LOCK_TIMEOUT in milliseconds; negative waits forever.
    pub fn set_lock_timeout(&self, milliseconds: i64) {
        self.state().lock_timeout = u64::try_from(milliseconds).ok().map(Duration::from_millis);
    }

    /// Makes the store's transaction the session's (`descriptor`, `None` for none): one of an
    /// earlier session transaction that ended without `end_transaction` (RESETCONNECTION) is
    /// rolled back, since nothing committed it.
    pub fn sync_transaction(&self, descriptor: Option<u64>) -> Result<(), SqlError> {
        let open = self.state().transaction;
        if open.is_some_and(|t| Some(t.descriptor) != descriptor) {
            self.end_transaction(false)?;
        }
        if let Some(descriptor) = descriptor {
            let mut state = self.state();
            if state.transaction.is_none() {
                state.undo.clear();
                state.transaction = Some(OpenTransaction { descriptor, id: self.database.locks.new_transaction() });
            }
        }
        Ok(())
    }

    /// Commits or rolls back the open transaction and releases its locks.
    pub fn end_transaction(&self, commit: bool) -> Result<(), SqlError> {
        let Some(open) = self.state().transaction else {
            return Ok(());
        };
        let _db = self.sqlite();
        let undone = if commit {
            Ok(())
        } else {
            let changes = self.state().undo.take_since(0);
            self.write_back(changes)
        };
        let mut state = self.state();
        state.undo.clear();
        state.transaction = None;
        drop(state);
        self.database.locks.release(open.id);
        undone
    }

    /// Whether the server rolled the transaction back (as a deadlock victim) since asked last.
    pub fn take_rolled_back(&self) -> bool {
        std::mem::take(&mut self.state().rolled_back)
    }

    /// A savepoint of the open transaction.
    pub fn savepoint(&self) -> Mark {
        self.state().undo.mark()
    }

    /// Undoes what the transaction did after `savepoint`; its locks stay, as on SQL Server.
    pub fn rollback_to(&self, savepoint: Mark) -> Result<(), SqlError> {
        let _db = self.sqlite();
        let changes = self.state().undo.take_since(savepoint);
        self.write_back(changes)
    }

    /// Runs `f` as one atomic statement: all its changes or none. Its writes go to SQLite in
    /// one SQLite transaction, committed when it ends (or early, to wait for a lock).
    pub fn statement<T>(&self, f: impl FnOnce(&Store) -> Result<T, SqlError>) -> Result<T, SqlError> {
        if self.state().writing {
            // a statement within a statement: the outer one is the unit
            return f(self);
        }
        let db = self.sqlite();
        db.execute_batch("BEGIN IMMEDIATE").map_err(storage_error)?;
        let mut scope = StatementScope::begin(self);
        let result = f(self).and_then(|v| db.execute_batch("COMMIT").map(|()| v).map_err(storage_error));
        scope.committed = result.is_ok();
        result
    }

    /// Undoes the failed statement: a SQLite rollback, unless it committed early to wait.
    fn undo_statement(&self) {
        let (committed_early, changes) = {
            let mut state = self.state();
            let start = state.statement_start;
            (state.committed_early, state.undo.take_since(start))
        };
        if committed_early {
            if let Err(e) = self.write_back(changes) {
                eprintln!("tds-server: undoing a failed statement: {}", e.text);
            }
            let _ = self.conn.execute_batch("COMMIT");
            return;
        }
        let _ = self.conn.execute_batch("ROLLBACK");
        // SQLite hands the rolled-back inserts' rowids out again: they are no longer this transaction's
        let owner = self.owner();
        for change in changes {
            if let Change::Inserted { table, first, last } = change {
                if !is_temp_name(&table) {
                    self.database.locks.forget_inserted(&table, owner, first, last);
                }
            }
        }
    }

    /// Applies `changes` (newest first) backwards, in the statement's SQLite transaction or in one of its own.
    fn write_back(&self, changes: Vec<Change>) -> Result<(), SqlError> {
        if changes.is_empty() {
            return Ok(());
        }
        let db = self.sqlite();
        let own_transaction = !self.state().writing;
        if own_transaction {
            db.execute_batch("BEGIN IMMEDIATE").map_err(storage_error)?;
        }
        let mut tables: HashMap<String, Table> = HashMap::new();
        let mut result = Ok(());
        for change in changes {
            result = self.undo_change(change, &mut tables);
            if result.is_err() {
                break;
            }
        }
        if own_transaction {
            db.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" }).map_err(storage_error)?;
        }
        result
    }

    fn undo_change(&self, change: Change, tables: &mut HashMap<String, Table>) -> Result<(), SqlError> {
        let table_of = |name: &str, tables: &mut HashMap<String, Table>| -> Result<Table, SqlError> {
            if let Some(table) = tables.get(&name.to_lowercase()) {
                return Ok(table.clone());
            }
            let table = self.catalog_table(name)?.ok_or_else(|| {
                SqlError::new(50000, format!("Undo of table {name}, which is gone, in the local test server."))
            })?;
            tables.insert(name.to_lowercase(), table.clone());
            Ok(table)
        };
        let db = self.sqlite();
        match change {
            Change::Inserted { table, first, last } => db
                .prepare_cached(&format!("DELETE FROM {} WHERE rowid BETWEEN ?1 AND ?2", storage_name(&table)))
                .and_then(|mut s| s.execute([first, last]))
                .map(drop)
                .map_err(storage_error),
            Change::Updated { table, rowid, old } => {
                let table = table_of(&table, tables)?;
                let mut encoded = encode_row(&table, &old);
                let sets: Vec<String> = (0..old.len()).map(|i| format!("{} = ?{}", storage_column(i), i + 1)).collect();
                encoded.push(DbValue::Integer(rowid));
                let sql =
                    format!("UPDATE {} SET {} WHERE rowid = ?{}", table.storage_name(), sets.join(", "), old.len() + 1);
                db.prepare_cached(&sql)
                    .and_then(|mut s| s.execute(rusqlite::params_from_iter(encoded)))
                    .map(drop)
                    .map_err(storage_error)
            }
            Change::Deleted { table, rowid, old } => {
                let table = table_of(&table, tables)?;
                self.insert_with_rowid(&table, rowid, &old)
            }
            Change::CreatedTable { table } => {
                let created = table_of(&table, tables)?;
                tables.remove(&table.to_lowercase());
                self.drop_storage(&created)
            }
            Change::DroppedTable { table, identity, rows } => {
                let kept: Vec<Constraint> = table.constraints.iter().filter(|k| !k.kind.is_index()).cloned().collect();
                self.create_storage(&Table { constraints: kept, ..table.clone() }, identity)?;
                for index in table.constraints.iter().filter(|k| k.kind.is_index()) {
                    self.create_index_storage(&table, index)?;
                    self.record_key(&table, index)?;
                }
                for (rowid, values) in &rows {
                    self.insert_with_rowid(&table, *rowid, values)?;
                }
                Ok(())
            }
            Change::CreatedIndex { table, index } => self.drop_index_storage(&table, &index),
            Change::ReplacedModule { name, previous } => self.write_module(&name, previous.as_ref()),
            Change::DroppedIndex { table, index } => {
                let table = table_of(&table, tables)?;
                self.create_index_storage(&table, &index)?;
                self.record_key(&table, &index)
            }
        }
    }

    /// The deadline of a lock request made now.
    fn lock_deadline(&self) -> Option<Instant> {
        self.state().lock_timeout.map(|t| Instant::now() + t)
    }

    /// Runs `attempt` until it gets its lock (`Ok`), waiting for the holder it names
    /// (`Err(holder)`) in between; fails with 1222 at the lock timeout and 1205 as a
    /// deadlock victim.
    fn until_granted<T, E: From<SqlError>>(
        &self,
        mut attempt: impl FnMut() -> Result<Result<T, TransactionId>, E>,
    ) -> Result<T, E> {
        let mut deadline = None;
        loop {
            match attempt()? {
                Ok(granted) => return Ok(granted),
                Err(holder) => {
                    let deadline = *deadline.get_or_insert_with(|| self.lock_deadline());
                    self.wait_for(holder, deadline)?;
                }
            }
        }
    }

    /// Waits for `holder`'s locks to change, off SQLite: the statement's SQLite transaction
    /// is committed first (its undo log covers it) and the turn given to the others.
    fn wait_for(&self, holder: TransactionId, deadline: Option<Instant>) -> Result<(), SqlError> {
        let me = self.owner();
        let writing = self.state().writing;
        if writing {
            self.conn.execute_batch("COMMIT").map_err(storage_error)?;
            self.state().committed_early = true;
        }
        let depth = std::mem::take(&mut self.state().turn_depth);
        if depth > 0 {
            self.database.turn.give();
        }
        let outcome = self.database.locks.wait(me, holder, deadline);
        if depth > 0 {
            self.database.turn.take();
        }
        self.state().turn_depth = depth;
        if writing {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(storage_error)?;
        }
        match outcome {
            WaitOutcome::Changed => Ok(()),
            WaitOutcome::TimedOut => Err(lock_timeout_error()),
            WaitOutcome::Deadlock => {
                self.roll_back_as_victim(me);
                Err(deadlock_error(self.spid))
            }
        }
    }

    /// Rolls back everything of the deadlock victim `me` at once, so the other transaction
    /// goes on while the victim's batch ends.
    fn roll_back_as_victim(&self, me: TransactionId) {
        let changes = self.state().undo.take_since(0);
        if let Err(e) = self.write_back(changes) {
            eprintln!("tds-server: rolling back a deadlock victim: {}", e.text);
        }
        self.database.locks.release(me);
        let mut state = self.state();
        state.statement_start = 0;
        if state.transaction.take().is_some() {
            state.rolled_back = true;
        }
    }

    // -----------------------------------------------------------------------------------
    // The catalog and DDL
    // -----------------------------------------------------------------------------------

    /// The table's catalog entry; `None` when there is no such table. Waits while another
    /// transaction changes the table's definition.
    pub fn table(&self, name: &str) -> Result<Option<Table>, SqlError> {
        let _db = self.sqlite();
        if !is_temp_name(name) {
            let me = self.owner();
            self.until_granted(|| Ok::<_, SqlError>(self.database.locks.schema_holder(name, me).map_or(Ok(()), Err)))?;
        }
        self.catalog_table(name)
    }

    /// Takes the schema lock on `name` (DDL), waiting for other transactions' locks on it.
    fn lock_schema(&self, name: &str) -> Result<(), SqlError> {
        if is_temp_name(name) {
            return Ok(());
        }
        let me = self.owner();
        self.until_granted(|| Ok::<_, SqlError>(self.database.locks.lock_schema(name, me)))
    }

    fn catalog_table(&self, name: &str) -> Result<Option<Table>, SqlError> {
        let db = self.sqlite();
        let s = schema(name);
        // every statement reads the catalog: its queries stay prepared
        let found: Option<String> = db
            .prepare_cached(&format!("SELECT name FROM {s}.tds_tables WHERE name = ?1"))
            .and_then(|mut stmt| stmt.query_row([name], |r| r.get(0)).optional())
            .map_err(storage_error)?;
        let Some(name) = found else { return Ok(None) };
        let mut stmt = db
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
        let mut stmt = db
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
        let db = self.sqlite();
        let mut stmt =
            db.prepare_cached(&format!("SELECT name FROM {s}.tds_tables ORDER BY rowid")).map_err(storage_error)?;
        let names = stmt.query_map([], |r| r.get(0)).map_err(storage_error)?;
        names.collect::<Result<_, _>>().map_err(storage_error)
    }

    /// A table's identity: (seed, increment), `None` without an identity column.
    pub fn identity(&self, table: &Table) -> Result<Option<(i64, i64)>, SqlError> {
        let s = schema(&table.name);
        let found: Option<(Option<i64>, Option<i64>)> = self
            .sqlite()
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
        self.lock_schema(&table.name)?;
        let identity = identity.map(|(seed, increment)| IdentityCounter { seed, increment, next: seed });
        self.create_storage(table, identity)?;
        self.state().undo.push(Change::CreatedTable { table: table.name.as_str().into() });
        Ok(())
    }

    fn create_storage(&self, table: &Table, identity: Option<IdentityCounter>) -> Result<(), SqlError> {
        let db = self.sqlite();
        let s = schema(&table.name);
        let mut ddl = vec![format!("{ROWID_COLUMN} INTEGER PRIMARY KEY AUTOINCREMENT")];
        for (i, c) in table.columns.iter().enumerate() {
            let collate = if c.ty.is_string() { " COLLATE NOCASE" } else { "" };
            let not_null = if c.nullable { "" } else { " NOT NULL" };
            ddl.push(format!("{}{collate}{not_null}", storage_column(i)));
        }
        // the primary key is a unique key of SQLite's: its own is the rowid
        for k in table.constraints.iter().filter(|k| !k.kind.is_index()) {
            let cols: Vec<String> = k.columns.iter().map(|&i| storage_column(i)).collect();
            ddl.push(format!("UNIQUE ({})", cols.join(", ")));
        }
        db.execute_batch(&format!("CREATE TABLE {} ({})", table.storage_name(), ddl.join(", ")))
            .map_err(storage_error)?;
        db.execute(
            &format!("INSERT INTO {s}.tds_tables VALUES (?1, ?2, ?3, ?4)"),
            params![table.name, identity.map(|i| i.next), identity.map(|i| i.increment), identity.map(|i| i.seed)],
        )
        .map_err(storage_error)?;
        for (i, c) in table.columns.iter().enumerate() {
            db.execute(
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
        self.sqlite()
            .execute(
                &format!("INSERT INTO {}.tds_constraints VALUES (?1, ?2, ?3, ?4)", schema(&table.name)),
                params![table.name, k.name, k.kind.code(), ordinals.join(",")],
            )
            .map_err(storage_error)?;
        Ok(())
    }

    /// Creates and records an index (`k.kind` UniqueIndex or Index) on existing rows; `check`
    /// sees the rows first (and may refuse them) once the table is the transaction's alone.
    pub fn create_index(
        &self,
        table: &Table,
        k: &Constraint,
        check: impl FnOnce(Vec<(i64, Vec<Value>)>) -> Result<(), SqlError>,
    ) -> Result<(), SqlError> {
        self.lock_schema(&table.name)?;
        check(self.scan(table, Reading::Committed)?)?;
        self.create_index_storage(table, k)?;
        self.record_key(table, k)?;
        self.state().undo.push(Change::CreatedIndex { table: table.name.as_str().into(), index: k.name.clone() });
        Ok(())
    }

    fn create_index_storage(&self, table: &Table, k: &Constraint) -> Result<(), SqlError> {
        let cols: Vec<String> = k.columns.iter().map(|&i| storage_column(i)).collect();
        let name = index_storage_name(&table.name, &k.name);
        // SQLite names the index's schema; the table is named bare
        let storage = table.storage_name();
        let bare_table = storage.split_once('.').map_or(storage.as_str(), |(_, t)| t);
        let unique = if k.kind == KeyKind::UniqueIndex { "UNIQUE " } else { "" };
        self.sqlite()
            .execute_batch(&format!("CREATE {unique}INDEX {name} ON {bare_table} ({})", cols.join(", ")))
            .map_err(storage_error)
    }

    pub fn drop_index(&self, table: &Table, index: &Constraint) -> Result<(), SqlError> {
        self.lock_schema(&table.name)?;
        self.drop_index_storage(&table.name, &index.name)?;
        self.state().undo.push(Change::DroppedIndex { table: table.name.as_str().into(), index: index.clone() });
        Ok(())
    }

    fn drop_index_storage(&self, table: &str, index: &str) -> Result<(), SqlError> {
        let db = self.sqlite();
        db.execute_batch(&format!("DROP INDEX {}", index_storage_name(table, index))).map_err(storage_error)?;
        db.execute(
            &format!("DELETE FROM {}.tds_constraints WHERE table_name = ?1 AND name = ?2", schema(table)),
            params![table, index],
        )
        .map_err(storage_error)?;
        Ok(())
    }

    /// Drops a table; inside a transaction its rows are kept in the undo log for a rollback.
    pub fn drop_table(&self, table: &Table) -> Result<(), SqlError> {
        self.lock_schema(&table.name)?;
        if self.state().transaction.is_some() {
            let identity = self
                .sqlite()
                .query_row(
                    &format!(
                        "SELECT identity_seed, identity_increment, identity_next FROM {}.tds_tables WHERE name = ?1",
                        schema(&table.name)
                    ),
                    [&table.name],
                    |r| {
                        Ok(match (r.get(0)?, r.get(1)?, r.get(2)?) {
                            (Some(seed), Some(increment), Some(next)) => {
                                Some(IdentityCounter { seed, increment, next })
                            }
                            _ => None,
                        })
                    },
                )
                .map_err(storage_error)?;
            let rows = self.scan(table, Reading::Committed)?;
            self.state().undo.push(Change::DroppedTable { table: table.clone(), identity, rows });
        }
        self.drop_storage(table)
    }

    fn drop_storage(&self, table: &Table) -> Result<(), SqlError> {
        let db = self.sqlite();
        let s = schema(&table.name);
        db.execute_batch(&format!("DROP TABLE {}", table.storage_name())).map_err(storage_error)?;
        for catalog in ["tds_tables", "tds_columns", "tds_constraints"] {
            let key = if catalog == "tds_tables" { "name" } else { "table_name" };
            db.execute(&format!("DELETE FROM {s}.{catalog} WHERE {key} = ?1"), [&table.name]).map_err(storage_error)?;
        }
        Ok(())
    }

    /// The view or procedure `name`, if there is one. Waits while another transaction defines
    /// or drops it.
    pub fn module(&self, name: &str) -> Result<Option<Module>, SqlError> {
        let db = self.sqlite();
        let me = self.owner();
        self.until_granted(|| Ok::<_, SqlError>(self.database.locks.schema_holder(name, me).map_or(Ok(()), Err)))?;
        db.prepare_cached("SELECT name, kind, definition, body_offset FROM main.tds_modules WHERE name = ?1")
            .and_then(|mut stmt| stmt.query_row([name], module_of_row).optional())
            .map_err(storage_error)
    }

    /// Every view and procedure, in creation order.
    pub fn modules(&self) -> Result<Vec<Module>, SqlError> {
        let db = self.sqlite();
        let mut stmt = db
            .prepare_cached("SELECT name, kind, definition, body_offset FROM main.tds_modules ORDER BY rowid")
            .map_err(storage_error)?;
        let rows = stmt.query_map([], module_of_row).map_err(storage_error)?;
        rows.collect::<Result<_, _>>().map_err(storage_error)
    }

    /// Records a view or procedure, over the one of that name (ALTER) if there is one.
    pub fn save_module(&self, module: &Module) -> Result<(), SqlError> {
        self.lock_schema(&module.name)?;
        let previous = self.module(&module.name)?;
        self.write_module(&module.name, Some(module))?;
        self.state().undo.push(Change::ReplacedModule { name: module.name.clone(), previous });
        Ok(())
    }

    /// Removes the view or procedure `name`.
    pub fn remove_module(&self, name: &str) -> Result<(), SqlError> {
        self.lock_schema(name)?;
        let previous = self.module(name)?;
        self.write_module(name, None)?;
        self.state().undo.push(Change::ReplacedModule { name: name.to_string(), previous });
        Ok(())
    }

    /// Makes `module` (or none) the catalog's module `name`.
    fn write_module(&self, name: &str, module: Option<&Module>) -> Result<(), SqlError> {
        let db = self.sqlite();
        db.execute("DELETE FROM main.tds_modules WHERE name = ?1", [name]).map_err(storage_error)?;
        if let Some(m) = module {
            db.execute(
                "INSERT INTO main.tds_modules (name, kind, definition, body_offset) VALUES (?1, ?2, ?3, ?4)",
                params![m.name, m.kind.code(), m.definition, m.body_offset as i64],
            )
            .map_err(storage_error)?;
        }
        Ok(())
    }

    /// Takes the next identity value of a table (never given back, as on SQL Server).
    pub fn next_identity(&self, table: &Table) -> Result<i64, SqlError> {
        let db = self.sqlite();
        let s = schema(&table.name);
        let (next, increment): (i64, i64) = db
            .query_row(
                &format!("SELECT identity_next, identity_increment FROM {s}.tds_tables WHERE name = ?1"),
                [&table.name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(storage_error)?;
        db.execute(
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
        self.sqlite()
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

    // -----------------------------------------------------------------------------------
    // Rows
    // -----------------------------------------------------------------------------------

    /// Every row of a table with its rowid, in storage order.
    pub fn scan(&self, table: &Table, reading: Reading) -> Result<Vec<(i64, Vec<Value>)>, SqlError> {
        self.read(table, String::new(), Vec::new(), None, reading)
    }

    /// The rows (with rowids) whose integer column `ordinal` holds `value`: a lookup SQLite
    /// answers from the primary key or an index instead of a scan.
    pub fn rows_with(
        &self,
        table: &Table,
        ordinal: usize,
        value: i64,
        reading: Reading,
    ) -> Result<Vec<(i64, Vec<Value>)>, SqlError> {
        let condition = format!("{} = ?1", storage_column(ordinal));
        self.read(table, condition, vec![value], Some((ordinal, value)), reading)
    }

    /// The rows (with rowids) whose integer column is in `range`, read from the primary key or an
    /// index when there is one; locks are waited for as by a scan.
    pub fn rows_in(
        &self,
        table: &Table,
        range: &KeyRange,
        reading: Reading,
    ) -> Result<Vec<(i64, Vec<Value>)>, SqlError> {
        let (condition, parameters) = match *range {
            KeyRange::Null(ordinal) => (format!("{} IS NULL", storage_column(ordinal)), Vec::new()),
            KeyRange::Between { ordinal, low, high } => {
                let column = storage_column(ordinal);
                let mut parts = Vec::new();
                let mut parameters = Vec::new();
                for (bound, operator) in [(low, ">="), (high, "<=")] {
                    if let Some(bound) = bound {
                        parameters.push(bound);
                        parts.push(format!("{column} {operator} ?{}", parameters.len()));
                    }
                }
                (parts.join(" AND "), parameters)
            }
        };
        self.read(table, condition, parameters, None, reading)
    }

    /// Rows meeting `condition` (SQL on the storage columns, `?n` bound to `parameters`; empty
    /// for all rows) as a reader at `reading` may see them: at READ COMMITTED it waits while
    /// another transaction holds a row the read touches (any row of the table, unless `equal`
    /// makes it a seek: then the rows holding the value, now or as committed).
    fn read(
        &self,
        table: &Table,
        condition: String,
        parameters: Vec<i64>,
        equal: Option<(usize, i64)>,
        reading: Reading,
    ) -> Result<Vec<(i64, Vec<Value>)>, SqlError> {
        let _db = self.sqlite();
        if table.is_temp() || reading == Reading::Uncommitted {
            return self.fetch(table, &condition, &parameters);
        }
        let me = self.owner();
        let locks = &self.database.locks;
        if reading == Reading::SkipLocked {
            let mut rows = self.fetch(table, &condition, &parameters)?;
            rows.retain(|(rowid, _)| locks.row_holder(&table.name, *rowid, me).is_none());
            return Ok(rows);
        }
        let seek = equal.filter(|&(ordinal, _)| table.is_seekable(ordinal));
        self.until_granted(|| {
            let Some((ordinal, value)) = seek else {
                if let Some(holder) = locks.scan_holder(&table.name, me) {
                    return Ok(Err(holder));
                }
                return self.fetch(table, &condition, &parameters).map(Ok);
            };
            let rows = self.fetch(table, &condition, &parameters)?;
            let sought = Value::Int(value);
            match locks.seek_holder(&table.name, me, rows.iter().map(|(rowid, _)| *rowid), |committed| {
                committed[ordinal] == sought
            }) {
                Some(holder) => Ok(Err(holder)),
                None => Ok(Ok(rows)),
            }
        })
    }

    /// The rows meeting `condition` (SQL on the storage columns, `?n` bound to `parameters`;
    /// empty for all rows), without a look at locks.
    fn fetch(&self, table: &Table, condition: &str, parameters: &[i64]) -> Result<Vec<(i64, Vec<Value>)>, SqlError> {
        let db = self.sqlite();
        let cols: Vec<String> = (0..table.columns.len()).map(storage_column).collect();
        let condition = if condition.is_empty() { String::new() } else { format!(" WHERE {condition}") };
        let mut stmt = db
            .prepare_cached(&format!("SELECT rowid, {} FROM {}{condition}", cols.join(", "), table.storage_name()))
            .map_err(storage_error)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(parameters)).map_err(storage_error)?;
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

    /// Locks rows read for a change (rowid, values as read), all or none. `false` when it had
    /// to wait for another transaction first: the rows may have changed, read them again.
    pub fn lock_rows(&self, table: &Table, rows: &[(i64, Vec<Value>)]) -> Result<bool, SqlError> {
        if table.is_temp() {
            return Ok(true);
        }
        let _db = self.sqlite();
        let me = self.owner();
        match self.database.locks.lock_rows(
            &table.name,
            me,
            rows.iter().map(|(rowid, values)| (*rowid, values.as_slice())),
        ) {
            Ok(()) => Ok(true),
            Err(holder) => {
                self.wait_for(holder, self.lock_deadline())?;
                Ok(false)
            }
        }
    }

    /// The other transaction holding a changed row that had one of the unique keys of one of
    /// `rows` (the table's values, row after row) when committed: the row would duplicate it if
    /// that transaction rolled back. One look at the locks for a whole batch of rows.
    fn committed_key_holder(&self, table: &Table, rows: &[Value]) -> Option<TransactionId> {
        let mut keys = table.constraints.iter().filter(|k| k.kind.is_unique()).peekable();
        keys.peek()?;
        self.database.locks.seek_holder(&table.name, self.owner(), [], |committed| {
            rows.chunks(table.columns.len().max(1))
                .any(|values| keys.clone().any(|k| table.same_key(k, committed, values)))
        })
    }

    /// The other transaction holding a row (other than `except`) with one of the unique keys
    /// of `encoded` now: the row SQLite found `encoded` to duplicate, which it would not if
    /// that transaction rolled back.
    fn duplicate_holder(
        &self,
        table: &Table,
        encoded: &[DbValue],
        except: Option<i64>,
    ) -> Result<Option<TransactionId>, SqlError> {
        let me = self.owner();
        for key in table.constraints.iter().filter(|k| k.kind.is_unique()) {
            for rowid in self.duplicates(table, key, encoded, except).map_err(storage_error)? {
                if let Some(holder) = self.database.locks.row_holder(&table.name, rowid, me) {
                    return Ok(Some(holder));
                }
            }
        }
        Ok(None)
    }

    /// The rows other than `except` whose values of `key` equal `values`' with NULL equal to
    /// NULL, as SQL Server's unique keys compare (SQLite lets any number of NULLs in).
    fn duplicates(
        &self,
        table: &Table,
        key: &Constraint,
        values: &[DbValue],
        except: Option<i64>,
    ) -> Result<Vec<i64>, rusqlite::Error> {
        let conditions: Vec<String> =
            key.columns.iter().enumerate().map(|(n, &i)| format!("{} IS ?{}", storage_column(i), n + 1)).collect();
        let except_clause = except.map_or(String::new(), |rowid| format!(" AND rowid <> {rowid}"));
        let sql =
            format!("SELECT rowid FROM {} WHERE {}{except_clause}", table.storage_name(), conditions.join(" AND "));
        let key_values: Vec<&DbValue> = key.columns.iter().map(|&i| &values[i]).collect();
        let db = self.sqlite();
        let mut stmt = db.prepare_cached(&sql)?;
        let rowids = stmt.query_map(rusqlite::params_from_iter(key_values), |r| r.get(0))?;
        rowids.collect()
    }

    /// The error SQLite gives for a unique key `key`, for keys with a NULL it does not check itself.
    fn check_null_keys(&self, table: &Table, values: &[DbValue], except: Option<i64>) -> Result<(), rusqlite::Error> {
        for key in table.constraints.iter().filter(|k| k.kind.is_unique()) {
            if key.columns.iter().any(|&i| values[i] == DbValue::Null)
                && !self.duplicates(table, key, values, except)?.is_empty()
            {
                let columns: Vec<String> =
                    key.columns.iter().map(|&i| format!("{}.{}", table.storage_name(), storage_column(i))).collect();
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

    /// Writes a row with `write` (which SQLite may refuse for a unique key), waiting first for
    /// another transaction that holds a row with one of its keys: SQL Server's key locks.
    fn write_row(
        &self,
        table: &Table,
        values: &[Value],
        except: Option<i64>,
        write: impl Fn(&[DbValue]) -> Result<(), rusqlite::Error>,
    ) -> Result<(), WriteError> {
        let encoded = encode_row(table, values);
        let locking = !table.is_temp();
        self.until_granted(|| {
            if let Some(holder) = self.committed_key_holder(table, values).filter(|_| locking) {
                return Ok(Err(holder));
            }
            match self.check_null_keys(table, &encoded, except).and_then(|()| write(&encoded)) {
                Ok(()) => Ok(Ok(())),
                Err(e) if locking && is_unique_violation(&e) => {
                    match self.duplicate_holder(table, &encoded, except)? {
                        Some(holder) => Ok(Err(holder)),
                        None => Err(WriteError::Refused(e)),
                    }
                }
                Err(e) => Err(WriteError::Refused(e)),
            }
        })
    }

    /// Inserts one row (values in column order, already of the columns' types).
    pub fn insert(&self, table: &Table, values: &[Value]) -> Result<(), WriteError> {
        self.insert_row(table, &insert_sql(table, 1), values)
    }

    /// Inserts one row with `sql`, the table's one-row INSERT.
    fn insert_row(&self, table: &Table, sql: &str, values: &[Value]) -> Result<(), WriteError> {
        let db = self.sqlite();
        self.write_row(table, values, None, |encoded| {
            db.prepare_cached(sql)?.execute(rusqlite::params_from_iter(encoded)).map(drop)
        })?;
        let rowid = db.last_insert_rowid();
        self.record_inserted(table, rowid, rowid);
        Ok(())
    }

    /// Locks and logs for undo the rows `first..=last` just inserted into `table`.
    fn record_inserted(&self, table: &Table, first: i64, last: i64) {
        if !table.is_temp() {
            self.database.locks.lock_inserted(&table.name, self.owner(), first, last);
        }
        self.state().undo.push_inserted(&table.name, first, last);
    }

    /// A writer of many rows into `table` (a bulk load), its INSERTs written once (the statement
    /// cache keeps them prepared from one load to the next).
    pub fn inserter<'a>(&'a self, table: &'a Table) -> Inserter<'a> {
        let batch_rows = (MAX_PARAMETERS / table.columns.len().max(1)).clamp(1, INSERT_BATCH_ROWS);
        Inserter {
            store: self,
            table,
            one_row: insert_sql(table, 1),
            batch_sql: insert_sql(table, batch_rows),
            batch: None,
            batch_rows,
        }
    }

    /// Puts back a row that was deleted, under its own rowid.
    fn insert_with_rowid(&self, table: &Table, rowid: i64, values: &[Value]) -> Result<(), SqlError> {
        let cols: Vec<String> = (0..values.len()).map(storage_column).collect();
        let marks: Vec<String> = (2..=values.len() + 1).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({ROWID_COLUMN}, {}) VALUES (?1, {})",
            table.storage_name(),
            cols.join(", "),
            marks.join(", ")
        );
        let mut encoded = vec![DbValue::Integer(rowid)];
        encoded.extend(encode_row(table, values));
        self.sqlite()
            .prepare_cached(&sql)
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(encoded)))
            .map(drop)
            .map_err(storage_error)
    }

    /// Replaces the row `rowid`, locked by `lock_rows`, which held `old`, with `new`.
    pub fn update(&self, table: &Table, rowid: i64, old: &[Value], new: &[Value]) -> Result<(), WriteError> {
        let db = self.sqlite();
        let sets: Vec<String> = (0..new.len()).map(|i| format!("{} = ?{}", storage_column(i), i + 1)).collect();
        let sql = format!("UPDATE {} SET {} WHERE rowid = ?{}", table.storage_name(), sets.join(", "), new.len() + 1);
        self.write_row(table, new, Some(rowid), |encoded| {
            let rowid = DbValue::Integer(rowid);
            let parameters = encoded.iter().chain(std::iter::once(&rowid));
            db.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(parameters)).map(drop)
        })?;
        self.state().undo.push(Change::Updated { table: table.name.as_str().into(), rowid, old: old.to_vec() });
        Ok(())
    }

    /// Deletes the row `rowid`, locked by `lock_rows`, which held `old`.
    pub fn delete(&self, table: &Table, rowid: i64, old: &[Value]) -> Result<(), SqlError> {
        self.sqlite()
            .prepare_cached(&format!("DELETE FROM {} WHERE rowid = ?1", table.storage_name()))
            .and_then(|mut s| s.execute([rowid]))
            .map_err(storage_error)?;
        self.state().undo.push(Change::Deleted { table: table.name.as_str().into(), rowid, old: old.to_vec() });
        Ok(())
    }

    /// The rows of `table` the last statement changed, in the order it changed them.
    pub fn statement_changes(&self, table: &Table) -> Result<Vec<ChangedRow>, SqlError> {
        let changes: Vec<Change> = {
            let state = self.state();
            state.undo.since(state.statement_start).to_vec()
        };
        let of_table = |name: &str| name.eq_ignore_ascii_case(&table.name);
        let mut out = Vec::new();
        for change in changes {
            match change {
                Change::Inserted { table: name, first, last } if of_table(&name) => {
                    let rows = self.fetch(table, "rowid BETWEEN ?1 AND ?2", &[first, last])?;
                    out.extend(rows.into_iter().map(|(_, now)| (Some(now), None)));
                }
                Change::Updated { table: name, rowid, old } if of_table(&name) => {
                    let now = self.fetch(table, "rowid = ?1", &[rowid])?.pop().map(|(_, values)| values);
                    out.push((now, Some(old)));
                }
                Change::Deleted { table: name, old, .. } if of_table(&name) => out.push((None, Some(old))),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Rows per multi-row INSERT of a bulk load: fewer statement executions, and a batch SQLite
/// refuses is cheap to write again row by row.
const INSERT_BATCH_ROWS: usize = 64;
/// SQLite's limit on a statement's parameters (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
const MAX_PARAMETERS: usize = 32766;

/// Writes many rows into one table as `Store::insert` writes each: the same key checks,
/// locks, undo log and errors. Up to `batch_rows` rows go in one INSERT when no key check
/// could tell them apart; a batch SQLite refuses is undone by SQLite and written again row
/// by row, so the row at fault fails as it would alone.
pub struct Inserter<'a> {
    store: &'a Store,
    table: &'a Table,
    /// The table's one-row INSERT
    one_row: String,
    /// The table's INSERT of `batch_rows` rows
    batch_sql: String,
    /// `batch_sql` prepared, held for the whole load: taking it from the statement cache and
    /// giving it back cost a hash of its text and a clearing of its bindings per batch
    batch: Option<CachedStatement<'a>>,
    batch_rows: usize,
}

impl<'a> Inserter<'a> {
    /// How many rows `insert` takes at most.
    pub fn batch_rows(&self) -> usize {
        self.batch_rows
    }

    /// Inserts rows given one after another, each the table's values in column order, already
    /// of the columns' types; on failure the rows before the one that failed (its index here)
    /// are inserted.
    pub fn insert(&mut self, rows: &[Value]) -> Result<(), (usize, WriteError)> {
        let columns = self.table.columns.len();
        let count = rows.len() / columns.max(1);
        if count > 1 && self.needs_no_key_checks(rows) && self.insert_batch(rows, count).is_ok() {
            return Ok(());
        }
        for (index, row) in rows.chunks(columns).enumerate() {
            self.store.insert_row(self.table, &self.one_row, row).map_err(|e| (index, e))?;
        }
        Ok(())
    }

    /// Whether writing `rows` one by one would find no key held by another transaction and
    /// check no NULL key itself (SQLite checks the rest of the unique keys of a batch).
    fn needs_no_key_checks(&self, rows: &[Value]) -> bool {
        let table = self.table;
        let mut keys = table.constraints.iter().filter(|k| k.kind.is_unique()).peekable();
        if keys.peek().is_none() {
            return true;
        }
        rows.chunks(table.columns.len()).all(|row| keys.clone().all(|k| k.columns.iter().all(|&i| !row[i].is_null())))
            && (table.is_temp() || self.store.committed_key_holder(table, rows).is_none())
    }

    /// One INSERT of `count` rows (`batch_rows` or fewer); SQLite undoes all of it when it fails.
    fn insert_batch(&mut self, rows: &[Value], count: usize) -> rusqlite::Result<()> {
        let db = self.store.sqlite();
        let mut tail;
        let statement = if count == self.batch_rows {
            match &mut self.batch {
                Some(statement) => statement,
                batch => batch.insert(self.store.conn.prepare_cached(&self.batch_sql)?),
            }
        } else {
            tail = self.store.conn.prepare_cached(&insert_sql(self.table, count))?;
            &mut tail
        };
        let types = self.table.columns.iter().map(|c| &c.ty).cycle();
        for (index, (value, ty)) in rows.iter().zip(types).enumerate() {
            bind(statement, index + 1, value, ty)?;
        }
        statement.raw_execute()?;
        // one statement of an AUTOINCREMENT table, while the session has its turn: consecutive rowids
        let last = db.last_insert_rowid();
        self.store.record_inserted(self.table, last - count as i64 + 1, last);
        Ok(())
    }
}

/// The INSERT of `rows` rows of all the table's columns.
fn insert_sql(table: &Table, rows: usize) -> String {
    let columns = table.columns.len();
    let names: Vec<String> = (0..columns).map(storage_column).collect();
    let row = format!("({})", vec!["?"; columns].join(", "));
    format!("INSERT INTO {} ({}) VALUES {}", table.storage_name(), names.join(", "), vec![row; rows].join(", "))
}

impl Drop for Store {
    /// A session that ends with its transaction open (disconnect, kill) rolls it back.
    fn drop(&mut self) {
        if let Err(e) = self.end_transaction(false) {
            eprintln!("tds-server: rolling back the transaction of session {}: {}", self.spid, e.text);
        }
    }
}

fn module_of_row(row: &rusqlite::Row) -> rusqlite::Result<Module> {
    let kind: String = row.get(1)?;
    let offset: i64 = row.get(3)?;
    Ok(Module {
        name: row.get(0)?,
        kind: ModuleKind::from_code(&kind),
        definition: row.get(2)?,
        body_offset: offset as usize,
    })
}

fn encode_row(table: &Table, values: &[Value]) -> Vec<DbValue> {
    values.iter().zip(&table.columns).map(|(v, c)| encode(v, &c.ty)).collect()
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

/// Binds parameter `index` to the stored form of a value of a column of type `ty` (`encode`'s)
/// without copying its text or bytes first, nor allocating a decimal's text: SQLite copies
/// what it is given.
fn bind(statement: &mut Statement, index: usize, v: &Value, ty: &SqlType) -> rusqlite::Result<()> {
    match v {
        Value::Str(s) => statement.raw_bind_parameter(index, s.as_str()),
        Value::Bytes(b) => statement.raw_bind_parameter(index, b.as_slice()),
        Value::Guid(g) => statement.raw_bind_parameter(index, g.as_slice()),
        Value::Decimal(u, s) => statement.raw_bind_parameter(index, DecimalString::new(*u, *s).as_str()),
        _ => statement.raw_bind_parameter(index, encode(v, ty)),
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
