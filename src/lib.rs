//! fastmssql: columnar asyncio SQL Server client (Rust core).
//!
//! Layers: `config` (settings, no I/O), `arrow` (decoder-independent column
//! sinks building RecordBatches), `driver` (the only code naming tiberius),
//! `py` (the only code using pyo3).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod arrow;
pub mod config;
pub mod decimal;
pub mod driver;
pub mod error;
pub mod params;
mod py;
pub mod runtime;
pub mod statement;
pub mod temporal;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
