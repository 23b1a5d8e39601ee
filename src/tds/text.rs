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
        let done = transcode(bytes, even / 2, out)?;
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

/// A whole UTF-16LE value, the first `len` bytes of `bytes`, into UTF-8.
/// The bytes after the value (the rest of the response, if any) are never
/// transcoded, but may be read: the value's last block is then loaded
/// whole instead of piece by piece.
pub(crate) fn utf16_to_utf8(bytes: &[u8], len: usize, out: &mut Vec<u8>) -> Result<(), InvalidText> {
    if !len.is_multiple_of(2) {
        return Err(InvalidText("UTF-16 text of an odd number of bytes".into()));
    }
    match transcode(bytes, len / 2, out)? {
        done if done == len => Ok(()),
        _ => Err(unpaired()),
    }
}

/// Transcodes the first `units` code units of `src` into `out` (what follows
/// them may be read, not transcoded); returns the bytes consumed, which stop
/// short of `2 * units` only before a final high surrogate whose low half
/// is not among them.
fn transcode(src: &[u8], units: usize, out: &mut Vec<u8>) -> Result<usize, InvalidText> {
    debug_assert!(src.len() >= 2 * units);
    // At most three UTF-8 bytes per code unit (a pair of units: four), and
    // the block steps store up to 28 bytes where they may keep fewer.
    out.reserve(units * 3 + BLOCK_SLACK);
    let start = out.len();
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    #[cfg(target_arch = "x86_64")]
    let (at, written, outcome) = if std::arch::is_x86_feature_detected!("sse4.1") {
        // SAFETY: SSE4.1 is present; `dst` has the room `units * 3 + BLOCK_SLACK`.
        unsafe { x86::transcode_blocks(src, units, dst) }
    } else {
        // SAFETY: as above.
        unsafe { transcode_units(&src[..2 * units], dst) }
    };
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: `dst` has the room `units * 3 + BLOCK_SLACK`.
    let (at, written, outcome) = unsafe { transcode_units(&src[..2 * units], dst) };
    // SAFETY: the first `written` bytes of the spare capacity were written.
    unsafe { out.set_len(start + written) };
    outcome.map(|()| at * 2)
}

/// Spare bytes beyond three per unit that `transcode` asks for: a block
/// step stores up to 28 bytes whatever it keeps.
const BLOCK_SLACK: usize = 32;

/// What a transcoding loop reached: units read, bytes written, and whether
/// it stopped at an unpaired surrogate.
type Reached = (usize, usize, Result<(), InvalidText>);

/// The portable loop: ASCII runs eight units at a time, other characters
/// one by one.
///
/// # Safety
/// `dst` must be valid for `3 * src.len() / 2 + BLOCK_SLACK` bytes of writes.
unsafe fn transcode_units(src: &[u8], dst: *mut u8) -> Reached {
    let units = src.len() / 2;
    let (mut at, mut written) = (0, 0);
    while at < units {
        // SAFETY: `written` <= 3 * `at` holds throughout (no unit gives more
        // than three bytes, a pair four), so the contract's room remains.
        let ascii = unsafe { ascii_prefix(&src[at * 2..], dst.add(written)) };
        at += ascii;
        written += ascii;
        if at == units {
            break;
        }
        // SAFETY: as above.
        if let Some(stop) = unsafe { character(src, &mut at, dst, &mut written) } {
            return stop;
        }
    }
    (at, written, Ok(()))
}

/// Encodes the character at unit `*at` (which exists) at byte `*written` of
/// `dst` and moves both past it; `Some` ends the loop instead: before a high
/// surrogate whose low half is not in `src` (it comes with the next piece),
/// or at an unpaired surrogate.
///
/// # Safety
/// `dst` must be valid for four bytes of writes at `*written`.
#[inline(always)]
unsafe fn character(src: &[u8], at: &mut usize, dst: *mut u8, written: &mut usize) -> Option<Reached> {
    let (unit_at, written_at) = (*at, *written);
    // SAFETY: the caller's room.
    let dst = unsafe { dst.add(written_at) };
    let stop = |outcome| Some((unit_at, written_at, outcome));
    let unit = u32::from(u16::from_le_bytes([src[unit_at * 2], src[unit_at * 2 + 1]]));
    if unit & 0xF800 == 0xD800 {
        // A surrogate: with the low half that must follow, four bytes.
        if unit >= 0xDC00 {
            return stop(Err(unpaired()));
        }
        let Some(&[a, b]) = src.get(unit_at * 2 + 2..unit_at * 2 + 4) else { return stop(Ok(())) };
        let second = u32::from(u16::from_le_bytes([a, b]));
        if !(0xDC00..=0xDFFF).contains(&second) {
            return stop(Err(unpaired()));
        }
        let code_point = 0x10000 + ((unit - 0xD800) << 10) + (second - 0xDC00);
        let bytes = (0xF0 | (code_point >> 18))
            | (0x80 | ((code_point >> 12) & 0x3F)) << 8
            | (0x80 | ((code_point >> 6) & 0x3F)) << 16
            | (0x80 | (code_point & 0x3F)) << 24;
        // SAFETY: the caller's room.
        unsafe { dst.cast::<u32>().write_unaligned(bytes.to_le()) };
        (*at, *written) = (unit_at + 2, written_at + 4);
        return None;
    }
    // One, two or three bytes, chosen without branches: in mixed text the
    // widths alternate unpredictably. The store writes four bytes; those
    // past the character's are overwritten or left past the end.
    let two = (0xC0 | (unit >> 6)) | (0x80 | (unit & 0x3F)) << 8;
    let three = (0xE0 | (unit >> 12)) | (0x80 | ((unit >> 6) & 0x3F)) << 8 | (0x80 | (unit & 0x3F)) << 16;
    let bytes = if unit < 0x80 {
        unit
    } else if unit < 0x800 {
        two
    } else {
        three
    };
    // SAFETY: the caller's room.
    unsafe { dst.cast::<u32>().write_unaligned(bytes.to_le()) };
    *at += 1;
    *written += 1 + usize::from(unit >= 0x80) + usize::from(unit >= 0x800);
    None
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{character, Reached};
    use std::arch::x86_64::*;

    /// Shuffles that compact four 32-bit lanes, each holding a character's
    /// one to three UTF-8 bytes (lead byte first), into their bytes in
    /// order. Indexed by the lanes of two or more bytes (bits 0-3) and of
    /// three bytes (bits 4-7); also how many bytes are kept.
    struct Compaction {
        shuffles: [[u8; 16]; 256],
        lengths: [u8; 256],
    }

    static COMPACTION: Compaction = compaction();

    const fn compaction() -> Compaction {
        // 0x80 selects a zero byte: lanes past the kept ones.
        let mut table = Compaction { shuffles: [[0x80; 16]; 256], lengths: [0; 256] };
        let mut index = 0;
        while index < 256 {
            let (mut lane, mut kept) = (0, 0);
            while lane < 4 {
                let width = 1 + (index >> lane & 1) + (index >> (lane + 4) & 1);
                let mut byte = 0;
                while byte < width {
                    table.shuffles[index][kept] = (4 * lane + byte) as u8;
                    kept += 1;
                    byte += 1;
                }
                lane += 1;
            }
            table.lengths[index] = kept as u8;
            index += 1;
        }
        table
    }

    /// Values of at least this many units take ASCII blocks apart.
    const ASCII_RUNS_FROM_UNITS: usize = 64;

    /// Where each byte of a short value (fewer than eight units) lands in
    /// the vector `load_short` reads it into, by units: 0x80 selects zero.
    static SHORT_SHUFFLES: [[u8; 16]; 8] = short_shuffles();

    const fn short_shuffles() -> [[u8; 16]; 8] {
        let mut shuffles = [[0x80; 16]; 8];
        let mut units = 1;
        while units < 8 {
            let len = 2 * units;
            // Two overlapping reads of `piece` bytes: the first at 0, the second ending at `len`.
            let piece = if len >= 8 {
                8
            } else if len >= 4 {
                4
            } else {
                2
            };
            let mut byte = 0;
            while byte < len {
                shuffles[units][byte] = if byte < piece { byte } else { byte + 2 * piece - len } as u8;
                byte += 1;
            }
            units += 1;
        }
        shuffles
    }

    /// A value of fewer than eight units, zero-padded to a vector: two
    /// overlapping reads inside it and one shuffle (a copy to a padded
    /// buffer costs a library call and a stalled reload).
    #[target_feature(enable = "sse4.1")]
    #[inline]
    fn load_short(src: &[u8]) -> __m128i {
        let len = src.len();
        debug_assert!(len < 16 && len.is_multiple_of(2) && len > 0);
        let read = |at: usize, piece: usize| {
            let mut bytes = [0u8; 8];
            bytes[..piece].copy_from_slice(&src[at..at + piece]);
            i64::from_le_bytes(bytes)
        };
        let (first, second) = if len >= 8 {
            (read(0, 8), read(len - 8, 8))
        } else if len >= 4 {
            (read(0, 4) | read(len - 4, 4) << 32, 0)
        } else {
            (read(0, 2), 0)
        };
        // SAFETY: a 16-byte table row.
        let shuffle = unsafe { _mm_loadu_si128(SHORT_SHUFFLES[len / 2].as_ptr().cast()) };
        _mm_shuffle_epi8(_mm_set_epi64x(second, first), shuffle)
    }

    /// Sixteen bytes of ones then sixteen of zeros: the 16 bytes from
    /// `16 - 2 * n` keep the first `n` units of a vector.
    static KEEP_UNITS: [u8; 32] = {
        let mut mask = [0; 32];
        let mut byte = 0;
        while byte < 16 {
            mask[byte] = 0xFF;
            byte += 1;
        }
        mask
    };

    /// Eight code units at a time: a block of ASCII is packed; in any other
    /// block the characters before its first surrogate are encoded in their
    /// lanes (one, two or three bytes) and compacted with two shuffles, and
    /// the surrogate pair goes through `character`. The last, short block
    /// is read zero-padded: loaded whole and masked when the bytes after the
    /// value are readable, else piece by piece.
    ///
    /// # Safety
    /// SSE4.1 must be present, `src` hold at least `units` code units, and
    /// `dst` be valid for `3 * units + BLOCK_SLACK` bytes of writes.
    #[target_feature(enable = "sse4.1")]
    pub(super) unsafe fn transcode_blocks(src: &[u8], units: usize, dst: *mut u8) -> Reached {
        let src_value = &src[..2 * units];
        let (mut at, mut written) = (0, 0);
        let zero = _mm_setzero_si128();
        // Packing ASCII blocks pays in long text; in short mixed values (a
        // name) whether a block is ASCII is a coin toss the branch predictor
        // loses, and the general step encodes ASCII as well.
        let ascii_runs = units >= ASCII_RUNS_FROM_UNITS;
        while at < units {
            // SAFETY (every store below): `written` <= 3 * `at`, so at least
            // 3 * (units - at) + BLOCK_SLACK >= 32 bytes of room remain, and
            // no block stores beyond 12 + 16 bytes from `written`.
            let block = (units - at).min(8);
            let v = if at * 2 + 16 <= src.len() {
                // SAFETY: 16 bytes are readable at unit `at` (the condition),
                // and the mask's 16 bytes lie in its table.
                unsafe {
                    let v = _mm_loadu_si128(src.as_ptr().add(at * 2).cast());
                    _mm_and_si128(v, _mm_loadu_si128(KEEP_UNITS.as_ptr().add(16 - 2 * block).cast()))
                }
            } else {
                load_short(&src_value[at * 2..])
            };
            let ascii = _mm_cmpeq_epi16(_mm_and_si128(v, _mm_set1_epi16(0xFF80u16 as i16)), zero);
            let high_bits = _mm_and_si128(v, _mm_set1_epi16(0xF800u16 as i16));
            let below_800 = _mm_cmpeq_epi16(high_bits, zero);
            // The lanes' widths in the order the compaction tables take
            // them: for lanes 0-3, then 4-7, four bits "two bytes or more"
            // and four bits "three bytes" (one pack, one dword shuffle).
            let widths = !_mm_movemask_epi8(_mm_shuffle_epi32(_mm_packs_epi16(ascii, below_800), 0b11_01_10_00))
                as usize
                & 0xFFFF;
            if ascii_runs && widths & 0x0F0F == 0 {
                // SAFETY: the room above.
                unsafe { _mm_storel_epi64(dst.add(written).cast(), _mm_packus_epi16(v, v)) };
                written += block;
                at += block;
                continue;
            }
            // Two bits per surrogate lane.
            let surrogate_bytes = _mm_movemask_epi8(_mm_cmpeq_epi16(high_bits, _mm_set1_epi16(0xD800u16 as i16)));
            // Lead byte, then the continuation bytes (the third only in
            // three-byte lanes): 0xxxxxxx, 110xxxxx 10xxxxxx, 1110xxxx 10xxxxxx 10xxxxxx.
            let select = |mask: __m128i, yes: __m128i, no: __m128i| _mm_blendv_epi8(no, yes, mask);
            let last = _mm_or_si128(_mm_and_si128(v, _mm_set1_epi16(0x3F)), _mm_set1_epi16(0x80));
            let middle = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(v, 6), _mm_set1_epi16(0x3F)), _mm_set1_epi16(0x80));
            let lead2 = _mm_or_si128(_mm_srli_epi16(v, 6), _mm_set1_epi16(0xC0));
            let lead3 = _mm_or_si128(_mm_srli_epi16(v, 12), _mm_set1_epi16(0xE0));
            let first = select(ascii, v, select(below_800, lead2, lead3));
            let second = select(below_800, last, middle);
            let first_two = _mm_or_si128(first, _mm_slli_epi16(second, 8));
            let low = _mm_unpacklo_epi16(first_two, last);
            let high = _mm_unpackhi_epi16(first_two, last);
            let (low_index, high_index) = (widths & 0xFF, widths >> 8);
            let low_length = usize::from(COMPACTION.lengths[low_index]);
            // SAFETY: 16-byte table rows; the room above.
            unsafe {
                let low_shuffle = _mm_loadu_si128(COMPACTION.shuffles[low_index].as_ptr().cast());
                let high_shuffle = _mm_loadu_si128(COMPACTION.shuffles[high_index].as_ptr().cast());
                _mm_storeu_si128(dst.add(written).cast(), _mm_shuffle_epi8(low, low_shuffle));
                _mm_storeu_si128(dst.add(written + low_length).cast(), _mm_shuffle_epi8(high, high_shuffle));
            }
            if surrogate_bytes == 0 {
                // The padding's zeros are the last bytes kept: not counted.
                written += low_length + usize::from(COMPACTION.lengths[high_index]) - (8 - block);
                at += block;
            } else {
                // The characters before the first surrogate, then its pair.
                // (Padding lanes are zero: the surrogate is inside the value.)
                let encoded = surrogate_bytes.trailing_zeros() as usize / 2;
                let kept = (1 << encoded) - 1;
                let two_or_more = (widths & 0xF) | (widths >> 4 & 0xF0);
                let three = (widths >> 4 & 0xF) | (widths >> 8 & 0xF0);
                written += encoded + (two_or_more & kept).count_ones() as usize + (three & kept).count_ones() as usize;
                at += encoded;
                // SAFETY: the room above; `character` writes four bytes.
                if let Some(stop) = unsafe { character(src_value, &mut at, dst, &mut written) } {
                    return stop;
                }
            }
        }
        (at, written, Ok(()))
    }
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
        if self.decoder.is_none() && append_ascii(bytes, out) {
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

/// Appends `bytes` to `out` if they are all ASCII (true), else appends
/// nothing (false). Short values, the usual varchar, are checked and copied
/// in the same overlapping word moves (a copy call and a separate check cost
/// more than the value); long ones by the library's vectorized routines.
fn append_ascii(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let len = bytes.len();
    if len > 32 {
        if !bytes.is_ascii() {
            return false;
        }
        out.extend_from_slice(bytes);
        return true;
    }
    out.reserve(len);
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    let src = bytes.as_ptr();
    // SAFETY (every access below): reads stay inside `bytes` and writes
    // inside the `len` bytes of spare capacity reserved above; the words
    // overlap where `len` is not a multiple of their size, and the
    // overlapping bytes are written twice with the same value.
    let high = unsafe {
        if len >= 8 {
            let mut high = 0;
            let mut at = 0;
            loop {
                let at_word = at.min(len - 8);
                let word = src.add(at_word).cast::<u64>().read_unaligned();
                dst.add(at_word).cast::<u64>().write_unaligned(word);
                high |= word;
                at += 8;
                if at >= len {
                    break;
                }
            }
            high
        } else if len >= 4 {
            let (first, last) = (src.cast::<u32>().read_unaligned(), src.add(len - 4).cast::<u32>().read_unaligned());
            dst.cast::<u32>().write_unaligned(first);
            dst.add(len - 4).cast::<u32>().write_unaligned(last);
            u64::from(first | last)
        } else if len > 0 {
            let (first, middle, last) = (*src, *src.add(len / 2), *src.add(len - 1));
            (*dst, *dst.add(len / 2), *dst.add(len - 1)) = (first, middle, last);
            u64::from(first | middle | last)
        } else {
            0
        }
    };
    if high & HIGH_BITS != 0 {
        return false;
    }
    // SAFETY: the `len` bytes were written above.
    unsafe { out.set_len(out.len() + len) };
    true
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

    fn whole_value(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidText> {
        utf16_to_utf8(bytes, bytes.len(), out)
    }

    /// The value followed by units that are not text (unpaired surrogates):
    /// read with it, they must not change the outcome.
    fn value_and_bytes_after(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidText> {
        let followed = [bytes, &[0x00, 0xDC].repeat(9)].concat();
        utf16_to_utf8(&followed, bytes.len(), out)
    }

    /// The portable loop on its own (on x86_64 `transcode` takes the SSE4.1 one).
    fn transcode_portable(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidText> {
        out.reserve(bytes.len() / 2 * 3 + BLOCK_SLACK);
        let start = out.len();
        // SAFETY: the room reserved above.
        let (at, written, outcome) = unsafe { transcode_units(bytes, out.spare_capacity_mut().as_mut_ptr().cast()) };
        unsafe { out.set_len(start + written) };
        outcome?;
        if at * 2 == bytes.len() {
            Ok(())
        } else {
            Err(unpaired())
        }
    }

    #[test]
    fn whole_values_match_the_standard_library() {
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        for case in 0..6000 {
            let len = (xorshift(&mut seed) % 150) as usize;
            // A third of the cases hold only one- and two-byte characters, a
            // third valid text of every width (surrogate pairs included), the
            // rest any units.
            let units: Vec<u16> = match case % 3 {
                0 => (0..len)
                    .map(|_| match xorshift(&mut seed) % 2 {
                        0 => 0x80 + (xorshift(&mut seed) % 0x780) as u16,
                        _ => (xorshift(&mut seed) % 0x80) as u16,
                    })
                    .collect(),
                1 => (0..len)
                    .map(|_| match xorshift(&mut seed) % 8 {
                        0 => char::from_u32(0x10000 + (xorshift(&mut seed) % 0xF_0000) as u32).unwrap(),
                        1 | 2 => char::from_u32(0x800 + (xorshift(&mut seed) % 0xD000) as u32).unwrap(),
                        3 => char::from_u32(0x80 + (xorshift(&mut seed) % 0x780) as u32).unwrap(),
                        _ => char::from((xorshift(&mut seed) % 0x80) as u8),
                    })
                    .collect::<String>()
                    .encode_utf16()
                    .collect(),
                _ => (0..len)
                    .map(|_| match xorshift(&mut seed) % 10 {
                        0 => (xorshift(&mut seed) % 0x10000) as u16,
                        1 => 0xD800 + (xorshift(&mut seed) % 0x400) as u16,
                        2 => 0xDC00 + (xorshift(&mut seed) % 0x400) as u16,
                        3 => 0x80 + (xorshift(&mut seed) % 0x780) as u16,
                        _ => (xorshift(&mut seed) % 0x80) as u16,
                    })
                    .collect(),
            };
            let expected = String::from_utf16(&units);
            for (path, transcode) in [
                ("utf16_to_utf8", whole_value as fn(&[u8], &mut Vec<u8>) -> Result<(), InvalidText>),
                ("utf16_to_utf8 with bytes after", value_and_bytes_after),
                ("portable", transcode_portable),
            ] {
                let mut out = b"prefix".to_vec();
                let ours = transcode(&utf16le(&units), &mut out);
                match &expected {
                    Ok(expected) => {
                        assert_eq!(ours, Ok(()), "{path} case {case}: {units:x?}");
                        assert_eq!(std::str::from_utf8(&out[6..]).unwrap(), expected, "{path} case {case}");
                    }
                    Err(_) => assert!(ours.is_err(), "{path} case {case}: {units:x?} should fail"),
                }
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
        assert!(utf16_to_utf8(&[0x41, 0, 0x42], 3, &mut Vec::new()).is_err());
        // A high surrogate ending the value is unpaired though its low half follows.
        assert!(utf16_to_utf8(&utf16le(&[0x41, 0xD83C, 0xDF89]), 4, &mut Vec::new()).is_err());
        assert!(Utf16Transcoder::default().push(&utf16le(&[0xD83C, 0x41]), &mut Vec::new()).is_err());
    }

    #[test]
    fn ascii_is_appended_whole_and_anything_else_not_at_all() {
        for len in 0..70usize {
            let ascii: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut out = b"before".to_vec();
            assert!(append_ascii(&ascii, &mut out), "{len} bytes");
            assert_eq!(out, [&b"before"[..], &ascii].concat(), "{len} bytes");
            for high in 0..len {
                let mut bytes = ascii.clone();
                bytes[high] = 0xE9;
                let mut out = b"before".to_vec();
                assert!(!append_ascii(&bytes, &mut out), "{len} bytes, byte {high} not ASCII");
                assert_eq!(out, b"before", "{len} bytes, byte {high} not ASCII");
            }
        }
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
