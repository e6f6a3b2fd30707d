//! Benchmark 1, planning cost: the engine's pure planning stage for a large source against
//! targets (one per shipped emulator) whose current state is already in memory (no HTTP).
//!
//! Each size runs in a fresh child process (`idbridge-bench plan-child`), so that its
//! peak resident memory (`VmHWM`) belongs to that size alone; the child is pinned to one
//! core with `taskset` where it exists, and plans on the calling thread.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use idbridge_core::{
    Adapter, AdapterHandle, Capabilities, Error, Group, Groups, Memberships, Result, Roles,
    Sessions, User, Users, async_trait, registry,
};
use idbridge_store::{Link, LinkKind, Store};
use idbridge_sync::planner::{group_link_fingerprint, user_link_fingerprint};
use idbridge_sync::state::{Effective, SourceState, TargetState};
use idbridge_sync::table::{LinkTable, UserTable};
use idbridge_sync::{Engine, Snapshot, Target, TargetSettings, TargetSnapshot};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::data::{self, Shape};
use crate::{growth, rss};

/// A target that only declares what a vendor adapter declares: planning never calls it.
pub(crate) struct Declared {
    pub(crate) kind: &'static str,
    pub(crate) caps: Capabilities,
}

#[async_trait]
impl Users for Declared {}
#[async_trait]
impl Groups for Declared {}
#[async_trait]
impl Memberships for Declared {}
#[async_trait]
impl Roles for Declared {}
#[async_trait]
impl Sessions for Declared {}

#[async_trait]
impl Adapter for Declared {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn capabilities(&self) -> Capabilities {
        self.caps
    }
}

/// The targets of the benchmarks: one per shipped emulator, named after its vendor, with
/// its engine settings (leavers are deleted where accounts cannot be disabled).
pub fn targets() -> Vec<(&'static str, &'static str, Value)> {
    idbridge_platforms::emulators()
        .iter()
        .map(|e| {
            let disables = registry::find(e.vendor)
                .map(|d| (d.capabilities)().users_set_enabled)
                .unwrap_or(true);
            let settings = if disables {
                json!({})
            } else {
                json!({"deletion": "delete"})
            };
            (e.vendor, e.vendor, settings)
        })
        .collect()
}

/// The targets' vendors, for the figures' headings: `a, b and c`.
pub fn vendor_list() -> String {
    first_vendors(usize::MAX)
}

/// The vendors of the first `n` targets, as [`vendor_list`].
fn first_vendors(n: usize) -> String {
    let vendors: Vec<&str> = targets().iter().take(n).map(|t| t.1).collect();
    match vendors.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => vendors.join(""),
    }
}

/// Which current state the targets are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Every target already holds the source (a nightly run with nothing to do): the plan
    /// must compare everything and find nothing.
    Steady,
    /// Every target is empty: the plan creates every user and group and adds every member.
    Initial,
}

/// What one child measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// Source users.
    pub users: usize,
    /// The scenario.
    pub scenario: Scenario,
    /// Time to plan the targets, in milliseconds.
    pub plan_ms: f64,
    /// Operations planned over the targets.
    pub ops: usize,
    /// Resident memory before planning (source and target states built), MiB.
    pub rss_before_mib: f64,
    /// Peak resident memory of the whole process, MiB.
    pub peak_mib: f64,
    /// Whether the peak was reset after building the data (see [`rss::reset_peak`]).
    pub peak_reset: bool,
    /// Time to generate the data, in milliseconds (not part of planning).
    pub build_ms: f64,
}

pub(crate) fn declared(vendor: &str) -> Result<(&'static str, Capabilities)> {
    let d = registry::find(vendor)?;
    Ok((d.name, (d.capabilities)()))
}

/// The account a synced target holds for user `i`.
fn target_user(i: usize, caps: &Capabilities) -> User {
    let mut u = data::user(i);
    u.id = format!("T{i}");
    if caps.users_login_is_email {
        u.login = data::email(i);
    }
    u
}

/// A target's state after a completed first sync of `source`, with the links an apply
/// would have stored (fingerprints included), built straight into the engine's tables.
fn synced_state(
    shape: Shape,
    source: &SourceState,
    target: &Target,
) -> Result<(TargetState, LinkTable, Vec<Link>)> {
    let caps = target.handle.capabilities();
    let settings = &target.settings;
    let mut users = UserTable::new();
    let mut user_links = LinkTable::new();
    for (i, u) in source.users.iter().enumerate() {
        let t = target_user(i, &caps);
        let fingerprint = user_link_fingerprint(u, settings, &caps).unwrap_or_default();
        user_links.insert(u.id, &t.id, &fingerprint)?;
        users.push(t)?;
    }
    users.shrink_to_fit();
    let now = chrono::Utc::now();
    let groups: Vec<Group> = (0..shape.groups)
        .map(|g| Group {
            id: format!("TG{g}"),
            name: data::group_name(g),
            description: None,
        })
        .collect();
    let group_links = source
        .groups
        .iter()
        .flatten()
        .zip(&groups)
        .map(|(sg, tg)| Link {
            target: target.name().to_string(),
            kind: LinkKind::Group,
            source_id: sg.id.clone(),
            target_id: tg.id.clone(),
            fingerprint: group_link_fingerprint(sg, settings, &caps).unwrap_or_default(),
            updated: now,
        })
        .collect();
    let state = TargetState {
        users,
        groups,
        members: data::members_by_position(shape, |g| format!("TG{g}"))?,
        sessions: caps.sessions_list.then(Vec::new),
        ..TargetState::default()
    };
    Ok((state, user_links, group_links))
}

/// Runs one measurement in this process (the child's work) and returns it, planning the
/// first `first` targets of [`targets`] (all of them when `None`).
///
/// # Errors
/// When the state file cannot be created or planning fails.
pub fn measure(shape: Shape, scenario: Scenario, first: Option<usize>) -> Result<Measurement> {
    idbridge_platforms::link_all();
    let t0 = Instant::now();
    let dir = tempfile::tempdir()
        .map_err(|e| Error::unavailable(format!("cannot create a temporary directory: {e}")))?;
    let store = Store::open(&dir.path().join("state.db"))?;
    let source: SourceState = data::source_state(shape)?;
    let source_handle = AdapterHandle::new(
        "source",
        Arc::new(Declared {
            kind: "file",
            caps: idbridge_file::FileAdapter::declared_capabilities(),
        }),
    );
    let mut engine_targets = Vec::new();
    let mut snaps = Vec::new();
    for (name, vendor, settings) in targets().into_iter().take(first.unwrap_or(usize::MAX)) {
        let (kind, caps) = declared(vendor)?;
        let handle = AdapterHandle::new(name, Arc::new(Declared { kind, caps }));
        let settings = TargetSettings::from_json(name, settings)?;
        let mut notes = Vec::new();
        let effective = Effective::compute(&settings, &caps, &source, &mut notes);
        let target = Target { handle, settings };
        let (state, user_links, group_links) = match scenario {
            Scenario::Steady => synced_state(shape, &source, &target)?,
            Scenario::Initial => (
                TargetState {
                    sessions: caps.sessions_list.then(Vec::new),
                    ..TargetState::default()
                },
                LinkTable::new(),
                Vec::new(),
            ),
        };
        engine_targets.push(target);
        snaps.push(TargetSnapshot {
            name: name.to_string(),
            effective,
            notes,
            state,
            user_links,
            group_links,
        });
    }
    let engine = Engine::new(source_handle, engine_targets, store);
    let snapshot = Snapshot {
        source,
        targets: snaps,
        unavailable: Vec::new(),
    };
    let build_ms = t0.elapsed().as_secs_f64() * 1e3;
    let peak_reset = rss::reset_peak();
    let rss_before = rss::current_mib();

    let t1 = Instant::now();
    let plan = engine.plan_snapshot(&snapshot)?;
    let plan_ms = t1.elapsed().as_secs_f64() * 1e3;
    let ops = plan.op_count();
    let peak = rss::peak_mib();
    if scenario == Scenario::Steady {
        if let Some(op) = plan.targets.iter().flat_map(|t| &t.ops).next() {
            return Err(Error::protocol(format!(
                "the synced targets are not in sync: the plan has `{}` {}",
                op.action.name(),
                op.action.resource()
            )));
        }
    }
    drop(plan);
    Ok(Measurement {
        users: shape.users,
        scenario,
        plan_ms,
        ops,
        rss_before_mib: rss_before.unwrap_or(f64::NAN),
        peak_mib: peak.unwrap_or(f64::NAN),
        peak_reset,
        build_ms,
    })
}

/// Runs each size in a fresh child process and prints the figures and growth ratios; the
/// children plan the first `first` targets (all of them when `None`).
///
/// # Errors
/// When a child cannot be started or fails.
pub fn run(
    sizes: &[usize],
    groups: usize,
    per_user: usize,
    scenarios: &[Scenario],
    first: Option<usize>,
) -> Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::unavailable(format!("cannot find this program: {e}")))?;
    let pin = std::path::Path::new("/usr/bin/taskset").exists();
    println!(
        "planning cost: {groups} groups, {per_user} memberships per user, targets with the capabilities of {} in memory",
        first_vendors(first.unwrap_or(usize::MAX))
    );
    println!(
        "each size in a fresh process{}; time = Engine::plan_snapshot on one thread",
        if pin {
            ", pinned to one core (taskset -c 0)"
        } else {
            ""
        }
    );
    for &scenario in scenarios {
        println!("\nscenario: {scenario:?}");
        println!(
            "{:>9} {:>10} {:>11} {:>12} {:>11} {:>10}",
            "users", "plan ms", "ops", "RSS before", "peak RSS", "build ms"
        );
        let mut results: Vec<Measurement> = Vec::new();
        for &n in sizes {
            let mut cmd = if pin {
                let mut c = Command::new("/usr/bin/taskset");
                c.arg("-c").arg("0").arg(&exe);
                c
            } else {
                Command::new(&exe)
            };
            cmd.args([
                "plan-child",
                "--users",
                &n.to_string(),
                "--groups",
                &groups.to_string(),
                "--per-user",
                &per_user.to_string(),
                "--scenario",
                match scenario {
                    Scenario::Steady => "steady",
                    Scenario::Initial => "initial",
                },
            ]);
            if let Some(first) = first {
                cmd.args(["--targets", &first.to_string()]);
            }
            let out = cmd
                .output()
                .map_err(|e| Error::unavailable(format!("cannot start the measurement: {e}")))?;
            if !out.status.success() {
                return Err(Error::unavailable(format!(
                    "the measurement for {n} users failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let m: Measurement = text
                .lines()
                .rev()
                .find_map(|l| serde_json::from_str(l).ok())
                .ok_or_else(|| Error::protocol(format!("no measurement in: {text}")))?;
            println!(
                "{:>9} {:>10.1} {:>11} {:>8.0} MiB {:>7.0} MiB {:>10.0}{}",
                m.users,
                m.plan_ms,
                m.ops,
                m.rss_before_mib,
                m.peak_mib,
                m.build_ms,
                if m.peak_reset {
                    ""
                } else {
                    "  (peak includes building the data)"
                }
            );
            results.push(m);
        }
        for w in results.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let size = b.users as f64 / a.users as f64;
            println!(
                "growth {:>7} -> {:>7} users (x{size:.0}): plan time x{:.2}, peak RSS x{:.2}",
                a.users,
                b.users,
                b.plan_ms / a.plan_ms,
                b.peak_mib / a.peak_mib,
            );
        }
        let rows: Vec<(usize, Vec<f64>)> = results
            .iter()
            .map(|m| (m.users, vec![m.plan_ms, m.peak_mib]))
            .collect();
        growth::print_table(
            &format!("users [{scenario:?}]"),
            &["plan time", "peak RSS"],
            &rows,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_the_first_targets_asked_for() {
        let shape = Shape {
            users: 50,
            groups: 5,
            per_user: 2,
        };
        let all = targets().len();
        assert!(all >= 2, "{all} targets");
        let one = measure(shape, Scenario::Initial, Some(1)).expect("one target");
        let two = measure(shape, Scenario::Initial, Some(2)).expect("two targets");
        let every = measure(shape, Scenario::Initial, None).expect("every target");
        assert!(one.ops > 0);
        assert!(two.ops > one.ops, "{} then {}", one.ops, two.ops);
        assert!(every.ops >= two.ops);
        assert_eq!(
            measure(shape, Scenario::Initial, Some(all + 3))
                .expect("more than there are")
                .ops,
            every.ops
        );
        let names: Vec<&str> = targets().iter().map(|t| t.1).collect();
        assert_eq!(first_vendors(1), names[0]);
        assert_eq!(first_vendors(2), format!("{} and {}", names[0], names[1]));
        assert_eq!(first_vendors(usize::MAX), vendor_list());
    }
}
