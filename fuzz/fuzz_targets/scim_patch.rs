//! Fuzz target `scim_patch`: see `idbridge_fuzz::scim_patch`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::scim_patch(data));
