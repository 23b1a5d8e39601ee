//! Locks between connections of a running server: a waiting request does not hold up the
//! others, and a transaction that a connection leaves open is rolled back when the
//! connection closes or is reset (RESETCONNECTION), releasing its locks.

mod support;

use std::time::Duration;

use support::{all_headers, split_tokens, utf16, Client};
use tds_server::{TestServer, TestServerConfig};

fn server() -> TestServer {
    TestServer::start(TestServerConfig::default()).expect("server starts")
}

fn send_batch(client: &mut Client, status: u8, sql: &str) {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16(sql));
    client.send(0x01, status, &payload);
}

/// The error numbers of the response to the batch sent last.
fn errors(client: &mut Client) -> Vec<i32> {
    let tokens = split_tokens(&client.receive().payload);
    tokens.iter().filter(|t| t.ty == 0xAA).map(|t| t.i32_at(0)).collect()
}

fn run(client: &mut Client, sql: &str) -> Vec<i32> {
    send_batch(client, 0, sql);
    errors(client)
}

/// The row count of a batch's final DONE.
fn row_count(client: &mut Client, sql: &str) -> u64 {
    send_batch(client, 0, sql);
    let tokens = split_tokens(&client.receive().payload);
    let done = tokens.last().expect("a DONE");
    assert_eq!(done.ty, 0xFD);
    u64::from_le_bytes(done.body[4..12].try_into().unwrap())
}

/// Whether the server has begun to answer within `wait`.
fn answered_within(client: &mut Client, wait: Duration) -> bool {
    client.stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    let answered = client.stream.peek(&mut byte).is_ok();
    client.stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    answered
}

fn setup(server: &TestServer) -> Client {
    let mut client = Client::logged_in(server.addr());
    assert_eq!(
        run(&mut client, "CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 10), (2, 20)"),
        []
    );
    client
}

#[test]
fn a_request_waiting_for_a_lock_holds_up_no_other_connection() {
    let server = server();
    let mut holder = setup(&server);
    let mut waiters: Vec<Client> = (0..3).map(|_| Client::logged_in(server.addr())).collect();
    let mut other = Client::logged_in(server.addr());
    assert_eq!(run(&mut holder, "BEGIN TRAN; UPDATE t SET v = 11 WHERE id = 1"), []);
    // more waiters than the server's runtime has worker threads
    for waiter in &mut waiters {
        send_batch(waiter, 0, "SET LOCK_TIMEOUT 10000; UPDATE t SET v = v + 1 WHERE id = 1");
    }
    assert!(!answered_within(&mut waiters[0], Duration::from_millis(150)));
    assert_eq!(run(&mut other, "SET LOCK_TIMEOUT 0; UPDATE t SET v = 21 WHERE id = 2"), []);
    assert_eq!(run(&mut holder, "COMMIT"), []);
    for waiter in &mut waiters {
        assert_eq!(errors(waiter), []);
    }
}

#[test]
fn closing_a_connection_rolls_its_transaction_back() {
    let server = server();
    let mut other = setup(&server);
    let mut leaving = Client::logged_in(server.addr());
    assert_eq!(run(&mut leaving, "BEGIN TRAN; UPDATE t SET v = 11 WHERE id = 1; INSERT INTO t VALUES (3, 30)"), []);
    send_batch(&mut other, 0, "SET LOCK_TIMEOUT 10000; UPDATE t SET v = v + 1 WHERE id = 1");
    assert!(!answered_within(&mut other, Duration::from_millis(150)));
    drop(leaving);
    assert_eq!(errors(&mut other), []);
    assert_eq!(row_count(&mut other, "UPDATE t SET v = v WHERE id = 1 AND v = 11"), 1, "10 + 1: 11 was rolled back");
    assert_eq!(row_count(&mut other, "UPDATE t SET v = v WHERE id = 3"), 0, "the insert was rolled back");
}

#[test]
fn resetting_a_connection_rolls_its_transaction_back_and_releases_its_locks() {
    let server = server();
    let mut other = setup(&server);
    let mut pooled = Client::logged_in(server.addr());
    assert_eq!(run(&mut pooled, "BEGIN TRAN; UPDATE t SET v = 11 WHERE id = 1"), []);
    assert_eq!(run(&mut other, "SET LOCK_TIMEOUT 0; UPDATE t SET v = 12 WHERE id = 1"), [1222]);
    // the next use of the pooled connection resets it first (status 0x08)
    send_batch(&mut pooled, 0x08, "DECLARE @unused INT");
    assert_eq!(errors(&mut pooled), []);
    assert_eq!(run(&mut other, "SET LOCK_TIMEOUT 0; UPDATE t SET v = v + 2 WHERE id = 1"), []);
    assert_eq!(
        row_count(&mut other, "UPDATE t SET v = v WHERE id = 1 AND v = 12"),
        1,
        "10 + 2: the reset rolled 11 back"
    );
}
