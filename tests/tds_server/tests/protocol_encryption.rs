//! PRELOGIN answers and the encryption matrix of MS-TDS 2.2.6.5, with a rustls client that
//! carries its handshake in PRELOGIN packets as TDS 7.x clients do, and TDS 8.0 strict
//! encryption (the TLS handshake first, ALPN `tds/8.0`, TLS 1.3 or 1.2).

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

/// A rustls client configuration trusting the server's test certificate.
fn client_config(
    cert_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

impl TlsClient {
    /// TDS 7.x: the handshake inside PRELOGIN packets, offering TLS 1.3 and 1.2.
    fn handshake(client: Client, cert_pem: &str) -> TlsClient {
        let config = client_config(cert_pem, rustls::DEFAULT_VERSIONS, &[]);
        let tls = TlsClient::prelogin_handshake(client, config).expect("TLS handshake in PRELOGIN packets");
        assert_eq!(tls.tls.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
        tls
    }

    fn prelogin_handshake(mut client: Client, config: Arc<rustls::ClientConfig>) -> Result<TlsClient, rustls::Error> {
        let mut tls = rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
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
                    tls.process_new_packets()?;
                }
            }
        }
        Ok(TlsClient { client, tls, plaintext: Vec::new() })
    }

    /// TDS 8.0: the handshake on the bare connection, before any TDS message.
    fn strict(server: &TestServer, config: Arc<rustls::ClientConfig>) -> Result<TlsClient, rustls::Error> {
        let mut client = Client::connect(server.addr());
        let mut tls = rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
        while tls.is_handshaking() {
            if tls.wants_write() {
                tls.write_tls(&mut client.stream).unwrap();
                continue;
            }
            if tls.read_tls(&mut client.stream).unwrap() == 0 {
                // Closed after an alert rustls has already reported, or without one.
                return Err(rustls::Error::General("server closed the connection during the handshake".into()));
            }
            tls.process_new_packets()?;
        }
        Ok(TlsClient { client, tls, plaintext: Vec::new() })
    }

    /// PRELOGIN inside the TLS session; returns the ENCRYPTION answer.
    fn prelogin(&mut self, encryption: u8) -> u8 {
        self.send(0x12, &support::prelogin_request(encryption));
        let answer = self.receive();
        prelogin_option(&answer, 0x01).expect("ENCRYPTION option")[0]
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

/// A TDS 8.0 login: PRELOGIN and LOGIN7 inside the TLS session; returns the login response.
fn strict_login(tls: &mut TlsClient, encryption: u8) -> Vec<Token> {
    // The client's ENCRYPTION value is ignored (MS-TDS 2.2.6.5); the answer is that of a server
    // forcing encryption, which the session is.
    let expected = if encryption == ENCRYPT_ON { ENCRYPT_ON } else { ENCRYPT_REQ };
    assert_eq!(tls.prelogin(encryption), expected);
    tls.send(0x10, &login7("sa", "FastMssql!Test1", "", 4096, &[]));
    split_tokens(&tls.receive())
}

#[test]
fn strict_encryption_over_tls_1_3_with_alpn() {
    let server = server(EncryptMode::Off);
    let config = client_config(server.certificate_pem(), &[&rustls::version::TLS13], &[b"tds/8.0"]);
    let mut tls = TlsClient::strict(&server, config).expect("TDS 8.0 handshake");
    assert_eq!(tls.tls.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(tls.tls.alpn_protocol(), Some(&b"tds/8.0"[..]));
    assert!(has_loginack(&strict_login(&mut tls, ENCRYPT_OFF)));
    tls.send(0x0E, &begin_transaction_request());
    let tokens = split_tokens(&tls.receive());
    assert_eq!(tokens[0].body[0], 8, "ENVCHANGE begin transaction, read through TLS");
}

#[test]
fn strict_encryption_over_tls_1_2_and_without_alpn() {
    // MS-TDS 1.9: a client that offers no ALPN is taken for TDS 8.0.
    let server = server(EncryptMode::On);
    let config = client_config(server.certificate_pem(), &[&rustls::version::TLS12], &[]);
    let mut tls = TlsClient::strict(&server, config).expect("TDS 8.0 handshake");
    assert_eq!(tls.tls.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
    assert!(has_loginack(&strict_login(&mut tls, ENCRYPT_ON)));
    tls.send(0x06, &[]);
    assert_eq!(split_tokens(&tls.receive())[0].u16_at(0), 0x0020, "DONE_ATTN through TLS");
}

#[test]
fn strict_encryption_refuses_another_application_protocol() {
    let server = server(EncryptMode::Off);
    let config = client_config(server.certificate_pem(), rustls::DEFAULT_VERSIONS, &[b"h2"]);
    let refused = TlsClient::strict(&server, config).err().expect("no handshake for ALPN h2");
    assert_eq!(refused, rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol));
}

#[test]
fn tls_1_3_only_with_tds_8() {
    // SQL Server 2022 supports TLS 1.3 only with TDS 8.0: the handshake inside PRELOGIN is TLS 1.2.
    let server = server(EncryptMode::Off);
    let mut client = Client::connect(server.addr());
    assert_eq!(client.prelogin(ENCRYPT_ON), ENCRYPT_ON);
    let config = client_config(server.certificate_pem(), &[&rustls::version::TLS13], &[]);
    let refused = TlsClient::prelogin_handshake(client, config).err().expect("no TLS 1.3 inside PRELOGIN");
    assert_eq!(refused, rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion));
}
