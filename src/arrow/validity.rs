//! A column's validity bits, written one value at a time.

use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};

/// Which values of the batch being built are not NULL: bits packed into
/// 64-bit words as the values come (arrow's `NullBufferBuilder` resized its
/// byte buffer, with a `memset`, every eighth value), dropped at the end
/// when no value was NULL.
#[derive(Debug, Default)]
pub(crate) struct Validity {
    /// Complete words, least significant bit first, in little-endian order
    /// (Arrow's bitmap layout).
    words: Vec<u64>,
    /// The bits of the word being filled.
    current: u64,
    len: usize,
    nulls: usize,
}

impl Validity {
    #[inline]
    pub(crate) fn push(&mut self, valid: bool) {
        self.current |= u64::from(valid) << (self.len % 64);
        self.nulls += usize::from(!valid);
        self.len += 1;
        if self.len.is_multiple_of(64) {
            self.words.push(self.current.to_le());
            self.current = 0;
        }
    }

    /// Room for `more` values.
    pub(crate) fn reserve(&mut self, more: usize) {
        self.words.reserve(more / 64 + 1);
    }

    /// The bits so far (`None` when no value is NULL); starts over, sized
    /// for as many values.
    pub(crate) fn finish(&mut self) -> Option<NullBuffer> {
        let (len, nulls) = (self.len, self.nulls);
        let mut words = std::mem::replace(&mut self.words, Vec::with_capacity(len.div_ceil(64)));
        if !len.is_multiple_of(64) {
            words.push(self.current.to_le());
        }
        (self.current, self.len, self.nulls) = (0, 0, 0);
        if nulls == 0 {
            return None;
        }
        let bits = BooleanBuffer::new(Buffer::from_vec(words), 0, len);
        // SAFETY: `nulls` counted the false bits as they were pushed.
        Some(unsafe { NullBuffer::new_unchecked(bits, nulls) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_match_the_values_across_words_and_batches() {
        let mut validity = Validity::default();
        for len in [0, 1, 63, 64, 65, 200] {
            let valid: Vec<bool> = (0..len).map(|i| i % 7 != 3).collect();
            valid.iter().for_each(|&v| validity.push(v));
            let nulls = validity.finish();
            if valid.iter().all(|&v| v) {
                assert!(nulls.is_none(), "len {len}: no NULL, no bitmap");
                continue;
            }
            let nulls = nulls.unwrap();
            assert_eq!(nulls.len(), len);
            assert_eq!(nulls.null_count(), valid.iter().filter(|&&v| !v).count());
            assert_eq!(nulls.iter().collect::<Vec<_>>(), valid, "len {len}");
        }
    }
}
