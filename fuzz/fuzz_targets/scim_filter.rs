//! Fuzz target `scim_filter`: see `idbridge_fuzz::scim_filter`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::scim_filter(data));
