//! Faults armed per connection with `sp_fastmssql_fault` (in a batch or as an RPC by name):
//! closing the socket after N bytes or N rows of the next response, delaying it, or answering
//! it with a given error.

mod support;

use std::io::Read;
use std::time::{Duration, Instant};

use support::{all_headers, split_tokens, utf16, Client, Response};
use tds_server::{TestServer, TestServerConfig};

/// Ids far from small integers, so each one's 4 bytes are unique in a response.
const FIRST_ID: i32 = 0x0101_0100;

fn server() -> TestServer {
    TestServer::start(TestServerConfig::default()).expect("server starts")
}

fn batch(client: &mut Client, sql: &str) -> Response {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16(sql));
    client.send(0x01, 0, &payload);
    client.receive()
}

fn final_done_status(payload: &[u8]) -> u16 {
    let done = &payload[payload.len() - 13..];
    assert_eq!(done[0], 0xFD, "response ends with DONE");
    u16::from_le_bytes([done[1], done[2]])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A table of 100 rows with ids FIRST_ID + 0..100.
fn client_with_rows(server: &TestServer) -> Client {
    let mut client = Client::logged_in(server.addr());
    batch(&mut client, "CREATE TABLE t (id int NOT NULL PRIMARY KEY)");
    let values: Vec<String> = (0..100).map(|i| format!("({})", FIRST_ID + i)).collect();
    let inserted = batch(&mut client, &format!("INSERT INTO t VALUES {}", values.join(",")));
    assert_eq!(final_done_status(&inserted.payload), 0x0010);
    client
}

/// Everything the server sends until it closes the connection (or 10 s pass, which fails).
fn read_until_closed(client: &mut Client) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match client.stream.read(&mut buf) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return received,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
}

/// The payload of the packets in `wire` and whether one of them ended the message.
fn unframe(mut wire: &[u8]) -> (Vec<u8>, bool) {
    let mut payload = Vec::new();
    let mut end_of_message = false;
    while wire.len() >= 8 {
        let len = u16::from_be_bytes([wire[2], wire[3]]) as usize;
        end_of_message |= wire[1] & 0x01 != 0;
        payload.extend_from_slice(&wire[8..len.min(wire.len())]);
        wire = &wire[len.min(wire.len())..];
    }
    (payload, end_of_message)
}

/// An RPC by name with named int / nvarchar parameters.
fn rpc_by_name(name: &str, params: &[(&str, Result<i32, &str>)]) -> Vec<u8> {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&(name.len() as u16).to_le_bytes());
    payload.extend_from_slice(&utf16(name));
    payload.extend_from_slice(&[0, 0]);
    for (param, value) in params {
        payload.push(param.len() as u8);
        payload.extend_from_slice(&utf16(param));
        payload.push(0);
        match value {
            Ok(int) => {
                payload.extend_from_slice(&[0x26, 4, 4]);
                payload.extend_from_slice(&int.to_le_bytes());
            }
            Err(text) => {
                payload.extend_from_slice(&[0xE7, 0x40, 0x1F, 0x09, 0x04, 0xD0, 0x00, 0x34]);
                payload.extend_from_slice(&((text.len() * 2) as u16).to_le_bytes());
                payload.extend_from_slice(&utf16(text));
            }
        }
    }
    payload
}

#[test]
fn close_after_rows_sends_exactly_those_rows_then_closes() {
    let server = server();
    let mut client = client_with_rows(&server);
    let armed = batch(&mut client, "EXEC sp_fastmssql_fault @close_after_rows = 10");
    assert_eq!(final_done_status(&armed.payload) & 0x02, 0, "arming succeeds");
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16("SELECT id FROM t ORDER BY id"));
    client.send(0x01, 0, &payload);
    let (received, end_of_message) = unframe(&read_until_closed(&mut client));
    assert!(!end_of_message, "the response never ends");
    for i in 0..10 {
        assert!(contains(&received, &(FIRST_ID + i).to_le_bytes()), "row {i} was sent");
    }
    assert!(!contains(&received, &(FIRST_ID + 10).to_le_bytes()), "row 11 was not sent");
}

#[test]
fn close_after_bytes_sends_exactly_that_many_bytes() {
    let server = server();
    let mut client = client_with_rows(&server);
    batch(&mut client, "exec dbo.sp_fastmssql_fault @close_after_bytes = 100;");
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16("SELECT id FROM t"));
    client.send(0x01, 0, &payload);
    assert_eq!(read_until_closed(&mut client).len(), 100);
}

#[test]
fn a_fault_applies_to_one_connection_and_one_request() {
    let server = server();
    let mut armed = client_with_rows(&server);
    let mut other = Client::logged_in(server.addr());
    batch(&mut armed, "EXEC sp_fastmssql_fault @error = 1205, @message = N'Deadlock victim', @severity = 13");
    let untouched = batch(&mut other, "SELECT COUNT(*) AS n FROM t");
    assert_eq!(final_done_status(&untouched.payload), 0x0010, "another connection is not affected");

    let failed = batch(&mut armed, "SELECT COUNT(*) AS n FROM t");
    let tokens = split_tokens(&failed.payload);
    assert_eq!(tokens[0].ty, 0xAA, "ERROR instead of a result");
    assert_eq!(tokens[0].i32_at(0), 1205);
    assert_eq!(tokens[0].body[5], 13, "severity");
    assert_eq!(tokens[0].message_text(), "Deadlock victim");
    assert_eq!(final_done_status(&failed.payload), 0x0002);

    let next = batch(&mut armed, "SELECT COUNT(*) AS n FROM t");
    assert_eq!(final_done_status(&next.payload), 0x0010, "only the next request fails");
}

#[test]
fn an_injected_error_replaces_execution() {
    let server = server();
    let mut client = client_with_rows(&server);
    batch(&mut client, "EXEC sp_fastmssql_fault @error = 2627");
    let failed = batch(&mut client, "DELETE FROM t");
    assert_eq!(split_tokens(&failed.payload)[0].i32_at(0), 2627);
    let count = batch(&mut client, "SELECT COUNT(*) AS n FROM t");
    assert!(contains(&count.payload, &100i32.to_le_bytes()), "the DELETE never ran");
}

#[test]
fn rpc_by_name_with_named_parameters_arms_a_fault() {
    let server = server();
    let mut client = client_with_rows(&server);
    client.send(0x03, 0, &rpc_by_name("sp_fastmssql_fault", &[("@error", Ok(1205)), ("@message", Err("from an RPC"))]));
    let armed = split_tokens(&client.receive().payload);
    assert_eq!((armed[0].ty, armed[0].i32_at(0)), (0x79, 0), "RETURNSTATUS 0");
    assert_eq!((armed[1].ty, armed[1].u16_at(0)), (0xFE, 0), "DONEPROC");
    let failed = split_tokens(&batch(&mut client, "SELECT 1 AS a").payload);
    assert_eq!((failed[0].i32_at(0), failed[0].message_text().as_str()), (1205, "from an RPC"));
}

#[test]
fn delay_holds_the_next_response_and_attention_cuts_it_short() {
    let server = server();
    let mut client = client_with_rows(&server);
    batch(&mut client, "EXEC sp_fastmssql_fault @delay_ms = 400");
    let started = Instant::now();
    let delayed = batch(&mut client, "SELECT COUNT(*) AS n FROM t");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(final_done_status(&delayed.payload), 0x0010);

    batch(&mut client, "EXEC sp_fastmssql_fault @delay_ms = 10000");
    let started = Instant::now();
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16("DELETE FROM t"));
    client.send(0x01, 0, &payload);
    std::thread::sleep(Duration::from_millis(100));
    client.send(0x06, 0, &[]);
    let cancelled = client.receive();
    assert!(started.elapsed() < Duration::from_secs(5), "the Attention ended the delay");
    assert_eq!(final_done_status(&cancelled.payload), 0x0020, "DONE_ATTN");
    let count = batch(&mut client, "SELECT COUNT(*) AS n FROM t");
    assert!(contains(&count.payload, &100i32.to_le_bytes()), "the cancelled DELETE never ran");
}

#[test]
fn a_bad_call_is_refused_with_an_error_and_arms_nothing() {
    let server = server();
    let mut client = client_with_rows(&server);
    let refused = batch(&mut client, "EXEC sp_fastmssql_fault @close_after_rows = 1, @delay_ms = 5");
    let tokens = split_tokens(&refused.payload);
    assert_eq!(tokens[0].ty, 0xAA);
    assert!(tokens[0].message_text().contains("exactly one of"), "{}", tokens[0].message_text());
    let next = batch(&mut client, "SELECT COUNT(*) AS n FROM t");
    assert_eq!(final_done_status(&next.payload), 0x0010);
}
