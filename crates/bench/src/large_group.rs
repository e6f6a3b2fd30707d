//! Benchmark 4: one member added to a large group. The emulators start with every user
//! and the group (all members but one) already there; a first run links everything; then
//! the source adds the last member and a second run must send exactly one write per
//! target, with a plan time that does not grow with the group's size.

use std::collections::BTreeMap;
use std::time::Duration;

use idbridge_core::{Error, Result};
use idbridge_file::{DirGroup, DirUser, Directory};

use crate::data;
use crate::emulated::World;
use crate::provision::measured_sync;

const GROUP: &str = "big-group";

/// `users` users; the first `members` of them are in the big group, except user
/// `members - 1` unless `with_last` is set.
fn directory(users: usize, members: usize, with_last: bool) -> Directory {
    let users = (0..users)
        .map(|i| DirUser {
            id: data::user_id(i),
            login: data::login(i),
            email: Some(data::email(i)),
            display_name: Some(format!("User {i}")),
            enabled: true,
            groups: if i + 1 < members || (with_last && i + 1 == members) {
                vec![GROUP.to_string()]
            } else {
                Vec::new()
            },
            attributes: BTreeMap::new(),
        })
        .collect();
    Directory {
        users,
        groups: vec![DirGroup {
            id: "g-big".into(),
            name: GROUP.into(),
            description: None,
            groups: Vec::new(),
        }],
        roles: Vec::new(),
        grants: Vec::new(),
    }
}

/// Runs the benchmark for each group size, with `users` users in every case.
///
/// # Errors
/// When the emulators cannot start or a run fails.
pub async fn run(
    users: usize,
    sizes: &[usize],
    latency: Duration,
    concurrency: usize,
) -> Result<()> {
    println!(
        "one member added to a large group: {users} users in every case; the group holds N - 1 of them, then N"
    );
    let mut plan_times = Vec::new();
    for &size in sizes {
        if size > users || size == 0 {
            return Err(Error::invalid_input(format!(
                "a group of {size} members needs between 1 and {users} users"
            )));
        }
        println!("\ngroup of {size} members:");
        let before = directory(users, size, false);
        let mut world = World::start(&before, Some(&before), latency, concurrency).await?;
        let first = measured_sync(&world).await?;
        let first_writes: Vec<usize> = first.requests.iter().map(|r| r.writes).collect();
        println!(
            "  first run (emulators seeded with the same state; links every account): {} operations, write requests per target {:?}, converged: {}",
            first.ops,
            first_writes,
            first.report.converged()
        );
        world.set_source(&directory(users, size, true)).await?;
        let second = measured_sync(&world).await?;
        println!(
            "  after adding one member: {} operation(s) planned; plan {:.2} ms, read {:.2} s, apply {:.3} s; converged: {}",
            second.ops,
            second.plan.as_secs_f64() * 1e3,
            second.read.as_secs_f64(),
            second.apply.as_secs_f64(),
            second.report.converged()
        );
        for (i, t) in world.targets.iter().enumerate() {
            let r = &second.requests[i];
            let apply_reads = r.reads - second.listing[i].reads;
            println!(
                "    {:<4} write requests: {}; reads while applying: {apply_reads}; reads before planning: {}",
                t.name, r.writes, second.listing[i].reads
            );
        }
        plan_times.push((size, second.plan));
    }
    for w in plan_times.windows(2) {
        let ((a, ta), (b, tb)) = (w[0], w[1]);
        println!(
            "plan time, group of {b} vs group of {a} (same {users} users): x{:.2}",
            tb.as_secs_f64() / ta.as_secs_f64().max(f64::MIN_POSITIVE)
        );
    }
    // The users stay the same here: the growth is per x10 of the group's size.
    let rows: Vec<(usize, Vec<f64>)> = plan_times
        .iter()
        .map(|(size, t)| (*size, vec![t.as_secs_f64() * 1e3]))
        .collect();
    crate::growth::print_table("group members", &["plan time"], &rows);
    Ok(())
}
