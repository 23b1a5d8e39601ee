//! Bulk load as SQL Server does it: `INSERT BULK t (col type, ...) [WITH (...)]` announces the
//! target columns, then a BulkLoad message (0x07) carries COLMETADATA, ROW/NBCROW tokens and a
//! DONE. Its values are decoded with the server's own type decoders, converted to the columns'
//! declared types, and inserted as one atomic statement: all rows or none (in batches of
//! rows, each failing as its rows would one by one).

use sqlparser::ast;

use super::store::{Store, Table};
use super::{assign_owned, begin_if_open, constraint_error, count_status, default_value, done, find_table, store};
use crate::engine::{scope, DoneKind, Event, Message, Session};
use crate::request::{read_bulk_load, BulkColumn, BulkLoadReader};
use crate::sql::eval::{Scope, Variables};
use crate::sql::parser::SqlError;
use crate::tokens::DONE_ERROR;
use crate::value::Value;

/// CurCmd of INSERT BULK's DONE and of the load's.
const CMD_INSERT_BULK: u16 = 0xC3;

/// `INSERT BULK` as the pre-parser reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct InsertBulk {
    pub table: ast::ObjectName,
    /// The announced columns with their declared types' text (the format the client sends in)
    pub columns: Vec<(String, String)>,
    /// `WITH (...)` options, upper-cased: KEEP_NULLS, TABLOCK, CHECK_CONSTRAINTS, ORDER(...), ...
    pub options: Vec<String>,
}

/// The load an INSERT BULK announced, waiting for its BulkLoad message.
#[derive(Clone, Debug)]
pub struct BulkTarget {
    table: Table,
    /// Table ordinal of each announced column, in the order the rows send them
    ordinals: Vec<usize>,
    /// KEEP_NULLS: a NULL stays NULL instead of taking the column's default
    keep_nulls: bool,
}

/// Runs `INSERT BULK`: checks the table and columns and remembers them for the BulkLoad message.
pub fn announce(session: &mut Session, insert: &InsertBulk) -> Result<(), SqlError> {
    session.bulk_load = None;
    let table = find_table(store(session)?, &insert.table)?;
    let mut ordinals = Vec::with_capacity(insert.columns.len());
    for (name, _) in &insert.columns {
        let ordinal = table
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| SqlError::new(207, format!("Invalid column name '{name}'.")))?;
        ordinals.push(ordinal);
    }
    let keep_nulls = insert.options.iter().any(|o| o == "KEEP_NULLS");
    session.bulk_load = Some(BulkTarget { table, ordinals, keep_nulls });
    Ok(())
}

/// The events of INSERT BULK: its DONE, or its error.
pub fn run_announce(
    session: &mut Session,
    insert: &InsertBulk,
    line: u32,
    kind: DoneKind,
    events: &mut Vec<Event>,
) -> bool {
    match announce(session, insert) {
        Ok(()) => {
            events.push(done(kind, 0, CMD_INSERT_BULK, 0));
            true
        }
        Err(e) => {
            push_error(events, kind, &e, line);
            false
        }
    }
}

fn push_error(events: &mut Vec<Event>, kind: DoneKind, e: &SqlError, line: u32) {
    events.push(Event::Error(Message {
        number: e.number,
        state: e.state(),
        class: e.class,
        text: e.text.clone(),
        procedure: String::new(),
        line: if e.line != 0 { e.line } else { line } as i32,
    }));
    events.push(done(kind, DONE_ERROR, CMD_INSERT_BULK, 0));
}

/// The error of a malformed BulkLoad message.
const MALFORMED: i32 = 4002;

fn malformed(e: String) -> SqlError {
    SqlError::new(MALFORMED, format!("The incoming tabular data stream (TDS) protocol stream is incorrect. {e}"))
}

/// Answers a BulkLoad message: DONE with the count of rows inserted, or the error that
/// rolled the whole load back.
pub fn load(session: &mut Session, payload: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let outcome = match session.bulk_load.take() {
        None => Err(SqlError::new(
            4804,
            "While reading current row from host, a premature end-of-message was encountered--an incoming data stream was interrupted when the server expected to see more data. The host program may have terminated. Ensure that you are using a supported client application programming interface (API).",
        )),
        Some(target) => match read_bulk_load(payload) {
            Err(e) => Err(malformed(e)),
            Ok(mut rows) => insert_rows(session, &target, &mut rows).map_err(|e| {
                // a malformed message fails the load whatever its rows did, as SQL Server reads
                // the whole stream first
                match e.number {
                    MALFORMED => e,
                    _ => rows.skip_rest().map_or_else(malformed, |()| e),
                }
            }),
        },
    };
    match outcome {
        Ok(count) => {
            session.row_count = count;
            events.push(done(DoneKind::Done, count_status(session), CMD_INSERT_BULK, count));
        }
        Err(e) => {
            session.row_count = 0;
            push_error(&mut events, DoneKind::Done, &e, 1);
        }
    }
    events
}

/// Converts and inserts the rows as they are read, atomically; returns how many.
fn insert_rows(session: &mut Session, target: &BulkTarget, rows: &mut BulkLoadReader) -> Result<u64, SqlError> {
    if rows.columns.len() != target.ordinals.len() {
        return Err(SqlError::new(
            4807,
            format!(
                "The bulk data stream has {} columns where INSERT BULK announced {}.",
                rows.columns.len(),
                target.ordinals.len()
            ),
        ));
    }
    begin_if_open(session)?;
    let session: &Session = session;
    let table = &target.table;
    // the announced column sending each table column's value, if any
    let mut source = vec![None; table.columns.len()];
    for (k, &ordinal) in target.ordinals.iter().enumerate() {
        source[ordinal] = Some(k);
    }
    let variables = Variables::new();
    let no_columns = Vec::new();
    let scope = scope(session, &variables, &no_columns);
    let store = session.store.as_ref().expect("opened by announce");
    store.statement(|store| {
        let mut inserter = store.inserter(table);
        let columns = table.columns.len();
        let batch_len = inserter.batch_rows() * columns;
        // converted rows waiting to be inserted, one after another
        let mut pending = Vec::with_capacity(batch_len);
        let mut insert = |pending: &[Value]| {
            inserter.insert(pending).map_err(|(index, e)| {
                let row = &pending[index * columns..(index + 1) * columns];
                constraint_error(session, table, row, e)
            })
        };
        let mut row = Vec::with_capacity(rows.columns.len());
        let mut count = 0;
        while rows.next_row(&mut row).map_err(malformed)? {
            count += 1;
            let converted = convert_row(session, store, target, &source, &scope, &mut row, &rows.columns, &mut pending);
            if let Err(e) = converted {
                // the rows before it are written first: an earlier row's key violation is the error then
                insert(&pending[..pending.len() / columns * columns])?;
                return Err(e);
            }
            if pending.len() == batch_len {
                insert(&pending)?;
                pending.clear();
            }
        }
        insert(&pending)?;
        Ok(count)
    })
}

/// Appends the table's values for one sent row to `out`: converted, defaulted, or the next
/// identity. The sent values are taken out of `row` (left NULL).
#[allow(clippy::too_many_arguments)]
fn convert_row(
    session: &Session,
    store: &Store,
    target: &BulkTarget,
    source: &[Option<usize>],
    scope: &Scope,
    row: &mut [Value],
    sent: &[BulkColumn],
    out: &mut Vec<Value>,
) -> Result<(), SqlError> {
    let table = &target.table;
    for (column, source) in table.columns.iter().zip(source) {
        let value = match source.map(|k| (&mut row[k], &sent[k])) {
            Some((v, _)) if v.is_null() && !target.keep_nulls && column.default_sql.is_some() => {
                default_value(session, table, column, scope)?
            }
            Some((v, sent)) => {
                let value =
                    assign_owned(session, table, column, std::mem::replace(v, Value::Null), &sent.ty, "INSERT")?;
                if let (true, Value::Int(kept)) = (column.identity, &value) {
                    store.observe_identity(table, *kept)?;
                }
                value
            }
            None if column.identity => Value::Int(store.next_identity(table)?),
            None => default_value(session, table, column, scope)?,
        };
        out.push(value);
    }
    Ok(())
}
