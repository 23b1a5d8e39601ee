use super::column_builder::ColumnBuilder;
use super::sink::SinkError;
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
}

/// Collects the columns of one result set while its rows stream in.
#[derive(Debug)]
pub struct ResultSetBuilder {
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

impl ResultSetBuilder {
    pub fn new(columns: Vec<ColumnBuilder>) -> Self {
        Self { columns, rows: 0 }
    }

    pub fn columns_mut(&mut self) -> &mut [ColumnBuilder] {
        &mut self.columns
    }

    /// Records that every column received the value of one more row.
    pub fn end_row(&mut self) {
        self.rows += 1;
    }

    /// Rows appended since the last batch was taken.
    pub fn pending_rows(&self) -> usize {
        self.rows
    }

    /// The rows appended so far as one record batch; the builders start over
    /// empty, so a long result can leave in bounded pieces.
    pub fn take_batch(&mut self) -> Result<RecordBatch, SinkError> {
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut arrays = Vec::with_capacity(self.columns.len());
        for column in &mut self.columns {
            let (field, array) = column.finish();
            fields.push(field);
            arrays.push(array);
        }
        let schema = Arc::new(Schema::new(fields));
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(schema, arrays, &options).map_err(|e| SinkError(e.to_string()))
    }

    pub fn finish(mut self) -> Result<ResultSet, SinkError> {
        let batch = self.take_batch()?;
        Ok(ResultSet { schema: batch.schema(), batches: vec![batch] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::{ColumnDescription, ColumnSink, ValueKind};

    fn column(name: &str, kind: ValueKind, sql_type: &str) -> ColumnBuilder {
        ColumnBuilder::new(name, ColumnDescription::new(kind, sql_type)).unwrap()
    }

    #[test]
    fn rows_become_one_batch_and_zero_rows_keep_the_schema() {
        let mut builder = ResultSetBuilder::new(vec![
            column("a", ValueKind::Int32, "int"),
            column("b", ValueKind::Utf8, "nvarchar(10)"),
        ]);
        builder.columns_mut()[0].append_i32(1).unwrap();
        builder.columns_mut()[1].append_str("x").unwrap();
        builder.end_row();
        let result = builder.finish().unwrap();
        assert_eq!(result.batches[0].num_rows(), 1);
        assert_eq!(result.schema.field(1).name(), "b");

        let empty = ResultSetBuilder::new(vec![column("a", ValueKind::Int32, "int")]).finish().unwrap();
        assert_eq!((empty.batches[0].num_rows(), empty.schema.fields().len()), (0, 1));
    }

    #[test]
    fn taking_a_batch_starts_the_next_one_empty_with_the_same_schema() {
        let mut builder = ResultSetBuilder::new(vec![column("a", ValueKind::Int32, "int")]);
        for value in [1, 2, 3] {
            builder.columns_mut()[0].append_i32(value).unwrap();
            builder.end_row();
        }
        let first = builder.take_batch().unwrap();
        assert_eq!((first.num_rows(), builder.pending_rows()), (3, 0));
        builder.columns_mut()[0].append_i32(4).unwrap();
        builder.end_row();
        let second = builder.take_batch().unwrap();
        assert_eq!(second.num_rows(), 1);
        assert_eq!(second.schema(), first.schema());
        let values = second.column(0).as_any().downcast_ref::<arrow_array::Int32Array>().unwrap();
        assert_eq!(values.value(0), 4);
    }
}
