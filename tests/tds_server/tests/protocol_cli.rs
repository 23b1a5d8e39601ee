//! The `tds-server` process contract: bound port alone on the first stdout line, users and
//! certificate from the command line, exit 0 on SIGTERM.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::Client;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tds-server"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tds-server starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("port line within 20 s");
        let port = line.trim_end_matches('\n').parse().unwrap_or_else(|_| panic!("first line is the port: {line:?}"));
        Server { child, port }
    }

    fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// Sends SIGTERM and returns the exit code.
    fn terminate(mut self) -> Option<i32> {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("tds-server did not stop within 5 s of SIGTERM");
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
