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

/// mimalloc's defaults for this package's allocation pattern (large column
/// buffers filled once, freed when a result is dropped); `MIMALLOC_*`
/// environment variables still override them:
/// - arena memory is committed as it is used. By default mimalloc commits
///   whole arena chunks up front on Linux (an overcommitting OS): a
///   result's partly filled chunks stayed resident (a 105 MiB Arrow table
///   grew the process by 162 MiB; committed on demand, by 115 MiB), and
///   the kernel zeroed fresh pages for every result (14% of the decode of
///   a repeated query; under 1% committed on demand).
/// - freed memory goes back to the OS after 10 s instead of 10 ms, so a
///   next result can reuse it (jemalloc's default delay is also 10 s).
///   mimalloc purges, at each deadline, whatever is free at that moment:
///   with 1 s, a query repeated back to back still had its fresh buffers
///   decommitted and faulted in again (the kernel was 20% of decoding a
///   100k-row response, 6% with 10 s); peak RSS of the memory benchmark is
///   the same with either.
///
/// They must be set before mimalloc reserves its first arena, which the
/// first allocation does: hence a load-time constructor (ordered before
/// mimalloc's own, which reads the environment), for the extension module
/// and for the benches alike. It neither allocates nor reads anything.
#[cfg(all(feature = "mimalloc", target_os = "linux"))]
#[used]
#[link_section = ".init_array.00101"]
static SET_ALLOCATOR_DEFAULTS: extern "C" fn() = {
    extern "C" fn set_allocator_defaults() {
        // Numbers of `mi_option_e` in mimalloc.h (v2 and v3); the sys
        // crate names only some of the options.
        const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
        const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
        // SAFETY: sets the defaults of process-wide options, which
        // mimalloc reads (with the environment) at its initialization.
        unsafe {
            libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0);
            libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 10_000);
        }
    }
    set_allocator_defaults
};
