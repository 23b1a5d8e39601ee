//! Each TestServer has its own database of tables, which all of its connections share.

mod support;

use support::{all_headers, split_tokens, utf16, Client};
use tds_server::{TestServer, TestServerConfig};

fn server() -> TestServer {
    TestServer::start(TestServerConfig::default()).expect("server starts")
}

/// The error numbers and final DONE row count of a batch that returns no result set.
fn run(client: &mut Client, sql: &str) -> (Vec<i32>, u64) {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&utf16(sql));
    client.send(0x01, 0, &payload);
    let tokens = split_tokens(&client.receive().payload);
    let errors = tokens.iter().filter(|t| t.ty == 0xAA).map(|t| t.i32_at(0)).collect();
    let done = tokens.last().expect("a DONE");
    assert_eq!(done.ty, 0xFD);
    (errors, u64::from_le_bytes(done.body[4..12].try_into().unwrap()))
}

#[test]
fn connections_of_a_server_share_its_tables_and_servers_do_not() {
    let first = server();
    let second = server();
    let mut a = Client::logged_in(first.addr());
    let mut b = Client::logged_in(first.addr());
    let mut other = Client::logged_in(second.addr());
    assert_eq!(run(&mut a, "CREATE TABLE per_server (k INT)"), (vec![], 0));
    assert_eq!(run(&mut a, "INSERT INTO per_server VALUES (1), (2)"), (vec![], 2));
    assert_eq!(run(&mut b, "DELETE FROM per_server WHERE k = 2"), (vec![], 1));
    assert_eq!(run(&mut other, "INSERT INTO per_server VALUES (3)"), (vec![208], 0));
    // the same name is free on the other server
    assert_eq!(run(&mut other, "CREATE TABLE per_server (k INT)"), (vec![], 0));
}
