//! Request decoding and the session loop without the SQL engine: RPC batches, transaction
//! manager requests, Attention, RESETCONNECTION, packet framing, and robustness against
//! malformed input and clients that disappear.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use support::{all_headers, split_tokens, utf16, Client, Token};
use tds_server::engine::RpcTarget;
use tds_server::packet::{frame_message, MessageAssembler, PacketHeader, PacketType};
use tds_server::request::parse_rpc;
use tds_server::types::SqlType;
use tds_server::value::Value;
use tds_server::{TestServer, TestServerConfig};

fn server() -> TestServer {
    TestServer::start(TestServerConfig::default()).expect("server starts")
}

/// NVARCHAR(4000) parameter: TYPE_INFO with collation, then a USHORT-length value.
fn nvarchar_param(out: &mut Vec<u8>, name: &str, text: &str) {
    out.push(name.encode_utf16().count() as u8);
    out.extend_from_slice(&utf16(name));
    out.push(0); // StatusFlags
    out.extend_from_slice(&[0xE7, 0x40, 0x1F, 0x09, 0x04, 0xD0, 0x00, 0x34]);
    let value = utf16(text);
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(&value);
}

/// INTN(4) parameter.
fn int_param(out: &mut Vec<u8>, name: &str, status: u8, value: i32) {
    out.push(name.encode_utf16().count() as u8);
    out.extend_from_slice(&utf16(name));
    out.push(status);
    out.extend_from_slice(&[0x26, 4, 4]);
    out.extend_from_slice(&value.to_le_bytes());
}

#[test]
fn batched_rpcs_by_proc_id_and_by_name() {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&[0xFF, 0xFF, 10, 0, 0, 0]); // ProcID 10 = sp_executesql, OptionFlags 0
    nvarchar_param(&mut payload, "", "SELECT @P1");
    nvarchar_param(&mut payload, "", "@P1 int");
    int_param(&mut payload, "@P1", 0, 42);
    payload.push(0xFF); // BatchFlag
    payload.extend_from_slice(&(12u16).to_le_bytes());
    payload.extend_from_slice(&utf16("sp_unprepare"));
    payload.extend_from_slice(&[0, 0]);
    int_param(&mut payload, "@handle", 0x01, 7);
    let rpc = parse_rpc(&payload).unwrap();
    assert_eq!(rpc.headers.transaction_descriptor, Some(0));
    assert_eq!(rpc.requests.len(), 2);
    let first = &rpc.requests[0];
    assert!(matches!(first.target, RpcTarget::ProcId(10)));
    let names: Vec<&str> = first.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["", "", "@P1"]);
    assert_eq!(first.params[0].ty, SqlType::NVarChar(Some(4000)));
    assert_eq!(first.params[0].value, Value::Str("SELECT @P1".into()));
    assert_eq!(first.params[1].value, Value::Str("@P1 int".into()));
    assert_eq!(first.params[2].ty, SqlType::Int);
    assert_eq!(first.params[2].value, Value::Int(42));
    let second = &rpc.requests[1];
    assert!(matches!(&second.target, RpcTarget::Name(n) if n == "sp_unprepare"));
    assert_eq!(second.params[0].status, 0x01, "fByRefValue");
    assert_eq!(second.params[0].value, Value::Int(7));
}

#[test]
fn every_rpc_of_a_batch_but_the_last_ends_with_done_rpcinbatch() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let mut payload = all_headers(0);
    for index in 0..3 {
        if index > 0 {
            payload.push(0xFF); // BatchFlag
        }
        payload.extend_from_slice(&[0xFF, 0xFF, 10, 0, 0, 0]); // sp_executesql
        nvarchar_param(&mut payload, "", "SET NOCOUNT ON");
    }
    let tokens = request(&mut client, 0x03, 0, &payload);
    let doneproc_statuses: Vec<u16> = tokens.iter().filter(|t| t.ty == 0xFE).map(|t| t.u16_at(0)).collect();
    // As SQL Server answers two batched RPCs (real-sqlserver-2009-tds72.pcap frame 16): DONE_MORE |
    // DONE_RPCINBATCH on all but the last, whose DONEPROC is DONE_FINAL.
    assert_eq!(doneproc_statuses, [0x81, 0x81, 0x00], "{tokens:?}");
}

/// sp_executesql of `SELECT @P1` with `@P1` declared as `declaration`, of TYPE_INFO `type_info`
/// and value bytes `value` (its length prefix included).
fn select_parameter(declaration: &str, type_info: &[u8], value: &[u8]) -> Vec<u8> {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&[0xFF, 0xFF, 10, 0, 0, 0]); // sp_executesql
    nvarchar_param(&mut payload, "", "SELECT @P1");
    nvarchar_param(&mut payload, "", &format!("@P1 {declaration}"));
    payload.push(3);
    payload.extend_from_slice(&utf16("@P1"));
    payload.push(0); // StatusFlags
    payload.extend_from_slice(type_info);
    payload.extend_from_slice(value);
    payload
}

#[test]
fn invalid_parameter_values_are_refused_with_8023() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let float = |f: f64| [&[8u8][..], &f.to_le_bytes()].concat();
    let cases = [
        ("float", vec![0x6D, 8], float(f64::NAN)),
        ("float", vec![0x6D, 8], float(f64::INFINITY)),
        ("float", vec![0x6D, 8], float(f64::NEG_INFINITY)),
        ("real", vec![0x6D, 4], [&[4u8][..], &f32::NAN.to_le_bytes()].concat()),
        // 9999-12-31 is day 3652058 of the date type
        ("date", vec![0x28], vec![3, 0xDB, 0xB9, 0x37]),
        // a time of day of 24:00:00 (scale 0: 86400 seconds)
        ("time(0)", vec![0x29, 0], vec![3, 0x80, 0x51, 0x01]),
        // datetime's day 2958464 is 10000-01-01
        ("datetime", vec![0x6F, 8], [&[8u8][..], &2_958_464i32.to_le_bytes(), &[0; 4]].concat()),
        // 1000.00 in decimal(5,2): six digits
        ("decimal(5,2)", vec![0x6A, 5, 5, 2], [&[5u8, 1][..], &100_000u32.to_le_bytes()].concat()),
    ];
    for (declaration, type_info, value) in cases {
        let tokens = request(&mut client, 0x03, 0, &select_parameter(declaration, &type_info, &value));
        assert_eq!((tokens[0].ty, tokens[0].i32_at(0), tokens[0].body[5]), (0xAA, 8023, 16), "{declaration}");
        let type_name = declaration.split('(').next().unwrap();
        // The message of 8023 in sys.messages, for the third parameter of the call (after @stmt and @params).
        let expected = format!(
            "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. \
             Parameter 3 (\"@P1\"): The supplied value is not a valid instance of data type {type_name}. Check the \
             source data for invalid values. An example of an invalid value is data of numeric type with scale \
             greater than precision."
        );
        assert_eq!(tokens[0].message_text(), expected);
    }
    // The largest values of the types are accepted, and the session goes on.
    for (declaration, type_info, value) in [
        ("float", vec![0x6D, 8], float(f64::MAX)),
        ("date", vec![0x28], vec![3, 0xDA, 0xB9, 0x37]),
        ("decimal(5,2)", vec![0x6A, 5, 5, 2], [&[5u8, 1][..], &99_999u32.to_le_bytes()].concat()),
    ] {
        client.send(0x03, 0, &select_parameter(declaration, &type_info, &value));
        assert_eq!(client.receive().payload[0], 0x81, "{declaration}: a result (COLMETADATA), not an ERROR");
    }
}

#[test]
fn truncated_rpc_is_a_decoding_error() {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&[0xFF, 0xFF, 10, 0, 0, 0]);
    int_param(&mut payload, "@P1", 0, 42);
    payload.truncate(payload.len() - 2);
    assert!(parse_rpc(&payload).is_err());
}

#[test]
fn messages_split_at_the_packet_size_and_reassemble() {
    let payload: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let mut wire = Vec::new();
    frame_message(&mut wire, PacketType::TabularResult, 57, 512, &payload);
    let mut assembler = MessageAssembler::default();
    let mut rest = wire.as_slice();
    let mut packets = Vec::new();
    let mut message = None;
    while !rest.is_empty() {
        let header = PacketHeader::parse(rest).unwrap();
        let len = header.length as usize;
        packets.push(header);
        message = assembler.push(&header, &rest[8..len], 1 << 20).unwrap();
        rest = &rest[len..];
    }
    // 504 data bytes per packet: 19 full packets and one of 424 bytes.
    assert_eq!(packets.len(), 20);
    assert!(packets[..19].iter().all(|h| h.length == 512 && h.status == 0));
    assert_eq!((packets[19].length, packets[19].status), (432, 0x01));
    assert!(packets.iter().enumerate().all(|(i, h)| h.packet_id == (i + 1) as u8 && h.spid == 57));
    assert_eq!(message.unwrap().payload, payload);
}

#[test]
fn ignore_bit_discards_the_message() {
    let mut assembler = MessageAssembler::default();
    let first = PacketHeader::parse(&[0x01, 0x00, 0, 10, 0, 0, 1, 0]).unwrap();
    let last = PacketHeader::parse(&[0x01, 0x03, 0, 10, 0, 0, 2, 0]).unwrap();
    assert_eq!(assembler.push(&first, &[1, 2], 100).unwrap(), None);
    assert_eq!(assembler.push(&last, &[3, 4], 100).unwrap(), None);
    let next = PacketHeader::parse(&[0x06, 0x01, 0, 8, 0, 0, 1, 0]).unwrap();
    assert_eq!(assembler.push(&next, &[], 100).unwrap().unwrap().ty, PacketType::Attention);
}

fn transaction_request(descriptor: u64, request_type: u16, rest: &[u8]) -> Vec<u8> {
    let mut payload = all_headers(descriptor);
    payload.extend_from_slice(&request_type.to_le_bytes());
    payload.extend_from_slice(rest);
    payload
}

fn request(client: &mut Client, ty: u8, status: u8, payload: &[u8]) -> Vec<Token> {
    client.send(ty, status, payload);
    split_tokens(&client.receive().payload)
}

/// Descriptor of an ENVCHANGE 8 (new value) or 9/10 (old value).
fn transaction_envchange(token: &Token) -> (u8, u64) {
    assert_eq!(token.ty, 0xE3);
    let body = &token.body;
    let value = if body[0] == 8 { &body[2..10] } else { &body[3..11] };
    (body[0], u64::from_le_bytes(value.try_into().unwrap()))
}

#[test]
fn transaction_manager_begin_commit_rollback() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let begin = request(&mut client, 0x0E, 0, &transaction_request(0, 5, &[0, 0]));
    assert_eq!(begin.len(), 2);
    let (kind, descriptor) = transaction_envchange(&begin[0]);
    assert_eq!(kind, 8);
    assert_ne!(descriptor, 0);
    assert_eq!(begin[0].body[1], 8, "new value: 8 bytes");
    assert_eq!(begin[1].body, [0u8; 12], "final DONE");

    let commit = request(&mut client, 0x0E, 0, &transaction_request(descriptor, 7, &[0, 0]));
    assert_eq!(transaction_envchange(&commit[0]), (9, descriptor));
    assert_eq!(commit[0].body[1], 0, "commit: empty new value");

    let again = request(&mut client, 0x0E, 0, &transaction_request(0, 5, &[0, 0]));
    let (_, second) = transaction_envchange(&again[0]);
    assert_ne!(second, descriptor, "every transaction gets its own descriptor");
    let rollback = request(&mut client, 0x0E, 0, &transaction_request(second, 8, &[0, 0]));
    assert_eq!(transaction_envchange(&rollback[0]), (10, second));

    let stray = request(&mut client, 0x0E, 0, &transaction_request(0, 7, &[0, 0]));
    assert_eq!(stray[0].ty, 0xAA);
    assert_eq!(stray[0].i32_at(0), 3902);
    assert_eq!(stray[1].u16_at(0), 0x0002, "DONE_ERROR");
}

#[test]
fn commit_with_begin_after_opens_the_next_transaction() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let begin = request(&mut client, 0x0E, 0, &transaction_request(0, 5, &[0, 0]));
    let (_, first) = transaction_envchange(&begin[0]);
    // XACT_NAME empty, fBeginXact, ISOLATION_LEVEL 2, BEGIN_XACT_NAME empty.
    let tokens = request(&mut client, 0x0E, 0, &transaction_request(first, 7, &[0, 1, 2, 0]));
    assert_eq!(transaction_envchange(&tokens[0]), (9, first));
    let (kind, next) = transaction_envchange(&tokens[1]);
    assert_eq!(kind, 8);
    assert_ne!(next, first);
}

#[test]
fn foreign_transaction_descriptor_is_rejected() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let tokens = request(&mut client, 0x0E, 0, &transaction_request(0xDEAD, 5, &[0, 0]));
    assert_eq!(tokens[0].i32_at(0), 3910);
}

#[test]
fn attention_when_idle_is_answered_with_done_attn() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let tokens = request(&mut client, 0x06, 0, &[]);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].ty, 0xFD);
    assert_eq!(tokens[0].u16_at(0), 0x0020);
}

#[test]
fn reset_connection_is_acknowledged_and_ends_the_transaction() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let begin = request(&mut client, 0x0E, 0, &transaction_request(0, 5, &[0, 0]));
    assert_eq!(transaction_envchange(&begin[0]).0, 8);
    // RESETCONNECTION on a commit request: the reset runs first, so nothing is left to commit.
    let tokens = request(&mut client, 0x0E, 0x08, &transaction_request(0, 7, &[0, 0]));
    assert_eq!(tokens[0].ty, 0xE3);
    assert_eq!(tokens[0].body, [18, 0, 0], "ENVCHANGE 18 acknowledges the reset");
    assert_eq!(tokens[1].i32_at(0), 3902);
}

#[test]
fn reset_connection_skip_tran_keeps_the_transaction() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    let begin = request(&mut client, 0x0E, 0, &transaction_request(0, 5, &[0, 0]));
    let (_, descriptor) = transaction_envchange(&begin[0]);
    let tokens = request(&mut client, 0x0E, 0x10, &transaction_request(descriptor, 7, &[0, 0]));
    assert_eq!(tokens[0].body, [18, 0, 0]);
    assert_eq!(transaction_envchange(&tokens[1]), (9, descriptor));
}

#[test]
fn malformed_request_gets_an_error_and_the_session_continues() {
    let server = server();
    let mut client = Client::logged_in(server.addr());
    // ALL_HEADERS claims 200 bytes that are not there.
    let tokens = request(&mut client, 0x01, 0, &[200, 0, 0, 0, 18, 0, 0, 0]);
    assert_eq!(tokens[0].ty, 0xAA);
    assert_eq!(tokens[0].i32_at(0), 4002);
    assert!(tokens[0].message_text().contains("protocol stream is incorrect"));
    assert_eq!(tokens[1].u16_at(0), 0x0002);
    // SSPI after login (BulkLoad, 0x07, is served since INSERT BULK is)
    let unsupported = request(&mut client, 0x11, 0, &[1, 2, 3]);
    assert!(unsupported[0].message_text().contains("not supported by the local test server"));
    assert_eq!(request(&mut client, 0x06, 0, &[])[0].u16_at(0), 0x0020, "still usable");
}

#[test]
fn broken_connections_do_not_affect_other_sessions() {
    let server = server();
    let mut healthy = Client::logged_in(server.addr());

    // A packet header whose length is shorter than the header itself.
    let mut garbage = Client::connect(server.addr());
    garbage.stream.write_all(&[0x12, 0x01, 0x00, 0x04, 0, 0, 1, 0]).unwrap();
    assert!(garbage.is_closed_by_server());

    // A TLS handshake record (where a TDS 8.0 client starts) holding no ClientHello.
    let mut noise = Client::connect(server.addr());
    noise.stream.write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0xFF, 0x00, 0x00, 0x00]).unwrap();
    let mut answer = Vec::new();
    noise.stream.read_to_end(&mut answer).expect("the server closes the connection");
    assert_eq!(answer.first(), Some(&0x15), "a TLS alert record, then the end: {answer:02X?}");

    // A client that sends half of a two-packet request and disappears.
    let mut quitter = Client::logged_in(server.addr());
    quitter.stream.write_all(&[0x01, 0x00, 0x00, 0x10, 0, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    drop(quitter);

    // A client that disconnects in the middle of the TLS handshake.
    let mut tls_quitter = Client::connect(server.addr());
    assert_eq!(tls_quitter.prelogin(0x01), 0x01);
    tls_quitter.send(0x12, 0, &[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00]);
    drop(tls_quitter);

    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(request(&mut healthy, 0x06, 0, &[])[0].u16_at(0), 0x0020);
    let _fresh = Client::logged_in(server.addr());
}
