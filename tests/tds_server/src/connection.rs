//! One client's byte stream: TCP, optionally wrapped in TLS, read as TDS messages and
//! written as framed packets. The TLS handshake itself travels inside PRELOGIN packets.

use std::io::{self, Read, Write};
use std::ops::Range;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::packet::{
    frame_message, Message, MessageAssembler, PacketHeader, PacketType, DEFAULT_PACKET_SIZE, HEADER_LEN,
};

/// Largest client message accepted (a request with a few big parameters fits easily).
const MAX_MESSAGE_LEN: usize = 512 * 1024 * 1024;
/// Bytes a socket read makes room for.
const RECEIVE_LEN: usize = 16 * 1024;

pub struct Connection {
    tcp: TcpStream,
    tls: Option<rustls::ServerConnection>,
    /// Plaintext TDS bytes received; those before `inbox_cut` are already cut into packets
    /// (the next read moves the rest to the front, instead of every packet cut doing it).
    inbox: Vec<u8>,
    inbox_cut: usize,
    /// TLS records as read from the socket, before decryption (the buffer is kept).
    records: Vec<u8>,
    assembler: MessageAssembler,
    /// Negotiated packet size for outgoing messages.
    pub packet_size: usize,
    /// SPID written into outgoing packet headers.
    pub spid: u16,
}

fn protocol_error(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl Connection {
    pub fn new(tcp: TcpStream) -> Connection {
        Connection {
            tcp,
            tls: None,
            inbox: Vec::new(),
            inbox_cut: 0,
            records: Vec::new(),
            assembler: MessageAssembler::default(),
            packet_size: DEFAULT_PACKET_SIZE,
            spid: 0,
        }
    }

    /// Reads the next complete message. Cancel-safe: partial input stays buffered in `self`,
    /// so it can race a timer (attention during `WAITFOR DELAY`).
    pub async fn read_message(&mut self) -> io::Result<Message> {
        loop {
            let (header, data) = self.next_packet().await?;
            let packet = &self.inbox[data];
            if let Some(message) = self.assembler.push(&header, packet, MAX_MESSAGE_LEN).map_err(protocol_error)? {
                return Ok(message);
            }
        }
    }

    /// The next complete message if its bytes have already arrived, without waiting: how a
    /// response being streamed notices an Attention.
    pub fn try_read_message(&mut self) -> io::Result<Option<Message>> {
        loop {
            while let Some((header, data)) = self.buffered_packet()? {
                let packet = &self.inbox[data];
                if let Some(message) = self.assembler.push(&header, packet, MAX_MESSAGE_LEN).map_err(protocol_error)? {
                    return Ok(Some(message));
                }
            }
            match self.try_receive() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                received => received?,
            }
        }
    }

    /// Closes the socket on purpose (a fault a test asked for).
    pub async fn close(&mut self) -> io::Result<()> {
        self.tcp.shutdown().await
    }

    /// The next packet in `inbox`, if it is complete: its header and where its data is in
    /// `inbox` (until the next read), without copying it.
    fn buffered_packet(&mut self) -> io::Result<Option<(PacketHeader, Range<usize>)>> {
        let start = self.inbox_cut;
        let rest = &self.inbox[start..];
        if rest.len() < HEADER_LEN {
            return Ok(None);
        }
        let header = PacketHeader::parse(rest).map_err(protocol_error)?;
        let length = header.length as usize;
        if rest.len() < length {
            return Ok(None);
        }
        self.inbox_cut += length;
        Ok(Some((header, start + HEADER_LEN..start + length)))
    }

    async fn next_packet(&mut self) -> io::Result<(PacketHeader, Range<usize>)> {
        loop {
            if let Some(packet) = self.buffered_packet()? {
                return Ok(packet);
            }
            self.receive().await?;
        }
    }

    /// Waits for bytes from the client and adds them to `inbox`.
    async fn receive(&mut self) -> io::Result<()> {
        loop {
            self.tcp.readable().await?;
            match self.try_receive() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                received => return received,
            }
        }
    }

    /// One socket read of what has arrived (`WouldBlock` when nothing has), added to `inbox`:
    /// plaintext straight into its free space (no buffer zeroed per read), TLS records
    /// decrypted into it.
    fn try_receive(&mut self) -> io::Result<()> {
        self.inbox.drain(..self.inbox_cut);
        self.inbox_cut = 0;
        let n = match &mut self.tls {
            None => {
                self.inbox.reserve(RECEIVE_LEN);
                self.tcp.try_read_buf(&mut self.inbox)?
            }
            Some(tls) => {
                self.records.resize(RECEIVE_LEN, 0);
                let n = self.tcp.try_read(&mut self.records)?;
                decrypt(tls, &self.records[..n], &mut self.inbox)?;
                n
            }
        };
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "client closed the connection"));
        }
        Ok(())
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.tls {
            None => self.tcp.write_all(bytes).await,
            Some(tls) => {
                let mut records = Vec::new();
                for chunk in bytes.chunks(16 * 1024) {
                    tls.writer().write_all(chunk)?;
                    while tls.wants_write() {
                        tls.write_tls(&mut records)?;
                    }
                }
                self.tcp.write_all(&records).await
            }
        }
    }

    /// Sends a whole message, split at the negotiated packet size.
    pub async fn send_message(&mut self, ty: PacketType, payload: &[u8]) -> io::Result<()> {
        let mut out = Vec::with_capacity(payload.len() + HEADER_LEN);
        frame_message(&mut out, ty, self.spid, self.packet_size, payload);
        self.write_all(&out).await
    }

    /// TDS 7.x: runs the TLS handshake with both directions wrapped in PRELOGIN (0x12)
    /// messages, then encrypts everything that follows.
    pub async fn start_tls(&mut self, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
        self.handshake(config, HandshakeFraming::PreloginPackets).await
    }

    /// TDS 8.0 strict encryption: runs the TLS handshake on the bare connection before any TDS
    /// message, then encrypts everything that follows.
    pub async fn accept_strict_tls(&mut self, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
        self.handshake(config, HandshakeFraming::Bare).await
    }

    async fn handshake(&mut self, config: Arc<rustls::ServerConfig>, framing: HandshakeFraming) -> io::Result<()> {
        let mut tls = rustls::ServerConnection::new(config).map_err(|e| protocol_error(format!("TLS setup: {e}")))?;
        // Plaintext that arrives with the client's last handshake flight (TLS 1.3 lets a client
        // send its first message right behind its Finished).
        let mut early = Vec::new();
        loop {
            self.send_handshake_flight(&mut tls, framing).await?;
            if !tls.is_handshaking() {
                break;
            }
            let records = match framing {
                HandshakeFraming::PreloginPackets => {
                    let (header, data) = self.next_packet().await?;
                    if header.ty != PacketType::PreLogin {
                        return Err(protocol_error(format!(
                            "expected a TLS handshake packet (0x12), got {:?}",
                            header.ty
                        )));
                    }
                    self.inbox[data].to_vec()
                }
                HandshakeFraming::Bare => {
                    let mut buf = vec![0u8; 16 * 1024];
                    let n = self.tcp.read(&mut buf).await?;
                    if n == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "client closed the TLS handshake"));
                    }
                    buf.truncate(n);
                    buf
                }
            };
            if let Err(e) = decrypt(&mut tls, &records, &mut early) {
                // The alert that tells the client why (best effort: the connection ends anyway).
                let _ = self.send_handshake_flight(&mut tls, framing).await;
                return Err(e);
            }
            if framing == HandshakeFraming::PreloginPackets && !early.is_empty() {
                return Err(protocol_error("application data during the TLS handshake".into()));
            }
        }
        // Anything already received after the handshake is TLS records, not packets.
        let received = self.inbox.split_off(self.inbox_cut);
        self.inbox = early;
        self.inbox_cut = 0;
        decrypt(&mut tls, &received, &mut self.inbox)?;
        self.tls = Some(tls);
        Ok(())
    }

    /// Sends what rustls has to say during the handshake (its next flight, or an alert).
    async fn send_handshake_flight(
        &mut self,
        tls: &mut rustls::ServerConnection,
        framing: HandshakeFraming,
    ) -> io::Result<()> {
        let mut flight = Vec::new();
        while tls.wants_write() {
            tls.write_tls(&mut flight)?;
        }
        if flight.is_empty() {
            return Ok(());
        }
        match framing {
            HandshakeFraming::PreloginPackets => self.send_message(PacketType::PreLogin, &flight).await,
            HandshakeFraming::Bare => self.tcp.write_all(&flight).await,
        }
    }

    /// Ends login-only TLS: the login response and everything after it are plaintext.
    pub fn stop_tls(&mut self) {
        self.tls = None;
    }
}

/// How the records of a TLS handshake travel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HandshakeFraming {
    /// TDS 7.x: inside PRELOGIN messages.
    PreloginPackets,
    /// TDS 8.0: as they are, on the connection.
    Bare,
}

/// Feeds TLS records to rustls and appends the plaintext they carry.
fn decrypt(tls: &mut rustls::ServerConnection, mut records: &[u8], plaintext: &mut Vec<u8>) -> io::Result<()> {
    while !records.is_empty() {
        tls.read_tls(&mut records)?;
        let state = tls.process_new_packets().map_err(|e| protocol_error(format!("TLS: {e}")))?;
        let available = state.plaintext_bytes_to_read();
        if available > 0 {
            let start = plaintext.len();
            plaintext.resize(start + available, 0);
            tls.reader().read_exact(&mut plaintext[start..])?;
        }
        if state.peer_has_closed() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "client closed the TLS session"));
        }
    }
    Ok(())
}
