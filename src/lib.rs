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
    #[cfg(feature = "mimalloc")]
    tune_allocator();
    py::register(m)
}

/// Has mimalloc commit arena memory as it is used. By default it commits
/// whole arena chunks up front on Linux (an overcommitting OS), and a
/// result's partly filled chunks stayed resident: reading a 105 MiB Arrow
/// table grew the process by 162 MiB; committed on demand, by 115 MiB, at
/// the same speed.
#[cfg(feature = "mimalloc")]
fn tune_allocator() {
    // `mi_option_arena_eager_commit` in mimalloc.h (v2 and v3); the sys
    // crate names only some of the options.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    // SAFETY: sets a process-wide option; mimalloc reads it when it reserves
    // its next arena.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) }
}
