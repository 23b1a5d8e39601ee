//! The response reader: a token state machine over payload bytes that can
//! stop at any byte and resume with the next piece. Row values go straight
//! into the sink's column writers; everything else becomes sink events.
//!
//! Whole rows within one piece take the fast path: one pass over the
//! columns, one match per value. An item cut by the end of a piece is
//! retried from its start once more bytes arrive (its bytes are carried
//! over), except `(max)` and text values, which stream: their bytes are
//! consumed as they come and only their position is kept.

use super::bytes::{Bytes, ProtocolError, Short};
use super::metadata::{col_metadata, column_type_info};
use super::sink::{ColumnMetadata, ColumnWriter, Event, ResponseSink};
use super::tokens::{token, Done, DoneKind, EnvChange, ServerMessage};
use super::values::{CodePageResolver, Fault, Read, StreamStart, Streamed, StreamedValue, ValueReader};

/// Most bytes an unfinished item may hold back: far above any real token
/// outside streamed values (a COLMETADATA of 4,096 columns included), so
/// that a hostile length cannot make the reader buffer without end.
const MAX_CARRY: usize = 16 << 20;
/// The first prefix of a piece tried to complete a carried item: a cut
/// value of a row (the usual case) needs fewer bytes.
const MIN_COMPLETION_STEP: usize = 64;
/// Columns of a row read by code of their own (see `row`).
const UNROLLED_COLUMNS: usize = 16;

#[derive(Debug)]
enum State {
    /// Between tokens.
    Token,
    /// Inside a ROW or NBCROW: the next column to read.
    Row {
        column: usize,
        nbc: bool,
    },
    /// Inside a streamed value of a row.
    RowStream {
        column: usize,
        nbc: bool,
        value: StreamedValue,
    },
    /// A RETURNVALUE's header was read; its value comes next.
    ReturnValue(ValueReader),
    ReturnValueStream(StreamedValue),
}

/// Reads one response after another from their payload bytes.
pub struct ResponseReader {
    code_pages: CodePageResolver,
    state: State,
    /// The start of an item cut by the end of the last piece.
    carry: Vec<u8>,
    /// How the current result set's values are read, column by column.
    columns: Vec<ValueReader>,
    /// The latest COLMETADATA, for a "no metadata" one that reuses it.
    metadata: Option<Vec<ColumnMetadata>>,
    /// The null bitmap of the NBCROW being read.
    null_bitmap: Vec<u8>,
    /// Value problems of the row being read, reported at its end.
    value_errors: Vec<(usize, String)>,
}

impl ResponseReader {
    pub fn new(code_pages: CodePageResolver) -> Self {
        Self {
            code_pages,
            state: State::Token,
            carry: Vec::new(),
            columns: Vec::new(),
            metadata: None,
            null_bitmap: Vec::new(),
            value_errors: Vec::new(),
        }
    }

    /// Reads the next piece of payload into `sink`. An error means the
    /// response broke the protocol: the connection must not be used again.
    pub fn feed<S: ResponseSink>(&mut self, piece: &[u8], sink: &mut S) -> Result<(), ProtocolError> {
        let mut from = 0;
        // An item cut by the last piece is completed with only as many of
        // this piece's bytes as it needs, tried in growing prefixes, so the
        // piece itself is not copied (a whole packet was, once per packet).
        while !self.carry.is_empty() && from < piece.len() {
            let carried = self.carry.len();
            let take = (piece.len() - from).min(carried.max(MIN_COMPLETION_STEP));
            let mut bytes = std::mem::take(&mut self.carry);
            bytes.extend_from_slice(&piece[from..from + take]);
            let used = self.run(&bytes, sink)?;
            if used >= carried {
                // The carried bytes are read; what follows is the piece's.
                from += used - carried;
                bytes.clear();
                self.carry = bytes;
            } else {
                from += take;
                bytes.drain(..used);
                self.carry = bytes;
            }
        }
        if self.carry.is_empty() {
            let used = from + self.run(&piece[from..], sink)?;
            self.carry.extend_from_slice(&piece[used..]);
        }
        if self.carry.len() > MAX_CARRY {
            return Err(ProtocolError::new(format!("a token of more than {MAX_CARRY} bytes")));
        }
        Ok(())
    }

    /// The response's last packet ended: it must not have ended inside an
    /// item. The reader is then ready for the next response.
    pub fn end_of_message<S: ResponseSink>(&mut self, sink: &mut S) -> Result<(), ProtocolError> {
        let state = std::mem::replace(&mut self.state, State::Token);
        let complete = self.carry.is_empty() && matches!(state, State::Token);
        self.carry.clear();
        match state {
            State::RowStream { column, value, .. } => {
                if let Some(writer) = sink.writers().get_mut(column) {
                    value.abandon(writer);
                }
            }
            State::ReturnValueStream(value) => {
                if let Some(writer) = sink.return_value_writer() {
                    value.abandon(writer);
                }
            }
            _ => {}
        }
        if complete {
            Ok(())
        } else {
            Err(ProtocolError::new("the response ends inside a token"))
        }
    }

    /// Reads items from `bytes` while they are complete; returns the bytes used.
    fn run<S: ResponseSink>(&mut self, bytes: &[u8], sink: &mut S) -> Result<usize, ProtocolError> {
        let mut at = 0;
        loop {
            let state = std::mem::replace(&mut self.state, State::Token);
            let progress = match state {
                State::Token => self.token(&bytes[at..], sink),
                State::Row { column, nbc } => self.row(&bytes[at..], column, nbc, sink),
                State::RowStream { column, nbc, mut value } => {
                    let Some(writer) = sink.writers().get_mut(column) else {
                        return Err(ProtocolError::new("a value beyond the result's columns"));
                    };
                    match value.resume(&bytes[at..], writer) {
                        Ok(Streamed::More(used)) => {
                            self.state = State::RowStream { column, nbc, value };
                            return Ok(at + used);
                        }
                        Ok(Streamed::Ended(used)) => {
                            self.state = State::Row { column: column + 1, nbc };
                            Ok(Some(used))
                        }
                        Err(fault) => match *fault {
                            Fault::Value(used, why) => {
                                self.value_errors.push((column, why));
                                self.state = State::Row { column: column + 1, nbc };
                                Ok(Some(used))
                            }
                            Fault::Protocol(error) => Err(error),
                        },
                    }
                }
                State::ReturnValue(reader) => match reader.read(&bytes[at..], output_writer(sink)?) {
                    Ok(Read::Done(used)) => Ok(Some(used)),
                    Ok(Read::Incomplete) => {
                        self.state = State::ReturnValue(reader);
                        Ok(None)
                    }
                    Ok(Read::Streams(start)) => {
                        let StreamStart { header, value } = *start;
                        self.state = State::ReturnValueStream(value);
                        Ok(Some(header))
                    }
                    Err(fault) => output_fault(*fault, sink),
                },
                State::ReturnValueStream(mut value) => match value.resume(&bytes[at..], output_writer(sink)?) {
                    Ok(Streamed::More(used)) => {
                        self.state = State::ReturnValueStream(value);
                        return Ok(at + used);
                    }
                    Ok(Streamed::Ended(used)) => Ok(Some(used)),
                    Err(fault) => output_fault(*fault, sink),
                },
            };
            match progress? {
                Some(used) => at += used,
                None => return Ok(at),
            }
        }
    }

    /// Reads a ROW/NBCROW from `column` on; `None` when the bytes end first
    /// (the state says where to go on).
    fn row<S: ResponseSink>(
        &mut self,
        bytes: &[u8],
        mut first: usize,
        mut nbc: bool,
        sink: &mut S,
    ) -> Result<Option<usize>, ProtocolError> {
        let mut at = 0;
        // Rows follow one another without going back through the token loop.
        loop {
            let writers = sink.writers();
            if writers.len() != self.columns.len() {
                return Err(ProtocolError::new("a row does not match its result's columns"));
            }
            // One value: NULL by the bitmap, else read by its column's reader.
            macro_rules! value {
                ($column:expr) => {{
                    let column = $column;
                    let writer = &mut writers[column];
                    if nbc && self.null_bitmap[column / 8] & (1 << (column % 8)) != 0 {
                        writer.push_null();
                    } else {
                        match self.columns[column].read(&bytes[at..], writer) {
                            Ok(Read::Done(used)) => at += used,
                            Ok(Read::Incomplete) => {
                                self.state = State::Row { column, nbc };
                                return Ok(if at == 0 { None } else { Some(at) });
                            }
                            Ok(Read::Streams(start)) => {
                                let StreamStart { header, value } = *start;
                                self.state = State::RowStream { column, nbc, value };
                                return Ok(Some(at + header));
                            }
                            Err(fault) => match *fault {
                                Fault::Value(used, why) => {
                                    at += used;
                                    self.value_errors.push((column, why));
                                }
                                Fault::Protocol(error) => return Err(error),
                            },
                        }
                    }
                }};
            }
            // The first columns each have a copy of the reading code, so
            // each has its own jump on the reader's kind, which always goes
            // the same way and is predicted; one shared jump, taken to a
            // different kind at every column, was mispredicted.
            macro_rules! unrolled {
                ($($column:literal)*) => {$(
                    if first <= $column && $column < writers.len() {
                        value!($column);
                    }
                )*};
            }
            unrolled!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
            for column in first.max(UNROLLED_COLUMNS)..writers.len() {
                value!(column);
            }
            sink.end_row();
            if !self.value_errors.is_empty() {
                for (column, why) in self.value_errors.drain(..) {
                    sink.value_error(Some(column), why);
                }
            }
            // The next row starts here when its header is at hand; anything
            // else goes back to the token loop (`at` may be 0 only for a row
            // of NULL-type columns: the state moved on, which is progress too).
            match bytes.get(at) {
                Some(&token::ROW) => {
                    at += 1;
                    nbc = false;
                }
                Some(&token::NBCROW) => match bytes.get(at + 1..at + 1 + self.columns.len().div_ceil(8)) {
                    Some(bitmap) => {
                        self.null_bitmap.clear();
                        self.null_bitmap.extend_from_slice(bitmap);
                        at += 1 + bitmap.len();
                        nbc = true;
                    }
                    None => return Ok(Some(at)),
                },
                _ => return Ok(Some(at)),
            }
            first = 0;
        }
    }

    /// Reads the token at the front of `bytes`; `None` when it is not complete.
    fn token<S: ResponseSink>(&mut self, bytes: &[u8], sink: &mut S) -> Result<Option<usize>, ProtocolError> {
        let Some((&kind, body)) = bytes.split_first() else {
            return Ok(None);
        };
        let used = match kind {
            token::ROW | token::NBCROW => {
                if self.metadata.is_none() {
                    return Err(ProtocolError::new("a row before any column metadata"));
                }
                let nbc = kind == token::NBCROW;
                let mut used = 1;
                if nbc {
                    let Some(bitmap) = body.get(..self.columns.len().div_ceil(8)) else { return Ok(None) };
                    self.null_bitmap.clear();
                    self.null_bitmap.extend_from_slice(bitmap);
                    used += bitmap.len();
                }
                self.state = State::Row { column: 0, nbc };
                used
            }
            token::COLMETADATA => {
                let mut reader = Bytes::new(body);
                let columns = match col_metadata(&mut reader) {
                    Ok(Some(columns)) => columns,
                    Ok(None) => self
                        .metadata
                        .clone()
                        .ok_or_else(|| ProtocolError::new("\"no metadata\" before any column metadata"))?,
                    Err(Short::Incomplete) => return Ok(None),
                    Err(Short::Malformed(error)) => return Err(error),
                };
                self.start_result(columns, sink)?;
                1 + reader.position()
            }
            token::DONE | token::DONEPROC | token::DONEINPROC => {
                let Some(body) = body.get(..Done::BODY) else { return Ok(None) };
                let kind = match kind {
                    token::DONE => DoneKind::Done,
                    token::DONEPROC => DoneKind::Proc,
                    _ => DoneKind::InProc,
                };
                sink.event(Event::Done(Done::parse(kind, body)?));
                1 + Done::BODY
            }
            token::RETURNSTATUS => {
                let Some(value) = body.first_chunk::<4>() else { return Ok(None) };
                sink.event(Event::ReturnStatus(i32::from_le_bytes(*value)));
                5
            }
            token::RETURNVALUE => {
                let mut reader = Bytes::new(body);
                let parameter = match return_value_header(&mut reader) {
                    Ok(parameter) => parameter,
                    Err(Short::Incomplete) => return Ok(None),
                    Err(Short::Malformed(error)) => return Err(error),
                };
                let value = ValueReader::for_type(&parameter.type_info, self.code_pages)
                    .map_err(|why| ProtocolError::new(format!("output parameter '{}': {why}", parameter.name)))?;
                sink.start_return_value(&parameter).map_err(ProtocolError::new)?;
                self.state = State::ReturnValue(value);
                1 + reader.position()
            }
            token::ERROR | token::INFO | token::ENVCHANGE => {
                let Some(length) = body.first_chunk::<2>().map(|b| usize::from(u16::from_le_bytes(*b))) else {
                    return Ok(None);
                };
                let Some(content) = body.get(2..2 + length) else { return Ok(None) };
                let event = match kind {
                    token::ENVCHANGE => Event::EnvChange(EnvChange::parse(content)?),
                    _ => Event::Message(ServerMessage::parse(kind == token::ERROR, content)?),
                };
                sink.event(event);
                3 + length
            }
            // Known tokens a client may ignore: sort order, column sources,
            // table names, and login-time tokens.
            token::ORDER | token::COLINFO | token::TABNAME | token::LOGINACK | token::SSPI => {
                let Some(length) = body.first_chunk::<2>().map(|b| usize::from(u16::from_le_bytes(*b))) else {
                    return Ok(None);
                };
                if body.len() < 2 + length {
                    return Ok(None);
                }
                3 + length
            }
            token::SESSIONSTATE | token::FEDAUTHINFO => {
                let Some(length) = body.first_chunk::<4>().map(|b| u32::from_le_bytes(*b) as usize) else {
                    return Ok(None);
                };
                if length > MAX_CARRY {
                    return Err(ProtocolError::new(format!("a token of {length} bytes")));
                }
                if body.len() < 4 + length {
                    return Ok(None);
                }
                5 + length
            }
            token::OFFSET => {
                if body.len() < 4 {
                    return Ok(None);
                }
                5
            }
            token::FEATUREEXTACK => match feature_ext_ack(body) {
                Ok(length) => 1 + length,
                Err(Short::Incomplete) => return Ok(None),
                Err(Short::Malformed(error)) => return Err(error),
            },
            token::ALTMETADATA | token::ALTROW | token::DATACLASSIFICATION => {
                return Err(ProtocolError::new(format!(
                "token 0x{kind:02X} (COMPUTE BY results or data classification), which this client does not negotiate"
            )))
            }
            other => return Err(ProtocolError::new(format!("unknown token 0x{other:02X}"))),
        };
        Ok(Some(used))
    }

    fn start_result<S: ResponseSink>(
        &mut self,
        columns: Vec<ColumnMetadata>,
        sink: &mut S,
    ) -> Result<(), ProtocolError> {
        self.columns = columns
            .iter()
            .map(|column| {
                ValueReader::for_type(&column.type_info, self.code_pages)
                    .map_err(|why| ProtocolError::new(format!("column '{}': {why}", column.name)))
            })
            .collect::<Result<_, _>>()?;
        sink.start_result(&columns).map_err(ProtocolError::new)?;
        self.metadata = Some(columns);
        Ok(())
    }
}

/// RETURNVALUE up to its value: ordinal, name, status, then a column's
/// UserType, Flags and TYPE_INFO.
fn return_value_header(bytes: &mut Bytes<'_>) -> Result<ColumnMetadata, Short> {
    let _ordinal = bytes.u16()?;
    let name = bytes.b_varchar()?;
    let _status = bytes.u8()?;
    let (type_info, nullable) = column_type_info(bytes)?;
    Ok(ColumnMetadata { name, type_info, nullable })
}

/// An output parameter's value fault: a value one is reported, reading goes on.
fn output_fault<S: ResponseSink>(fault: Fault, sink: &mut S) -> Result<Option<usize>, ProtocolError> {
    match fault {
        Fault::Value(used, why) => {
            sink.value_error(None, why);
            Ok(Some(used))
        }
        Fault::Protocol(error) => Err(error),
    }
}

fn output_writer<S: ResponseSink>(sink: &mut S) -> Result<&mut S::Writer, ProtocolError> {
    sink.return_value_writer().ok_or_else(|| ProtocolError::new("an output parameter's value without its header"))
}

/// FEATUREEXTACK: features (id, four-byte length, data) up to id 0xFF.
/// Returns the body's length.
fn feature_ext_ack(body: &[u8]) -> Result<usize, Short> {
    let mut bytes = Bytes::new(body);
    while bytes.u8()? != 0xFF {
        let length = bytes.u32()? as usize;
        if length > MAX_CARRY {
            return Err(ProtocolError::new(format!("a feature acknowledgement of {length} bytes")).into());
        }
        bytes.take(length)?;
    }
    Ok(bytes.position())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tds::values::tests::Recorder;
    use crate::types::{type_id::*, Collation};

    /// A sink recording everything, for comparing reads of the same bytes.
    #[derive(Debug, Default, Clone, PartialEq)]
    struct Log {
        results: Vec<Vec<String>>,
        writers: Vec<Recorder>,
        rows: Vec<usize>,
        outputs: Vec<Recorder>,
        events: Vec<Event>,
        value_errors: Vec<(Option<usize>, String)>,
    }

    impl Log {
        fn close(&mut self) {
            if !self.writers.is_empty() || !self.results.is_empty() {
                let columns = std::mem::take(&mut self.writers);
                if let Some(last) = self.results.last_mut() {
                    last.extend(columns.into_iter().flat_map(|c| c.values));
                }
            }
        }
    }

    impl ResponseSink for Log {
        type Writer = Recorder;
        fn start_result(&mut self, columns: &[ColumnMetadata]) -> Result<(), String> {
            self.close();
            self.results.push(columns.iter().map(|c| c.name.clone()).collect());
            self.writers = vec![Recorder::default(); columns.len()];
            self.rows.push(0);
            Ok(())
        }
        fn writers(&mut self) -> &mut [Recorder] {
            &mut self.writers
        }
        fn end_row(&mut self) {
            *self.rows.last_mut().unwrap() += 1;
        }
        fn start_return_value(&mut self, parameter: &ColumnMetadata) -> Result<(), String> {
            let mut output = Recorder::default();
            output.values.push(parameter.name.clone());
            self.outputs.push(output);
            Ok(())
        }
        fn return_value_writer(&mut self) -> Option<&mut Recorder> {
            self.outputs.last_mut()
        }
        fn value_error(&mut self, column: Option<usize>, message: String) {
            self.value_errors.push((column, message));
        }
        fn event(&mut self, event: Event) {
            self.events.push(event);
        }
    }

    fn latin1(_: Collation) -> Result<&'static encoding_rs::Encoding, String> {
        Ok(encoding_rs::WINDOWS_1252)
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn b_varchar(text: &str) -> Vec<u8> {
        [vec![text.encode_utf16().count() as u8], utf16(text)].concat()
    }

    fn done(kind: u8, status: u16, count: u64) -> Vec<u8> {
        [vec![kind], status.to_le_bytes().to_vec(), vec![0xC1, 0], count.to_le_bytes().to_vec()].concat()
    }

    /// A response with two result sets (NBCROW and a PLP value of several
    /// chunks among them), an INFO, an ENVCHANGE, an output parameter, a
    /// return status and an ERROR after rows.
    fn response() -> Vec<u8> {
        let collation = [0x09, 0x04, 0xD0, 0x00, 0x34];
        let mut bytes = vec![token::COLMETADATA, 3, 0];
        bytes.extend([0, 0, 0, 0, 0, 0, INT4]);
        bytes.extend(b_varchar("id"));
        bytes.extend([0, 0, 0, 0, 1, 0, NVARCHAR, 0xFF, 0xFF]);
        bytes.extend(collation);
        bytes.extend(b_varchar("note"));
        bytes.extend([0, 0, 0, 0, 1, 0, BIGVARCHR, 10, 0]);
        bytes.extend(collation);
        bytes.extend(b_varchar("code"));
        for id in 0..3i32 {
            bytes.push(token::ROW);
            bytes.extend(id.to_le_bytes());
            let text = utf16(&format!("row {id} é🎉").repeat(id as usize + 1));
            bytes.extend((text.len() as u64).to_le_bytes());
            for chunk in text.chunks(5) {
                bytes.extend((chunk.len() as u32).to_le_bytes());
                bytes.extend(chunk);
            }
            bytes.extend(0u32.to_le_bytes());
            bytes.extend([2, 0, b'c', 0xE9]);
        }
        // NBCROW: note and code NULL.
        bytes.extend([token::NBCROW, 0b110]);
        bytes.extend(9i32.to_le_bytes());
        bytes.extend(done(token::DONE, Done::MORE | Done::COUNT, 4));
        let info = [
            5701u32.to_le_bytes().to_vec(),
            vec![2, 0],
            (5u16).to_le_bytes().to_vec(),
            utf16("hello"),
            b_varchar("srv"),
            b_varchar(""),
            1u32.to_le_bytes().to_vec(),
        ]
        .concat();
        bytes.push(token::INFO);
        bytes.extend((info.len() as u16).to_le_bytes());
        bytes.extend(&info);
        bytes.extend([token::ENVCHANGE, 11, 0, 8, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
        bytes.extend([token::COLMETADATA, 1, 0, 0, 0, 0, 0, 1, 0, DECIMALN, 9, 18, 2]);
        bytes.extend(b_varchar("amount"));
        bytes.extend([token::ROW, 9, 1]);
        bytes.extend(12_345i64.to_le_bytes());
        bytes.extend([token::ROW, 0]);
        bytes.push(token::ERROR);
        let error = [info[..4].to_vec(), vec![1, 16], info[6..].to_vec()].concat();
        bytes.extend((error.len() as u16).to_le_bytes());
        bytes.extend(&error);
        bytes.extend(done(token::DONEINPROC, Done::MORE | Done::ERROR, 0));
        bytes.extend([token::RETURNVALUE, 1, 0]);
        bytes.extend(b_varchar("@out"));
        bytes.extend([1, 0, 0, 0, 0, 1, 0, INTN, 4, 4]);
        bytes.extend(77i32.to_le_bytes());
        bytes.extend([token::RETURNSTATUS]);
        bytes.extend(3i32.to_le_bytes());
        bytes.extend(done(token::DONEPROC, 0, 0));
        bytes
    }

    fn read_in_pieces(bytes: &[u8], cuts: &[usize]) -> Result<Log, ProtocolError> {
        let mut reader = ResponseReader::new(latin1);
        let mut log = Log::default();
        let mut start = 0;
        for &cut in cuts.iter().chain([bytes.len()].iter()) {
            let cut = cut.clamp(start, bytes.len());
            reader.feed(&bytes[start..cut], &mut log)?;
            start = cut;
        }
        reader.end_of_message(&mut log)?;
        log.close();
        Ok(log)
    }

    #[test]
    fn every_token_of_a_response_is_read() {
        let log = read_in_pieces(&response(), &[]).unwrap();
        assert_eq!(log.rows, [4, 2]);
        let first = &log.results[0];
        assert_eq!(&first[..3], ["id", "note", "code"]);
        assert_eq!(&first[3..7], ["0i32", "1i32", "2i32", "9i32"]);
        assert_eq!(first[7], format!("'{}'", "row 0 é🎉"));
        assert_eq!(first[9], format!("'{}'", "row 2 é🎉".repeat(3)));
        assert_eq!(&first[10..], ["NULL", "'cé'", "'cé'", "'cé'", "NULL"]);
        assert_eq!(log.results[1], ["amount", "12345i128", "NULL"]);
        assert_eq!(log.outputs[0].values, ["@out", "77i32"]);
        let kinds: Vec<String> = log
            .events
            .iter()
            .map(|event| match event {
                Event::Done(done) => format!("done {:?} {:?}", done.kind, done.count()),
                Event::Message(message) => format!("{} {} {}", message.is_error, message.number, message.message),
                Event::EnvChange(change) => format!("{change:?}"),
                Event::ReturnStatus(status) => format!("return {status}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "done Done Some(4)",
                "false 5701 hello",
                "BeginTransaction([1, 2, 3, 4, 5, 6, 7, 8])",
                "true 5701 hello",
                "done InProc None",
                "return 3",
                "done Proc None",
            ]
        );
    }

    #[test]
    fn pieces_cut_at_every_byte_read_the_same() {
        let bytes = response();
        let whole = read_in_pieces(&bytes, &[]).unwrap();
        for cut in 0..bytes.len() {
            assert_eq!(read_in_pieces(&bytes, &[cut]).unwrap(), whole, "cut at {cut}");
            assert_eq!(read_in_pieces(&bytes, &[cut, cut + 1, cut + 3]).unwrap(), whole, "cuts from {cut}");
        }
        let every_byte: Vec<usize> = (0..bytes.len()).collect();
        assert_eq!(read_in_pieces(&bytes, &every_byte).unwrap(), whole);
    }

    #[test]
    fn a_response_that_ends_inside_a_token_is_an_error() {
        let bytes = response();
        // The last token is the 13-byte DONEPROC: ending before it is fine,
        // ending inside it is not; nor is ending inside the first row's PLP value.
        let last_token = bytes.len() - 13;
        assert!(read_in_pieces(&bytes[..last_token], &[]).is_ok());
        for end in (last_token + 1..bytes.len()).chain([40, 60]) {
            assert!(read_in_pieces(&bytes[..end], &[]).is_err(), "end at {end}");
        }
    }

    #[test]
    fn hostile_bytes_are_errors() {
        let cases: [&[u8]; 6] = [
            &[0x01],
            &[token::ROW, 1, 2, 3],
            &[token::COLMETADATA, 1, 0, 0, 0, 0, 0, 0, 0, 0x99],
            &[token::ALTROW, 0],
            &[token::SESSIONSTATE, 0xFF, 0xFF, 0xFF, 0x7F],
            &[token::COLMETADATA, 0xFF, 0xFF],
        ];
        for bytes in cases {
            assert!(read_in_pieces(bytes, &[]).is_err(), "{bytes:x?}");
        }
    }

    #[test]
    fn an_unpaired_surrogate_is_a_value_error_and_reading_goes_on() {
        let mut bytes = vec![token::COLMETADATA, 1, 0, 0, 0, 0, 0, 1, 0, NVARCHAR, 20, 0, 0, 0, 0, 0, 0];
        bytes.extend(b_varchar("t"));
        bytes.extend([token::ROW, 2, 0, 0x00, 0xD8, token::ROW, 2, 0, b'x', 0]);
        bytes.extend(done(token::DONE, Done::COUNT, 2));
        let log = read_in_pieces(&bytes, &[]).unwrap();
        assert_eq!(log.results[0], ["t", "NULL", "'x'"]);
        assert_eq!(log.value_errors.len(), 1);
        assert_eq!(log.value_errors[0].0, Some(0));
    }
}
