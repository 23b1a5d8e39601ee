//! LOGIN7 against a running server: the login response in SQL Server's order, packet size
//! negotiation, databases, FeatureExt, configurable users and rejected logins.

mod support;

use support::{login7, utf16, Client, Token};
use tds_server::{TestServer, TestServerConfig};

fn server() -> TestServer {
    TestServer::start(TestServerConfig::default()).expect("server starts")
}

fn envchange_type(token: &Token) -> u8 {
    token.body[0]
}

/// New and old value of a string ENVCHANGE (B_VARCHAR pair).
fn envchange_strings(token: &Token) -> (String, String) {
    let text = |at: usize| -> (String, usize) {
        let chars = token.body[at] as usize;
        let units: Vec<u16> =
            token.body[at + 1..at + 1 + chars * 2].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        (String::from_utf16(&units).unwrap(), at + 1 + chars * 2)
    };
    let (new, next) = text(1);
    (new, text(next).0)
}

#[test]
fn login_response_has_sql_servers_token_order_and_tds_7_4_loginack() {
    let server = server();
    let mut client = Client::connect(server.addr());
    assert_eq!(client.prelogin(0x02), 0x02);
    client.send(0x10, 0, &login7("sa", "FastMssql!Test1", "", 4096, &[]));
    let response = client.receive();
    assert!(response.spid >= 51, "user sessions get SPIDs from 51, got {}", response.spid);
    let tokens = support::split_tokens(&response.payload);
    let shape: Vec<(u8, i64)> = tokens
        .iter()
        .map(|t| match t.ty {
            0xE3 => (t.ty, i64::from(envchange_type(t))),
            0xAB => (t.ty, i64::from(t.i32_at(0))),
            _ => (t.ty, -1),
        })
        .collect();
    assert_eq!(shape, [(0xE3, 1), (0xAB, 5701), (0xE3, 7), (0xE3, 2), (0xAB, 5703), (0xAD, -1), (0xE3, 4), (0xFD, -1)]);
    assert_eq!(envchange_strings(&tokens[0]), ("master".to_string(), "master".to_string()));
    assert_eq!(tokens[1].message_text(), "Changed database context to 'master'.");
    assert_eq!(tokens[2].body, [7, 5, 0x09, 0x04, 0xD0, 0x00, 0x34, 0]);
    assert_eq!(envchange_strings(&tokens[3]), ("us_english".to_string(), String::new()));
    assert_eq!(tokens[4].message_text(), "Changed language setting to us_english.");
    let mut loginack = vec![0x01, 0x74, 0x00, 0x00, 0x04, 20];
    loginack.extend_from_slice(&utf16("Microsoft SQL Server"));
    loginack.extend_from_slice(&[16, 0, 0x03, 0xE8]);
    assert_eq!(tokens[5].body, loginack);
    assert_eq!(envchange_strings(&tokens[6]), ("4096".to_string(), "4096".to_string()));
    assert_eq!(tokens[7].body, [0u8; 12], "final DONE: status 0, no count");
}

#[test]
fn packet_size_is_negotiated_and_zero_means_default() {
    let server = server();
    for (requested, expected) in [(8192u32, "8192"), (0, "4096"), (100, "512"), (65536, "32767")] {
        let mut client = Client::connect(server.addr());
        client.prelogin(0x02);
        let tokens = client.login("sa", "FastMssql!Test1", "", requested);
        let packet_size = tokens.iter().find(|t| t.ty == 0xE3 && envchange_type(t) == 4).expect("packet size");
        assert_eq!(envchange_strings(packet_size), (expected.to_string(), "4096".to_string()), "asked {requested}");
    }
}

#[test]
fn login_database_is_announced() {
    let server = server();
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    let tokens = client.login("sa", "FastMssql!Test1", "tempdb", 4096);
    assert_eq!(envchange_strings(&tokens[0]), ("tempdb".to_string(), "master".to_string()));
    assert_eq!(tokens[1].message_text(), "Changed database context to 'tempdb'.");
}

#[test]
fn unknown_feature_ext_is_ignored() {
    let server = server();
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    // An unknown FeatureId 0x42 with 3 bytes of data, then UTF8_SUPPORT (0x0A), then the terminator.
    let features = [0x42, 3, 0, 0, 0, 1, 2, 3, 0x0A, 0, 0, 0, 0, 0xFF];
    client.send(0x10, 0, &login7("sa", "FastMssql!Test1", "", 4096, &features));
    let tokens = support::split_tokens(&client.receive().payload);
    assert!(tokens.iter().any(|t| t.ty == 0xAD), "LOGINACK expected, got {tokens:?}");
    assert!(tokens.iter().all(|t| t.ty != 0xAE), "no FEATUREEXTACK for unsupported features");
}

fn assert_login_failed(tokens: &[Token], user: &str) {
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert_eq!(tokens[0].ty, 0xAA);
    assert_eq!(tokens[0].i32_at(0), 18456);
    assert_eq!(tokens[0].body[4], 1, "state");
    assert_eq!(tokens[0].body[5], 14, "class");
    assert_eq!(tokens[0].message_text(), format!("Login failed for user '{user}'."));
    assert_eq!(tokens[1].ty, 0xFD);
    assert_eq!(tokens[1].u16_at(0), 0x0002, "DONE_ERROR");
}

#[test]
fn wrong_password_is_error_18456_then_close() {
    let server = server();
    // Credentials are checked first: no 4060 for a missing database with a wrong password.
    for database in ["", "no_such_database"] {
        let mut client = Client::connect(server.addr());
        client.prelogin(0x02);
        assert_login_failed(&client.login("sa", "not the password", database, 4096), "sa");
        assert!(client.is_closed_by_server(), "{database:?}");
    }
}

#[test]
fn missing_database_is_error_4060_then_18456_then_close() {
    let server = server();
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    let tokens = client.login("sa", "FastMssql!Test1", "no_such_database", 4096);
    assert_eq!(tokens[0].ty, 0xAA, "{tokens:?}");
    assert_eq!(tokens[0].i32_at(0), 4060);
    assert_eq!(tokens[0].body[4], 1, "state");
    assert_eq!(tokens[0].body[5], 11, "class");
    assert_eq!(
        tokens[0].message_text(),
        "Cannot open database \"no_such_database\" requested by the login. The login failed."
    );
    assert_login_failed(&tokens[1..], "sa");
    assert!(client.is_closed_by_server());
}

#[test]
fn configured_users_replace_the_default() {
    let server = TestServer::start(TestServerConfig {
        users: vec![("alice".into(), "Secret#1".into())],
        ..TestServerConfig::default()
    })
    .unwrap();
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    assert!(client.login("ALICE", "Secret#1", "", 4096).iter().any(|t| t.ty == 0xAD), "logins are case-insensitive");
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    assert_login_failed(&client.login("alice", "secret#1", "", 4096), "alice");
    let mut client = Client::connect(server.addr());
    client.prelogin(0x02);
    assert_login_failed(&client.login("sa", "FastMssql!Test1", "", 4096), "sa");
}

#[test]
fn server_stops_and_frees_its_port() {
    let server = server();
    let addr = server.addr();
    server.stop();
    assert!(std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_err());
}
