//! A session's undo log: what its open transaction (or, outside one, its last statement)
//! changed, oldest first, with what it takes to change it back. Changes are in SQLite as soon
//! as a statement ends (see `tables::locks`), so ROLLBACK, a rollback to a savepoint and a
//! failed statement undo them from here, newest first. It also tells OUTPUT which rows its
//! statement touched.

use std::sync::Arc;

use super::modules::Module;
use super::store::{Constraint, IdentityCounter, Table};
use crate::value::Value;

/// One change, as the way back to the state before it.
#[derive(Clone, Debug)]
pub enum Change {
    /// Rows `first..=last` were inserted (consecutive inserts into a table share one change)
    Inserted {
        table: Arc<str>,
        first: i64,
        last: i64,
    },
    /// The row held `old` before
    Updated {
        table: Arc<str>,
        rowid: i64,
        old: Vec<Value>,
    },
    /// The row was deleted; it held `old`
    Deleted {
        table: Arc<str>,
        rowid: i64,
        old: Vec<Value>,
    },
    CreatedTable {
        table: Arc<str>,
    },
    /// The table was dropped: its definition, identity and rows
    DroppedTable {
        table: Table,
        identity: Option<IdentityCounter>,
        rows: Vec<(i64, Vec<Value>)>,
    },
    CreatedIndex {
        table: Arc<str>,
        index: String,
    },
    DroppedIndex {
        table: Arc<str>,
        index: Constraint,
    },
    /// The view or procedure `name` was created, altered or dropped: it was `previous`
    ReplacedModule {
        name: String,
        previous: Option<Module>,
    },
}

/// A position in the log: a savepoint, or the start of a statement.
pub type Mark = usize;

#[derive(Debug, Default)]
pub struct UndoLog {
    changes: Vec<Change>,
    /// Changes before this one are behind a mark: an insert never extends them
    sealed: usize,
}

impl UndoLog {
    /// The position now, which later changes stay after.
    pub fn mark(&mut self) -> Mark {
        self.sealed = self.changes.len();
        self.sealed
    }

    pub fn push(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// Logs the insert of rows `first..=last`, extending the last change when it inserted the rows before.
    pub fn push_inserted(&mut self, table: &str, first: i64, last: i64) {
        let extendable = self.changes.len() > self.sealed;
        if let Some(Change::Inserted { table: last_table, last: logged_last, .. }) =
            self.changes.last_mut().filter(|_| extendable)
        {
            if *logged_last + 1 == first && &**last_table == table {
                *logged_last = last;
                return;
            }
        }
        self.changes.push(Change::Inserted { table: table.into(), first, last });
    }

    /// The changes after `mark`, oldest first.
    pub fn since(&self, mark: Mark) -> &[Change] {
        &self.changes[mark.min(self.changes.len())..]
    }

    /// Takes the changes after `mark` out of the log, newest first (the order to undo them in).
    pub fn take_since(&mut self, mark: Mark) -> Vec<Change> {
        let mut taken = self.changes.split_off(mark.min(self.changes.len()));
        self.sealed = self.sealed.min(self.changes.len());
        taken.reverse();
        taken
    }

    pub fn clear(&mut self) {
        self.changes.clear();
        self.sealed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_inserts_into_a_table_are_one_change_and_undo_runs_newest_first() {
        let mut log = UndoLog::default();
        for rowid in 1..=3 {
            log.push_inserted("t", rowid, rowid);
        }
        log.push_inserted("u", 4, 4);
        let savepoint = log.mark();
        log.push(Change::Deleted { table: "t".into(), rowid: 2, old: vec![Value::Int(7)] });
        log.push_inserted("t", 5, 5);
        assert_eq!(log.since(0).len(), 4);
        let undone = log.take_since(savepoint);
        assert!(matches!(&undone[..], [Change::Inserted { first: 5, last: 5, .. }, Change::Deleted { rowid: 2, .. }]));
        assert!(matches!(
            log.since(0),
            [Change::Inserted { first: 1, last: 3, .. }, Change::Inserted { first: 4, .. }]
        ));
    }

    #[test]
    fn an_insert_after_a_mark_is_a_change_of_its_own() {
        let mut log = UndoLog::default();
        log.push_inserted("t", 1, 1);
        let savepoint = log.mark();
        log.push_inserted("t", 2, 2);
        assert!(matches!(&log.take_since(savepoint)[..], [Change::Inserted { first: 2, last: 2, .. }]));
        log.push_inserted("t", 3, 3);
        assert!(matches!(
            log.since(0),
            [Change::Inserted { first: 1, last: 1, .. }, Change::Inserted { first: 3, .. }]
        ));
    }
}
