//! The engine's own answer to failures, end to end against directory-file targets behind
//! a wrapper that fails on command. Transient failures are retried by the HTTP layer
//! alone; the engine tries again only a write whose outcome is unknown (its answer was
//! lost, so the HTTP layer could not repeat it): such an operation is tried again within
//! the run, a create the target carried out although its answer was lost is adopted and
//! completed rather than duplicated, a failure that persists still fails after a few
//! attempts, a failure the HTTP layer already retried is not retried again, and every
//! write is announced in the journal before it is sent.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use idbridge_core::http::RequestCounts;
use idbridge_core::{
    Adapter, AdapterHandle, Capabilities, Error, Forward, NewUser, Principal, Result, User,
    async_trait,
};
use idbridge_e2e::{Recorder, World, WorldTarget};
use idbridge_file::FileAdapter;
use idbridge_store::{Outcome, Store};
use idbridge_sync::{ApplyOptions, OpOutcome, TargetSettings};
use serde_json::json;

/// Fails chosen writes of the wrapped adapter with a retryable error.
#[derive(Default)]
struct Faults {
    /// Creates of these logins fail, before reaching the target, this many more times,
    /// with an outcome the client cannot know (an answer lost).
    create_fails: HashMap<String, usize>,
    /// Creates of these logins fail, before reaching the target, this many more times,
    /// as after the HTTP layer's own retries (a 503 to the last attempt).
    create_retried: HashMap<String, usize>,
    /// Creates of these logins reach the target (without email and display name, as a
    /// two-step create cut after its first step would), then fail, once.
    create_lost: HashSet<String>,
    /// Creates of these logins always fail, their outcome unknown.
    create_always: HashSet<String>,
    /// The next this many member additions fail before reaching the target, their
    /// outcome unknown.
    member_fails: usize,
}

struct Flaky {
    inner: Arc<dyn Adapter>,
    faults: Mutex<Faults>,
    create_calls: Mutex<HashMap<String, usize>>,
    member_calls: AtomicUsize,
}

impl Flaky {
    fn new(inner: Arc<dyn Adapter>, faults: Faults) -> Arc<Flaky> {
        Arc::new(Flaky {
            inner,
            faults: Mutex::new(faults),
            create_calls: Mutex::new(HashMap::new()),
            member_calls: AtomicUsize::new(0),
        })
    }

    fn creates_of(&self, login: &str) -> usize {
        self.create_calls
            .lock()
            .expect("lock")
            .get(login)
            .copied()
            .unwrap_or(0)
    }
}

/// A write whose answer was lost: the target may or may not have carried it out.
fn unavailable(what: &str) -> Error {
    Error::unavailable(format!("injected: {what} (the server is restarting)"))
        .with_outcome_unknown(true)
}

/// A failure the HTTP layer has retried already (the target answered 503 every time).
fn retried(what: &str) -> Error {
    Error::unavailable(format!("injected: {what} (503 to every attempt)"))
}

// Built on `Forward`: what the recorder does not observe reaches the wrapped adapter.
#[async_trait]
impl Forward for Flaky {
    fn forward_to(&self) -> &dyn Adapter {
        self.inner.as_ref()
    }
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        *self
            .create_calls
            .lock()
            .expect("lock")
            .entry(user.login.clone())
            .or_default() += 1;
        let lost = {
            let mut f = self.faults.lock().expect("lock");
            if f.create_always.contains(&user.login) {
                return Err(unavailable("create"));
            }
            if let Some(n) = f.create_fails.get_mut(&user.login).filter(|n| **n > 0) {
                *n -= 1;
                return Err(unavailable("create"));
            }
            if let Some(n) = f.create_retried.get_mut(&user.login).filter(|n| **n > 0) {
                *n -= 1;
                return Err(retried("create"));
            }
            f.create_lost.remove(&user.login)
        };
        if lost {
            let mut first_step = NewUser::new(user.login.clone());
            first_step.enabled = user.enabled;
            self.inner.create_user(&first_step).await?;
            return Err(unavailable("create answered nothing"));
        }
        self.inner.create_user(user).await
    }
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.member_calls.fetch_add(1, Ordering::SeqCst);
        {
            let mut f = self.faults.lock().expect("lock");
            if f.member_fails > 0 {
                f.member_fails -= 1;
                return Err(unavailable("add member"));
            }
        }
        self.inner.add_member(group, member).await
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // One write per call, so that each fails or succeeds on its own.
            users_batch_max: None,
            ..self.inner.capabilities()
        }
    }
    fn request_counts(&self) -> Option<RequestCounts> {
        None
    }
}

/// A world whose one target `mirror` is an empty directory file behind `Flaky`.
fn world(faults: Faults) -> (World, Arc<Flaky>) {
    let mut w = World::new();
    let path = w.dir.path().join("mirror.yaml");
    let file = FileAdapter::open(&path, true).expect("target file");
    let flaky = Flaky::new(Arc::new(file), faults);
    let recorder = Recorder::unbatched(flaky.clone());
    w.targets.push(WorldTarget {
        name: "mirror".into(),
        handle: AdapterHandle::new("mirror", recorder.clone()),
        recorder,
        settings: TargetSettings::from_json("mirror", json!({})).expect("settings"),
        emulator: None,
        file: None,
    });
    (w, flaky)
}

fn no_duplicates(users: &[User]) {
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
async fn writes_whose_outcome_is_unknown_are_tried_again_within_the_same_run() {
    let mut faults = Faults {
        member_fails: 5,
        ..Faults::default()
    };
    faults.create_fails.insert("ada.lovelace".into(), 2);
    faults.create_fails.insert("grace.hopper".into(), 1);
    let (w, flaky) = world(faults);
    let (plan, report) = w.sync().await.expect("sync");
    assert!(
        report.converged(),
        "{}",
        idbridge_sync::report::render_run(&report)
    );
    assert_eq!(flaky.creates_of("ada.lovelace"), 3);
    assert_eq!(flaky.creates_of("grace.hopper"), 2);
    let adds = plan.targets[0]
        .ops
        .iter()
        .filter(|o| o.action.name() == "add_member")
        .count();
    assert_eq!(flaky.member_calls.load(Ordering::SeqCst), adds + 5);
    let users = w.target_users("mirror").await.expect("read back");
    no_duplicates(&users);
    let ada = users
        .iter()
        .find(|u| u.login == "ada.lovelace")
        .expect("created");
    assert_eq!(ada.email.as_deref(), Some("ada.lovelace@example.com"));
    let engineering = w
        .target_group_members("mirror", "engineering")
        .await
        .expect("members");
    assert!(
        engineering.contains(&"ada.lovelace".to_string()),
        "{engineering:?}"
    );

    // The journal tells the story: the failed attempts, then the success.
    let store = Store::open(&w.state).expect("state");
    let ada_rows: Vec<Outcome> = store
        .journal(Some(report.run))
        .expect("journal")
        .into_iter()
        .filter(|r| r.operation == "create_user" && r.resource == "ada.lovelace")
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        ada_rows.iter().filter(|o| **o == Outcome::Failed).count(),
        2
    );
    assert_eq!(ada_rows.last(), Some(&Outcome::Ok), "{ada_rows:?}");

    let (plan, _) = w.sync().await.expect("second sync");
    assert!(
        plan.is_empty(),
        "{}",
        idbridge_sync::report::render_plan(&plan, &[])
    );
}

#[tokio::test]
async fn a_create_carried_out_but_not_answered_is_adopted_and_completed_not_duplicated() {
    let mut faults = Faults::default();
    faults.create_lost.insert("alan.turing".into());
    let (w, flaky) = world(faults);
    let (_, report) = w.sync().await.expect("sync");
    assert!(
        report.converged(),
        "{}",
        idbridge_sync::report::render_run(&report)
    );
    assert_eq!(flaky.creates_of("alan.turing"), 2, "tried again once");
    let users = w.target_users("mirror").await.expect("read back");
    no_duplicates(&users);
    let alan = users
        .iter()
        .find(|u| u.login == "alan.turing")
        .expect("there");
    // The first step left the account bare; adopting it wrote what the create wanted.
    assert_eq!(alan.email.as_deref(), Some("alan.turing@example.com"));
    assert_eq!(alan.display_name.as_deref(), Some("Alan Turing"));
    let platform = w
        .target_group_members("mirror", "platform")
        .await
        .expect("members");
    assert!(
        platform.contains(&"alan.turing".to_string()),
        "{platform:?}"
    );

    // Adopted and completed, so the link is current: the next run has nothing to do.
    let (plan, _) = w.sync().await.expect("second sync");
    assert!(
        plan.is_empty(),
        "{}",
        idbridge_sync::report::render_plan(&plan, &[])
    );
}

#[tokio::test]
async fn a_failure_that_persists_fails_after_four_attempts_and_skips_only_its_dependents() {
    let mut faults = Faults::default();
    faults.create_always.insert("ada.lovelace".into());
    let (w, flaky) = world(faults);
    let (_, report) = w.sync().await.expect("sync");
    assert!(!report.converged());
    assert_eq!(flaky.creates_of("ada.lovelace"), 4);
    let t = &report.targets[0];
    assert_eq!(t.failed, 1, "{t:?}");
    let failed = t
        .problems
        .iter()
        .find(|p| p.outcome == OpOutcome::Failed)
        .expect("the failure");
    assert_eq!(failed.resource, "ada.lovelace");
    assert!(failed.error.contains("restarting"), "{}", failed.error);
    assert!(
        t.problems
            .iter()
            .filter(|p| p.outcome == OpOutcome::Skipped)
            .all(|p| p.resource.contains("ada.lovelace")),
        "only Ada's memberships are skipped: {t:?}"
    );
    let users = w.target_users("mirror").await.expect("read back");
    assert!(users.iter().any(|u| u.login == "grace.hopper"));
    assert!(!users.iter().any(|u| u.login == "ada.lovelace"));
}

#[tokio::test]
async fn a_failure_the_http_layer_retried_already_is_not_retried_by_the_engine() {
    let mut faults = Faults::default();
    faults.create_retried.insert("ada.lovelace".into(), 1);
    let (w, flaky) = world(faults);
    let (_, report) = w.sync().await.expect("sync");
    assert!(!report.converged());
    assert_eq!(flaky.creates_of("ada.lovelace"), 1, "not tried again");
    let t = &report.targets[0];
    assert_eq!(t.failed, 1, "{t:?}");
    let failed = t
        .problems
        .iter()
        .find(|p| p.outcome == OpOutcome::Failed)
        .expect("the failure");
    assert!(failed.error.contains("503"), "{}", failed.error);

    // The next run plans the create again, and it goes through.
    let (_, report) = w.sync().await.expect("second sync");
    assert!(
        report.converged(),
        "{}",
        idbridge_sync::report::render_run(&report)
    );
    assert_eq!(flaky.creates_of("ada.lovelace"), 2);
    let users = w.target_users("mirror").await.expect("read back");
    no_duplicates(&users);
    assert!(users.iter().any(|u| u.login == "ada.lovelace"));
}

#[tokio::test]
async fn a_target_that_looks_down_is_not_retried_operation_after_operation() {
    let users = World::new();
    let logins: Vec<String> = users
        .source
        .all_users()
        .await
        .expect("source")
        .into_iter()
        .map(|u| u.login)
        .collect();
    drop(users);
    let mut faults = Faults::default();
    faults.create_always.extend(logins.iter().cloned());
    let (w, flaky) = world(faults);
    let (_, report) = w.sync().await.expect("sync");
    assert!(!report.converged());
    let calls: usize = logins.iter().map(|l| flaky.creates_of(l)).sum();
    let enabled = report.targets[0]
        .done
        .get("create_user")
        .copied()
        .unwrap_or(0)
        + report.targets[0].failed;
    assert!(enabled > 20, "{enabled} creates planned");
    // Four attempts each would be 4 x the creates; once the failures pile up with no
    // success in between, the rest fail at their first attempt.
    assert!(
        calls < enabled * 2,
        "{calls} create calls for {enabled} creates"
    );
}

#[tokio::test]
async fn a_stop_request_ends_the_wait_for_a_retry_and_sends_nothing_more() {
    let mut faults = Faults::default();
    faults.create_always.insert("ada.lovelace".into());
    let (w, flaky) = world(faults);
    let engine = w.engine();
    let lock = engine.lock("sync").expect("lock");
    let plan = engine.plan().await.expect("plan");
    let options = ApplyOptions::default();
    let stopper = async {
        while flaky.creates_of("ada.lovelace") == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        options.stop.stop();
    };
    let (report, ()) = tokio::join!(engine.apply(&plan, &lock, &options), stopper);
    let report = report.expect("apply");
    assert_eq!(
        flaky.creates_of("ada.lovelace"),
        1,
        "no attempt starts once stopped"
    );
    let t = &report.targets[0];
    assert!(
        t.problems
            .iter()
            .any(|p| p.outcome == OpOutcome::Failed && p.resource == "ada.lovelace"),
        "{t:?}"
    );
}

#[tokio::test]
async fn every_write_is_announced_in_the_journal_before_it_is_sent() {
    let mut w = World::new();
    w.add_file_target("mirror", json!({}));
    let rec = w.target("mirror").recorder.clone();
    // The 7th write reaches the target and never returns, as if the process died there.
    rec.crash_after(7);
    let crashed_run = {
        let engine = w.engine();
        let lock = engine.lock("apply").expect("lock");
        let plan = engine.plan().await.expect("plan");
        let opts = ApplyOptions::default();
        tokio::select! {
            r = engine.apply(&plan, &lock, &opts) => panic!("should have been cut off: {r:?}"),
            () = rec.crashed() => {}
        }
        engine.store().runs(1).expect("runs")[0].id
    };
    let store = Store::open(&w.state).expect("state");
    let rows = store.journal(Some(crashed_run)).expect("journal");
    let writing = |op: &str| op != "link_user" && op != "link_group";
    let attempted = rows
        .iter()
        .filter(|r| writing(&r.operation) && r.outcome != Outcome::Skipped)
        .count();
    assert!(
        attempted >= rec.writes(),
        "{} writes reached the target, {attempted} are in the journal: {rows:?}",
        rec.writes()
    );
    let in_flight: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome == Outcome::Started)
        .collect();
    assert!(
        !in_flight.is_empty(),
        "the cut-off write is in the journal, as started"
    );

    // A run that finishes leaves one row per operation, none of them still started.
    w.restart();
    let (plan, report) = w.sync().await.expect("rerun");
    assert!(
        report.converged(),
        "{}",
        idbridge_sync::report::render_run(&report)
    );
    let rows = store.journal(Some(report.run)).expect("journal");
    assert!(rows.iter().all(|r| r.outcome == Outcome::Ok), "{rows:?}");
    assert_eq!(rows.len(), plan.op_count());
}
