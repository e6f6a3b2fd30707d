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

pub mod apply;
pub mod approval;
mod engine;
pub mod guard;
pub mod holds;
pub mod journal;
pub mod plan;
pub mod planner;
pub mod report;
pub mod seal;
pub mod settings;
pub mod state;
pub mod table;
pub mod template;
pub mod util;
pub mod validate;

pub use apply::{OpOutcome, OpProblem, ProgressEvent, ProgressFn, Stop, TargetReport};
pub use engine::{
    ApplyOptions, Engine, LiveCounts, RunReport, SavedPlanCheck, Snapshot, Target, TargetSnapshot,
    UnavailableTarget, check_state_path, open_store,
};
pub use guard::{Allowances, GuardViolation};
pub use plan::{Action, Op, Plan, TargetPlan};
pub use settings::{TARGET_KEYS, TargetSettings};
