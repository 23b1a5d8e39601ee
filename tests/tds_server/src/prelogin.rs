//! PRELOGIN (MS-TDS 2.2.6.5): decoding the client's options, the encryption matrix, and
//! the server's answer as SQL Server writes it.

use crate::wire::Reader;

pub const OPTION_VERSION: u8 = 0x00;
pub const OPTION_ENCRYPTION: u8 = 0x01;
pub const OPTION_INSTOPT: u8 = 0x02;
pub const OPTION_THREADID: u8 = 0x03;
pub const OPTION_MARS: u8 = 0x04;
pub const OPTION_TRACEID: u8 = 0x05;
pub const OPTION_FEDAUTHREQUIRED: u8 = 0x06;
pub const OPTION_NONCEOPT: u8 = 0x07;
pub const OPTION_TERMINATOR: u8 = 0xFF;

pub const ENCRYPT_OFF: u8 = 0x00;
pub const ENCRYPT_ON: u8 = 0x01;
pub const ENCRYPT_NOT_SUP: u8 = 0x02;
pub const ENCRYPT_REQ: u8 = 0x03;
/// Certificate-based authentication flag combined with one of the values above.
pub const ENCRYPT_CLIENT_CERT: u8 = 0x80;

/// VERSION option of SQL Server 2022 RTM: 16.0.1000, sub-build 0.
pub const SERVER_VERSION: [u8; 6] = [16, 0, 0x03, 0xE8, 0, 0];

/// One option as it appeared in a PRELOGIN message, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreloginOption {
    pub token: u8,
    pub data: Vec<u8>,
}

/// The client's PRELOGIN options the server reacts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreloginRequest {
    pub options: Vec<PreloginOption>,
    /// VERSION: UL_VERSION (big-endian) and US_SUBBUILD.
    pub version: u32,
    pub sub_build: u16,
    pub encryption: u8,
    /// INSTOPT without its terminating NUL.
    pub instance: String,
    pub thread_id: Option<u32>,
    pub mars: u8,
    pub fed_auth_required: bool,
}

/// Parses a PRELOGIN message body (the option list and its data).
pub fn parse_options(payload: &[u8]) -> Result<Vec<PreloginOption>, String> {
    let mut r = Reader::new(payload);
    let mut options = Vec::new();
    loop {
        let token = r.u8("PRELOGIN option token")?;
        if token == OPTION_TERMINATOR {
            break;
        }
        let offset = r.u16_be("PRELOGIN option offset")? as usize;
        let length = r.u16_be("PRELOGIN option length")? as usize;
        let data = payload
            .get(offset..offset + length)
            .ok_or_else(|| format!("PRELOGIN option 0x{token:02X} points outside the message ({offset}+{length})"))?;
        options.push(PreloginOption { token, data: data.to_vec() });
    }
    Ok(options)
}

pub fn parse_request(payload: &[u8]) -> Result<PreloginRequest, String> {
    let options = parse_options(payload)?;
    if options.first().map(|o| o.token) != Some(OPTION_VERSION) {
        return Err("PRELOGIN must start with the VERSION option".into());
    }
    let mut request = PreloginRequest {
        options: options.clone(),
        version: 0,
        sub_build: 0,
        encryption: ENCRYPT_NOT_SUP,
        instance: String::new(),
        thread_id: None,
        mars: 0,
        fed_auth_required: false,
    };
    for option in &options {
        let mut r = Reader::new(&option.data);
        match option.token {
            OPTION_VERSION => {
                let b = r.bytes(4, "PRELOGIN VERSION")?;
                request.version = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                request.sub_build = r.u16_be("PRELOGIN VERSION sub-build")?;
            }
            OPTION_ENCRYPTION => request.encryption = r.u8("PRELOGIN ENCRYPTION")?,
            OPTION_INSTOPT => {
                let end = option.data.iter().position(|&b| b == 0).unwrap_or(option.data.len());
                request.instance = String::from_utf8_lossy(&option.data[..end]).into_owned();
            }
            OPTION_THREADID if !option.data.is_empty() => {
                let b = r.bytes(4, "PRELOGIN THREADID")?;
                request.thread_id = Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            }
            OPTION_MARS => request.mars = r.u8("PRELOGIN MARS")?,
            OPTION_FEDAUTHREQUIRED => request.fed_auth_required = r.u8("PRELOGIN FEDAUTHREQUIRED")? != 0,
            _ => {}
        }
    }
    Ok(request)
}

/// The server's encryption setting (`--encrypt`). The server always has a certificate,
/// as SQL Server does, so these are the spec's server settings ENCRYPT_OFF and ENCRYPT_ON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncryptMode {
    /// Encryption when the client asks for it; an ENCRYPT_OFF client gets login-only TLS,
    /// an ENCRYPT_NOT_SUP client none.
    Off,
    /// Every connection is fully encrypted ("force encryption").
    On,
}

/// What the connection does after PRELOGIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encryption {
    None,
    /// TLS for the LOGIN7 message only.
    LoginOnly,
    Full,
    /// TDS 8.0: the whole connection is inside the TLS session set up before PRELOGIN.
    Strict,
}

/// The ENCRYPTION value to answer and what follows; `Err` carries the answer to send
/// before closing the connection (MS-TDS 2.2.6.5 matrix).
pub fn negotiate_encryption(mode: EncryptMode, client: u8) -> Result<(u8, Encryption), u8> {
    if client & ENCRYPT_CLIENT_CERT != 0 {
        // Certificate-based authentication is not offered by this server.
        return Err(ENCRYPT_NOT_SUP);
    }
    match (mode, client) {
        (EncryptMode::Off, ENCRYPT_OFF) => Ok((ENCRYPT_OFF, Encryption::LoginOnly)),
        (EncryptMode::Off, ENCRYPT_NOT_SUP) => Ok((ENCRYPT_NOT_SUP, Encryption::None)),
        (EncryptMode::On, ENCRYPT_OFF) => Ok((ENCRYPT_REQ, Encryption::Full)),
        (EncryptMode::On, ENCRYPT_NOT_SUP) => Err(ENCRYPT_REQ),
        (_, ENCRYPT_ON | ENCRYPT_REQ) => Ok((ENCRYPT_ON, Encryption::Full)),
        (_, _) => Err(ENCRYPT_NOT_SUP),
    }
}

/// The ENCRYPTION answer of a TDS 8.0 connection, whose TLS session is already up: the
/// client's value is ignored (MS-TDS 2.2.6.5), and the answer is that of a server forcing
/// encryption, which the connection is.
pub fn strict_encryption(client: u8) -> (u8, Encryption) {
    let answer = if matches!(client, ENCRYPT_ON | ENCRYPT_REQ) { ENCRYPT_ON } else { ENCRYPT_REQ };
    (answer, Encryption::Strict)
}

/// The server's PRELOGIN answer in SQL Server's option order: VERSION, ENCRYPTION, INSTOPT,
/// THREADID (empty), MARS (0), and FEDAUTHREQUIRED (0) only when the client sent it.
pub fn write_response(out: &mut Vec<u8>, request: &PreloginRequest, encryption: u8) {
    let instance_matches = request.instance.is_empty() || request.instance.eq_ignore_ascii_case("MSSQLServer");
    let mut options = vec![
        PreloginOption { token: OPTION_VERSION, data: SERVER_VERSION.to_vec() },
        PreloginOption { token: OPTION_ENCRYPTION, data: vec![encryption] },
        PreloginOption { token: OPTION_INSTOPT, data: vec![u8::from(!instance_matches)] },
        PreloginOption { token: OPTION_THREADID, data: Vec::new() },
        PreloginOption { token: OPTION_MARS, data: vec![0] },
    ];
    if request.options.iter().any(|o| o.token == OPTION_FEDAUTHREQUIRED) {
        options.push(PreloginOption { token: OPTION_FEDAUTHREQUIRED, data: vec![0] });
    }
    write_options(out, &options);
}

pub fn write_options(out: &mut Vec<u8>, options: &[PreloginOption]) {
    let mut offset = options.len() * 5 + 1;
    for option in options {
        out.push(option.token);
        out.extend_from_slice(&(offset as u16).to_be_bytes());
        out.extend_from_slice(&(option.data.len() as u16).to_be_bytes());
        offset += option.data.len();
    }
    out.push(OPTION_TERMINATOR);
    for option in options {
        out.extend_from_slice(&option.data);
    }
}
