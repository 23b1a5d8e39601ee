//! Reading a response with our own decoder: tiberius hands over the raw
//! bytes of the response (decrypted), the sans-IO reader turns their
//! payloads into Arrow batches and events, and the batches go to a
//! [`ResultConsumer`] as they complete.

use super::errors::from_tiberius;
use crate::arrow::{BatchLimits, ColumnValues, ResultBuilder, ResultSet};
use crate::error::DriverError;
use crate::tds::{
    ColumnMetadata, Deframer, DoneKind, EnvChange, Event, ProtocolError, ResponseReader, ResponseSink, ServerMessage,
};
use crate::types::{column_type, Collation};
use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use std::future::Future;
use std::sync::Arc;
use tiberius::Client;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::compat::Compat;

/// Bytes asked of the transport per read: many packets at once.
const READ_SIZE: usize = 64 * 1024;

/// Where the result sets of a response go while it is read.
///
/// An error from a consumer stops reading at once and leaves the connection
/// poisoned (the response was not read to its end), so consumers fail only
/// when the request is being abandoned.
pub(crate) trait ResultConsumer: Send {
    /// A result set of the request's `statement`-th statement (RPC; 0 for
    /// a SQL batch) begins with these columns. An error here is a problem
    /// of this result, not of the connection: the rest is still read.
    fn start_result_set(&mut self, schema: SchemaRef, statement: usize) -> Result<(), DriverError>;

    /// Complete batches of the current result set, in order.
    fn batches(&mut self, batches: Vec<RecordBatch>) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// The current result set is complete.
    fn end_result_set(&mut self) -> impl Future<Output = Result<(), DriverError>> + Send;
}

/// What happened to result sets since the consumer was last served.
#[derive(Debug)]
enum Piece {
    Start(SchemaRef, usize),
    Batches(Vec<RecordBatch>),
    End,
    /// The response's first error: rows read after it are not handed out.
    Failed,
}

/// Everything of a response besides its rows.
#[derive(Debug, Default)]
pub(crate) struct ResponseSummary {
    /// The first error: an ERROR token, a value that could not be held, or
    /// a result that could not be built. The response is still read to its end.
    pub(crate) first_error: Option<DriverError>,
    /// INFO messages (PRINT, warnings), in order.
    pub(crate) messages: Vec<ServerMessage>,
    /// The sum of the statements' DONE counts (DONE and DONEINPROC; an
    /// RPC's DONEPROC repeats a count already given).
    pub(crate) rows_affected: u64,
    /// The rows affected by each RPC of the request, in order (one for each
    /// DONEPROC); the count of a request's statements not yet ended by one.
    pub(crate) statement_counts: Vec<u64>,
    open_count: u64,
    pub(crate) return_status: Option<i32>,
    /// The transaction descriptor after the response, if it changed.
    pub(crate) transaction: Option<[u8; 8]>,
    pub(crate) packet_size: Option<u32>,
    /// Set when the server acknowledged an Attention.
    pub(crate) attention_acknowledged: bool,
}

/// The reader's sink: Arrow result sets plus the response's bookkeeping.
pub(crate) struct ResponseState {
    results: ResultBuilder,
    pieces: Vec<Piece>,
    /// Output parameters' values (RETURNVALUE), one single-value column each.
    pub(crate) outputs: Vec<ColumnValues>,
    /// Whether the consumer was told of the first error (later batches are dropped).
    failed: bool,
    pub(crate) summary: ResponseSummary,
}

impl ResponseState {
    pub(crate) fn new(limits: BatchLimits) -> Self {
        Self {
            results: ResultBuilder::new(limits),
            pieces: Vec::new(),
            outputs: Vec::new(),
            failed: false,
            summary: ResponseSummary::default(),
        }
    }

    /// Records the response's first error; the batches complete before it
    /// still go out, the rows after it do not.
    fn fail(&mut self, error: DriverError) {
        if self.summary.first_error.is_none() {
            self.collect_batches();
            self.pieces.push(Piece::Failed);
            self.summary.first_error =
                Some(DriverError { statement: Some(self.summary.statement_counts.len()), ..error });
        }
    }

    /// Ends the open result set, if any.
    fn end_result(&mut self) {
        if !self.results.is_open() {
            return;
        }
        match self.results.finish() {
            Ok(batches) => self.pieces.push(Piece::Batches(batches)),
            Err(problem) => self.fail(DriverError::internal(problem)),
        }
        self.pieces.push(Piece::End);
    }

    /// Batches completed since the last call.
    fn collect_batches(&mut self) {
        let batches = self.results.take_batches();
        if !batches.is_empty() {
            self.pieces.push(Piece::Batches(batches));
        }
    }

    /// Hands what is ready to `consumer`.
    async fn serve<C: ResultConsumer>(&mut self, consumer: &mut C) -> Result<(), DriverError> {
        self.collect_batches();
        for piece in std::mem::take(&mut self.pieces) {
            match piece {
                Piece::Start(schema, statement) => {
                    if let Err(error) = consumer.start_result_set(schema, statement) {
                        self.fail(error);
                    }
                }
                Piece::Batches(batches) if !self.failed => consumer.batches(batches).await?,
                Piece::Batches(_) => {}
                Piece::End => consumer.end_result_set().await?,
                Piece::Failed => self.failed = true,
            }
        }
        Ok(())
    }
}

impl ResponseSink for ResponseState {
    type Writer = ColumnValues;

    fn start_result(&mut self, columns: &[ColumnMetadata]) -> Result<(), String> {
        self.end_result();
        self.results.start(columns)?;
        self.pieces.push(Piece::Start(self.results.schema(), self.summary.statement_counts.len()));
        Ok(())
    }

    #[inline]
    fn writers(&mut self) -> &mut [ColumnValues] {
        self.results.columns_mut()
    }

    #[inline]
    fn end_row(&mut self) {
        self.results.end_row();
    }

    fn start_return_value(&mut self, parameter: &ColumnMetadata) -> Result<(), String> {
        let column_type = column_type(&parameter.type_info).map_err(|why| {
            format!("output parameter '{}' has a type fastmssql does not support: {why}", parameter.name)
        })?;
        self.outputs.push(ColumnValues::new(parameter.name.clone(), column_type, parameter.nullable));
        Ok(())
    }

    fn return_value_writer(&mut self) -> Option<&mut ColumnValues> {
        self.outputs.last_mut()
    }

    fn value_error(&mut self, column: Option<usize>, message: String) {
        let place = match column {
            Some(column) => {
                let name = self.results.columns_mut().get(column).map_or("?", |c| c.name()).to_string();
                format!("column '{name}', row {}", self.results.pending_rows())
            }
            None => "an output parameter".to_string(),
        };
        self.fail(DriverError::data(format!("a value the server sent in {place} cannot be read: {message}")));
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Done(done) => {
                self.end_result();
                if done.acknowledges_attention() {
                    self.summary.attention_acknowledged = true;
                }
                match (done.kind, done.count()) {
                    (DoneKind::Proc, _) => {
                        let count = std::mem::take(&mut self.summary.open_count);
                        self.summary.statement_counts.push(count);
                    }
                    // Counts are the server's u64s: a hostile response can make their sum overflow.
                    (_, Some(count)) => match (
                        self.summary.rows_affected.checked_add(count),
                        self.summary.open_count.checked_add(count),
                    ) {
                        (Some(total), Some(open)) => {
                            self.summary.rows_affected = total;
                            self.summary.open_count = open;
                        }
                        _ => self.fail(malformed(ProtocolError::new("DONE row counts whose sum overflows 64 bits"))),
                    },
                    (_, None) => {}
                }
            }
            Event::Message(message) if message.is_error => self.fail(DriverError::from_server(message)),
            Event::Message(message) => self.summary.messages.push(message),
            Event::EnvChange(EnvChange::BeginTransaction(descriptor)) => self.summary.transaction = Some(descriptor),
            Event::EnvChange(EnvChange::TransactionEnded) => self.summary.transaction = Some([0; 8]),
            Event::EnvChange(EnvChange::PacketSize(size)) => self.summary.packet_size = Some(size),
            Event::EnvChange(_) => {}
            Event::ReturnStatus(status) => self.summary.return_status = Some(status),
        }
    }
}

/// The code page of a non-UTF-8 char/varchar/text collation (tiberius
/// keeps SQL Server's table of them).
pub(crate) fn code_page(collation: Collation) -> Result<&'static encoding_rs::Encoding, String> {
    tiberius::Collation::new(collation.info, collation.sort_id).encoding().map_err(|e| e.to_string())
}

impl ResponseState {
    /// The output parameters' values as a one-row result, if there were any.
    pub(crate) fn output_parameters(&mut self) -> Result<Option<ResultSet>, DriverError> {
        if self.outputs.is_empty() {
            return Ok(None);
        }
        let fields: Vec<_> = self.outputs.iter().map(ColumnValues::field).collect();
        let arrays = self.outputs.iter_mut().map(ColumnValues::finish).collect::<Result<Vec<_>, _>>();
        let schema = Arc::new(Schema::new(fields));
        let batch = arrays
            .and_then(|arrays| RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string()))
            .map_err(DriverError::internal)?;
        Ok(Some(ResultSet { schema, batches: vec![batch] }))
    }

    /// The counts of the request's statements: one per RPC, or the batch's
    /// total when it was a SQL batch.
    pub(crate) fn statement_counts(&self) -> Vec<u64> {
        let summary = &self.summary;
        if summary.statement_counts.is_empty() {
            vec![summary.rows_affected]
        } else {
            summary.statement_counts.clone()
        }
    }
}

/// Ignores result sets: for a response read only to its end.
struct Discard;

impl ResultConsumer for Discard {
    fn start_result_set(&mut self, _schema: SchemaRef, _statement: usize) -> Result<(), DriverError> {
        Ok(())
    }

    async fn batches(&mut self, _batches: Vec<RecordBatch>) -> Result<(), DriverError> {
        Ok(())
    }

    async fn end_result_set(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
}

/// A response being read: where its packets are, and what was read of it.
struct InFlight {
    deframer: Deframer,
    state: ResponseState,
}

/// The raw-bytes side of a connection: the reader, its read buffer and the
/// response in flight. Kept by the connection rather than by the request's
/// future, so a request abandoned midway (timeout, cancellation) can be
/// cancelled with an Attention and read on to the server's acknowledgement.
pub(crate) struct ResponseInput {
    reader: ResponseReader,
    buffer: Box<[u8]>,
    in_flight: Option<InFlight>,
}

impl ResponseInput {
    pub(crate) fn new() -> Self {
        Self { reader: ResponseReader::new(code_page), buffer: vec![0; READ_SIZE].into_boxed_slice(), in_flight: None }
    }

    /// A request was sent: its response is read next, in batches within `limits`.
    pub(crate) fn expect_response(&mut self, limits: BatchLimits) {
        self.in_flight = Some(InFlight { deframer: Deframer::new(), state: ResponseState::new(limits) });
    }

    /// Reads the response to the request just sent to its last packet,
    /// serving `consumer` as result sets complete; then brings tiberius's
    /// session state (transaction descriptor, packet size) up to date.
    ///
    /// When the consumer fails, the response stays in flight (see
    /// [`cancel`](Self::cancel)); any other failure leaves the connection
    /// out of step with the server, and nothing in flight.
    pub(crate) async fn read<S, C>(
        &mut self,
        client: &mut Client<Compat<S>>,
        consumer: &mut C,
    ) -> Result<ResponseState, DriverError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        C: ResultConsumer,
    {
        let Some(flight) = self.in_flight.as_mut() else {
            return Err(DriverError::internal("no response is expected"));
        };
        loop {
            let ended = flight.deframer.ended();
            if ended {
                if let Err(error) = self.reader.end_of_message(&mut flight.state) {
                    self.in_flight = None;
                    return Err(malformed(error));
                }
                flight.state.end_result();
            } else {
                let read = match read_bytes(client, &mut self.buffer).await {
                    Ok(read) => read,
                    Err(error) => {
                        self.in_flight = None;
                        return Err(error);
                    }
                };
                let decoded = decode(&mut self.reader, &mut flight.deframer, &self.buffer[..read], &mut flight.state);
                match decoded {
                    Ok(used) if used == read => {}
                    Ok(_) => {
                        self.in_flight = None;
                        return Err(malformed(ProtocolError::new("bytes after the end of the response")));
                    }
                    Err(error) => {
                        self.in_flight = None;
                        return Err(error);
                    }
                }
            }
            flight.state.serve(consumer).await?;
            if ended {
                break;
            }
        }
        let Some(InFlight { state, .. }) = self.in_flight.take() else {
            return Err(DriverError::internal("the response in flight vanished"));
        };
        apply_session_changes(client, &state.summary);
        client.response_consumed();
        Ok(state)
    }

    /// Whether a response was left unread (its request abandoned).
    pub(crate) fn is_mid_response(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Sends an Attention for the abandoned request and reads on, its rows
    /// discarded, up to the server's acknowledgement (a DONE with the
    /// attention bit). The caller bounds the wait.
    pub(crate) async fn cancel<S>(&mut self, client: &mut Client<Compat<S>>) -> Result<(), DriverError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let Some(mut flight) = self.in_flight.take() else {
            return Ok(());
        };
        if flight.deframer.ended() {
            // Read to its end already; only its consumer gave up.
            apply_session_changes(client, &flight.state.summary);
            client.response_consumed();
            return Ok(());
        }
        client.send_attention().await.map_err(from_tiberius)?;
        let mut pending = 0..0;
        loop {
            // The acknowledgement may follow the response's last packet in the
            // same read, as a message of its own.
            if pending.is_empty() {
                pending = 0..read_bytes(client, &mut self.buffer).await?;
            }
            let bytes = &self.buffer[pending.clone()];
            let used = decode(&mut self.reader, &mut flight.deframer, bytes, &mut flight.state)?;
            pending.start += used;
            flight.state.serve(&mut Discard).await?;
            if flight.deframer.ended() {
                self.reader.end_of_message(&mut flight.state).map_err(malformed)?;
                apply_session_changes(client, &flight.state.summary);
                if flight.state.summary.attention_acknowledged {
                    client.response_consumed();
                    return Ok(());
                }
                flight.deframer = Deframer::new();
            }
        }
    }
}

async fn read_bytes<S>(client: &mut Client<Compat<S>>, buffer: &mut [u8]) -> Result<usize, DriverError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    match client.read_response(buffer).await.map_err(from_tiberius)? {
        0 => Err(DriverError::operational("the server closed the connection in the middle of a response")),
        read => Ok(read),
    }
}

/// What the response changed of the session and tiberius must know for the
/// next requests (their ALL_HEADERS, their packet size).
fn apply_session_changes<S>(client: &mut Client<Compat<S>>, summary: &ResponseSummary)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    if let Some(descriptor) = summary.transaction {
        client.set_transaction_descriptor(descriptor);
    }
    if let Some(size) = summary.packet_size {
        client.set_packet_size(size);
    }
}

/// Passes raw response bytes through the deframer into the reader; returns
/// the bytes used (all, unless the message ended before them).
fn decode(
    reader: &mut ResponseReader,
    deframer: &mut Deframer,
    bytes: &[u8],
    state: &mut ResponseState,
) -> Result<usize, DriverError> {
    deframer.split(bytes, |payload| reader.feed(payload, state)).map_err(malformed)
}

/// Decodes a whole response held in memory (TDS packets, headers included)
/// into Arrow result sets, as `query()` does once its request is sent:
/// for measuring and testing the decoder without I/O.
pub fn decode_response(response: &[u8], limits: BatchLimits) -> Result<DecodedResponse, DriverError> {
    let mut reader = ResponseReader::new(code_page);
    let mut deframer = Deframer::new();
    let mut state = ResponseState::new(limits);
    let used = decode(&mut reader, &mut deframer, response, &mut state)?;
    if !deframer.ended() || used < response.len() {
        return Err(DriverError::operational("the bytes are not one whole response"));
    }
    reader.end_of_message(&mut state).map_err(malformed)?;
    state.end_result();
    state.collect_batches();
    let mut result_sets = Vec::new();
    for piece in state.pieces {
        match piece {
            Piece::Start(schema, _) => result_sets.push(ResultSet { schema, batches: Vec::new() }),
            Piece::Batches(batches) => {
                if let Some(set) = result_sets.last_mut() {
                    set.batches.extend(batches);
                }
            }
            Piece::End | Piece::Failed => {}
        }
    }
    match state.summary.first_error {
        Some(error) => Err(error),
        None => Ok(DecodedResponse { result_sets, rows_affected: state.summary.rows_affected }),
    }
}

/// What [`decode_response`] found.
#[derive(Debug)]
pub struct DecodedResponse {
    pub result_sets: Vec<ResultSet>,
    pub rows_affected: u64,
}

fn malformed(error: ProtocolError) -> DriverError {
    DriverError::operational(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the response_reader fuzz target: two DONE tokens whose row counts
    /// sum past u64::MAX panicked on the addition (debug) or wrapped (release).
    #[test]
    fn done_counts_overflowing_64_bits_are_a_protocol_error() {
        let mut response = vec![0x04, 0x01, 0x00, 34, 0x00, 0x00, 0x01, 0x00]; // one packet of 34 bytes
        for _ in 0..2 {
            // DONE, status DONE_MORE | DONE_COUNT (then DONE_COUNT alone), curcmd 0, row count u64::MAX
            response.push(0xfd);
            response.extend_from_slice(&[0x11, 0x00, 0x00, 0x00]);
            response.extend_from_slice(&u64::MAX.to_le_bytes());
        }
        response[22] = 0x10; // the second DONE is the last
        let error = decode_response(&response, BatchLimits::new(7, 4096)).unwrap_err();
        assert!(error.message.contains("overflows 64 bits"), "{}", error.message);
        assert_eq!(error.kind, crate::error::ErrorKind::Operational);
    }
}
