//! Fuzz target: `retrace_encode::fuzzing::e5` on arbitrary bytes (see docs/fuzzing.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = retrace_encode::fuzzing::e5(data);
});
