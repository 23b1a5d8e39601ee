//! `tds-server`: the local TDS test server as a process. Prints the bound port alone on
//! its first stdout line and exits 0 on SIGTERM or SIGINT.

use std::io::Write;
use std::process::ExitCode;

use tokio::signal::unix::{signal, SignalKind};

use tds_server::prelogin::EncryptMode;
use tds_server::server::{TestServer, TestServerConfig};
use tds_server::tls;

// Faster than glibc malloc for the many small values a bulk load allocates and frees.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: tds-server [--host 127.0.0.1] [--port 0] [--encrypt off|on|required] \
[--cert PEM --key PEM] [--write-cert PATH] [--user NAME:PASSWORD ...] [--replay]";

struct Options {
    config: TestServerConfig,
    write_cert: Option<String>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut config = TestServerConfig::default();
    let mut users = Vec::new();
    let mut cert = None;
    let mut key = None;
    let mut write_cert = None;
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--host" => config.host = value()?,
            "--port" => config.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--encrypt" => {
                config.encrypt = match value()?.as_str() {
                    "off" => EncryptMode::Off,
                    "on" | "required" => EncryptMode::On,
                    other => return Err(format!("--encrypt must be off, on or required, not {other:?}")),
                }
            }
            "--cert" => cert = Some(value()?),
            "--key" => key = Some(value()?),
            "--write-cert" => write_cert = Some(value()?),
            "--user" => {
                let spec = value()?;
                let (name, password) =
                    spec.split_once(':').ok_or_else(|| format!("--user expects NAME:PASSWORD, got {spec:?}"))?;
                users.push((name.to_string(), password.to_string()));
            }
            "--replay" => config.replay = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if !users.is_empty() {
        config.users = users;
    }
    config.identity = match (cert, key) {
        (Some(cert), Some(key)) => Some(tls::load_pem(&cert, &key)?),
        (None, None) => None,
        _ => return Err("--cert and --key go together".to_string()),
    };
    Ok(Options { config, write_cert })
}

fn run() -> Result<(), String> {
    let options = parse_args(std::env::args().skip(1))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    // Handlers go in before the port line: from that line on, SIGTERM must stop the server
    // cleanly, never find the default action (death by signal).
    let (mut terminate, mut interrupt) = {
        let _context = runtime.enter();
        let handler = |kind: SignalKind, name: &str| signal(kind).map_err(|e| format!("{name} handler: {e}"));
        (handler(SignalKind::terminate(), "SIGTERM")?, handler(SignalKind::interrupt(), "SIGINT")?)
    };
    let server = TestServer::start(options.config)?;
    if let Some(path) = &options.write_cert {
        std::fs::write(path, server.certificate_pem()).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", server.addr().port()).and_then(|_| stdout.flush()).map_err(|e| format!("stdout: {e}"))?;

    runtime.block_on(async {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    });
    server.stop();
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tds-server: {e}");
            ExitCode::from(2)
        }
    }
}
