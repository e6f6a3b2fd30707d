//! The shared conformance suite against the file adapter: every scenario gets its own
//! temporary directory holding a seeded directory file.

use std::process::ExitCode;

use idbridge_core::{AdapterConfig, ConfigOrigin, registry};
use idbridge_testkit::conformance::{self, Fixture, Instance};

/// Records the suite must not assume away: existing users, groups, nesting, and the roles
/// the grant scenarios pick from (the traits cannot create roles).
const SEED: &str = r#"
users:
  - {id: u-existing-1, login: existing.one, email: existing.one@example.com, groups: [existing-team]}
  - {id: u-existing-2, login: existing.two, enabled: false}
groups:
  - {id: g-existing-all, name: existing-all}
  - {id: g-existing-team, name: existing-team, groups: [existing-all]}
roles:
  - {id: r-viewer, name: viewer}
  - {id: r-analyst, name: analyst, scope: {project: Sales Analytics}}
grants:
  - {role: viewer, group: existing-all}
  - {role: analyst, user: existing.one}
complete: {users: 2, groups: 2, roles: 2, grants: 2}
"#;

struct FileFixture;

#[idbridge_core::async_trait]
impl Fixture for FileFixture {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let dir = tempfile::tempdir()
            .map_err(|e| idbridge_core::Error::unavailable(format!("temp dir: {e}")))?;
        std::fs::write(dir.path().join("directory.yaml"), SEED)
            .map_err(|e| idbridge_core::Error::unavailable(format!("seed file: {e}")))?;
        let mut cfg = AdapterConfig::new(
            "conformance",
            serde_json::json!({"path": "directory.yaml", "create": true}),
        );
        cfg.origin = ConfigOrigin::in_memory(dir.path());
        let handle = registry::build_adapter("file", cfg).await?;
        Ok(Instance::with_guard(handle, dir))
    }
}

fn main() -> ExitCode {
    // Reference the crate so the linker keeps its adapter registration.
    let _ = idbridge_file::ADAPTER_NAME;
    conformance::run(FileFixture)
}
