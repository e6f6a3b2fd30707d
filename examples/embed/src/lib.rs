//! # idbridge-examples
//!
//! Programs that embed idbridge as a library, each run by `cargo test` and asserting its
//! outcome (docs/embedding.md walks through them):
//!
//! - `embed_plan_apply`: a configuration built in code, a directory file as the source and
//!   another as the target; read, plan, print the plan, apply it with a callback per
//!   finished operation, read the report, plan again and find nothing to do.
//! - `embed_offboard`: offboard one person, with session revocation, against an
//!   in-process emulator started through the registry.
//!
//! Run one with `cargo run -p idbridge-examples --example embed_plan_apply`.
