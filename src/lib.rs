//! fastmssql: columnar asyncio SQL Server client (Rust core).
//!
//! Layers, each using only those below it: `types` (the type table),
//! `tds` (the sans-IO protocol reader), `arrow` (column writers building
//! RecordBatches), `driver` (the only code naming tiberius), `py` (the only
//! code using pyo3); `config` holds settings, without I/O.

// The extension allocates with mimalloc (the `mimalloc` feature, which the
// wheel build turns on); tests may count allocations with their own allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod arrow;
pub mod config;
pub mod decimal;
pub mod driver;
pub mod error;
pub mod params;
mod py;
pub mod request;
pub mod runtime;
pub mod statement;
pub mod tds;
pub mod temporal;
pub mod types;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
