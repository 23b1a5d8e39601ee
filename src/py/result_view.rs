//! Shared, immutable view of one result set that rows point into.

use super::cells::cell_to_py;
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
        Self { set, names, positions, batch_starts, num_rows }
    }

    pub(crate) fn num_rows(&self) -> usize {
        self.num_rows
    }

    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.positions.get(name).copied()
    }

    pub(crate) fn cell<'py>(&self, py: Python<'py>, row: usize, column: usize) -> PyResult<Bound<'py, PyAny>> {
        panic_safe(|| {
            let batch = self.batch_starts.partition_point(|start| *start <= row) - 1;
            let array = self.set.batches[batch].column(column);
            cell_to_py(py, array, row - self.batch_starts[batch])
        })
    }
}
