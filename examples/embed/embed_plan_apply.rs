//! Embedding idbridge: plan and apply on demand, from a configuration built in code.
//!
//! A directory file is the source and another, empty at first, the target, both in a
//! temporary directory. The program reads both, plans, prints the plan, applies it with a
//! callback per finished operation, reads the report, and plans again to show that the
//! target converged. `cargo test -p idbridge-examples` runs it; every step asserts.
//!
//! Run it alone: `cargo run -p idbridge-examples --example embed_plan_apply`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idbridge_core::config::{Config, ConfigOrigin};
use idbridge_sync::report::{render_plan, render_run};
use idbridge_sync::{ApplyOptions, Engine, ProgressEvent};
use serde_json::json;

/// The source: three people, two groups. The `complete` trailer says how many records of
/// each kind the file holds, so that a file cut off while being written is refused.
const SOURCE: &str = "\
users:
  - {id: u-1, login: ada.lovelace, email: ada.lovelace@example.com, display_name: Ada Lovelace, groups: [engineering]}
  - {id: u-2, login: grace.hopper, email: grace.hopper@example.com, display_name: Grace Hopper, groups: [engineering, analysts]}
  - {id: u-3, login: alan.turing, email: alan.turing@example.com, display_name: Alan Turing, groups: [analysts]}
groups:
  - {id: g-eng, name: engineering}
  - {id: g-ana, name: analysts}
complete: {users: 3, groups: 2, roles: 0, grants: 0}
";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Registrations are found through the linker: reference each adapter crate used.
    idbridge_file::__link();

    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("people.yaml"), SOURCE)?;

    // The configuration a file would hold, built in code. Relative paths resolve against
    // the origin's directory.
    let config = Config::from_value(
        json!({
            "state": "state.db",
            "source": {"adapter": "file", "path": "people.yaml"},
            "targets": {
                "portal": {"adapter": "file", "path": "portal.yaml", "create": true}
            }
        }),
        ConfigOrigin::in_memory(dir.path()),
    )?;

    let engine = Engine::connect(&config, None).await?;

    // Read, then plan from what was read (`Engine::plan` does both at once).
    let snapshot = engine.read().await?;
    assert_eq!(snapshot.source.users.len(), 3);
    let plan = engine.plan_snapshot(&snapshot)?;

    // Inspect the plan: the rendering `idbridge plan` prints, and the operations as values.
    println!("{}", render_plan(&plan, &[]));
    let portal = &plan.targets[0];
    assert_eq!(portal.target, "portal");
    let creates = portal
        .ops
        .iter()
        .filter(|op| op.action.name() == "create_user")
        .count();
    assert_eq!(creates, 3, "one account per person");

    // Apply under the run lock, counting finished operations as they come.
    let finished = Arc::new(AtomicUsize::new(0));
    let seen = finished.clone();
    let options = ApplyOptions {
        progress: Some(Arc::new(move |e: &ProgressEvent| {
            seen.fetch_add(1, Ordering::SeqCst);
            println!("{}: {}/{}", e.target, e.done, e.total);
        })),
        ..Default::default()
    };
    let lock = engine.lock("embedded apply")?;
    let report = engine.apply(&plan, &lock, &options).await?;
    drop(lock);

    // The report: the run's id in the state file, and per target what was done.
    println!("{}", render_run(&report));
    assert!(report.converged(), "{}", render_run(&report));
    let done = &report.targets[0];
    assert_eq!(done.ok, portal.ops.len());
    assert_eq!(done.done.get("create_user"), Some(&3));
    assert_eq!(finished.load(Ordering::SeqCst), portal.ops.len());

    // Planning again finds nothing to do: the target matches the source.
    let again = engine.plan().await?;
    assert!(again.is_empty(), "{}", render_plan(&again, &[]));
    engine.close().await;
    println!(
        "converged: run {} applied {} operations",
        report.run, done.ok
    );
    Ok(())
}
