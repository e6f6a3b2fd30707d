//! The shared conformance suite against the adapter, each scenario over a fresh state
//! database seeded with a small SCIM directory (as `idbridge serve` stores it). The adapter
//! only reads, so the suite runs the scenarios of the read capabilities and the capability
//! checks.

use std::process::ExitCode;

use idbridge_core::config::ConfigOrigin;
use idbridge_core::{AdapterConfig, Error, registry};
use idbridge_store::Store;
use idbridge_store::{InboxKind, InboxWrite};
use idbridge_testkit::conformance::{self, Fixture, Instance};
use serde_json::json;

struct InboxFixture;

/// Users `u-00`..`u-11` (one inactive), and two groups, one inside the other.
fn seed(store: &Store) -> idbridge_core::Result<()> {
    let mut writes: Vec<InboxWrite> = (0..12)
        .map(|i| InboxWrite::Put {
            kind: InboxKind::User,
            id: format!("u-{i:02}"),
            resource: json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("user{i:02}@example.com"),
                "active": i != 3,
                "emails": [{"value": format!("user{i:02}@example.com"), "type": "work"}],
            }),
            if_version: None,
        })
        .collect();
    writes.push(InboxWrite::Put {
        kind: InboxKind::Group,
        id: "g-eng".into(),
        resource: json!({"displayName": "Engineering", "members": [
            {"value": "u-01", "type": "User"}, {"value": "u-02"}, {"value": "g-ops", "type": "Group"}]}),
        if_version: None,
    });
    writes.push(InboxWrite::Put {
        kind: InboxKind::Group,
        id: "g-ops".into(),
        resource: json!({"displayName": "Operations", "members": [{"value": "u-04"}]}),
        if_version: None,
    });
    store.inbox_write(&writes).map(|_| ())
}

#[idbridge_core::async_trait]
impl Fixture for InboxFixture {
    async fn instance(&self) -> idbridge_core::Result<Instance> {
        let dir = tempfile::tempdir().map_err(|e| Error::unavailable(format!("temp dir: {e}")))?;
        let state = dir.path().join("state.db");
        seed(&Store::open(&state)?)?;
        let mut config = AdapterConfig::new("conformance", json!({"state": "state.db"}));
        config.origin = ConfigOrigin::in_memory(dir.path());
        let handle = registry::build_adapter("scim-inbox", config).await?;
        Ok(Instance::with_guard(handle, dir))
    }
}

fn main() -> ExitCode {
    idbridge_scim_inbox::link();
    conformance::run(InboxFixture)
}
