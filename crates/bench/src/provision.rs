//! Benchmarks 2, 3 and 5: initial provisioning into every shipped emulator at once with
//! injected latency, the no-op re-sync that follows, and the same provisioning one
//! request at a time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idbridge_core::{AdapterHandle, Capabilities, MemberBatchKey, MemberWrite, Principal, Result};
use idbridge_sync::plan::PrincipalKind;
use idbridge_sync::{Action, ApplyOptions, Plan, RunEvent, RunReport, report};

use crate::data::{self, Shape};
use crate::emulated::{Requests, World, print_breakdown, required_writes};

/// What one full sync (lock, read, plan, apply) cost.
pub struct SyncFigures {
    /// Read, plan and apply together.
    pub wall: Duration,
    /// Reading the source and the targets.
    pub read: Duration,
    /// Planning.
    pub plan: Duration,
    /// Applying.
    pub apply: Duration,
    /// Operations planned, over all targets.
    pub ops: usize,
    /// Per target: every request of the run.
    pub requests: Vec<Requests>,
    /// Per target: the requests of the read stage (the listing pages).
    pub listing: Vec<Requests>,
    /// Per target: the fewest write requests the plan needs (see [`required_requests`]).
    pub required: Vec<usize>,
    /// Per target: retries the adapter made (included in `requests`).
    pub retries: Vec<u64>,
    /// The apply's report.
    pub report: RunReport,
    /// Per target: when its last operation finished, from the start of the apply.
    pub finished: Vec<(String, Duration)>,
    /// Per target: the latency its emulator injected over the run's requests, as the
    /// timer gave it.
    pub waited: Vec<Duration>,
}

/// One full sync, measured.
///
/// # Errors
/// A held lock, read and planning errors.
pub async fn measured_sync(world: &World) -> Result<SyncFigures> {
    let engine = &world.engine;
    let start_mark = world.mark();
    let start_retries = world.retries();
    let start_waited = world.latency_waited();
    let t0 = Instant::now();
    let lock = engine.lock("sync")?;
    let snapshot = engine.read().await?;
    let read = t0.elapsed();
    let listing = world.since(&start_mark);
    let t1 = Instant::now();
    let plan = engine.plan_snapshot(&snapshot)?;
    let plan_time = t1.elapsed();
    drop(snapshot);
    let t2 = Instant::now();
    let finished: Arc<Mutex<BTreeMap<String, Duration>>> = Arc::default();
    let record = Arc::clone(&finished);
    let options = ApplyOptions {
        events: Some(Arc::new(move |e: &RunEvent| {
            if let RunEvent::OperationFinished { target, .. } = e {
                if let Ok(mut f) = record.lock() {
                    f.insert(target.clone(), t2.elapsed());
                }
            }
        })),
        ..ApplyOptions::default()
    };
    let report = engine.apply(&plan, &lock, &options).await?;
    let apply = t2.elapsed();
    let finished = finished
        .lock()
        .map(|f| f.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    let wall = t0.elapsed();
    drop(lock);
    let required = engine
        .targets()
        .iter()
        .map(|t| required_requests(&plan, t.name(), &t.handle))
        .collect();
    let retries = world
        .retries()
        .iter()
        .zip(&start_retries)
        .map(|(now, before)| now - before)
        .collect();
    let waited = world
        .latency_waited()
        .iter()
        .zip(&start_waited)
        .map(|(now, before)| now.saturating_sub(*before))
        .collect();
    Ok(SyncFigures {
        wall,
        read,
        plan: plan_time,
        apply,
        ops: plan.op_count(),
        requests: world.since(&start_mark),
        listing,
        required,
        retries,
        report,
        finished,
        waited,
    })
}

/// The fewest write requests that carry out `plan`'s part for target `name`, grouped as the
/// target's adapter takes them: user writes by `users_batch_max`, and membership changes
/// as the adapter's [`AdapterHandle::member_batch_key`] gathers them: one request per
/// `members_batch_max` changes of one key (of any key where the adapter says
/// [`MemberBatchKey::Any`]), one per change it sends alone. Every other write is one request.
pub fn required_requests(plan: &Plan, name: &str, handle: &AdapterHandle) -> usize {
    let caps = handle.capabilities();
    required_requests_by(plan, name, &caps, |w| handle.member_batch_key(w))
}

/// [`required_requests`] with the capabilities and the batch key given.
fn required_requests_by(
    plan: &Plan,
    name: &str,
    caps: &Capabilities,
    key: impl Fn(&MemberWrite) -> MemberBatchKey,
) -> usize {
    let Some(tp) = plan.target(name) else {
        return 0;
    };
    let members: Vec<&Action> = tp
        .ops
        .iter()
        .map(|o| &o.action)
        .filter(|a| matches!(a, Action::AddMember { .. } | Action::RemoveMember { .. }))
        .collect();
    let others = required_writes(plan, name, caps.users_batch_max) - members.len();
    let Some(max) = caps.members_batch_max.filter(|m| *m > 1) else {
        return others + members.len();
    };
    let mut alone = 0usize;
    let mut per_key: HashMap<MemberBatchKey, usize> = HashMap::new();
    for a in members {
        let Some(write) = planned_write(a) else {
            continue;
        };
        match key(&write) {
            MemberBatchKey::Alone => alone += 1,
            k => *per_key.entry(k).or_default() += 1,
        }
    }
    others + alone + per_key.values().map(|n| n.div_ceil(max)).sum::<usize>()
}

/// A membership change of the plan as the write it becomes, with the plan's references
/// standing in for ids the apply resolves (a record still to be created has none yet).
fn planned_write(action: &Action) -> Option<MemberWrite> {
    let (Action::AddMember { group, member } | Action::RemoveMember { group, member }) = action
    else {
        return None;
    };
    let group = format!("{:?}", group.at);
    let id = format!("{:?}", member.at);
    let member = match member.kind {
        PrincipalKind::User => Principal::User(id),
        PrincipalKind::Group => Principal::Group(id),
    };
    Some(if matches!(action, Action::AddMember { .. }) {
        MemberWrite::Add { group, member }
    } else {
        MemberWrite::Remove { group, member }
    })
}

/// How a target's membership changes count in the minimum, in words.
fn member_grouping(caps: &Capabilities) -> String {
    match caps.members_batch_max.filter(|m| *m > 1) {
        None => "one request per membership change".to_string(),
        Some(max) => format!(
            "membership changes in requests of up to {max}, gathered as the adapter's batch key says"
        ),
    }
}

/// The lower bound of a run at the nominal latency: per target, its requests / its
/// concurrency x latency; the run is bounded by the slowest target.
pub fn lower_bounds(world: &World, f: &SyncFigures) -> Vec<Duration> {
    f.requests
        .iter()
        .map(|r| {
            world
                .latency
                .mul_f64(r.total() as f64 / world.concurrency.max(1) as f64)
        })
        .collect()
}

/// The lower bound of a run at the latency the emulators injected: per target, the
/// latency its requests waited / its concurrency. No client keeping at most `concurrency`
/// requests in flight finishes sooner; it is above [`lower_bounds`] by what the timer adds
/// to each wait (a 20 ms wait lasts about 21 ms).
pub fn injected_bounds(world: &World, f: &SyncFigures) -> Vec<Duration> {
    f.waited
        .iter()
        .map(|w| w.div_f64(world.concurrency.max(1) as f64))
        .collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Prints the per-target request table of a run and returns the run's lower bound.
pub fn print_run(world: &World, f: &SyncFigures) -> Duration {
    println!(
        "  wall {:.2} s (read {:.2} s, plan {:.3} s, apply {:.2} s); {} operations planned; converged: {}",
        secs(f.wall),
        secs(f.read),
        secs(f.plan),
        secs(f.apply),
        f.ops,
        if f.report.converged() { "yes" } else { "NO" }
    );
    if !f.finished.is_empty() {
        let each: Vec<String> = f
            .finished
            .iter()
            .map(|(t, d)| format!("{t} {:.2} s", secs(*d)))
            .collect();
        println!("  each target's apply ended after: {}", each.join(", "));
    }
    if !f.report.converged() {
        print!("{}", report::render_run(&f.report));
    }
    let bounds = lower_bounds(world, f);
    println!(
        "  {:<4} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>7} {:>10}",
        "tgt",
        "reads",
        "writes",
        "total",
        "listing",
        "req.wr",
        "minimum",
        "retries",
        "extra",
        "bound s"
    );
    for (i, t) in world.targets.iter().enumerate() {
        let r = &f.requests[i];
        let listing = f.listing[i].total();
        let minimum = listing + f.required[i];
        let extra = r.total() as i64 - minimum as i64 - f.retries[i] as i64;
        println!(
            "  {:<4} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>7} {:>10.2}",
            t.name,
            r.reads,
            r.writes,
            r.total(),
            listing,
            f.required[i],
            minimum,
            f.retries[i],
            extra,
            secs(bounds[i])
        );
    }
    println!("  minimum = listing + req.wr, where req.wr counts one request per write, except:");
    for t in world.engine.targets() {
        let caps = t.handle.capabilities();
        let users = match caps.users_batch_max.filter(|m| *m > 1) {
            Some(max) => format!("user writes in batches of up to {max}"),
            None => "one request per user write".to_string(),
        };
        println!("    {}: {users}; {}", t.name(), member_grouping(&caps));
    }
    let bound = bounds.iter().copied().max().unwrap_or_default();
    if bound.is_zero() {
        println!("  lower bound of the run: 0 (no latency injected)");
    } else {
        println!(
            "  lower bound of the run (slowest target): {:.2} s; wall / bound = {:.3}",
            secs(bound),
            secs(f.wall) / secs(bound)
        );
        let injected = injected_bounds(world, f);
        let slowest = injected.iter().copied().max().unwrap_or_default();
        let requests: usize = f.requests.iter().map(Requests::total).sum();
        let waited: Duration = f.waited.iter().sum();
        println!(
            "  at the latency the emulators injected (mean {:.2} ms a request): {:.2} s; wall / bound = {:.3}",
            secs(waited) * 1e3 / requests.max(1) as f64,
            secs(slowest),
            secs(f.wall) / secs(slowest).max(f64::MIN_POSITIVE)
        );
    }
    println!("  requests by kind (login and token requests excluded):");
    print_breakdown(world, &f.requests);
    bound
}

/// The provisioning shape at `scale` (users, groups and memberships scaled alike).
pub fn scaled(users: usize, groups: usize, per_user: usize, scale: f64) -> Shape {
    let s = |n: usize| ((n as f64 * scale).round() as usize).max(1);
    Shape {
        users: s(users),
        groups: s(groups),
        per_user,
    }
}

/// Benchmarks 2 and 3: provisioning, then the no-op re-sync.
///
/// # Errors
/// When the emulators cannot start or a run cannot be made.
pub async fn provision(shape: Shape, latency: Duration, concurrency: usize) -> Result<()> {
    println!(
        "initial provisioning: {} users, {} groups, {} memberships into {} at once",
        shape.users,
        shape.groups,
        shape.memberships(),
        crate::planning::vendor_list()
    );
    println!(
        "each emulator adds {} ms to every request; concurrency {concurrency} per target",
        latency.as_millis()
    );
    let world = World::start(&data::directory(shape), None, latency, concurrency).await?;
    let first = measured_sync(&world).await?;
    print_run(&world, &first);

    println!("\nno-op re-sync of the same source:");
    let second = measured_sync(&world).await?;
    print_run(&world, &second);
    for (i, t) in world.targets.iter().enumerate() {
        println!(
            "  {:<4} write requests: {}; read requests: {} (of which before planning: {})",
            t.name, second.requests[i].writes, second.requests[i].reads, second.listing[i].reads
        );
    }
    Ok(())
}

/// Benchmark 5: the same provisioning at concurrency 1 and at `concurrency`, each into
/// fresh emulators, with the speed-up.
///
/// # Errors
/// As [`provision`].
pub async fn compare(shape: Shape, latency: Duration, concurrency: usize) -> Result<()> {
    println!(
        "comparison: {} users, {} groups, {} memberships; {} ms latency; concurrency 1 (one request after another) vs {concurrency}",
        shape.users,
        shape.groups,
        shape.memberships(),
        latency.as_millis()
    );
    let mut walls = Vec::new();
    for c in [1, concurrency] {
        println!("\nconcurrency {c}:");
        let world = World::start(&data::directory(shape), None, latency, c).await?;
        let f = measured_sync(&world).await?;
        print_run(&world, &f);
        walls.push(f.wall);
    }
    println!(
        "\nspeed-up of concurrency {concurrency} over concurrency 1: x{:.2} ({:.1} s -> {:.1} s)",
        secs(walls[0]) / secs(walls[1]).max(f64::MIN_POSITIVE),
        secs(walls[0]),
        secs(walls[1])
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use idbridge_sync::TargetPlan;
    use std::sync::Arc;

    use idbridge_sync::plan::{CreateGroup, GroupRef, PrincipalKind, PrincipalRef, Ref};

    use super::*;

    /// Users `u0..u{users}` each added to groups `g0..g{groups}`, plus one group create.
    fn plan(users: usize, groups: usize) -> Plan {
        let mut tp = TargetPlan::new("t", "x");
        tp.push(
            Action::CreateGroup(Box::new(CreateGroup {
                source_id: "s".into(),
                group: idbridge_core::NewGroup {
                    name: "new".into(),
                    description: None,
                },
                fingerprint: String::new(),
            })),
            Vec::new(),
        );
        for u in 0..users {
            for g in 0..groups {
                tp.push(
                    Action::AddMember {
                        group: Arc::new(GroupRef {
                            at: Ref::Id(format!("g{g}").into()),
                            name: format!("g{g}").into(),
                        }),
                        member: Arc::new(PrincipalRef {
                            kind: PrincipalKind::User,
                            at: Ref::Id(format!("u{u}").into()),
                            name: format!("u{u}").into(),
                        }),
                    },
                    Vec::new(),
                );
            }
        }
        let mut plan = Plan::new();
        plan.targets.push(tp);
        plan
    }

    fn caps(max: Option<usize>) -> Capabilities {
        Capabilities {
            members_batch_max: max,
            ..Capabilities::default()
        }
    }

    fn by_group(w: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Shared(w.group().to_string())
    }

    fn by_member(w: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Shared(w.member().id().to_string())
    }

    #[test]
    fn membership_changes_count_as_the_adapter_gathers_them() {
        // 10 users x 3 groups = 30 changes, plus the group create.
        let p = plan(10, 3);
        let count = |max, key: fn(&MemberWrite) -> MemberBatchKey| {
            required_requests_by(&p, "t", &caps(max), key)
        };
        // No batches: one request per change, whatever the key.
        assert_eq!(count(None, by_group), 31);
        // Sent alone although batches are declared.
        assert_eq!(count(Some(4), |_| MemberBatchKey::Alone), 31);
        // Per group, at most 4 per request: 3 groups x ceil(10 / 4).
        assert_eq!(count(Some(4), by_group), 1 + 9);
        // Per member: 10 users, 3 changes each, in one request.
        assert_eq!(count(Some(4), by_member), 1 + 10);
        // Any: 30 changes, 8 per request.
        assert_eq!(count(Some(8), |_| MemberBatchKey::Any), 1 + 4);
        assert_eq!(required_requests_by(&p, "other", &caps(None), by_group), 0);
    }
}
