//! Text values into UTF-8: UTF-16LE (nchar, nvarchar, ntext, xml) by a
//! transcoder with an ASCII fast path, single-byte and multi-byte code pages
//! (char, varchar, text) through encoding_rs. Both take a value in pieces
//! (PLP chunks and packets split values anywhere, even inside a code unit).

use encoding_rs::{DecoderResult, Encoding};

/// A text value that does not decode (an unpaired surrogate, bytes that are
/// not text in the column's code page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidText(pub String);

/// Streaming UTF-16LE to UTF-8 for one value at a time.
#[derive(Debug, Default)]
pub(crate) struct Utf16Transcoder {
    /// The first byte of a code unit whose second byte has not arrived.
    odd_byte: Option<u8>,
    /// A high surrogate waiting for its low half.
    high_surrogate: Option<u16>,
}

impl Utf16Transcoder {
    /// Appends the UTF-8 of the next piece of the value to `out`.
    pub(crate) fn push(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidText> {
        // Units begun or paired in an earlier piece come first, one by one.
        while (self.odd_byte.is_some() || self.high_surrogate.is_some()) && !bytes.is_empty() {
            let unit = match self.odd_byte.take() {
                Some(first) => {
                    let unit = u16::from_le_bytes([first, bytes[0]]);
                    bytes = &bytes[1..];
                    unit
                }
                None if bytes.len() >= 2 => {
                    let unit = u16::from_le_bytes([bytes[0], bytes[1]]);
                    bytes = &bytes[2..];
                    unit
                }
                None => {
                    self.odd_byte = Some(bytes[0]);
                    return Ok(());
                }
            };
            self.unit(unit, out)?;
        }
        let even = bytes.len() & !1;
        let done = transcode(&bytes[..even], out)?;
        if done < even {
            // The piece ends with a high surrogate: its pair is in the next.
            self.high_surrogate = Some(u16::from_le_bytes([bytes[done], bytes[done + 1]]));
        }
        if even < bytes.len() {
            self.odd_byte = Some(bytes[even]);
        }
        Ok(())
    }

    /// The value ended: nothing may be left half-way.
    pub(crate) fn finish(&mut self) -> Result<(), InvalidText> {
        let pending = self.odd_byte.take().is_some() | self.high_surrogate.take().is_some();
        if pending {
            return Err(InvalidText("UTF-16 text ends inside a character".into()));
        }
        Ok(())
    }

    fn unit(&mut self, unit: u16, out: &mut Vec<u8>) -> Result<(), InvalidText> {
        let code_point = match (self.high_surrogate.take(), unit) {
            (Some(high), 0xDC00..=0xDFFF) => 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00),
            (Some(_), _) => return Err(unpaired()),
            (None, 0xD800..=0xDBFF) => {
                self.high_surrogate = Some(unit);
                return Ok(());
            }
            (None, 0xDC00..=0xDFFF) => return Err(unpaired()),
            (None, unit) => u32::from(unit),
        };
        let c = char::from_u32(code_point).ok_or_else(unpaired)?;
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }
}

fn unpaired() -> InvalidText {
    InvalidText("UTF-16 text with an unpaired surrogate (not representable as UTF-8)".into())
}

/// A whole UTF-16LE value into UTF-8.
pub(crate) fn utf16_to_utf8(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidText> {
    if !bytes.len().is_multiple_of(2) {
        return Err(InvalidText("UTF-16 text of an odd number of bytes".into()));
    }
    match transcode(bytes, out)? {
        done if done == bytes.len() => Ok(()),
        _ => Err(unpaired()),
    }
}

/// Transcodes whole code units (`src.len()` is even) into `out`; returns the
/// bytes consumed, which stop short of `src.len()` only before a final high
/// surrogate whose low half is not in `src`.
fn transcode(src: &[u8], out: &mut Vec<u8>) -> Result<usize, InvalidText> {
    debug_assert!(src.len().is_multiple_of(2));
    let units = src.len() / 2;
    // At most three UTF-8 bytes per code unit (a pair of units: four), and
    // the ASCII step below stores eight bytes where it may keep fewer.
    out.reserve(units * 3 + 8);
    let start = out.len();
    let spare = out.spare_capacity_mut();
    let dst = spare.as_mut_ptr().cast::<u8>();
    let (mut at, mut written) = (0, 0);
    let mut outcome = Ok(());
    while at < units {
        // SAFETY (every write below): `written` <= 3 * `at` (no unit gives
        // more than three bytes, a pair four), so from `written` on there
        // are at least 3 * (units - at) + 8 bytes of spare capacity: room
        // for the eight bytes of the ASCII step and the four of a character.
        let ascii = unsafe { ascii_prefix(&src[at * 2..], dst.add(written)) };
        at += ascii;
        written += ascii;
        let Some(&[low, high]) = src.get(at * 2..at * 2 + 2) else { break };
        let unit = u32::from(u16::from_le_bytes([low, high]));
        if unit & 0xF800 == 0xD800 {
            // A surrogate: with the low half that must follow, four bytes.
            if unit >= 0xDC00 {
                outcome = Err(unpaired());
                break;
            }
            let Some(&[a, b]) = src.get(at * 2 + 2..at * 2 + 4) else { break };
            let second = u32::from(u16::from_le_bytes([a, b]));
            if !(0xDC00..=0xDFFF).contains(&second) {
                outcome = Err(unpaired());
                break;
            }
            let code_point = 0x10000 + ((unit - 0xD800) << 10) + (second - 0xDC00);
            let bytes = (0xF0 | (code_point >> 18))
                | (0x80 | ((code_point >> 12) & 0x3F)) << 8
                | (0x80 | ((code_point >> 6) & 0x3F)) << 16
                | (0x80 | (code_point & 0x3F)) << 24;
            unsafe { dst.add(written).cast::<u32>().write_unaligned(bytes.to_le()) };
            written += 4;
            at += 2;
            continue;
        }
        // One, two or three bytes, chosen without branches: in mixed text
        // the widths alternate unpredictably. The store writes four bytes;
        // those past the character's are overwritten or left past the end.
        let two = (0xC0 | (unit >> 6)) | (0x80 | (unit & 0x3F)) << 8;
        let three = (0xE0 | (unit >> 12)) | (0x80 | ((unit >> 6) & 0x3F)) << 8 | (0x80 | (unit & 0x3F)) << 16;
        let bytes = if unit < 0x80 {
            unit
        } else if unit < 0x800 {
            two
        } else {
            three
        };
        unsafe { dst.add(written).cast::<u32>().write_unaligned(bytes.to_le()) };
        written += 1 + usize::from(unit >= 0x80) + usize::from(unit >= 0x800);
        at += 1;
    }
    // SAFETY: the first `written` bytes of the spare capacity were written above.
    unsafe { out.set_len(start + written) };
    outcome.map(|()| at * 2)
}

/// Copies the leading ASCII code units of `src` (UTF-16LE) to `dst` as
/// bytes, eight at a time; returns how many. May store up to eight bytes
/// at `dst` whatever it returns.
///
/// # Safety
/// `dst` must be valid for eight bytes of writes beyond every unit it may
/// copy: `src.len() / 2 + 8` bytes.
#[inline]
unsafe fn ascii_prefix(src: &[u8], dst: *mut u8) -> usize {
    let mut units = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SSE2 is part of x86_64.
        while (units + 8) * 2 <= src.len() {
            // SAFETY: 16 bytes are readable at `units * 2` (the loop
            // condition); `dst` has room (this function's contract);
            // unaligned loads and stores are used.
            let non_ascii = unsafe {
                let v = _mm_loadu_si128(src.as_ptr().add(units * 2).cast());
                _mm_storel_epi64(dst.add(units).cast(), _mm_packus_epi16(v, v));
                let high = _mm_and_si128(v, _mm_set1_epi16(0xFF80u16 as i16));
                !_mm_movemask_epi8(_mm_cmpeq_epi16(high, _mm_setzero_si128())) & 0xFFFF
            };
            if non_ascii != 0 {
                // The units before the first non-ASCII one were stored right.
                return units + non_ascii.trailing_zeros() as usize / 2;
            }
            units += 8;
        }
    }
    units
}

/// Streaming decoding of one char/varchar/text value in its code page.
pub(crate) struct CodePageDecoder {
    encoding: &'static Encoding,
    /// Created at the first non-ASCII piece: ASCII bytes are themselves in
    /// every code page SQL Server uses, and leave no state behind.
    decoder: Option<encoding_rs::Decoder>,
}

impl CodePageDecoder {
    pub(crate) fn new(encoding: &'static Encoding) -> Self {
        Self { encoding, decoder: None }
    }

    pub(crate) fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidText> {
        if self.decoder.is_none() && bytes.is_ascii() {
            out.extend_from_slice(bytes);
            return Ok(());
        }
        self.decode(bytes, out, false)
    }

    /// The value ended; a character left half-way is an error.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), InvalidText> {
        let outcome = if self.decoder.is_some() { self.decode(&[], out, true) } else { Ok(()) };
        self.decoder = None;
        outcome
    }

    fn decode(&mut self, mut bytes: &[u8], out: &mut Vec<u8>, last: bool) -> Result<(), InvalidText> {
        let encoding = self.encoding;
        let decoder = self.decoder.get_or_insert_with(|| encoding.new_decoder_without_bom_handling());
        loop {
            let room = decoder.max_utf8_buffer_length_without_replacement(bytes.len()).unwrap_or(bytes.len() * 3 + 16);
            let start = out.len();
            out.resize(start + room, 0);
            let (result, read, written) = decoder.decode_to_utf8_without_replacement(bytes, &mut out[start..], last);
            out.truncate(start + written);
            bytes = &bytes[read..];
            match result {
                DecoderResult::InputEmpty => return Ok(()),
                DecoderResult::OutputFull => continue,
                DecoderResult::Malformed(..) => {
                    return Err(InvalidText(format!("bytes that are not text in code page {}", encoding.name())))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(units: &[u16]) -> Vec<u8> {
        units.iter().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// A deterministic pseudo-random sequence (xorshift), for test data.
    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn whole_values_match_the_standard_library() {
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        for case in 0..2000 {
            let len = (xorshift(&mut seed) % 70) as usize;
            let units: Vec<u16> = (0..len)
                .map(|_| match xorshift(&mut seed) % 10 {
                    0 => (xorshift(&mut seed) % 0x10000) as u16,
                    1 => 0xD800 + (xorshift(&mut seed) % 0x400) as u16,
                    2 => 0xDC00 + (xorshift(&mut seed) % 0x400) as u16,
                    3 => 0x80 + (xorshift(&mut seed) % 0x780) as u16,
                    _ => (xorshift(&mut seed) % 0x80) as u16,
                })
                .collect();
            let mut out = b"prefix".to_vec();
            let ours = utf16_to_utf8(&utf16le(&units), &mut out);
            match String::from_utf16(&units) {
                Ok(expected) => {
                    assert_eq!(ours, Ok(()), "case {case}: {units:x?}");
                    assert_eq!(std::str::from_utf8(&out[6..]).unwrap(), expected, "case {case}");
                }
                Err(_) => assert!(ours.is_err(), "case {case}: {units:x?} should fail"),
            }
        }
    }

    #[test]
    fn pieces_cut_anywhere_give_the_whole_value() {
        let text = "ascii then é, 日本語, 🎉 and more ascii to pass the sixteen-byte blocks 🎉";
        let bytes = utf16le(&text.encode_utf16().collect::<Vec<_>>());
        for cut_a in 0..bytes.len() {
            for cut_b in [cut_a, (cut_a + 7).min(bytes.len()), bytes.len()] {
                let mut transcoder = Utf16Transcoder::default();
                let mut out = Vec::new();
                transcoder.push(&bytes[..cut_a], &mut out).unwrap();
                transcoder.push(&bytes[cut_a..cut_b], &mut out).unwrap();
                transcoder.push(&bytes[cut_b..], &mut out).unwrap();
                transcoder.finish().unwrap();
                assert_eq!(std::str::from_utf8(&out).unwrap(), text, "cuts {cut_a} {cut_b}");
            }
        }
    }

    #[test]
    fn a_value_ending_inside_a_character_is_an_error() {
        let mut transcoder = Utf16Transcoder::default();
        transcoder.push(&utf16le(&[0x41, 0xD83C]), &mut Vec::new()).unwrap();
        assert!(transcoder.finish().is_err());
        transcoder.push(&[0x41], &mut Vec::new()).unwrap();
        assert!(transcoder.finish().is_err());
        assert!(utf16_to_utf8(&[0x41, 0, 0x42], &mut Vec::new()).is_err());
        assert!(Utf16Transcoder::default().push(&utf16le(&[0xD83C, 0x41]), &mut Vec::new()).is_err());
    }

    #[test]
    fn code_pages_decode_in_pieces_and_refuse_what_is_not_text() {
        let mut out = Vec::new();
        let mut latin1 = CodePageDecoder::new(encoding_rs::WINDOWS_1252);
        latin1.push(b"caf", &mut out).unwrap();
        latin1.push(&[0xE9, b'!'], &mut out).unwrap();
        latin1.finish(&mut out).unwrap();
        assert_eq!(out, "café!".as_bytes());

        // Shift-JIS: "日本" is 93 FA 96 7B; the trail byte 0x7B is in ASCII's range.
        let mut out = Vec::new();
        let mut sjis = CodePageDecoder::new(encoding_rs::SHIFT_JIS);
        sjis.push(&[0x93, 0xFA, 0x96], &mut out).unwrap();
        sjis.push(&[0x7B], &mut out).unwrap();
        sjis.finish(&mut out).unwrap();
        assert_eq!(out, "日本".as_bytes());

        let mut utf8 = CodePageDecoder::new(encoding_rs::UTF_8);
        assert!(utf8.push(&[0xC3, 0x28], &mut Vec::new()).is_err());
        let mut cut = CodePageDecoder::new(encoding_rs::UTF_8);
        let mut out = Vec::new();
        cut.push(&[0xC3], &mut out).unwrap();
        assert!(cut.finish(&mut out).is_err());
    }
}
