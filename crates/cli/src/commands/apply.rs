//! `idbridge apply`: apply a saved plan exactly (after checking it is not stale), or plan,
//! show, confirm and apply. Also the helpers the other sync commands share: connecting the
//! engine, confirmation, progress bars, and stopping cleanly on SIGINT/SIGTERM.

use crate::output::{err, errln, out};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use idbridge_core::{Error, Result};
use idbridge_sync::{ApplyOptions, Engine, EventFn, Plan, RunEvent, RunReport, Stop, report};

/// Arguments of `idbridge apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// A plan saved with `idbridge plan --out`; applied exactly, or refused if it was
    /// altered, made with another configuration or state file, applied already, not
    /// approved (with `require_approval`), or a target or the source changed underneath.
    /// Without it, a fresh plan is made, shown and confirmed.
    plan: Option<PathBuf>,
    /// Apply without asking.
    #[arg(long)]
    yes: bool,
    /// Let up to N disables and deletes through the deletion guard, this once.
    #[arg(long, value_name = "N")]
    allow_deletions: Option<usize>,
    #[command(flatten)]
    guard: super::guard_flags::GuardFlags,
    /// Print the run report as JSON.
    #[arg(long)]
    json: bool,
    /// With a saved plan: drop (and list) the operations whose source record vanished or
    /// changed since the plan was made, and apply the rest, instead of refusing the plan.
    #[arg(long, requires = "plan")]
    drop_stale: bool,
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
    err!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::unavailable(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// A stop request set by the first SIGINT or SIGTERM: operations in flight finish and are
/// journaled, nothing new starts. A second signal quits at once (see [`super::connected`]).
pub(crate) fn stop_on_signals() -> Stop {
    super::connected::graceful_stop()
}

/// Progress bars per target when stderr is a terminal; log events otherwise. Both are
/// fed by the engine's typed events ([`RunEvent`]), the ones an embedding program sees.
pub(crate) fn progress(plan: &Plan) -> Option<EventFn> {
    if plan.is_empty() {
        return None;
    }
    if !std::io::stderr().is_terminal() {
        let f: EventFn = Arc::new(|e: &RunEvent| {
            if let RunEvent::OperationFinished {
                target,
                done,
                total,
                ..
            } = e
            {
                if done == total || done % 100 == 0 {
                    tracing::info!(target = %target, done, total, "apply progress");
                }
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
    let bar_of = move |target: &str| {
        bars.iter()
            .find(|(n, _)| n == target)
            .map(|(_, bar)| bar.clone())
    };
    let f: EventFn = Arc::new(move |e: &RunEvent| match e {
        RunEvent::OperationFinished { target, done, .. } => {
            if let Some(bar) = bar_of(target) {
                bar.set_position(*done as u64);
            }
        }
        // A target refused, unavailable or stopped ends short of its count: its bar
        // stops where the target did instead of waiting for operations that never come.
        RunEvent::TargetFinished { report } => {
            if let Some(bar) = bar_of(&report.target) {
                if report.converged() {
                    bar.finish();
                } else {
                    bar.abandon();
                }
            }
        }
        _ => {}
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

/// Prints a run report (text or JSON) and returns the exit code (see
/// [`crate::exit::of_run`]): 0 when every target converged or the run was stopped on
/// request, 3 when some targets converged and others did not, 1 when none did.
pub(crate) fn finish(report: &RunReport, json: bool) -> ExitCode {
    if json {
        crate::output::json(report);
    } else {
        out!("{}", report::render_run(report));
    }
    crate::exit::of_run(report)
}

/// Refuses, before anything is connected to, a command that would apply a plan no one
/// approved when the configuration sets `require_approval`: `sync`, and `apply` without a
/// saved plan. `Some(exit code)` when refused (the message is printed), `None` otherwise.
///
/// # Errors
/// The configuration cannot be loaded.
pub(crate) fn refuse_unapproved(config: &Path, command: &str) -> Result<Option<ExitCode>> {
    if !super::load_config(config)?.require_approval {
        return Ok(None);
    }
    let config = config.display();
    errln!(
        "refusing to {command}: the configuration sets `require_approval`, so every change \
         needs a plan another user approved. Save one with `idbridge plan -c {config} --out \
         PLAN`, have another user run `idbridge approve -c {config} PLAN`, then run \
         `idbridge apply -c {config} PLAN`; nothing was changed"
    );
    Ok(Some(ExitCode::FAILURE))
}

/// Applies a saved plan, or plans, confirms and applies.
pub async fn run(args: Args) -> Result<ExitCode> {
    if args.plan.is_none()
        && let Some(refused) = refuse_unapproved(&args.config, "apply without a saved plan")?
    {
        return Ok(refused);
    }
    // A plan file that cannot be read is refused before anything is connected to (a file
    // target with `create = true` would otherwise be created first).
    let loading = std::time::Instant::now();
    let saved = args
        .plan
        .as_deref()
        .map(super::plan::read_saved)
        .transpose()?;
    crate::timing::done("plan_read", loading);
    let config = args.config.clone();
    super::connected::with_engine(&config, None, |engine| apply(engine, args, saved)).await
}

async fn apply(engine: Engine, args: Args, saved: Option<idbridge_sync::Plan>) -> Result<ExitCode> {
    let lock = engine.lock("apply")?;
    // Targets of a saved plan that cannot be reached or read now: skipped, the rest is
    // applied.
    let mut down = Vec::new();
    let mut saved_digest = None;
    let plan = match (&args.plan, saved) {
        (Some(path), Some(mut plan)) => {
            let checking = std::time::Instant::now();
            let check = with_spinner(
                "checking the plan against the targets",
                engine.check_saved(&plan),
            )
            .await?;
            crate::timing::done("check", checking);
            // The journal records the plan as written, whatever is dropped from it below.
            saved_digest = Some(check.digest.clone());
            if let Some(why) = &check.integrity {
                errln!(
                    "refusing to apply `{}`: {why}; nothing was changed. Make a new plan with \
                    `idbridge plan --out` and review it",
                    path.display()
                );
                return Ok(ExitCode::FAILURE);
            }
            if let Some(why) = &check.approval {
                errln!(
                    "refusing to apply `{}`: {why}; nothing was changed",
                    path.display()
                );
                return Ok(ExitCode::FAILURE);
            }
            if let Some(run) = &check.applied {
                errln!(
                    "`{}` was already applied in run {} (started {}, {}); nothing was changed. \
                    See `idbridge journal --run {}`, or make a new plan",
                    path.display(),
                    run.id,
                    run.started.format("%Y-%m-%d %H:%M:%S UTC"),
                    run.outcome.as_str(),
                    run.id
                );
                return Ok(ExitCode::FAILURE);
            }
            let reasons = check.stale.clone();
            down = check.unavailable.clone();
            if !reasons.is_empty() {
                errln!(
                    "refusing to apply `{}`: the targets changed since it was made, so it cannot be applied exactly:",
                    path.display()
                );
                for r in &reasons {
                    // A reason quotes target values; each stays on its line.
                    errln!("  {}", idbridge_core::text::Escaped(r));
                }
                errln!("make a new plan with `idbridge plan` (nothing was changed)");
                return Ok(ExitCode::FAILURE);
            }
            let source_stale: Vec<String> = check
                .source_stale
                .iter()
                .flat_map(|(t, ops)| ops.iter().map(move |(_, r)| format!("target `{t}`: {r}")))
                .collect();
            if !source_stale.is_empty() {
                if args.drop_stale {
                    errln!(
                        "dropped from `{}`, because the source changed since it was made:",
                        path.display()
                    );
                    for r in check.drop_source_stale(&mut plan) {
                        errln!("  {}", idbridge_core::text::Escaped(&r));
                    }
                } else {
                    errln!(
                        "refusing to apply `{}`: the source changed since it was made, so these \
                        operations are no longer called for:",
                        path.display()
                    );
                    for r in &source_stale {
                        errln!("  {}", idbridge_core::text::Escaped(r));
                    }
                    errln!(
                        "make a new plan with `idbridge plan`, or pass --drop-stale to apply \
                        the rest (nothing was changed)"
                    );
                    return Ok(ExitCode::FAILURE);
                }
            }
            // The guards count from what was read now, never from numbers in the file.
            check.recount(&mut plan);
            plan
        }
        _ => match with_spinner("reading the source and the targets", engine.plan()).await {
            Ok(plan) => plan,
            Err(e) => {
                // The journal shows the failed run too, not only the runs that applied.
                if let Err(journal) = engine.record_failed_run(&lock, &e) {
                    tracing::warn!(error = %journal, "cannot record the failed run");
                }
                return Err(e);
            }
        },
    };
    // The plan is made or checked: from here on only the targets are read and written.
    engine.close_source().await;
    let violations = engine.guard_with(&plan, &args.guard.allowances(args.allow_deletions));
    if !args.json || !args.yes {
        // Written as it is rendered: the text of a large plan is never held whole.
        let mut text = if args.json {
            crate::output::TextOut::stderr()
        } else {
            crate::output::TextOut::stdout()
        };
        // A closed stream stops the rendering, not the apply.
        let _ = report::write_plan(&mut text, &plan, &violations, None);
        text.finish();
    }
    for u in &down {
        errln!(
            "target `{}` is skipped, it cannot be reached or read now: {}",
            u.name,
            u.reason
        );
    }
    let skipped = plan.unavailable().count() + down.len();
    if plan.is_empty() && skipped == 0 {
        // Nothing to do is not converged while an account that should have no access
        // can still sign in (a target that cannot disable it).
        return Ok(if plan.can_sign_in() > 0 {
            crate::exit::FAILED
        } else {
            ExitCode::SUCCESS
        });
    }
    // With nothing to change but a target skipped, the run is still recorded (with that
    // target's reason) and the exit code says the sync is not complete.
    if !plan.is_empty() && !args.yes && !confirm(&format!("Apply {} change(s)?", plan.op_count()))?
    {
        errln!("nothing applied");
        return Ok(ExitCode::SUCCESS);
    }
    let options = ApplyOptions {
        allow_deletions: args.allow_deletions,
        allow_removals: args.guard.allow_removals,
        allow_adoptions: args.guard.allow_adoptions,
        stop: stop_on_signals(),
        events: progress(&plan),
        unavailable: down,
        plan_digest: saved_digest,
        ..Default::default()
    };
    let applying = std::time::Instant::now();
    let report = engine
        .apply_shared(std::sync::Arc::new(plan), &lock, &options)
        .await?;
    crate::timing::done("apply", applying);
    drop(lock);
    let printing = std::time::Instant::now();
    let code = finish(&report, args.json);
    crate::timing::done("output", printing);
    Ok(code)
}
