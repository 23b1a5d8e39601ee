//! A result set handed out in record batches while the server still sends
//! it, for results too big to hold whole.

use super::response::ResultConsumer;
use super::session::Target;
use crate::arrow::BatchLimits;
use crate::error::DriverError;
use crate::request::{Request, Timeout};
use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Batches decoded ahead of the reader: enough to overlap decoding with the
/// consumer's work, few enough to bound memory.
const BATCHES_AHEAD: usize = 2;

/// The batches of one result set, read in order. Dropping it before its end
/// abandons the request: it is cancelled with an Attention.
pub struct BatchStream {
    schema: SchemaRef,
    batches: mpsc::Receiver<Result<RecordBatch, DriverError>>,
}

impl BatchStream {
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The next batch; `None` after the last one.
    pub async fn next(&mut self) -> Option<Result<RecordBatch, DriverError>> {
        self.batches.recv().await
    }

    /// `next` for a thread outside the runtime (an Arrow C stream consumer).
    pub fn blocking_next(&mut self) -> Option<Result<RecordBatch, DriverError>> {
        self.batches.blocking_recv()
    }
}

/// Sends the first result set's batches; the schema goes out first,
/// through `schema`, so the request's early errors reach the caller before
/// any batch is awaited.
struct BatchSender {
    schema: Option<oneshot::Sender<Result<SchemaRef, DriverError>>>,
    batches: mpsc::Sender<Result<RecordBatch, DriverError>>,
    result_sets: usize,
}

impl BatchSender {
    /// Reports how the request ended: before the schema went out, through
    /// the schema's channel; after it, as the stream's last item.
    async fn finish(mut self, outcome: Result<(), DriverError>) {
        match (self.schema.take(), outcome) {
            // No result set at all: an empty stream without columns.
            (Some(schema), Ok(())) => drop(schema.send(Ok(Arc::new(Schema::empty())))),
            (Some(schema), Err(error)) => drop(schema.send(Err(error))),
            (None, Ok(())) => {}
            (None, Err(error)) => drop(self.batches.send(Err(error)).await),
        }
    }
}

impl ResultConsumer for BatchSender {
    fn start_result_set(&mut self, schema: SchemaRef, _statement: usize) -> Result<(), DriverError> {
        self.result_sets += 1;
        if self.result_sets > 1 {
            return Err(DriverError::not_supported(
                "stream() reads one result set and the batch returned another; use query() for batches with several",
            ));
        }
        if let Some(sender) = self.schema.take() {
            // The caller may have stopped waiting; the batches channel tells.
            let _ = sender.send(Ok(schema));
        }
        Ok(())
    }

    async fn batches(&mut self, batches: Vec<RecordBatch>) -> Result<(), DriverError> {
        if self.result_sets > 1 {
            return Ok(());
        }
        for batch in batches.into_iter().filter(|b| b.num_rows() > 0) {
            self.batches
                .send(Ok(batch))
                .await
                .map_err(|_| DriverError::interface("the result stream was closed before its end"))?;
        }
        Ok(())
    }

    async fn end_result_set(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
}

impl Target {
    /// Runs `request` and streams its first result set in batches within
    /// `limits`, read by a task of its own; returns once the
    /// result's columns are known (or the request failed before any).
    /// On a pinned session, the session is held until the stream ends.
    pub async fn stream(
        self,
        request: Request,
        limits: BatchLimits,
        timeout: Timeout,
    ) -> Result<BatchStream, DriverError> {
        let (schema_sender, schema) = oneshot::channel();
        let (batch_sender, batches) = mpsc::channel(BATCHES_AHEAD);
        let mut sender = BatchSender { schema: Some(schema_sender), batches: batch_sender, result_sets: 0 };
        tokio::spawn(async move {
            let outcome = match self {
                Target::Pool(pool) => match pool.session(false).await {
                    Ok(mut session) => session.run(&request, limits, &mut sender, timeout).await,
                    Err(error) => Err(error),
                },
                Target::Pinned(session) => session.lock_owned().await.run(&request, limits, &mut sender, timeout).await,
            };
            let outcome = outcome.and_then(|mut state| state.summary.first_error.take().map_or(Ok(()), Err));
            sender.finish(outcome).await;
        });
        let schema = schema
            .await
            .map_err(|_| DriverError::internal("the streaming task ended without reporting its result"))??;
        Ok(BatchStream { schema, batches })
    }
}
