//! The lock manager: locking as SQL Server does it at READ COMMITTED (locks, not row
//! versions), which SQLite's one writer per database cannot give.
//!
//! # Design
//!
//! - **Changes go to SQLite at once.** Every statement writes its rows into the shared SQLite
//!   database and commits them there before the next statement; a session's transaction is
//!   not a SQLite transaction. Its atomicity comes from the session's undo log
//!   (`tables::undo`): ROLLBACK, a rollback to a savepoint and a failed statement apply
//!   the logged before-images in reverse. So two open transactions never hold SQLite's write
//!   lock, and sessions never wait for each other inside SQLite.
//! - **The turn** (`store::Turn`) serializes every access to SQLite across sessions, so a
//!   statement never sees another one half done and SQLite never answers "database is
//!   locked". It is held for one read, or for one statement's writes; never while waiting
//!   for a lock.
//! - **Locks** (this module) keep others away from what an open transaction changed.
//!   Rows are keyed by (table, rowid); rowids are never reused (AUTOINCREMENT), so a lock
//!   names one row for as long as it is held. A changed row's lock carries the row as it was
//!   committed, so that readers looking for a key the change moved away (an UPDATE of a key,
//!   a DELETE) still find it locked, and an INSERT of a key a DELETE freed waits for that
//!   DELETE to commit. Rows an open transaction inserted are kept as rowid ranges (a bulk
//!   load of a million rows is one range). DDL takes a schema lock (SQL Server's Sch-M) on
//!   the table's name. `#temp` tables are private to their session and take no locks.
//!   Every lock is held to the end of its transaction (an autocommit statement is a
//!   transaction of its own), as SQL Server holds exclusive locks.
//! - **What conflicts.** A writer or a READ COMMITTED reader of a row another transaction
//!   holds waits for that transaction. A scan (a read without an index seek) reads every
//!   row, so any lock of another transaction in the table stops it, as a scan stops on
//!   SQL Server; a seek on an index's leading column only stops on locked rows holding the
//!   sought value now or as committed. Reads under `WITH (NOLOCK)` or READ UNCOMMITTED take
//!   no locks and see what is in SQLite: the uncommitted rows of others.
//! - **Waits** release the turn (and commit the waiting statement's SQLite work so far: its
//!   undo log still covers it) and sleep on a condition variable until the holder's locks
//!   change, then try again; off the tokio worker when they run on one
//!   (`block_in_place`), so other sessions keep being served. `SET LOCK_TIMEOUT` bounds a
//!   wait (error 1222, the statement ends and the transaction stays open); -1 waits forever.
//! - **Deadlocks** are found when a wait would close a cycle in the wait-for graph (each
//!   waiter waits for one holder). The transaction asking is the victim: it is rolled back
//!   at once, its locks released, and its batch ends with error 1205.
//! - **Ends.** COMMIT releases the locks; ROLLBACK undoes and releases; a session that
//!   disconnects, is reset or is dropped with a transaction open rolls it back
//!   (`Store`'s `Drop`, `tables::end_transaction`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::value::Value;

/// A transaction as the lock manager knows it: a session's open transaction, or the one an
/// autocommit statement runs in.
pub type TransactionId = u64;

/// How a wait for another transaction's lock ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The holder's locks changed: try again.
    Changed,
    /// The deadline passed first (error 1222).
    TimedOut,
    /// Waiting would close a cycle of waits: the waiter is the deadlock victim (error 1205).
    Deadlock,
}

/// The locks of every open transaction of one database.
#[derive(Debug, Default)]
pub struct LockManager {
    state: Mutex<LockState>,
    changed: Condvar,
    next_id: AtomicU64,
}

#[derive(Debug, Default)]
struct LockState {
    /// By table name, lower-cased
    tables: HashMap<String, TableLocks>,
    /// The tables each transaction holds locks in
    held: HashMap<TransactionId, HashSet<String>>,
    /// The wait-for graph: each waiting transaction and the one it waits for
    waits: HashMap<TransactionId, TransactionId>,
    /// Counts releases, so a waiter knows its holder's locks changed
    releases: u64,
}

#[derive(Debug, Default)]
struct TableLocks {
    /// The transaction that created, dropped or indexed the table (Sch-M)
    schema: Option<TransactionId>,
    /// Changed rows that were committed before, as they were committed
    rows: HashMap<i64, RowLock>,
    /// How many of `rows` each transaction holds, so a transaction that looks for others'
    /// rows among its own many skips the search
    row_owners: HashMap<TransactionId, usize>,
    /// Rows inserted by open transactions
    inserted: Vec<InsertedRows>,
}

#[derive(Debug)]
struct RowLock {
    owner: TransactionId,
    committed: Vec<Value>,
}

#[derive(Debug)]
struct InsertedRows {
    owner: TransactionId,
    first: i64,
    last: i64,
}

impl TableLocks {
    fn row_holder(&self, rowid: i64) -> Option<TransactionId> {
        self.rows
            .get(&rowid)
            .map(|lock| lock.owner)
            .or_else(|| self.inserted.iter().find(|r| (r.first..=r.last).contains(&rowid)).map(|r| r.owner))
    }

    /// A transaction other than `me` holding any lock here.
    fn other_holder(&self, me: TransactionId) -> Option<TransactionId> {
        self.schema
            .filter(|&owner| owner != me)
            .or_else(|| self.row_owners.keys().copied().find(|&owner| owner != me))
            .or_else(|| self.inserted.iter().map(|r| r.owner).find(|&owner| owner != me))
    }

    /// Whether a transaction other than `me` holds changed rows here.
    fn others_hold_rows(&self, me: TransactionId) -> bool {
        self.row_owners.keys().any(|&owner| owner != me)
    }

    fn is_empty(&self) -> bool {
        self.schema.is_none() && self.rows.is_empty() && self.inserted.is_empty()
    }
}

fn key(table: &str) -> String {
    table.to_lowercase()
}

impl LockManager {
    fn state(&self) -> MutexGuard<'_, LockState> {
        // a panic elsewhere leaves the lock table consistent: every change is one call
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new transaction id; it holds nothing until it locks something.
    pub fn new_transaction(&self) -> TransactionId {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The other transaction holding a schema lock on `table`, which a reader of its
    /// definition waits for.
    pub fn schema_holder(&self, table: &str, me: TransactionId) -> Option<TransactionId> {
        self.state().tables.get(&key(table)).and_then(|t| t.schema).filter(|&owner| owner != me)
    }

    /// Takes the schema lock on `table` (DDL); `Err(holder)` while another transaction holds
    /// any lock on it.
    pub fn lock_schema(&self, table: &str, me: TransactionId) -> Result<(), TransactionId> {
        let mut state = self.state();
        let table_key = key(table);
        if let Some(holder) = state.tables.get(&table_key).and_then(|t| t.other_holder(me)) {
            return Err(holder);
        }
        state.tables.entry(table_key.clone()).or_default().schema = Some(me);
        state.held.entry(me).or_default().insert(table_key);
        Ok(())
    }

    /// The other transaction holding the row `rowid` of `table`.
    pub fn row_holder(&self, table: &str, rowid: i64, me: TransactionId) -> Option<TransactionId> {
        self.state().tables.get(&key(table)).and_then(|t| t.row_holder(rowid)).filter(|&owner| owner != me)
    }

    /// The other transaction a scan of `table` waits for: any holding a lock in it.
    pub fn scan_holder(&self, table: &str, me: TransactionId) -> Option<TransactionId> {
        self.state().tables.get(&key(table)).and_then(|t| t.other_holder(me))
    }

    /// The other transaction holding one of `rowids`, or a changed row whose committed values
    /// `matches` (a seek for a key finds the row as committed, wherever the change moved it).
    pub fn seek_holder(
        &self,
        table: &str,
        me: TransactionId,
        rowids: impl IntoIterator<Item = i64>,
        matches: impl Fn(&[Value]) -> bool,
    ) -> Option<TransactionId> {
        let state = self.state();
        let locks = state.tables.get(&key(table))?;
        rowids.into_iter().filter_map(|rowid| locks.row_holder(rowid)).find(|&owner| owner != me).or_else(|| {
            if !locks.others_hold_rows(me) {
                return None;
            }
            locks.rows.values().find(|lock| lock.owner != me && matches(&lock.committed)).map(|lock| lock.owner)
        })
    }

    /// Locks the committed rows `rows` (rowid, values as committed) of `table` for `me`, all
    /// or none: `Err(holder)` when another transaction holds one of them.
    pub fn lock_rows<'a>(
        &self,
        table: &str,
        me: TransactionId,
        rows: impl Iterator<Item = (i64, &'a [Value])> + Clone,
    ) -> Result<(), TransactionId> {
        let mut state = self.state();
        let table_key = key(table);
        let locks = state.tables.entry(table_key.clone()).or_default();
        if let Some(holder) = rows.clone().filter_map(|(rowid, _)| locks.row_holder(rowid)).find(|&o| o != me) {
            return Err(holder);
        }
        let mut locked_any = false;
        for (rowid, committed) in rows {
            if locks.row_holder(rowid).is_none() {
                locks.rows.insert(rowid, RowLock { owner: me, committed: committed.to_vec() });
                *locks.row_owners.entry(me).or_default() += 1;
                locked_any = true;
            }
        }
        if locked_any {
            state.held.entry(me).or_default().insert(table_key);
        } else if locks.is_empty() {
            state.tables.remove(&table_key);
        }
        Ok(())
    }

    /// Records the rows `first..=last` that `me` inserted into `table`.
    pub fn lock_inserted(&self, table: &str, me: TransactionId, first: i64, last: i64) {
        let mut state = self.state();
        let table_key = key(table);
        let locks = state.tables.entry(table_key.clone()).or_default();
        match locks.inserted.iter_mut().find(|r| r.owner == me && r.last + 1 == first) {
            Some(range) => range.last = last,
            None => {
                locks.inserted.push(InsertedRows { owner: me, first, last });
                state.held.entry(me).or_default().insert(table_key);
            }
        }
    }

    /// Forgets rows `first..=last` that `me` inserted into `table` and that are gone again
    /// (a statement rolled back by SQLite, whose rowids SQLite may hand out again).
    pub fn forget_inserted(&self, table: &str, me: TransactionId, first: i64, last: i64) {
        let mut state = self.state();
        if let Some(locks) = state.tables.get_mut(&key(table)) {
            let mut kept = Vec::with_capacity(locks.inserted.len());
            for range in locks.inserted.drain(..) {
                if range.owner != me || range.last < first || range.first > last {
                    kept.push(range);
                    continue;
                }
                if range.first < first {
                    kept.push(InsertedRows { owner: me, first: range.first, last: first - 1 });
                }
                if range.last > last {
                    kept.push(InsertedRows { owner: me, first: last + 1, last: range.last });
                }
            }
            locks.inserted = kept;
        }
        state.releases += 1;
        self.changed.notify_all();
    }

    /// Releases every lock of `me` (its transaction ended).
    pub fn release(&self, me: TransactionId) {
        let mut state = self.state();
        let Some(tables) = state.held.remove(&me) else {
            return;
        };
        for table_key in tables {
            let Some(locks) = state.tables.get_mut(&table_key) else {
                continue;
            };
            if locks.schema == Some(me) {
                locks.schema = None;
            }
            if locks.row_owners.remove(&me).is_some() {
                locks.rows.retain(|_, lock| lock.owner != me);
            }
            locks.inserted.retain(|r| r.owner != me);
            if locks.is_empty() {
                state.tables.remove(&table_key);
            }
        }
        state.releases += 1;
        self.changed.notify_all();
    }

    /// Waits until `holder`'s locks change, or `deadline` passes (`None`: no deadline). The
    /// caller holds no turn and tries its lock again after `Changed`.
    pub fn wait(&self, me: TransactionId, holder: TransactionId, deadline: Option<Instant>) -> WaitOutcome {
        let mut state = self.state();
        let mut at = holder;
        while let Some(&next) = state.waits.get(&at) {
            if next == me {
                return WaitOutcome::Deadlock;
            }
            at = next;
        }
        if !state.held.contains_key(&holder) {
            return WaitOutcome::Changed;
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return WaitOutcome::TimedOut;
        }
        state.waits.insert(me, holder);
        let releases = state.releases;
        let (outcome, mut state) = block_without_stalling(move || loop {
            if state.releases != releases {
                break (WaitOutcome::Changed, state);
            }
            state = match deadline {
                None => self.changed.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else {
                        break (WaitOutcome::TimedOut, state);
                    };
                    self.changed.wait_timeout(state, left).unwrap_or_else(|poisoned| poisoned.into_inner()).0
                }
            };
        });
        state.waits.remove(&me);
        outcome
    }
}

/// Runs `f`, which blocks, without stalling a tokio worker: other sessions' tasks move to
/// another thread while it blocks (a wait inside a request runs on the session's task).
pub(crate) fn block_without_stalling<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn row(v: i64) -> Vec<Value> {
        vec![Value::Int(v)]
    }

    #[test]
    fn different_rows_of_a_table_lock_apart_and_the_same_row_conflicts() {
        let locks = LockManager::default();
        let (a, b) = (locks.new_transaction(), locks.new_transaction());
        let (one, two) = (row(1), row(2));
        assert_eq!(locks.lock_rows("T", a, [(1, one.as_slice())].into_iter()), Ok(()));
        assert_eq!(locks.lock_rows("t", b, [(2, two.as_slice())].into_iter()), Ok(()));
        assert_eq!(locks.lock_rows("t", b, [(1, one.as_slice())].into_iter()), Err(a));
        assert_eq!(locks.row_holder("t", 2, a), Some(b));
        assert_eq!(locks.row_holder("t", 2, b), None, "its own lock is no conflict");
        assert_eq!(locks.scan_holder("t", a), Some(b));
        locks.release(b);
        assert_eq!(locks.scan_holder("t", a), None);
    }

    #[test]
    fn a_seek_finds_a_changed_row_by_its_committed_values() {
        let locks = LockManager::default();
        let (a, b) = (locks.new_transaction(), locks.new_transaction());
        let committed = row(5);
        locks.lock_rows("t", a, [(9, committed.as_slice())].into_iter()).unwrap();
        let key_is = |k: i64| move |values: &[Value]| values[0] == Value::Int(k);
        assert_eq!(locks.seek_holder("t", b, [], key_is(5)), Some(a), "the row moved away from key 5");
        assert_eq!(locks.seek_holder("t", b, [], key_is(6)), None);
        assert_eq!(locks.seek_holder("t", b, [9], key_is(6)), Some(a), "where the row is now");
    }

    #[test]
    fn inserted_rows_are_ranges_and_a_rolled_back_statement_forgets_its_own() {
        let locks = LockManager::default();
        let (a, b) = (locks.new_transaction(), locks.new_transaction());
        for rowid in 10..=20 {
            locks.lock_inserted("t", a, rowid, rowid);
        }
        assert_eq!(locks.row_holder("t", 15, b), Some(a));
        locks.forget_inserted("t", a, 18, 20);
        assert_eq!(locks.row_holder("t", 17, b), Some(a));
        assert_eq!(locks.row_holder("t", 18, b), None);
    }

    #[test]
    fn schema_locks_wait_for_any_other_lock_on_the_table() {
        let locks = LockManager::default();
        let (a, b) = (locks.new_transaction(), locks.new_transaction());
        locks.lock_inserted("t", a, 1, 1);
        assert_eq!(locks.lock_schema("t", b), Err(a));
        assert_eq!(locks.lock_schema("t", a), Ok(()));
        assert_eq!(locks.schema_holder("T", b), Some(a));
        locks.release(a);
        assert_eq!(locks.lock_schema("t", b), Ok(()));
    }

    #[test]
    fn a_wait_ends_when_the_holder_releases_or_at_its_deadline() {
        let locks = Arc::new(LockManager::default());
        let (a, b) = (locks.new_transaction(), locks.new_transaction());
        locks.lock_inserted("t", a, 1, 1);
        let soon = Instant::now() + Duration::from_millis(30);
        assert_eq!(locks.wait(b, a, Some(soon)), WaitOutcome::TimedOut);
        assert!(Instant::now() >= soon);
        assert_eq!(locks.wait(b, a, Some(Instant::now())), WaitOutcome::TimedOut, "LOCK_TIMEOUT 0 never sleeps");
        let releaser = {
            let locks = locks.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                locks.release(a);
            })
        };
        assert_eq!(locks.wait(b, a, None), WaitOutcome::Changed);
        releaser.join().unwrap();
        assert_eq!(locks.row_holder("t", 1, b), None);
    }

    #[test]
    fn the_wait_that_closes_a_cycle_is_the_deadlock_and_its_release_lets_the_other_go_on() {
        let locks = Arc::new(LockManager::default());
        let (a, b) = (locks.new_transaction(), locks.new_transaction());
        locks.lock_inserted("t", a, 1, 1);
        locks.lock_inserted("t", b, 2, 2);
        // each waits for the other; the victim gives its locks up, as its session does
        let waiters: Vec<_> = [(a, b), (b, a)]
            .into_iter()
            .map(|(me, holder)| {
                let locks = locks.clone();
                std::thread::spawn(move || {
                    let outcome = locks.wait(me, holder, Some(Instant::now() + Duration::from_secs(10)));
                    if outcome == WaitOutcome::Deadlock {
                        locks.release(me);
                    }
                    outcome
                })
            })
            .collect();
        let mut outcomes: Vec<WaitOutcome> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
        outcomes.sort_by_key(|o| *o as u8);
        assert_eq!(outcomes, [WaitOutcome::Changed, WaitOutcome::Deadlock]);
    }
}
