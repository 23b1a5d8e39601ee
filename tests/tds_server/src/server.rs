//! `TestServer`: listens on a TCP port and serves each connection in its own tokio task,
//! on a runtime of its own thread so sync and async callers can both start one.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::prelogin::EncryptMode;
use crate::replay::ReplayCache;
use crate::session::serve_connection;
use crate::tables::store::Database;
use crate::tls::{self, TlsIdentity};

pub const DEFAULT_USER: &str = "sa";
pub const DEFAULT_PASSWORD: &str = "FastMssql!Test1";
pub const SERVER_NAME: &str = "fastmssql-test";
/// SPIDs below 51 are system sessions on SQL Server; user sessions start here.
const FIRST_SPID: u16 = 51;

#[derive(Debug)]
pub struct TestServerConfig {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    pub encrypt: EncryptMode,
    /// Certificate and key; `None` generates a self-signed one for localhost/127.0.0.1.
    pub identity: Option<TlsIdentity>,
    /// (login, password) pairs; logins compare case-insensitively, passwords exactly.
    pub users: Vec<(String, String)>,
    /// Replay mode: responses of read-only requests are served again from memory until a write.
    pub replay: bool,
}

impl Default for TestServerConfig {
    fn default() -> TestServerConfig {
        TestServerConfig {
            host: "127.0.0.1".to_string(),
            port: 0,
            encrypt: EncryptMode::Off,
            identity: None,
            users: vec![(DEFAULT_USER.to_string(), DEFAULT_PASSWORD.to_string())],
            replay: false,
        }
    }
}

/// What every connection of one server shares.
pub struct ServerContext {
    pub encrypt: EncryptMode,
    /// TLS of TDS 7.x, negotiated in PRELOGIN.
    pub prelogin_tls: Arc<rustls::ServerConfig>,
    /// TLS of TDS 8.0 strict encryption, before PRELOGIN.
    pub strict_tls: Arc<rustls::ServerConfig>,
    pub users: Vec<(String, String)>,
    pub server_name: String,
    /// The server's tables, shared by its sessions
    pub tables: Arc<Database>,
    /// The cache of replay mode, shared by its sessions; `None` when replay mode is off.
    pub replay: Option<Arc<ReplayCache>>,
    next_spid: AtomicU16,
}

impl ServerContext {
    pub fn accepts(&self, user: &str, password: &str) -> bool {
        self.users.iter().any(|(u, p)| u.eq_ignore_ascii_case(user) && p == password)
    }

    fn allocate_spid(&self) -> u16 {
        let spid = self.next_spid.fetch_add(1, Ordering::Relaxed);
        if spid < FIRST_SPID {
            self.next_spid.store(FIRST_SPID + 1, Ordering::Relaxed);
            FIRST_SPID
        } else {
            spid
        }
    }
}

/// A running server; dropping it (or `stop`) closes the listener and all sessions.
pub struct TestServer {
    addr: SocketAddr,
    cert_pem: String,
    replay: Option<Arc<ReplayCache>>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds the listener and starts serving; returns once the address is known.
    pub fn start(config: TestServerConfig) -> Result<TestServer, String> {
        let identity = match config.identity {
            Some(identity) => identity,
            None => tls::generate_self_signed()?,
        };
        let context = Arc::new(ServerContext {
            encrypt: config.encrypt,
            prelogin_tls: tls::prelogin_config(&identity)?,
            strict_tls: tls::strict_config(&identity)?,
            users: config.users,
            server_name: SERVER_NAME.to_string(),
            tables: Arc::new(Database::new().map_err(|e| e.text)?),
            replay: config.replay.then(|| Arc::new(ReplayCache::default())),
            next_spid: AtomicU16::new(FIRST_SPID),
        });
        let replay = context.replay.clone();
        let listener = std::net::TcpListener::bind((config.host.as_str(), config.port))
            .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
        listener.set_nonblocking(true).map_err(|e| format!("listener: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("listener: {e}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tds-server")
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let (shutdown, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("tds-server-accept".to_string())
            .spawn(move || runtime.block_on(accept_loop(listener, context, stopped)))
            .map_err(|e| format!("server thread: {e}"))?;
        Ok(TestServer { addr, cert_pem: identity.cert_pem, replay, shutdown: Some(shutdown), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server certificate as PEM, for clients that verify it.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The replay cache (for tests and diagnostics); `None` when replay mode is off.
    pub fn replay_cache(&self) -> Option<&ReplayCache> {
        self.replay.as_deref()
    }

    /// Stops accepting, ends every session and waits for the server thread.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

async fn accept_loop(listener: std::net::TcpListener, context: Arc<ServerContext>, mut stopped: oneshot::Receiver<()>) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("tds-server: listener: {e}");
            return;
        }
    };
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    let context = context.clone();
                    let spid = context.allocate_spid();
                    sessions.spawn(async move { serve_connection(tcp, &context, spid).await });
                }
                Err(e) => eprintln!("tds-server: accept: {e}"),
            },
            Some(finished) = sessions.join_next(), if !sessions.is_empty() => {
                if let Err(e) = finished {
                    eprintln!("tds-server: session task failed: {e}");
                }
            }
        }
    }
    sessions.shutdown().await;
}
