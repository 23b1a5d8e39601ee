//! One result column's values as Arrow buffers, written by the response
//! reader through [`ColumnWriter`]. The writer's kind was chosen from the
//! same type-table row as the reader's way of reading the column, so a push
//! writes its bytes without checking kinds; `finish` builds the typed array
//! (and would report, not panic, if the buffers disagreed with the kind).

use super::validity::Validity;
use super::{SQL_TYPE_METADATA_KEY, UUID_EXTENSION_NAME};
use crate::tds::ColumnWriter;
use crate::types::{ColumnType, ValueKind};
use arrow_array::types::*;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Decimal128Array, FixedSizeBinaryArray, PrimitiveArray, StringArray,
    StructArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, MutableBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use std::collections::HashMap;
use std::sync::Arc;

/// A variable-width column's bytes and where each value starts.
#[derive(Debug)]
struct VarValues {
    data: Vec<u8>,
    /// One more entry than values: the first is 0.
    offsets: Vec<i32>,
}

impl VarValues {
    fn with_capacity(values: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(values + 1);
        offsets.push(0);
        Self { data: Vec::with_capacity(bytes), offsets }
    }

    fn end_value(&mut self) -> Result<(), String> {
        let end = i32::try_from(self.data.len()).map_err(|_| {
            format!(
                "a value that would take this batch's column past Arrow's 2 GiB per array ({} bytes)",
                self.data.len()
            )
        })?;
        self.offsets.push(end);
        Ok(())
    }

    fn last_offset(&self) -> usize {
        // Offsets are never negative: they are lengths of `data`.
        self.offsets.last().map_or(0, |&offset| offset as usize)
    }

    fn push_empty(&mut self) {
        self.data.truncate(self.last_offset());
        let end = self.last_offset() as i32;
        self.offsets.push(end);
    }

    fn push(&mut self, value: &[u8]) -> Result<(), String> {
        self.data.extend_from_slice(value);
        self.end_value()
    }

    /// Room for `more` values of about the mean size so far, and a little
    /// over: a mean taken from the first rows is as likely low as high, and
    /// text decoding asks for room for its value's longest UTF-8; falling
    /// short at a batch's last values would copy the whole buffer to double it.
    fn reserve(&mut self, more: usize) {
        let values = self.offsets.len() - 1;
        let mean = self.data.len() / values.max(1);
        self.offsets.reserve(more);
        self.data.reserve(room_for(mean * more) + RESERVE_SLACK_BYTES);
    }

    /// The values so far; the column starts over with room for as many.
    fn take(&mut self) -> (OffsetBuffer<i32>, Buffer) {
        let values = self.offsets.len() - 1;
        let mut taken = std::mem::replace(self, Self::with_capacity(values, room_for(self.data.len())));
        shrink_if_mostly_unused(&mut taken.offsets);
        shrink_if_mostly_unused(&mut taken.data);
        (OffsetBuffer::new(ScalarBuffer::from(taken.offsets)), Buffer::from_vec(taken.data))
    }
}

/// The most bytes reserved ahead for one buffer of a column: beyond it the
/// buffer grows as values come.
const MAX_RESERVE_BYTES: usize = 64 << 20;
/// Room beyond the estimate for a first batch's variable-width data: an
/// nvarchar(4000) value's longest UTF-8 (three bytes a unit) and more.
const RESERVE_SLACK_BYTES: usize = 16 << 10;

/// The bytes to reserve for about `expected` bytes of a batch's
/// variable-width data: a sixteenth over, as likely needed as not.
fn room_for(expected: usize) -> usize {
    (expected + expected / 16).min(MAX_RESERVE_BYTES)
}

/// A batch handed on keeps no more than twice the room its values take: a
/// batch cut short of the room reserved for it (the last of a result) would
/// otherwise hold memory for as long as the user holds the batch.
fn shrink_if_mostly_unused<T>(values: &mut Vec<T>) {
    if values.capacity() > 2 * values.len() {
        values.shrink_to_fit();
    }
}

/// The values of one column of the batch being built.
#[derive(Debug)]
pub struct ColumnValues {
    name: String,
    column_type: ColumnType,
    /// Whether the server said the column can hold NULL.
    nullable: bool,
    nulls: Validity,
    /// Fixed-width values, little-endian (bool: one byte per value).
    fixed: MutableBuffer,
    /// Text and binary values; for sql_variant, the value texts.
    var: VarValues,
    /// sql_variant only: each value's base type name.
    variant_types: VarValues,
    /// Bytes per fixed-width value; 0 for variable width.
    width: usize,
    len: usize,
}

impl ColumnValues {
    pub fn new(name: impl Into<String>, column_type: ColumnType, nullable: bool) -> Self {
        let width = column_type.kind.width().unwrap_or(0);
        Self {
            name: name.into(),
            column_type,
            nullable,
            nulls: Validity::default(),
            fixed: MutableBuffer::new(0),
            var: VarValues::with_capacity(0, 0),
            variant_types: VarValues::with_capacity(0, 0),
            width,
            len: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_variable_width(&self) -> bool {
        self.width == 0
    }

    #[cfg(test)]
    pub(crate) fn fixed_capacity(&self) -> usize {
        self.fixed.capacity()
    }

    /// Bytes of variable-width data in the batch so far.
    pub fn data_bytes(&self) -> usize {
        self.var.data.len()
    }

    /// The Arrow field for this column: its type, `mssql.type` metadata and,
    /// for uniqueidentifier, the `arrow.uuid` extension.
    pub fn field(&self) -> Field {
        let mut metadata = HashMap::from([(SQL_TYPE_METADATA_KEY.to_string(), self.column_type.sql_type.clone())]);
        if self.column_type.kind == ValueKind::Uuid {
            metadata.insert("ARROW:extension:name".into(), UUID_EXTENSION_NAME.into());
            metadata.insert("ARROW:extension:metadata".into(), String::new());
        }
        Field::new(self.name.clone(), arrow_type(self.column_type.kind), self.nullable).with_metadata(metadata)
    }

    /// Makes room for `rows` values in all (a batch that has shown it will be
    /// large), so that the buffers are not copied again and again as they grow.
    pub fn reserve_rows(&mut self, rows: usize) {
        let more = rows.saturating_sub(self.len);
        self.nulls.reserve(more);
        if self.width == 0 {
            self.var.reserve(more);
        } else {
            self.fixed.reserve((more * self.width).min(MAX_RESERVE_BYTES));
        }
    }

    /// The values so far as an array; the column starts over empty, its
    /// buffers sized for a batch like this one.
    pub fn finish(&mut self) -> Result<ArrayRef, String> {
        let len = std::mem::take(&mut self.len);
        let nulls = self.nulls.finish();
        let mut fixed = std::mem::replace(&mut self.fixed, MutableBuffer::with_capacity(len * self.width));
        if fixed.capacity() > 2 * fixed.len() {
            fixed.shrink_to_fit();
        }
        let fixed: Buffer = fixed.into();
        if fixed.len() != len * self.width {
            return Err(format!(
                "column '{}': {} bytes for {len} values of {} bytes",
                self.name,
                fixed.len(),
                self.width
            ));
        }
        let error = |e: arrow_schema::ArrowError| format!("column '{}': {e}", self.name);
        macro_rules! primitive {
            ($type:ty) => {
                Arc::new(PrimitiveArray::<$type>::try_new(ScalarBuffer::new(fixed, 0, len), nulls).map_err(error)?)
            };
        }
        let array: ArrayRef = match self.column_type.kind {
            ValueKind::Bool => {
                let bits = BooleanBuffer::collect_bool(len, |i| fixed.as_slice()[i] != 0);
                Arc::new(BooleanArray::new(bits, nulls))
            }
            ValueKind::UInt8 => primitive!(UInt8Type),
            ValueKind::Int16 => primitive!(Int16Type),
            ValueKind::Int32 => primitive!(Int32Type),
            ValueKind::Int64 => primitive!(Int64Type),
            ValueKind::Float32 => primitive!(Float32Type),
            ValueKind::Float64 => primitive!(Float64Type),
            ValueKind::Date => primitive!(Date32Type),
            ValueKind::Time => primitive!(Time64NanosecondType),
            ValueKind::Timestamp => primitive!(TimestampMicrosecondType),
            ValueKind::TimestampUtc => Arc::new(
                PrimitiveArray::<TimestampMicrosecondType>::try_new(ScalarBuffer::new(fixed, 0, len), nulls)
                    .map_err(error)?
                    .with_timezone("UTC"),
            ),
            ValueKind::Decimal { precision, scale } => Arc::new(
                Decimal128Array::try_new(ScalarBuffer::new(fixed, 0, len), nulls)
                    .and_then(|array| array.with_precision_and_scale(precision, scale as i8))
                    .map_err(error)?,
            ),
            ValueKind::Uuid => Arc::new(FixedSizeBinaryArray::try_new(16, fixed, nulls).map_err(error)?),
            ValueKind::Utf8 => {
                let (offsets, data) = self.var.take();
                debug_assert!(std::str::from_utf8(&data).is_ok());
                // SAFETY: the reader writes only UTF-8 into a text column (its
                // UTF-16 transcoder and code-page decoders produce nothing else,
                // and refuse what does not decode), and every value ends at a
                // character boundary: so each offset slice is valid UTF-8.
                // Validating again would cost a tenth of the decode.
                Arc::new(unsafe { StringArray::new_unchecked(offsets, data, nulls) })
            }
            ValueKind::Binary => {
                let (offsets, data) = self.var.take();
                Arc::new(BinaryArray::try_new(offsets, data, nulls).map_err(error)?)
            }
            ValueKind::Variant => {
                let (text_offsets, texts) = self.var.take();
                let (type_offsets, types) = self.variant_types.take();
                let children: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::try_new(type_offsets, types, None).map_err(error)?),
                    Arc::new(StringArray::try_new(text_offsets, texts, None).map_err(error)?),
                ];
                Arc::new(StructArray::try_new(variant_fields(), children, nulls).map_err(error)?)
            }
        };
        Ok(array)
    }
}

/// The children of a sql_variant column: base type name and value text.
fn variant_fields() -> Fields {
    Fields::from(vec![Field::new("type", DataType::Utf8, false), Field::new("value", DataType::Utf8, false)])
}

/// The Arrow type of a kind (the type table's Arrow column).
pub fn arrow_type(kind: ValueKind) -> DataType {
    match kind {
        ValueKind::Bool => DataType::Boolean,
        ValueKind::UInt8 => DataType::UInt8,
        ValueKind::Int16 => DataType::Int16,
        ValueKind::Int32 => DataType::Int32,
        ValueKind::Int64 => DataType::Int64,
        ValueKind::Float32 => DataType::Float32,
        ValueKind::Float64 => DataType::Float64,
        ValueKind::Decimal { precision, scale } => DataType::Decimal128(precision, scale as i8),
        ValueKind::Utf8 => DataType::Utf8,
        ValueKind::Binary => DataType::Binary,
        ValueKind::Uuid => DataType::FixedSizeBinary(16),
        ValueKind::Date => DataType::Date32,
        ValueKind::Time => DataType::Time64(TimeUnit::Nanosecond),
        ValueKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ValueKind::TimestampUtc => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ValueKind::Variant => DataType::Struct(variant_fields()),
    }
}

impl ColumnWriter for ColumnValues {
    #[inline]
    fn push_null(&mut self) {
        self.len += 1;
        self.nulls.push(false);
        match self.column_type.kind {
            ValueKind::Variant => {
                self.var.push_empty();
                self.variant_types.push_empty();
            }
            // Fixed widths by one store each (`extend_zeros` calls memset).
            _ => match self.width {
                0 => self.var.push_empty(),
                1 => self.fixed.push(0u8),
                2 => self.fixed.push(0u16),
                4 => self.fixed.push(0u32),
                8 => self.fixed.push(0u64),
                16 => self.fixed.push(0u128),
                width => self.fixed.extend_zeros(width),
            },
        }
    }

    #[inline]
    fn push_bool(&mut self, value: bool) {
        self.push_fixed(u8::from(value));
    }

    #[inline]
    fn push_u8(&mut self, value: u8) {
        self.push_fixed(value);
    }

    #[inline]
    fn push_i16(&mut self, value: i16) {
        self.push_fixed(value);
    }

    #[inline]
    fn push_i32(&mut self, value: i32) {
        self.push_fixed(value);
    }

    #[inline]
    fn push_i64(&mut self, value: i64) {
        self.push_fixed(value);
    }

    #[inline]
    fn push_f32(&mut self, value: f32) {
        self.push_fixed(value);
    }

    #[inline]
    fn push_f64(&mut self, value: f64) {
        self.push_fixed(value);
    }

    #[inline]
    fn push_i128(&mut self, value: i128) {
        self.push_fixed(value);
    }

    #[inline]
    fn push_uuid(&mut self, value: [u8; 16]) {
        self.len += 1;
        self.nulls.push(true);
        self.fixed.extend_from_slice(&value);
    }

    #[inline]
    fn value_bytes(&mut self) -> &mut Vec<u8> {
        &mut self.var.data
    }

    #[inline]
    fn end_value(&mut self) -> Result<(), String> {
        self.var.end_value()?;
        self.len += 1;
        self.nulls.push(true);
        Ok(())
    }

    fn abandon_value(&mut self) {
        let end = self.var.last_offset();
        self.var.data.truncate(end);
    }

    fn push_variant(&mut self, base_type: &str, text: &str) {
        // A variant is at most 8,016 bytes, far below the offsets' range;
        // should it not fit, a NULL keeps the columns aligned.
        let stored = self.var.push(text.as_bytes()).and_then(|()| self.variant_types.push(base_type.as_bytes()));
        match stored {
            Ok(()) => {
                self.len += 1;
                self.nulls.push(true);
            }
            Err(_) => {
                self.abandon_value();
                self.push_null();
            }
        }
    }
}

impl ColumnValues {
    #[inline]
    fn push_fixed<T: arrow_buffer::ToByteSlice>(&mut self, value: T) {
        self.len += 1;
        self.nulls.push(true);
        self.fixed.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::Array;

    fn column(kind: ValueKind, sql_type: &str) -> ColumnValues {
        ColumnValues::new("c", ColumnType { kind, sql_type: sql_type.into() }, true)
    }

    #[test]
    fn room_reserved_for_a_batch_holds_values_a_little_longer_than_the_first() {
        // The first rows' mean says 20 bytes; the rest of the batch runs 5%
        // longer, and each value asks first for its longest UTF-8 (as the
        // transcoder does): the buffer must not be moved to grow.
        let mut text = column(ValueKind::Utf8, "nvarchar(50)");
        for _ in 0..1024 {
            text.value_bytes().extend_from_slice(&[b'a'; 20]);
            text.end_value().unwrap();
        }
        text.reserve_rows(4096);
        let room = text.var.data.capacity();
        for row in 1024..4096 {
            let len = if row % 20 == 0 { 40 } else { 20 };
            text.value_bytes().reserve(3 * len + 32);
            text.value_bytes().extend_from_slice(&[b'b'; 40][..len]);
            text.end_value().unwrap();
        }
        assert_eq!(text.var.data.capacity(), room, "the batch's text buffer had to grow");
    }

    #[test]
    fn fixed_width_values_and_nulls() {
        let mut ints = column(ValueKind::Int32, "int");
        ints.push_i32(7);
        ints.push_null();
        ints.push_i32(-1);
        let array = ints.finish().unwrap();
        let ints_array = array.as_primitive::<Int32Type>();
        assert_eq!((ints_array.value(0), ints_array.is_null(1), ints_array.value(2)), (7, true, -1));
        assert_eq!(ints.len(), 0, "the column starts over");
        ints.push_i32(5);
        assert_eq!(ints.finish().unwrap().as_primitive::<Int32Type>().values(), &[5]);

        let mut bits = column(ValueKind::Bool, "bit");
        bits.push_bool(true);
        bits.push_null();
        bits.push_bool(false);
        let array = bits.finish().unwrap();
        let bools = array.as_boolean();
        assert_eq!((bools.value(0), bools.is_null(1), bools.value(2)), (true, true, false));
    }

    #[test]
    fn decimals_and_uuids_carry_their_types() {
        let mut decimals = column(ValueKind::Decimal { precision: 19, scale: 4 }, "money");
        decimals.push_i128(-10_000);
        decimals.push_null();
        let array = decimals.finish().unwrap();
        assert_eq!(array.data_type(), &DataType::Decimal128(19, 4));
        assert_eq!(array.as_primitive::<Decimal128Type>().value(0), -10_000);
        let mut ids = column(ValueKind::Uuid, "uniqueidentifier");
        ids.push_uuid([9; 16]);
        ids.push_null();
        assert_eq!(ids.field().metadata()["ARROW:extension:name"], UUID_EXTENSION_NAME);
        let array = ids.finish().unwrap();
        assert_eq!(array.as_fixed_size_binary().value(0), &[9; 16]);
    }

    #[test]
    fn text_values_are_appended_in_pieces_and_can_be_abandoned() {
        let mut text = column(ValueKind::Utf8, "nvarchar(max)");
        text.value_bytes().extend_from_slice(b"he");
        text.value_bytes().extend_from_slice(b"llo");
        text.end_value().unwrap();
        text.value_bytes().extend_from_slice(b"half");
        text.abandon_value();
        text.push_null();
        text.value_bytes().extend_from_slice("é".as_bytes());
        text.end_value().unwrap();
        assert_eq!(text.field().metadata()[SQL_TYPE_METADATA_KEY], "nvarchar(max)");
        let array = text.finish().unwrap();
        let strings = array.as_string::<i32>();
        assert_eq!((strings.value(0), strings.is_null(1), strings.value(2)), ("hello", true, "é"));
    }

    #[test]
    fn variants_keep_type_and_text() {
        let mut variants = column(ValueKind::Variant, "sql_variant");
        variants.push_variant("int", "42");
        variants.push_null();
        variants.push_variant("nvarchar(128)", "16.0");
        let array = variants.finish().unwrap();
        let structs = array.as_struct();
        assert!(structs.is_null(1));
        assert_eq!(structs.column(0).as_string::<i32>().value(2), "nvarchar(128)");
        assert_eq!(structs.column(1).as_string::<i32>().value(0), "42");
    }

    #[test]
    fn buffers_that_disagree_with_the_kind_are_reported() {
        let mut ints = column(ValueKind::Int32, "int");
        ints.push_i64(1);
        assert!(ints.finish().is_err(), "eight bytes for one four-byte value");
    }
}
