//! An end-to-end sync from the example directory into scim2-server, an implementation
//! nobody here wrote: it converges, a second run plans nothing, a renamed person keeps
//! their account, and a leaver is handled by the deletion policy (disabled by default,
//! deleted with `deletion = "delete"`).

mod support;

use std::path::Path;
use std::sync::Arc;

use idbridge_core::{AdapterHandle, UserChanges, registry};
use idbridge_file::FileAdapter;
use idbridge_store::Store;
use idbridge_sync::{Action, ApplyOptions, Engine, Plan, Target, TargetSettings};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

struct World {
    _dir: tempfile::TempDir,
    source: AdapterHandle,
    target: AdapterHandle,
    settings: TargetSettings,
    state: std::path::PathBuf,
}

impl World {
    async fn new(peer: &support::Peer, settings: Value) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let source_path = dir.path().join("directory.yaml");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/directory.yaml"),
            &source_path,
        )
        .expect("copy the example directory");
        let source = AdapterHandle::new(
            "source",
            Arc::new(FileAdapter::open(&source_path, false).expect("the source")),
        );
        let config = idbridge_core::AdapterConfig::new(
            "app",
            json!({
                "base_url": peer.fresh_base_url(),
                "token": support::TOKEN,
                "attribute_paths": {"externalId": "externalId", "department": format!("{ENTERPRISE}:department")},
            }),
        );
        let target = registry::build_adapter("scim", config)
            .await
            .expect("connects");
        World {
            state: dir.path().join("state.db"),
            _dir: dir,
            source,
            target,
            settings: TargetSettings::from_json("app", settings).expect("settings"),
        }
    }

    fn engine(&self) -> Engine {
        Engine::new(
            self.source.clone(),
            vec![Target {
                handle: self.target.clone(),
                settings: self.settings.clone(),
            }],
            Store::open(&self.state).expect("state"),
        )
    }

    async fn sync(&self) -> Plan {
        let engine = self.engine();
        let lock = engine.lock("sync").expect("lock");
        let plan = engine.plan().await.expect("plan");
        let report = engine
            .apply(&plan, &lock, &ApplyOptions::default())
            .await
            .expect("apply");
        assert!(
            report.converged(),
            "{}",
            idbridge_sync::report::render_run(&report)
        );
        plan
    }

    async fn plan(&self) -> Plan {
        self.engine().plan().await.expect("plan")
    }

    async fn target_user(&self, login: &str) -> Option<idbridge_core::User> {
        self.target
            .all_users()
            .await
            .expect("users")
            .into_iter()
            .find(|u| u.login == login)
    }
}

fn actions(plan: &Plan) -> Vec<&Action> {
    plan.targets
        .iter()
        .flat_map(|t| t.ops.iter().map(|o| &o.action))
        .collect()
}

fn settings(deletion: &str) -> Value {
    json!({
        "deletion": deletion,
        "attributes": {"externalId": "{id}", "department": "{attr.department}"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_directory_converges_renames_in_place_and_disables_leavers() {
    idbridge_scim::link();
    let Some(peer) = support::Peer::start("scim2-server end-to-end sync") else {
        return;
    };
    let w = World::new(&peer, settings("disable")).await;
    let first = w.sync().await;
    assert!(
        actions(&first)
            .iter()
            .any(|a| matches!(a, Action::CreateUser { .. }))
    );
    let plan = w.plan().await;
    assert!(
        plan.is_empty(),
        "a second run plans {} operations",
        plan.op_count()
    );

    let source = w.source.all_users().await.expect("source");
    let ada = source
        .iter()
        .find(|u| u.login == "ada.lovelace")
        .expect("ada");
    let before = w
        .target_user("ada.lovelace")
        .await
        .expect("ada on the target");
    assert_eq!(before.attributes.get("externalId"), Some(&ada.id));
    assert_eq!(
        before.attributes.get("department").map(String::as_str),
        Some("Engineering")
    );
    let groups = w.target.all_groups().await.expect("groups");
    let all_staff = groups
        .iter()
        .find(|g| g.name == "all-staff")
        .expect("all-staff");
    let members = w.target.all_members(&all_staff.id).await.expect("members");
    assert!(
        members
            .iter()
            .any(|m| matches!(m, idbridge_core::Principal::Group(_))),
        "nested groups kept: {members:?}"
    );

    // A rename updates the account in place.
    w.source
        .update_user(
            &ada.id,
            &UserChanges {
                login: Some("ada.king".into()),
                ..UserChanges::default()
            },
        )
        .await
        .expect("renamed in the source");
    let renamed = w.sync().await;
    assert!(
        !actions(&renamed)
            .iter()
            .any(|a| matches!(a, Action::CreateUser { .. } | Action::DeleteUser { .. })),
        "a rename recreated the account"
    );
    let after = w
        .target_user("ada.king")
        .await
        .expect("renamed on the target");
    assert_eq!(after.id, before.id);
    assert!(w.plan().await.is_empty());

    // A leaver is disabled (the default policy), not deleted.
    let grace = source
        .iter()
        .find(|u| u.login == "grace.hopper")
        .expect("grace");
    w.source
        .delete_user(&grace.id)
        .await
        .expect("left the source");
    w.sync().await;
    let gone = w
        .target_user("grace.hopper")
        .await
        .expect("kept on the target");
    assert!(!gone.enabled, "a leaver still enabled");
    assert!(w.plan().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_deletion_delete_a_leaver_is_deleted() {
    idbridge_scim::link();
    let Some(peer) = support::Peer::start("scim2-server end-to-end sync") else {
        return;
    };
    let w = World::new(&peer, settings("delete")).await;
    w.sync().await;
    let source = w.source.all_users().await.expect("source");
    let alan = source
        .iter()
        .find(|u| u.login == "alan.turing")
        .expect("alan");
    w.source
        .delete_user(&alan.id)
        .await
        .expect("left the source");
    let plan = w.sync().await;
    assert!(
        actions(&plan)
            .iter()
            .any(|a| matches!(a, Action::DeleteUser { .. }))
    );
    assert!(w.target_user("alan.turing").await.is_none());
    assert!(w.plan().await.is_empty());
}
