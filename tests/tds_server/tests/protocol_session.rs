//! The session loop with the engine behind it: multi-packet requests and responses at a
//! negotiated packet size, and Attention while a `WAITFOR DELAY` is being waited out.

mod support;

use std::time::{Duration, Instant};

use support::{all_headers, utf16, Client};
use tds_server::{TestServer, TestServerConfig};

fn server() -> TestServer {
    TestServer::start(TestServerConfig::default()).expect("server starts")
}

fn sql_batch(text: &str) -> Vec<u8> {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16(text));
    payload
}

/// Status of the final DONE token, which ends every response (12 bytes after 0xFD).
fn final_done_status(payload: &[u8]) -> u16 {
    let done = &payload[payload.len() - 13..];
    assert_eq!(done[0], 0xFD, "response ends with DONE");
    u16::from_le_bytes([done[1], done[2]])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn large_request_and_response_span_packets_of_the_negotiated_size() {
    let server = server();
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    client.login("sa", "FastMssql!Test1", "", 512);
    client.packet_size = 512;
    let text: String = (0..6000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    client.send(0x01, 0, &sql_batch(&format!("SELECT CAST(N'{text}' AS nvarchar(max)) AS v")));
    let response = client.receive();
    let count = response.lengths.len();
    assert!(count > 20, "12 KB of UTF-16 needs many 512-byte packets, got {count}");
    assert!(response.lengths[..count - 1].iter().all(|&len| len == 512));
    assert!(response.statuses[..count - 1].iter().all(|&s| s == 0) && response.statuses[count - 1] == 0x01);
    assert!(find(&response.payload, &utf16(&text[..3000])).is_some(), "value is in the response");
    assert_eq!(final_done_status(&response.payload) & 0x01, 0, "last DONE has no DONE_MORE");
}

#[test]
fn attention_interrupts_waitfor_and_the_session_stays_usable() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let started = Instant::now();
    client.send(0x01, 0, &sql_batch("SELECT 1 AS first_set; WAITFOR DELAY '00:00:05'; SELECT 2 AS third_set"));
    std::thread::sleep(Duration::from_millis(300));
    client.send(0x06, 0, &[]);
    let response = client.receive();
    assert!(started.elapsed() < Duration::from_secs(3), "attention cut the delay short");
    assert_eq!(final_done_status(&response.payload), 0x0020, "DONE_ATTN ends the response");
    assert!(find(&response.payload, &utf16("first_set")).is_some(), "first result set was sent");
    assert!(find(&response.payload, &utf16("third_set")).is_none(), "third statement never ran");

    client.send(0x01, 0, &sql_batch("SELECT 3 AS c"));
    let after = client.receive();
    assert_eq!(final_done_status(&after.payload), 0x0010, "DONE_COUNT of a normal result");
}

#[test]
fn waitfor_without_attention_completes() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let started = Instant::now();
    client.send(0x01, 0, &sql_batch("WAITFOR DELAY '00:00:00.300'; SELECT 1 AS a"));
    let response = client.receive();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(final_done_status(&response.payload), 0x0010);
}

#[test]
fn unsupported_sql_is_an_error_not_a_dropped_connection() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    client.send(0x01, 0, &sql_batch("SELECT SOUNDEX('a')"));
    let response = client.receive();
    assert_eq!(response.payload[0], 0xAA, "ERROR token");
    assert!(find(&response.payload, &utf16("not supported by the local test server")).is_some());
    assert_eq!(final_done_status(&response.payload) & 0x0002, 0x0002, "DONE_ERROR");
    client.send(0x01, 0, &sql_batch("SELECT 1 AS a"));
    assert_eq!(final_done_status(&client.receive().payload), 0x0010);
}
