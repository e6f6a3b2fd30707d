//! The store's behaviour, the same on both backends: each case runs on a SQLite file and
//! on a private PostgreSQL server (see `support`; skipped with a printed reason when
//! PostgreSQL is not installed, unless `IDBRIDGE_REQUIRE_POSTGRES=1`).

mod support;

use std::path::PathBuf;

use chrono::Utc;
use idbridge_core::{ErrorKind, Secret};
use idbridge_store::{
    Link, LinkKind, NewHold, NewJournalEntry, Outcome, RunOutcome, Store, Write, os_user,
};
use serde_json::{Value, json};

static NEXT_TENANT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// One state to test, with a way to open it again as another process would.
struct Fixture {
    dir: tempfile::TempDir,
    locator: PathBuf,
    store: Store,
}

impl Fixture {
    fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let locator = dir.path().join("state.db");
        let store = Store::open(&locator).expect("opens");
        Fixture {
            dir,
            locator,
            store,
        }
    }

    fn postgres() -> Option<Fixture> {
        let server = support::server()?;
        let url = server.new_database();
        let locator = PathBuf::from(format!("{url}?tenant=acme"));
        let store = open_pg(&locator);
        Some(Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
            locator,
            store,
        })
    }

    fn is_pg(&self) -> bool {
        self.store.is_postgres()
    }

    /// A second handle on the same state.
    fn reopen(&self) -> Store {
        if self.is_pg() {
            open_pg(&self.locator)
        } else {
            Store::open(&self.locator).expect("reopens")
        }
    }

    /// Another, independent state: another file, or another tenant of the same database.
    fn other(&self) -> Store {
        let n = NEXT_TENANT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.is_pg() {
            let text = self
                .locator
                .to_string_lossy()
                .replace("tenant=acme", &format!("tenant=other{n}"));
            open_pg(&PathBuf::from(text))
        } else {
            Store::open(&self.dir.path().join(format!("other{n}.db"))).expect("opens")
        }
    }
}

fn open_pg(locator: &std::path::Path) -> Store {
    Store::open_postgres(locator, Some(Secret::new(support::PASSWORD))).expect("opens postgres")
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[test]
            fn sqlite() {
                super::$case(&super::Fixture::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(f) = super::Fixture::postgres() {
                    super::$case(&f);
                }
            }
        }
    )*};
}

on_both_backends!(
    links_round_trip_update_and_delete,
    links_are_visited_one_by_one_and_counted,
    a_new_claim_on_a_target_account_replaces_the_old_link,
    a_failed_batch_leaves_nothing_behind,
    journal_and_runs_are_recorded_and_read_back,
    an_outcome_completes_the_started_row_of_its_operation,
    committed_writes_are_visible_to_a_second_connection_at_once,
    second_lock_is_refused_naming_the_holder_and_released_on_drop,
    taking_the_lock_marks_runs_of_dead_processes_interrupted,
    runs_record_the_os_user_and_the_plan_digest,
    the_plan_key_is_made_once_per_state_and_kept,
    runs_are_found_by_the_plan_they_applied_and_approvals_are_kept_apart,
    holds_are_recorded_listed_and_lifted,
    another_state_shares_nothing,
);

/// The SCIM inbox, on both backends too.
#[path = "backends/inbox.rs"]
mod inbox;

fn link(source: &str, target_id: &str, fp: &str) -> Link {
    Link {
        target: "bi".into(),
        kind: LinkKind::User,
        source_id: source.into(),
        target_id: target_id.into(),
        fingerprint: fp.into(),
        updated: Utc::now(),
    }
}

fn entry(run: i64, op: &str, outcome: Outcome) -> NewJournalEntry {
    NewJournalEntry {
        run,
        target: "bi".into(),
        operation: op.into(),
        resource: "ada".into(),
        before: Some((&json!({"enabled": true})).into()),
        after: Some((&json!({"enabled": false})).into()),
        outcome,
        error: None,
    }
}

fn links_round_trip_update_and_delete(f: &Fixture) {
    let store = &f.store;
    store
        .commit(&[
            Write::UpsertLink(link("s1", "T1", "fp1")),
            Write::UpsertLink(link("s2", "T2", "fp2")),
        ])
        .expect("commit");
    let links = store.links("bi", LinkKind::User).expect("links");
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].target_id, "T1");
    assert_eq!(links[1].source_id, "s2");
    assert!(
        store
            .links("other", LinkKind::User)
            .expect("links")
            .is_empty()
    );
    assert!(
        store
            .links("bi", LinkKind::Group)
            .expect("links")
            .is_empty()
    );

    store
        .commit(&[Write::UpsertLink(link("s1", "T1", "fp1b"))])
        .expect("update");
    let l = store
        .link("bi", LinkKind::User, "s1")
        .expect("read")
        .expect("present");
    assert_eq!(l.fingerprint, "fp1b");
    assert_eq!(l.kind, LinkKind::User);

    store
        .commit(&[Write::DeleteLink {
            target: "bi".into(),
            kind: LinkKind::User,
            source_id: "s2".into(),
        }])
        .expect("delete");
    assert!(
        store
            .link("bi", LinkKind::User, "s2")
            .expect("read")
            .is_none()
    );
}

fn links_are_visited_one_by_one_and_counted(f: &Fixture) {
    let store = &f.store;
    let mut group = link("g1", "G1", "fpg");
    group.kind = LinkKind::Group;
    store
        .commit(&[
            Write::UpsertLink(link("s2", "T2", "fp2")),
            Write::UpsertLink(link("s1", "T1", "fp1")),
            Write::UpsertLink(link("s3", "T3", "fp3")),
            Write::UpsertLink(group),
        ])
        .expect("commit");
    let mut seen = Vec::new();
    store
        .for_each_link("bi", LinkKind::User, |s, t, fp| {
            seen.push(format!("{s} {t} {fp}"));
            Ok(())
        })
        .expect("visits");
    assert_eq!(seen, ["s1 T1 fp1", "s2 T2 fp2", "s3 T3 fp3"]);
    assert_eq!(store.link_count("bi", LinkKind::User).expect("count"), 3);
    assert_eq!(store.link_count("bi", LinkKind::Group).expect("count"), 1);
    assert_eq!(store.link_count("other", LinkKind::User).expect("count"), 0);

    // The visitor's error stops the visit and is returned as it was.
    let mut visited = 0;
    let e = store
        .for_each_link("bi", LinkKind::User, |_, _, _| {
            visited += 1;
            Err(idbridge_core::Error::invalid_input("too many"))
        })
        .expect_err("stopped");
    assert_eq!((visited, e.message()), (1, "too many"));
}

fn a_new_claim_on_a_target_account_replaces_the_old_link(f: &Fixture) {
    let store = &f.store;
    store
        .commit(&[Write::UpsertLink(link("old", "T1", "a"))])
        .expect("commit");
    store
        .commit(&[Write::UpsertLink(link("new", "T1", "b"))])
        .expect("commit");
    let links = store.links("bi", LinkKind::User).expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].source_id, "new");
}

fn a_failed_batch_leaves_nothing_behind(f: &Fixture) {
    let store = &f.store;
    let run = store.begin_run("apply").expect("run");
    // The second write violates the journal's foreign key (no such run).
    let err = store
        .commit(&[
            Write::UpsertLink(link("s1", "T1", "fp")),
            Write::Journal(entry(i64::MAX - 7, "create_user", Outcome::Ok)),
        ])
        .expect_err("fk violation");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(store.links("bi", LinkKind::User).expect("links").is_empty());
    assert!(store.journal(Some(run)).expect("journal").is_empty());
    // The connection is usable after the failure.
    store
        .commit(&[Write::UpsertLink(link("s1", "T1", "fp"))])
        .expect("commit after a failure");
}

fn journal_and_runs_are_recorded_and_read_back(f: &Fixture) {
    let store = &f.store;
    let run = store.begin_run("apply").expect("run");
    let mut failed = entry(run, "disable_user", Outcome::Failed);
    failed.error = Some("bi: boom (unavailable)".into());
    failed.after = None;
    store
        .commit(&[
            Write::Journal(entry(run, "create_user", Outcome::Ok)),
            Write::Journal(failed),
        ])
        .expect("commit");
    store
        .finish_run(
            run,
            RunOutcome::Failed,
            &json!({"bi": {"ok": 1, "failed": 1}}),
        )
        .expect("finish");
    let other = store.begin_run("sync").expect("run");
    store
        .commit(&[Write::Journal(entry(other, "update_user", Outcome::Ok))])
        .expect("commit");

    let rows = store.journal(Some(run)).expect("journal");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].operation, "create_user");
    assert_eq!(rows[0].before, Some(json!({"enabled": true})));
    assert_eq!(rows[1].outcome, Outcome::Failed);
    assert_eq!(rows[1].error.as_deref(), Some("bi: boom (unavailable)"));
    assert_eq!(rows[1].after, None);
    assert_eq!(store.journal(None).expect("all").len(), 3);

    let runs = store.runs(10).expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, other, "newest first");
    assert_eq!(runs[0].outcome, RunOutcome::Running);
    assert_eq!(store.runs(1).expect("runs").len(), 1);
    let first = store.run(run).expect("read").expect("exists");
    assert_eq!(first.outcome, RunOutcome::Failed);
    assert!(first.ended.is_some());
    assert_eq!(first.pid, std::process::id());
    assert_eq!(first.counts, Some(json!({"bi": {"ok": 1, "failed": 1}})));
    assert!(store.run(other + 1000).expect("read").is_none());
    assert_eq!(
        store
            .finish_run(other + 1000, RunOutcome::Succeeded, &Value::Null)
            .expect_err("missing")
            .kind(),
        ErrorKind::NotFound
    );
}

fn an_outcome_completes_the_started_row_of_its_operation(f: &Fixture) {
    let store = &f.store;
    let run = store.begin_run("sync").expect("run");
    let mut started = entry(run, "update_user", Outcome::Started);
    started.after = None;
    let mut grace = started.clone();
    grace.resource = "grace".into();
    store
        .commit(&[Write::Journal(started), Write::Journal(grace)])
        .expect("started");
    let mut done = entry(run, "update_user", Outcome::Ok);
    done.before = None;
    done.after = Some((&json!({"login": "ada.l"})).into());
    store
        .commit(&[Write::FinishJournal(done)])
        .expect("finished");
    // An outcome with no row in flight is appended.
    let mut late = entry(run, "delete_user", Outcome::Failed);
    late.error = Some("gone".into());
    store
        .commit(&[Write::FinishJournal(late)])
        .expect("appended");

    let rows = store.journal(Some(run)).expect("journal");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        (rows[0].resource.as_str(), rows[0].outcome),
        ("ada", Outcome::Ok)
    );
    assert_eq!(rows[0].before, Some(json!({"enabled": true})), "kept");
    assert_eq!(rows[0].after, Some(json!({"login": "ada.l"})));
    assert_eq!(rows[1].outcome, Outcome::Started, "grace still in flight");
    assert_eq!(rows[2].operation, "delete_user");
    assert_eq!(rows[2].error.as_deref(), Some("gone"));
}

fn committed_writes_are_visible_to_a_second_connection_at_once(f: &Fixture) {
    let run = f.store.begin_run("apply").expect("run");
    f.store
        .commit(&[Write::Journal(entry(run, "create_user", Outcome::Ok))])
        .expect("commit");
    let reader = f.reopen();
    assert_eq!(reader.journal(Some(run)).expect("journal").len(), 1);
}

fn second_lock_is_refused_naming_the_holder_and_released_on_drop(f: &Fixture) {
    let lock = f.store.lock("apply").expect("first lock");
    assert_eq!(lock.holder().pid, std::process::id());
    let other = f.reopen();
    let err = other.lock("sync").expect_err("held");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let text = err.to_string();
    assert!(text.contains("another run is in progress"), "{text}");
    assert!(
        text.contains(&format!("PID {}", std::process::id())),
        "{text}"
    );
    assert!(text.contains("idbridge apply"), "{text}");
    assert!(!text.contains(support::PASSWORD), "{text}");

    drop(lock);
    assert!(other.lock_holder().expect("read").is_none());
    let again = other.lock("sync").expect("free after drop");
    assert_eq!(again.holder().command, "sync");
    assert_eq!(
        f.store
            .lock_holder()
            .expect("read")
            .map(|h| h.command)
            .as_deref(),
        Some("sync")
    );
}

fn taking_the_lock_marks_runs_of_dead_processes_interrupted(f: &Fixture) {
    let dead = f.store.begin_run("apply").expect("run");
    let _lock = f.store.lock("apply").expect("lock");
    let record = f.store.run(dead).expect("read").expect("exists");
    assert_eq!(record.outcome, RunOutcome::Interrupted);
    assert!(record.ended.is_some());
}

fn runs_record_the_os_user_and_the_plan_digest(f: &Fixture) {
    let store = &f.store;
    let with_plan = store
        .begin_run_with_plan("apply", Some("ab12"))
        .expect("run");
    let without = store.begin_run("sync").expect("run");
    let a = store.run(with_plan).expect("read").expect("there");
    let b = store.run(without).expect("read").expect("there");
    assert_eq!(a.plan_digest.as_deref(), Some("ab12"));
    assert_eq!(b.plan_digest, None);
    assert_eq!(a.os_user.as_deref(), Some(os_user().as_str()));
    assert_eq!(b.os_user, a.os_user);
}

fn the_plan_key_is_made_once_per_state_and_kept(f: &Fixture) {
    let key = f.store.plan_key().expect("key");
    assert_ne!(key, [0u8; 32]);
    assert_eq!(f.store.plan_key().expect("again"), key);
    assert_eq!(f.reopen().plan_key().expect("kept"), key);
    assert_ne!(
        f.other().plan_key().expect("other"),
        key,
        "each state has its own"
    );
}

fn runs_are_found_by_the_plan_they_applied_and_approvals_are_kept_apart(f: &Fixture) {
    let store = &f.store;
    assert!(store.run_of_plan("d1").expect("none").is_none());
    let approval = store.record_approval("d1", Some("maker")).expect("approve");
    assert!(store.run_of_plan("d1").expect("not applied").is_none());
    let approvals = store.approvals("d1").expect("approvals");
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].id, approval);
    assert_eq!(approvals[0].outcome, RunOutcome::Succeeded);
    assert!(approvals[0].ended.is_some());
    assert_eq!(
        approvals[0].counts,
        Some(json!({"approved": "d1", "made_by": "maker"}))
    );
    let run = store.begin_run_with_plan("apply", Some("d1")).expect("run");
    store
        .begin_run_with_plan("apply", Some("d1"))
        .expect("again");
    assert_eq!(
        store.run_of_plan("d1").expect("applied").map(|r| r.id),
        Some(run)
    );
}

fn holds_are_recorded_listed_and_lifted(f: &Fixture) {
    let store = &f.store;
    assert!(store.holds().expect("holds").is_empty());
    let h = store
        .add_hold(&NewHold {
            person: " Ada@Example.com ".into(),
            source_id: Some("u-1".into()),
            keys: vec!["ada".into(), "ADA@example.com".into()],
            by: "alice".into(),
            reason: "offboard: compromised".into(),
        })
        .expect("added");
    assert_eq!(h.person, "Ada@Example.com");
    assert_eq!(h.keys, vec!["ada", "ada@example.com"]);
    assert_eq!(store.holds().expect("holds"), vec![h.clone()]);
    assert!(store.lift_holds("bob", "carol").expect("lift").is_empty());
    assert_eq!(store.lift_holds("ada", "carol").expect("lift"), vec![h]);
    assert!(store.holds().expect("holds").is_empty());
    assert!(
        f.reopen().holds().expect("holds").is_empty(),
        "lifted for good"
    );
}

fn another_state_shares_nothing(f: &Fixture) {
    let run = f.store.begin_run("sync").expect("run");
    f.store
        .commit(&[
            Write::UpsertLink(link("s1", "T1", "fp")),
            Write::Journal(entry(run, "create_user", Outcome::Ok)),
        ])
        .expect("commit");
    let _lock = f.store.lock("sync").expect("lock");
    let other = f.other();
    assert!(other.links("bi", LinkKind::User).expect("links").is_empty());
    assert!(other.journal(None).expect("journal").is_empty());
    assert!(other.runs(10).expect("runs").is_empty());
    assert!(
        other.run(run).expect("run").is_none(),
        "another state's run is not visible"
    );
    let other_lock = other.lock("sync").expect("its own lock is free");
    assert_eq!(
        other.lock_holder().expect("holder"),
        Some(other_lock.holder().clone())
    );
    // Claiming the same target account in another state leaves this one's link alone.
    other
        .commit(&[Write::UpsertLink(link("s9", "T1", "fp"))])
        .expect("commit");
    assert_eq!(
        f.store.links("bi", LinkKind::User).expect("links")[0].source_id,
        "s1"
    );
    assert!(
        other
            .finish_run(run, RunOutcome::Failed, &Value::Null)
            .is_err(),
        "another state's run cannot be finished"
    );
}
