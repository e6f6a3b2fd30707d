//! `idbridge approve`: record that the operating-system user running it approves a saved
//! plan, for configurations with `require_approval = true`.

use crate::output::outln;
use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::{Error, Result};
use idbridge_sync::{approval, open_store};

/// Arguments of `idbridge approve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// A plan saved with `idbridge plan --out`, made by another user.
    plan: PathBuf,
}

/// Approves a saved plan. Exit code 0 when the approval is recorded, 1 when the plan
/// cannot be approved (not sealed for this configuration and state file, made by this
/// same user, or applied already) or on error. Connects to no system.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let plan = super::plan::read_saved(&args.plan)?;
    let store = open_store(&config.state)?;
    let run = approval::approve(&config, &store, &plan)
        .map_err(|e| Error::new(e.kind(), format!("`{}`: {e}", args.plan.display())))?;
    outln!(
        "approved `{}` (SHA-256 {}, made by {}) as {}; recorded as run {run}",
        args.plan.display(),
        plan.digest(),
        plan.made_by.as_deref().unwrap_or("(unknown)"),
        idbridge_store::os_user()
    );
    Ok(ExitCode::SUCCESS)
}
