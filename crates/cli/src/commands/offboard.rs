//! `idbridge offboard LOGIN`: disable one person's account in every target and revoke its
//! sessions wherever the target can, after showing what will happen.

use crate::output::{err, errln, out};
use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::Result;
use idbridge_sync::{ApplyOptions, Engine, report};

use super::apply::{confirm, finish, stop_on_signals, with_spinner};

/// Arguments of `idbridge offboard`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person's login or email (case-insensitive).
    login: String,
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Do it without asking.
    #[arg(long)]
    yes: bool,
    /// Print the run report as JSON.
    #[arg(long)]
    json: bool,
}

/// Shows the offboarding plan, confirms, applies. Exit 0 when every target converged, 3
/// when some did and others failed or could not be reached, 1 when none did.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = args.config.clone();
    super::connected::with_engine(&config, None, |engine| offboard(engine, args)).await
}

async fn offboard(engine: Engine, args: Args) -> Result<ExitCode> {
    let lock = engine.lock("offboard")?;
    let plan = with_spinner(
        "looking for the account in every target",
        engine.offboard_plan(&args.login),
    )
    .await?;
    let shown = report::render_plan(&plan, &[]);
    if args.json {
        err!("{shown}");
    } else {
        out!("{shown}");
    }
    if plan.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes && !confirm(&format!("Offboard {}?", args.login))? {
        errln!("nothing changed");
        return Ok(ExitCode::SUCCESS);
    }
    let options = ApplyOptions {
        skip_guard: true,
        stop: stop_on_signals(),
        ..Default::default()
    };
    let report = engine.apply(&plan, &lock, &options).await?;
    drop(lock);
    Ok(finish(&report, args.json))
}
