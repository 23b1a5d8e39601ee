//! TDS packets (MS-TDS 2.2.3): an eight-byte header, then payload. A
//! response is a message of one or more packets, the last marked
//! end-of-message (EOM). The deframer takes raw bytes as they arrive, in
//! reads that split packets anywhere, and hands out the payload pieces.

use super::bytes::ProtocolError;

pub const HEADER_LENGTH: usize = 8;
/// Packet type of a server response.
pub const TABULAR_RESULT: u8 = 0x04;
const STATUS_END_OF_MESSAGE: u8 = 0x01;

/// Where the deframer is in the message.
#[derive(Debug, Default)]
pub struct Deframer {
    header: [u8; HEADER_LENGTH],
    /// Header bytes received of the packet about to start.
    header_received: usize,
    /// Payload bytes of the current packet still to come.
    payload_left: usize,
    last_packet: bool,
    ended: bool,
}

impl Deframer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the message's last packet has been received completely.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Passes the payload pieces in `bytes` to `payload`, in order. Returns
    /// the bytes used, which is all of them unless the message ended before
    /// (the rest belongs to the next message).
    pub fn split<E: From<ProtocolError>>(
        &mut self,
        bytes: &[u8],
        mut payload: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut at = 0;
        while at < bytes.len() && !self.ended {
            if self.payload_left == 0 {
                let wanted = HEADER_LENGTH - self.header_received;
                let taken = wanted.min(bytes.len() - at);
                self.header[self.header_received..self.header_received + taken].copy_from_slice(&bytes[at..at + taken]);
                self.header_received += taken;
                at += taken;
                if self.header_received < HEADER_LENGTH {
                    break;
                }
                self.header_received = 0;
                self.start_packet()?;
                if self.payload_left == 0 && self.last_packet {
                    self.ended = true;
                }
                continue;
            }
            let piece = self.payload_left.min(bytes.len() - at);
            payload(&bytes[at..at + piece])?;
            at += piece;
            self.payload_left -= piece;
            if self.payload_left == 0 && self.last_packet {
                self.ended = true;
            }
        }
        Ok(at)
    }

    fn start_packet(&mut self) -> Result<(), ProtocolError> {
        let [kind, status, high, low, ..] = self.header;
        if kind != TABULAR_RESULT {
            return Err(ProtocolError::new(format!("a packet of type 0x{kind:02X} in a response")));
        }
        let length = usize::from(u16::from_be_bytes([high, low]));
        if length < HEADER_LENGTH {
            return Err(ProtocolError::new(format!("a packet of {length} bytes")));
        }
        self.payload_left = length - HEADER_LENGTH;
        self.last_packet = status & STATUS_END_OF_MESSAGE != 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(last: bool, payload: &[u8]) -> Vec<u8> {
        let length = (payload.len() + HEADER_LENGTH) as u16;
        let mut bytes = vec![TABULAR_RESULT, u8::from(last), (length >> 8) as u8, length as u8, 0, 0, 1, 0];
        bytes.extend(payload);
        bytes
    }

    #[test]
    fn payloads_come_out_whole_whatever_the_reads() {
        let message = [packet(false, b"hello "), packet(false, b""), packet(true, b"world")].concat();
        let next = packet(true, b"next");
        let stream = [message.clone(), next].concat();
        for read_size in 1..=stream.len() {
            let mut deframer = Deframer::new();
            let mut payload = Vec::new();
            let mut used = 0;
            for read in stream.chunks(read_size) {
                if deframer.ended() {
                    break;
                }
                used += deframer
                    .split::<ProtocolError>(read, |piece| {
                        payload.extend_from_slice(piece);
                        Ok(())
                    })
                    .unwrap();
            }
            assert!(deframer.ended());
            assert_eq!((payload.as_slice(), used), (&b"hello world"[..], message.len()), "reads of {read_size}");
        }
    }

    #[test]
    fn bad_headers_are_protocol_errors() {
        let mut wrong_type = packet(true, b"x");
        wrong_type[0] = 0x12;
        assert!(Deframer::new().split::<ProtocolError>(&wrong_type, |_| Ok(())).is_err());
        let mut too_short = packet(true, b"");
        too_short[3] = 4;
        assert!(Deframer::new().split::<ProtocolError>(&too_short, |_| Ok(())).is_err());
    }
}
