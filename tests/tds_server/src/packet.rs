//! TDS packet framing (MS-TDS 2.2.3): the 8-byte header, splitting a message into
//! packets of the negotiated size, and reassembling packets into messages.

/// Message types carried in the packet header's Type byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    SqlBatch,
    Rpc,
    TabularResult,
    Attention,
    BulkLoad,
    TransactionManager,
    Login7,
    Sspi,
    PreLogin,
    Other(u8),
}

impl PacketType {
    pub fn from_byte(b: u8) -> PacketType {
        match b {
            0x01 => PacketType::SqlBatch,
            0x03 => PacketType::Rpc,
            0x04 => PacketType::TabularResult,
            0x06 => PacketType::Attention,
            0x07 => PacketType::BulkLoad,
            0x0E => PacketType::TransactionManager,
            0x10 => PacketType::Login7,
            0x11 => PacketType::Sspi,
            0x12 => PacketType::PreLogin,
            other => PacketType::Other(other),
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            PacketType::SqlBatch => 0x01,
            PacketType::Rpc => 0x03,
            PacketType::TabularResult => 0x04,
            PacketType::Attention => 0x06,
            PacketType::BulkLoad => 0x07,
            PacketType::TransactionManager => 0x0E,
            PacketType::Login7 => 0x10,
            PacketType::Sspi => 0x11,
            PacketType::PreLogin => 0x12,
            PacketType::Other(b) => b,
        }
    }
}

pub const HEADER_LEN: usize = 8;
pub const STATUS_EOM: u8 = 0x01;
pub const STATUS_IGNORE: u8 = 0x02;
pub const STATUS_RESET_CONNECTION: u8 = 0x08;
pub const STATUS_RESET_CONNECTION_SKIP_TRAN: u8 = 0x10;

/// Packet size used before LOGIN7 negotiates one, and for clients that ask for 0.
pub const DEFAULT_PACKET_SIZE: usize = 4096;
pub const MIN_PACKET_SIZE: usize = 512;
pub const MAX_PACKET_SIZE: usize = 32767;

/// The packet size the server agrees to for a LOGIN7 PacketSize request.
pub fn negotiate_packet_size(requested: u32) -> usize {
    if requested == 0 {
        DEFAULT_PACKET_SIZE
    } else {
        (requested as usize).clamp(MIN_PACKET_SIZE, MAX_PACKET_SIZE)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketHeader {
    pub ty: PacketType,
    pub status: u8,
    /// Total packet length including the header.
    pub length: u16,
    pub spid: u16,
    pub packet_id: u8,
    pub window: u8,
}

impl PacketHeader {
    pub fn parse(bytes: &[u8]) -> Result<PacketHeader, String> {
        if bytes.len() < HEADER_LEN {
            return Err(format!("packet header needs {HEADER_LEN} bytes, got {}", bytes.len()));
        }
        let length = u16::from_be_bytes([bytes[2], bytes[3]]);
        if (length as usize) < HEADER_LEN {
            return Err(format!("packet length {length} is shorter than its header"));
        }
        Ok(PacketHeader {
            ty: PacketType::from_byte(bytes[0]),
            status: bytes[1],
            length,
            spid: u16::from_be_bytes([bytes[4], bytes[5]]),
            packet_id: bytes[6],
            window: bytes[7],
        })
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(self.ty.to_byte());
        out.push(self.status);
        out.extend_from_slice(&self.length.to_be_bytes());
        out.extend_from_slice(&self.spid.to_be_bytes());
        out.push(self.packet_id);
        out.push(self.window);
    }

    pub fn is_end_of_message(&self) -> bool {
        self.status & STATUS_EOM != 0
    }
}

/// Splits a message payload into packets of at most `packet_size` bytes, EOM on the last.
pub fn frame_message(out: &mut Vec<u8>, ty: PacketType, spid: u16, packet_size: usize, payload: &[u8]) {
    MessageFramer::new(ty, spid, packet_size).finish(out, payload);
}

/// Frames one outgoing message whose payload is produced piece by piece: full packets can
/// leave early (e.g. before a `WAITFOR DELAY`), the rest goes out with EOM at the end.
#[derive(Debug)]
pub struct MessageFramer {
    ty: PacketType,
    spid: u16,
    data_per_packet: usize,
    next_packet_id: u8,
}

impl MessageFramer {
    pub fn new(ty: PacketType, spid: u16, packet_size: usize) -> MessageFramer {
        MessageFramer { ty, spid, data_per_packet: packet_size.max(MIN_PACKET_SIZE) - HEADER_LEN, next_packet_id: 1 }
    }

    /// Frames as many full packets as `pending` holds while keeping at least one byte
    /// back, so the final packet (with EOM) is never empty.
    pub fn take_full_packets(&mut self, out: &mut Vec<u8>, pending: &mut Vec<u8>) {
        let mut taken = 0;
        while pending.len() - taken > self.data_per_packet {
            self.packet(out, 0, &pending[taken..taken + self.data_per_packet]);
            taken += self.data_per_packet;
        }
        pending.drain(..taken);
    }

    /// Frames the rest of the message; an empty message is one header-only packet.
    pub fn finish(&mut self, out: &mut Vec<u8>, rest: &[u8]) {
        let mut chunks = rest.chunks(self.data_per_packet).peekable();
        if chunks.peek().is_none() {
            self.packet(out, STATUS_EOM, &[]);
        }
        while let Some(chunk) = chunks.next() {
            let status = if chunks.peek().is_none() { STATUS_EOM } else { 0 };
            self.packet(out, status, chunk);
        }
    }

    fn packet(&mut self, out: &mut Vec<u8>, status: u8, data: &[u8]) {
        frame_packet(out, self.ty, status, self.spid, self.next_packet_id, data);
        self.next_packet_id = self.next_packet_id.wrapping_add(1);
    }
}

/// Appends one packet (header + `data`).
pub fn frame_packet(out: &mut Vec<u8>, ty: PacketType, status: u8, spid: u16, packet_id: u8, data: &[u8]) {
    PacketHeader { ty, status, length: (HEADER_LEN + data.len()) as u16, spid, packet_id, window: 0 }.write(out);
    out.extend_from_slice(data);
}

/// A complete message reassembled from its packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub ty: PacketType,
    /// Status byte of the first packet (carries the RESETCONNECTION bits).
    pub status: u8,
    pub payload: Vec<u8>,
}

impl Message {
    pub fn reset_connection(&self) -> bool {
        self.status & (STATUS_RESET_CONNECTION | STATUS_RESET_CONNECTION_SKIP_TRAN) != 0
    }

    pub fn reset_keeps_transaction(&self) -> bool {
        self.status & STATUS_RESET_CONNECTION_SKIP_TRAN != 0
    }
}

/// Collects packets into messages; a packet with the IGNORE bit discards the message.
#[derive(Debug, Default)]
pub struct MessageAssembler {
    partial: Option<Message>,
}

impl MessageAssembler {
    /// Takes one packet (header + data); returns the message it completes, if any.
    pub fn push(
        &mut self,
        header: &PacketHeader,
        data: &[u8],
        max_message_len: usize,
    ) -> Result<Option<Message>, String> {
        let mut message =
            self.partial.take().unwrap_or(Message { ty: header.ty, status: header.status, payload: Vec::new() });
        if message.ty != header.ty {
            return Err(format!("packet of type {:?} inside a {:?} message", header.ty, message.ty));
        }
        if message.payload.len() + data.len() > max_message_len {
            return Err(format!("message exceeds {max_message_len} bytes"));
        }
        message.payload.extend_from_slice(data);
        if !header.is_end_of_message() {
            self.partial = Some(message);
            return Ok(None);
        }
        if header.status & STATUS_IGNORE != 0 {
            return Ok(None);
        }
        Ok(Some(message))
    }
}
