//! The sync engine end to end against directory-file targets: the whole story of a
//! target's life (first sync, no-op, rename, leaver, rejoiner) and every safety net.

use std::collections::HashSet;

use idbridge_core::{ErrorKind, NewUser, UserChanges};
use idbridge_e2e::World;
use idbridge_store::{Outcome, RunOutcome};
use idbridge_sync::{ApplyOptions, OpOutcome, Plan};
use serde_json::json;

fn logins(users: &[idbridge_core::User]) -> Vec<String> {
    let mut v: Vec<String> = users.iter().map(|u| u.login.clone()).collect();
    v.sort();
    v
}

async fn enabled_source_logins(w: &World) -> Vec<String> {
    let users = w.source.all_users().await.expect("source");
    let mut v: Vec<String> = users
        .iter()
        .filter(|u| u.enabled)
        .map(|u| u.login.clone())
        .collect();
    v.sort();
    v
}

fn no_duplicate_logins(users: &[idbridge_core::User]) {
    let mut seen = HashSet::new();
    for u in users {
        assert!(
            seen.insert(u.login.to_lowercase()),
            "duplicate account `{}`",
            u.login
        );
    }
}

#[tokio::test]
async fn first_sync_creates_everything_and_a_second_run_plans_and_writes_nothing() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({"attributes": "all"}));
    let (plan, report) = w.sync().await.expect("first sync");
    assert!(!plan.is_empty());
    assert!(report.converged(), "{report:?}");
    assert_eq!(report.outcome, RunOutcome::Succeeded);

    let users = w.target_users("mirror").await.expect("read back");
    assert_eq!(logins(&users), enabled_source_logins(&w).await);
    assert!(users.iter().all(|u| u.enabled));
    let ada = users
        .iter()
        .find(|u| u.login == "ada.lovelace")
        .expect("ada");
    assert_eq!(ada.email.as_deref(), Some("ada.lovelace@example.com"));
    assert_eq!(ada.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        ada.attributes.get("department").map(String::as_str),
        Some("Engineering")
    );
    // Groups with their nesting and members.
    let platform = w
        .target_group_members("mirror", "platform")
        .await
        .expect("members");
    assert!(
        platform.contains(&"grace.hopper".to_string()),
        "{platform:?}"
    );
    let all_staff = w
        .target_group_members("mirror", "all-staff")
        .await
        .expect("members");
    assert!(
        all_staff.contains(&"engineering".to_string()),
        "{all_staff:?}"
    );

    let writes = w.total_writes();
    assert!(writes > 0);
    let (plan, report) = w.sync().await.expect("second sync");
    assert!(plan.is_empty(), "second plan: {}", plan.to_json());
    assert!(report.converged());
    assert_eq!(w.total_writes(), writes, "a no-op run sends no write");
}

#[tokio::test]
async fn batched_writes_converge_the_same_way() {
    let mut w = World::new();
    w.add_batched_file_target("bulk", json!({}));
    let (_, report) = w.sync().await.expect("sync");
    assert!(report.converged(), "{report:?}");
    let users = w.target_users("bulk").await.expect("read");
    assert_eq!(logins(&users), enabled_source_logins(&w).await);
    let (plan, _) = w.sync().await.expect("again");
    assert!(plan.is_empty(), "{}", plan.to_json());
}

#[tokio::test]
async fn a_rename_updates_the_same_account() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    w.sync().await.expect("first");
    let before = w.target_users("mirror").await.expect("read");
    let grace = before
        .iter()
        .find(|u| u.login == "grace.hopper")
        .expect("grace")
        .clone();

    w.rename_source_user("grace.hopper", "grace.murray", "Grace Murray")
        .await
        .expect("rename");
    let (plan, report) = w.sync().await.expect("sync");
    let tp = &plan.targets[0];
    assert_eq!(tp.ops.len(), 1, "{}", plan.to_json());
    assert_eq!(tp.ops[0].action.name(), "update_user");
    assert!(report.converged());

    let after = w.target_users("mirror").await.expect("read");
    assert_eq!(after.len(), before.len(), "no account created or deleted");
    let renamed = after.iter().find(|u| u.id == grace.id).expect("same id");
    assert_eq!(renamed.login, "grace.murray");
    assert_eq!(renamed.display_name.as_deref(), Some("Grace Murray"));
    // Still in its groups.
    let platform = w
        .target_group_members("mirror", "platform")
        .await
        .expect("members");
    assert!(
        platform.contains(&"grace.murray".to_string()),
        "{platform:?}"
    );
    // The journal keeps the state before.
    let rows = w
        .engine()
        .store()
        .journal(Some(report.run))
        .expect("journal");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].operation, "update_user");
    assert_eq!(
        rows[0].before.as_ref().expect("before")["login"],
        "grace.hopper"
    );
    assert_eq!(
        rows[0].after.as_ref().expect("after")["login"],
        "grace.murray"
    );
}

#[tokio::test]
async fn a_leaver_is_disabled_and_a_rejoiner_is_re_enabled_not_recreated() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    w.sync().await.expect("first");
    let alan_target = w
        .target_users("mirror")
        .await
        .expect("read")
        .into_iter()
        .find(|u| u.login == "alan.turing")
        .expect("alan");

    let alan = w.remove_source_user("alan.turing").await.expect("leave");
    let (plan, report) = w.sync().await.expect("sync");
    let names: Vec<&str> = plan.targets[0]
        .ops
        .iter()
        .map(|o| o.action.name())
        .collect();
    assert!(names.contains(&"disable_user"), "{names:?}");
    assert!(report.converged());
    let now = w.target_users("mirror").await.expect("read");
    let disabled = now.iter().find(|u| u.id == alan_target.id).expect("kept");
    assert!(!disabled.enabled);
    let rows = w
        .engine()
        .store()
        .journal(Some(report.run))
        .expect("journal");
    // The last state is journaled before the disable is sent, then the outcome.
    let disable_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.operation == "disable_user")
        .collect();
    assert_eq!(disable_rows.len(), 2, "{disable_rows:?}");
    assert_eq!(disable_rows[0].outcome, Outcome::Started);
    assert_eq!(
        disable_rows[0].before.as_ref().expect("last state")["enabled"],
        true
    );
    assert_eq!(disable_rows[1].outcome, Outcome::Ok);
    assert_eq!(
        disable_rows[1].after.as_ref().expect("new state")["enabled"],
        false
    );

    // The same person comes back (a new source record with the same login).
    let mut back = NewUser::new("alan.turing");
    back.email = alan.email.clone();
    back.display_name = alan.display_name.clone();
    w.add_source_user(back, &["engineering"])
        .await
        .expect("rejoin");
    let (plan, report) = w.sync().await.expect("sync");
    let names: Vec<&str> = plan.targets[0]
        .ops
        .iter()
        .map(|o| o.action.name())
        .collect();
    assert!(names.contains(&"enable_user"), "{names:?}");
    assert!(!names.contains(&"create_user"), "{names:?}");
    assert!(report.converged());
    let now = w.target_users("mirror").await.expect("read");
    assert!(
        now.iter()
            .find(|u| u.id == alan_target.id)
            .expect("same")
            .enabled
    );
    no_duplicate_logins(&now);
    let (plan, _) = w.sync().await.expect("again");
    assert!(plan.is_empty(), "{}", plan.to_json());
}

#[tokio::test]
async fn many_leavers_trip_the_guard_until_allowed_once() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    w.sync().await.expect("first");
    let users = w.source.all_users().await.expect("source");
    let leaving: Vec<String> = users.iter().take(12).map(|u| u.login.clone()).collect();
    for l in &leaving {
        w.remove_source_user(l).await.expect("leave");
    }
    let writes = w.total_writes();
    let (_, report) = w.sync().await.expect("runs");
    assert_eq!(report.outcome, RunOutcome::Failed);
    let refused = report.targets[0].refused.as_deref().expect("refused");
    assert!(refused.contains("--allow-deletions"), "{refused}");
    assert!(refused.contains("max_deletion_percent"), "{refused}");
    assert_eq!(w.total_writes(), writes, "nothing changed");

    let opts = ApplyOptions {
        allow_deletions: Some(12),
        ..Default::default()
    };
    let (_, report) = w.sync_with(&opts).await.expect("runs");
    assert!(report.converged(), "{report:?}");
    let disabled = w
        .target_users("mirror")
        .await
        .expect("read")
        .into_iter()
        .filter(|u| !u.enabled)
        .count();
    assert!(disabled >= 11, "{disabled}");
}

#[tokio::test]
async fn an_emptied_source_is_an_error_and_changes_nothing() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    w.sync().await.expect("first");
    for u in w.source.all_users().await.expect("source") {
        w.source.delete_user(&u.id).await.expect("empty it");
    }
    let writes = w.total_writes();
    let err = w.sync().await.expect_err("refused");
    assert!(err.to_string().contains("returned no users"), "{err}");
    assert_eq!(w.total_writes(), writes);
    assert!(
        w.target_users("mirror")
            .await
            .expect("read")
            .iter()
            .all(|u| u.enabled)
    );
}

#[tokio::test]
async fn a_source_read_failure_changes_nothing() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    w.sync().await.expect("first");
    w.source_recorder.fail_reads(true);
    let writes = w.total_writes();
    let err = w.sync().await.expect_err("refused");
    assert!(
        err.to_string().contains("reading the source failed"),
        "{err}"
    );
    assert_eq!(w.total_writes(), writes);
    w.source_recorder.fail_reads(false);
    let (plan, _) = w.sync().await.expect("recovers");
    assert!(plan.is_empty());
}

#[tokio::test]
async fn an_unmanaged_account_is_left_alone_unless_adopted() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    let local = w.targets[0]
        .handle
        .create_user(&NewUser::new("local.admin"))
        .await
        .expect("pre-existing account");
    let (plan, report) = w.sync().await.expect("sync");
    assert!(report.converged());
    assert!(plan.targets[0].unmanaged.iter().any(|a| a.id == local.id));
    let again = w.targets[0]
        .handle
        .get_user(&local.id)
        .await
        .expect("still there");
    assert_eq!(again, local);

    // With adopt = "all" the same account is a leaver.
    let mut w2 = World::new();
    w2.add_file_target(
        "mirror",
        json!({"adopt": "all", "max_deletion_percent": 100}),
    );
    let local = w2.targets[0]
        .handle
        .create_user(&NewUser::new("local.admin"))
        .await
        .expect("pre-existing account");
    let (_, report) = w2.sync().await.expect("sync");
    assert!(report.converged(), "{report:?}");
    assert!(
        !w2.targets[0]
            .handle
            .get_user(&local.id)
            .await
            .expect("kept")
            .enabled
    );
}

#[tokio::test]
async fn a_failed_operation_skips_only_what_depends_on_it() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    w.targets[0].recorder.fail_name("ada.lovelace");
    let (_, report) = w.sync().await.expect("runs");
    let t = &report.targets[0];
    assert_eq!(report.outcome, RunOutcome::Failed);
    assert_eq!(t.failed, 1, "{t:?}");
    assert!(t.skipped >= 1, "ada's memberships are skipped: {t:?}");
    assert!(
        t.problems
            .iter()
            .all(|p| p.outcome == OpOutcome::Failed || p.resource.contains("ada.lovelace")),
        "{:?}",
        t.problems
    );
    assert_eq!(t.ok + t.failed + t.skipped, t.planned);
    let users = w.target_users("mirror").await.expect("read");
    assert!(!users.iter().any(|u| u.login == "ada.lovelace"));
    assert_eq!(users.len(), enabled_source_logins(&w).await.len() - 1);
    // The journal says why.
    let rows = w
        .engine()
        .store()
        .journal(Some(report.run))
        .expect("journal");
    assert!(rows.iter().any(|r| {
        r.outcome == Outcome::Failed
            && r.error
                .as_deref()
                .is_some_and(|e| e.contains("injected failure"))
    }));
    assert!(rows.iter().any(|r| r.outcome == Outcome::Skipped));

    // Fixed: the next run does the rest.
    w.targets[0].recorder.clear_failures();
    let (_, report) = w.sync().await.expect("runs");
    assert!(report.converged(), "{report:?}");
    let users = w.target_users("mirror").await.expect("read");
    assert!(users.iter().any(|u| u.login == "ada.lovelace"));
    no_duplicate_logins(&users);
}

#[tokio::test]
async fn a_crash_in_the_middle_of_apply_then_a_rerun_converges_without_duplicates() {
    for crash_at in [1usize, 7, 30, 55] {
        let mut w = World::new();
        // One operation at a time: dropping the run in-process cannot stop a file write
        // already handed to a blocking thread (a real crash does), and such a late write
        // would look like an edit by someone else to the restarted adapter. The emulator
        // tests cover crashes with many operations in flight.
        w.add_file_target("mirror", json!({"concurrency": 1}));
        let rec = w.targets[0].recorder.clone();
        rec.crash_after(crash_at);
        {
            let engine = w.engine();
            let lock = engine.lock("apply").expect("lock");
            let plan = engine.plan().await.expect("plan");
            let opts = ApplyOptions::default();
            tokio::select! {
                r = engine.apply(&plan, &lock, &opts) => {
                    panic!("the apply should have been cut off at write {crash_at}: {r:?}")
                }
                () = rec.crashed() => {}
            }
            // The process "dies": the lock and everything in flight are dropped.
        }
        w.restart();
        let (_, report) = w.sync().await.expect("rerun");
        assert!(report.converged(), "crash at {crash_at}: {report:?}");
        let users = w.target_users("mirror").await.expect("read");
        no_duplicate_logins(&users);
        assert_eq!(
            logins(&users),
            enabled_source_logins(&w).await,
            "crash at {crash_at}"
        );
        let (plan, _) = w.sync().await.expect("third");
        assert!(plan.is_empty(), "crash at {crash_at}: {}", plan.to_json());
        // The cut-off run is recorded as interrupted.
        let runs = w.engine().store().runs(10).expect("runs");
        assert!(
            runs.iter().any(|r| r.outcome == RunOutcome::Interrupted),
            "{runs:?}"
        );
    }
}

#[tokio::test]
async fn a_saved_plan_that_went_stale_is_refused() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    w.sync().await.expect("first");
    w.rename_source_user("ada.lovelace", "ada.king", "Ada King")
        .await
        .expect("rename");
    let engine = w.engine();
    let mut plan = engine.plan().await.expect("plan");
    // Sealed, as `idbridge plan --out` saves it.
    engine.seal(&mut plan).expect("seal");
    let saved = plan.to_json();
    assert!(
        engine
            .stale_reasons(&Plan::from_json(&saved).expect("parses"))
            .await
            .expect("check")
            .is_empty()
    );

    // Someone edits the account in the target before the plan is applied.
    let target = &w.targets[0].handle;
    let ada = target
        .all_users()
        .await
        .expect("read")
        .into_iter()
        .find(|u| u.login == "ada.lovelace")
        .expect("ada");
    target
        .update_user(
            &ada.id,
            &UserChanges {
                display_name: Some(Some("A. Lovelace".into())),
                ..Default::default()
            },
        )
        .await
        .expect("out-of-band edit");
    let reasons = engine
        .stale_reasons(&Plan::from_json(&saved).expect("parses"))
        .await
        .expect("check");
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].contains("changed since the plan was made"),
        "{reasons:?}"
    );
    assert!(reasons[0].contains("A. Lovelace"), "{reasons:?}");
}

#[tokio::test]
async fn a_second_concurrent_run_is_refused_naming_the_first() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    let first = w.engine();
    let _held = first.lock("apply").expect("first lock");
    let err = w.sync().await.expect_err("second run");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let text = err.to_string();
    assert!(text.contains("another run is in progress"), "{text}");
    assert!(
        text.contains(&format!("PID {}", std::process::id())),
        "{text}"
    );
    assert_eq!(w.total_writes(), 0);
}

#[tokio::test]
async fn a_stop_request_finishes_what_is_in_flight_journals_it_and_the_next_run_finishes() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({"concurrency": 2}));
    let stop = idbridge_sync::Stop::new();
    let s = stop.clone();
    let events: idbridge_sync::EventFn = std::sync::Arc::new(move |e| {
        if let idbridge_sync::RunEvent::OperationFinished { done, .. } = e {
            if *done >= 10 {
                s.stop();
            }
        }
    });
    let opts = ApplyOptions {
        stop,
        events: Some(events),
        ..Default::default()
    };
    let (plan, report) = w.sync_with(&opts).await.expect("runs");
    assert_eq!(report.outcome, RunOutcome::Stopped, "{report:?}");
    let t = &report.targets[0];
    assert!(t.not_started > 0, "{t:?}");
    assert_eq!(t.failed, 0);
    assert_eq!(t.ok + t.not_started + t.skipped, plan.op_count());
    // Everything done was journaled.
    let rows = w
        .engine()
        .store()
        .journal(Some(report.run))
        .expect("journal");
    let finished: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome != Outcome::Started)
        .collect();
    assert_eq!(finished.len(), t.ok);
    assert!(finished.iter().all(|r| r.outcome == Outcome::Ok));
    let (_, report) = w.sync().await.expect("next run");
    assert!(report.converged(), "{report:?}");
    let users = w.target_users("mirror").await.expect("read");
    no_duplicate_logins(&users);
    assert_eq!(logins(&users), enabled_source_logins(&w).await);
}

#[tokio::test]
async fn a_source_user_whose_email_looks_like_another_is_named_and_gets_no_account() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    let (_, report) = w.sync().await.expect("first sync");
    assert!(report.converged(), "{report:?}");
    let before = w.target_users("mirror").await.expect("read");

    // The same address in other case, in a new record.
    let twin = NewUser {
        email: Some("ADA.LOVELACE@Example.com".into()),
        ..NewUser::new("ada.twin")
    };
    w.add_source_user(twin, &[]).await.expect("add");
    let (plan, report) = w.sync().await.expect("sync");
    assert!(report.converged(), "{report:?}");
    let conflicts = &plan.targets[0].conflicts;
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].sources.len(), 2, "{conflicts:?}");
    assert!(
        conflicts[0]
            .sources
            .iter()
            .any(|s| s.contains("ada.lovelace"))
            && conflicts[0].sources.iter().any(|s| s.contains("ada.twin")),
        "{conflicts:?}"
    );
    assert!(conflicts[0].reason.contains("e-mail"), "{conflicts:?}");
    assert_eq!(
        w.target_users("mirror").await.expect("read"),
        before,
        "neither account is created nor changed"
    );
}
