//! Result sets assembled into record batches while their rows are read.
//! A batch ends when it reaches its row limit or when a column's variable-
//! width data reaches the byte limit, so no array passes Arrow's 32-bit
//! offsets and memory stays bounded for streams.

use super::column_values::ColumnValues;
use crate::tds::ColumnMetadata;
use crate::types::column_type;
use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{Schema, SchemaRef};
use std::sync::Arc;

/// One finished result set: its schema and its rows as record batches.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl ResultSet {
    /// A result without columns (a batch that returned no result set).
    pub fn empty() -> Self {
        Self { schema: Arc::new(Schema::empty()), batches: Vec::new() }
    }

    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// When a batch is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub rows: usize,
    /// Bytes of variable-width data (strings, binaries) in the batch, all
    /// columns together: at most this in any one column keeps each within
    /// Arrow's 32-bit offsets.
    pub bytes: usize,
}

impl BatchLimits {
    /// Far below the 2 GiB an Arrow string or binary array can address, so
    /// a batch reaching it still has room for the largest value that fits.
    pub const MAX_BYTES: usize = 1 << 30;

    pub fn new(rows: usize, bytes: usize) -> Self {
        Self { rows: rows.max(1), bytes: bytes.clamp(1, Self::MAX_BYTES) }
    }
}

/// Rows after which the first batch of a result is given room for a whole batch.
const RESERVE_AFTER_ROWS: usize = 1024;

/// Builds the batches of one result set after another.
#[derive(Debug)]
pub struct ResultBuilder {
    limits: BatchLimits,
    schema: SchemaRef,
    columns: Vec<ColumnValues>,
    /// The columns with variable-width data, checked against the byte limit.
    variable: Vec<usize>,
    rows: usize,
    /// Complete batches of the current result set not yet taken.
    batches: Vec<RecordBatch>,
    open: bool,
    /// Whether the current result set has produced a batch yet.
    produced: bool,
    /// The first problem building a batch (reported when the set ends).
    problem: Option<String>,
}

impl ResultBuilder {
    pub fn new(limits: BatchLimits) -> Self {
        Self {
            limits,
            schema: Arc::new(Schema::empty()),
            columns: Vec::new(),
            variable: Vec::new(),
            rows: 0,
            batches: Vec::new(),
            open: false,
            produced: false,
            problem: None,
        }
    }

    /// A result set begins; the previous one must have been finished.
    pub fn start(&mut self, metadata: &[ColumnMetadata]) -> Result<(), String> {
        let columns = metadata
            .iter()
            .map(|column| {
                let column_type = column_type(&column.type_info)
                    .map_err(|why| format!("column '{}' has a type fastmssql does not support: {why}", column.name))?;
                Ok(ColumnValues::new(column.name.clone(), column_type, column.nullable))
            })
            .collect::<Result<Vec<_>, String>>()?;
        self.schema = Arc::new(Schema::new(columns.iter().map(ColumnValues::field).collect::<Vec<_>>()));
        self.variable = columns.iter().enumerate().filter(|(_, c)| c.is_variable_width()).map(|(i, _)| i).collect();
        self.columns = columns;
        self.rows = 0;
        self.open = true;
        self.produced = false;
        self.problem = None;
        Ok(())
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn columns_mut(&mut self) -> &mut [ColumnValues] {
        &mut self.columns
    }

    /// Every column received one more value; a full batch is set aside.
    #[inline]
    pub fn end_row(&mut self) {
        self.rows += 1;
        if self.rows == RESERVE_AFTER_ROWS && !self.produced {
            // A first batch this long is likely to fill: room for all of it
            // now, instead of doubling (copying) every buffer up to it. Later
            // batches start with the room of the one before.
            let rows = self.limits.rows;
            self.columns.iter_mut().for_each(|column| column.reserve_rows(rows));
        }
        let full = self.rows >= self.limits.rows
            || self.variable.iter().map(|&i| self.columns[i].data_bytes()).sum::<usize>() >= self.limits.bytes;
        if full {
            self.cut_batch();
        }
    }

    /// Rows read since the last batch was set aside.
    pub fn pending_rows(&self) -> usize {
        self.rows
    }

    /// The complete batches set aside so far.
    pub fn take_batches(&mut self) -> Vec<RecordBatch> {
        std::mem::take(&mut self.batches)
    }

    /// Ends the result set: the rows not yet in a batch become the last one
    /// (or the only, empty one, so that the schema is known), and the set's
    /// batches not yet taken are returned.
    pub fn finish(&mut self) -> Result<Vec<RecordBatch>, String> {
        if self.rows > 0 || !self.produced {
            self.cut_batch();
        }
        self.open = false;
        let batches = self.take_batches();
        match self.problem.take() {
            Some(problem) => Err(problem),
            None => Ok(batches),
        }
    }

    fn cut_batch(&mut self) {
        let rows = std::mem::take(&mut self.rows);
        let arrays: Result<Vec<_>, String> = self.columns.iter_mut().map(ColumnValues::finish).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = arrays.and_then(|arrays| {
            RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options).map_err(|e| e.to_string())
        });
        match batch {
            Ok(batch) => {
                self.produced = true;
                self.batches.push(batch);
            }
            Err(problem) => {
                self.problem.get_or_insert(problem);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tds::ColumnWriter;
    use crate::types::{type_id, TypeInfo};

    fn metadata(name: &str, type_info: TypeInfo) -> ColumnMetadata {
        ColumnMetadata { name: name.into(), type_info, nullable: true }
    }

    fn two_columns() -> Vec<ColumnMetadata> {
        vec![metadata("id", TypeInfo::fixed(type_id::INT4)), metadata("note", TypeInfo::sized(type_id::BIGVARBIN, 100))]
    }

    fn row(builder: &mut ResultBuilder, id: i32, note: &[u8]) {
        let columns = builder.columns_mut();
        columns[0].push_i32(id);
        columns[1].value_bytes().extend_from_slice(note);
        columns[1].end_value().unwrap();
        builder.end_row();
    }

    #[test]
    fn batches_end_at_the_row_limit_and_the_last_one_at_finish() {
        let mut builder = ResultBuilder::new(BatchLimits::new(2, 1 << 20));
        builder.start(&two_columns()).unwrap();
        for id in 0..5 {
            row(&mut builder, id, b"x");
        }
        assert_eq!(builder.take_batches().iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), [2, 2]);
        let last = builder.finish().unwrap();
        assert_eq!(last.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), [1]);
        assert_eq!(last[0].schema().field(1).metadata()["mssql.type"], "varbinary(100)");
    }

    #[test]
    fn batches_end_at_the_byte_limit_of_their_variable_width_data() {
        let mut builder = ResultBuilder::new(BatchLimits::new(1000, 10));
        builder.start(&two_columns()).unwrap();
        for id in 0..4 {
            row(&mut builder, id, b"123456");
        }
        let mut rows: Vec<usize> = builder.take_batches().iter().map(RecordBatch::num_rows).collect();
        rows.extend(builder.finish().unwrap().iter().map(RecordBatch::num_rows));
        assert_eq!(rows, [2, 2]);
    }

    #[test]
    fn a_long_first_batch_gets_room_for_all_of_it_and_no_batch_keeps_much_more_than_it_uses() {
        use arrow_array::cast::AsArray;
        use arrow_array::types::Int32Type;
        let limit = 4 * RESERVE_AFTER_ROWS;
        for rows in [RESERVE_AFTER_ROWS - 1, RESERVE_AFTER_ROWS + 1, limit, limit + 3] {
            let mut builder = ResultBuilder::new(BatchLimits::new(limit, 1 << 30));
            builder.start(&two_columns()).unwrap();
            for id in 0..rows as i32 {
                row(&mut builder, id, &id.to_le_bytes()[..(id % 4) as usize]);
                if id as usize == RESERVE_AFTER_ROWS {
                    // Room for the whole batch, taken once.
                    assert!(builder.columns_mut()[0].fixed_capacity() >= limit * 4, "{rows} rows");
                }
            }
            let batches = builder.finish().unwrap();
            assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), rows);
            let mut next = 0;
            for batch in &batches {
                for &id in batch.column(0).as_primitive::<Int32Type>().values() {
                    assert_eq!(id, next);
                    next += 1;
                }
                let used: usize = batch
                    .columns()
                    .iter()
                    .map(|column| column.to_data().buffers().iter().map(|buffer| buffer.len()).sum::<usize>())
                    .sum();
                let held = batch.get_array_memory_size();
                assert!(held <= 2 * used + 1024, "{rows} rows: {held} bytes held for {used} used");
            }
        }
    }

    #[test]
    fn an_empty_result_keeps_its_schema_and_unsupported_types_are_named() {
        let mut builder = ResultBuilder::new(BatchLimits::new(10, 10));
        builder.start(&two_columns()).unwrap();
        let batches = builder.finish().unwrap();
        assert_eq!((batches.len(), batches[0].num_rows(), batches[0].num_columns()), (1, 0, 2));
        let error = builder.start(&[metadata("odd", TypeInfo::sized(type_id::INTN, 3))]).unwrap_err();
        assert!(error.contains("'odd'"), "{error}");
    }
}
