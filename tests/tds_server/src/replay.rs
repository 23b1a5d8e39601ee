//! Replay mode (`--replay`): the encoded response of a read-only request is kept by the request's
//! bytes and served again from memory until any request that may write, so a benchmark measures
//! the client, not the server's engine. Deciding "read-only" is deliberately conservative: anything
//! not recognised as a plain deterministic SELECT is never cached, and anything that may write
//! empties the cache.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::{Event, RpcRequest, RpcTarget, Session};
use crate::packet::PacketType;
use crate::request::read_all_headers;
use crate::response::ResponseEncoder;
use crate::tokens::DONE_ERROR;
use crate::value::Value;
use crate::wire::Reader;

/// Total size of the cached responses; the oldest go first beyond it.
pub const MAX_CACHED_BYTES: usize = 4 << 30;

/// A cached response is cut at token boundaries about this often, where its replay may stop
/// for an Attention.
pub const SEGMENT_LEN: usize = 256 * 1024;

/// What a request may do, as far as the cache is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestClass {
    /// May write (or is not understood): empties the cache.
    MayWrite,
    /// Writes nothing shared but its answer cannot be replayed (session state, variables,
    /// clocks, temporary tables): neither cached nor emptying the cache.
    SessionOnly,
    /// Deterministic reads only: its response may be cached.
    Cacheable,
}

/// Statement keywords (and a few functions) that write or that this module does not vouch for.
const MAY_WRITE: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "EXEC",
    "EXECUTE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVE",
    "WAITFOR",
    "USE",
    "GRANT",
    "REVOKE",
    "DENY",
    "BULK",
    "DBCC",
    "KILL",
    "RAISERROR",
    "THROW",
    "PRINT",
    "IF",
    "ELSE",
    "WHILE",
    "RETURN",
    "GOTO",
    "BREAK",
    "CONTINUE",
    "OPEN",
    "FETCH",
    "CLOSE",
    "DEALLOCATE",
    "BACKUP",
    "RESTORE",
    "CHECKPOINT",
    "SHUTDOWN",
    "RECONFIGURE",
    "INTO",
    "NEXT",
    "READTEXT",
    "WRITETEXT",
    "UPDATETEXT",
    "SETUSER",
    "REVERT",
    "ENABLE",
    "DISABLE",
    "SEND",
    "RECEIVE",
    "MOVE",
    "CONVERSATION",
    "OPENROWSET",
    "OPENQUERY",
    "OPENDATASOURCE",
    "OPENXML",
    "TRY",
    "CATCH",
];

/// Functions whose value changes between calls or depends on the session.
const VOLATILE_FUNCTIONS: &[&str] = &[
    "NEWID",
    "NEWSEQUENTIALID",
    "GETDATE",
    "GETUTCDATE",
    "SYSDATETIME",
    "SYSUTCDATETIME",
    "SYSDATETIMEOFFSET",
    "CURRENT_TIMESTAMP",
    "RAND",
    "CRYPT_GEN_RANDOM",
    "SCOPE_IDENTITY",
    "IDENT_CURRENT",
    "CURRENT_USER",
    "SESSION_USER",
    "SYSTEM_USER",
    "USER",
    "USER_NAME",
    "USER_ID",
    "SUSER_NAME",
    "SUSER_SNAME",
    "SUSER_ID",
    "HOST_NAME",
    "HOST_ID",
    "APP_NAME",
    "DB_NAME",
    "DB_ID",
    "ERROR_NUMBER",
    "ERROR_MESSAGE",
    "ERROR_STATE",
    "ERROR_SEVERITY",
    "ERROR_LINE",
    "ERROR_PROCEDURE",
    "XACT_STATE",
    "CONTEXT_INFO",
    "SESSION_CONTEXT",
    "OBJECT_ID",
    "CONNECTIONPROPERTY",
];

/// Leading keywords of a batch that may be replayed or left alone; anything else may write.
const READING_STATEMENTS: &[&str] = &["SELECT", "SET", "DECLARE"];

#[derive(Debug, PartialEq)]
enum Lexeme {
    Word(String),
    /// `@name`
    Variable,
    /// `@@name`, `#temp` or `##global`
    SessionName,
    Quoted,
    Symbol(char),
}

/// Splits T-SQL into the lexemes the classification needs; `None` for text it cannot split
/// (an unterminated string, comment or quoted name).
fn lex(text: &str) -> Option<Vec<Lexeme>> {
    let chars: Vec<char> = text.chars().collect();
    let mut lexemes = Vec::new();
    let mut i = 0;
    let is_name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '$' | '#' | '@');
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('/'), Some('*')) => {
                        depth += 1;
                        i += 2;
                    }
                    (Some('*'), Some('/')) => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    (Some(_), _) => i += 1,
                    (None, _) => return None,
                }
            }
        } else if c == '\'' || ((c == 'N' || c == 'n') && next == Some('\'')) {
            i += if c == '\'' { 1 } else { 2 };
            i = skip_quoted(&chars, i, '\'')?;
            lexemes.push(Lexeme::Quoted);
        } else if c == '[' || c == '"' {
            i = skip_quoted(&chars, i + 1, if c == '[' { ']' } else { '"' })?;
            lexemes.push(Lexeme::Quoted);
        } else if is_name_char(c) {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            lexemes.push(if word.starts_with("@@") || word.starts_with('#') {
                Lexeme::SessionName
            } else if word.starts_with('@') {
                Lexeme::Variable
            } else {
                Lexeme::Word(word.to_ascii_uppercase())
            });
        } else {
            lexemes.push(Lexeme::Symbol(c));
            i += 1;
        }
    }
    Some(lexemes)
}

/// The index after the closing `close` of a quoted run starting at `i` (a doubled `close` is
/// an escaped one).
fn skip_quoted(chars: &[char], mut i: usize, close: char) -> Option<usize> {
    loop {
        match chars.get(i) {
            None => return None,
            Some(&c) if c == close && chars.get(i + 1) == Some(&close) => i += 2,
            Some(&c) if c == close => return Some(i + 1),
            Some(_) => i += 1,
        }
    }
}

/// How the cache treats a SQL batch (or the statement of an sp_executesql).
pub fn classify_sql(text: &str) -> RequestClass {
    let Some(lexemes) = lex(text) else { return RequestClass::MayWrite };
    match lexemes.first() {
        Some(Lexeme::Word(first)) if READING_STATEMENTS.contains(&first.as_str()) => {}
        _ => return RequestClass::MayWrite,
    }
    let mut class = RequestClass::Cacheable;
    for (index, lexeme) in lexemes.iter().enumerate() {
        match lexeme {
            Lexeme::Word(word) if MAY_WRITE.contains(&word.as_str()) => return RequestClass::MayWrite,
            Lexeme::Word(word)
                if VOLATILE_FUNCTIONS.contains(&word.as_str()) || READING_STATEMENTS[1..].contains(&word.as_str()) =>
            {
                class = RequestClass::SessionOnly
            }
            Lexeme::SessionName => class = RequestClass::SessionOnly,
            // `@v = ...` may assign a variable (SELECT @v = c).
            Lexeme::Variable if lexemes.get(index + 1) == Some(&Lexeme::Symbol('=')) => {
                class = RequestClass::SessionOnly
            }
            _ => {}
        }
    }
    class
}

pub const PROC_SP_EXECUTESQL: u16 = 10;
const PROC_SP_PREPARE: u16 = 11;
const PROC_SP_PREPEXEC: u16 = 13;
const PROC_SP_UNPREPARE: u16 = 15;
/// StatusFlags bit of an OUTPUT parameter.
const BY_REF_VALUE: u8 = 0x01;

/// How the cache treats one RPC message: the least cacheable of its calls.
pub fn classify_rpc(requests: &[RpcRequest]) -> RequestClass {
    requests.iter().map(classify_call).min().unwrap_or(RequestClass::MayWrite)
}

fn classify_call(rpc: &RpcRequest) -> RequestClass {
    let proc_id = match &rpc.target {
        RpcTarget::ProcId(id) => Some(*id),
        RpcTarget::Name(name) => {
            let last = procedure_name(name);
            [
                ("sp_executesql", PROC_SP_EXECUTESQL),
                ("sp_prepare", PROC_SP_PREPARE),
                ("sp_prepexec", PROC_SP_PREPEXEC),
                ("sp_unprepare", PROC_SP_UNPREPARE),
            ]
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(last))
            .map(|(_, id)| *id)
        }
    };
    let statement = |index: usize| match rpc.params.get(index).map(|p| &p.value) {
        Some(Value::Str(text)) => classify_sql(text),
        _ => RequestClass::MayWrite,
    };
    let outputs = rpc.params.iter().any(|p| p.status & BY_REF_VALUE != 0);
    match proc_id {
        Some(PROC_SP_EXECUTESQL) if outputs => statement(0).min(RequestClass::SessionOnly),
        Some(PROC_SP_EXECUTESQL) => statement(0),
        // A prepared handle is session state: never replayed, and preparing writes nothing.
        Some(PROC_SP_PREPARE | PROC_SP_UNPREPARE) => RequestClass::SessionOnly,
        Some(PROC_SP_PREPEXEC) => statement(2).min(RequestClass::SessionOnly),
        _ => RequestClass::MayWrite,
    }
}

/// The last part of a possibly qualified, possibly bracketed procedure name (`[sys].[sp_executesql]`).
pub fn procedure_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or_default().trim_matches(|c| c == '[' || c == ']')
}

/// Whether a response may be replayed: no error, no environment change, no delay, no message,
/// no OUTPUT parameter.
pub fn replayable(events: &[Event]) -> bool {
    events.iter().all(|event| match event {
        Event::ColMetadata(_) | Event::Row(_) | Event::EncodedRows(_) | Event::ReturnStatus(_) => true,
        Event::Done(done) => done.status & DONE_ERROR == 0,
        Event::Error(_) | Event::Info(_) | Event::EnvChange(_) | Event::ReturnValue { .. } | Event::Delay(_) => false,
    })
}

/// What identifies a cacheable request: its message type and bytes after ALL_HEADERS (the SQL
/// text, or the RPC calls with their parameters as sent), plus the session state its answer
/// depends on (database, SET options).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReplayKey {
    kind: u8,
    request: Vec<u8>,
    database: String,
    options: Vec<(String, String)>,
}

impl ReplayKey {
    /// `None` when the payload does not start with valid ALL_HEADERS.
    pub fn new(kind: PacketType, payload: &[u8], session: &Session) -> Option<ReplayKey> {
        let mut reader = Reader::new(payload);
        read_all_headers(&mut reader).ok()?;
        let mut options: Vec<(String, String)> =
            session.options.iter().map(|(name, value)| (name.clone(), value.clone())).collect();
        options.sort();
        Some(ReplayKey {
            kind: kind.to_byte(),
            request: reader.remaining().to_vec(),
            database: session.database.clone(),
            options,
        })
    }

    fn size(&self) -> usize {
        self.request.len() + self.database.len() + self.options.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>()
    }
}

/// A response's token stream (before packet framing), cut into segments at token boundaries.
#[derive(Debug)]
pub struct CachedResponse {
    tokens: Vec<u8>,
    /// End offsets of the segments; the last one is `tokens.len()`.
    segment_ends: Vec<usize>,
}

impl CachedResponse {
    /// Encodes `events` (a replayable response) as the session would send them.
    pub fn encode(events: &[Event], server_name: &str) -> Result<CachedResponse, String> {
        let mut encoder = ResponseEncoder::new(events, server_name);
        let mut tokens = Vec::new();
        let mut segment_ends = Vec::new();
        for (index, event) in events.iter().enumerate() {
            encoder.encode(&mut tokens, index, event)?;
            if tokens.len() - segment_ends.last().copied().unwrap_or(0) >= SEGMENT_LEN {
                segment_ends.push(tokens.len());
            }
        }
        if segment_ends.last() != Some(&tokens.len()) {
            segment_ends.push(tokens.len());
        }
        Ok(CachedResponse { tokens, segment_ends })
    }

    /// The token stream in segments that each end at a token boundary.
    pub fn segments(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.segment_ends.iter().copied());
        starts.zip(self.segment_ends.iter().copied()).map(|(start, end)| &self.tokens[start..end])
    }
}

/// The server-wide cache, shared by all connections.
#[derive(Debug, Default)]
pub struct ReplayCache {
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// Bumped by every invalidation, so a response computed before a write is not stored after it.
    generation: u64,
    entries: HashMap<ReplayKey, Arc<CachedResponse>>,
    /// Insertion order, oldest first, for eviction.
    order: VecDeque<ReplayKey>,
    bytes: usize,
}

impl ReplayCache {
    fn state(&self) -> MutexGuard<'_, CacheState> {
        // The state stays consistent even if a holder panicked: every update is one step.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, key: &ReplayKey) -> Option<Arc<CachedResponse>> {
        self.state().entries.get(key).cloned()
    }

    /// The generation to pass to `insert` for a response about to be computed.
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Keeps `response` unless the cache was invalidated since `generation` was read (the
    /// response may predate a write) or it is larger than the whole cache.
    pub fn insert(&self, key: ReplayKey, response: Arc<CachedResponse>, generation: u64) {
        let size = key.size() + response.tokens.len();
        let mut state = self.state();
        if state.generation != generation || size > MAX_CACHED_BYTES || state.entries.contains_key(&key) {
            return;
        }
        while state.bytes + size > MAX_CACHED_BYTES {
            let Some(oldest) = state.order.pop_front() else { break };
            if let Some(evicted) = state.entries.remove(&oldest) {
                state.bytes -= oldest.size() + evicted.tokens.len();
            }
        }
        state.bytes += size;
        state.order.push_back(key.clone());
        state.entries.insert(key, response);
    }

    /// Forgets every response: something may have written.
    pub fn invalidate(&self) {
        let mut state = self.state();
        state.generation += 1;
        if !state.entries.is_empty() {
            state.entries.clear();
            state.order.clear();
            state.bytes = 0;
        }
    }

    /// Number of cached responses.
    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_selects_are_cacheable() {
        assert_eq!(classify_sql("SELECT * FROM bench_mixed"), RequestClass::Cacheable);
        assert_eq!(classify_sql("select id, [name] from t where id = @P1 -- the key\n"), RequestClass::Cacheable);
        assert_eq!(classify_sql("SELECT 'INSERT INTO t' AS text; SELECT 2"), RequestClass::Cacheable);
    }

    #[test]
    fn session_dependent_reads_are_neither_cached_nor_invalidating() {
        for sql in [
            "SELECT NEWID()",
            "SELECT GETDATE() AS now",
            "SELECT @@ROWCOUNT",
            "SELECT * FROM #t",
            "SELECT @v = id FROM t",
            "SET NOCOUNT ON",
            "DECLARE @x int; SELECT @x",
            "SELECT 1; SET ANSI_NULLS ON",
        ] {
            assert_eq!(classify_sql(sql), RequestClass::SessionOnly, "{sql}");
        }
    }

    #[test]
    fn writes_and_unknown_statements_may_write() {
        for sql in [
            "INSERT INTO t VALUES (1)",
            "SELECT * INTO t2 FROM t",
            "SELECT 1 UPDATE t SET a = 1",
            "BEGIN TRAN",
            "EXEC sp_who",
            "sp_who",
            "WITH c AS (SELECT 1 AS a) SELECT * FROM c",
            "SELECT NEXT VALUE FOR s",
            "SELECT 'unterminated",
            "",
        ] {
            assert_eq!(classify_sql(sql), RequestClass::MayWrite, "{sql}");
        }
    }
}
