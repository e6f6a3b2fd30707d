//! Saved plans at apply: the guards count from the targets as they are now, never from the
//! numbers in the plan file, and operations the source no longer calls for are found.
use idbridge_e2e::World;
use idbridge_sync::report::render_run;
use idbridge_sync::{Action, ApplyOptions};
use serde_json::json;

#[tokio::test]
async fn guards_at_apply_count_the_managed_accounts_found_now_not_the_plan_files() {
    let mut w = World::new();
    w.add_file_target("copy", json!({}));
    let (_, report) = w.sync().await.expect("first sync");
    assert!(report.converged(), "{}", render_run(&report));
    let managed = w.target_users("copy").await.expect("users").len();
    assert!(managed > 40, "{managed}");

    // 30 people leave: far over the guard's share of the managed accounts.
    let leavers: Vec<String> = w
        .source
        .all_users()
        .await
        .expect("source")
        .into_iter()
        .take(30)
        .map(|u| u.login)
        .collect();
    for login in &leavers {
        w.remove_source_user(login).await.expect("leaver");
    }
    let engine = w.engine();
    let mut plan = engine.plan().await.expect("plan");
    let deletions = plan.targets[0].deletions();
    assert!(deletions >= 25, "{deletions}");
    assert!(!engine.guard(&plan, None).is_empty(), "the guard refuses");

    // The saved plan lies about the managed accounts, and even carries a valid seal (as if
    // the state file's key had been taken): the lie alone would pass the guard.
    plan.targets[0].managed_users = 100_000;
    assert!(engine.guard(&plan, None).is_empty());
    engine.seal(&mut plan).expect("seal");

    let check = engine.check_saved(&plan).await.expect("check");
    assert!(check.is_clean(), "{check:?}");
    check.recount(&mut plan);
    assert_eq!(plan.targets[0].managed_users, managed);
    let lock = engine.lock("apply").expect("lock");
    let report = engine
        .apply(&plan, &lock, &ApplyOptions::default())
        .await
        .expect("apply");
    let refused = report.targets[0].refused.clone().unwrap_or_default();
    assert!(
        refused.contains(&deletions.to_string()) && refused.contains(&managed.to_string()),
        "refused by the guard, with the numbers found now: {}",
        render_run(&report)
    );
    drop(lock);
    let users = w.target_users("copy").await.expect("users");
    assert!(users.iter().all(|u| u.enabled), "nobody was disabled");
}

#[tokio::test]
async fn operations_whose_source_user_left_are_found_and_can_be_dropped() {
    let mut w = World::new();
    w.add_file_target("copy", json!({}));
    let engine = w.engine();
    let mut plan = engine.plan().await.expect("plan");
    engine.seal(&mut plan).expect("seal");
    let leaver = w.remove_source_user("alan.turing").await.expect("leaver");

    let check = engine.check_saved(&plan).await.expect("check");
    assert!(
        check.integrity.is_none() && check.stale.is_empty(),
        "{check:?}"
    );
    let (target, ops) = &check.source_stale[0];
    assert_eq!(target, "copy");
    assert!(
        ops.iter()
            .any(|(_, why)| why.contains("create_user alan.turing")
                && why.contains(&format!("`{}` is no longer in the source", leaver.id))),
        "{ops:?}"
    );
    let before = plan.op_count();
    let dropped = check.drop_source_stale(&mut plan);
    // The account and the memberships of the account are dropped, and nothing else.
    assert_eq!(before - plan.op_count(), dropped.len());
    assert!(plan.targets[0].ops.iter().all(|o| match &o.action {
        Action::CreateUser(c) => c.login() != "alan.turing",
        Action::AddMember { member, .. } => &*member.name != "alan.turing",
        _ => true,
    }));
    let lock = engine.lock("apply").expect("lock");
    let report = engine
        .apply(&plan, &lock, &ApplyOptions::default())
        .await
        .expect("apply");
    assert!(report.converged(), "{}", render_run(&report));
    drop(lock);
    let users = w.target_users("copy").await.expect("users");
    assert!(!users.iter().any(|u| u.login == "alan.turing"));
    assert!(users.len() > 40);
}
