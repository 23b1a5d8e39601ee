//! The `tds-server` process contract: bound port alone on the first stdout line, users and
//! certificate from the command line, exit 0 on SIGTERM.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::Client;

/// Generous for a loaded 2-core machine running debug builds: the checks are about what
/// happens, and a hang still fails.
const PORT_LINE_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

extern "C" {
    /// kill(2) from the C library std already links: SIGTERM without a `kill` process whose
    /// start-up would delay the signal.
    fn kill(pid: i32, signal: i32) -> i32;
}
const SIGTERM: i32 = 15;

fn send_sigterm(child: &Child) {
    // SAFETY: kill(2) only reads its two integer arguments.
    let result = unsafe { kill(child.id() as i32, SIGTERM) };
    assert_eq!(result, 0, "kill(2): {}", std::io::Error::last_os_error());
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Server::spawn(args, false)
    }

    /// Starts tds-server; with `sigterm_at_port_line` the thread reading its stdout sends
    /// SIGTERM the instant the port line arrives.
    fn spawn(args: &[&str], sigterm_at_port_line: bool) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tds-server"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tds-server starts");
        let stdout = child.stdout.take().unwrap();
        let pid = child.id() as i32;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            if sigterm_at_port_line && !line.is_empty() {
                // SAFETY: kill(2) only reads its two integer arguments.
                let _ = unsafe { kill(pid, SIGTERM) };
            }
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(PORT_LINE_TIMEOUT) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                panic!("no port line within {PORT_LINE_TIMEOUT:?}: {e}");
            }
        };
        let port = line.trim_end_matches('\n').parse().unwrap_or_else(|_| panic!("first line is the port: {line:?}"));
        Server { child, port }
    }

    fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// Sends SIGTERM and returns the exit code (`None`: killed by a signal).
    fn terminate(self) -> Option<i32> {
        send_sigterm(&self.child);
        self.exit_code()
    }

    /// Waits for the process to end and returns its exit code (`None`: killed by a signal).
    fn exit_code(mut self) -> Option<i32> {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("tds-server did not stop within {EXIT_TIMEOUT:?} of SIGTERM");
    }
}

#[test]
fn prints_the_port_serves_and_exits_zero_on_sigterm() {
    let server = Server::start(&["--port", "0", "--encrypt", "off"]);
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    let tokens = client.login("sa", "FastMssql!Test1", "", 4096);
    assert!(tokens.iter().any(|t| t.ty == 0xAD));
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn users_from_the_command_line_replace_the_default() {
    let server = Server::start(&["--user", "app:pw:with:colons", "--user", "other:x"]);
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    assert!(client.login("app", "pw:with:colons", "", 4096).iter().any(|t| t.ty == 0xAD));
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    assert_eq!(client.login("sa", "FastMssql!Test1", "", 4096)[0].i32_at(0), 18456);
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn generated_certificate_is_written_as_pem() {
    let dir = scratch_dir("generated");
    let cert = dir.join("cert.pem");
    let server = Server::start(&["--write-cert", cert.to_str().unwrap()]);
    let pem = std::fs::read_to_string(&cert).unwrap();
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_bytes()).collect::<Result<_, _>>().unwrap();
    assert_eq!(certs.len(), 1, "{pem}");
    assert_eq!(server.terminate(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn given_certificate_and_key_are_used() {
    let dir = scratch_dir("given");
    let generated = rcgen::generate_simple_self_signed(vec!["db.example".to_string()]).unwrap();
    let (cert, key, written) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("written.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    let server = Server::start(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--write-cert",
        written.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&written).unwrap(), generated.cert.pem());
    assert_eq!(server.terminate(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tds-server-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bad_arguments_exit_with_an_error() {
    for args in [&["--encrypt", "sometimes"][..], &["--user", "nopassword"], &["--cert", "only.pem"], &["--bogus"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_tds-server")).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "no port line for {args:?}");
    }
}

#[test]
fn sigterm_right_after_the_port_line_exits_zero() {
    // The handler must be in place before the port is printed: a SIGTERM sent the instant the
    // line is read otherwise finds the default action now and then (exit by signal, no code).
    let cycles = |_| {
        std::thread::spawn(|| (0..10).map(|_| Server::spawn(&["--port", "0"], true).exit_code()).collect::<Vec<_>>())
    };
    let workers: Vec<_> = (0..4).map(cycles).collect();
    let codes: Vec<Option<i32>> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let failures = codes.iter().filter(|code| **code != Some(0)).count();
    assert_eq!(failures, 0, "{failures} of {} cycles did not exit 0: {codes:?}", codes.len());
}
