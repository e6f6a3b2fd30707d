//! Fuzz target `config_file`: see `idbridge_fuzz::config_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::config_file(data));
