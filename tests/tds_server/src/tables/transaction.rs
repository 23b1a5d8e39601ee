//! Transaction statements as SQL Server nests them: BEGIN TRAN increments @@TRANCOUNT, COMMIT
//! decrements it and only the outermost one commits, ROLLBACK rolls everything back (to 0)
//! unless it names a savepoint; ENVCHANGE 8/9/10 only at the outermost level. Savepoints
//! (`SAVE TRAN name`) are marks in the store's undo log.

use super::undo::Mark;
use super::{begin_if_open, end_transaction, store};
use crate::engine::{fail, DoneKind, EnvChange, Event, Session};
use crate::sql::parser::SqlError;

const CMD_BEGIN_TRANSACTION: u16 = 0xD4;
const CMD_COMMIT_TRANSACTION: u16 = 0xD5;
const CMD_ROLLBACK_TRANSACTION: u16 = 0xD6;
const CMD_SAVE_TRANSACTION: u16 = 0xD7;

/// The nesting of the session's open transaction (`Session::transaction`).
#[derive(Debug, Default)]
pub struct Nesting {
    /// BEGIN TRANs not yet committed; an open transaction the protocol layer began counts as 1
    depth: u32,
    /// Savepoints (name, where in the undo log), oldest first (a name may be saved again)
    savepoints: Vec<(String, Mark)>,
}

/// @@TRANCOUNT.
pub fn trancount(session: &Session) -> i32 {
    match session.transaction {
        Some(_) => session.nesting.depth.max(1) as i32,
        None => 0,
    }
}

fn done(events: &mut Vec<Event>, kind: DoneKind, cur_cmd: u16) -> bool {
    events.push(super::done(kind, 0, cur_cmd, 0));
    true
}

/// BEGIN TRAN[SACTION] [name]
pub fn begin(session: &mut Session, kind: DoneKind, events: &mut Vec<Event>) -> bool {
    if session.transaction.is_some() {
        session.nesting.depth = session.nesting.depth.max(1) + 1;
        return done(events, kind, CMD_BEGIN_TRANSACTION);
    }
    let descriptor = session.next_transaction_descriptor;
    session.next_transaction_descriptor += 1;
    session.transaction = Some(descriptor);
    session.nesting = Nesting { depth: 1, savepoints: Vec::new() };
    events.push(Event::EnvChange(EnvChange::BeginTransaction { descriptor }));
    done(events, kind, CMD_BEGIN_TRANSACTION)
}

/// COMMIT [TRAN[SACTION] [name]]
pub fn commit(session: &mut Session, line: u32, kind: DoneKind, events: &mut Vec<Event>) -> bool {
    match trancount(session) {
        0 => fail(
            events,
            kind,
            SqlError::new(3902, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION."),
            CMD_COMMIT_TRANSACTION,
            line,
        ),
        1 => end(session, true, line, kind, events),
        depth => {
            session.nesting.depth = depth as u32 - 1;
            done(events, kind, CMD_COMMIT_TRANSACTION)
        }
    }
}

/// ROLLBACK [TRAN[SACTION] [name]]: to the savepoint `name` if there is one, else all of it.
pub fn rollback(session: &mut Session, name: Option<&str>, line: u32, kind: DoneKind, events: &mut Vec<Event>) -> bool {
    if session.transaction.is_none() {
        return fail(
            events,
            kind,
            SqlError::new(3903, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION."),
            CMD_ROLLBACK_TRANSACTION,
            line,
        );
    }
    let savepoint = name.and_then(|n| session.nesting.savepoints.iter().rposition(|(s, _)| s.eq_ignore_ascii_case(n)));
    let Some(index) = savepoint else {
        return end(session, false, line, kind, events);
    };
    let mark = session.nesting.savepoints[index].1;
    if let Err(e) = store(session).and_then(|s| s.rollback_to(mark)) {
        return fail(events, kind, e, CMD_ROLLBACK_TRANSACTION, line);
    }
    session.nesting.savepoints.truncate(index + 1);
    done(events, kind, CMD_ROLLBACK_TRANSACTION)
}

/// SAVE TRAN[SACTION] name
pub fn save(session: &mut Session, name: &str, line: u32, kind: DoneKind, events: &mut Vec<Event>) -> bool {
    if session.transaction.is_none() {
        return fail(
            events,
            kind,
            SqlError::new(628, "Cannot issue SAVE TRANSACTION when there is no active transaction."),
            CMD_SAVE_TRANSACTION,
            line,
        );
    }
    let mark = match begin_if_open(session).and_then(|()| store(session)) {
        Ok(store) => store.savepoint(),
        Err(e) => return fail(events, kind, e, CMD_SAVE_TRANSACTION, line),
    };
    session.nesting.savepoints.push((name.to_string(), mark));
    done(events, kind, CMD_SAVE_TRANSACTION)
}

/// Commits or rolls back the whole transaction, with its ENVCHANGE.
fn end(session: &mut Session, commit: bool, line: u32, kind: DoneKind, events: &mut Vec<Event>) -> bool {
    let cur_cmd = if commit { CMD_COMMIT_TRANSACTION } else { CMD_ROLLBACK_TRANSACTION };
    let Some(descriptor) = session.transaction.take() else {
        return done(events, kind, cur_cmd);
    };
    if let Err(e) = end_transaction(session, commit) {
        return fail(events, kind, e, cur_cmd, line);
    }
    events.push(Event::EnvChange(if commit {
        EnvChange::CommitTransaction { descriptor }
    } else {
        EnvChange::RollbackTransaction { descriptor }
    }));
    done(events, kind, cur_cmd)
}
