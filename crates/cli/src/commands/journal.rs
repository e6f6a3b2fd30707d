//! `idbridge journal`: what runs changed, from the state file.

use crate::output::{out, outln};
use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::{Error, Result};
use idbridge_store::{RunRecord, Store};
use serde_json::json;

use crate::output::table;

/// Arguments of `idbridge journal`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (its `state` names the state file).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Show every operation of this run (default: list the recent runs).
    #[arg(long)]
    run: Option<i64>,
    /// How many recent runs to list.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print JSON (with each record's state before and after).
    #[arg(long)]
    json: bool,
}

fn summary(r: &RunRecord) -> String {
    let Some(counts) = r.counts.as_ref().and_then(|c| c.as_object()) else {
        return String::new();
    };
    // An approval (`idbridge approve`) changes nothing; it names the plan's maker.
    if r.command == "approve" {
        let maker = counts
            .get("made_by")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("(unknown)");
        return format!("approved the plan made by {maker}");
    }
    counts
        .iter()
        .map(|(target, c)| {
            let n = |k: &str| c.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            let refused = c.get("refused").and_then(serde_json::Value::as_bool) == Some(true);
            if let Some(why) = c.get("error").and_then(serde_json::Value::as_str) {
                format!("{target}: failed ({why})")
            } else if let Some(why) = c.get("unavailable").and_then(serde_json::Value::as_str) {
                format!("{target}: unavailable ({why})")
            } else if refused {
                format!("{target}: refused")
            } else if n("failed") > 0 {
                format!(
                    "{target}: {}/{} ok, {} failed",
                    n("ok"),
                    n("planned"),
                    n("failed")
                )
            } else {
                format!("{target}: {}/{} ok", n("ok"), n("planned"))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The first 12 hex digits of the run's plan digest (enough to tell plans apart in a
/// list; `journal --run ID` shows it whole).
fn short_digest(r: &RunRecord) -> String {
    r.plan_digest
        .as_deref()
        .map(|d| d.chars().take(12).collect())
        .unwrap_or_else(|| "-".into())
}

fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Lists runs, or one run's operations.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    if !config.state.exists() && !idbridge_core::config::is_postgres_state(&config.state) {
        return Err(Error::not_found(format!(
            "no state file at `{}`: no run has been recorded yet",
            config.state.display()
        )));
    }
    let store = Store::open(&config.state)?;
    match args.run {
        None => {
            let runs = store.runs(args.limit)?;
            if args.json {
                crate::output::json(&runs);
                return Ok(ExitCode::SUCCESS);
            }
            if runs.is_empty() {
                outln!("no runs recorded in {}", config.state.display());
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = runs
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.command.clone(),
                        time(&r.started),
                        r.ended.as_ref().map(time).unwrap_or_else(|| "-".into()),
                        r.outcome.as_str().to_string(),
                        r.os_user.clone().unwrap_or_else(|| "-".into()),
                        short_digest(r),
                        summary(r),
                    ]
                })
                .collect();
            out!(
                "{}",
                table(
                    &[
                        "run",
                        "command",
                        "started (UTC)",
                        "ended",
                        "outcome",
                        "user",
                        "plan",
                        "targets"
                    ],
                    &rows
                )
            );
            outln!(
                "show what a run changed with: idbridge journal -c {} --run ID",
                args.config.display()
            );
        }
        Some(id) => {
            let Some(run) = store.run(id)? else {
                return Err(Error::not_found(format!(
                    "no run {id} in {}",
                    config.state.display()
                )));
            };
            let entries = store.journal(Some(id))?;
            if args.json {
                let out = json!({ "run": run, "operations": entries });
                crate::output::json(&out);
                return Ok(ExitCode::SUCCESS);
            }
            outln!(
                "run {} ({}), started {} by {}, {}: {} operation(s)",
                run.id,
                run.command,
                time(&run.started),
                run.os_user.as_deref().unwrap_or("an unrecorded user"),
                run.outcome.as_str(),
                entries.len()
            );
            if let Some(digest) = &run.plan_digest {
                outln!("plan applied: SHA-256 {digest}");
            }
            let targets = summary(&run);
            if !targets.is_empty() {
                outln!("targets: {targets}");
            }
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        time(&e.time),
                        e.target.clone(),
                        e.operation.clone(),
                        e.resource.clone(),
                        e.outcome.as_str().to_string(),
                        e.error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            out!(
                "{}",
                table(
                    &[
                        "time (UTC)",
                        "target",
                        "operation",
                        "resource",
                        "outcome",
                        "error"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
