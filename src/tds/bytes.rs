//! Bounds-checked reading of token bytes, and the reader's error types.

use std::fmt;

/// The server sent something the protocol does not allow: the connection
/// cannot be trusted to be in step any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    pub fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed response from the server: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// The bytes at hand end before the item being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

impl From<Truncated> for ProtocolError {
    fn from(_: Truncated) -> Self {
        ProtocolError::new("a token ends before its last field")
    }
}

/// Why an item could not be read from the bytes at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Short {
    /// More bytes are needed; retry with them.
    Incomplete,
    Malformed(ProtocolError),
}

impl From<Truncated> for Short {
    fn from(_: Truncated) -> Self {
        Short::Incomplete
    }
}

impl From<ProtocolError> for Short {
    fn from(error: ProtocolError) -> Self {
        Short::Malformed(error)
    }
}

/// A cursor over bytes; every read checks that the bytes are there.
pub(crate) struct Bytes<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.at
    }

    pub(crate) fn take(&mut self, count: usize) -> Result<&'a [u8], Truncated> {
        let end = self.at.checked_add(count).ok_or(Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(Truncated)?;
        self.at = end;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Truncated> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Truncated> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Truncated> {
        self.array().map(u64::from_le_bytes)
    }

    /// UTF-16 text of `units` code units. Names and messages, not data:
    /// an unpaired surrogate becomes U+FFFD rather than failing the response.
    fn utf16(&mut self, units: usize) -> Result<String, Truncated> {
        let bytes = self.take(units * 2)?;
        let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        Ok(String::from_utf16_lossy(&units))
    }

    /// B_VARCHAR: a one-byte count of UTF-16 units, then the units.
    pub(crate) fn b_varchar(&mut self) -> Result<String, Truncated> {
        let units = self.u8()?;
        self.utf16(usize::from(units))
    }

    /// US_VARCHAR: a two-byte count of UTF-16 units, then the units.
    pub(crate) fn us_varchar(&mut self) -> Result<String, Truncated> {
        let units = self.u16()?;
        self.utf16(usize::from(units))
    }

    /// B_VARBYTE: a one-byte length, then the bytes.
    pub(crate) fn b_varbyte(&mut self) -> Result<&'a [u8], Truncated> {
        let length = self.u8()?;
        self.take(usize::from(length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_check_bounds() {
        let mut bytes = Bytes::new(&[1, 2, 0, 3]);
        assert_eq!(bytes.u8(), Ok(1));
        assert_eq!(bytes.u16(), Ok(2));
        assert_eq!(bytes.u16(), Err(Truncated));
        assert_eq!(bytes.position(), 3);
        assert_eq!(bytes.take(usize::MAX), Err(Truncated));
    }

    #[test]
    fn names_are_counted_in_utf16_units() {
        let mut bytes = Bytes::new(&[2, b'i', 0, b'd', 0, 1, 0, 0xA9, 0]);
        assert_eq!(bytes.b_varchar().as_deref(), Ok("id"));
        assert_eq!(bytes.us_varchar().as_deref(), Ok("\u{a9}"));
    }
}
