//! The no-op run at scale: every shipped emulator already holds the source's people (seeded
//! directly, not provisioned through their APIs, so a million users take seconds to set
//! up), a first sync links them, and the second, measured, has nothing to do. What it
//! must cost: zero writes, and reads equal to the listing pages, except where a vendor
//! offers no listing that carries a field the plan compares (named per target).

use std::time::{Duration, Instant};

use idbridge_core::Result;
use idbridge_sync::report;

use crate::data::{self, Shape};
use crate::emulated::{AdapterSetting, World, print_breakdown};
use crate::provision::measured_sync;
use crate::rss;

/// Seeds the emulators with `shape`'s directory, links it with a first sync and measures
/// the second: wall time, peak memory of this process, and per target the writes, the
/// reads and how many of them were the listing. `settings` are adapter keys set on the
/// named vendors' targets.
///
/// # Errors
/// When the emulators cannot start or a run cannot be made.
pub async fn noop(
    shape: Shape,
    latency: Duration,
    concurrency: usize,
    only: &[String],
    settings: &[AdapterSetting],
) -> Result<()> {
    let vendors = if only.is_empty() {
        crate::planning::vendor_list()
    } else {
        only.join(", ")
    };
    println!(
        "no-op run: {} users, {} groups, {} memberships already in {vendors}",
        shape.users,
        shape.groups,
        shape.memberships(),
    );
    println!(
        "each emulator adds {} ms to every request; concurrency {concurrency} per target",
        latency.as_millis()
    );
    let directory = data::directory(shape);
    let t0 = Instant::now();
    for s in settings {
        println!("  {}: {} = {}", s.vendor, s.key, s.value);
    }
    let world = World::start_only(
        &directory,
        Some(&directory),
        latency,
        concurrency,
        only,
        settings,
    )
    .await?;
    drop(directory);
    println!("  emulators seeded in {:.1} s", t0.elapsed().as_secs_f64());

    let first = measured_sync(&world).await?;
    println!(
        "first sync (links the seeded accounts): {:.1} s, {} operations, converged: {}",
        first.wall.as_secs_f64(),
        first.ops,
        if first.report.converged() {
            "yes"
        } else {
            "NO"
        }
    );
    // A run that did not converge says why (a target whose reads failed, say).
    if !first.report.converged() {
        print!("{}", report::render_run(&first.report));
    }
    let first_writes: usize = first.requests.iter().map(|r| r.writes).sum();
    println!("  write requests: {first_writes} (linking an account sends nothing)");

    rss::reset_peak();
    let second = measured_sync(&world).await?;
    println!(
        "no-op sync: wall {:.2} s (read {:.2} s, plan {:.3} s, apply {:.3} s); {} operations; converged: {}",
        second.wall.as_secs_f64(),
        second.read.as_secs_f64(),
        second.plan.as_secs_f64(),
        second.apply.as_secs_f64(),
        second.ops,
        if second.report.converged() {
            "yes"
        } else {
            "NO"
        }
    );
    if !second.report.converged() {
        print!("{}", report::render_run(&second.report));
    }
    if let Some(peak) = rss::peak_mib() {
        println!("  peak memory of this process (the emulators included): {peak:.0} MiB");
    }
    println!(
        "  {:<4} {:>8} {:>8} {:>11} {:>11}",
        "tgt", "writes", "reads", "read stage", "after it"
    );
    for (i, t) in world.targets.iter().enumerate() {
        let (all, listing) = (&second.requests[i], &second.listing[i]);
        println!(
            "  {:<4} {:>8} {:>8} {:>11} {:>11}",
            t.name,
            all.writes,
            all.reads,
            listing.reads,
            all.reads.saturating_sub(listing.reads)
        );
    }
    println!(
        "  requests by kind (login and token requests excluded; listing pages and any \
         per-account reads of the read stage):"
    );
    print_breakdown(&world, &second.requests);
    Ok(())
}
