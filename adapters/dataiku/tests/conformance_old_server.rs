//! The shared conformance suite against an emulator imitating a DSS older than 14.2 (no
//! bulk user endpoints, no `includeSettings`): proves the one-request-per-user fallback
//! the adapter switches to when its first bulk request finds no endpoint.

use std::process::ExitCode;

use idbridge_core::registry;
use idbridge_dataiku::emulator::{DEFAULT_PROJECT_KEY, start};
use idbridge_testkit::conformance::{Fixture, Instance, run};
use idbridge_testkit::emulator::EmulatorOptions;

struct OldDss;

#[idbridge_core::async_trait]
impl Fixture for OldDss {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let mut options = EmulatorOptions::default();
        options.extra.insert("version".into(), "14.1.4".into());
        let emulator = start(options).await?;
        let handle = registry::build_adapter("dataiku", emulator.adapter_config("dss")).await?;
        Ok(Instance::with_guard(handle, emulator))
    }

    fn grant_project(&self) -> Option<String> {
        Some(DEFAULT_PROJECT_KEY.to_string())
    }
}

fn main() -> ExitCode {
    run(OldDss)
}
