//! The shared conformance suite against the SCIM emulator: every scenario gets a freshly
//! started emulator and a freshly connected adapter.

use std::process::ExitCode;

use idbridge_core::registry;
use idbridge_scim::emulator::start;
use idbridge_testkit::conformance::{Fixture, Instance, run};
use idbridge_testkit::emulator::EmulatorOptions;

struct Emulated;

#[idbridge_core::async_trait]
impl Fixture for Emulated {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let emulator = start(EmulatorOptions::default()).await?;
        let handle = registry::build_adapter("scim", emulator.adapter_config("scim")).await?;
        Ok(Instance::with_guard(handle, emulator))
    }
}

fn main() -> ExitCode {
    run(Emulated)
}
