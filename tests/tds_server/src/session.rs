//! One client connection from PRELOGIN to disconnect: encryption, login, then requests
//! handed to the engine and its `Event`s written back as tokens.

use std::collections::VecDeque;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::connection::Connection;
use crate::engine::{self, Done, DoneKind, EnvChange, Event, Session};
use crate::fault::{self, Fault};
use crate::login7::{self, Login7};
use crate::packet::{negotiate_packet_size, Message, PacketType, DEFAULT_PACKET_SIZE};
use crate::prelogin::{self, Encryption};
use crate::replay::{self, CachedResponse, ReplayCache, ReplayKey, RequestClass};
use crate::request::{self, AllHeaders, RequestError, TransactionRequest};
use crate::response::{Flow, OutgoingResponse, ResponseEncoder};
use crate::server::ServerContext;
use crate::tokens::{self, LoginAck, DEFAULT_COLLATION, DONE_ATTN, DONE_ERROR, DONE_FINAL, DONE_RPCINBATCH};

/// TDS 7.4 as LOGINACK writes it.
pub const TDS_7_4: u32 = 0x7400_0004;
/// LOGINACK ProgVersion of SQL Server 2022 RTM (16.0.1000).
pub const PROG_VERSION: [u8; 4] = [16, 0, 0x03, 0xE8];
pub const PROG_NAME: &str = "Microsoft SQL Server";
pub const DEFAULT_DATABASE: &str = "master";
pub const DEFAULT_LANGUAGE: &str = "us_english";

/// First byte of a TLS ClientHello (a handshake record), which a TDS 8.0 client sends instead
/// of PRELOGIN (0x12).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Pending response bytes are framed and sent once they exceed this, so big results
/// stream instead of piling up.
const STREAM_THRESHOLD: usize = 64 * 1024;

/// Serves one accepted connection; errors end only this connection and are logged.
pub async fn serve_connection(tcp: TcpStream, context: &ServerContext, spid: u16) {
    let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    if let Err(e) = serve(tcp, context, spid).await {
        if e.kind() != io::ErrorKind::UnexpectedEof {
            eprintln!("tds-server: connection {spid} from {peer}: {e}");
        }
    }
}

async fn serve(tcp: TcpStream, context: &ServerContext, spid: u16) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    let mut first = [0u8; 1];
    let strict = tcp.peek(&mut first).await? == 1 && first[0] == TLS_HANDSHAKE_RECORD;
    let mut conn = Connection::new(tcp);
    if strict {
        conn.accept_strict_tls(context.strict_tls.clone()).await?;
    }

    let prelogin_message = conn.read_message().await?;
    if prelogin_message.ty != PacketType::PreLogin {
        return Err(invalid(format!("expected PRELOGIN, got a {:?} message", prelogin_message.ty)));
    }
    let prelogin_request = prelogin::parse_request(&prelogin_message.payload).map_err(invalid)?;
    let negotiated = if strict {
        Ok(prelogin::strict_encryption(prelogin_request.encryption))
    } else {
        prelogin::negotiate_encryption(context.encrypt, prelogin_request.encryption)
    };
    let (answer, encryption) = match negotiated {
        Ok((answer, encryption)) => (answer, Some(encryption)),
        Err(answer) => (answer, None),
    };
    let mut response = Vec::new();
    prelogin::write_response(&mut response, &prelogin_request, answer);
    conn.send_message(PacketType::TabularResult, &response).await?;
    let Some(encryption) = encryption else {
        return Err(invalid(format!(
            "client encryption 0x{:02X} is not acceptable to this server",
            prelogin_request.encryption
        )));
    };
    if matches!(encryption, Encryption::LoginOnly | Encryption::Full) {
        conn.start_tls(context.prelogin_tls.clone()).await?;
    }

    let login_message = conn.read_message().await?;
    if encryption == Encryption::LoginOnly {
        conn.stop_tls();
    }
    if login_message.ty != PacketType::Login7 {
        return Err(invalid(format!("expected LOGIN7, got a {:?} message", login_message.ty)));
    }
    let login = login7::parse(&login_message.payload).map_err(invalid)?;
    conn.spid = spid;
    // Err(None): wrong credentials; Err(Some(name)): right ones but no such database.
    let database = if context.accepts(&login.user_name, &login.password) && login.sspi.is_empty() {
        login_database(&login.database).map_err(Some)
    } else {
        Err(None)
    };
    let database = match database {
        Ok(database) => database,
        Err(missing_database) => {
            let mut out = Vec::new();
            write_login_failure(&mut out, &login.user_name, missing_database, &context.server_name);
            conn.send_message(PacketType::TabularResult, &out).await?;
            return Ok(());
        }
    };

    let mut session = Session::new(spid, &login.user_name, database, &context.server_name)
        .with_application(&login.app_name)
        .with_tables(context.tables.clone());
    session.encode_rows = true;
    let packet_size = negotiate_packet_size(login.packet_size);
    let mut out = Vec::new();
    write_login_response(&mut out, &session, &login, packet_size);
    conn.send_message(PacketType::TabularResult, &out).await?;
    conn.packet_size = packet_size;

    let mut handler = RequestLoop {
        conn,
        session,
        login_database: database,
        queued: VecDeque::new(),
        replay: context.replay.clone(),
        fault: None,
    };
    handler.run().await
}

/// The database LOGIN7 asked for in the server's own spelling (the default one when it asked
/// for none), or the requested name when no such database exists.
fn login_database(requested: &str) -> Result<&'static str, &str> {
    if requested.is_empty() {
        Ok(DEFAULT_DATABASE)
    } else {
        engine::find_database(requested).ok_or(requested)
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The TDS version LOGINACK confirms: the client's own for the 7.x versions this server
/// also speaks, else 7.4.
fn loginack_version(client: u32) -> u32 {
    const KNOWN: [u32; 5] = [0x7100_0001, 0x7209_0002, 0x730A_0003, 0x730B_0003, TDS_7_4];
    if KNOWN.contains(&client) {
        client
    } else {
        TDS_7_4
    }
}

/// The login response in SQL Server's token order.
pub fn write_login_response(out: &mut Vec<u8>, session: &Session, login: &Login7, packet_size: usize) {
    let server = &session.server_name;
    tokens::write_envchange(
        out,
        &EnvChange::Database { new: session.database.clone(), old: DEFAULT_DATABASE.to_string() },
    );
    tokens::write_info(
        out,
        &tokens::server_message(5701, 2, 0, format!("Changed database context to '{}'.", session.database)),
        server,
    );
    tokens::write_envchange(out, &EnvChange::Collation { new: DEFAULT_COLLATION });
    tokens::write_envchange(out, &EnvChange::Language { new: DEFAULT_LANGUAGE.to_string(), old: String::new() });
    tokens::write_info(
        out,
        &tokens::server_message(5703, 1, 0, format!("Changed language setting to {DEFAULT_LANGUAGE}.")),
        server,
    );
    tokens::write_loginack(
        out,
        &LoginAck {
            interface: 1,
            tds_version: loginack_version(login.tds_version),
            prog_name: PROG_NAME.to_string(),
            prog_version: PROG_VERSION,
        },
    );
    tokens::write_envchange(out, &EnvChange::PacketSize { new: packet_size as u32, old: DEFAULT_PACKET_SIZE as u32 });
    tokens::write_done(out, &done(DONE_FINAL));
}

/// ERROR 18456 and a DONE with DONE_ERROR, as SQL Server rejects a login; preceded by
/// ERROR 4060 when the credentials were right but the requested database does not exist.
pub fn write_login_failure(out: &mut Vec<u8>, user: &str, missing_database: Option<&str>, server_name: &str) {
    if let Some(database) = missing_database {
        let text = format!("Cannot open database \"{database}\" requested by the login. The login failed.");
        tokens::write_error(out, &tokens::server_message(4060, 1, 11, text), server_name);
    }
    let error = tokens::server_message(18456, 1, 14, format!("Login failed for user '{user}'."));
    tokens::write_error(out, &error, server_name);
    tokens::write_done(out, &done(DONE_ERROR));
}

/// A DONE token with `status` and no row count.
fn done(status: u16) -> Done {
    Done { kind: DoneKind::Done, status, cur_cmd: 0, row_count: 0 }
}

fn error_events(number: i32, text: String) -> Vec<Event> {
    vec![Event::Error(tokens::server_message(number, 1, 16, text)), Event::Done(done(DONE_ERROR))]
}

/// A request refused before it ran (it could not be decoded, or an RPC parameter is invalid).
fn refused(error: RequestError) -> Vec<Event> {
    error_events(error.number, error.text)
}

/// Runs engine code so that a bug in it answers this request with an error instead of
/// dropping the connection.
fn guarded(run: impl FnOnce() -> Vec<Event>) -> Vec<Event> {
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        error_events(50000, format!("Internal error in the local test server: {detail}"))
    })
}

/// Sets DONE_RPCINBATCH on the DONEPROC that ends one RPC of a batch (not the last RPC).
fn mark_rpc_in_batch(events: &mut [Event]) {
    let end = events.iter_mut().rev().find_map(|event| match event {
        Event::Done(done) if done.kind == DoneKind::DoneProc => Some(done),
        _ => None,
    });
    if let Some(done) = end {
        done.status |= DONE_RPCINBATCH;
    }
}

struct RequestLoop {
    conn: Connection,
    session: Session,
    /// The database the login chose, which RESETCONNECTION returns to.
    login_database: &'static str,
    /// Requests that arrived while a response was being delayed or streamed.
    queued: VecDeque<Message>,
    /// The server's replay cache, in replay mode.
    replay: Option<Arc<ReplayCache>>,
    /// A fault armed for the next request.
    fault: Option<Fault>,
}

/// How replay mode treats one request.
enum ReplayPlan {
    /// Not cacheable and writes nothing shared (or replay mode is off).
    Bypass,
    /// May write: the cache is emptied once it has run.
    Invalidate,
    /// Served from the cache, or cached after it runs if its response allows.
    Cache { key: ReplayKey, generation: u64 },
}

impl RequestLoop {
    async fn run(&mut self) -> io::Result<()> {
        loop {
            let message = match self.queued.pop_front() {
                Some(message) => message,
                None => self.conn.read_message().await?,
            };
            let mut prefix = Vec::new();
            if message.reset_connection() {
                // Only the acknowledgement: the client itself returns to the login's database,
                // language and options (MS-TDS 2.2.7.9, ENVCHANGE type 18).
                let errors =
                    engine::reset_session(&mut self.session, self.login_database, message.reset_keeps_transaction());
                tokens::write_reset_connection_ack(&mut prefix);
                for error in &errors {
                    tokens::write_error(&mut prefix, error, &self.session.server_name);
                }
            }
            if self.handle(prefix, message).await? == Flow::Closed {
                return Ok(());
            }
        }
    }

    /// Answers one request: arms a fault, applies an armed one, serves it from the replay
    /// cache, or executes it.
    async fn handle(&mut self, prefix: Vec<u8>, message: Message) -> io::Result<Flow> {
        if message.ty == PacketType::Attention {
            return self.respond(prefix, &[Event::Done(done(DONE_ATTN))]).await;
        }
        if let Some(arming) = fault::arming_request(&message) {
            if let fault::Arming::Arm { fault, .. } = &arming {
                self.fault = Some(fault.clone());
            }
            return self.respond(prefix, &arming.response()).await;
        }
        let fault = self.fault.take();
        match &fault {
            Some(Fault::Error { number, message, severity }) => {
                return self.respond(prefix, &Fault::error_events(*number, message, *severity)).await
            }
            Some(Fault::Delay(duration)) if self.wait_unless_attention(*duration).await? => {
                return self.respond(prefix, &[Event::Done(done(DONE_ATTN))]).await
            }
            Some(Fault::Malformed(malformation)) => {
                let response = malformation.response(&prefix, self.conn.spid, self.conn.packet_size);
                self.conn.write_all(&response).await?;
                return Ok(Flow::Open);
            }
            _ => {}
        }
        let plan = self.replay_plan(&message, fault.is_some());
        if let ReplayPlan::Cache { key, .. } = &plan {
            if let Some(cached) = self.replay.as_ref().and_then(|cache| cache.get(key)) {
                return self.serve_cached(prefix, &cached).await;
            }
        }
        let events = match message.ty {
            PacketType::SqlBatch => self.sql_batch(&message.payload),
            PacketType::Rpc => self.rpc(&message.payload),
            PacketType::TransactionManager => self.transaction_manager(&message.payload),
            PacketType::BulkLoad => {
                let session = &mut self.session;
                guarded(|| crate::tables::bulk::load(session, &message.payload))
            }
            other => error_events(50000, format!("{other:?} messages are not supported by the local test server")),
        };
        match (plan, &self.replay) {
            (ReplayPlan::Invalidate, Some(cache)) => cache.invalidate(),
            (ReplayPlan::Cache { key, generation }, Some(cache))
                if replay::replayable(&events) && self.session.transaction.is_none() =>
            {
                // An encoding failure is left to the normal path, which reports it.
                if let Ok(cached) = CachedResponse::encode(&events, &self.session.server_name) {
                    // The rows are in the encoded response now; a million of them as values take ~1 GB.
                    drop(events);
                    let cached = Arc::new(cached);
                    cache.insert(key, cached.clone(), generation);
                    return self.serve_cached(prefix, &cached).await;
                }
            }
            _ => {}
        }
        self.respond_with_fault(prefix, &events, fault.as_ref()).await
    }

    /// How replay mode treats `message`; a request with a fault armed is never served from
    /// or stored in the cache (but still empties it when it may write).
    fn replay_plan(&self, message: &Message, fault_armed: bool) -> ReplayPlan {
        let Some(cache) = &self.replay else { return ReplayPlan::Bypass };
        let class = match message.ty {
            PacketType::SqlBatch => match request::parse_sql_batch(&message.payload) {
                Ok(batch) => replay::classify_sql(&batch.text),
                Err(_) => RequestClass::SessionOnly,
            },
            PacketType::Rpc => match request::parse_rpc(&message.payload) {
                Ok(rpc) => replay::classify_rpc(&rpc.requests),
                Err(_) => RequestClass::SessionOnly,
            },
            _ => RequestClass::MayWrite,
        };
        match class {
            RequestClass::MayWrite => ReplayPlan::Invalidate,
            RequestClass::SessionOnly => ReplayPlan::Bypass,
            RequestClass::Cacheable if fault_armed || self.session.transaction.is_some() => ReplayPlan::Bypass,
            RequestClass::Cacheable => match ReplayKey::new(message.ty, &message.payload, &self.session) {
                Some(key) => ReplayPlan::Cache { key, generation: cache.generation() },
                None => ReplayPlan::Bypass,
            },
        }
    }

    /// A nonzero transaction descriptor must name the session's open transaction.
    fn check_transaction(&self, headers: &AllHeaders) -> Result<(), Vec<Event>> {
        match headers.transaction_descriptor {
            Some(descriptor) if descriptor != 0 && Some(descriptor) != self.session.transaction => {
                Err(error_events(3910, "Transaction context in use by another session.".into()))
            }
            _ => Ok(()),
        }
    }

    /// A decoded request whose ALL_HEADERS fit the session, or the events that refuse it.
    fn accept<T, E: Into<RequestError>>(
        &self,
        decoded: Result<T, E>,
        headers: fn(&T) -> &AllHeaders,
    ) -> Result<T, Vec<Event>> {
        let request = decoded.map_err(|e| refused(e.into()))?;
        self.check_transaction(headers(&request))?;
        Ok(request)
    }

    fn sql_batch(&mut self, payload: &[u8]) -> Vec<Event> {
        let batch = match self.accept(request::parse_sql_batch(payload), |b| &b.headers) {
            Ok(batch) => batch,
            Err(events) => return events,
        };
        let session = &mut self.session;
        guarded(|| engine::execute_batch(session, &batch.text))
    }

    fn rpc(&mut self, payload: &[u8]) -> Vec<Event> {
        let batch = match self.accept(request::parse_rpc(payload), |b| &b.headers) {
            Ok(batch) => batch,
            Err(events) => return events,
        };
        let mut events = Vec::new();
        let last = batch.requests.len() - 1;
        for (index, rpc) in batch.requests.iter().enumerate() {
            let session = &mut self.session;
            let mut rpc_events = guarded(|| engine::execute_rpc(session, rpc));
            if index != last {
                mark_rpc_in_batch(&mut rpc_events);
            }
            events.extend(rpc_events);
        }
        events
    }

    fn transaction_manager(&mut self, payload: &[u8]) -> Vec<Event> {
        let request = match self.accept(request::parse_transaction_manager(payload), |r| &r.headers) {
            Ok(request) => request,
            Err(events) => return events,
        };
        let mut events = Vec::new();
        let commit = matches!(request.request, TransactionRequest::Commit { .. });
        let begin_after = match request.request {
            TransactionRequest::Begin { .. } => {
                self.begin_transaction(&mut events);
                None
            }
            TransactionRequest::Commit { begin_after, .. } | TransactionRequest::Rollback { begin_after, .. } => {
                let Some(descriptor) = self.session.transaction.take() else {
                    let verb = if commit { (3902, "COMMIT") } else { (3903, "ROLLBACK") };
                    return error_events(
                        verb.0,
                        format!("The {} TRANSACTION request has no corresponding BEGIN TRANSACTION.", verb.1),
                    );
                };
                events.push(Event::EnvChange(if commit {
                    EnvChange::CommitTransaction { descriptor }
                } else {
                    EnvChange::RollbackTransaction { descriptor }
                }));
                events.extend(engine::end_transaction(&mut self.session, commit));
                begin_after
            }
            TransactionRequest::Save { .. } if self.session.transaction.is_some() => None,
            TransactionRequest::Save { .. } => {
                return error_events(628, "Cannot issue SAVE TRANSACTION when there is no active transaction.".into())
            }
            TransactionRequest::Unsupported(ty) => {
                return error_events(
                    50000,
                    format!("Transaction manager request type {ty} is not supported by the local test server"),
                )
            }
        };
        if begin_after.is_some() {
            self.begin_transaction(&mut events);
        }
        events.push(Event::Done(done(DONE_FINAL)));
        events
    }

    /// TM_BEGIN_XACT: a new descriptor unless a transaction is already open (it nests).
    fn begin_transaction(&mut self, events: &mut Vec<Event>) {
        if self.session.transaction.is_some() {
            return;
        }
        let descriptor = self.session.next_transaction_descriptor;
        self.session.next_transaction_descriptor += 1;
        self.session.transaction = Some(descriptor);
        events.push(Event::EnvChange(EnvChange::BeginTransaction { descriptor }));
    }

    async fn respond(&mut self, prefix: Vec<u8>, events: &[Event]) -> io::Result<Flow> {
        self.respond_with_fault(prefix, events, None).await
    }

    /// Writes `events` as one response message, streaming it in chunks. A `Delay` is waited out
    /// and a chunk sent unless an Attention arrives, which ends the response with DONE_ATTN.
    /// A `CloseAfterBytes`/`CloseAfterRows` fault closes the connection partway.
    async fn respond_with_fault(
        &mut self,
        prefix: Vec<u8>,
        events: &[Event],
        fault: Option<&Fault>,
    ) -> io::Result<Flow> {
        let mut encoder = ResponseEncoder::new(events, &self.session.server_name);
        let mut out = OutgoingResponse::new(&self.conn, fault);
        let mut pending = prefix;
        let mut ended = false;
        for (index, event) in events.iter().enumerate() {
            if let Event::Delay(duration) = event {
                if self.send_pending(&mut out, &mut pending).await? == Flow::Closed {
                    return Ok(Flow::Closed);
                }
                if self.wait_unless_attention(*duration).await? {
                    tokens::write_done(&mut pending, &done(DONE_ATTN));
                    ended = true;
                    break;
                }
            } else if let Event::EncodedRows(rows) = event {
                // row by row, as each counts against a fault's row budget
                for row in rows.rows() {
                    pending.extend_from_slice(row);
                    out.write(&pending);
                    pending.clear();
                    if out.row_written(&mut self.conn).await? == Flow::Closed {
                        return Ok(Flow::Closed);
                    }
                }
            } else if let Err(e) = encoder.encode(&mut pending, index, event) {
                encoder.encode_failure(&mut pending, &e);
                ended = true;
                break;
            }
            if let Event::Row(_) = event {
                out.write(&pending);
                pending.clear();
                if out.row_written(&mut self.conn).await? == Flow::Closed {
                    return Ok(Flow::Closed);
                }
            }
            if pending.len() + out.framed_len() > STREAM_THRESHOLD {
                if self.send_pending(&mut out, &mut pending).await? == Flow::Closed {
                    return Ok(Flow::Closed);
                }
                if self.attention_arrived()? {
                    tokens::write_done(&mut pending, &done(DONE_ATTN));
                    ended = true;
                    break;
                }
            }
        }
        if !ended && !encoder.has_done() {
            // Every response must end with a DONE or the client waits forever.
            tokens::write_done(&mut pending, &done(DONE_FINAL));
        }
        out.write(&pending);
        out.finish(&mut self.conn).await
    }

    async fn send_pending(&mut self, out: &mut OutgoingResponse, pending: &mut Vec<u8>) -> io::Result<Flow> {
        out.write(pending);
        pending.clear();
        out.flush(&mut self.conn).await
    }

    /// Sends a cached token stream segment by segment, stopping at a segment's end for an Attention.
    async fn serve_cached(&mut self, prefix: Vec<u8>, cached: &CachedResponse) -> io::Result<Flow> {
        let mut out = OutgoingResponse::new(&self.conn, None);
        out.write(&prefix);
        for segment in cached.segments() {
            out.write(segment);
            if out.framed_len() > STREAM_THRESHOLD {
                out.flush(&mut self.conn).await?;
                if self.attention_arrived()? {
                    let mut attention = Vec::new();
                    tokens::write_done(&mut attention, &done(DONE_ATTN));
                    out.write(&attention);
                    break;
                }
            }
        }
        out.finish(&mut self.conn).await
    }

    /// Whether an Attention has arrived, without waiting; other requests that arrived are queued.
    fn attention_arrived(&mut self) -> io::Result<bool> {
        while let Some(message) = self.conn.try_read_message()? {
            if message.ty == PacketType::Attention {
                return Ok(true);
            }
            self.queued.push_back(message);
        }
        Ok(false)
    }

    /// Sleeps for `duration`; returns true as soon as an Attention arrives instead.
    async fn wait_unless_attention(&mut self, duration: Duration) -> io::Result<bool> {
        let sleep = tokio::time::sleep(duration);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return Ok(false),
                message = self.conn.read_message() => {
                    let message = message?;
                    if message.ty == PacketType::Attention {
                        return Ok(true);
                    }
                    self.queued.push_back(message);
                }
            }
        }
    }
}
