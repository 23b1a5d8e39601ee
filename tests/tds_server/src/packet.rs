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
    let mut packets = PacketWriter::new(ty, spid, packet_size);
    packets.write(payload);
    out.extend_from_slice(packets.finish());
}

/// Frames one outgoing message whose payload is produced piece by piece, copying each piece
/// once, straight into its packets. Closed packets can leave early (`framed`/`consume_framed`);
/// the last one gets EOM in `finish`, so the final packet is never empty unless the message is.
#[derive(Debug)]
pub struct PacketWriter {
    ty: PacketType,
    spid: u16,
    data_per_packet: usize,
    next_packet_id: u8,
    /// Closed packets, then the open one: its header's place and the data written so far.
    out: Vec<u8>,
    /// Where the open packet's header starts in `out`.
    open: usize,
}

impl PacketWriter {
    pub fn new(ty: PacketType, spid: u16, packet_size: usize) -> PacketWriter {
        PacketWriter {
            ty,
            spid,
            data_per_packet: packet_size.max(MIN_PACKET_SIZE) - HEADER_LEN,
            next_packet_id: 1,
            out: vec![0; HEADER_LEN],
            open: 0,
        }
    }

    /// Appends payload bytes, closing each full packet (without EOM) once more data follows it.
    pub fn write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let used = self.out.len() - self.open - HEADER_LEN;
            if used == self.data_per_packet {
                self.close_open_packet(0);
                continue;
            }
            let take = (self.data_per_packet - used).min(data.len());
            self.out.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
    }

    /// Closes the open packet without EOM even though it is not full, so every byte written
    /// so far can be sent (a connection closed on purpose in the middle of a response).
    pub fn seal(&mut self) {
        if self.out.len() - self.open > HEADER_LEN {
            self.close_open_packet(0);
        }
    }

    /// The closed packets, ready to send.
    pub fn framed(&self) -> &[u8] {
        &self.out[..self.open]
    }

    /// Forgets the closed packets once they are sent.
    pub fn consume_framed(&mut self) {
        self.out.drain(..self.open);
        self.open = 0;
    }

    /// Closes the open packet with EOM; returns every packet not yet consumed.
    pub fn finish(&mut self) -> &[u8] {
        let open = self.open;
        self.write_header(open, STATUS_EOM);
        self.open = self.out.len();
        &self.out
    }

    fn close_open_packet(&mut self, status: u8) {
        self.write_header(self.open, status);
        self.open = self.out.len();
        self.out.extend_from_slice(&[0; HEADER_LEN]);
    }

    fn write_header(&mut self, at: usize, status: u8) {
        let length = (self.out.len() - at) as u16;
        let header =
            PacketHeader { ty: self.ty, status, length, spid: self.spid, packet_id: self.next_packet_id, window: 0 };
        let mut bytes = Vec::with_capacity(HEADER_LEN);
        header.write(&mut bytes);
        self.out[at..at + HEADER_LEN].copy_from_slice(&bytes);
        self.next_packet_id = self.next_packet_id.wrapping_add(1);
    }
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
