//! `idbridge plan`: what a sync would change, as a readable diff or JSON; optionally saved
//! for `idbridge apply PLAN`.

use crate::output::{errln, out};
use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::{Error, Result};
use idbridge_sync::{Engine, report};
use serde_json::json;

use super::apply::with_spinner;

/// Arguments of `idbridge plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Plan only this target.
    #[arg(long)]
    target: Option<String>,
    /// Print the plan (and any guard refusals) as JSON.
    #[arg(long)]
    json: bool,
    /// Save the plan to this file, for `idbridge apply -c FILE PLAN`.
    #[arg(long, value_name = "PLAN")]
    out: Option<PathBuf>,
    /// Check the deletion guard as `apply --allow-deletions N` would.
    #[arg(long, value_name = "N")]
    allow_deletions: Option<usize>,
    /// Let up to N membership removals and N role revocations per target through the
    /// guard (`max_membership_removals`, `max_revocations` and their percentages), once.
    #[arg(long, value_name = "N")]
    allow_removals: Option<usize>,
    /// Let up to N adoptions of existing accounts per target through the guard
    /// (`max_adoptions`), once.
    #[arg(long, value_name = "N")]
    allow_adoptions: Option<usize>,
}

/// Plans. Exit code 0 when nothing would change, 2 when changes are planned, 3 when some
/// targets could not be reached or read (the others are planned and shown), 1 on error
/// or when no target could be read.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = args.config.clone();
    let target = args.target.clone();
    super::connected::with_engine(&config, target.as_deref(), |engine| plan(engine, args)).await
}

async fn plan(engine: Engine, args: Args) -> Result<ExitCode> {
    let plan = with_spinner("reading the source and the targets", engine.plan()).await?;
    let violations = engine.guard_with(
        &plan,
        &idbridge_sync::Allowances {
            deletions: args.allow_deletions,
            removals: args.allow_removals,
            adoptions: args.allow_adoptions,
        },
    );
    if args.json {
        let out = json!({ "plan": plan, "refused": violations });
        crate::output::json(&out);
    } else {
        out!("{}", report::render_plan(&plan, &violations));
    }
    if let Some(path) = &args.out {
        // Sealed, so that `apply` takes it only unaltered, with this configuration and
        // this state file.
        let mut plan = plan.clone();
        engine.seal(&mut plan)?;
        std::fs::write(path, plan.to_json()).map_err(|e| {
            Error::unavailable(format!(
                "cannot write the plan to `{}`: {e}",
                path.display()
            ))
        })?;
        errln!(
            "plan saved to {} (SHA-256 {}); apply it with: idbridge apply -c {} {}",
            path.display(),
            plan.digest(),
            args.config.display(),
            path.display()
        );
    }
    let down = plan.unavailable().count();
    Ok(if down > 0 && down == plan.targets.len() {
        crate::exit::FAILED
    } else if down > 0 {
        crate::exit::code(crate::exit::PARTLY_FAILED)
    } else if plan.is_empty() {
        ExitCode::SUCCESS
    } else {
        crate::exit::code(crate::exit::CHANGES_PENDING)
    })
}
