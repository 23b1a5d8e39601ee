//! Executes requests for one session and describes the response as `Event`s,
//! which the protocol layer turns into tokens. Part 1: SELECTs without tables.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::sql::convert::convert;
use crate::sql::describe::{describe_parameters, first_result_set, undeclared_parameters};
use crate::sql::eval::{eval, eval_condition, ColumnValue, Scope, Typed, Variables};
use crate::sql::parser::{
    parse_batch, parse_param_declarations, Argument, ArithmeticOperator, Condition, Expr, SelectItem, SqlError,
    Statement,
};
use crate::sql::{arithmetic, raise};
use crate::tables::preparse::Segment;
use crate::tables::store::{Database, Store};
use crate::tables::{self, Piece};
use crate::tokens::{CURCMD_EXECUTE as CMD_EXECUTE, CURCMD_SELECT as CMD_SELECT, DONE_COUNT, DONE_ERROR};
use crate::types::{self, ColumnDef, SqlType};
use crate::value::Value;
use crate::{catalog_procedures, control, definitions, procedures};

/// Per-connection state shared by the protocol layer and the engine.
#[derive(Debug)]
pub struct Session {
    pub spid: u16,
    pub user: String,
    /// The application name the login gave (APP_NAME())
    pub application: String,
    pub database: String,
    pub server_name: String,
    /// Transaction descriptor of the open transaction (ENVCHANGE 8/9/10), if any.
    pub transaction: Option<u64>,
    pub next_transaction_descriptor: u64,
    /// `SET` options as given, upper-cased name -> value text. NOCOUNT, FMTONLY, TEXTSIZE and
    /// XACT_ABORT change what the engine answers; the others are only recorded.
    pub options: HashMap<String, String>,
    /// Handles of sp_prepare / sp_prepexec.
    pub prepared: PreparedStatements,
    /// The server's database of tables (`None`: the process's own, for sessions without a server)
    /// and the session's connection to it, opened by the first statement that needs it.
    pub tables: Option<Arc<Database>>,
    pub store: Option<Store>,
    /// @@ROWCOUNT
    pub row_count: u64,
    /// @@IDENTITY and SCOPE_IDENTITY(): the last identity value inserted by the session, and in
    /// the current scope (a batch, or the statement of an sp_executesql/sp_execute)
    pub identity: Option<i64>,
    pub scope_identity: Option<i64>,
    /// @@TRANCOUNT and the savepoints of the open transaction
    pub nesting: tables::transaction::Nesting,
    /// The load an INSERT BULK announced, waiting for its BulkLoad message
    pub bulk_load: Option<tables::bulk::BulkTarget>,
    /// @@ERROR: the error number of the last statement, 0 when it succeeded
    pub last_error: i32,
    /// The error the innermost running CATCH block handles (ERROR_NUMBER() ...)
    pub handled_error: Option<Message>,
    /// @@NESTLEVEL: how deep in stored procedure calls the session runs
    pub nesting_level: u32,
    /// TRY blocks the session runs in (of the batch and the procedures that called the current one)
    pub catching: u32,
    /// Plain SELECTs give their rows as `EncodedRows` instead of one `Row` each: set by the
    /// protocol layer, which only sends them (engine tests read the values)
    pub encode_rows: bool,
}

impl Session {
    /// A new session after login: no transaction, no options, nothing prepared.
    pub fn new(spid: u16, user: &str, database: &str, server_name: &str) -> Session {
        Session {
            spid,
            user: user.to_string(),
            application: String::new(),
            database: database.to_string(),
            server_name: server_name.to_string(),
            transaction: None,
            next_transaction_descriptor: 1,
            options: HashMap::new(),
            prepared: PreparedStatements::default(),
            tables: None,
            store: None,
            row_count: 0,
            identity: None,
            scope_identity: None,
            nesting: Default::default(),
            bulk_load: None,
            last_error: 0,
            handled_error: None,
            nesting_level: 0,
            catching: 0,
            encode_rows: false,
        }
    }

    /// The session of a login that named its application.
    pub fn with_application(self, application: &str) -> Session {
        Session { application: application.to_string(), ..self }
    }

    /// The session on `tables`, its server's database.
    pub fn with_tables(self, tables: Arc<Database>) -> Session {
        Session { tables: Some(tables), ..self }
    }
}

/// One RPC parameter as decoded from the request.
#[derive(Clone, Debug)]
pub struct RpcParam {
    /// As sent, including a leading '@'; empty when the client sent it unnamed.
    pub name: String,
    /// fByRefValue (0x01) / fDefaultValue (0x02) bits.
    pub status: u8,
    pub ty: SqlType,
    pub value: Value,
}

#[derive(Clone, Debug)]
pub enum RpcTarget {
    /// ProcIDSwitch: 10 sp_executesql, 11 sp_prepare, 12 sp_execute, 13 sp_prepexec, 15 sp_unprepare ...
    ProcId(u16),
    Name(String),
}

#[derive(Clone, Debug)]
pub struct RpcRequest {
    pub target: RpcTarget,
    pub option_flags: u16,
    pub params: Vec<RpcParam>,
}

/// An ERROR (0xAA) or INFO (0xAB) token's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub number: i32,
    pub state: u8,
    pub class: u8,
    pub text: String,
    pub procedure: String,
    pub line: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoneKind {
    Done,
    DoneProc,
    DoneInProc,
}

/// DONE-family token. `status` holds DONE_ERROR (0x2), DONE_COUNT (0x10), DONE_ATTN (0x20) ...;
/// the protocol layer sets DONE_MORE (0x1) itself on every DONE but the last of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    pub kind: DoneKind,
    pub status: u16,
    pub cur_cmd: u16,
    pub row_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvChange {
    Database { new: String, old: String },
    Language { new: String, old: String },
    PacketSize { new: u32, old: u32 },
    Collation { new: [u8; 5] },
    BeginTransaction { descriptor: u64 },
    CommitTransaction { descriptor: u64 },
    RollbackTransaction { descriptor: u64 },
}

/// What a request produced, in order; each maps to one token except `Delay`.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    ColMetadata(Vec<ColumnDef>),
    /// A row of the most recent ColMetadata.
    Row(Vec<Value>),
    /// Rows of the most recent ColMetadata, already encoded as ROW tokens.
    EncodedRows(EncodedRows),
    Done(Done),
    Error(Message),
    Info(Message),
    EnvChange(EnvChange),
    ReturnStatus(i32),
    ReturnValue {
        ordinal: u16,
        name: String,
        status: u8,
        column: ColumnDef,
        value: Value,
    },
    /// `WAITFOR DELAY`: the protocol layer waits, answering an Attention with DONE_ATTN.
    Delay(Duration),
}

/// ROW tokens of consecutive rows, with where each ends: a big result held this way takes about
/// what it takes on the wire, a tenth of its values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodedRows {
    tokens: Vec<u8>,
    ends: Vec<usize>,
}

impl EncodedRows {
    /// Appends a row of `columns`; a value they cannot encode appends nothing and is returned as `Err`.
    pub fn push(&mut self, columns: &[ColumnDef], row: &[Value]) -> Result<(), String> {
        types::write_row(&mut self.tokens, columns, row)?;
        self.ends.push(self.tokens.len());
        Ok(())
    }

    /// The encoded bytes.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each row's ROW token, in order.
    pub fn rows(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.tokens[start..end])
    }

    /// All the rows' tokens.
    pub fn tokens(&self) -> &[u8] {
        &self.tokens
    }
}

/// Statements prepared by sp_prepare / sp_prepexec, by handle.
#[derive(Debug, Default)]
pub struct PreparedStatements {
    statements: HashMap<i32, Prepared>,
    next_handle: i32,
}

#[derive(Clone, Debug)]
struct Prepared {
    declarations: String,
    statement: String,
}

impl PreparedStatements {
    fn insert(&mut self, prepared: Prepared) -> i32 {
        self.next_handle += 1;
        self.statements.insert(self.next_handle, prepared);
        self.next_handle
    }
}

/// CurCmd values SQL Server reports (seen in its traffic).
const CMD_SET: u16 = 0xBA;
const CMD_SET_TRANSACTION: u16 = 0xF9;
const CMD_USE: u16 = 0xC5;
const CMD_WAITFOR: u16 = 0xBF;
/// PRINT, RAISERROR and THROW (not confirmed against SQL Server's traffic).
const CMD_MESSAGE: u16 = 0xC2;

/// The databases of this server: SQL Server's system databases, in database_id order.
pub const DATABASES: &[&str] = &["master", "tempdb", "model", "msdb"];

/// The database named `name` (case-insensitively, as under the default collation), in its
/// own spelling; `None` when there is none (SQL Server's 911 for USE, 4060 at login).
pub fn find_database(name: &str) -> Option<&'static str> {
    DATABASES.iter().find(|d| d.eq_ignore_ascii_case(name)).copied()
}

/// Ends the table store's side of a transaction the protocol layer ended (TransMgrReq
/// commit/rollback, after it took `Session::transaction`); a failing COMMIT comes back as an ERROR.
pub fn end_transaction(session: &mut Session, commit: bool) -> Vec<Event> {
    match tables::end_transaction(session, commit) {
        Ok(()) => Vec::new(),
        Err(e) => vec![Event::Error(message(&e, 1))],
    }
}

/// RESETCONNECTION / RESETCONNECTIONSKIPTRAN (MS-TDS 2.2.3.1.2): the session as a new login to
/// `database` would find it (SET options, database, prepared handles, @@IDENTITY, @@ERROR, no
/// #temp tables), its open transaction rolled back unless `keep_transaction`. Returns the errors of a
/// rollback or drop that failed.
pub fn reset_session(session: &mut Session, database: &str, keep_transaction: bool) -> Vec<Message> {
    session.options.clear();
    session.database = database.to_string();
    session.prepared = Default::default();
    session.row_count = 0;
    session.last_error = 0;
    session.identity = None;
    session.scope_identity = None;
    session.bulk_load = None;
    let mut errors = Vec::new();
    if !keep_transaction && session.transaction.take().is_some() {
        errors.extend(tables::end_transaction(session, false).err().map(|e| message(&e, 1)));
    }
    errors.extend(tables::drop_temp_tables(session).err().map(|e| message(&e, 1)));
    errors
}

/// Runs a SQLBatch's text.
pub fn execute_batch(session: &mut Session, sql: &str) -> Vec<Event> {
    let mut events = Vec::new();
    if let Err(e) = tables::store(session) {
        fail(&mut events, DoneKind::Done, e, 0, 1);
        return events;
    }
    let mut variables = Variables::new();
    session.scope_identity = None;
    session.handled_error = None;
    control::run(session, sql, &mut variables, DoneKind::Done, &mut events);
    events
}

/// The ERROR content of `e`, on its own line or else on `line` (the statement's).
fn message(e: &SqlError, line: u32) -> Message {
    let line = if e.line != 0 { e.line } else { line };
    Message {
        number: e.number,
        state: e.state(),
        class: e.class,
        text: e.text.clone(),
        procedure: String::new(),
        line: line as i32,
    }
}

pub(crate) fn done(kind: DoneKind, status: u16, cur_cmd: u16, row_count: u64) -> Event {
    Event::Done(Done { kind, status, cur_cmd, row_count })
}

/// Runs statements, appending their events; returns false when one failed (which ends the batch).
/// Batches that touch tables are split by the table front end; the rest is part-1 T-SQL.
pub(crate) fn run_batch(
    session: &mut Session,
    sql: &str,
    variables: &mut Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    if let Some(segments) = tables::preparse::split(sql) {
        return run_segments(session, segments, variables, kind, events);
    }
    if !tables::involves_tables(sql) {
        return run_table_less(session, sql, variables, kind, events);
    }
    let pieces = match tables::split_batch(sql) {
        Ok(p) => p,
        Err(e) => return fail_compiling(events, kind, e, 1),
    };
    for piece in pieces {
        let start = events.len();
        // the part-1 statements record @@ERROR one by one themselves
        let piece_was_table = matches!(piece, Piece::Table(..));
        let ok = match piece {
            Piece::Table(statement, line) => match tables::variable_assignments(&statement) {
                Some((targets, query)) => assign_from_query(session, &targets, &query, line, variables, kind, events),
                None => tables::run_statement(session, &statement, line, variables, kind, events),
            },
            Piece::Other(text) => run_table_less(session, &text, variables, kind, events),
        };
        if piece_was_table {
            note_error(session, &events[start..]);
        }
        if !ok {
            abort_transaction_if_xact_abort(session, events);
            return false;
        }
    }
    true
}

/// Runs a batch cut around its pre-parsed statements.
fn run_segments(
    session: &mut Session,
    segments: Result<Vec<Segment>, SqlError>,
    variables: &mut Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    let segments = match segments {
        Ok(segments) => segments,
        Err(e) => return fail(events, kind, e, 0, 1),
    };
    for segment in segments {
        let ok = match segment {
            Segment::Text(text) => run_batch(session, &text, variables, kind, events),
            Segment::Statement(statement, line) => {
                let start = events.len();
                let ok = tables::preparse::run(session, &statement, line, variables, kind, events);
                note_error(session, &events[start..]);
                if !ok {
                    abort_transaction_if_xact_abort(session, events);
                }
                ok
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Runs part-1 statements (no tables), compiled together first as SQL Server compiles a batch.
fn run_table_less(
    session: &mut Session,
    sql: &str,
    variables: &mut Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    let statements = match parse_batch(sql) {
        Ok(s) => s,
        Err(e) => return fail_compiling(events, kind, e, 1),
    };
    // SQL Server compiles the whole batch first: a typing error runs none of it
    let mut declared = variables.clone();
    let mut fresh = HashSet::new();
    for (statement, line) in &statements {
        if let Err(e) = compile(session, statement, &mut declared, &mut fresh) {
            return fail_compiling(events, kind, e, *line);
        }
    }
    for (statement, line) in &statements {
        let start = events.len();
        let ok = run_statement(session, statement, *line, variables, kind, events);
        session.row_count = match events.last() {
            Some(Event::Done(d)) if ok => d.row_count,
            _ => 0,
        };
        note_error(session, &events[start..]);
        if !ok {
            abort_transaction_if_xact_abort(session, events);
            return false;
        }
    }
    true
}

/// @@ERROR after a statement: the number of its error, 0 when it had none.
pub(crate) fn note_error(session: &mut Session, statement_events: &[Event]) {
    session.last_error = statement_events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Error(m) => Some(m.number),
            _ => None,
        })
        .unwrap_or(0);
}

/// Types a statement before the batch runs, declaring its variables in `declared`; `fresh` holds
/// the names this compilation declared (a second DECLARE of one is SQL Server's 134).
fn compile(
    session: &Session,
    statement: &Statement,
    declared: &mut Variables,
    fresh: &mut HashSet<String>,
) -> Result<(), SqlError> {
    let typing = |e: &Expr, declared: &Variables| eval(e, &scope(session, declared, &[])).map(|t| t.ty);
    let check_filter = |filter: &Option<Condition>, declared: &Variables| {
        filter.as_ref().map_or(Ok(()), |f| eval_condition(f, &scope(session, declared, &[])).map(|_| ()))
    };
    match statement {
        Statement::Select(items, filter) => {
            select_columns(session, items, declared)?;
            check_filter(filter, declared)
        }
        Statement::Declare(list) => {
            for (name, ty, init) in list {
                if let Some(e) = init {
                    typing(e, declared)?;
                }
                let key = name.to_lowercase();
                if !fresh.insert(key.clone()) {
                    let e = SqlError::new(
                        134,
                        format!("The variable name '{name}' has already been declared. Variable names must be unique within a query batch or stored procedure."),
                    );
                    // a compile error: level 15
                    return Err(SqlError { class: 15, ..e });
                }
                declared.insert(key, (ty.clone(), Value::Null));
            }
            Ok(())
        }
        Statement::SetVariable(name, _, e) => {
            declared_variable(declared, name)?;
            typing(e, declared).map(|_| ())
        }
        Statement::SelectAssign(assignments, filter) => {
            for (name, e) in assignments {
                declared_variable(declared, name)?;
                typing(e, declared)?;
            }
            check_filter(filter, declared)
        }
        Statement::Print(e) => typing(e, declared).map(|_| ()),
        Statement::RaiseError { message, severity, state, arguments, .. } => {
            for e in [message, severity, state].into_iter().chain(arguments) {
                typing(e, declared)?;
            }
            Ok(())
        }
        Statement::Throw(Some((number, message, state))) => {
            for e in [number, message, state] {
                typing(e, declared)?;
            }
            Ok(())
        }
        Statement::Throw(None) => raise::rethrow(session.handled_error.as_ref()).map(|_| ()),
        Statement::Execute { status, arguments, .. } => {
            if let Some(name) = status {
                declared_variable(declared, name)?;
            }
            for a in arguments {
                if let Some(e) = &a.value {
                    typing(e, declared)?;
                }
            }
            Ok(())
        }
        Statement::ExecuteString(e) => typing(e, declared).map(|_| ()),
        _ => Ok(()),
    }
}

/// The declared type of a variable (SQL Server's 137 when there is none).
fn declared_variable(variables: &Variables, name: &str) -> Result<SqlType, SqlError> {
    variables
        .get(&name.to_lowercase())
        .map(|(ty, _)| ty.clone())
        .ok_or_else(|| SqlError::new(137, format!("Must declare the scalar variable \"{name}\".")))
}

/// Assigns `value` of type `from` to a variable, converted to the variable's declared type.
fn assign_variable(variables: &mut Variables, name: &str, from: &SqlType, value: &Value) -> Result<(), SqlError> {
    let ty = declared_variable(variables, name)?;
    let converted = convert(value, from, &ty)?;
    variables.insert(name.to_lowercase(), (ty, converted));
    Ok(())
}

/// `SELECT @a = expr, ... FROM ...`: each variable takes its expression's value in the last row
/// (none when there is no row); @@ROWCOUNT is the number of rows.
fn assign_from_query(
    session: &mut Session,
    targets: &[String],
    query: &sqlparser::ast::Query,
    line: u32,
    variables: &mut Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    let assigned = targets.iter().try_for_each(|name| declared_variable(variables, name).map(|_| ())).and_then(|()| {
        let row_by_row = tables::assign_rows(session, targets, query, variables, |variables, name, typed, value| {
            assign_variable(variables, name, &typed.ty, &value)
        })?;
        if let Some(count) = row_by_row {
            return Ok(count);
        }
        let (columns, rows) = tables::query_rows(session, query, variables)?;
        if let Some(last) = rows.last() {
            for ((name, column), value) in targets.iter().zip(&columns).zip(last) {
                assign_variable(variables, name, &column.ty, value)?;
            }
        }
        Ok(rows.len() as u64)
    });
    match assigned {
        Ok(count) => {
            let count_status = if option_on(session, "NOCOUNT") { 0 } else { DONE_COUNT };
            events.push(done(kind, count_status, CMD_SELECT, count));
            session.row_count = count;
            true
        }
        Err(e) => fail(events, kind, e, CMD_SELECT, line),
    }
}

/// `@name = e`, or `@name op= e`: evaluates and assigns, converting to the variable's type.
fn assign_expression(
    session: &Session,
    variables: &mut Variables,
    name: &str,
    op: Option<ArithmeticOperator>,
    e: &Expr,
) -> Result<(), SqlError> {
    let scope = scope(session, variables, &[]);
    let typed = match op {
        None => eval(e, &scope)?,
        Some(op) => {
            let current = eval(&Expr::Variable(name.to_string()), &scope)?;
            arithmetic::binary(op, current, eval(e, &scope)?, false, *e == Expr::Null)?
        }
    };
    let value = typed.value?;
    assign_variable(variables, name, &typed.ty, &value)
}

/// Appends what PRINT/RAISERROR/THROW raised and the statement's DONE; returns whether the batch goes on.
fn report_raised(
    raised: Result<raise::Raised, SqlError>,
    kind: DoneKind,
    cur_cmd: u16,
    line: u32,
    events: &mut Vec<Event>,
) -> bool {
    match raised {
        Ok(raise::Raised::Info(m)) => {
            events.push(Event::Info(m));
            events.push(done(kind, 0, cur_cmd, 0));
            true
        }
        Ok(raise::Raised::Error { message, ends_batch }) => {
            events.push(Event::Error(message));
            events.push(done(kind, DONE_ERROR, cur_cmd, 0));
            !ends_batch
        }
        Err(e) => fail(events, kind, e, cur_cmd, line),
    }
}

/// With SET XACT_ABORT ON a run-time error rolls the open transaction back, and a deadlock
/// victim's transaction is rolled back already; the ENVCHANGE goes before the failing
/// statement's DONE.
fn abort_transaction_if_xact_abort(session: &mut Session, events: &mut Vec<Event>) {
    if !tables::rolled_back_by_server(session) && !option_on(session, "XACT_ABORT") {
        return;
    }
    if let Some(descriptor) = session.transaction.take() {
        let at = events.len().saturating_sub(1);
        events.insert(at, Event::EnvChange(EnvChange::RollbackTransaction { descriptor }));
        if let Err(e) = tables::end_transaction(session, false) {
            events.insert(at, Event::Error(message(&e, 0)));
        }
    }
}

/// Appends the error of a batch that does not compile; returns false (none of it runs).
fn fail_compiling(events: &mut Vec<Event>, kind: DoneKind, e: SqlError, line: u32) -> bool {
    fail(events, kind, e, 0, line);
    false
}

/// Appends a statement's error and its DONE_ERROR; returns whether the batch goes on.
pub(crate) fn fail(events: &mut Vec<Event>, kind: DoneKind, e: SqlError, cur_cmd: u16, line: u32) -> bool {
    events.push(Event::Error(message(&e, line)));
    events.push(done(kind, DONE_ERROR, cur_cmd, 0));
    tables::ends_statement_only(&e)
}

fn option_on(session: &Session, name: &str) -> bool {
    session.options.get(name).is_some_and(|v| v.eq_ignore_ascii_case("ON"))
}

fn run_statement(
    session: &mut Session,
    statement: &Statement,
    line: u32,
    variables: &mut Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    match statement {
        Statement::Declare(list) => {
            let mut assigned = false;
            for (name, ty, init) in list {
                // run again (in a loop), a DECLARE without a value keeps the variable's
                variables.entry(name.to_lowercase()).or_insert_with(|| (ty.clone(), Value::Null));
                if let Some(e) = init {
                    assigned = true;
                    if let Err(e) = assign_expression(session, variables, name, None, e) {
                        return fail(events, kind, e, CMD_SET, line);
                    }
                }
            }
            // a declaration alone is no statement that runs
            if assigned {
                events.push(done(kind, 0, CMD_SET, 1));
            }
            true
        }
        Statement::SetVariable(name, op, e) => {
            match assign_expression(session, variables, name, *op, e) {
                // a simple assignment sets @@ROWCOUNT to 1 (the DONE's count without DONE_COUNT)
                Ok(()) => {
                    events.push(done(kind, 0, CMD_SET, 1));
                    true
                }
                Err(e) => fail(events, kind, e, CMD_SET, line),
            }
        }
        Statement::SelectAssign(assignments, filter) => {
            let condition =
                |f: &Condition| eval_condition(f, &scope(session, variables, &[])).map(|t| t.map(|t| t == Some(true)));
            let qualifies = match filter.as_ref().map_or(Ok(Ok(true)), condition) {
                Ok(Ok(q)) => q,
                Ok(Err(e)) | Err(e) => return fail(events, kind, e, CMD_SELECT, line),
            };
            if qualifies {
                for (name, e) in assignments {
                    if let Err(e) = assign_expression(session, variables, name, None, e) {
                        return fail(events, kind, e, CMD_SELECT, line);
                    }
                }
            }
            let count_status = if option_on(session, "NOCOUNT") { 0 } else { DONE_COUNT };
            events.push(done(kind, count_status, CMD_SELECT, qualifies as u64));
            true
        }
        Statement::Select(items, filter) => {
            let scope = scope(session, variables, &[]);
            let mut columns = Vec::new();
            let mut row = Vec::new();
            let mut runtime_error = None;
            for item in items {
                let typed = match eval(&item.expr, &scope) {
                    Ok(t) => t,
                    Err(e) => return fail(events, kind, e, CMD_SELECT, line),
                };
                columns.push(expression_column(&item.name, &typed));
                match typed.value {
                    Ok(v) => row.push(v),
                    Err(e) => {
                        runtime_error.get_or_insert(e);
                    }
                }
            }
            // WHERE decides first whether there is a row at all, and so whether its values are computed
            let condition = |f: &Condition| eval_condition(f, &scope).map(|t| t.map(|t| t == Some(true)));
            let qualifies = match filter.as_ref().map_or(Ok(Ok(true)), condition) {
                Ok(Ok(q)) => q,
                Ok(Err(e)) | Err(e) => {
                    events.push(Event::ColMetadata(columns));
                    return fail(events, kind, e, CMD_SELECT, line);
                }
            };
            let count_status = if option_on(session, "NOCOUNT") { 0 } else { DONE_COUNT };
            if !qualifies {
                events.push(Event::ColMetadata(columns));
                events.push(done(kind, count_status, CMD_SELECT, 0));
                return true;
            }
            let runtime_error = runtime_error.map_or_else(|| apply_textsize(session, &columns, &mut row).err(), Some);
            events.push(Event::ColMetadata(columns));
            if let Some(e) = runtime_error {
                return fail(events, kind, e, CMD_SELECT, line);
            }
            if option_on(session, "FMTONLY") {
                events.push(done(kind, count_status, CMD_SELECT, 0));
                return true;
            }
            events.push(Event::Row(row));
            events.push(done(kind, count_status, CMD_SELECT, 1));
            true
        }
        Statement::Set { option, value } => match set_option(session, option, value, events) {
            Ok(cur_cmd) => {
                events.push(done(kind, 0, cur_cmd, 0));
                true
            }
            Err(e) => fail(events, kind, e, CMD_SET, line),
        },
        Statement::Use(db) => {
            let Some(name) = find_database(db) else {
                return fail(
                    events,
                    kind,
                    SqlError::new(
                        911,
                        format!("Database '{db}' does not exist. Make sure that the name is entered correctly."),
                    ),
                    CMD_USE,
                    line,
                );
            };
            let old = std::mem::replace(&mut session.database, name.to_string());
            events.push(Event::EnvChange(EnvChange::Database { new: name.to_string(), old }));
            events.push(Event::Info(Message {
                number: 5701,
                state: 1,
                class: 0,
                text: format!("Changed database context to '{name}'."),
                procedure: String::new(),
                line: 1,
            }));
            events.push(done(kind, 0, CMD_USE, 0));
            true
        }
        Statement::DropModule { kind: module, names, if_exists } => {
            definitions::drop(session, *module, names, *if_exists, line, kind, events)
        }
        Statement::BeginTransaction => tables::transaction::begin(session, kind, events),
        Statement::CommitTransaction => tables::transaction::commit(session, line, kind, events),
        Statement::RollbackTransaction => tables::transaction::rollback(session, None, line, kind, events),
        Statement::Execute { status, procedure, arguments } => {
            execute_statement(session, status.as_deref(), procedure, arguments, line, variables, kind, events)
        }
        Statement::ExecuteString(e) => {
            let text = eval(e, &scope(session, variables, &[])).and_then(|t| {
                let value = t.value?;
                crate::sql::functions::text(&value, &t.ty)
            });
            match text {
                // dynamic SQL is a scope of its own: the batch's variables are not in it
                Ok(text) => {
                    let options = session.options.clone();
                    let outcome = control::run(
                        session,
                        &text.unwrap_or_default(),
                        &mut Variables::new(),
                        DoneKind::DoneInProc,
                        events,
                    );
                    // SET options of dynamic SQL end with it
                    session.options = options;
                    outcome != control::Outcome::Aborted
                }
                Err(e) => fail(events, kind, e, CMD_EXECUTE, line),
            }
        }
        Statement::Print(e) => {
            let raised = raise::print(e, &scope(session, variables, &[]), line);
            report_raised(raised, kind, CMD_MESSAGE, line, events)
        }
        Statement::RaiseError { message, severity, state, arguments, options } => {
            let scope = scope(session, variables, &[]);
            let raised = raise::raiserror(message, severity, state, arguments, options, &scope, line);
            report_raised(raised, kind, CMD_MESSAGE, line, events)
        }
        Statement::Throw(Some((number, message, state))) => {
            let raised = raise::throw(number, message, state, &scope(session, variables, &[]), line);
            report_raised(raised, kind, CMD_MESSAGE, line, events)
        }
        Statement::Throw(None) => {
            let raised = raise::rethrow(session.handled_error.as_ref());
            report_raised(raised, kind, CMD_MESSAGE, line, events)
        }
        Statement::WaitForDelay(text) => match parse_delay(text) {
            Some(d) => {
                events.push(Event::Delay(d));
                events.push(done(kind, 0, CMD_WAITFOR, 0));
                true
            }
            None => fail(
                events,
                kind,
                SqlError::new(148, format!("Incorrect time syntax in time string '{text}' used with WAITFOR.")),
                CMD_WAITFOR,
                line,
            ),
        },
    }
}

/// fDefaultValue: the caller asks for the parameter's default (EXEC p DEFAULT).
pub(crate) const PARAM_DEFAULT: u8 = 0x02;

/// `EXEC [@status =] procedure args`: the procedure's events, its RETURNSTATUS and DONEPROC; its
/// OUTPUT parameters go back into the variables passed for them.
#[allow(clippy::too_many_arguments)]
fn execute_statement(
    session: &mut Session,
    status: Option<&str>,
    procedure: &str,
    arguments: &[Argument],
    line: u32,
    variables: &mut Variables,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    let mut params = Vec::with_capacity(arguments.len());
    for a in arguments {
        let evaluated = match &a.value {
            None => Ok((SqlType::Null, Value::Null)),
            Some(e) => eval(e, &scope(session, variables, &[])).and_then(|t| Ok((t.ty, t.value?))),
        };
        let (ty, value) = match evaluated {
            Ok(v) => v,
            Err(e) => return fail(events, kind, e, CMD_EXECUTE, line),
        };
        let flags = if a.value.is_none() { PARAM_DEFAULT } else { 0 } | if a.output { PARAM_BY_REF } else { 0 };
        params.push(RpcParam { name: a.name.clone(), status: flags, ty, value });
    }
    match call_procedure(session, &RpcTarget::Name(procedure.to_string()), &params, events) {
        Ok(called) => {
            events.push(Event::ReturnStatus(called.status));
            events.push(done(DoneKind::DoneProc, 0, CMD_EXECUTE, 0));
            let mut assigned = Ok(());
            for output in &called.outputs {
                let Event::ReturnValue { ordinal, column, value, .. } = output else { continue };
                if let Some(Expr::Variable(name)) = arguments.get(*ordinal as usize).and_then(|a| a.value.as_ref()) {
                    assigned = assigned.and_then(|()| assign_variable(variables, name, &column.ty, value));
                }
            }
            if let Some(name) = status {
                assigned = assigned
                    .and_then(|()| assign_variable(variables, name, &SqlType::Int, &Value::Int(called.status as i64)));
            }
            match assigned {
                Ok(()) => true,
                Err(e) => fail(events, kind, e, CMD_EXECUTE, line),
            }
        }
        Err(e) => {
            if !matches!(events.last(), Some(Event::Done(d)) if d.status & DONE_ERROR != 0) {
                events.push(Event::Error(message(&e, line)));
            }
            events.push(done(DoneKind::DoneProc, DONE_ERROR, CMD_EXECUTE, 0));
            false
        }
    }
}

/// Applies a SET option; options without an effect on this server's results are recorded
/// as given. Returns the CurCmd of its DONE.
fn set_option(session: &mut Session, option: &str, value: &str, events: &mut Vec<Event>) -> Result<u16, SqlError> {
    let on = value.eq_ignore_ascii_case("ON");
    let off = value.eq_ignore_ascii_case("OFF");
    // options whose effect on results this server does not reproduce
    let unsupported_when_on = [
        "PARSEONLY",
        "NOEXEC",
        "SHOWPLAN_ALL",
        "SHOWPLAN_TEXT",
        "SHOWPLAN_XML",
        "STATISTICS",
        "FORCEPLAN",
        "NUMERIC_ROUNDABORT",
    ];
    let unsupported_when_off = ["ANSI_WARNINGS"];
    if (on && unsupported_when_on.contains(&option)) || (off && unsupported_when_off.contains(&option)) {
        return Err(SqlError::not_supported(format!("SET {option} {}", value.to_ascii_uppercase())));
    }
    if option == "STATISTICS" && !value.to_ascii_uppercase().ends_with("OFF") {
        return Err(SqlError::not_supported(format!("SET STATISTICS {value}")));
    }
    match option {
        "LANGUAGE" => {
            let lang = value.trim_matches(|c| c == '\'' || c == '"');
            if !lang.eq_ignore_ascii_case("us_english") && !lang.eq_ignore_ascii_case("english") {
                return Err(SqlError::not_supported(format!("SET LANGUAGE {lang}")));
            }
            let old = session.options.get("LANGUAGE").cloned().unwrap_or_else(|| "us_english".to_string());
            events.push(Event::EnvChange(EnvChange::Language { new: "us_english".into(), old }));
            events.push(Event::Info(Message {
                number: 5703,
                state: 1,
                class: 0,
                text: "Changed language setting to us_english.".into(),
                procedure: String::new(),
                line: 1,
            }));
        }
        // the date strings this server reads are month/day/year (us_english)
        "DATEFORMAT" if !value.eq_ignore_ascii_case("mdy") => {
            return Err(SqlError::not_supported(format!("SET DATEFORMAT {value}")));
        }
        "LOCK_TIMEOUT" => {
            let milliseconds: i64 = value.parse().map_err(|_| SqlError::syntax_near(value))?;
            if !(-1..=i32::MAX as i64).contains(&milliseconds) {
                return Err(SqlError::not_supported(format!("SET LOCK_TIMEOUT {value}")));
            }
        }
        // the locks taken are READ COMMITTED's, which READ UNCOMMITTED's reads skip
        "TRANSACTION" => {
            let level = value.to_ascii_uppercase().split_whitespace().collect::<Vec<_>>().join(" ");
            if level != "ISOLATION LEVEL READ COMMITTED" && level != "ISOLATION LEVEL READ UNCOMMITTED" {
                return Err(SqlError::not_supported(format!("SET TRANSACTION {value}")));
            }
        }
        "TEXTSIZE" => {
            let size: i64 = value.parse().map_err(|_| SqlError::syntax_near(value))?;
            if size <= 0 {
                // 0 restores the default and -1 lifts the limit: no truncation either way
                session.options.remove(option);
                return Ok(CMD_SET);
            }
            if size > i32::MAX as i64 {
                return Err(SqlError::not_supported(format!("SET TEXTSIZE {value}")));
            }
        }
        _ => {}
    }
    session.options.insert(option.to_string(), value.to_string());
    Ok(if option == "TRANSACTION" { CMD_SET_TRANSACTION } else { CMD_SET })
}

/// SET TEXTSIZE limits the bytes of (max), text, ntext and image values a SELECT returns.
fn apply_textsize(session: &Session, columns: &[ColumnDef], row: &mut [Value]) -> Result<(), SqlError> {
    let Some(limit) = session.options.get("TEXTSIZE").and_then(|v| v.parse::<usize>().ok()) else {
        return Ok(());
    };
    for (col, value) in columns.iter().zip(row.iter_mut()) {
        match (&col.ty, value) {
            (SqlType::VarBinary(None) | SqlType::Image, Value::Bytes(b)) => b.truncate(limit),
            // code page 1252: one byte per character
            (SqlType::VarChar(None) | SqlType::Text, Value::Str(s)) => {
                if let Some((cut, _)) = s.char_indices().nth(limit) {
                    s.truncate(cut);
                }
            }
            (SqlType::NVarChar(None) | SqlType::NText, Value::Str(s)) => {
                let units: Vec<u16> = s.encode_utf16().collect();
                if units.len() * 2 > limit {
                    *s = String::from_utf16(&units[..limit / 2])
                        .map_err(|_| SqlError::not_supported("SET TEXTSIZE cutting a surrogate pair in two"))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `hh:mm[:ss[.fff]]`, at most 24 hours.
fn parse_delay(text: &str) -> Option<Duration> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return None;
    }
    let h: u64 = parts[0].parse().ok()?;
    let m: u64 = parts[1].parse().ok()?;
    let (s, ms) = match parts.get(2) {
        None => (0, 0),
        Some(sec) => {
            let (s, f) = sec.split_once('.').unwrap_or((sec, ""));
            let f: String = f.chars().chain(std::iter::repeat('0')).take(3).collect();
            (s.parse().ok()?, f.parse::<u64>().ok()?)
        }
    };
    if m > 59 || s > 59 || h > 24 || (h == 24 && (m, s, ms) != (0, 0, 0)) {
        return None;
    }
    Some(Duration::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms))
}

// ---------------------------------------------------------------------------
// RPC
// ---------------------------------------------------------------------------

/// The system procedures this server runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Procedure {
    ExecuteSql,
    Prepare,
    Execute,
    PrepExec,
    Unprepare,
    DescribeUndeclaredParameters,
    DescribeFirstResultSet,
}

impl Procedure {
    /// ProcIDSwitch ids (2.2.6.6).
    fn by_id(id: u16) -> Option<Procedure> {
        Some(match id {
            10 => Procedure::ExecuteSql,
            11 => Procedure::Prepare,
            12 => Procedure::Execute,
            13 => Procedure::PrepExec,
            15 => Procedure::Unprepare,
            _ => return None,
        })
    }

    /// "sp_executesql", "sys.sp_executesql", "master..sp_executesql", "[sys].[sp_executesql]"
    fn by_name(name: &str) -> Option<Procedure> {
        let last = name.rsplit('.').next().unwrap_or(name).trim_matches(|c| c == '[' || c == ']');
        Some(match last.to_ascii_lowercase().as_str() {
            "sp_executesql" => Procedure::ExecuteSql,
            "sp_prepare" => Procedure::Prepare,
            "sp_execute" => Procedure::Execute,
            "sp_prepexec" => Procedure::PrepExec,
            "sp_unprepare" => Procedure::Unprepare,
            "sp_describe_undeclared_parameters" => Procedure::DescribeUndeclaredParameters,
            "sp_describe_first_result_set" => Procedure::DescribeFirstResultSet,
            _ => return None,
        })
    }
}

/// fByRefValue: the parameter is an OUTPUT parameter.
pub(crate) const PARAM_BY_REF: u8 = 0x01;

/// Runs one RPC of a request (batched RPCs are passed one by one).
pub fn execute_rpc(session: &mut Session, rpc: &RpcRequest) -> Vec<Event> {
    let mut events = Vec::new();
    // subqueries and the catalog read the session's store
    let called = match tables::store(session) {
        Ok(_) => call_procedure(session, &rpc.target, &rpc.params, &mut events),
        Err(e) => Err(e),
    };
    match called {
        Ok(called) => {
            events.push(Event::ReturnStatus(called.status));
            events.extend(called.outputs);
            events.push(done(DoneKind::DoneProc, 0, CMD_EXECUTE, 0));
        }
        Err(e) => {
            if !matches!(events.last(), Some(Event::Done(d)) if d.status & DONE_ERROR != 0) {
                events.push(Event::Error(message(&e, 1)));
            }
            events.push(done(DoneKind::DoneProc, DONE_ERROR, CMD_EXECUTE, 0));
        }
    }
    events
}

/// What a procedure call returns besides its statements' events: the return status and the
/// RETURNVALUEs of its OUTPUT parameters.
pub(crate) struct Called {
    pub status: i32,
    pub outputs: Vec<Event>,
}

/// Runs a procedure (a system one, a catalog one or a stored procedure) with `params`, appending
/// the events of its statements.
pub(crate) fn call_procedure(
    session: &mut Session,
    target: &RpcTarget,
    params: &[RpcParam],
    events: &mut Vec<Event>,
) -> Result<Called, SqlError> {
    let procedure = match target {
        RpcTarget::ProcId(id) => Procedure::by_id(*id),
        RpcTarget::Name(name) => Procedure::by_name(name),
    };
    let outputs = match procedure {
        Some(Procedure::ExecuteSql) => executesql(session, params, events),
        Some(Procedure::Prepare) => prepare(session, params, events),
        Some(Procedure::Execute) => execute_prepared(session, params, events),
        Some(Procedure::PrepExec) => prepexec(session, params, events),
        Some(Procedure::Unprepare) => unprepare(session, params),
        Some(Procedure::DescribeFirstResultSet) => describe_first_result_set(session, params, events),
        Some(Procedure::DescribeUndeclaredParameters) => describe_undeclared_parameters(session, params, events),
        None => {
            return match target {
                RpcTarget::ProcId(id) => Err(SqlError::not_supported(format!("The RPC procedure id {id}"))),
                RpcTarget::Name(name) => match catalog_procedures::call(session, name, params, events) {
                    Some(result) => result.map(|()| Called { status: 0, outputs: Vec::new() }),
                    None => procedures::call(session, name, params, events),
                },
            }
        }
    }?;
    Ok(Called { status: 0, outputs })
}

/// The statement failed and its error is already in the events.
pub(crate) fn already_reported() -> SqlError {
    SqlError::new(0, String::new())
}

fn string_param(
    params: &[RpcParam],
    index: usize,
    proc_name: &str,
    param_name: &str,
) -> Result<Option<String>, SqlError> {
    match params.get(index) {
        None => Ok(None),
        Some(RpcParam { value: Value::Str(s), .. }) => Ok(Some(s.clone())),
        Some(RpcParam { value: Value::Null, .. }) => Ok(None),
        Some(_) => Err(SqlError::new(
            214,
            format!("Procedure expects parameter '{param_name}' of type 'ntext/nchar/nvarchar'. ({proc_name})"),
        )),
    }
}

fn int_param(params: &[RpcParam], index: usize, param_name: &str) -> Result<Option<i64>, SqlError> {
    match params.get(index).map(|p| &p.value) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i)),
        Some(_) => Err(SqlError::new(214, format!("Procedure expects parameter '{param_name}' of type 'int'."))),
    }
}

/// An OUTPUT parameter to echo as RETURNVALUE.
struct OutputParam {
    /// position in the RPC's parameter list
    ordinal: usize,
    name: String,
    ty: SqlType,
    value: Value,
}

/// Binds RPC values to declared parameters (by name when named, else by position),
/// converting each to its declared type. Returns the variables and the OUTPUT parameters.
fn bind_parameters(
    declarations: &str,
    statement: &str,
    values: &[(usize, &RpcParam)],
) -> Result<(Variables, Vec<OutputParam>), SqlError> {
    let declared = parse_param_declarations(declarations)?;
    let mut variables = HashMap::new();
    let mut outputs = Vec::new();
    let mut assigned = vec![false; declared.len()];
    for (position, (ordinal, param)) in values.iter().enumerate() {
        let index = if param.name.is_empty() {
            position
        } else {
            let wanted = if param.name.starts_with('@') { param.name.clone() } else { format!("@{}", param.name) };
            declared.iter().position(|(n, _, _)| n.eq_ignore_ascii_case(&wanted)).ok_or_else(|| {
                SqlError::new(8145, format!("{} is not a parameter for procedure sp_executesql.", param.name))
            })?
        };
        let Some((name, ty, is_output)) = declared.get(index) else {
            return Err(SqlError::new(8144, "Procedure or function sp_executesql has too many arguments specified."));
        };
        let value = convert(&param.value, &param.ty, ty)?;
        if *is_output && param.status & PARAM_BY_REF != 0 {
            outputs.push(OutputParam {
                ordinal: *ordinal,
                name: param.name.clone(),
                ty: ty.clone(),
                value: value.clone(),
            });
        }
        variables.insert(name.to_lowercase(), (ty.clone(), value));
        assigned[index] = true;
    }
    if let Some(missing) = assigned.iter().position(|a| !a) {
        return Err(SqlError::new(
            8178,
            format!(
                "The parameterized query '({declarations}){statement}' expects the parameter '{}', which was not supplied.",
                declared[missing].0
            ),
        ));
    }
    Ok((variables, outputs))
}

fn return_values(outputs: Vec<OutputParam>) -> Vec<Event> {
    outputs
        .into_iter()
        .map(|OutputParam { ordinal, name, ty, value }| Event::ReturnValue {
            ordinal: ordinal as u16,
            name,
            status: PARAM_BY_REF,
            column: ColumnDef {
                name: String::new(),
                ty,
                nullable: true,
                updatable: false,
                identity: false,
                computed: false,
            },
            value,
        })
        .collect()
}

/// Runs `statement` with parameters bound from `values`; events of its statements use DONEINPROC.
fn run_parameterized(
    session: &mut Session,
    declarations: &str,
    statement: &str,
    values: &[(usize, &RpcParam)],
    events: &mut Vec<Event>,
) -> Result<Vec<Event>, SqlError> {
    let (mut variables, mut outputs) = bind_parameters(declarations, statement, values)?;
    // the statement is a scope of its own for SCOPE_IDENTITY()
    let outer_identity = session.scope_identity.take();
    let outcome = control::run(session, statement, &mut variables, DoneKind::DoneInProc, events);
    session.scope_identity = outer_identity;
    if outcome == control::Outcome::Aborted {
        return Err(already_reported());
    }
    // OUTPUT parameters return the values the statement left in them
    for output in &mut outputs {
        let key = if output.name.starts_with('@') { output.name.clone() } else { format!("@{}", output.name) };
        if let Some((_, value)) = variables.get(&key.to_lowercase()) {
            output.value = value.clone();
        }
    }
    Ok(return_values(outputs))
}

/// sp_executesql @stmt, [@params], [values...]
fn executesql(session: &mut Session, params: &[RpcParam], events: &mut Vec<Event>) -> Result<Vec<Event>, SqlError> {
    let statement = string_param(params, 0, "sp_executesql", "@statement")?.ok_or_else(|| {
        SqlError::new(
            201,
            "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied.",
        )
    })?;
    let declarations = string_param(params, 1, "sp_executesql", "@params")?.unwrap_or_default();
    let values: Vec<(usize, &RpcParam)> = params.iter().enumerate().skip(2).collect();
    // SQL Server restores the SET options a dynamic SQL string changed when it returns
    let options = session.options.clone();
    let result = run_parameterized(session, &declarations, &statement, &values, events);
    session.options = options;
    result
}

/// sp_prepare @handle OUTPUT, @params, @stmt, [@options]; options 0x0001 (RETURN_METADATA)
/// describes the first result set's columns before the handle.
fn prepare(session: &mut Session, params: &[RpcParam], events: &mut Vec<Event>) -> Result<Vec<Event>, SqlError> {
    const RETURN_METADATA: i64 = 0x0001;
    let declarations = string_param(params, 1, "sp_prepare", "@params")?.unwrap_or_default();
    let statement = string_param(params, 2, "sp_prepare", "@stmt")?.ok_or_else(|| {
        SqlError::new(201, "Procedure or function 'sp_prepare' expects parameter '@stmt', which was not supplied.")
    })?;
    if int_param(params, 3, "@options")?.is_some_and(|o| o & RETURN_METADATA != 0) {
        let mut variables = declared_variables(&declarations)?;
        if let Some(columns) = first_result_columns(session, &statement, &mut variables)? {
            events.push(Event::ColMetadata(columns));
            events.push(done(DoneKind::DoneInProc, 0, CMD_SELECT, 0));
        }
    } else if tables::involves_tables(&statement) {
        tables::split_batch(&statement)?;
    } else {
        parse_batch(&statement)?;
    }
    let handle = session.prepared.insert(Prepared { declarations, statement });
    Ok(handle_output(params, handle))
}

/// The result columns of a SELECT list, typed without computing values.
fn select_columns(session: &Session, items: &[SelectItem], variables: &Variables) -> Result<Vec<ColumnDef>, SqlError> {
    let scope = scope(session, variables, &[]);
    items.iter().map(|item| Ok(expression_column(&item.name, &eval(&item.expr, &scope)?))).collect()
}

/// A SELECT-list column: read-only and computed, as SQL Server describes `select 'foo' as 'bar'`
/// (MS-TDS 4.7: Flags 0x0020).
fn expression_column(name: &str, typed: &Typed) -> ColumnDef {
    ColumnDef {
        name: name.to_string(),
        ty: typed.ty.clone(),
        nullable: typed.nullable,
        updatable: false,
        identity: false,
        computed: true,
    }
}

/// The evaluation scope of a statement of `session`, with `columns` of the current row (none outside tables).
pub(crate) fn scope<'a>(session: &'a Session, variables: &'a Variables, columns: &'a [ColumnValue]) -> Scope<'a> {
    Scope {
        variables,
        columns,
        spid: session.spid,
        trancount: tables::transaction::trancount(session),
        rowcount: session.row_count,
        identity: session.identity,
        scope_identity: session.scope_identity,
        server_name: &session.server_name,
        options: &session.options,
        session: Some(session),
    }
}

/// The RETURNVALUE carrying a new prepared handle in parameter 0.
fn handle_output(params: &[RpcParam], handle: i32) -> Vec<Event> {
    let name = params.first().map(|p| p.name.clone()).unwrap_or_default();
    return_values(vec![OutputParam { ordinal: 0, name, ty: SqlType::Int, value: Value::Int(handle as i64) }])
}

/// sp_execute @handle, [values...]
fn execute_prepared(
    session: &mut Session,
    params: &[RpcParam],
    events: &mut Vec<Event>,
) -> Result<Vec<Event>, SqlError> {
    let handle = int_param(params, 0, "@handle")?.unwrap_or(0);
    let prepared = session
        .prepared
        .statements
        .get(&(handle as i32))
        .cloned()
        .ok_or_else(|| SqlError::new(8179, format!("Could not find prepared statement with handle {handle}.")))?;
    let values: Vec<(usize, &RpcParam)> = params.iter().enumerate().skip(1).collect();
    run_parameterized(session, &prepared.declarations, &prepared.statement, &values, events)
}

/// sp_prepexec @handle OUTPUT, @params, @stmt, [values...]
fn prepexec(session: &mut Session, params: &[RpcParam], events: &mut Vec<Event>) -> Result<Vec<Event>, SqlError> {
    let declarations = string_param(params, 1, "sp_prepexec", "@params")?.unwrap_or_default();
    let statement = string_param(params, 2, "sp_prepexec", "@stmt")?.ok_or_else(|| {
        SqlError::new(201, "Procedure or function 'sp_prepexec' expects parameter '@stmt', which was not supplied.")
    })?;
    let handle = session.prepared.insert(Prepared { declarations: declarations.clone(), statement: statement.clone() });
    let values: Vec<(usize, &RpcParam)> = params.iter().enumerate().skip(3).collect();
    let mut outputs = handle_output(params, handle);
    outputs.extend(run_parameterized(session, &declarations, &statement, &values, events)?);
    Ok(outputs)
}

/// sp_describe_undeclared_parameters @tsql, [@params]: one result set.
fn describe_undeclared_parameters(
    session: &mut Session,
    params: &[RpcParam],
    events: &mut Vec<Event>,
) -> Result<Vec<Event>, SqlError> {
    let (statement, declarations) = tsql_and_params(params, "sp_describe_undeclared_parameters")?;
    let no_variables = Variables::new();
    let (columns, rows) = match tables::describe::parameter_uses(session, &statement)? {
        Some(uses) => describe_parameters(uses, &declarations)?,
        None => undeclared_parameters(&statement, &declarations, &scope(session, &no_variables, &[]))?,
    };
    push_result(events, columns, rows);
    Ok(Vec::new())
}

/// sp_describe_first_result_set @tsql, [@params]: one row per column of the batch's first result.
fn describe_first_result_set(
    session: &mut Session,
    params: &[RpcParam],
    events: &mut Vec<Event>,
) -> Result<Vec<Event>, SqlError> {
    let (statement, declarations) = tsql_and_params(params, "sp_describe_first_result_set")?;
    let mut variables = declared_variables(&declarations)?;
    let described = first_result_columns(session, &statement, &mut variables)?.unwrap_or_default();
    let (columns, rows) = first_result_set(&described);
    push_result(events, columns, rows);
    Ok(Vec::new())
}

/// The @tsql and @params arguments of a describing procedure.
fn tsql_and_params(params: &[RpcParam], name: &str) -> Result<(String, String), SqlError> {
    let statement = string_param(params, 0, name, "@tsql")?.ok_or_else(|| {
        SqlError::new(201, format!("Procedure or function '{name}' expects parameter '@tsql', which was not supplied."))
    })?;
    Ok((statement, string_param(params, 1, name, "@params")?.unwrap_or_default()))
}

/// The parameters a declaration list declares, as NULL variables of their types (for typing).
fn declared_variables(declarations: &str) -> Result<Variables, SqlError> {
    Ok(parse_param_declarations(declarations)?
        .into_iter()
        .map(|(name, ty, _)| (name.to_lowercase(), (ty, Value::Null)))
        .collect())
}

/// A system procedure's result set and its DONEINPROC.
fn push_result(events: &mut Vec<Event>, columns: Vec<ColumnDef>, rows: Vec<Vec<Value>>) {
    let count = rows.len() as u64;
    events.push(Event::ColMetadata(columns));
    events.extend(rows.into_iter().map(Event::Row));
    events.push(done(DoneKind::DoneInProc, DONE_COUNT, CMD_SELECT, count));
}

/// The columns of the first result `sql` returns, typed as running it would type them (its
/// DECLAREs are taken into account); `None` when it returns none.
fn first_result_columns(
    session: &mut Session,
    sql: &str,
    variables: &mut Variables,
) -> Result<Option<Vec<ColumnDef>>, SqlError> {
    let pieces =
        if tables::involves_tables(sql) { tables::split_batch(sql)? } else { vec![Piece::Other(sql.to_string())] };
    for piece in pieces {
        match piece {
            Piece::Table(statement, _) => {
                if let Some(columns) = tables::result_columns(session, &statement, variables)? {
                    return Ok(Some(columns));
                }
            }
            Piece::Other(text) => {
                for (statement, _) in parse_batch(&text)? {
                    if let Statement::Select(items, _) = &statement {
                        return select_columns(session, items, variables).map(Some);
                    }
                    compile(session, &statement, variables, &mut HashSet::new())?;
                }
            }
        }
    }
    Ok(None)
}

/// sp_unprepare @handle
fn unprepare(session: &mut Session, params: &[RpcParam]) -> Result<Vec<Event>, SqlError> {
    let handle = int_param(params, 0, "@handle")?.unwrap_or(0);
    // SQL Server ignores unknown handles here
    session.prepared.statements.remove(&(handle as i32));
    Ok(Vec::new())
}
