//! # idbridge-sync
//!
//! The sync engine: **read** the source and every target (concurrently, paged) ->
//! **map** source records to each target's desired state -> **correlate** them with what
//! exists (stored links first, then correlation keys) -> **diff** into a [`Plan`] of ordered
//! operations with dependencies -> **guard** against mass deletions and empty sources ->
//! **apply** with bounded concurrency, journaling every result -> **report**.
//!
//! Planning ([`planner`]) is pure; reading ([`state`]) and applying ([`Engine::apply`]) do
//! the I/O. [`Engine`] ties the stages to a configuration and a state file.
//!
//! # Example
//!
//! Build an engine from a configuration built in code, read, plan, inspect the plan,
//! apply it with a callback per finished operation ([`events`]), and read the report
//! (`examples/embed/embed_plan_apply.rs` is the same program, run by `cargo test`; the
//! adapters named must be linked, see `idbridge-platforms`):
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use idbridge_core::{Config, ConfigOrigin};
//! use idbridge_sync::report::{render_plan, render_run};
//! use idbridge_sync::{ApplyOptions, Engine, OperationOutcome, RunEvent};
//!
//! # async fn run() -> idbridge_core::Result<()> {
//! let config = Config::from_value(
//!     serde_json::json!({
//!         "state": "state.db",
//!         "source": {"adapter": "file", "path": "people.yaml"},
//!         "targets": {"portal": {"adapter": "file", "path": "portal.yaml", "create": true}},
//!     }),
//!     ConfigOrigin::in_memory("/srv/idbridge"),
//! )?;
//! let engine = Engine::connect(&config, None).await?;
//!
//! let snapshot = engine.read().await?;
//! let plan = engine.plan_snapshot(&snapshot)?;
//! println!("{}", render_plan(&plan, &[]));
//! for (step, op) in plan.targets[0].ops.iter().enumerate() {
//!     println!("{step} {}", op.action.name());
//! }
//!
//! let options = ApplyOptions {
//!     events: Some(Arc::new(|e: &RunEvent| {
//!         if let RunEvent::OperationFinished { target, operation, outcome, done, total, .. } = e {
//!             println!("{target}: {done}/{total} {operation} {}", outcome.as_str());
//!             if let OperationOutcome::Failed { error } = outcome {
//!                 println!("  {:?} retryable={} vendor={:?}", error.kind(), error.is_retryable(), error.vendor_code());
//!             }
//!         }
//!     })),
//!     ..Default::default()
//! };
//! let lock = engine.lock("embedded apply")?;
//! let report = engine.apply(&plan, &lock, &options).await?;
//! println!("{}", render_run(&report));
//! assert!(report.converged());
//! engine.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! Failures of single operations are in the report ([`TargetReport::problems`]), not
//! errors of [`Engine::apply`]; errors are `idbridge_core::Error`, acted on through its
//! kind and methods.
//!
//! # Next
//!
//! The state the engine keeps is `idbridge-store`'s; the adapters it drives implement
//! `idbridge-core`'s traits. `docs/embedding.md` walks through embedding step by step.

pub mod apply;
pub mod approval;
mod engine;
pub mod events;
pub mod guard;
pub mod holds;
pub(crate) mod journal;
pub mod plan;
pub mod planner;
pub mod report;
pub mod seal;
pub mod settings;
pub mod state;
pub mod table;
mod task;
pub mod template;
pub mod util;
pub(crate) mod validate;

pub use apply::{OpOutcome, OpProblem, Stop, TargetReport};
pub use engine::{
    ApplyOptions, Engine, LiveCounts, RunReport, SavedPlanCheck, Snapshot, Target, TargetSnapshot,
    UnavailableTarget, check_state_path, open_store,
};
pub use events::{EventFn, OperationOutcome, RunEvent, SystemRole};
pub use guard::{Allowances, GuardViolation};
pub use plan::{Action, Op, Ops, Plan, TargetPlan};
pub use settings::{TARGET_KEYS, TargetSettings};
