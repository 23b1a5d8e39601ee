//! A pooled connection checked out for one call, or pinned for several (a
//! transaction, `acquire()`), and put back in step when its user leaves.

use super::bulk::{BulkInput, BulkOptions};
use super::connection::{collect, DriverConnection, IsolationLevel, QueryOutcome};
use super::manager::Manager;
use super::response::{ResponseState, ResultConsumer};
use crate::arrow::BatchLimits;
use crate::error::DriverError;
use crate::request::{Request, Statement, Timeout};
use std::sync::Arc;

pub(crate) type PooledConnection = bb8::PooledConnection<'static, Manager>;

/// A session several calls share: a transaction or `acquire()`.
pub type PinnedSession = Arc<tokio::sync::Mutex<Session>>;

/// A checked-out connection. Each checkout starts with a session reset, so
/// no temp table, SET option or database of a previous user leaks in.
///
/// Dropped in the middle of a request (a cancelled task, a timeout, an
/// abandoned stream) or inside a transaction, it cancels the request with an
/// Attention and rolls back in the background before the connection goes
/// back to the pool; one that cannot be put back in step is discarded.
pub struct Session {
    connection: Option<PooledConnection>,
    /// A pinned session keeps its state (a transaction, temp tables) between
    /// calls; an unpinned one is for one call and may not leave a transaction open.
    pinned: bool,
    /// The runtime the connection's socket belongs to: recovery after a drop
    /// runs there (it may be dropped outside any runtime).
    runtime: Option<tokio::runtime::Handle>,
}

impl Session {
    pub(crate) fn new(mut connection: PooledConnection, pinned: bool) -> Self {
        connection.reset_on_next_request();
        let runtime = tokio::runtime::Handle::try_current().ok();
        Self { connection: Some(connection), pinned, runtime }
    }

    fn connection(&mut self) -> Result<&mut DriverConnection, DriverError> {
        self.connection
            .as_deref_mut()
            .ok_or_else(|| DriverError::programming("this session has ended: its connection went back to the pool"))
    }

    pub fn is_released(&self) -> bool {
        self.connection.is_none()
    }

    pub fn in_transaction(&self) -> bool {
        self.connection.as_deref().is_some_and(DriverConnection::in_transaction)
    }

    /// Runs `request`, keeping every result set whole.
    pub async fn query(&mut self, request: &Request, timeout: Timeout) -> Result<QueryOutcome, DriverError> {
        let outcome = collect(self.connection()?, request, timeout).await;
        self.refuse_open_transaction(outcome).await
    }

    /// Runs `request`, handing result sets to `consumer` as they arrive.
    pub(crate) async fn run<C: ResultConsumer>(
        &mut self,
        request: &Request,
        limits: BatchLimits,
        consumer: &mut C,
        timeout: Timeout,
    ) -> Result<ResponseState, DriverError> {
        let outcome = self.connection()?.run(request, limits, consumer, timeout).await;
        self.refuse_open_transaction(outcome).await
    }

    /// Bulk-loads `input` into `table`; returns the rows stored. With
    /// `options.atomic`, all or none (see [`Session::run_statements`]).
    pub async fn bulk_insert(
        &mut self,
        table: &str,
        input: &mut BulkInput,
        options: &BulkOptions,
        timeout: Timeout,
    ) -> Result<u64, DriverError> {
        if !options.atomic {
            return self.connection()?.bulk_insert(table, input, options).await;
        }
        let savepoint = self.begin_atomic(timeout).await?;
        let outcome = self.connection()?.bulk_insert(table, input, options).await;
        self.end_atomic(savepoint, outcome.is_ok(), timeout).await?;
        outcome
    }

    pub async fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<(), DriverError> {
        let connection = self.connection()?;
        if connection.in_transaction() {
            return Err(DriverError::programming("a transaction is already open on this session"));
        }
        connection.begin(isolation).await
    }

    pub async fn commit(&mut self) -> Result<(), DriverError> {
        let connection = self.connection()?;
        if !connection.in_transaction() {
            return Err(DriverError::programming(
                "no transaction is open to commit (it was committed, rolled back, or ended by the server)",
            ));
        }
        connection.commit().await
    }

    /// Rolls back the open transaction, if any.
    pub async fn rollback(&mut self) -> Result<(), DriverError> {
        self.connection()?.rollback().await
    }

    /// Puts the connection back in step (cancelling a request in flight,
    /// rolling back an open transaction) and returns it to the pool.
    pub async fn release(&mut self) -> Result<(), DriverError> {
        let Some(mut connection) = self.connection.take() else {
            return Ok(());
        };
        if connection.is_out_of_step() {
            // Whatever put it out of step (a request cut off mid-write by a
            // cancellation, a lost connection) was reported by then; the pool
            // discards it, and the server rolls back what a closed
            // connection leaves open.
            return Ok(());
        }
        connection.recover().await?;
        connection.rollback().await
    }

    /// An unpinned call that leaves a transaction open (`BEGIN TRAN` without
    /// `COMMIT`) is rolled back and reported: its work would otherwise be
    /// lost silently, or leak to the connection's next user.
    async fn refuse_open_transaction<T>(&mut self, outcome: Result<T, DriverError>) -> Result<T, DriverError> {
        if self.pinned {
            return outcome;
        }
        let connection = self.connection()?;
        if !connection.in_transaction() || connection.is_broken() {
            return outcome;
        }
        let rolled_back = connection.rollback().await;
        outcome?;
        rolled_back?;
        Err(DriverError::programming(
            "the statement left a transaction open (BEGIN TRANSACTION without COMMIT), so it was rolled back: \
             a pooled call runs on whichever connection is free; use `async with conn.transaction() as tx:` \
             for work that spans statements or calls",
        ))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(mut connection) = self.connection.take() else {
            return;
        };
        let Ok(runtime) = self.runtime.take().map_or_else(crate::runtime::handle, Ok) else {
            // Without a runtime it is dropped as it is; the pool sees it broken.
            return;
        };
        if connection.needs_recovery() {
            runtime.spawn(async move {
                // A failure poisons it, and the pool then discards it.
                if connection.recover().await.is_ok() {
                    let _ = connection.rollback().await;
                }
            });
        } else {
            // Returning it to the pool may spawn the pool's replenishing task: a
            // session dropped on a Python thread (the event loop's, a finalizer)
            // must do that in the runtime's context, else tokio panics.
            let _context = runtime.enter();
            drop(connection);
        }
    }
}

/// Where a call runs.
#[derive(Clone)]
pub enum Target {
    /// On whichever pooled connection is free, checked out for this call.
    Pool(Arc<super::DriverPool>),
    /// On a pinned session.
    Pinned(PinnedSession),
}

/// Statements per request message of a statement batch: enough that a
/// typical batch is one round trip, few enough to bound a request's size.
pub const STATEMENTS_PER_REQUEST: usize = 10_000;

/// The savepoint an all-or-none batch sets inside an open transaction.
const BATCH_SAVEPOINT: &str = "fastmssql_batch";

impl Session {
    /// Runs `statements` in requests of [`STATEMENTS_PER_REQUEST`]; with
    /// `atomic`, all or none: in a transaction of their own, or under a
    /// savepoint of the one open.
    pub async fn run_statements(
        &mut self,
        statements: Vec<Statement>,
        atomic: bool,
        timeout: Timeout,
    ) -> Result<QueryOutcome, DriverError> {
        if !atomic {
            return self.run_chunks(statements, timeout).await;
        }
        let savepoint = self.begin_atomic(timeout).await?;
        let outcome = self.run_chunks(statements, timeout).await;
        self.end_atomic(savepoint, outcome.is_ok(), timeout).await?;
        outcome
    }

    /// Starts all-or-none work: a transaction of its own, or a savepoint of
    /// the one open (then returns true).
    async fn begin_atomic(&mut self, timeout: Timeout) -> Result<bool, DriverError> {
        let savepoint = self.in_transaction();
        if savepoint {
            self.query(&Request::sql(format!("SAVE TRANSACTION {BATCH_SAVEPOINT}"), Vec::new()), timeout).await?;
        } else {
            self.begin(None).await?;
        }
        Ok(savepoint)
    }

    /// Ends what [`begin_atomic`](Self::begin_atomic) started: commits (or keeps
    /// the savepoint's work) when `succeeded`, else undoes it.
    async fn end_atomic(&mut self, savepoint: bool, succeeded: bool, timeout: Timeout) -> Result<(), DriverError> {
        match (succeeded, savepoint) {
            (true, true) => {}
            (true, false) => self.commit().await?,
            (false, true) => {
                let undo = Request::sql(format!("ROLLBACK TRANSACTION {BATCH_SAVEPOINT}"), Vec::new());
                // The work's own error is the one to report; a transaction
                // the error doomed cannot go back to the savepoint.
                let _ = self.query(&undo, timeout).await;
            }
            (false, false) => {
                let _ = self.rollback().await;
            }
        }
        Ok(())
    }

    async fn run_chunks(
        &mut self,
        mut statements: Vec<Statement>,
        timeout: Timeout,
    ) -> Result<QueryOutcome, DriverError> {
        let mut merged = QueryOutcome::default();
        let mut first = 0;
        while !statements.is_empty() {
            let rest = statements.split_off(statements.len().min(STATEMENTS_PER_REQUEST));
            let count = statements.len();
            let request = Request::Statements(std::mem::replace(&mut statements, rest));
            let outcome = self.query(&request, timeout).await.map_err(|e| e.offset_statement(first))?;
            merged.result_sets.extend(outcome.result_sets);
            merged.result_statements.extend(outcome.result_statements.iter().map(|s| s + first));
            merged.rows_affected += outcome.rows_affected;
            merged.statement_counts.extend(outcome.statement_counts);
            merged.messages.extend(outcome.messages);
            first += count;
        }
        Ok(merged)
    }
}

impl Target {
    /// See [`Session::run_statements`]; on the pool, one checkout for all.
    pub async fn run_statements(
        &self,
        statements: Vec<Statement>,
        atomic: bool,
        timeout: Timeout,
    ) -> Result<QueryOutcome, DriverError> {
        match self {
            Self::Pool(pool) => {
                let mut session = pool.session(atomic).await?;
                let outcome = session.run_statements(statements, atomic, timeout).await;
                let released = session.release().await;
                let outcome = outcome?;
                released?;
                Ok(outcome)
            }
            Self::Pinned(session) => session.lock().await.run_statements(statements, atomic, timeout).await,
        }
    }

    pub async fn query(&self, request: &Request, timeout: Timeout) -> Result<QueryOutcome, DriverError> {
        match self {
            Self::Pool(pool) => pool.session(false).await?.query(request, timeout).await,
            Self::Pinned(session) => session.lock().await.query(request, timeout).await,
        }
    }

    /// See [`Session::bulk_insert`]; on the pool, one checkout for the whole load.
    pub async fn bulk_insert(
        &self,
        table: &str,
        mut input: BulkInput,
        options: &BulkOptions,
        timeout: Timeout,
    ) -> Result<u64, DriverError> {
        match self {
            Self::Pool(pool) => {
                let mut session = pool.session(options.atomic).await?;
                let outcome = session.bulk_insert(table, &mut input, options, timeout).await;
                let released = session.release().await;
                let outcome = outcome?;
                released?;
                Ok(outcome)
            }
            Self::Pinned(session) => session.lock().await.bulk_insert(table, &mut input, options, timeout).await,
        }
    }
}
