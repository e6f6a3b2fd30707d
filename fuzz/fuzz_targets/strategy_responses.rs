//! Fuzz target `strategy_responses`: see `idbridge_fuzz::strategy_responses`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::strategy_responses(data));
