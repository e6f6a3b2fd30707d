//! Membership batches: how ready changes are cut into batches, and that each change keeps
//! its own journal rows, result and retries; and that a batch keeps its place among the
//! calls in flight until its outcomes are journaled.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idbridge_core::{
    Adapter, AdapterHandle, Capabilities, Error, Groups, MemberBatchKey, MemberWrite,
    MemberWriteResult, Memberships, Principal, Result, Roles, Sessions, Users, async_trait,
};
use idbridge_store::{Outcome, Store};
use tokio::sync::Semaphore;

use super::*;
use crate::events::{Emitter, OperationOutcome, RunEvent};
use crate::plan::{Action, GroupRef, PrincipalKind, PrincipalRef, Ref};

/// Memberships in memory. Batches are recorded; a write to group `broken` fails alone;
/// `flaky` writes fail, retryably, whenever they arrive in a batch. `key` says which writes
/// share a request.
struct Members {
    caps: Capabilities,
    key: fn(&MemberWrite) -> MemberBatchKey,
    state: Mutex<BTreeSet<(String, String)>>,
    batches: Mutex<Vec<Vec<MemberWrite>>>,
    singles: Mutex<Vec<MemberWrite>>,
    flaky: HashSet<String>,
    /// When set, each batch waits for a permit before it answers.
    hold: Option<Arc<Hold>>,
}

/// Batches that wait at the adapter until the test lets them answer.
struct Hold {
    arrived: AtomicUsize,
    answer: Semaphore,
}

impl Members {
    fn new(caps: Capabilities, key: fn(&MemberWrite) -> MemberBatchKey) -> Arc<Members> {
        Arc::new(Members {
            caps,
            key,
            state: Mutex::new(BTreeSet::new()),
            batches: Mutex::new(Vec::new()),
            singles: Mutex::new(Vec::new()),
            flaky: HashSet::new(),
            hold: None,
        })
    }

    fn apply(&self, w: &MemberWrite) -> Result<()> {
        if w.group() == "broken" {
            return Err(Error::not_found("no group `broken`"));
        }
        let key = (w.group().to_string(), w.member().id().to_string());
        let mut state = self.state.lock().expect("lock");
        if w.is_add() {
            state.insert(key);
        } else {
            state.remove(&key);
        }
        Ok(())
    }

    fn batches(&self) -> Vec<Vec<MemberWrite>> {
        self.batches.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Users for Members {}
#[async_trait]
impl Groups for Members {}
#[async_trait]
impl Roles for Members {}
#[async_trait]
impl Sessions for Members {}

#[async_trait]
impl Memberships for Members {
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        let w = MemberWrite::Add {
            group: group.into(),
            member: member.clone(),
        };
        self.singles.lock().expect("lock").push(w.clone());
        self.apply(&w)
    }

    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        let w = MemberWrite::Remove {
            group: group.into(),
            member: member.clone(),
        };
        self.singles.lock().expect("lock").push(w.clone());
        self.apply(&w)
    }

    fn member_batch_key(&self, write: &MemberWrite) -> MemberBatchKey {
        (self.key)(write)
    }

    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        self.batches.lock().expect("lock").push(batch.clone());
        if let Some(hold) = &self.hold {
            hold.arrived.fetch_add(1, Ordering::SeqCst);
            hold.answer.acquire().await.expect("open").forget();
        }
        batch
            .iter()
            .map(|w| {
                if self.flaky.contains(w.member().id()) {
                    return Err(Error::unavailable("injected failure").with_outcome_unknown(true));
                }
                self.apply(w)
            })
            .collect()
    }
}

#[async_trait]
impl Adapter for Members {
    fn kind(&self) -> &'static str {
        "members"
    }
    fn capabilities(&self) -> Capabilities {
        self.caps
    }
}

fn caps(max: usize) -> Capabilities {
    Capabilities {
        members_add: true,
        members_remove: true,
        members_batch_max: Some(max),
        ..Capabilities::default()
    }
}

/// One request per group.
fn by_group(w: &MemberWrite) -> MemberBatchKey {
    MemberBatchKey::Shared(w.group().to_string())
}

/// One request for any writes.
fn any(_: &MemberWrite) -> MemberBatchKey {
    MemberBatchKey::Any
}

fn group(id: &str) -> Arc<GroupRef> {
    Arc::new(GroupRef {
        at: Ref::Id(id.into()),
        name: id.into(),
    })
}

fn user(id: &str) -> Arc<PrincipalRef> {
    Arc::new(PrincipalRef {
        kind: PrincipalKind::User,
        at: Ref::Id(id.into()),
        name: id.into(),
    })
}

fn add(g: &str, u: &str) -> Action {
    Action::AddMember {
        group: group(g),
        member: user(u),
    }
}

fn remove(g: &str, u: &str) -> Action {
    Action::RemoveMember {
        group: group(g),
        member: user(u),
    }
}

fn plan(actions: Vec<Action>) -> TargetPlan {
    let mut plan = TargetPlan::new("t", "members");
    for a in actions {
        plan.push(a, Vec::new());
    }
    plan
}

/// Applies `plan`; returns the report and the state file (with the directory holding it).
async fn apply(
    adapter: Arc<Members>,
    plan: &TargetPlan,
    concurrency: usize,
) -> (TargetReport, Store, tempfile::TempDir) {
    observed(adapter, plan, concurrency, &Emitter::default()).await
}

/// [`apply`], reporting events to `events`.
async fn observed(
    adapter: Arc<Members>,
    plan: &TargetPlan,
    concurrency: usize,
    events: &Emitter,
) -> (TargetReport, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("store");
    let run = store.begin_run("apply").expect("run");
    let journal = JournalWriter::start(store.clone()).expect("journal");
    let handle = AdapterHandle::new("t", adapter);
    let stop = Stop::new();
    let ctx = ApplyContext {
        handle: &handle,
        concurrency,
        journal: &journal,
        run,
        stop: &stop,
        events,
        adopt_existing_login: false,
    };
    let report = apply_target(&ctx, plan).await;
    (report, store, dir)
}

fn shape(batches: &[Vec<MemberWrite>]) -> Vec<Vec<String>> {
    batches
        .iter()
        .map(|b| {
            b.iter()
                .map(|w| {
                    format!(
                        "{}{}<-{}",
                        if w.is_add() { "+" } else { "-" },
                        w.group(),
                        w.member().id()
                    )
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn by_group_each_batch_holds_one_group_up_to_the_maximum() {
    let adapter = Members::new(caps(2), by_group);
    let plan = plan(vec![
        add("g1", "a"),
        add("g2", "a"),
        add("g1", "b"),
        remove("g1", "c"),
        add("g2", "b"),
    ]);
    let (report, _, _dir) = apply(adapter.clone(), &plan, 1).await;
    assert!(report.converged(), "{report:?}");
    assert_eq!(
        shape(&adapter.batches()),
        vec![vec!["+g1<-a", "+g1<-b"], vec!["+g2<-a", "+g2<-b"],],
        "one group per batch, at most two"
    );
    // g1's third change went alone (a batch of one uses the single-write method).
    assert_eq!(adapter.singles.lock().expect("lock").len(), 1);
    assert_eq!(
        *adapter.state.lock().expect("lock"),
        [("g1", "a"), ("g1", "b"), ("g2", "a"), ("g2", "b")]
            .iter()
            .map(|(g, u)| (g.to_string(), u.to_string()))
            .collect()
    );
}

#[tokio::test]
async fn any_key_fills_batches_in_ready_order() {
    let adapter = Members::new(caps(4), any);
    let plan = plan(vec![
        add("g1", "a"),
        add("g1", "b"),
        add("g2", "a"),
        add("g3", "a"),
        add("g2", "b"),
        add("g1", "c"),
        add("g2", "c"),
    ]);
    let (report, _, _dir) = apply(adapter.clone(), &plan, 1).await;
    assert!(report.converged(), "{report:?}");
    assert_eq!(
        shape(&adapter.batches()),
        vec![
            vec!["+g1<-a", "+g1<-b", "+g2<-a", "+g3<-a"],
            vec!["+g2<-b", "+g1<-c", "+g2<-c"],
        ]
    );
}

#[tokio::test]
async fn two_changes_of_one_membership_never_share_a_batch() {
    let adapter = Members::new(caps(10), any);
    let plan = plan(vec![remove("g1", "a"), add("g1", "b"), add("g1", "a")]);
    let (report, _, _dir) = apply(adapter.clone(), &plan, 1).await;
    assert!(report.converged(), "{report:?}");
    let batches = shape(&adapter.batches());
    assert_eq!(batches, vec![vec!["-g1<-a", "+g1<-b"]]);
    let singles = adapter.singles.lock().expect("lock").clone();
    assert_eq!(
        singles,
        vec![MemberWrite::Add {
            group: "g1".into(),
            member: Principal::User("a".into())
        }],
        "the repeated membership waited for a batch of its own"
    );
}

#[tokio::test]
async fn a_failure_fails_only_its_change_and_every_change_has_its_journal_rows() {
    let adapter = Members::new(caps(10), any);
    let plan = plan(vec![add("g1", "a"), add("broken", "a"), add("g1", "b")]);
    let (report, store, _dir) = apply(adapter.clone(), &plan, 1).await;
    assert_eq!(adapter.batches().len(), 1, "one batch");
    assert_eq!((report.ok, report.failed), (2, 1), "{report:?}");
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].op, 1);
    let rows = store.journal(None).expect("journal");
    for (i, op) in plan.ops.iter().enumerate() {
        let resource = op.action.resource();
        let mine: Vec<_> = rows.iter().filter(|r| r.resource == resource).collect();
        assert_eq!(
            mine.len(),
            1,
            "one row per change, completed in place: {mine:?}"
        );
        let want = if i == 1 { Outcome::Failed } else { Outcome::Ok };
        assert_eq!(mine[0].outcome, want, "{resource}");
        assert_eq!(mine[0].operation, "add_member");
    }
}

#[tokio::test]
async fn each_operation_reports_its_outcome_once_with_the_count_finished() {
    let adapter = Members::new(caps(10), any);
    let mut plan = plan(vec![add("g1", "a"), add("broken", "a")]);
    let dependent = plan.push(add("g2", "a"), vec![1]);
    let (sink, mut rx) = crate::events::channel();
    let (report, _store, _dir) = observed(adapter, &plan, 1, &Emitter::new([&Some(sink)])).await;
    assert_eq!((report.ok, report.failed, report.skipped), (1, 1, 1));
    let mut seen = Vec::new();
    while let Ok(e) = rx.try_recv() {
        let RunEvent::OperationFinished {
            target,
            op,
            operation,
            outcome,
            done,
            total,
            ..
        } = e
        else {
            panic!("only operation events come from one target's apply: {e:?}");
        };
        assert_eq!(
            (target.as_str(), operation.as_str(), total),
            ("t", "add_member", 3)
        );
        seen.push((op, outcome, done));
    }
    seen.sort_by_key(|(op, _, _)| *op);
    let mut dones: Vec<usize> = seen.iter().map(|(_, _, d)| *d).collect();
    dones.sort_unstable();
    assert_eq!(dones, [1, 2, 3], "each finished operation counted once");
    assert!(matches!(seen[0].1, OperationOutcome::Done), "{seen:?}");
    match &seen[1].1 {
        OperationOutcome::Failed { error } => {
            assert_eq!(error.kind(), idbridge_core::ErrorKind::NotFound);
            assert!(!error.is_retryable());
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(seen[2].0, dependent);
    assert!(
        matches!(seen[2].1, OperationOutcome::Skipped { because: 1 }),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_retryable_failure_in_a_batch_is_tried_again_alone() {
    let mut members = Members {
        caps: caps(10),
        key: by_group,
        state: Mutex::new(BTreeSet::new()),
        batches: Mutex::new(Vec::new()),
        singles: Mutex::new(Vec::new()),
        flaky: HashSet::new(),
        hold: None,
    };
    members.flaky.insert("b".into());
    let adapter = Arc::new(members);
    let plan = plan(vec![add("g1", "a"), add("g1", "b"), add("g1", "c")]);
    let (report, _, _dir) = apply(adapter.clone(), &plan, 2).await;
    assert!(report.converged(), "{report:?}");
    assert_eq!(adapter.batches().len(), 1);
    assert_eq!(
        adapter.singles.lock().expect("lock").clone(),
        vec![MemberWrite::Add {
            group: "g1".into(),
            member: Principal::User("b".into())
        }],
        "only the failed change was sent again, through the single-write method"
    );
    assert!(
        adapter
            .state
            .lock()
            .expect("lock")
            .contains(&("g1".to_string(), "b".to_string()))
    );
}

#[tokio::test]
async fn a_large_batch_failing_at_once_does_not_make_the_target_look_down() {
    let mut members = Members {
        caps: caps(40),
        key: by_group,
        state: Mutex::new(BTreeSet::new()),
        batches: Mutex::new(Vec::new()),
        singles: Mutex::new(Vec::new()),
        flaky: HashSet::new(),
        hold: None,
    };
    let logins: Vec<String> = (0..30).map(|i| format!("u{i:02}")).collect();
    members.flaky.extend(logins.iter().cloned());
    let adapter = Arc::new(members);
    let plan = plan(logins.iter().map(|u| add("g1", u)).collect());
    // One lost answer for the whole batch: one failure, not thirty in a row.
    let (report, _, _dir) = apply(adapter.clone(), &plan, 1).await;
    assert_eq!(adapter.batches().len(), 1);
    assert!(report.converged(), "{report:?}");
    assert_eq!(adapter.singles.lock().expect("lock").len(), 30);
}

#[tokio::test]
async fn without_a_batch_maximum_changes_go_one_by_one() {
    let adapter = Members::new(
        Capabilities {
            members_batch_max: None,
            ..caps(1)
        },
        any,
    );
    let plan = plan(vec![add("g1", "a"), add("g1", "b")]);
    let (report, _, _dir) = apply(adapter.clone(), &plan, 4).await;
    assert!(report.converged(), "{report:?}");
    assert!(adapter.batches().is_empty());
    assert_eq!(adapter.singles.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn a_key_per_member_gathers_each_members_changes() {
    fn by_member(w: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Shared(w.member().id().to_string())
    }
    let adapter = Members::new(caps(4), by_member);
    let plan = plan(vec![
        add("g1", "a"),
        add("g1", "b"),
        add("g2", "a"),
        remove("g3", "a"),
        add("g2", "b"),
    ]);
    let (report, _, _dir) = apply(adapter.clone(), &plan, 1).await;
    assert!(report.converged(), "{report:?}");
    assert_eq!(
        shape(&adapter.batches()),
        vec![vec!["+g1<-a", "+g2<-a", "-g3<-a"], vec!["+g1<-b", "+g2<-b"]],
        "one member per batch"
    );
}

#[tokio::test]
async fn writes_the_adapter_sends_alone_are_never_batched() {
    fn alone(_: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Alone
    }
    let adapter = Members::new(caps(10), alone);
    let plan = plan(vec![add("g1", "a"), add("g1", "b"), add("g2", "a")]);
    let (report, _, _dir) = apply(adapter.clone(), &plan, 2).await;
    assert!(report.converged(), "{report:?}");
    assert!(adapter.batches().is_empty());
    assert_eq!(adapter.singles.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn a_batch_keeps_its_place_until_its_outcomes_are_journaled() {
    // Two batches in flight (concurrency 2) answer while another connection holds the
    // state file's write lock, so their outcomes wait for the journal. Until they are
    // journaled nothing more may start: not even the `started` rows of the next batches,
    // which would only queue behind them.
    let hold = Arc::new(Hold {
        arrived: AtomicUsize::new(0),
        answer: Semaphore::new(0),
    });
    let adapter = Arc::new(Members {
        hold: Some(hold.clone()),
        ..Arc::into_inner(Members::new(caps(5), any)).expect("unshared")
    });
    let plan = plan((0..40).map(|i| add("g1", &format!("u{i:02}"))).collect());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.db");
    let store = Store::open(&path).expect("store");
    let run = store.begin_run("apply").expect("run");
    let journal = JournalWriter::start(store.clone()).expect("journal");
    let handle = AdapterHandle::new("t", adapter.clone());
    let (stop, events) = (Stop::new(), Emitter::default());
    let ctx = ApplyContext {
        handle: &handle,
        concurrency: 2,
        journal: &journal,
        run,
        stop: &stop,
        events: &events,
        adopt_existing_login: false,
    };
    let watch = async {
        while hold.arrived.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let lock = rusqlite::Connection::open(&path).expect("second connection");
        lock.busy_timeout(Duration::from_secs(5)).expect("timeout");
        lock.execute_batch("BEGIN EXCLUSIVE").expect("write lock");
        let before = journal.writes_sent();
        hold.answer.add_permits(Semaphore::MAX_PERMITS / 2);
        // The two outcomes reach the journal first; then anything sent too would follow.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while journal.writes_sent() - before < 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let while_locked = journal.writes_sent() - before;
        lock.execute_batch("COMMIT").expect("unlock");
        while_locked
    };
    let (report, while_locked) = tokio::join!(apply_target(&ctx, &plan), watch);
    assert_eq!(
        while_locked, 2,
        "the two batches' outcomes, and nothing started while they waited"
    );
    assert!(report.converged(), "{report:?}");
    assert_eq!(
        adapter.batches().len(),
        8,
        "forty changes in batches of five"
    );
}
