//! The shared conformance suite against the Dataiku emulator as DSS 14.2+ (bulk user
//! endpoints on): every scenario gets a freshly started emulator and a freshly connected
//! adapter. `conformance_old_server.rs` runs it against an older server.

use std::process::ExitCode;

use idbridge_core::registry;
use idbridge_dataiku::emulator::{DEFAULT_PROJECT_KEY, start};
use idbridge_testkit::conformance::{Fixture, Instance, run};
use idbridge_testkit::emulator::EmulatorOptions;

struct Dss;

#[idbridge_core::async_trait]
impl Fixture for Dss {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let emulator = start(EmulatorOptions::default()).await?;
        let handle = registry::build_adapter("dataiku", emulator.adapter_config("dss")).await?;
        if handle.capabilities().users_batch_max.is_none() {
            return Err(idbridge_core::Error::protocol(
                "the adapter did not find the emulator's bulk endpoints",
            ));
        }
        Ok(Instance::with_guard(handle, emulator))
    }

    fn grant_project(&self) -> Option<String> {
        Some(DEFAULT_PROJECT_KEY.to_string())
    }
}

fn main() -> ExitCode {
    run(Dss)
}
