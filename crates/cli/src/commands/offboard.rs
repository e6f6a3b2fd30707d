//! `idbridge offboard PERSON`: disable one person's account in every target, revoke its
//! sessions wherever the target can, and hold the person disabled through every later sync
//! (whatever the source says) until `idbridge offboard --lift PERSON`. `--list` shows the
//! holds in force.

use crate::output::{err, errln, out, outln};
use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::Result;
use idbridge_store::Hold;
use idbridge_sync::{ApplyOptions, Engine, holds, open_store, report};

use super::apply::{confirm, finish, stop_on_signals, with_spinner};

/// Arguments of `idbridge offboard`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person's login or email (case-insensitive).
    #[arg(required_unless_present_any = ["lift", "list"], conflicts_with_all = ["lift", "list"])]
    login: Option<String>,
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// End the hold on PERSON (login, email or source id): later syncs follow the source
    /// again. Journaled as a run of its own.
    #[arg(long, value_name = "PERSON", conflicts_with = "list")]
    lift: Option<String>,
    /// List the holds in force.
    #[arg(long)]
    list: bool,
    /// Why, recorded with the hold.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Do it without asking.
    #[arg(long)]
    yes: bool,
    /// Print the run report (or the holds) as JSON.
    #[arg(long)]
    json: bool,
}

fn hold_line(h: &Hold) -> String {
    format!(
        "{}  held since {} by {} ({}){}",
        h.person,
        h.created.format("%Y-%m-%d %H:%M UTC"),
        h.created_by,
        h.reason,
        h.source_id
            .as_deref()
            .map(|s| format!("  source id {s}"))
            .unwrap_or_default()
    )
}

/// Lists the holds in force, from the state file alone.
fn list(args: &Args) -> Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let store = open_store(&config.state)?;
    let all = store.holds()?;
    if args.json {
        crate::output::json(&all);
    } else if all.is_empty() {
        outln!("no holds in force");
    } else {
        for h in &all {
            outln!("{}", hold_line(h));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lifts the holds on `who` under the run lock, journaled.
fn lift(args: &Args, who: &str) -> Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let store = open_store(&config.state)?;
    let lock = store.lock("offboard --lift")?;
    let lifted = holds::lift(&store, &lock, who)?;
    drop(lock);
    for h in &lifted.holds {
        outln!("lifted: {}", hold_line(h));
    }
    outln!(
        "run {}: the next sync follows the source for `{who}` again (re-enabling the account where the source has it enabled)",
        lifted.run
    );
    Ok(ExitCode::SUCCESS)
}

/// Shows the offboarding plan, confirms, records the hold, applies. Exit 0 when every
/// target converged, 3 when some did and others failed or could not be reached, 1 when
/// none did.
pub async fn run(args: Args) -> Result<ExitCode> {
    if args.list {
        return list(&args);
    }
    if let Some(who) = &args.lift {
        return lift(&args, who);
    }
    let config = args.config.clone();
    super::connected::with_engine(&config, None, |engine| offboard(engine, args)).await
}

async fn offboard(engine: Engine, args: Args) -> Result<ExitCode> {
    let login = args.login.clone().unwrap_or_default();
    let lock = engine.lock("offboard")?;
    let plan = with_spinner(
        "looking for the account in every target",
        engine.offboard_plan(&login),
    )
    .await?;
    let shown = report::render_plan(&plan, &[]);
    if args.json {
        err!("{shown}");
    } else {
        out!("{shown}");
    }
    if !args.yes && !confirm(&format!("Offboard {login} and hold them disabled?"))? {
        errln!("nothing changed");
        return Ok(ExitCode::SUCCESS);
    }
    // The hold first: whatever the apply does, later syncs keep the person disabled.
    let reason = match &args.reason {
        Some(r) => format!("offboard: {r}"),
        None => "offboard".to_string(),
    };
    let new_hold = engine.offboard_hold(&login, &plan, &reason).await?;
    let hold = engine.store().add_hold(&new_hold)?;
    let options = ApplyOptions {
        skip_guard: true,
        stop: stop_on_signals(),
        ..Default::default()
    };
    let report = engine
        .apply_shared(std::sync::Arc::new(plan), &lock, &options)
        .await?;
    holds::journal_placed(engine.store(), report.run, &hold)?;
    drop(lock);
    if !args.json {
        outln!(
            "held: {} (until `idbridge offboard --lift {}`)",
            hold_line(&hold),
            hold.person
        );
    }
    Ok(finish(&report, args.json))
}
