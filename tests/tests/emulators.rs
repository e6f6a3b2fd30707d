//! The sync engine end to end against the three vendor emulators at once: Strategy One
//! (`bi`), Squirro (`sq`) and Dataiku DSS (`dss`), all fed from the example directory.

use std::collections::HashSet;

use idbridge_core::{GrantFilter, NewUser, Principal, Scope, User};
use idbridge_e2e::World;
use idbridge_sync::ApplyOptions;
use idbridge_testkit::emulator::{EmulatorOptions, FaultSpec};
use serde_json::{Value, json};

const TUTORIAL: &str = "MicroStrategy Tutorial";

fn strategy_settings() -> Value {
    json!({"roles": {"analyst": {"role": "Normal Users", "project": TUTORIAL}}})
}

fn squirro_settings() -> Value {
    // Squirro accounts cannot be disabled: leavers are deleted (sessions first).
    json!({"deletion": "delete"})
}

async fn world(options: EmulatorOptions) -> World {
    let mut w = World::new();
    w.add_emulator_target("strategy", "bi", strategy_settings(), options.clone())
        .await
        .expect("strategy emulator");
    w.add_emulator_target("squirro", "sq", squirro_settings(), options.clone())
        .await
        .expect("squirro emulator");
    w.add_emulator_target("dataiku", "dss", json!({}), options)
        .await
        .expect("dataiku emulator");
    w
}

/// The key an account of `user` is found by in a target: the email where the login is
/// the email, else the login.
fn key_of(target: &str, u: &User) -> String {
    match target {
        "sq" => u.email.clone().unwrap_or_default().to_lowercase(),
        _ => u.login.to_lowercase(),
    }
}

async fn assert_mirrors_source(w: &World) {
    let source: Vec<User> = w.source.all_users().await.expect("source");
    for t in &w.targets {
        let users = t.handle.all_users().await.expect("read back");
        let mut seen = HashSet::new();
        for u in &users {
            assert!(
                seen.insert(key_of("", u)),
                "{}: duplicate account `{}`",
                t.name,
                u.login
            );
        }
        let keys: HashSet<String> = users
            .iter()
            .map(|u| match t.name.as_str() {
                "sq" => u.login.to_lowercase(),
                _ => u.login.to_lowercase(),
            })
            .collect();
        for s in source.iter().filter(|u| u.enabled) {
            assert!(
                keys.contains(&key_of(&t.name, s)),
                "{}: no account for `{}`",
                t.name,
                s.login
            );
        }
    }
}

async fn served_writes(w: &World) -> Vec<usize> {
    w.targets.iter().map(|t| t.served_writes()).collect()
}

#[tokio::test]
async fn first_sync_into_all_three_then_a_second_run_sends_no_write() {
    let w = world(EmulatorOptions::default()).await;
    let (plan, report) = w.sync().await.expect("first sync");
    assert!(!plan.is_empty());
    assert!(
        report.converged(),
        "{}",
        idbridge_sync::report::render_run(&report)
    );
    assert_mirrors_source(&w).await;

    // Nested groups where the platform has them, flattened where it does not.
    let bi_all = w.target_group_members("bi", "all-staff").await.expect("bi");
    assert!(bi_all.contains(&"engineering".to_string()), "{bi_all:?}");
    let dss_all = w
        .target_group_members("dss", "all-staff")
        .await
        .expect("dss");
    assert!(dss_all.contains(&"ada.lovelace".to_string()), "{dss_all:?}");
    assert!(
        dss_all.contains(&"grace.hopper".to_string()),
        "nested twice: {dss_all:?}"
    );
    let sq_all = w.target_group_members("sq", "all-staff").await.expect("sq");
    assert!(
        sq_all.contains(&"ada.lovelace@example.com".to_string()),
        "{sq_all:?}"
    );

    // The role mapping: the analyst grant to bi-users became a Strategy security role in
    // the Tutorial project.
    let bi = &w.target("bi").handle;
    let groups = bi.all_groups().await.expect("groups");
    let bi_users = groups
        .iter()
        .find(|g| g.name == "bi-users")
        .expect("bi-users");
    let grants = bi
        .all_grants(&GrantFilter {
            principal: Some(Principal::Group(bi_users.id.clone())),
            ..Default::default()
        })
        .await
        .expect("grants");
    assert!(
        grants
            .iter()
            .any(|g| matches!(&g.scope, Scope::Project(p) if p == TUTORIAL || p.len() == 32)),
        "{grants:?}"
    );

    let before = served_writes(&w).await;
    let (plan, report) = w.sync().await.expect("second sync");
    assert!(
        plan.is_empty(),
        "{}",
        idbridge_sync::report::render_plan(&plan, &[])
    );
    assert!(report.converged());
    assert_eq!(
        served_writes(&w).await,
        before,
        "no write request on a no-op run"
    );
}

/// Logs a user in to the Strategy emulator, which opens a user connection. Accounts the
/// bridge creates have a random password nobody knows: an empty one is refused, and the
/// session is opened with one the administrator sets.
async fn strategy_login(w: &World, login: &str) {
    let emulator = w.target("bi").emulator.as_ref().expect("emulator");
    let empty = reqwest::Client::new()
        .post(format!("{}/api/auth/login", emulator.base_url))
        .json(&json!({"username": login, "password": "", "loginMode": 1}))
        .send()
        .await
        .expect("login request");
    assert_eq!(
        empty.status(),
        401,
        "{login} logs in with an empty password"
    );
    idbridge_strategy::emulator::sign_in_as(emulator, login)
        .await
        .unwrap_or_else(|e| panic!("login as {login}: {e}"));
}

#[tokio::test]
async fn rename_leaver_and_joiner_across_all_three() {
    let w = world(EmulatorOptions::default()).await;
    let (_, report) = w.sync().await.expect("first sync");
    assert!(
        report.converged(),
        "{}",
        idbridge_sync::report::render_run(&report)
    );
    let ids = |users: &[User], login: &str| {
        users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
            .map(|u| u.id.clone())
    };
    let bi_before = w.target_users("bi").await.expect("bi");
    let dss_before = w.target_users("dss").await.expect("dss");
    let grace_bi = ids(&bi_before, "grace.hopper").expect("grace in bi");
    let grace_dss = ids(&dss_before, "grace.hopper").expect("grace in dss");
    let alan_bi = ids(&bi_before, "alan.turing").expect("alan in bi");

    // Alan has a live session in Strategy.
    strategy_login(&w, "alan.turing").await;
    let sessions = w
        .target("bi")
        .handle
        .all_sessions(Some(&alan_bi))
        .await
        .expect("sessions");
    assert!(!sessions.is_empty(), "the login opened a session");

    w.rename_source_user("grace.hopper", "grace.murray", "Grace Murray")
        .await
        .expect("rename");
    w.remove_source_user("alan.turing").await.expect("leaver");
    let mut joiner = NewUser::new("nina.simone");
    joiner.email = Some("nina.simone@example.com".into());
    joiner.display_name = Some("Nina Simone".into());
    w.add_source_user(joiner, &["bi-users", "sales"])
        .await
        .expect("joiner");

    let (plan, report) = w.sync().await.expect("sync");
    assert!(
        report.converged(),
        "{}",
        idbridge_sync::report::render_run(&report)
    );
    let text = idbridge_sync::report::render_plan(&plan, &[]);
    assert!(text.contains("~ update user grace.hopper"), "{text}");
    assert!(
        text.contains("login: \"grace.hopper\" -> \"grace.murray\""),
        "{text}"
    );
    assert!(text.contains("- disable user alan.turing"), "{text}");
    assert!(text.contains("! revoke sessions of alan.turing"), "{text}");
    assert!(text.contains("+ create user nina.simone"), "{text}");
    assert!(
        !text.contains("+ create user grace"),
        "a rename is never a re-create: {text}"
    );

    // Strategy: same account renamed, leaver disabled with no session left, joiner there.
    let bi_after = w.target_users("bi").await.expect("bi");
    let grace = bi_after
        .iter()
        .find(|u| u.id == grace_bi)
        .expect("same account");
    assert_eq!(grace.login, "grace.murray");
    let alan = bi_after.iter().find(|u| u.id == alan_bi).expect("kept");
    assert!(!alan.enabled);
    let sessions = w
        .target("bi")
        .handle
        .all_sessions(Some(&alan_bi))
        .await
        .expect("sessions");
    assert!(sessions.is_empty(), "revoked: {sessions:?}");
    assert!(bi_after.iter().any(|u| u.login == "nina.simone"));
    let bi_users = w
        .target_group_members("bi", "bi-users")
        .await
        .expect("members");
    assert!(
        bi_users.contains(&"nina.simone".to_string()),
        "{bi_users:?}"
    );

    // Dataiku: same account (its login is its key and stays), new display name; the
    // leaver disabled (DSS has no sessions to revoke).
    let dss_after = w.target_users("dss").await.expect("dss");
    let grace = dss_after
        .iter()
        .find(|u| u.id == grace_dss)
        .expect("same account");
    assert_eq!(grace.login, "grace.hopper");
    assert_eq!(grace.display_name.as_deref(), Some("Grace Murray"));
    assert!(
        !dss_after
            .iter()
            .find(|u| u.login == "alan.turing")
            .expect("kept")
            .enabled
    );

    // Squirro: the login is the email (unchanged), the display name follows; the leaver
    // is deleted, as configured for a platform without disabling.
    let sq_after = w.target_users("sq").await.expect("sq");
    let grace = sq_after
        .iter()
        .find(|u| u.login == "grace.hopper@example.com")
        .expect("same account");
    assert_eq!(grace.display_name.as_deref(), Some("Grace Murray"));
    assert!(
        !sq_after
            .iter()
            .any(|u| u.login == "alan.turing@example.com")
    );
    assert!(
        sq_after
            .iter()
            .any(|u| u.login == "nina.simone@example.com")
    );

    let before = served_writes(&w).await;
    let (plan, _) = w.sync().await.expect("again");
    assert!(
        plan.is_empty(),
        "{}",
        idbridge_sync::report::render_plan(&plan, &[])
    );
    assert_eq!(served_writes(&w).await, before);
}

#[tokio::test]
async fn injected_faults_still_converge_without_duplicates() {
    let faults = FaultSpec::parse("429=0.05,503=0.05,500=0.02,reset=0.03,retry_after=0,seed=7")
        .expect("fault spec");
    let options = EmulatorOptions {
        faults,
        ..Default::default()
    };
    let w = world(options).await;
    let mut converged = false;
    for _ in 0..6 {
        match w.sync().await {
            Ok((_, report)) if report.converged() => {
                converged = true;
                break;
            }
            // A read that failed despite the retries, or some writes that did: run again,
            // as the nightly job would.
            Ok(_) | Err(_) => {}
        }
    }
    assert!(converged, "did not converge within six runs");
    assert_mirrors_source(&w).await;
    let faulted: u64 = w
        .targets
        .iter()
        .filter_map(|t| t.emulator.as_ref())
        .map(|e| e.server.log().faults())
        .sum();
    assert!(faulted > 0, "faults were injected");
    // A final plan (which may need a retry of its reads) changes nothing.
    for _ in 0..6 {
        if let Ok(plan) = w.engine().plan().await {
            assert!(
                plan.is_empty(),
                "{}",
                idbridge_sync::report::render_plan(&plan, &[])
            );
            return;
        }
    }
    panic!("no plan could be read");
}

#[tokio::test]
async fn a_crash_mid_apply_against_the_emulators_converges_on_rerun() {
    let w = world(EmulatorOptions::default()).await;
    let rec = w.target("bi").recorder.clone();
    rec.crash_after(25);
    {
        let engine = w.engine();
        let lock = engine.lock("apply").expect("lock");
        let plan = engine.plan().await.expect("plan");
        let opts = ApplyOptions::default();
        tokio::select! {
            r = engine.apply(&plan, &lock, &opts) => panic!("should have been cut off: {r:?}"),
            () = rec.crashed() => {}
        }
    }
    rec.recover();
    let mut converged = false;
    for _ in 0..2 {
        let (_, report) = w.sync().await.expect("rerun");
        if report.converged() {
            converged = true;
            break;
        }
    }
    assert!(converged);
    assert_mirrors_source(&w).await;
    let (plan, _) = w.sync().await.expect("third");
    assert!(
        plan.is_empty(),
        "{}",
        idbridge_sync::report::render_plan(&plan, &[])
    );
}

#[tokio::test]
async fn offboarding_disables_everywhere_and_revokes_sessions_where_possible() {
    let w = world(EmulatorOptions::default()).await;
    let (_, report) = w.sync().await.expect("first sync");
    assert!(report.converged());
    strategy_login(&w, "margaret.hamilton").await;
    let engine = w.engine();
    let plan = engine
        .offboard_plan("Margaret.Hamilton")
        .await
        .expect("plan");
    let text = idbridge_sync::report::render_plan(&plan, &[]);
    assert!(
        text.contains("- disable user margaret.hamilton (offboarded)"),
        "{text}"
    );
    assert!(
        text.contains("! revoke sessions of margaret.hamilton"),
        "{text}"
    );
    assert!(text.contains("still enabled in the source"), "{text}");
    let lock = engine.lock("offboard").expect("lock");
    let opts = ApplyOptions {
        skip_guard: true,
        ..Default::default()
    };
    let report = engine.apply(&plan, &lock, &opts).await.expect("apply");
    // Squirro cannot disable: the account loses its groups, roles and sessions but can
    // still sign in, so the run does not converge there.
    for t in &report.targets {
        assert_eq!(
            t.converged(),
            t.target != "sq",
            "{}",
            idbridge_sync::report::render_run(&report)
        );
    }
    let sq = report
        .targets
        .iter()
        .find(|t| t.target == "sq")
        .expect("sq");
    assert_eq!(sq.can_sign_in[0].login, "margaret.hamilton@example.com");
    assert!(sq.done.contains_key("remove_member"), "{:?}", sq.done);
    drop(lock);
    let bi = w.target_users("bi").await.expect("bi");
    let m = bi
        .iter()
        .find(|u| u.login == "margaret.hamilton")
        .expect("bi account");
    assert!(!m.enabled);
    assert!(
        w.target("bi")
            .handle
            .all_sessions(Some(&m.id))
            .await
            .expect("sessions")
            .is_empty()
    );
    let dss = w.target_users("dss").await.expect("dss");
    assert!(
        !dss.iter()
            .find(|u| u.login == "margaret.hamilton")
            .expect("dss account")
            .enabled
    );

    let err = engine
        .offboard_plan("nobody.here")
        .await
        .expect_err("unknown person");
    assert_eq!(err.kind(), idbridge_core::ErrorKind::NotFound);
}
