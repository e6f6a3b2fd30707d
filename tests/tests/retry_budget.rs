//! The worst case of retries, end to end: one operation through the engine against a
//! vendor emulator that answers every request with 503 (or drops every connection) makes
//! at most the number of requests docs/operations.md states ("Retries"). Transient
//! failures are retried by the HTTP layer alone (`RetryPolicy::default().max_attempts`
//! attempts per request), and the engine tries a write again only when its outcome is
//! unknown (a create whose connection dropped after sending), so the two never multiply.
//!
//! The plan is made while the emulator is healthy; the faults are switched on for the
//! apply only, and the emulator's own log counts what reached it.

use idbridge_core::UserChanges;
use idbridge_core::http::RetryPolicy;
use idbridge_e2e::World;
use idbridge_sync::ApplyOptions;
use idbridge_testkit::emulator::{EmulatorOptions, FaultSpec};
use serde_json::json;

/// Every operation is one of these in the plans below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Update,
    Create,
}

/// A world whose one target `t` is the `vendor` emulator, in sync with the source.
async fn synced(vendor: &str) -> World {
    let mut w = World::new();
    w.add_emulator_target(vendor, "t", json!({}), EmulatorOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{vendor} emulator: {e}"));
    let (_, report) = w.sync().await.expect("first sync");
    assert!(
        report.converged(),
        "{}",
        idbridge_sync::report::render_run(&report)
    );
    w
}

/// Changes the target behind the engine's back so that the next plan holds one `op` on
/// one account: its email changed (an update puts it back) or the account deleted (a
/// create makes it again).
async fn diverge(w: &World, op: Op) -> String {
    // A target knows an account by its login or, where logins are emails, by its email.
    let source: Vec<String> = w
        .source
        .all_users()
        .await
        .expect("source")
        .into_iter()
        .filter(|u| u.enabled)
        .flat_map(|u| [Some(u.login), u.email])
        .flatten()
        .map(|k| k.to_lowercase())
        .collect();
    let users = w.target_users("t").await.expect("target");
    let handle = &w.target("t").handle;
    let user = users
        .into_iter()
        .find(|u| {
            u.enabled && source.contains(&u.login.to_lowercase()) && !handle.protected().user(&u.id)
        })
        .expect("a synced account");
    match op {
        Op::Update => {
            let changes = UserChanges {
                email: Some(Some("someone.else@example.org".into())),
                ..UserChanges::default()
            };
            handle
                .update_user(&user.id, &changes)
                .await
                .expect("update");
        }
        Op::Create => handle.delete_user(&user.id).await.expect("delete"),
    }
    user.login
}

/// Plans (healthy), then applies with `faults` on; the requests the emulator received
/// during the apply, and the number of operations the plan held.
async fn requests_of_one_operation(vendor: &str, op: Op, faults: &str) -> (usize, Vec<String>) {
    let w = synced(vendor).await;
    let login = diverge(&w, op).await;
    let engine = w.engine();
    let lock = engine.lock("apply").expect("lock");
    let plan = engine.plan().await.expect("plan");
    let name = match op {
        Op::Update => "update_user",
        Op::Create => "create_user",
    };
    let ops: Vec<_> = plan.targets[0]
        .ops
        .iter()
        .filter(|o| o.action.name() == name)
        .collect();
    assert_eq!(ops.len(), 1, "{vendor}: one {name} for {login}");
    let emulator = w.target("t").emulator.as_ref().expect("emulator");
    let before = emulator.server.log().entries().len();
    emulator
        .server
        .set_faults(FaultSpec::parse(faults).expect("fault spec"));
    let report = engine
        .apply(&plan, &lock, &ApplyOptions::default())
        .await
        .expect("apply");
    emulator.server.set_faults(FaultSpec::none());
    assert!(!report.converged(), "{vendor}: nothing can succeed");
    let sent: Vec<String> = emulator.server.log().entries()[before..]
        .iter()
        .map(|r| format!("{} {} ({})", r.method, r.path, r.fault.unwrap_or("served")))
        .collect();
    (sent.len(), sent)
}

/// Attempts the engine makes of a write whose outcome is unknown (docs/operations.md,
/// "Retries"); each is one request, since the HTTP layer does not repeat such a write.
const ENGINE_ATTEMPTS: usize = 4;

const VENDORS: [&str; 3] = ["strategy", "dataiku", "squirro"];

/// The documented bound for one operation: the HTTP layer's attempts for one request.
fn attempts() -> usize {
    RetryPolicy::default().max_attempts as usize
}

#[tokio::test]
async fn an_update_against_a_server_answering_503_makes_at_most_the_http_layers_attempts() {
    for vendor in VENDORS {
        let (n, sent) =
            requests_of_one_operation(vendor, Op::Update, "503=1,retry_after=0,seed=1").await;
        assert_eq!(n, attempts(), "{vendor}: {sent:#?}");
    }
}

#[tokio::test]
async fn a_create_against_a_server_answering_503_makes_at_most_the_http_layers_attempts() {
    for vendor in VENDORS {
        let (n, sent) =
            requests_of_one_operation(vendor, Op::Create, "503=1,retry_after=0,seed=1").await;
        assert_eq!(n, attempts(), "{vendor}: {sent:#?}");
    }
}

#[tokio::test]
async fn an_update_against_a_server_dropping_every_connection_is_retried_by_the_http_layer_only() {
    for vendor in VENDORS {
        let (n, sent) = requests_of_one_operation(vendor, Op::Update, "reset=1,seed=1").await;
        assert_eq!(n, attempts(), "{vendor}: {sent:#?}");
    }
}

#[tokio::test]
async fn a_create_against_a_server_dropping_every_connection_is_sent_again_by_the_engine_only() {
    for vendor in VENDORS {
        let (n, sent) = requests_of_one_operation(vendor, Op::Create, "reset=1,seed=1").await;
        assert!(n <= attempts(), "{vendor}: {n} requests: {sent:#?}");
        // A create that is sent (not every adapter reads first) is sent once per engine
        // attempt: its outcome is unknown, so the HTTP layer does not repeat it.
        let creates = sent.iter().filter(|r| r.starts_with("POST")).count();
        assert!(
            creates == 0 || creates == ENGINE_ATTEMPTS,
            "{vendor}: {sent:#?}"
        );
    }
}
