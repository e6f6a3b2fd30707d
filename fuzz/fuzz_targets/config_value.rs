//! Fuzz target `config_value`: see `idbridge_fuzz::config_value`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::config_value(data));
