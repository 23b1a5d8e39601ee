//! Shared, immutable view of one result set that rows point into.

use super::cells::CellColumn;
use super::errors::panic_safe;
use crate::arrow::ResultSet;
use ahash::AHashMap;
use pyo3::prelude::*;

pub(crate) struct ResultView {
    pub(crate) set: ResultSet,
    pub(crate) names: Vec<String>,
    positions: AHashMap<String, usize>,
    /// First row of each batch.
    batch_starts: Vec<usize>,
    /// Each batch's columns, downcast once for reading cells.
    columns: Vec<Vec<CellColumn>>,
    num_rows: usize,
}

impl ResultView {
    pub(crate) fn new(set: ResultSet) -> Self {
        let names: Vec<String> = set.schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut positions = AHashMap::with_capacity(names.len());
        // With duplicate column names, lookup by name finds the first one.
        for (i, name) in names.iter().enumerate() {
            positions.entry(name.clone()).or_insert(i);
        }
        let mut batch_starts = Vec::with_capacity(set.batches.len());
        let mut num_rows = 0;
        for batch in &set.batches {
            batch_starts.push(num_rows);
            num_rows += batch.num_rows();
        }
        let columns = set.batches.iter().map(|batch| batch.columns().iter().map(CellColumn::new).collect()).collect();
        Self { set, names, positions, batch_starts, columns, num_rows }
    }

    pub(crate) fn num_rows(&self) -> usize {
        self.num_rows
    }

    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.positions.get(name).copied()
    }

    /// The batch holding `row`, and the row's index in it.
    fn locate(&self, row: usize) -> (&[CellColumn], usize) {
        let batch = match self.batch_starts.len() {
            1 => 0,
            _ => self.batch_starts.partition_point(|start| *start <= row).saturating_sub(1),
        };
        (&self.columns[batch], row - self.batch_starts[batch])
    }

    pub(crate) fn cell<'py>(&self, py: Python<'py>, row: usize, column: usize) -> PyResult<Bound<'py, PyAny>> {
        panic_safe(|| {
            let (columns, index) = self.locate(row);
            columns[column].value(py, index)
        })
    }

    /// Every cell of `row`, in column order.
    pub(crate) fn row_values<'py>(&self, py: Python<'py>, row: usize) -> PyResult<Vec<Bound<'py, PyAny>>> {
        panic_safe(|| {
            let (columns, index) = self.locate(row);
            columns.iter().map(|column| column.value(py, index)).collect()
        })
    }
}
