//! Replay mode: read-only responses served again byte for byte from the server-wide cache,
//! anything that may write empties it, parameters and SET options are part of the key; and
//! Attention while a long result (executed or replayed) is being streamed.

mod support;

use std::io::Write;

use support::{all_headers, utf16, Client, Response};
use tds_server::{TestServer, TestServerConfig};

fn replay_server() -> TestServer {
    TestServer::start(TestServerConfig { replay: true, ..TestServerConfig::default() }).expect("server starts")
}

fn batch(client: &mut Client, sql: &str) -> Response {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16(sql));
    client.send(0x01, 0, &payload);
    client.receive()
}

/// The status of the response's final DONE token (its last 13 bytes).
fn final_done_status(payload: &[u8]) -> u16 {
    let done = &payload[payload.len() - 13..];
    assert_eq!(done[0], 0xFD, "response ends with DONE");
    u16::from_le_bytes([done[1], done[2]])
}

fn succeeds(client: &mut Client, sql: &str) -> Vec<u8> {
    let response = batch(client, sql);
    assert_eq!(final_done_status(&response.payload) & 0x02, 0, "{sql} failed");
    response.payload
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn cached(server: &TestServer) -> usize {
    server.replay_cache().expect("replay mode").len()
}

/// `rows` rows of (id int, name nvarchar(40)), loaded by multi-row INSERTs.
fn fill(client: &mut Client, table: &str, rows: u32) {
    succeeds(client, &format!("CREATE TABLE {table} (id int NOT NULL PRIMARY KEY, name nvarchar(40))"));
    for start in (1..=rows).step_by(1000) {
        let values: Vec<String> =
            (start..(start + 1000).min(rows + 1)).map(|i| format!("({i}, N'name number {i}')")).collect();
        succeeds(client, &format!("INSERT INTO {table} VALUES {}", values.join(",")));
    }
}

/// An RPC sp_executesql (ProcID 10) of `statement` with one int parameter @P1.
fn sp_executesql(statement: &str, p1: i32) -> Vec<u8> {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&[0xFF, 0xFF, 10, 0, 0, 0]);
    for text in [statement, "@P1 int"] {
        payload.extend_from_slice(&[0, 0, 0xE7, 0x40, 0x1F, 0x09, 0x04, 0xD0, 0x00, 0x34]);
        payload.extend_from_slice(&((text.len() * 2) as u16).to_le_bytes());
        payload.extend_from_slice(&utf16(text));
    }
    payload.push(3);
    payload.extend_from_slice(&utf16("@P1"));
    payload.extend_from_slice(&[0, 0x26, 4, 4]);
    payload.extend_from_slice(&p1.to_le_bytes());
    payload
}

#[test]
fn replay_is_off_by_default() {
    let server = TestServer::start(TestServerConfig::default()).expect("server starts");
    assert!(server.replay_cache().is_none());
}

#[test]
fn a_replayed_response_is_byte_identical_to_the_executed_one() {
    let plain = TestServer::start(TestServerConfig::default()).expect("server starts");
    let replaying = replay_server();
    let mut plain_client = Client::logged_in(plain.addr());
    let mut client = Client::logged_in(replaying.addr());
    fill(&mut plain_client, "t", 3000);
    fill(&mut client, "t", 3000);
    let executed = succeeds(&mut plain_client, "SELECT * FROM t");
    let first = succeeds(&mut client, "SELECT * FROM t");
    assert_eq!(cached(&replaying), 1, "the first SELECT is cached");
    let replayed = succeeds(&mut client, "SELECT * FROM t");
    assert!(contains(&replayed, &utf16("name number 2999")));
    assert_eq!(first, executed, "caching does not change the response");
    assert_eq!(replayed, executed, "the replay is the same bytes");

    let mut other_session = Client::logged_in(replaying.addr());
    assert_eq!(succeeds(&mut other_session, "SELECT * FROM t"), executed, "the cache is server-wide");
}

#[test]
fn anything_that_may_write_empties_the_cache_for_every_session() {
    let server = replay_server();
    let mut reader = Client::logged_in(server.addr());
    let mut writer = Client::logged_in(server.addr());
    fill(&mut writer, "t", 3);
    let select = "SELECT id, name FROM t ORDER BY id";
    let writes: [(&str, Option<&str>); 7] = [
        ("INSERT INTO t VALUES (4, N'fourth')", Some("fourth")),
        ("UPDATE t SET name = N'updated' WHERE id = 1", Some("updated")),
        ("DELETE FROM t WHERE id = 2", None),
        ("CREATE TABLE other (a int)", None),
        ("DROP TABLE other", None),
        ("BEGIN TRAN; UPDATE t SET name = N'in a transaction' WHERE id = 3; COMMIT", Some("in a transaction")),
        ("EXEC sp_who", None),
    ];
    for (write, visible) in writes {
        succeeds(&mut reader, select);
        assert_eq!(cached(&server), 1, "{select} is cached before {write}");
        batch(&mut writer, write);
        assert_eq!(cached(&server), 0, "{write} empties the cache");
        let after = succeeds(&mut reader, select);
        if let Some(text) = visible {
            assert!(contains(&after, &utf16(text)), "the next SELECT sees {text}");
        }
    }
    assert!(!contains(&succeeds(&mut reader, select), &utf16("name number 2")), "the DELETE is seen");
}

#[test]
fn session_state_is_part_of_the_key_and_setting_it_keeps_the_cache() {
    let server = replay_server();
    let mut client = Client::logged_in(server.addr());
    fill(&mut client, "t", 3);
    let counted = succeeds(&mut client, "SELECT id FROM t");
    assert_eq!(final_done_status(&counted), 0x0010, "DONE_COUNT");
    succeeds(&mut client, "SET NOCOUNT ON");
    assert_eq!(cached(&server), 1, "SET writes nothing shared");
    let uncounted = succeeds(&mut client, "SELECT id FROM t");
    assert_eq!(final_done_status(&uncounted), 0x0000, "NOCOUNT is honoured, not replayed from the other key");
    assert_eq!(cached(&server), 2);
}

#[test]
fn rpc_parameters_are_part_of_the_key() {
    let server = replay_server();
    let mut client = Client::logged_in(server.addr());
    fill(&mut client, "t", 3);
    let statement = "SELECT name FROM t WHERE id = @P1";
    let mut results = Vec::new();
    for p1 in [1, 2, 1, 2] {
        client.send(0x03, 0, &sp_executesql(statement, p1));
        results.push(client.receive().payload);
    }
    assert!(contains(&results[0], &utf16("name number 1")) && !contains(&results[0], &utf16("name number 2")));
    assert!(contains(&results[1], &utf16("name number 2")) && !contains(&results[1], &utf16("name number 1")));
    assert_eq!(results[2], results[0]);
    assert_eq!(results[3], results[1]);
    assert_eq!(cached(&server), 2);
}

#[test]
fn failing_volatile_and_transactional_reads_are_not_cached() {
    let server = replay_server();
    let mut client = Client::logged_in(server.addr());
    fill(&mut client, "t", 3);
    let missing = batch(&mut client, "SELECT * FROM missing_table");
    assert_eq!(final_done_status(&missing.payload) & 0x02, 0x02, "208 invalid object");
    succeeds(&mut client, "SELECT NEWID() AS g");
    assert!(server.replay_cache().expect("replay mode").is_empty(), "neither an error nor NEWID() is cached");

    succeeds(&mut client, "BEGIN TRAN");
    succeeds(&mut client, "SELECT * FROM t");
    assert_eq!(cached(&server), 0, "not while a transaction is open");
    succeeds(&mut client, "ROLLBACK");
}

#[test]
fn attention_stops_an_executed_result_being_streamed() {
    for replay in [false, true] {
        let server = TestServer::start(TestServerConfig { replay, ..TestServerConfig::default() }).expect("server");
        let mut client = Client::logged_in(server.addr());
        fill(&mut client, "t", 20_000);
        let full = succeeds(&mut client, "SELECT * FROM t");
        // The Attention arrives with the request, so the server finds it at its first check,
        // after the first chunk of the result.
        let mut payload = all_headers(0);
        payload.extend_from_slice(&utf16("SELECT * FROM t"));
        let mut packets = vec![0x01, 0x01];
        packets.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
        packets.extend_from_slice(&[0, 0, 1, 0]);
        packets.extend_from_slice(&payload);
        packets.extend_from_slice(&[0x06, 0x01, 0, 8, 0, 0, 1, 0]);
        client.stream.write_all(&packets).unwrap();
        let cancelled = client.receive();
        assert_eq!(final_done_status(&cancelled.payload), 0x0020, "DONE_ATTN ends the response (replay {replay})");
        assert!(cancelled.payload.len() < full.len() / 2, "the result was cut short (replay {replay})");
        assert!(contains(&cancelled.payload, &utf16("name number 1")), "the first rows were sent");

        let after = succeeds(&mut client, "SELECT COUNT(*) AS n FROM t");
        assert_eq!(final_done_status(&after), 0x0010, "the session answers the next request normally");
        assert!(contains(&after, &20_000i32.to_le_bytes()));
    }
}

#[test]
fn the_binary_accepts_the_replay_flag_and_a_write_ends_a_replayed_answer() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_tds-server"))
        .args(["--port", "0", "--replay"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("tds-server starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(60));
    let port: Option<u16> = line.as_deref().ok().and_then(|l| l.trim().parse().ok());
    let Some(port) = port else {
        let _ = child.kill();
        panic!("no port line: {line:?}");
    };
    let mut client = Client::logged_in(([127, 0, 0, 1], port).into());
    fill(&mut client, "t", 2);
    let select = "SELECT name FROM t ORDER BY id";
    assert_eq!(succeeds(&mut client, select), succeeds(&mut client, select));
    succeeds(&mut client, "UPDATE t SET name = N'changed' WHERE id = 2");
    let after = succeeds(&mut client, select);
    child.kill().expect("stop tds-server");
    let _ = child.wait();
    assert!(contains(&after, &utf16("changed")), "the replayed SELECT is invalidated by the UPDATE");
}
