//! Embedding idbridge: plan and apply on demand, from a configuration built in code.
//!
//! A directory file is the source and another, empty at first, the target, both in a
//! temporary directory. The program reads both, plans, prints the plan, applies it while
//! observing the engine's typed events (each read, each plan, each operation's outcome,
//! each target's report, the run's end), reads the report, and plans again to show that
//! the target converged. `cargo test -p idbridge-examples` runs it; every step asserts.
//!
//! Run it alone: `cargo run -p idbridge-examples --example embed_plan_apply`.

use idbridge_core::config::{Config, ConfigOrigin};
use idbridge_store::RunOutcome;
use idbridge_sync::events::{self, OperationOutcome, RunEvent, SystemRole};
use idbridge_sync::report::{render_plan, render_run};
use idbridge_sync::{ApplyOptions, Engine};
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

    let mut engine = Engine::connect(&config, None).await?;
    // Observe every stage of every run as typed values, on a channel read below.
    let (observer, mut events) = events::channel();
    engine.set_events(Some(observer));

    // Read, then plan from what was read (`Engine::plan` does both at once).
    let snapshot = engine.read().await?;
    assert_eq!(snapshot.source.users.len(), 3);
    let plan = engine.plan_snapshot(&snapshot)?;
    let mut source_read = None;
    let mut planned = None;
    while let Ok(event) = events.try_recv() {
        match event {
            RunEvent::ReadFinished {
                role: SystemRole::Source,
                users,
                groups,
                ..
            } => source_read = Some((users, groups)),
            RunEvent::Planned { target, operations } => planned = Some((target, operations)),
            _ => {}
        }
    }
    assert_eq!(source_read, Some((3, 2)), "the source's read is reported");

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
    assert_eq!(planned, Some(("portal".to_string(), portal.ops.len())));

    // Apply under the run lock. Each operation's outcome arrives as an event.
    let lock = engine.lock("embedded apply")?;
    let report = engine.apply(&plan, &lock, &ApplyOptions::default()).await?;
    drop(lock);
    let mut finished = 0;
    let mut run_finished = None;
    while let Ok(event) = events.try_recv() {
        match event {
            RunEvent::OperationFinished {
                target,
                operation,
                resource,
                outcome,
                done,
                total,
                ..
            } => {
                println!(
                    "{target}: {done}/{total} {operation} {resource}: {}",
                    outcome.as_str()
                );
                assert!(matches!(outcome, OperationOutcome::Done), "{outcome:?}");
                finished += 1;
                assert_eq!(done, finished, "counted in the order they finished");
            }
            RunEvent::TargetFinished { report } => assert!(report.converged(), "{report:?}"),
            RunEvent::RunFinished { run, outcome } => run_finished = Some((run, outcome)),
            _ => {}
        }
    }

    // The report: the run's id in the state file, and per target what was done.
    println!("{}", render_run(&report));
    assert!(report.converged(), "{}", render_run(&report));
    let done = &report.targets[0];
    assert_eq!(done.ok, portal.ops.len());
    assert_eq!(done.done.get("create_user"), Some(&3));
    assert_eq!(finished, portal.ops.len(), "one event per operation");
    assert_eq!(run_finished, Some((report.run, RunOutcome::Succeeded)));

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
