//! Fuzz target `file_directory`: see `idbridge_fuzz::file_directory`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::file_directory(data));
