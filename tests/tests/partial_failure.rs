//! A target that cannot be read is skipped and reported; the others converge; the run is
//! journaled with every target's outcome. A source that cannot be read still changes
//! nothing anywhere.

use idbridge_e2e::World;
use idbridge_store::{RunOutcome, Store};
use serde_json::json;

#[tokio::test]
async fn a_target_that_cannot_be_read_is_skipped_and_the_others_converge() {
    let mut w = World::new();
    w.add_file_target("a", json!({}));
    w.add_file_target("b", json!({}));
    w.target("b").recorder.fail_reads(true);

    let (plan, report) = w.sync().await.expect("the run goes on without `b`");
    let b = plan.target("b").expect("`b` is in the plan");
    assert!(b.ops.is_empty(), "nothing is planned for `b`");
    let why = b
        .unavailable
        .as_deref()
        .expect("`b` is reported unavailable");
    assert!(why.contains("injected read failure"), "{why}");
    assert!(!plan.target("a").expect("a").ops.is_empty());

    assert_eq!(report.outcome, RunOutcome::Failed);
    let a = report.targets.iter().find(|t| t.target == "a").expect("a");
    assert!(a.converged(), "{a:?}");
    let b = report.targets.iter().find(|t| t.target == "b").expect("b");
    assert!(b.unavailable.is_some() && !b.converged(), "{b:?}");
    assert_eq!(w.target("b").recorder.writes(), 0, "nothing written to `b`");
    assert!(!w.target_users("a").await.expect("read a").is_empty());

    let store = Store::open(&w.state).expect("state");
    let run = store
        .run(report.run)
        .expect("read")
        .expect("the run is journaled");
    assert_eq!(run.outcome, RunOutcome::Failed);
    let counts = run.counts.expect("counts");
    assert!(
        counts["b"]["unavailable"]
            .as_str()
            .is_some_and(|r| r.contains("injected read failure")),
        "{counts}"
    );
    assert_eq!(counts["a"]["unavailable"], serde_json::Value::Null);
    assert!(run.plan_digest.is_some_and(|d| d == plan.digest()));

    // Back up: the next run syncs it.
    w.target("b").recorder.fail_reads(false);
    let (_, report) = w.sync().await.expect("runs");
    assert!(report.converged(), "{report:?}");
    assert!(!w.target_users("b").await.expect("read b").is_empty());
}

#[tokio::test]
async fn a_failed_source_read_changes_nothing_even_when_a_target_is_down() {
    let mut w = World::new();
    w.add_file_target("a", json!({}));
    w.add_file_target("b", json!({}));
    w.target("b").recorder.fail_reads(true);
    w.source_recorder.fail_reads(true);
    let err = w.sync().await.expect_err("refused");
    assert!(
        err.to_string().contains("reading the source failed"),
        "{err}"
    );
    assert_eq!(w.total_writes(), 0);
}

#[tokio::test]
async fn a_saved_plan_skips_a_target_that_cannot_be_read_now() {
    let mut w = World::new();
    w.add_file_target("a", json!({}));
    w.add_file_target("b", json!({}));
    let engine = w.engine();
    let mut plan = engine.plan().await.expect("plan");
    // Sealed, as `idbridge plan --out` saves it.
    engine.seal(&mut plan).expect("seal");
    let saved = idbridge_sync::Plan::from_json(&plan.to_json()).expect("round trip");
    assert_eq!(
        saved.digest(),
        plan.digest(),
        "a saved plan keeps its digest"
    );

    w.target("b").recorder.fail_reads(true);
    let check = engine.check_saved(&saved).await.expect("checked");
    assert!(check.stale.is_empty(), "{:?}", check.stale);
    assert_eq!(check.unavailable.len(), 1);
    assert_eq!(check.unavailable[0].name, "b");
    let lock = engine.lock("apply").expect("lock");
    let options = idbridge_sync::ApplyOptions {
        unavailable: check.unavailable,
        ..Default::default()
    };
    let report = engine
        .apply(&saved, &lock, &options)
        .await
        .expect("applies");
    assert!(report.targets[0].converged(), "{report:?}");
    assert!(report.targets[1].unavailable.is_some(), "{report:?}");
    assert_eq!(w.target("b").recorder.writes(), 0);
}
