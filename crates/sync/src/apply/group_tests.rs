//! Group batches: ready group writes go to an adapter that takes them in one call, each
//! keeping its own journal rows, result and links, and each answer settled as it is for a
//! write sent alone.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use idbridge_core::{
    Adapter, AdapterHandle, Capabilities, Error, Group, GroupChanges, GroupWrite, GroupWriteResult,
    Groups, Memberships, NewGroup, Page, PageRequest, Principal, Result, Roles, Sessions, Users,
    async_trait,
};
use idbridge_store::{Link, LinkKind, Outcome, Store, Write};

use super::*;
use crate::events::Emitter;
use crate::plan::{
    Action, CreateGroup, DeleteGroup, GroupRef, PrincipalKind, PrincipalRef, Ref, UpdateGroup,
};

/// Groups in memory, starting with `existing` and `old` (ids `g-existing` and `g-old`, no
/// descriptions). Creating
/// `broken` fails (not retryably); a create of a taken name says "already exists"; a write
/// to a missing id says "not found". Batches are recorded by the names or ids they carry;
/// calls of the single-write methods from outside a batch are recorded apart.
struct Target {
    caps: Capabilities,
    groups: Mutex<BTreeMap<String, Group>>,
    members: Mutex<Vec<(String, String)>>,
    batches: Mutex<Vec<Vec<String>>>,
    singles: Mutex<Vec<String>>,
}

impl Target {
    fn new(batch_max: Option<usize>) -> Arc<Target> {
        let existing = Group {
            id: "g-existing".into(),
            name: "existing".into(),
            description: None,
        };
        let old = Group {
            id: "g-old".into(),
            name: "old".into(),
            description: None,
        };
        Arc::new(Target {
            caps: Capabilities {
                groups_list: true,
                groups_create: true,
                groups_update: true,
                groups_description: true,
                groups_delete: true,
                groups_batch_max: batch_max,
                members_add: true,
                ..Capabilities::default()
            },
            groups: Mutex::new(
                [(existing.id.clone(), existing), (old.id.clone(), old)]
                    .into_iter()
                    .collect(),
            ),
            members: Mutex::new(Vec::new()),
            batches: Mutex::new(Vec::new()),
            singles: Mutex::new(Vec::new()),
        })
    }

    fn apply(&self, w: &GroupWrite) -> GroupWriteResult {
        let mut groups = self.groups.lock().expect("lock");
        match w {
            GroupWrite::Create { group } => {
                if group.name == "broken" {
                    return Err(Error::invalid_input("the name `broken` is refused"));
                }
                if groups.values().any(|g| g.name == group.name) {
                    return Err(Error::already_exists(format!("`{}` exists", group.name)));
                }
                let g = Group {
                    id: format!("g-{}", group.name),
                    name: group.name.clone(),
                    description: group.description.clone(),
                };
                groups.insert(g.id.clone(), g.clone());
                Ok(Some(g))
            }
            GroupWrite::Update { id, changes } => {
                let g = groups
                    .get_mut(id)
                    .ok_or_else(|| Error::not_found(format!("no group `{id}`")))?;
                changes.apply_to(g);
                Ok(Some(g.clone()))
            }
            GroupWrite::Delete { id } => groups
                .remove(id)
                .map(|_| None)
                .ok_or_else(|| Error::not_found(format!("no group `{id}`"))),
        }
    }

    fn single(&self, w: GroupWrite) -> GroupWriteResult {
        self.singles
            .lock()
            .expect("lock")
            .push(w.resource().to_string());
        self.apply(&w)
    }

    fn batches(&self) -> Vec<Vec<String>> {
        self.batches.lock().expect("lock").clone()
    }

    fn singles(&self) -> Vec<String> {
        self.singles.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Groups for Target {
    async fn list_groups(&self, _page: PageRequest) -> Result<Page<Group>> {
        let groups = self.groups.lock().expect("lock");
        Ok(Page::last(groups.values().cloned().collect()))
    }

    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        let created = self.single(GroupWrite::Create {
            group: group.clone(),
        })?;
        created.ok_or_else(|| Error::protocol("no record"))
    }

    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        let updated = self.single(GroupWrite::Update {
            id: id.into(),
            changes: changes.clone(),
        })?;
        updated.ok_or_else(|| Error::protocol("no record"))
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        self.single(GroupWrite::Delete { id: id.into() }).map(drop)
    }

    async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<GroupWriteResult> {
        self.batches
            .lock()
            .expect("lock")
            .push(batch.iter().map(|w| w.resource().to_string()).collect());
        batch.iter().map(|w| self.apply(w)).collect()
    }
}

#[async_trait]
impl Memberships for Target {
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.members
            .lock()
            .expect("lock")
            .push((group.to_string(), member.id().to_string()));
        Ok(())
    }
}
#[async_trait]
impl Users for Target {}
#[async_trait]
impl Roles for Target {}
#[async_trait]
impl Sessions for Target {}
#[async_trait]
impl Adapter for Target {
    fn kind(&self) -> &'static str {
        "target"
    }
    fn capabilities(&self) -> Capabilities {
        self.caps
    }
}

fn create(name: &str, description: Option<&str>) -> Action {
    Action::CreateGroup(Box::new(CreateGroup {
        source_id: format!("s-{name}"),
        group: NewGroup {
            name: name.into(),
            description: description.map(str::to_string),
        },
        fingerprint: format!("fp-{name}"),
    }))
}

/// Adds user `u1` to the group operation `op` creates.
fn add_to_created(op: usize, name: &str) -> Action {
    Action::AddMember {
        group: Arc::new(GroupRef {
            at: Ref::Created(op),
            name: name.into(),
        }),
        member: Arc::new(PrincipalRef {
            kind: PrincipalKind::User,
            at: Ref::Id("u1".into()),
            name: "u1".into(),
        }),
    }
}

/// Applies `plan` to `target`, one call at a time, with a state file that links `s-gone`
/// to group `g-gone` (which the target no longer has); returns the report and the state.
async fn apply(target: Arc<Target>, plan: &TargetPlan) -> (TargetReport, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("store");
    store
        .commit(&[Write::UpsertLink(Link {
            target: "t".into(),
            kind: LinkKind::Group,
            source_id: "s-gone".into(),
            target_id: "g-gone".into(),
            fingerprint: String::new(),
            updated: chrono::Utc::now(),
        })])
        .expect("link");
    let run = store.begin_run("apply").expect("run");
    let journal = JournalWriter::start(store.clone()).expect("journal");
    let handle = AdapterHandle::new("t", target);
    let stop = Stop::new();
    let ctx = ApplyContext {
        handle: &handle,
        concurrency: 1,
        journal: &journal,
        run,
        stop: &stop,
        events: &Emitter::default(),
        adopt_existing_login: false,
    };
    let report = apply_target(&ctx, plan).await;
    (report, store, dir)
}

fn link(store: &Store, source_id: &str) -> Option<Link> {
    store
        .link("t", LinkKind::Group, source_id)
        .expect("read links")
}

/// Creates of `eng` and `ops`, a create of `broken` (refused), a create of `existing`
/// (already there: adopted, its description set), a rename of `g-old` and a delete
/// of `g-gone` (already gone); then a member added to `eng` and one to `broken`, each
/// after its create.
fn mixed_plan() -> TargetPlan {
    let mut plan = TargetPlan::new("t", "target");
    let eng = plan.push(create("eng", Some("Engineering")), Vec::new());
    plan.push(create("ops", None), Vec::new());
    let broken = plan.push(create("broken", None), Vec::new());
    plan.push(create("existing", Some("wanted")), Vec::new());
    plan.push(
        Action::UpdateGroup(Box::new(UpdateGroup {
            source_id: "s-renamed".into(),
            id: "g-old".into(),
            before: Group {
                id: "g-old".into(),
                name: "old".into(),
                description: None,
            },
            changes: GroupChanges {
                name: Some("renamed".into()),
                ..GroupChanges::default()
            },
            fingerprint: "fp-renamed".into(),
        })),
        Vec::new(),
    );
    plan.push(
        Action::DeleteGroup(Box::new(DeleteGroup {
            source_id: Some("s-gone".into()),
            id: "g-gone".into(),
            before: Group {
                id: "g-gone".into(),
                name: "gone".into(),
                description: None,
            },
        })),
        Vec::new(),
    );
    plan.push(add_to_created(eng, "eng"), vec![eng]);
    plan.push(add_to_created(broken, "broken"), vec![broken]);
    plan
}

#[tokio::test]
async fn group_writes_go_in_one_batch_and_settle_as_they_would_alone() {
    for batch_max in [None, Some(10)] {
        let target = Target::new(batch_max);
        let plan = mixed_plan();
        let (report, store, _dir) = apply(target.clone(), &plan).await;
        let all = ["eng", "ops", "broken", "existing", "g-old", "g-gone"];
        match batch_max {
            Some(_) => {
                assert_eq!(target.batches(), vec![all.to_vec()], "one batch");
                // The adoption of `existing` sets its description with a write of its own.
                assert_eq!(target.singles(), vec!["g-existing"]);
            }
            None => {
                assert!(target.batches().is_empty(), "no batches");
                // The adoption's own write comes right after the create it settles.
                assert_eq!(
                    target.singles(),
                    vec![
                        "eng",
                        "ops",
                        "broken",
                        "existing",
                        "g-existing",
                        "g-old",
                        "g-gone"
                    ]
                );
            }
        }
        // The refused create fails alone and skips only what depends on it.
        assert_eq!(
            (report.ok, report.failed, report.skipped),
            (6, 1, 1),
            "{batch_max:?}: {report:?}"
        );
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        assert_eq!(
            (report.problems[0].op, report.problems[0].outcome),
            (2, OpOutcome::Failed)
        );
        assert_eq!(
            (report.problems[1].op, report.problems[1].outcome),
            (7, OpOutcome::Skipped)
        );
        // The created group's id reached what depends on it.
        assert_eq!(
            *target.members.lock().expect("lock"),
            vec![("g-eng".to_string(), "u1".to_string())],
            "{batch_max:?}"
        );
        // Created and adopted groups are linked with their fingerprints; the refused one
        // is not; the gone one's link is dropped.
        let eng = link(&store, "s-eng").expect("eng linked");
        assert_eq!(
            (eng.target_id.as_str(), eng.fingerprint.as_str()),
            ("g-eng", "fp-eng")
        );
        assert_eq!(
            link(&store, "s-ops").expect("ops linked").target_id,
            "g-ops"
        );
        assert!(link(&store, "s-broken").is_none(), "{batch_max:?}");
        let existing = link(&store, "s-existing").expect("existing adopted");
        assert_eq!(existing.target_id, "g-existing");
        assert_eq!(existing.fingerprint, "fp-existing");
        assert_eq!(
            target.groups.lock().expect("lock")["g-existing"]
                .description
                .as_deref(),
            Some("wanted"),
            "the adopted group was given the description asked for"
        );
        assert_eq!(
            link(&store, "s-renamed").expect("updated").fingerprint,
            "fp-renamed"
        );
        assert_eq!(target.groups.lock().expect("lock")["g-old"].name, "renamed");
        assert!(link(&store, "s-gone").is_none(), "{batch_max:?}");
        // Each group write has its own journal rows: `started`, completed in place with
        // its own outcome (a delete's `started` row, with the group's last state, stays
        // beside its outcome), the created record kept as its state after.
        let rows = store.journal(None).expect("journal");
        for (i, op) in plan.ops.iter().enumerate().take(6) {
            let resource = op.action.resource();
            let mine: Vec<Outcome> = rows
                .iter()
                .filter(|r| r.resource == resource && r.operation == op.action.name())
                .map(|r| r.outcome)
                .collect();
            let want = match i {
                2 => vec![Outcome::Failed],
                5 => vec![Outcome::Started, Outcome::Ok],
                _ => vec![Outcome::Ok],
            };
            assert_eq!(mine, want, "{batch_max:?} {resource}");
        }
        let eng_row = rows
            .iter()
            .find(|r| r.resource == plan.ops[0].action.resource())
            .expect("eng row");
        assert_eq!(
            eng_row.after.as_ref().and_then(|a| a.get("id")),
            Some(&serde_json::json!("g-eng")),
            "{batch_max:?}"
        );
        let broken_row = rows
            .iter()
            .find(|r| r.resource == plan.ops[2].action.resource())
            .expect("broken row");
        assert!(
            broken_row
                .error
                .as_deref()
                .is_some_and(|e| e.contains("`broken` is refused")),
            "{broken_row:?}"
        );
    }
}

#[tokio::test]
async fn group_batches_never_exceed_the_maximum_and_a_lone_write_goes_alone() {
    let target = Target::new(Some(2));
    let mut plan = TargetPlan::new("t", "target");
    for name in ["a", "b", "c", "d", "e"] {
        plan.push(create(name, None), Vec::new());
    }
    let (report, _store, _dir) = apply(target.clone(), &plan).await;
    assert!(report.converged(), "{report:?}");
    assert_eq!(target.batches(), vec![vec!["a", "b"], vec!["c", "d"]]);
    assert_eq!(
        target.singles(),
        vec!["e"],
        "a batch of one uses the single create"
    );
}

#[tokio::test]
async fn a_batch_that_answers_a_create_without_its_record_fails_that_create() {
    /// Answers every write of a batch `Ok(None)`.
    struct Silent(Arc<Target>);
    #[async_trait]
    impl idbridge_core::Forward for Silent {
        fn forward_to(&self) -> &dyn Adapter {
            self.0.as_ref()
        }
        async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<GroupWriteResult> {
            batch.iter().map(|_| Ok(None)).collect()
        }
    }
    let mut plan = TargetPlan::new("t", "target");
    plan.push(create("a", None), Vec::new());
    plan.push(create("b", None), Vec::new());
    let handle_target = Arc::new(Silent(Target::new(Some(10))));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("store");
    let run = store.begin_run("apply").expect("run");
    let journal = JournalWriter::start(store.clone()).expect("journal");
    let handle = AdapterHandle::new("t", handle_target);
    let stop = Stop::new();
    let ctx = ApplyContext {
        handle: &handle,
        concurrency: 1,
        journal: &journal,
        run,
        stop: &stop,
        events: &Emitter::default(),
        adopt_existing_login: false,
    };
    let report = apply_target(&ctx, &plan).await;
    assert_eq!((report.ok, report.failed), (0, 2), "{report:?}");
    assert!(
        report.problems[0].error.contains("returned no record"),
        "{:?}",
        report.problems
    );
    assert!(link(&store, "s-a").is_none());
}
