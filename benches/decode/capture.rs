//! The server's side of one session reading scenario 1 (PRELOGIN answer,
//! login answer, query response), recorded from the local TDS server through
//! the product's driver, and cached as raw bytes so later runs skip it.

use super::scenario::{insert_batches, CREATE_TABLE, ROWS, SELECT};
use super::transport::Recording;
use arrow_array::RecordBatch;
use fastmssql::config::{ConnectSettings, KeywordSettings};
use fastmssql::driver::open_over;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tds_server::server::{DEFAULT_PASSWORD, DEFAULT_USER};
use tds_server::{TestServer, TestServerConfig};
use tokio::net::TcpStream;

/// Bump when the scenario's data or the recording changes, so a stale cache is not replayed.
const CAPTURE_VERSION: u32 = 1;
/// Filling 100,000 rows and reading them back takes well under this.
const RECORD_TIMEOUT: Duration = Duration::from_secs(900);

pub struct Capture {
    pub prelogin: Arc<[u8]>,
    pub login: Arc<[u8]>,
    /// The response to `SELECT * FROM bench_mixed`: TDS packets, headers included.
    pub query: Arc<[u8]>,
    /// The product's result over TCP, when the capture was recorded in this run.
    pub over_tcp: Option<Vec<RecordBatch>>,
}

/// Unencrypted, so that the recorded bytes can be replayed (TLS could not be).
pub fn settings(port: u16) -> Result<ConnectSettings, String> {
    let text = format!("Server=tcp:127.0.0.1,{port};User Id={DEFAULT_USER};Password={DEFAULT_PASSWORD};Encrypt=no");
    ConnectSettings::resolve(Some(&text), KeywordSettings::default(), None).map_err(|e| e.0)
}

pub fn load_or_record(cache_dir: &Path) -> Result<Capture, String> {
    let path = cache_dir.join(format!("bench_mixed-{ROWS}-v{CAPTURE_VERSION}.tds"));
    let (bytes, over_tcp) = match std::fs::read(&path) {
        Ok(bytes) => (bytes, None),
        Err(_) => {
            let (bytes, batches) = record()?;
            std::fs::create_dir_all(cache_dir).map_err(|e| format!("{}: {e}", cache_dir.display()))?;
            std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            (bytes, Some(batches))
        }
    };
    let [prelogin, login, query]: [&[u8]; 3] =
        split_responses(&bytes)?.try_into().map_err(|responses: Vec<&[u8]>| {
            format!("expected 3 server responses in the capture, found {}", responses.len())
        })?;
    Ok(Capture { prelogin: prelogin.into(), login: login.into(), query: query.into(), over_tcp })
}

/// Splits the server's bytes into messages: each ends with a packet whose
/// status has the END_OF_MESSAGE bit.
fn split_responses(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut responses = Vec::new();
    let (mut start, mut at) = (0, 0);
    while at < bytes.len() {
        let header = bytes.get(at..at + 8).ok_or("capture ends inside a packet header")?;
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if length < 8 || at + length > bytes.len() {
            return Err(format!("capture has a packet of bad length {length} at offset {at}"));
        }
        at += length;
        if header[1] & 0x01 != 0 {
            responses.push(&bytes[start..at]);
            start = at;
        }
    }
    if start != bytes.len() {
        return Err("capture ends inside a message".into());
    }
    Ok(responses)
}

async fn connect(port: u16) -> Result<TcpStream, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(tcp)
}

/// Fills the table on an in-process server and records a session reading it.
fn record() -> Result<(Vec<u8>, Vec<RecordBatch>), String> {
    let server = TestServer::start(TestServerConfig::default())?;
    let port = server.addr().port();
    let settings = settings(port)?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let session = async {
        let mut filler = open_over(&settings, connect(port).await?).await.map_err(|e| e.to_string())?;
        filler.execute(CREATE_TABLE, &[]).await.map_err(|e| e.to_string())?;
        for insert in insert_batches() {
            filler.execute(&insert, &[]).await.map_err(|e| e.to_string())?;
        }
        let transport = Recording::new(connect(port).await?, log.clone());
        let mut reader = open_over(&settings, transport).await.map_err(|e| e.to_string())?;
        let mut outcome = reader.query(SELECT, &[]).await.map_err(|e| e.to_string())?;
        let batches = outcome.result_sets.pop().map(|set| set.batches);
        batches.ok_or_else(|| "the SELECT returned no result set".to_string())
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let batch = runtime
        .block_on(async { tokio::time::timeout(RECORD_TIMEOUT, session).await })
        .map_err(|_| format!("recording did not finish within {} s", RECORD_TIMEOUT.as_secs()))??;
    server.stop();
    let bytes = std::mem::take(&mut *log.lock().expect("recording log"));
    Ok((bytes, batch))
}
