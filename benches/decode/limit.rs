//! What the machine allows: the strings of the capture as bare UTF-16, for a
//! conversion loop with nothing else around it (memcpy needs no helper).

use arrow_array::cast::AsArray;
use arrow_array::RecordBatch;

/// Every non-NULL nvarchar value of a result, as UTF-16 units end to end.
pub struct Utf16Strings {
    units: Vec<u16>,
    /// End offset (in units) of each string.
    ends: Vec<usize>,
}

impl Utf16Strings {
    /// The values of the nvarchar column `name` (decoded by the product, so
    /// re-encoding them gives back the wire's UTF-16).
    pub fn of_column(batches: &[RecordBatch], name: &str) -> Result<Self, String> {
        let mut units = Vec::new();
        let mut ends = Vec::new();
        for batch in batches {
            let column = batch.column_by_name(name).ok_or_else(|| format!("no column '{name}'"))?;
            let strings = column.as_string_opt::<i32>().ok_or_else(|| format!("column '{name}' is not utf8"))?;
            for value in strings.iter().flatten() {
                units.extend(value.encode_utf16());
                ends.push(units.len());
            }
        }
        Ok(Self { units, ends })
    }

    pub fn count(&self) -> usize {
        self.ends.len()
    }

    pub fn utf16_bytes(&self) -> usize {
        self.units.len() * 2
    }

    /// Converts every string into `text` (reused, so no allocation), returning
    /// the UTF-8 bytes produced; unpaired surrogates become U+FFFD.
    pub fn convert_all(&self, text: &mut String) -> usize {
        let mut start = 0;
        let mut produced = 0;
        for &end in &self.ends {
            text.clear();
            text.extend(char::decode_utf16(self.units[start..end].iter().copied()).map(|c| c.unwrap_or('\u{FFFD}')));
            produced += text.len();
            start = end;
        }
        produced
    }
}
