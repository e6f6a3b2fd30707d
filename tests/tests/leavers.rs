//! No leaver left active: a platform that cannot disable accounts (Squirro), and
//! offboarding holds that outlast the source.
use idbridge_e2e::World;
use idbridge_sync::report::{render_plan, render_run};
use idbridge_testkit::emulator::EmulatorOptions;
use serde_json::json;

const ALAN: &str = "alan.turing@example.com";

async fn squirro_world() -> World {
    let mut w = World::new();
    // The default deletion policy, "disable", which Squirro cannot do.
    w.add_emulator_target("squirro", "sq", json!({}), EmulatorOptions::default())
        .await
        .expect("squirro emulator");
    w
}

async fn groups_of(w: &World, login: &str) -> Vec<String> {
    let mut out = Vec::new();
    for g in w.target("sq").handle.all_groups().await.expect("groups") {
        let members = w
            .target_group_members("sq", &g.name)
            .await
            .expect("members");
        if members.iter().any(|m| m == login) {
            out.push(g.name);
        }
    }
    out
}

#[tokio::test]
async fn a_leaver_on_a_platform_that_cannot_disable_is_stripped_and_never_converged() {
    let w = squirro_world().await;
    let (_, report) = w.sync().await.expect("first sync");
    assert!(report.converged(), "{}", render_run(&report));
    assert!(!groups_of(&w, ALAN).await.is_empty());

    w.remove_source_user("alan.turing").await.expect("leaver");
    let (plan, report) = w.sync().await.expect("sync");
    let text = render_plan(&plan, &[]);
    assert!(
        text.contains(
            "! alan.turing@example.com (left the source): cannot disable on this platform: \
             memberships and roles removed, sessions revoked; the account can still sign in"
        ) || text.contains(
            "! alan.turing@example.com (left the source): cannot disable on this platform: \
             memberships removed"
        ),
        "{text}"
    );
    assert!(
        text.contains("- remove user alan.turing@example.com from group"),
        "{text}"
    );
    assert!(
        text.contains("! revoke sessions of alan.turing@example.com"),
        "{text}"
    );
    // The account is still there, in no group any more; its sessions were revoked.
    assert!(
        w.target_users("sq")
            .await
            .expect("users")
            .iter()
            .any(|u| u.login == ALAN)
    );
    assert_eq!(groups_of(&w, ALAN).await, Vec::<String>::new());
    let t = &report.targets[0];
    assert_eq!(t.failed, 0, "{}", render_run(&report));
    assert_eq!(t.done.get("revoke_sessions"), Some(&1), "{:?}", t.done);
    // Not converged, and the report names the account and why.
    assert!(!report.converged(), "{}", render_run(&report));
    let run = render_run(&report);
    assert!(
        run.contains("still able to sign in: alan.turing@example.com (left the source)"),
        "{run}"
    );
    assert!(run.contains("not converged"), "{run}");

    // The next run plans nothing again, and still says so.
    let writes = w.total_writes();
    let (plan, report) = w.sync().await.expect("again");
    assert!(plan.is_empty(), "{}", render_plan(&plan, &[]));
    assert_eq!(w.total_writes(), writes);
    assert!(!report.converged());
    assert!(
        render_run(&report).contains("still able to sign in: alan.turing@example.com"),
        "{}",
        render_run(&report)
    );
    assert!(
        render_plan(&plan, &[]).contains("Nothing to change, but 1 account(s)"),
        "{}",
        render_plan(&plan, &[])
    );
}

#[tokio::test]
async fn deletion_delete_removes_the_leaver_from_a_platform_that_cannot_disable() {
    let mut w = World::new();
    w.add_emulator_target(
        "squirro",
        "sq",
        json!({"deletion": "delete"}),
        EmulatorOptions::default(),
    )
    .await
    .expect("squirro emulator");
    w.sync().await.expect("first sync");
    w.remove_source_user("alan.turing").await.expect("leaver");
    let (_, report) = w.sync().await.expect("sync");
    assert!(report.converged(), "{}", render_run(&report));
    assert!(
        !w.target_users("sq")
            .await
            .expect("users")
            .iter()
            .any(|u| u.login == ALAN)
    );
}

/// Offboards `who` as `idbridge offboard --yes` does: plan, hold, apply, journal.
async fn offboard(w: &World, who: &str) -> idbridge_sync::RunReport {
    let engine = w.engine();
    let plan = engine.offboard_plan(who).await.expect("offboard plan");
    let new_hold = engine
        .offboard_hold(who, &plan, "offboard: compromised")
        .await
        .expect("hold");
    let hold = engine.store().add_hold(&new_hold).expect("hold recorded");
    let lock = engine.lock("offboard").expect("lock");
    let opts = idbridge_sync::ApplyOptions {
        skip_guard: true,
        ..Default::default()
    };
    let report = engine.apply(&plan, &lock, &opts).await.expect("apply");
    idbridge_sync::holds::journal_placed(engine.store(), report.run, &hold).expect("journal");
    report
}

async fn enabled(w: &World, login: &str) -> bool {
    w.target_users("bi")
        .await
        .expect("users")
        .iter()
        .find(|u| u.login == login)
        .expect("account")
        .enabled
}

#[tokio::test]
async fn an_offboarding_hold_outlasts_the_source_until_it_is_lifted() {
    let mut w = World::new();
    w.add_file_target("bi", json!({}));
    let (_, report) = w.sync().await.expect("first sync");
    assert!(report.converged(), "{}", render_run(&report));

    let report = offboard(&w, "Alan.Turing").await;
    assert!(report.converged(), "{}", render_run(&report));
    assert!(!enabled(&w, "alan.turing").await);

    // The source still lists alan, enabled: the sync keeps the account disabled and says why.
    assert!(w.source_user("alan.turing").await.expect("source").enabled);
    let (plan, report) = w.sync().await.expect("sync");
    let text = render_plan(&plan, &[]);
    assert!(
        text.contains("= alan.turing held by offboard since "),
        "{text}"
    );
    assert!(!text.contains("enable user alan.turing"), "{text}");
    assert!(report.converged(), "{}", render_run(&report));
    assert!(!enabled(&w, "alan.turing").await);

    // Enabled on the platform by someone: disabled again.
    let bi = &w.target("bi").handle;
    let id = w
        .target_users("bi")
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.login == "alan.turing")
        .expect("account")
        .id;
    bi.set_user_enabled(&id, true)
        .await
        .expect("enable by hand");
    let (plan, _) = w.sync().await.expect("sync");
    assert!(
        render_plan(&plan, &[]).contains("- disable user alan.turing (held by offboard)"),
        "{}",
        render_plan(&plan, &[])
    );
    assert!(!enabled(&w, "alan.turing").await);

    // Lifted: journaled as a run of its own; the next sync re-enables the account.
    let engine = w.engine();
    let lock = engine.lock("offboard --lift").expect("lock");
    let lifted =
        idbridge_sync::holds::lift(engine.store(), &lock, "alan.turing@example.com").expect("lift");
    drop(lock);
    assert_eq!(lifted.holds.len(), 1);
    let err = {
        let lock = engine.lock("offboard --lift").expect("lock");
        idbridge_sync::holds::lift(engine.store(), &lock, "alan.turing").expect_err("no more")
    };
    assert_eq!(err.kind(), idbridge_core::ErrorKind::NotFound);
    let (plan, report) = w.sync().await.expect("sync");
    assert!(
        render_plan(&plan, &[]).contains("+ enable user alan.turing"),
        "{}",
        render_plan(&plan, &[])
    );
    assert!(report.converged());
    assert!(enabled(&w, "alan.turing").await);

    let store = engine.store();
    let run = store.run(lifted.run).expect("run").expect("recorded");
    assert_eq!(run.command, "offboard --lift");
    let journal = store.journal(None).expect("journal");
    let ops: Vec<(&str, &str)> = journal
        .iter()
        .filter(|e| e.operation.ends_with("_hold"))
        .map(|e| (e.operation.as_str(), e.resource.as_str()))
        .collect();
    assert_eq!(
        ops,
        vec![("place_hold", "Alan.Turing"), ("lift_hold", "Alan.Turing")]
    );
}
