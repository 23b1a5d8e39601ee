//! Test-side helpers: the spec's example bytes, and a minimal blocking TDS client written
//! from the spec for the protocol tests (independent of the server's own encoders).
#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Bytes of a spec example copied into `tests/fixtures/<name>.hex` ('#' lines are comments).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(|line| line.split_whitespace())
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

pub fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// One token of a server response, split by the rules of MS-TDS 2.2.7 for the tokens
/// the protocol layer writes (not COLMETADATA/ROW).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub ty: u8,
    pub body: Vec<u8>,
}

impl Token {
    pub fn u16_at(&self, offset: usize) -> u16 {
        u16::from_le_bytes([self.body[offset], self.body[offset + 1]])
    }

    pub fn i32_at(&self, offset: usize) -> i32 {
        i32::from_le_bytes(self.body[offset..offset + 4].try_into().unwrap())
    }

    /// ERROR/INFO message text.
    pub fn message_text(&self) -> String {
        let chars = self.u16_at(6) as usize;
        String::from_utf16(
            &self.body[8..8 + chars * 2].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<_>>(),
        )
        .unwrap()
    }
}

pub fn split_tokens(mut data: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    while let Some((&ty, rest)) = data.split_first() {
        let len = match ty {
            0xFD..=0xFF => 12,
            0x79 => 4,
            0xE3 | 0xAA | 0xAB | 0xAD => 2 + u16::from_le_bytes([rest[0], rest[1]]) as usize,
            other => panic!("token 0x{other:02X} is not split by this helper"),
        };
        let body = if matches!(ty, 0xE3 | 0xAA | 0xAB | 0xAD) { rest[2..len].to_vec() } else { rest[..len].to_vec() };
        tokens.push(Token { ty, body });
        data = &rest[len..];
    }
    tokens
}

/// Blocking client connection with a read timeout so no test can hang.
pub struct Client {
    pub stream: TcpStream,
    pub packet_size: usize,
}

pub struct Response {
    pub packet_type: u8,
    /// Status byte of every packet, in order.
    pub statuses: Vec<u8>,
    pub lengths: Vec<usize>,
    pub spid: u16,
    pub payload: Vec<u8>,
}

impl Client {
    pub fn connect(addr: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        Client { stream, packet_size: 4096 }
    }

    pub fn send(&mut self, ty: u8, status_extra: u8, payload: &[u8]) {
        let chunk = self.packet_size - 8;
        let mut chunks: Vec<&[u8]> = payload.chunks(chunk).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let count = chunks.len();
        for (i, data) in chunks.into_iter().enumerate() {
            let status = if i + 1 == count { 0x01 } else { 0x00 } | if i == 0 { status_extra } else { 0 };
            let mut packet = vec![ty, status];
            packet.extend_from_slice(&((data.len() + 8) as u16).to_be_bytes());
            packet.extend_from_slice(&[0, 0, (i + 1) as u8, 0]);
            packet.extend_from_slice(data);
            self.stream.write_all(&packet).unwrap();
        }
    }

    pub fn receive(&mut self) -> Response {
        let mut response =
            Response { packet_type: 0, statuses: Vec::new(), lengths: Vec::new(), spid: 0, payload: Vec::new() };
        loop {
            let mut header = [0u8; 8];
            self.stream.read_exact(&mut header).expect("packet header");
            let len = u16::from_be_bytes([header[2], header[3]]) as usize;
            let mut data = vec![0u8; len - 8];
            self.stream.read_exact(&mut data).expect("packet data");
            response.packet_type = header[0];
            response.statuses.push(header[1]);
            response.lengths.push(len);
            response.spid = u16::from_be_bytes([header[4], header[5]]);
            response.payload.extend_from_slice(&data);
            if header[1] & 0x01 != 0 {
                return response;
            }
        }
    }

    /// True when the server closed the connection (end of stream or a reset); false when
    /// it sent more data or nothing within the read timeout.
    pub fn is_closed_by_server(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(n) => n == 0,
            Err(e) => matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted),
        }
    }

    /// PRELOGIN asking for `encryption`; returns the server's ENCRYPTION answer.
    pub fn prelogin(&mut self, encryption: u8) -> u8 {
        self.send(0x12, 0, &prelogin_request(encryption));
        let response = self.receive();
        assert_eq!(response.packet_type, 0x04, "PRELOGIN response is a tabular result");
        prelogin_option(&response.payload, 0x01).expect("ENCRYPTION option")[0]
    }

    /// LOGIN7 for TDS 7.4; returns the login response tokens.
    pub fn login(&mut self, user: &str, password: &str, database: &str, packet_size: u32) -> Vec<Token> {
        self.send(0x10, 0, &login7(user, password, database, packet_size, &[]));
        let response = self.receive();
        split_tokens(&response.payload)
    }

    /// PRELOGIN without encryption, then LOGIN7 as `sa`; panics unless it succeeds.
    pub fn logged_in(addr: std::net::SocketAddr) -> Client {
        let mut client = Client::connect(addr);
        assert_eq!(client.prelogin(0x02), 0x02);
        let tokens = client.login("sa", "FastMssql!Test1", "", 4096);
        assert!(tokens.iter().any(|t| t.ty == 0xAD), "LOGINACK expected, got {tokens:?}");
        client
    }
}

/// A PRELOGIN message asking for `encryption`.
pub fn prelogin_request(encryption: u8) -> Vec<u8> {
    // VERSION, ENCRYPTION, INSTOPT, THREADID, MARS, terminator; data follows at 26.
    let mut payload = vec![
        0x00, 0x00, 0x1A, 0x00, 0x06, 0x01, 0x00, 0x20, 0x00, 0x01, 0x02, 0x00, 0x21, 0x00, 0x01, 0x03, 0x00, 0x22,
        0x00, 0x04, 0x04, 0x00, 0x26, 0x00, 0x01, 0xFF,
    ];
    payload.extend_from_slice(&[0x10, 0x00, 0x00, 0x00, 0x00, 0x00, encryption, 0x00, 0, 0, 0, 1, 0x00]);
    payload
}

/// The data of one PRELOGIN option.
pub fn prelogin_option(payload: &[u8], token: u8) -> Option<Vec<u8>> {
    let mut i = 0;
    while payload[i] != 0xFF {
        let offset = u16::from_be_bytes([payload[i + 1], payload[i + 2]]) as usize;
        let len = u16::from_be_bytes([payload[i + 3], payload[i + 4]]) as usize;
        if payload[i] == token {
            return Some(payload[offset..offset + len].to_vec());
        }
        i += 5;
    }
    None
}

/// Password obfuscation of MS-TDS 2.2.6.4 as a client applies it: swap the nibbles of
/// every byte, then XOR with 0xA5.
pub fn obfuscate(password: &str) -> Vec<u8> {
    utf16(password).into_iter().map(|b| b.rotate_left(4) ^ 0xA5).collect()
}

/// A LOGIN7 message built field by field from MS-TDS 2.2.6.4; a non-empty `feature_ext`
/// (FeatureExt block including its 0xFF terminator) sets fExtension.
pub fn login7(user: &str, password: &str, database: &str, packet_size: u32, feature_ext: &[u8]) -> Vec<u8> {
    let extension = if feature_ext.is_empty() { Vec::new() } else { vec![0u8; 4] };
    let fields: Vec<Vec<u8>> = vec![
        utf16("testhost"),
        utf16(user),
        obfuscate(password),
        utf16("protocol-test"),
        utf16("127.0.0.1"),
        extension, // DWORD offset of FeatureExt, patched below
        utf16("rust-test"),
        Vec::new(), // language
        utf16(database),
    ];
    let mut fixed = Vec::new();
    fixed.extend_from_slice(&0u32.to_le_bytes()); // Length, patched below
    fixed.extend_from_slice(&0x7400_0004u32.to_le_bytes());
    fixed.extend_from_slice(&packet_size.to_le_bytes());
    fixed.extend_from_slice(&[0, 0, 0, 7]); // ClientProgVer
    fixed.extend_from_slice(&1234u32.to_le_bytes()); // ClientPID
    fixed.extend_from_slice(&0u32.to_le_bytes()); // ConnectionID
    let flags3 = if feature_ext.is_empty() { 0x00 } else { 0x10 };
    fixed.extend_from_slice(&[0xE0, 0x03, 0x00, flags3]); // OptionFlags1/2, TypeFlags, OptionFlags3
    fixed.extend_from_slice(&0i32.to_le_bytes()); // ClientTimeZone
    fixed.extend_from_slice(&0x0409u32.to_le_bytes()); // ClientLCID
    let mut data = Vec::new();
    let base = 94;
    for (i, field) in fields.iter().enumerate() {
        fixed.extend_from_slice(&((base + data.len()) as u16).to_le_bytes());
        let count = if i == 5 { field.len() } else { field.len() / 2 };
        fixed.extend_from_slice(&(count as u16).to_le_bytes());
        data.extend_from_slice(field);
    }
    fixed.extend_from_slice(&[0, 0x50, 0x8B, 0xE2, 0xB7, 0x8F]); // ClientID
    for _ in 0..3 {
        // SSPI, AtchDBFile, ChangePassword: empty
        fixed.extend_from_slice(&((base + data.len()) as u16).to_le_bytes());
        fixed.extend_from_slice(&0u16.to_le_bytes());
    }
    fixed.extend_from_slice(&0u32.to_le_bytes()); // cbSSPILong
    assert_eq!(fixed.len(), base);
    fixed.extend_from_slice(&data);
    if !feature_ext.is_empty() {
        let pointer_at = u16::from_le_bytes([fixed[56], fixed[57]]) as usize;
        let feature_at = fixed.len() as u32;
        fixed[pointer_at..pointer_at + 4].copy_from_slice(&feature_at.to_le_bytes());
        fixed.extend_from_slice(feature_ext);
    }
    let len = fixed.len() as u32;
    fixed[..4].copy_from_slice(&len.to_le_bytes());
    fixed
}

/// ALL_HEADERS with only a transaction descriptor header.
pub fn all_headers(descriptor: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&22u32.to_le_bytes());
    out.extend_from_slice(&18u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&descriptor.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out
}
