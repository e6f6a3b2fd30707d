//! Fuzz target `adapter_responses`: see `idbridge_fuzz::adapter_responses` (every linked
//! adapter; `IDBRIDGE_FUZZ_ADAPTER=<name>` fuzzes one).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idbridge_fuzz::adapter_responses(data));
