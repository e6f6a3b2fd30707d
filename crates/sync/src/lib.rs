//! # idbridge-sync
//!
//! The sync engine: **read** the source and every target (concurrently, paged) ->
//! **map** source records to each target's desired state -> **correlate** them with what
//! exists (stored links first, then correlation keys) -> **diff** into a [`Plan`] of ordered
//! operations with dependencies -> **guard** against mass deletions and empty sources ->
//! **apply** with bounded concurrency, journaling every result -> **report**.
//!
//! Planning ([`planner`]) is pure; reading ([`state`]) and applying ([`apply`]) do the I/O.
//! [`Engine`] ties the stages to a configuration and a state file.

pub mod plan;
pub mod planner;
pub mod settings;
pub mod state;
pub mod template;
pub mod util;

pub use plan::{Action, Op, Plan, TargetPlan};
pub use settings::{TARGET_KEYS, TargetSettings};
