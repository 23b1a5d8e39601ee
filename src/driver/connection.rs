use super::bind::{statement_with_forced_types, TdsParam};
use super::errors::{breaks_connection, from_tiberius};
use super::response::{ResponseInput, ResponseState, ResultConsumer};
use crate::arrow::{BatchLimits, ResultSet};
use crate::error::DriverError;
use crate::params::BoundParam;
use crate::tds::ServerMessage;
use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use tiberius::{Client, ToSql};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::compat::Compat;

/// The batches of a `query()` result: many rows each, and never more
/// variable-width data than Arrow's 32-bit offsets can address.
pub const QUERY_BATCH_LIMITS: BatchLimits = BatchLimits { rows: 1 << 16, bytes: BatchLimits::MAX_BYTES };

/// Everything a query batch returned.
#[derive(Debug)]
pub struct QueryOutcome {
    /// Every result set, in order; empty when the batch returned none.
    pub result_sets: Vec<ResultSet>,
    /// Rows affected by the whole batch: the sum of its DONE counts, as `execute` returns it.
    pub rows_affected: u64,
    /// The informational messages (PRINT, warnings) the server sent, in order.
    pub messages: Vec<ServerMessage>,
}

/// One logged-in session. `poisoned` is set while a request is on the wire
/// and cleared only once its response was read completely, so a request that
/// was abandoned midway (its future dropped) or failed at the transport level
/// leaves the connection marked for disposal.
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

    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Runs a batch and decodes every result set into Arrow columns.
    pub async fn query(&mut self, sql: &str, params: &[BoundParam]) -> Result<QueryOutcome, DriverError> {
        let mut collected = CollectedResults::default();
        let (rows_affected, messages) = self.read_results(sql, params, QUERY_BATCH_LIMITS, &mut collected).await?;
        Ok(QueryOutcome { result_sets: collected.sets, rows_affected, messages })
    }

    /// Runs a batch and returns the rows affected, summed over its statements.
    pub async fn execute(&mut self, sql: &str, params: &[BoundParam]) -> Result<u64, DriverError> {
        let mut discarded = CollectedResults::default();
        Ok(self.read_results(sql, params, QUERY_BATCH_LIMITS, &mut discarded).await?.0)
    }

    /// Runs a batch and hands its result sets to `consumer` in batches
    /// within `limits` while they arrive; returns the rows affected and the
    /// informational messages.
    pub(crate) async fn read_results<C: ResultConsumer>(
        &mut self,
        sql: &str,
        params: &[BoundParam],
        limits: BatchLimits,
        consumer: &mut C,
    ) -> Result<(u64, Vec<ServerMessage>), DriverError> {
        self.poisoned = true;
        let mut state = ResponseState::new(limits);
        let outcome = match self.send(sql, params).await {
            Ok(()) => self.input.read(&mut self.client, &mut state, consumer).await,
            Err(error) => Err(error),
        };
        let summary = state.summary;
        let outcome = outcome
            .and_then(|()| summary.first_error.map_or(Ok(()), Err))
            .map(|()| (summary.rows_affected, summary.messages));
        self.finish_request(outcome).await
    }

    async fn send(&mut self, sql: &str, params: &[BoundParam]) -> Result<(), DriverError> {
        let sent = if params.is_empty() {
            self.client.send_batch(sql).await
        } else {
            let statement = statement_with_forced_types(sql, params);
            let tds_params: Vec<TdsParam<'_>> = params.iter().map(TdsParam).collect();
            let refs: Vec<&dyn ToSql> = tds_params.iter().map(|p| p as &dyn ToSql).collect();
            self.client.send_query(&statement, &refs).await
        };
        sent.map_err(from_tiberius)
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

    /// Bulk-loads `batches` into `table` (columns matched by name); returns
    /// the rows stored.
    pub async fn bulk_insert(
        &mut self,
        table: &str,
        schema: &Schema,
        batches: &[RecordBatch],
    ) -> Result<u64, DriverError> {
        let targets = super::bulk::targets(self, table, schema).await?;
        self.poisoned = true;
        let outcome = super::bulk::load(&mut self.client, table, schema, &targets, batches).await;
        self.finish_request(outcome).await
    }

    /// A cheap round trip proving the session is alive.
    pub async fn ping(&mut self) -> Result<(), DriverError> {
        self.execute("SELECT 1", &[]).await.map(drop)
    }

    /// Clears `poisoned` unless the error broke the session or a transaction
    /// the batch left open could not be rolled back.
    async fn finish_request<T>(&mut self, outcome: Result<T, DriverError>) -> Result<T, DriverError> {
        let healthy = match &outcome {
            Ok(_) => true,
            Err(error) => !breaks_connection(error),
        };
        if healthy {
            self.poisoned = !self.roll_back_open_transaction().await;
        }
        outcome
    }

    /// Whether the server reported a transaction open (ENVCHANGE 8 with no
    /// commit or rollback since), as of the tokens read so far.
    fn in_transaction(&self) -> bool {
        self.client.transaction_descriptor() != [0; 8]
    }

    /// Rolls back a transaction the batch left open, so the next user of the
    /// pooled connection never inherits it; true when none is open after.
    async fn roll_back_open_transaction(&mut self) -> bool {
        if !self.in_transaction() {
            return true;
        }
        // A Transaction Manager request needs no T-SQL and names the
        // transaction by its descriptor; success is the server's ENVCHANGE 10.
        self.client.rollback_transaction().await.is_ok() && !self.in_transaction()
    }
}

/// Every result set kept whole, for `query`.
#[derive(Default)]
struct CollectedResults {
    sets: Vec<ResultSet>,
}

impl ResultConsumer for CollectedResults {
    fn start_result_set(&mut self, schema: SchemaRef) -> Result<(), DriverError> {
        self.sets.push(ResultSet { schema, batches: Vec::new() });
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
