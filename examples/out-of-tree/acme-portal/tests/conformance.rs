//! The idbridge conformance suite against the portal adapter: every scenario gets a new
//! portal in its own temporary directory.

use std::process::ExitCode;

use idbridge_core::{AdapterConfig, ConfigOrigin, Error, registry};
use idbridge_testkit::conformance::{self, Fixture, Instance};

struct PortalFixture;

#[idbridge_core::async_trait]
impl Fixture for PortalFixture {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let dir = tempfile::tempdir().map_err(|e| Error::unavailable(format!("temp dir: {e}")))?;
        let mut config = AdapterConfig::new(
            "conformance",
            serde_json::json!({"path": "portal.json", "create": true}),
        );
        config.origin = ConfigOrigin::in_memory(dir.path());
        let handle = registry::build_adapter("portal", config).await?;
        Ok(Instance::with_guard(handle, dir))
    }
}

fn main() -> ExitCode {
    acme_portal::link();
    conformance::run(PortalFixture)
}
