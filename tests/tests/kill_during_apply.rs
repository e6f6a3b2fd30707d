//! Fault suite: `kill -9` of the `idbridge` process at random moments during apply, 20
//! times in a row (seeded, so the same moments every run), each followed by a rerun. The
//! emulators live in this test process and outlive every killed run. At the end the
//! targets hold exactly the source, with no duplicate, and the journal shows every write
//! that reached a target: every account, group and membership there has its journal row,
//! and every write request an emulator served is matched by journal rows of its kind.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idbridge_core::registry;
use idbridge_store::{Outcome, Store};
use idbridge_testkit::emulator::{
    EmulatorOptions, RunningEmulator, WriteKind, WriteSubject, start_emulator,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{ExactState, Shape};

/// The dice of the kill moments.
const SEED: u64 = 20_261_124;
/// Kills in a row.
const KILLS: usize = 20;

struct Killable(Child);

impl Drop for Killable {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn served_writes(emulators: &[(String, RunningEmulator)]) -> usize {
    emulators
        .iter()
        .map(|(_, e)| e.server.log().served_writes().len())
        .sum()
}

fn sync(bin: &Path, config: &Path, log: &Path) -> Killable {
    let log = std::fs::File::create(log).expect("log file");
    let err = log.try_clone().expect("log file");
    Killable(
        Command::new(bin)
            .args(["sync", "-c"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("idbridge starts"),
    )
}

/// The record a classified write names: a user key (login or email, lower-cased) or a
/// group name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Named {
    User(String),
    Group(String),
}

/// What one served write request is, as the vendor's emulator classifies its method and
/// path: the journal operation it belongs to, and the record it names, where the path
/// names one.
fn classify(
    vendor: &str,
    method: &str,
    path: &str,
    state: &ExactState,
) -> (&'static str, Option<Named>) {
    let contract = idbridge_e2e::contract(vendor);
    let Some((kind, subject)) = (contract.classify_write)(method, path) else {
        panic!(
            "{vendor}: unexpected write {method} {path}; teach its emulator's contract what it is"
        )
    };
    let named = match subject {
        WriteSubject::None => None,
        WriteSubject::UserId(id) => state.key_of_id.get(&id).cloned().map(Named::User),
        WriteSubject::UserLogin(login) => Some(Named::User(login.to_lowercase())),
        WriteSubject::GroupId(id) => state.group_ids.get(&id).cloned().map(Named::Group),
    };
    let kind = match kind {
        WriteKind::CreateUser => "create_user",
        WriteKind::UserWrite => "user_write",
        WriteKind::CreateGroup => "create_group",
        WriteKind::AddMember => "add_member",
        WriteKind::BulkEdit => "bulk_edit",
    };
    (kind, named)
}

/// The journal operations a classified write may belong to.
fn operations(kind: &str) -> &[&str] {
    match kind {
        "user_write" => &["create_user", "update_user"],
        "create_user" => &["create_user"],
        "create_group" => &["create_group"],
        "bulk_edit" => &["add_member", "remove_member", "update_user", "create_user"],
        _ => &["add_member"],
    }
}

/// The journal rows of one target that record an attempt (not a skip), one per run and
/// operation and resource.
fn journaled(store: &Store, target: &str) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    store
        .journal(None)
        .expect("read the journal")
        .into_iter()
        .filter(|r| r.target == target && r.outcome != Outcome::Skipped)
        .filter(|r| seen.insert((r.run, r.operation.clone(), r.resource.to_lowercase())))
        .map(|r| (r.operation, r.resource.to_lowercase()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_apply_twenty_times_then_a_rerun_converges_and_the_journal_shows_every_write()
{
    idbridge_e2e::link_vendors();
    let bin = tokio::task::spawn_blocking(support::idbridge_bin)
        .await
        .expect("build");
    let dir = tempfile::tempdir().expect("tempdir");
    let shape = Shape {
        users: 500,
        groups: 10,
        per_user: 2,
    };
    let source = dir.path().join("source.json");
    shape.write(&source);
    let state = dir.path().join("state.db");

    let mut emulators = Vec::new();
    let mut sections = Vec::new();
    for vendor in support::targets() {
        let name = vendor;
        let options = EmulatorOptions {
            // Slow enough that a kill lands a few writes after the moment drawn.
            latency: Duration::from_millis(3),
            ..EmulatorOptions::default()
        };
        let e = start_emulator(vendor, options).await.expect("emulator");
        sections.push((name.to_string(), e.config.clone(), support::settings(name)));
        emulators.push((name.to_string(), e));
    }
    let config = support::write_config(dir.path(), &source, &state, &sections);

    let mut rng = StdRng::seed_from_u64(SEED);
    let mut kills = 0;
    let mut runs = 0;
    while kills < KILLS {
        runs += 1;
        assert!(
            runs <= KILLS * 3,
            "only {kills} runs could be killed during apply in {runs} runs"
        );
        let base = served_writes(&emulators);
        let at = base + rng.random_range(1..=40);
        let log = dir.path().join(format!("run-{runs}.log"));
        let mut child = sync(&bin, &config, &log);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = child.0.try_wait().expect("poll the run") {
                // It finished before the moment came: nothing was killed this time, and
                // the run converged.
                assert!(
                    status.success(),
                    "the run failed: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                break;
            }
            if served_writes(&emulators) >= at {
                child.0.kill().expect("kill -9");
                child.0.wait().expect("reap");
                kills += 1;
                break;
            }
            assert!(Instant::now() < deadline, "run {runs} hangs");
            tokio::time::sleep(Duration::from_micros(300)).await;
        }
    }

    // The rerun that is let finish converges; a plan after it changes nothing.
    let log = dir.path().join("final.log");
    let mut last = sync(&bin, &config, &log);
    let status = tokio::task::spawn_blocking(move || last.0.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(
        status.success(),
        "the rerun after {kills} kills did not converge:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let plan = Command::new(&bin)
        .args(["plan", "-c"])
        .arg(&config)
        .output()
        .expect("plan runs");
    assert_eq!(
        plan.status.code(),
        Some(0),
        "a plan after the rerun changes nothing:\n{}",
        String::from_utf8_lossy(&plan.stdout)
    );

    let store = Store::open(&state).expect("state file");
    for (name, e) in &emulators {
        let handle = registry::build_adapter(e.vendor, e.adapter_config(name))
            .await
            .expect("connect");
        let exact = shape.assert_exact(name, &handle).await;
        let rows = journaled(&store, name);
        let has = |op: &str, resource: &str| rows.iter().any(|(o, r)| o == op && r == resource);
        // Every account, group and membership in the target has its journal row.
        for key in exact.key_of_id.values() {
            assert!(
                ["create_user", "link_user", "update_user"]
                    .iter()
                    .any(|op| has(op, key)),
                "{name}: account `{key}` is in the target but not in the journal"
            );
        }
        for group in exact.group_ids.values() {
            assert!(
                has("create_group", group) || has("link_group", group),
                "{name}: group `{group}` is in the target but not in the journal"
            );
        }
        for (group, member) in &exact.memberships {
            assert!(
                has("add_member", &format!("{group} <- {member}")),
                "{name}: `{member}` in `{group}` is in the target but not in the journal"
            );
        }
        // Every write request the emulator served is matched by journal rows of its kind:
        // per named record where the path names one, else per operation.
        let mut served: BTreeMap<(&str, Option<Named>), usize> = BTreeMap::new();
        for r in e.server.log().served_writes() {
            *served
                .entry(classify(e.vendor, &r.method, &r.path, &exact))
                .or_default() += 1;
        }
        for ((kind, key), n) in served {
            let rows_of_kind = rows
                .iter()
                .filter(|(o, r)| {
                    operations(kind).contains(&o.as_str())
                        && match (&key, kind) {
                            (None, _) => true,
                            // Memberships written on the member's record.
                            (Some(Named::User(k)), "add_member") => r.ends_with(&format!("<- {k}")),
                            (Some(Named::Group(k)), "add_member") => {
                                r.starts_with(&format!("{k} <- "))
                            }
                            (Some(Named::User(k) | Named::Group(k)), _) => r == k,
                        }
                })
                .count();
            assert!(
                n <= rows_of_kind,
                "{name}: {n} served `{kind}` write(s) for {key:?}, but only {rows_of_kind} journal row(s)"
            );
        }
    }
    assert!(kills >= KILLS);
}
