//! Fuzz target `squirro_responses`: see `idbridge_fuzz::squirro_responses`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::squirro_responses(data));
