//! Arbitrary bytes as a server's response: the decoder must return a result
//! or an error, never panic, and never buffer without bound.
#![no_main]

use fastmssql::arrow::BatchLimits;
use fastmssql::driver::decode_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small batches exercise the batch cuts as well.
    let _ = decode_response(data, BatchLimits::new(7, 4096));
});
