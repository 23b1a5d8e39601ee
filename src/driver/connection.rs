use super::bind::{statement_with_forced_types, TdsParam};
use super::decode::append_cell;
use super::describe::describe_column;
use super::errors::{breaks_connection, from_tiberius};
use crate::arrow::{ColumnBuilder, ResultSet, ResultSetBuilder};
use crate::error::DriverError;
use crate::params::BoundParam;
use arrow_array::RecordBatch;
use arrow_schema::Schema;
use futures_util::TryStreamExt;
use std::future::Future;
use tiberius::{Client, Column, QueryItem, ToSql};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::compat::Compat;

/// Everything a query batch returned.
#[derive(Debug)]
pub struct QueryOutcome {
    /// Every result set, in order; empty when the batch returned none.
    pub result_sets: Vec<ResultSet>,
    /// Rows affected by the whole batch: the sum of its DONE counts, as `execute` returns it.
    pub rows_affected: u64,
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
    poisoned: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> DriverConnection<S> {
    pub(crate) fn new(client: Client<Compat<S>>) -> Self {
        Self { client, poisoned: false }
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Runs a batch and decodes every result set into Arrow columns.
    pub async fn query(&mut self, sql: &str, params: &[BoundParam]) -> Result<QueryOutcome, DriverError> {
        let mut collected = CollectedResults::default();
        let rows_affected = self.read_results(sql, params, &mut collected).await?;
        Ok(QueryOutcome { result_sets: collected.sets, rows_affected })
    }

    /// Runs a batch and hands its result sets to `consumer` while they
    /// arrive; returns the rows affected, as `execute` does.
    pub(crate) async fn read_results<C: ResultConsumer>(
        &mut self,
        sql: &str,
        params: &[BoundParam],
        consumer: &mut C,
    ) -> Result<u64, DriverError> {
        self.poisoned = true;
        let outcome = self.stream_results(sql, params, consumer).await;
        self.finish_request(outcome).await
    }

    /// Runs a batch and returns the rows affected, summed over its statements.
    pub async fn execute(&mut self, sql: &str, params: &[BoundParam]) -> Result<u64, DriverError> {
        self.poisoned = true;
        let statement = statement_with_forced_types(sql, params);
        let tds_params: Vec<TdsParam<'_>> = params.iter().map(TdsParam).collect();
        let refs: Vec<&dyn ToSql> = tds_params.iter().map(|p| p as &dyn ToSql).collect();
        let outcome = match self.client.execute(statement, &refs).await {
            Ok(result) => Ok(result.rows_affected().iter().sum()),
            Err(error) => Err(from_tiberius(error)),
        };
        self.finish_request(outcome).await
    }

    /// Bulk-loads `batches` into `table` (columns matched by name); returns
    /// the rows stored.
    pub async fn bulk_insert(&mut self, table: &str, schema: &Schema, batches: &[RecordBatch]) -> Result<u64, DriverError> {
        self.poisoned = true;
        let outcome = super::bulk::load(&mut self.client, table, schema, batches).await;
        self.finish_request(outcome).await
    }

    /// A cheap round trip proving the session is alive.
    pub async fn ping(&mut self) -> Result<(), DriverError> {
        self.poisoned = true;
        let stream = self.client.simple_query("SELECT 1").await.map_err(from_tiberius)?;
        stream.into_results().await.map_err(from_tiberius)?;
        self.poisoned = false;
        Ok(())
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

    /// Streams the response into column builders, reading it to the end even
    /// after a decoding problem so the session stays usable.
    async fn stream_results<C: ResultConsumer>(
        &mut self,
        sql: &str,
        params: &[BoundParam],
        consumer: &mut C,
    ) -> Result<u64, DriverError> {
        let mut stream = if params.is_empty() {
            self.client.simple_query(sql).await
        } else {
            let statement = statement_with_forced_types(sql, params);
            let tds_params: Vec<TdsParam<'_>> = params.iter().map(TdsParam).collect();
            let refs: Vec<&dyn ToSql> = tds_params.iter().map(|p| p as &dyn ToSql).collect();
            self.client.query(statement, &refs).await
        }
        .map_err(from_tiberius)?;

        let mut current: Option<ResultSetBuilder> = None;
        let mut first_problem: Option<DriverError> = None;
        loop {
            let item = match stream.try_next().await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(error) => {
                    let error = from_tiberius(error);
                    if breaks_connection(&error) {
                        return Err(error);
                    }
                    // A server error ends a statement, not the response:
                    // keep reading so the connection is left clean.
                    first_problem.get_or_insert(error);
                    continue;
                }
            };
            if first_problem.is_some() {
                continue;
            }
            match item {
                QueryItem::Metadata(meta) => {
                    if let Some(done) = current.take() {
                        consumer.end_result_set(done).await?;
                    }
                    let columns: Result<Vec<ColumnBuilder>, DriverError> =
                        meta.columns().iter().map(column_builder).collect();
                    match columns.and_then(|columns| consumer.start_result_set(ResultSetBuilder::new(columns))) {
                        Ok(builder) => current = Some(builder),
                        Err(error) => first_problem = Some(error),
                    }
                }
                QueryItem::Row(row) => {
                    let Some(builder) = current.as_mut() else {
                        first_problem =
                            Some(DriverError::operational("protocol error: a row arrived before its metadata"));
                        continue;
                    };
                    let appended = builder
                        .columns_mut()
                        .iter_mut()
                        .zip(row.cells())
                        .try_for_each(|(column, (_, data))| append_cell(column, data));
                    match appended {
                        Ok(()) => {
                            builder.end_row();
                            consumer.row_added(builder).await?;
                        }
                        Err(error) => first_problem = Some(DriverError::internal(error.0)),
                    }
                }
            }
        }
        if let Some(problem) = first_problem {
            return Err(problem);
        }
        if let Some(done) = current.take() {
            consumer.end_result_set(done).await?;
        }
        Ok(stream.rows_affected())
    }
}

/// Where decoded result sets go while the response is read.
///
/// An error from a consumer stops reading at once and leaves the connection
/// poisoned (the response was not read to its end), so consumers fail only
/// when the request is being abandoned.
pub(crate) trait ResultConsumer: Send {
    /// A result set begins; returns the builder its rows go into. An error
    /// here is a problem of this result, not of the connection: the rest of
    /// the response is still read.
    fn start_result_set(&mut self, builder: ResultSetBuilder) -> Result<ResultSetBuilder, DriverError>;

    /// A row was appended to `builder`.
    fn row_added(&mut self, builder: &mut ResultSetBuilder) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// The result set is complete.
    fn end_result_set(&mut self, builder: ResultSetBuilder) -> impl Future<Output = Result<(), DriverError>> + Send;
}

/// Every result set kept whole, for `query`.
#[derive(Default)]
struct CollectedResults {
    sets: Vec<ResultSet>,
}

impl ResultConsumer for CollectedResults {
    fn start_result_set(&mut self, builder: ResultSetBuilder) -> Result<ResultSetBuilder, DriverError> {
        Ok(builder)
    }

    async fn row_added(&mut self, _builder: &mut ResultSetBuilder) -> Result<(), DriverError> {
        Ok(())
    }

    async fn end_result_set(&mut self, builder: ResultSetBuilder) -> Result<(), DriverError> {
        self.sets.push(finish_set(builder)?);
        Ok(())
    }
}

/// An empty Arrow column for a result column, typed from its TYPE_INFO.
fn column_builder(column: &Column) -> Result<ColumnBuilder, DriverError> {
    let name = column.name();
    let type_info = column
        .type_info()
        .ok_or_else(|| DriverError::internal(format!("column '{name}' arrived without its TYPE_INFO")))?;
    let description = describe_column(name, type_info)?;
    ColumnBuilder::new(name, description).map_err(|e| DriverError::internal(e.0))
}

fn finish_set(builder: ResultSetBuilder) -> Result<ResultSet, DriverError> {
    builder.finish().map_err(|e| DriverError::internal(e.0))
}
