//! The server's decoders parse the client messages of MS-TDS section 4 (bytes copied from
//! the spec into tests/fixtures); expected field values are read off the spec's annotations.

mod support;

use support::fixture;
use tds_server::engine::RpcTarget;
use tds_server::login7;
use tds_server::packet::{MessageAssembler, PacketHeader, PacketType};
use tds_server::prelogin;
use tds_server::request::{self, TransactionRequest};
use tds_server::types::SqlType;
use tds_server::value::Value;

/// Header fields and the reassembled message of a single-packet example.
fn single_packet_message(bytes: &[u8]) -> (PacketHeader, tds_server::packet::Message) {
    let header = PacketHeader::parse(bytes).expect("header");
    assert_eq!(header.length as usize, bytes.len());
    assert_eq!(header.spid, 0);
    assert_eq!(header.packet_id, 1);
    assert_eq!(header.window, 0);
    let message = MessageAssembler::default()
        .push(&header, &bytes[8..], 1 << 20)
        .expect("valid packet")
        .expect("EOM packet completes the message");
    (header, message)
}

#[test]
fn prelogin_request_example() {
    let (header, message) = single_packet_message(&fixture("prelogin_request"));
    assert_eq!(header.ty, PacketType::PreLogin);
    assert_eq!(header.status, 0x01);
    let request = prelogin::parse_request(&message.payload).unwrap();
    let tokens: Vec<u8> = request.options.iter().map(|o| o.token).collect();
    assert_eq!(tokens, [0x00, 0x01, 0x02, 0x03, 0x04]);
    assert_eq!(request.version, 0x0900_0000);
    assert_eq!(request.sub_build, 0);
    assert_eq!(request.encryption, prelogin::ENCRYPT_ON);
    assert_eq!(request.instance, "");
    assert_eq!(request.thread_id, Some(0xB80D_0000));
    assert_eq!(request.mars, 1);
    assert!(!request.fed_auth_required);
}

#[test]
fn login7_request_example() {
    let (header, message) = single_packet_message(&fixture("login7_request"));
    assert_eq!(header.ty, PacketType::Login7);
    let login = login7::parse(&message.payload).unwrap();
    assert_eq!(login.tds_version, 0x7209_0002);
    assert_eq!(login.packet_size, 4096);
    assert_eq!(login.client_prog_version, 0x0700_0000);
    assert_eq!(login.client_pid, 0x100);
    assert_eq!(login.connection_id, 0);
    assert_eq!(login.option_flags1, 0xE0);
    assert_eq!(login.option_flags2, 0x03);
    assert_eq!(login.type_flags, 0);
    assert_eq!(login.option_flags3, 0);
    assert_eq!(login.client_time_zone, 0);
    assert_eq!(login.client_lcid, 0x0409);
    assert_eq!(login.host_name, "skostov1");
    assert_eq!(login.user_name, "sa");
    assert_eq!(login.password, "");
    assert_eq!(login.app_name, "OSQL-32");
    assert_eq!(login.server_name, "");
    assert_eq!(login.client_interface_name, "ODBC");
    assert_eq!(login.language, "");
    assert_eq!(login.database, "");
    assert_eq!(login.client_id, [0x00, 0x50, 0x8B, 0xE2, 0xB7, 0x8F]);
    assert!(login.sspi.is_empty());
    assert!(login.feature_ids.is_empty());
}

#[test]
fn sql_batch_request_example() {
    let (header, message) = single_packet_message(&fixture("sql_batch_request"));
    assert_eq!(header.ty, PacketType::SqlBatch);
    let batch = request::parse_sql_batch(&message.payload).unwrap();
    // ULONGLONG 00 00 00 00 00 00 00 01, little-endian as all TDS integers.
    assert_eq!(batch.headers.transaction_descriptor, Some(0x0100_0000_0000_0000));
    assert_eq!(batch.headers.outstanding_request_count, Some(0));
    assert_eq!(batch.text, "\nselect 'foo' as 'bar'\n        ");
}

#[test]
fn rpc_request_example() {
    let (header, message) = single_packet_message(&fixture("rpc_request"));
    assert_eq!(header.ty, PacketType::Rpc);
    let rpc = request::parse_rpc(&message.payload).unwrap();
    assert_eq!(rpc.headers.transaction_descriptor, Some(0x0100_0000_0000_0000));
    assert_eq!(rpc.requests.len(), 1);
    let call = &rpc.requests[0];
    assert!(matches!(&call.target, RpcTarget::Name(name) if name == "foo3"));
    assert_eq!(call.option_flags, 0);
    assert_eq!(call.params.len(), 1);
    let param = &call.params[0];
    assert_eq!(param.name, "");
    assert_eq!(param.status, 0x02, "fDefaultValue");
    // INTNTYPE (0x26) with length 2 is a smallint; a zero-length value is NULL.
    assert_eq!(param.ty, SqlType::SmallInt);
    assert_eq!(param.value, Value::Null);
}

#[test]
fn attention_request_example() {
    let (header, message) = single_packet_message(&fixture("attention_request"));
    assert_eq!(header.ty, PacketType::Attention);
    assert_eq!(header.length, 8);
    assert!(message.payload.is_empty());
}

/// The example's RequestType is 0x0016 (22) although its annotation says TM_PROMOTE_XACT,
/// which 2.2.6.9 numbers 6; the decoder reports type 22 as the bytes say.
#[test]
fn transaction_manager_request_example() {
    let (header, message) = single_packet_message(&fixture("transaction_manager_request"));
    assert_eq!(header.ty, PacketType::TransactionManager);
    let request = request::parse_transaction_manager(&message.payload).unwrap();
    assert_eq!(request.headers.transaction_descriptor, Some(0x0100_0000_0000_0000));
    assert_eq!(request.request, TransactionRequest::Unsupported(0x16));
}
