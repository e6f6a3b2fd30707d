//! Initial provisioning into scim2-server (an independent SCIM 2.0 service provider, from
//! the project's Python environment) through the `scim` adapter: once with every write on
//! its own and once with `/Bulk` where the server advertises it. Prints the requests sent
//! against the fewest the plan needs, and the wall time against the bound `requests /
//! concurrency x round trip`, the round trip measured first with one create after
//! another.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use idbridge_core::http::RequestCounts;
use idbridge_core::{AdapterConfig, AdapterHandle, Error, NewUser, Result, registry};
use idbridge_store::Store;
use idbridge_sync::{ApplyOptions, Engine, Target, TargetSettings};
use idbridge_testkit::peer::{PythonPeer, ScimPeerOptions, start_scim_peer};
use serde_json::json;

use crate::data::{self, Shape};
use crate::emulated::{link_vendors, write_source};
use crate::provision::required_requests;

/// The bearer token the benchmark's server accepts (not a secret: a loopback test server).
const TOKEN: &str = "idbridge-bench-scim-peer";

/// A running scim2-server, stopped when dropped.
struct Peer(PythonPeer);

impl Peer {
    /// Starts scim2-server with `python` on a free loopback port, a tenant per base URL.
    fn start(python: &Path) -> Result<Peer> {
        let options = ScimPeerOptions {
            dynamic_tenants: true,
            ..ScimPeerOptions::new(TOKEN)
        };
        start_scim_peer(python, &options).map(Peer).map_err(|e| {
            Error::unavailable(format!("{} (set --python or IDBRIDGE_PYTHON)", e.message()))
        })
    }

    /// The `scim` adapter on tenant `tenant`, with `/Bulk` allowed or not.
    async fn adapter(&self, tenant: &str, bulk: bool) -> Result<AdapterHandle> {
        registry::build_adapter(
            "scim",
            AdapterConfig::new(
                "app",
                json!({
                    "base_url": format!("{}/{tenant}", self.0.base_url()),
                    "token": TOKEN,
                    "bulk": bulk,
                }),
            ),
        )
        .await
    }
}

/// The mean round trip of one user create, `probes` of them one after another.
async fn round_trip(peer: &Peer, probes: usize) -> Result<Duration> {
    let handle = peer.adapter("probe", false).await?;
    let start = Instant::now();
    for i in 0..probes.max(1) {
        handle
            .create_user(&NewUser {
                email: Some(format!("probe{i}@example.com")),
                display_name: Some(format!("Probe {i}")),
                ..NewUser::new(format!("probe{i}"))
            })
            .await?;
    }
    Ok(start.elapsed() / probes.max(1) as u32)
}

fn counts(handle: &AdapterHandle) -> RequestCounts {
    handle.request_counts().unwrap_or_default()
}

/// One provisioning run into a fresh tenant, printed.
async fn provision_once(
    peer: &Peer,
    shape: Shape,
    concurrency: usize,
    bulk: bool,
    rtt: Duration,
) -> Result<()> {
    let tenant = if bulk { "bulk" } else { "single" };
    let dir = tempfile::tempdir()
        .map_err(|e| Error::unavailable(format!("cannot create a temporary directory: {e}")))?;
    let source_path = dir.path().join("source.json");
    write_source(&source_path, &data::directory(shape))?;
    let source = registry::build_adapter(
        "file",
        AdapterConfig::new("source", json!({ "path": source_path })),
    )
    .await?;
    let target = peer.adapter(tenant, bulk).await?;
    let settings = TargetSettings::from_json(
        "app",
        json!({"concurrency": concurrency, "max_deletions": 1_000_000,
            "max_adoptions": 1_000_000, "max_membership_removals": 1_000_000}),
    )?;
    let engine = Engine::new(
        source,
        vec![Target {
            handle: target.clone(),
            settings,
        }],
        Store::open(&dir.path().join("state.db"))?,
    );
    let lock = engine.lock("sync")?;
    let start_counts = counts(&target);
    let t0 = Instant::now();
    let snapshot = engine.read().await?;
    let listing = counts(&target).since(&start_counts);
    let plan = engine.plan_snapshot(&snapshot)?;
    drop(snapshot);
    let t1 = Instant::now();
    let report = engine.apply(&plan, &lock, &ApplyOptions::default()).await?;
    let apply = t1.elapsed();
    let wall = t0.elapsed();
    let sent = counts(&target).since(&start_counts);
    let required = required_requests(&plan, "app", &target);
    let minimum = listing.total() as usize + required;
    let bound = rtt.mul_f64(sent.total() as f64 / concurrency.max(1) as f64);
    let caps = target.capabilities();
    println!(
        "\n{}: {} operations planned; converged: {}",
        if bulk {
            match caps.users_batch_max {
                Some(max) => format!("with /Bulk (user writes in batches of up to {max})"),
                None => "with /Bulk allowed, but the server does not advertise it".to_string(),
            }
        } else {
            "every write on its own (bulk = false)".to_string()
        },
        plan.op_count(),
        if report.converged() { "yes" } else { "NO" }
    );
    if !report.converged() {
        print!("{}", idbridge_sync::report::render_run(&report));
    }
    println!(
        "  requests: {} (reads {}, writes {}, retries {}); minimum {} (listing {} + required writes {}); extra {}",
        sent.total(),
        sent.reads,
        sent.writes,
        sent.retries,
        minimum,
        listing.total(),
        required,
        sent.total() as i64 - minimum as i64
    );
    println!(
        "  wall {:.2} s (apply {:.2} s); bound {:.2} s = {} requests / {concurrency} x {:.2} ms; wall / bound = {:.2}",
        wall.as_secs_f64(),
        apply.as_secs_f64(),
        bound.as_secs_f64(),
        sent.total(),
        rtt.as_secs_f64() * 1000.0,
        wall.as_secs_f64() / bound.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    // scim2-server's test server runs its requests under one interpreter lock: at most one
    // at a time makes progress, so requests x round trip is the floor it can reach.
    println!(
        "  one request at a time at the server: {:.2} s = {} requests x {:.2} ms; wall / that = {:.2}",
        rtt.mul_f64(sent.total() as f64).as_secs_f64(),
        sent.total(),
        rtt.as_secs_f64() * 1000.0,
        wall.as_secs_f64()
            / rtt
                .mul_f64(sent.total() as f64)
                .as_secs_f64()
                .max(f64::MIN_POSITIVE)
    );
    drop(lock);
    let again = engine.plan().await?;
    println!("  re-plan after it: {} operations", again.op_count());
    Ok(())
}

/// The benchmark: the round trip, then provisioning without and with `/Bulk`.
///
/// # Errors
/// When scim2-server cannot start, or a run cannot be made.
pub async fn run(
    shape: Shape,
    concurrency: usize,
    python: Option<PathBuf>,
    probes: usize,
) -> Result<()> {
    link_vendors();
    let python = python
        .or_else(|| std::env::var_os("IDBRIDGE_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"));
    println!(
        "initial provisioning into scim2-server: {} users, {} groups, {} memberships; concurrency {concurrency}",
        shape.users,
        shape.groups,
        shape.memberships()
    );
    let peer = Peer::start(&python)?;
    let rtt = round_trip(&peer, probes).await?;
    println!(
        "round trip: {:.2} ms (mean of {probes} user creates one after another)",
        rtt.as_secs_f64() * 1000.0
    );
    for bulk in [false, true] {
        provision_once(&peer, shape, concurrency, bulk, rtt).await?;
    }
    Ok(())
}
