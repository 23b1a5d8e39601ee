//! The tokens of a response other than COLMETADATA, ROW and RETURNVALUE:
//! what they mean and how their (complete) bytes are parsed.

use super::bytes::{Bytes, ProtocolError};

/// Token type bytes (MS-TDS 2.2.7).
pub mod token {
    pub const ALTMETADATA: u8 = 0x88;
    pub const ALTROW: u8 = 0xD3;
    pub const COLINFO: u8 = 0xA5;
    pub const COLMETADATA: u8 = 0x81;
    pub const DATACLASSIFICATION: u8 = 0xA3;
    pub const DONE: u8 = 0xFD;
    pub const DONEINPROC: u8 = 0xFF;
    pub const DONEPROC: u8 = 0xFE;
    pub const ENVCHANGE: u8 = 0xE3;
    pub const ERROR: u8 = 0xAA;
    pub const FEATUREEXTACK: u8 = 0xAE;
    pub const FEDAUTHINFO: u8 = 0xEE;
    pub const INFO: u8 = 0xAB;
    pub const LOGINACK: u8 = 0xAD;
    pub const NBCROW: u8 = 0xD2;
    pub const OFFSET: u8 = 0x78;
    pub const ORDER: u8 = 0xA9;
    pub const RETURNSTATUS: u8 = 0x79;
    pub const RETURNVALUE: u8 = 0xAC;
    pub const ROW: u8 = 0xD1;
    pub const SESSIONSTATE: u8 = 0xE4;
    pub const SSPI: u8 = 0xED;
    pub const TABNAME: u8 = 0xA4;
}

/// Which of the three DONE tokens ended a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneKind {
    /// A statement of a batch, or the whole batch.
    Done,
    /// A stored procedure (or an RPC) ended.
    Proc,
    /// A statement inside a stored procedure.
    InProc,
}

/// A DONE, DONEPROC or DONEINPROC token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub kind: DoneKind,
    pub status: u16,
    pub cur_cmd: u16,
    pub row_count: u64,
}

impl Done {
    pub const MORE: u16 = 0x1;
    pub const ERROR: u16 = 0x2;
    pub const IN_XACT: u16 = 0x4;
    pub const COUNT: u16 = 0x10;
    pub const ATTENTION: u16 = 0x20;
    pub const SERVER_ERROR: u16 = 0x100;

    /// The row count, when the status says it is valid.
    pub fn count(&self) -> Option<u64> {
        (self.status & Self::COUNT != 0).then_some(self.row_count)
    }

    /// The last token of the response (no DONE_MORE).
    pub fn is_final(&self) -> bool {
        self.status & Self::MORE == 0
    }

    /// The acknowledgement of an Attention.
    pub fn acknowledges_attention(&self) -> bool {
        self.status & Self::ATTENTION != 0
    }

    /// The body after the token byte: 2 + 2 + 8 bytes (TDS 7.2+).
    pub(crate) const BODY: usize = 12;

    pub(crate) fn parse(kind: DoneKind, body: &[u8]) -> Result<Self, ProtocolError> {
        let mut bytes = Bytes::new(body);
        Ok(Self { kind, status: bytes.u16()?, cur_cmd: bytes.u16()?, row_count: bytes.u64()? })
    }
}

/// An ERROR or INFO token (PRINT, RAISERROR with a low severity, warnings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMessage {
    pub is_error: bool,
    pub number: u32,
    pub state: u8,
    /// The severity ("class"); up to 10 is informational.
    pub severity: u8,
    pub message: String,
    pub server: String,
    pub procedure: String,
    pub line: u32,
}

impl ServerMessage {
    pub(crate) fn parse(is_error: bool, body: &[u8]) -> Result<Self, ProtocolError> {
        let mut bytes = Bytes::new(body);
        Ok(Self {
            is_error,
            number: bytes.u32()?,
            state: bytes.u8()?,
            severity: bytes.u8()?,
            message: bytes.us_varchar()?,
            server: bytes.b_varchar()?,
            procedure: bytes.b_varchar()?,
            line: bytes.u32()?,
        })
    }
}

/// An ENVCHANGE token (MS-TDS 2.2.7.9), as far as a client acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvChange {
    Database(String),
    /// The negotiated packet size in bytes.
    PacketSize(u32),
    /// The database's default collation (5 bytes), empty when reset.
    Collation(Vec<u8>),
    /// A transaction began; requests must carry this descriptor.
    BeginTransaction([u8; 8]),
    /// The transaction ended: committed, rolled back, defected or ended by
    /// the server (types 9, 10, 12, 17).
    TransactionEnded,
    /// The server performed the session reset a request asked for.
    ResetConnection,
    /// Routing to another server (Azure SQL gateways).
    Routing {
        host: String,
        port: u16,
    },
    /// Language, character set, sort order, mirroring partner, DTC and
    /// other changes a client only takes note of.
    Other(u8),
}

impl EnvChange {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let mut bytes = Bytes::new(body);
        let kind = bytes.u8()?;
        Ok(match kind {
            1 => EnvChange::Database(bytes.b_varchar()?),
            4 => {
                let text = bytes.b_varchar()?;
                let size = text.parse().map_err(|_| ProtocolError::new(format!("packet size '{text}'")))?;
                EnvChange::PacketSize(size)
            }
            7 => EnvChange::Collation(bytes.b_varbyte()?.to_vec()),
            8 => {
                let descriptor = bytes.b_varbyte()?;
                let descriptor = descriptor.try_into().map_err(|_| {
                    ProtocolError::new(format!("a transaction descriptor of {} bytes", descriptor.len()))
                })?;
                EnvChange::BeginTransaction(descriptor)
            }
            9 | 10 | 12 | 17 => EnvChange::TransactionEnded,
            18 => EnvChange::ResetConnection,
            20 => {
                // Value length, protocol (0 = TCP), port, server name.
                let _length = bytes.u16()?;
                let _protocol = bytes.u8()?;
                let port = bytes.u16()?;
                EnvChange::Routing { port, host: bytes.us_varchar()? }
            }
            other => EnvChange::Other(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn done_flags() {
        let body = [0x11, 0x00, 0xC1, 0x00, 5, 0, 0, 0, 0, 0, 0, 0];
        let done = Done::parse(DoneKind::Done, &body).unwrap();
        assert_eq!((done.count(), done.is_final(), done.cur_cmd), (Some(5), false, 0xC1));
        assert!(Done::parse(DoneKind::Done, &body[..11]).is_err());
    }

    #[test]
    fn an_error_token_body() {
        let mut body = vec![];
        body.extend(208u32.to_le_bytes());
        body.extend([1, 16]);
        body.extend(13u16.to_le_bytes());
        body.extend(utf16("Invalid name."));
        body.push(3);
        body.extend(utf16("srv"));
        body.push(0);
        body.extend(7u32.to_le_bytes());
        let message = ServerMessage::parse(true, &body).unwrap();
        assert_eq!((message.number, message.state, message.severity, message.line), (208, 1, 16, 7));
        assert_eq!(
            (message.message.as_str(), message.server.as_str(), message.procedure.as_str()),
            ("Invalid name.", "srv", "")
        );
        assert!(ServerMessage::parse(true, &body[..body.len() - 1]).is_err());
    }

    #[test]
    fn env_changes() {
        let mut packet_size = vec![4, 4];
        packet_size.extend(utf16("8000"));
        packet_size.push(4);
        packet_size.extend(utf16("4096"));
        assert_eq!(EnvChange::parse(&packet_size).unwrap(), EnvChange::PacketSize(8000));
        let begin = [8, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0];
        assert_eq!(EnvChange::parse(&begin).unwrap(), EnvChange::BeginTransaction([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(EnvChange::parse(&[10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap(), EnvChange::TransactionEnded);
        assert!(EnvChange::parse(&[8, 3, 1, 2, 3, 0]).is_err());
        assert_eq!(EnvChange::parse(&[2, 0, 0]).unwrap(), EnvChange::Other(2));
    }
}
