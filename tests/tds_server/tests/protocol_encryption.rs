//! PRELOGIN answers and the encryption matrix of MS-TDS 2.2.6.5, with a rustls client that
//! carries its handshake in PRELOGIN packets as TDS 7.x clients do.

mod support;

use std::io::{Read, Write};
use std::sync::Arc;

use support::{all_headers, login7, prelogin_option, split_tokens, Client, Token};
use tds_server::prelogin::{
    negotiate_encryption, EncryptMode, Encryption, ENCRYPT_CLIENT_CERT, ENCRYPT_NOT_SUP, ENCRYPT_OFF, ENCRYPT_ON,
    ENCRYPT_REQ,
};
use tds_server::{TestServer, TestServerConfig};

fn server(encrypt: EncryptMode) -> TestServer {
    TestServer::start(TestServerConfig { encrypt, ..TestServerConfig::default() }).expect("server starts")
}

/// The spec's table, columns "server set to ENCRYPT_OFF" (`Off`: the server has a
/// certificate but does not force encryption) and "ENCRYPT_ON" (`On`).
#[test]
fn encryption_matrix() {
    let cases = [
        (EncryptMode::Off, ENCRYPT_OFF, Ok((ENCRYPT_OFF, Encryption::LoginOnly))),
        (EncryptMode::Off, ENCRYPT_ON, Ok((ENCRYPT_ON, Encryption::Full))),
        (EncryptMode::Off, ENCRYPT_NOT_SUP, Ok((ENCRYPT_NOT_SUP, Encryption::None))),
        (EncryptMode::Off, ENCRYPT_REQ, Ok((ENCRYPT_ON, Encryption::Full))),
        (EncryptMode::On, ENCRYPT_OFF, Ok((ENCRYPT_REQ, Encryption::Full))),
        (EncryptMode::On, ENCRYPT_ON, Ok((ENCRYPT_ON, Encryption::Full))),
        (EncryptMode::On, ENCRYPT_NOT_SUP, Err(ENCRYPT_REQ)),
        (EncryptMode::On, ENCRYPT_REQ, Ok((ENCRYPT_ON, Encryption::Full))),
        // Certificate-based authentication is not offered.
        (EncryptMode::Off, ENCRYPT_CLIENT_CERT | ENCRYPT_OFF, Err(ENCRYPT_NOT_SUP)),
    ];
    for (mode, client, expected) in cases {
        assert_eq!(negotiate_encryption(mode, client), expected, "{mode:?} with client 0x{client:02X}");
    }
}

#[test]
fn prelogin_response_options() {
    let server = server(EncryptMode::Off);
    let mut client = Client::connect(server.addr());
    // VERSION, INSTOPT "OTHER", FEDAUTHREQUIRED; no ENCRYPTION option.
    let mut payload =
        vec![0x00, 0x00, 0x10, 0x00, 0x06, 0x02, 0x00, 0x16, 0x00, 0x06, 0x06, 0x00, 0x1C, 0x00, 0x01, 0xFF];
    payload.extend_from_slice(&[0x10, 0, 0, 0, 0, 0]);
    payload.extend_from_slice(b"OTHER\0");
    payload.push(0x01);
    client.send(0x12, 0, &payload);
    let answer = client.receive().payload;
    assert_eq!(prelogin_option(&answer, 0x00).unwrap(), [16, 0, 0x03, 0xE8, 0, 0], "VERSION 16.0.1000.0");
    assert_eq!(prelogin_option(&answer, 0x01).unwrap(), [ENCRYPT_NOT_SUP], "no ENCRYPTION sent means NOT_SUP");
    assert_eq!(prelogin_option(&answer, 0x02).unwrap(), [1], "INSTOPT: instance OTHER is not ours");
    assert_eq!(prelogin_option(&answer, 0x03).unwrap(), Vec::<u8>::new(), "THREADID");
    assert_eq!(prelogin_option(&answer, 0x04).unwrap(), [0], "MARS is always off");
    assert_eq!(prelogin_option(&answer, 0x06).unwrap(), [0], "FEDAUTHREQUIRED answered when asked");
}

#[test]
fn prelogin_without_fedauth_gets_none_back() {
    let server = server(EncryptMode::Off);
    let mut client = Client::connect(server.addr());
    let mut payload = vec![0x00, 0x00, 0x06, 0x00, 0x06, 0xFF];
    payload.extend_from_slice(&[0x10, 0, 0, 0, 0, 0]);
    client.send(0x12, 0, &payload);
    let answer = client.receive().payload;
    assert_eq!(prelogin_option(&answer, 0x06), None);
    assert_eq!(prelogin_option(&answer, 0x02).unwrap(), [0], "empty INSTOPT matches");
}

/// A TLS session tunnelled the TDS 7.x way.
struct TlsClient {
    client: Client,
    tls: rustls::ClientConnection,
    plaintext: Vec<u8>,
}

impl TlsClient {
    fn handshake(mut client: Client, cert_pem: &str) -> TlsClient {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut cert_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tls = rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
        while tls.is_handshaking() {
            if tls.wants_write() {
                let mut flight = Vec::new();
                while tls.wants_write() {
                    tls.write_tls(&mut flight).unwrap();
                }
                client.send(0x12, 0, &flight);
            } else {
                let response = client.receive();
                assert_eq!(response.packet_type, 0x12, "handshake travels in PRELOGIN packets");
                let mut records = response.payload.as_slice();
                while !records.is_empty() {
                    tls.read_tls(&mut records).unwrap();
                    tls.process_new_packets().unwrap();
                }
            }
        }
        assert_eq!(tls.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
        TlsClient { client, tls, plaintext: Vec::new() }
    }

    fn send(&mut self, ty: u8, payload: &[u8]) {
        let mut packet = vec![ty, 0x01];
        packet.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
        packet.extend_from_slice(&[0, 0, 1, 0]);
        packet.extend_from_slice(payload);
        self.tls.writer().write_all(&packet).unwrap();
        let mut records = Vec::new();
        while self.tls.wants_write() {
            self.tls.write_tls(&mut records).unwrap();
        }
        self.client.stream.write_all(&records).unwrap();
    }

    /// One response message read through TLS.
    fn receive(&mut self) -> Vec<u8> {
        let mut payload = Vec::new();
        loop {
            while self.plaintext.len() >= 8 {
                let len = u16::from_be_bytes([self.plaintext[2], self.plaintext[3]]) as usize;
                if self.plaintext.len() < len {
                    break;
                }
                let packet: Vec<u8> = self.plaintext.drain(..len).collect();
                payload.extend_from_slice(&packet[8..]);
                if packet[1] & 0x01 != 0 {
                    return payload;
                }
            }
            let mut buf = [0u8; 8192];
            let n = self.client.stream.read(&mut buf).expect("TLS records");
            assert!(n > 0, "server closed the connection");
            let mut records = &buf[..n];
            while !records.is_empty() {
                self.tls.read_tls(&mut records).unwrap();
                let state = self.tls.process_new_packets().unwrap();
                let mut plain = vec![0u8; state.plaintext_bytes_to_read()];
                self.tls.reader().read_exact(&mut plain).unwrap();
                self.plaintext.extend_from_slice(&plain);
            }
        }
    }
}

fn has_loginack(tokens: &[Token]) -> bool {
    tokens.iter().any(|t| t.ty == 0xAD)
}

/// TransMgrReq TM_BEGIN_XACT (isolation level unchanged, no name).
fn begin_transaction_request() -> Vec<u8> {
    let mut payload = all_headers(0);
    payload.extend_from_slice(&[5, 0, 0, 0]);
    payload
}

/// PRELOGIN asking for `encryption` (the server must answer `answer`), the TLS handshake,
/// and LOGIN7 through TLS; returns the TLS session and the login response tokens.
fn tls_login(server: &TestServer, encryption: u8, answer: u8, password: &str) -> (TlsClient, Vec<Token>) {
    let mut client = Client::connect(server.addr());
    assert_eq!(client.prelogin(encryption), answer);
    let mut tls = TlsClient::handshake(client, server.certificate_pem());
    tls.send(0x10, &login7("sa", password, "", 4096, &[]));
    let tokens = split_tokens(&tls.receive());
    (tls, tokens)
}

#[test]
fn full_tls_when_the_client_demands_it_from_an_off_server() {
    let server = server(EncryptMode::Off);
    let (mut tls, tokens) = tls_login(&server, ENCRYPT_ON, ENCRYPT_ON, "FastMssql!Test1");
    assert!(has_loginack(&tokens));
    tls.send(0x0E, &begin_transaction_request());
    let tokens = split_tokens(&tls.receive());
    assert_eq!(tokens[0].ty, 0xE3);
    assert_eq!(tokens[0].body[0], 8, "ENVCHANGE begin transaction, read through TLS");
}

#[test]
fn required_server_encrypts_an_encrypt_off_client_fully() {
    let server = server(EncryptMode::On);
    let (mut tls, tokens) = tls_login(&server, ENCRYPT_OFF, ENCRYPT_REQ, "FastMssql!Test1");
    assert!(has_loginack(&tokens));
    tls.send(0x06, &[]);
    let tokens = split_tokens(&tls.receive());
    assert_eq!(tokens[0].u16_at(0), 0x0020, "DONE_ATTN through TLS");
}

#[test]
fn required_server_closes_a_client_without_encryption() {
    let server = server(EncryptMode::On);
    let mut client = Client::connect(server.addr());
    assert_eq!(client.prelogin(ENCRYPT_NOT_SUP), ENCRYPT_REQ);
    assert!(client.is_closed_by_server());
}

#[test]
fn encrypt_off_client_gets_login_only_tls_then_plaintext() {
    let server = server(EncryptMode::Off);
    let mut client = Client::connect(server.addr());
    assert_eq!(client.prelogin(ENCRYPT_OFF), ENCRYPT_OFF);
    let mut tls = TlsClient::handshake(client, server.certificate_pem());
    tls.send(0x10, &login7("sa", "FastMssql!Test1", "", 4096, &[]));
    // The login response and everything after it are plaintext TDS packets.
    let mut client = tls.client;
    assert!(has_loginack(&split_tokens(&client.receive().payload)));
    client.send(0x0E, 0, &begin_transaction_request());
    let tokens = split_tokens(&client.receive().payload);
    assert_eq!(tokens[0].body[0], 8);
}

#[test]
fn wrong_password_over_tls_is_rejected() {
    let server = server(EncryptMode::On);
    let (_, tokens) = tls_login(&server, ENCRYPT_ON, ENCRYPT_ON, "wrong");
    assert_eq!(tokens[0].ty, 0xAA);
    assert_eq!(tokens[0].i32_at(0), 18456);
}
