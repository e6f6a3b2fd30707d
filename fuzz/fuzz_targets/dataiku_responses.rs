//! Fuzz target `dataiku_responses`: see `idbridge_fuzz::dataiku_responses`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::dataiku_responses(data));
