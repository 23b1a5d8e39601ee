use super::bind::{statement_with_forced_types, TdsParam};
use super::bulk::{BulkInput, BulkOptions, Loaded};
use super::errors::from_tiberius;
use super::response::{ResponseInput, ResponseState, ResultConsumer};
use crate::arrow::{BatchLimits, ResultSet};
use crate::error::DriverError;
use crate::request::{Request, Statement, Timeout};
use crate::tds::ServerMessage;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::future::Future;
use std::task::{Context, Waker};
use std::time::Duration;
use tiberius::{Client, IsolationLevel as TdsIsolation, RpcCall, ToSql};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::compat::Compat;

/// The batches of a `query()` result: many rows each, and never more
/// variable-width data than Arrow's 32-bit offsets can address.
pub const QUERY_BATCH_LIMITS: BatchLimits = BatchLimits { rows: 1 << 16, bytes: BatchLimits::MAX_BYTES };

/// How long the server has to acknowledge an Attention (or a rollback after
/// one) before the connection is given up as out of step.
pub(crate) const ATTENTION_WAIT: Duration = Duration::from_secs(5);

/// Everything a request returned.
#[derive(Debug, Default)]
pub struct QueryOutcome {
    /// Every result set, in order; empty when the request returned none.
    pub result_sets: Vec<ResultSet>,
    /// For each result set, the statement (RPC) of the request it came from.
    pub result_statements: Vec<usize>,
    /// Rows affected by the whole request: the sum of its DONE counts.
    pub rows_affected: u64,
    /// Rows affected by each statement of a [`Request::Statements`]; the
    /// total alone for other requests.
    pub statement_counts: Vec<u64>,
    /// The informational messages (PRINT, warnings) the server sent, in order.
    pub messages: Vec<ServerMessage>,
    /// A procedure's RETURN value.
    pub return_status: Option<i32>,
    /// A procedure's OUTPUT parameters as one row, one column each.
    pub output: Option<ResultSet>,
}

/// The isolation level a transaction starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
    Snapshot,
}

impl IsolationLevel {
    /// Parses `READ COMMITTED`, `read_committed`, `snapshot`, ...
    pub fn parse(text: &str) -> Result<Self, DriverError> {
        let folded: String = text.chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_lowercase();
        match folded.as_str() {
            "readuncommitted" => Ok(Self::ReadUncommitted),
            "readcommitted" => Ok(Self::ReadCommitted),
            "repeatableread" => Ok(Self::RepeatableRead),
            "serializable" => Ok(Self::Serializable),
            "snapshot" => Ok(Self::Snapshot),
            _ => Err(DriverError::programming(format!(
                "unknown isolation level {text:?}: use READ UNCOMMITTED, READ COMMITTED, REPEATABLE READ, \
                 SERIALIZABLE or SNAPSHOT"
            ))),
        }
    }

    fn tds(self) -> TdsIsolation {
        match self {
            Self::ReadUncommitted => TdsIsolation::ReadUncommitted,
            Self::ReadCommitted => TdsIsolation::ReadCommitted,
            Self::RepeatableRead => TdsIsolation::RepeatableRead,
            Self::Serializable => TdsIsolation::Serializable,
            Self::Snapshot => TdsIsolation::Snapshot,
        }
    }
}

/// One logged-in session.
///
/// A request is either on the wire, in flight (sent; its response not read
/// to the end because the caller stopped waiting: recoverable with an
/// Attention, see [`recover`](Self::recover)), or done. `poisoned` marks a
/// session out of step with the server (a request half written, a transport
/// or framing error): it is only good for discarding.
///
/// `S` is the byte stream: TCP in the product; generic so a benchmark can
/// replay recorded server bytes through exactly the same decoding path.
pub struct DriverConnection<S: AsyncRead + AsyncWrite + Unpin + Send = TcpStream> {
    client: Client<Compat<S>>,
    input: ResponseInput,
    poisoned: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> DriverConnection<S> {
    pub(crate) fn new(client: Client<Compat<S>>) -> Self {
        Self { client, input: ResponseInput::new(), poisoned: false }
    }

    /// Whether the session must be discarded rather than reused as it is.
    pub fn is_broken(&self) -> bool {
        self.poisoned || self.input.is_mid_response()
    }

    /// Whether the session is out of step with the server for good (see
    /// the type's documentation): it can only be discarded.
    pub(crate) fn is_out_of_step(&self) -> bool {
        self.poisoned
    }

    /// Whether [`recover`](Self::recover) has work to do before reuse.
    pub(crate) fn needs_recovery(&self) -> bool {
        !self.poisoned && (self.input.is_mid_response() || self.in_transaction())
    }

    /// The next request resets the session first (temp tables, SET options,
    /// database): done on every checkout from the pool.
    pub(crate) fn reset_on_next_request(&mut self) {
        self.client.reset_session_on_next_request();
    }

    /// Runs `request`, handing its result sets to `consumer` in batches within
    /// `limits` while they arrive. Past `timeout` the request is cancelled
    /// with an Attention and [`DriverError::timeout`] returned; the session
    /// stays usable when the server acknowledged the cancel in time.
    pub(crate) async fn run<C: ResultConsumer>(
        &mut self,
        request: &Request,
        limits: BatchLimits,
        consumer: &mut C,
        timeout: Timeout,
    ) -> Result<ResponseState, DriverError> {
        self.recover().await?;
        let Some(limit) = timeout else {
            return self.exchange(request, limits, consumer).await;
        };
        match tokio::time::timeout(limit, self.exchange(request, limits, consumer)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let mut message = format!(
                    "the request did not complete within its timeout of {} s and was cancelled",
                    limit.as_secs_f64()
                );
                if let Err(why) = self.recover().await {
                    message.push_str(&format!("; the connection was discarded ({why})"));
                }
                Err(DriverError::timeout(message))
            }
        }
    }

    async fn exchange<C: ResultConsumer>(
        &mut self,
        request: &Request,
        limits: BatchLimits,
        consumer: &mut C,
    ) -> Result<ResponseState, DriverError> {
        // Until the request is wholly written, an interruption leaves part
        // of a message on the wire.
        self.poisoned = true;
        self.send(request).await?;
        self.input.expect_response(limits);
        self.poisoned = false;
        let read = self.input.read(&mut self.client, consumer).await;
        if read.is_err() && !self.input.is_mid_response() {
            self.poisoned = true;
        }
        let state = read?;
        // The response was read to its end: only a fatal server error (severity 20+,
        // the server closes the session) breaks the connection.
        if state.summary.first_error.as_ref().and_then(|e| e.server.as_ref()).is_some_and(|s| s.severity >= 20) {
            self.poisoned = true;
        }
        Ok(state)
    }

    async fn send(&mut self, request: &Request) -> Result<(), DriverError> {
        let sent = match request {
            Request::Statement(Statement { sql, params }) if params.is_empty() => self.client.send_batch(sql).await,
            Request::Statement(Statement { sql, params }) => {
                let statement = statement_with_forced_types(sql, params);
                let tds_params: Vec<TdsParam<'_>> = params.iter().map(TdsParam).collect();
                let refs: Vec<&dyn ToSql> = tds_params.iter().map(|p| p as &dyn ToSql).collect();
                self.client.send_query(&statement, &refs).await
            }
            Request::Statements(statements) => {
                let texts: Vec<String> =
                    statements.iter().map(|s| statement_with_forced_types(&s.sql, &s.params)).collect();
                let tds_params: Vec<Vec<TdsParam<'_>>> =
                    statements.iter().map(|s| s.params.iter().map(TdsParam).collect()).collect();
                let refs: Vec<Vec<&dyn ToSql>> =
                    tds_params.iter().map(|list| list.iter().map(|p| p as &dyn ToSql).collect()).collect();
                let calls = texts.iter().zip(&refs).map(|(text, refs)| RpcCall::execute_sql(text.as_str(), refs));
                self.client.send_rpcs(calls.collect()).await
            }
            Request::Procedure { name, arguments } => {
                let values: Vec<TdsParam<'_>> = arguments.iter().map(|a| TdsParam(&a.value)).collect();
                // An argument without a name is passed by position.
                let call = arguments.iter().zip(&values).fold(RpcCall::procedure(name.as_str()), |call, (a, v)| {
                    let name = if a.name.is_empty() { String::new() } else { format!("@{}", a.name) };
                    call.param(name, v, a.output)
                });
                self.client.send_rpcs(vec![call]).await
            }
        };
        sent.map_err(from_tiberius)
    }

    /// Brings an interrupted session back in step: a response left in
    /// flight is cancelled with an Attention and drained to the server's
    /// acknowledgement, within [`ATTENTION_WAIT`]. A session that cannot be
    /// recovered is poisoned and the reason returned.
    pub(crate) async fn recover(&mut self) -> Result<(), DriverError> {
        if self.poisoned {
            return Err(DriverError::operational("the connection is out of step with the server"));
        }
        if !self.input.is_mid_response() {
            return Ok(());
        }
        self.poisoned = true;
        match tokio::time::timeout(ATTENTION_WAIT, self.input.cancel(&mut self.client)).await {
            Ok(Ok(())) => {
                self.poisoned = false;
                Ok(())
            }
            Ok(Err(error)) => Err(error.context("cancelling the interrupted request failed")),
            Err(_) => Err(DriverError::operational(format!(
                "the server did not acknowledge the cancel of the interrupted request within {} s",
                ATTENTION_WAIT.as_secs()
            ))),
        }
    }

    /// Runs a batch and decodes every result set into Arrow columns.
    pub async fn query(
        &mut self,
        sql: &str,
        params: &[crate::params::BoundParam],
    ) -> Result<QueryOutcome, DriverError> {
        collect(self, &Request::sql(sql, params.to_vec()), None).await
    }

    /// Runs a batch and returns the rows affected, summed over its statements.
    pub async fn execute(&mut self, sql: &str, params: &[crate::params::BoundParam]) -> Result<u64, DriverError> {
        self.query(sql, params).await.map(|outcome| outcome.rows_affected)
    }

    /// The columns a query would return (its first result set's schema,
    /// with `mssql.type` metadata and the server's nullability).
    pub(crate) async fn result_schema(&mut self, sql: &str) -> Result<SchemaRef, DriverError> {
        let outcome = self.query(sql, &[]).await?;
        outcome
            .result_sets
            .into_iter()
            .next()
            .map(|set| set.schema)
            .ok_or_else(|| DriverError::internal(format!("'{sql}' returned no result set")))
    }

    /// Bulk-loads `input` into `table` (columns matched by name); returns
    /// the rows stored.
    pub async fn bulk_insert(
        &mut self,
        table: &str,
        input: &mut BulkInput,
        options: &BulkOptions,
    ) -> Result<u64, DriverError> {
        self.recover().await?;
        let mut targets = super::bulk::targets(self, table, &input.schema).await?;
        if !options.keep_identity {
            targets = super::bulk::without_identity(&mut self.client, table, targets).await?;
        }
        let mut loaded = Loaded { stored: 0, abandoned: false };
        self.poisoned = true;
        let outcome = super::bulk::load(&mut self.client, table, &targets, input, options, &mut loaded).await;
        self.poisoned = loaded.abandoned || outcome.as_ref().is_err_and(super::errors::breaks_connection);
        match outcome {
            Ok(()) => Ok(loaded.stored),
            Err(error) if loaded.stored > 0 && !options.atomic => Err(error.context(&format!(
                "bulk_insert stored {} rows in the INSERT BULKs before the one that failed",
                loaded.stored
            ))),
            Err(error) => Err(error),
        }
    }

    /// Whether the server hung up on this idle session (it restarted, or a
    /// network device dropped the connection), found without a round trip by
    /// one read that must not wait: an idle session has nothing to read, so
    /// anything but "nothing yet" (the end of the stream, an error, bytes
    /// nobody asked for) means it cannot serve a request.
    pub(crate) fn is_closed_by_server(&mut self) -> bool {
        if self.is_broken() {
            return true;
        }
        let mut probe = [0u8; 1];
        let read = std::pin::pin!(self.client.read_response(&mut probe));
        let closed = read.poll(&mut Context::from_waker(Waker::noop())).is_ready();
        self.poisoned |= closed;
        closed
    }

    /// Whether the server reported a transaction open (ENVCHANGE 8 with no
    /// commit or rollback since).
    pub(crate) fn in_transaction(&self) -> bool {
        self.client.transaction_descriptor() != [0; 8]
    }

    /// Begins a transaction (a Transaction Manager request).
    pub(crate) async fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<(), DriverError> {
        self.recover().await?;
        let level = isolation.map_or(TdsIsolation::Unspecified, IsolationLevel::tds);
        self.transaction_request(|client| Box::pin(client.begin_transaction_with_isolation(level))).await?;
        if !self.in_transaction() {
            return Err(DriverError::operational("the server did not report the transaction it began"));
        }
        Ok(())
    }

    /// Commits the open transaction.
    pub(crate) async fn commit(&mut self) -> Result<(), DriverError> {
        self.recover().await?;
        self.transaction_request(|client| Box::pin(client.commit_transaction())).await
    }

    /// Rolls back the open transaction, if any; the session is poisoned when
    /// the server does not confirm it, so it is never reused inside one.
    pub(crate) async fn rollback(&mut self) -> Result<(), DriverError> {
        self.recover().await?;
        if !self.in_transaction() {
            return Ok(());
        }
        let rolled_back = tokio::time::timeout(
            ATTENTION_WAIT,
            self.transaction_request(|client| Box::pin(client.rollback_transaction())),
        )
        .await;
        match rolled_back {
            Ok(Ok(())) if !self.in_transaction() => Ok(()),
            Ok(Ok(())) => {
                self.poisoned = true;
                Err(DriverError::operational("the server did not confirm the rollback; the connection was discarded"))
            }
            Ok(Err(error)) => {
                self.poisoned = true;
                Err(error.context("rollback failed; the connection was discarded"))
            }
            Err(_) => {
                self.poisoned = true;
                Err(DriverError::operational(format!(
                    "the rollback was not answered within {} s; the connection was discarded",
                    ATTENTION_WAIT.as_secs()
                )))
            }
        }
    }

    /// A Transaction Manager request, read by tiberius (its response carries
    /// no rows).
    async fn transaction_request<F>(&mut self, request: F) -> Result<(), DriverError>
    where
        F: for<'c> FnOnce(
            &'c mut Client<Compat<S>>,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = tiberius::Result<()>> + Send + 'c>>,
    {
        self.poisoned = true;
        let outcome = request(&mut self.client).await.map_err(from_tiberius);
        self.poisoned = outcome.as_ref().is_err_and(super::errors::breaks_connection);
        outcome
    }
}

/// Runs `request` on `connection` and keeps every result set whole.
pub(crate) async fn collect<S: AsyncRead + AsyncWrite + Unpin + Send>(
    connection: &mut DriverConnection<S>,
    request: &Request,
    timeout: Timeout,
) -> Result<QueryOutcome, DriverError> {
    let mut collected = CollectedResults::default();
    let mut state = connection.run(request, QUERY_BATCH_LIMITS, &mut collected, timeout).await?;
    if let Some(error) = state.summary.first_error.take() {
        return Err(error);
    }
    let statement_counts = match request {
        Request::Statements(_) => state.statement_counts(),
        _ => vec![state.summary.rows_affected],
    };
    Ok(QueryOutcome {
        output: state.output_parameters()?,
        result_sets: collected.sets,
        result_statements: collected.statements,
        rows_affected: state.summary.rows_affected,
        statement_counts,
        messages: std::mem::take(&mut state.summary.messages),
        return_status: state.summary.return_status,
    })
}

/// Every result set kept whole, for `query`.
#[derive(Default)]
struct CollectedResults {
    sets: Vec<ResultSet>,
    statements: Vec<usize>,
}

impl ResultConsumer for CollectedResults {
    fn start_result_set(&mut self, schema: SchemaRef, statement: usize) -> Result<(), DriverError> {
        self.sets.push(ResultSet { schema, batches: Vec::new() });
        self.statements.push(statement);
        Ok(())
    }

    async fn batches(&mut self, batches: Vec<RecordBatch>) -> Result<(), DriverError> {
        if let Some(set) = self.sets.last_mut() {
            set.batches.extend(batches);
        }
        Ok(())
    }

    async fn end_result_set(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
}
