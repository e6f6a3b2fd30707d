//! `idbridge apply`: apply a saved plan exactly (after checking it is not stale), or plan,
//! show, confirm and apply. Also the helpers the other sync commands share: connecting the
//! engine, confirmation, progress bars, and stopping cleanly on SIGINT/SIGTERM.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use idbridge_core::{Error, Result};
use idbridge_sync::{
    ApplyOptions, Engine, Plan, ProgressEvent, ProgressFn, RunReport, Stop, report,
};

/// Arguments of `idbridge apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// A plan saved with `idbridge plan --out`; applied exactly, or refused if a target
    /// changed underneath. Without it, a fresh plan is made, shown and confirmed.
    plan: Option<PathBuf>,
    /// Apply without asking.
    #[arg(long)]
    yes: bool,
    /// Let up to N disables and deletes through the deletion guard, this once.
    #[arg(long, value_name = "N")]
    allow_deletions: Option<usize>,
    /// Print the run report as JSON.
    #[arg(long)]
    json: bool,
}

/// Loads the configuration and connects the engine (only `target`, if given).
pub(crate) async fn connect_engine(config: &Path, target: Option<&str>) -> Result<Engine> {
    let _ = crate::shipped::adapters();
    let config = super::load_config(config)?;
    Engine::connect(&config, target).await
}

/// Asks a yes/no question on the terminal; without a terminal, refuses (use `--yes`).
pub(crate) fn confirm(question: &str) -> Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::invalid_input(
            "not asking for confirmation without a terminal; pass --yes to apply",
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::unavailable(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// A stop request set by the first SIGINT or SIGTERM: operations in flight finish and are
/// journaled, nothing new starts. A second SIGINT exits at once.
pub(crate) fn stop_on_signals() -> Stop {
    let stop = Stop::new();
    let s = stop.clone();
    tokio::spawn(async move {
        super::shutdown_signal().await;
        eprintln!(
            "stopping: finishing the operations in flight (press Ctrl-C again to quit at once)"
        );
        s.stop();
        super::shutdown_signal().await;
        eprintln!("quitting at once; the next run converges");
        std::process::exit(130);
    });
    stop
}

/// Progress bars per target when stderr is a terminal; log events otherwise.
pub(crate) fn progress(plan: &Plan) -> Option<ProgressFn> {
    if plan.is_empty() {
        return None;
    }
    if !std::io::stderr().is_terminal() {
        let f: ProgressFn = Arc::new(|e: &ProgressEvent| {
            if e.done == e.total || e.done % 100 == 0 {
                tracing::info!(target = %e.target, done = e.done, total = e.total, "apply progress");
            }
        });
        return Some(f);
    }
    let multi = indicatif::MultiProgress::new();
    let style =
        indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
    let bars: Vec<(String, indicatif::ProgressBar)> = plan
        .targets
        .iter()
        .filter(|t| !t.ops.is_empty())
        .map(|t| {
            let bar = multi.add(indicatif::ProgressBar::new(t.ops.len() as u64));
            bar.set_style(style.clone());
            bar.set_prefix(t.target.clone());
            (t.target.clone(), bar)
        })
        .collect();
    let f: ProgressFn = Arc::new(move |e: &ProgressEvent| {
        if let Some((_, bar)) = bars.iter().find(|(n, _)| *n == e.target) {
            bar.set_position(e.done as u64);
            if e.done == e.total {
                bar.finish();
            }
        }
    });
    Some(f)
}

/// A spinner on stderr while `what` runs, when stderr is a terminal.
pub(crate) async fn with_spinner<T>(
    message: &str,
    what: impl std::future::Future<Output = T>,
) -> T {
    if !std::io::stderr().is_terminal() {
        return what.await;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let out = what.await;
    bar.finish_and_clear();
    out
}

/// Prints a run report (text or JSON) and returns the exit code: 0 when every target
/// converged, 1 otherwise.
pub(crate) fn finish(report: &RunReport, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
    } else {
        print!("{}", report::render_run(report));
    }
    if report.converged() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Applies a saved plan, or plans, confirms and applies.
pub async fn run(args: Args) -> Result<ExitCode> {
    let engine = connect_engine(&args.config, None).await?;
    let lock = engine.lock("apply")?;
    let plan = match &args.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::invalid_input(format!("cannot read plan `{}`: {e}", path.display()))
            })?;
            let plan = Plan::from_json(&text)
                .map_err(|e| Error::invalid_input(format!("plan `{}`: {e}", path.display())))?;
            let reasons = with_spinner(
                "checking the plan against the targets",
                engine.stale_reasons(&plan),
            )
            .await?;
            if !reasons.is_empty() {
                eprintln!(
                    "refusing to apply `{}`: the targets changed since it was made, so it cannot be applied exactly:",
                    path.display()
                );
                for r in &reasons {
                    eprintln!("  {r}");
                }
                eprintln!("make a new plan with `idbridge plan` (nothing was changed)");
                engine.close().await;
                return Ok(ExitCode::FAILURE);
            }
            plan
        }
        None => with_spinner("reading the source and the targets", engine.plan()).await?,
    };
    let violations = engine.guard(&plan, args.allow_deletions);
    if !args.json || !args.yes {
        let shown = report::render_plan(&plan, &violations);
        if args.json {
            eprint!("{shown}");
        } else {
            print!("{shown}");
        }
    }
    if plan.is_empty() {
        engine.close().await;
        // Nothing to do is not converged while an account that should have no access
        // can still sign in (a target that cannot disable it).
        return Ok(if plan.can_sign_in() > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    if !args.yes && !confirm(&format!("Apply {} change(s)?", plan.op_count()))? {
        eprintln!("nothing applied");
        engine.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let options = ApplyOptions {
        allow_deletions: args.allow_deletions,
        stop: stop_on_signals(),
        progress: progress(&plan),
        ..Default::default()
    };
    let report = engine.apply(&plan, &lock, &options).await?;
    drop(lock);
    engine.close().await;
    Ok(finish(&report, args.json))
}
