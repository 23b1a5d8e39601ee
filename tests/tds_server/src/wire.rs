//! Little-endian primitives of the TDS data stream (MS-TDS 2.2.5.1): a bounds-checked
//! reader for client messages and the US_VARCHAR writer of tokens (B_VARCHAR is
//! `types::write_b_varchar`).

/// Reads from a byte slice; every read is bounds-checked and names what was missing.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Moves past bytes consumed by someone else (e.g. `types::read_value`).
    pub fn advance_to(&mut self, rest: &'a [u8]) {
        self.pos = self.buf.len() - rest.len();
    }

    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.buf.len() - self.pos < n {
            return Err(format!(
                "truncated {what}: needs {n} bytes at offset {}, {} left",
                self.pos,
                self.buf.len() - self.pos
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.bytes(1, what)?[0])
    }

    pub fn u16_le(&mut self, what: &str) -> Result<u16, String> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u16_be(&mut self, what: &str) -> Result<u16, String> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32_le(&mut self, what: &str) -> Result<u32, String> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64_le(&mut self, what: &str) -> Result<u64, String> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// UTF-16LE text of `chars` code units.
    pub fn utf16(&mut self, chars: usize, what: &str) -> Result<String, String> {
        Ok(decode_utf16le(self.bytes(chars * 2, what)?))
    }

    /// B_VARCHAR: a byte count of UTF-16 code units, then the text.
    pub fn b_varchar(&mut self, what: &str) -> Result<String, String> {
        let chars = self.u8(what)? as usize;
        self.utf16(chars, what)
    }

    /// US_VARCHAR: a USHORT count of UTF-16 code units, then the text.
    pub fn us_varchar(&mut self, what: &str) -> Result<String, String> {
        let chars = self.u16_le(what)? as usize;
        self.utf16(chars, what)
    }

    /// B_VARBYTE: a byte length, then the bytes.
    pub fn b_varbyte(&mut self, what: &str) -> Result<&'a [u8], String> {
        let len = self.u8(what)? as usize;
        self.bytes(len, what)
    }
}

pub fn decode_utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

/// US_VARCHAR; text longer than 65535 UTF-16 units is cut there.
pub fn put_us_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(u16::MAX as usize).collect();
    out.extend_from_slice(&(units.len() as u16).to_le_bytes());
    for unit in units {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}
