//! `idbridge check`: validate the configuration as a plan would, and connect to every
//! system, without writing anything.

use std::path::PathBuf;
use std::process::ExitCode;

use idbridge_core::{AdapterHandle, Config, Result};
use idbridge_store::Store;
use idbridge_sync::{Engine, Target, TargetSettings};

use crate::output::outln;

/// Arguments of `idbridge check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Print one JSON document instead of text: `ok`, `systems` (each with `name`,
    /// `adapter`, `ok`, `error`, `supports` and `facts`, the name and value pairs its
    /// adapter discovered), `problems` and `mappings`.
    #[arg(long)]
    json: bool,
}

/// Prints a text line unless the output is JSON.
macro_rules! say {
    ($json:expr, $($arg:tt)*) => {
        if !$json {
            outln!($($arg)*);
        }
    };
}

/// One system's outcome, for `--json`.
#[derive(Clone, serde::Serialize)]
struct SystemReport {
    name: String,
    adapter: String,
    ok: bool,
    error: Option<String>,
    supports: Vec<&'static str>,
    facts: Vec<Fact>,
}

/// A name and value an adapter discovered about its platform.
#[derive(Clone, serde::Serialize)]
struct Fact {
    name: String,
    value: String,
}

/// What connecting every system gave.
#[derive(Clone)]
struct Connected {
    /// Per system, in configuration order: the handle, or `None` when it failed.
    handles: Vec<Option<AdapterHandle>>,
    failed: usize,
    reports: Vec<SystemReport>,
}

impl super::connected::Connections for Connected {
    async fn log_out(&self) {
        for handle in self.handles.iter().flatten() {
            handle.log_out().await;
        }
    }
}

/// Connects and checks every system, printing each one's outcome (unless `json`) and
/// what its adapter discovered about it.
async fn connect_all(config: &Config, json: bool) -> Connected {
    let mut handles = Vec::new();
    let mut failed = 0;
    let mut reports = Vec::new();
    for section in config.systems() {
        let label = format!("{} ({})", section.name, section.adapter);
        let mut report = SystemReport {
            name: section.name.to_string(),
            adapter: section.adapter.to_string(),
            ok: false,
            error: None,
            supports: Vec::new(),
            facts: Vec::new(),
        };
        // Built read-only: a check creates nothing (a file target's `create = true`
        // included).
        let handle = match super::connect_with(config, section, true).await {
            Ok(h) => h,
            Err(e) => {
                failed += 1;
                say!(json, "{label}: FAILED to build: {e}");
                report.error = Some(format!("failed to build: {e}"));
                reports.push(report);
                handles.push(None);
                continue;
            }
        };
        match handle.check().await {
            Ok(()) => {
                say!(json, "{label}: ok");
                report.ok = true;
                report.supports = handle
                    .capabilities()
                    .supported()
                    .iter()
                    .map(|o| o.as_str())
                    .collect();
                say!(json, "  supports: {}", report.supports.join(", "));
                let facts = handle.facts();
                if !facts.is_empty() {
                    say!(json, "  discovered:");
                }
                for (name, value) in facts {
                    say!(json, "    {name}: {value}");
                    report.facts.push(Fact { name, value });
                }
            }
            Err(e) => {
                failed += 1;
                say!(json, "{label}: FAILED: {e}");
                report.error = Some(e.to_string());
            }
        }
        reports.push(report);
        handles.push(Some(handle));
    }
    Connected {
        handles,
        failed,
        reports,
    }
}

/// Checks the engine's keys of every target, the state file's place, every system's
/// connection, and then (when all of that passed) reads every system and plans against an
/// empty, in-memory state, which checks the role and group mappings against what the
/// source and the targets hold. Nothing is written: no state file is created and no
/// target is changed. Exit code 1 when anything fails.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let json = args.json;
    let mut problems = 0;
    let mut problem_list: Vec<String> = Vec::new();

    let mut settings = Vec::new();
    for (name, section) in &config.targets {
        let mut section = section.clone();
        match TargetSettings::take_from(&config, &mut section) {
            Ok(s) => settings.push(s),
            Err(e) => {
                problems += 1;
                say!(json, "targets.{name}: FAILED: {e}");
                problem_list.push(format!("targets.{name}: {e}"));
            }
        }
    }
    if idbridge_core::config::is_postgres_state(&config.state) {
        if let Err(problem) = check_postgres(&config, json).await {
            problems += 1;
            problem_list.push(problem);
        }
    } else {
        match idbridge_sync::check_state_path(&config.state) {
            Ok(()) => say!(json, "state {}: ok", config.state.display()),
            Err(e) => {
                problems += 1;
                say!(json, "state: FAILED: {e}");
                problem_list.push(format!("state: {e}"));
            }
        }
    }

    let (reports, failed, plan_checked) = super::connected::run_connected(
        async { Ok(connect_all(&config, json).await) },
        |connected| async move {
            let failed = connected.failed;
            let reports = connected.reports;
            if failed > 0 || problems > 0 {
                return Ok((reports, failed, None));
            }
            let handles = connected.handles.into_iter().flatten().collect();
            Ok((reports, failed, Some(plan_check(handles, settings).await)))
        },
    )
    .await?;
    let systems = reports.len();
    let mappings = match plan_checked {
        Some(Ok(())) => {
            say!(json, "mappings: ok (a plan can be made)");
            "ok".to_string()
        }
        Some(Err(e)) => {
            problems += 1;
            say!(json, "mappings: FAILED: {e}");
            format!("failed: {e}")
        }
        None => {
            say!(json, "mappings: not checked (fix the problems above first)");
            "not checked".to_string()
        }
    };

    if json {
        crate::output::json(&serde_json::json!({
            "ok": failed == 0 && problems == 0,
            "config": args.config.display().to_string(),
            "systems": reports,
            "problems": problem_list,
            "mappings": mappings,
        }));
    }
    if failed > 0 || problems > 0 {
        say!(
            json,
            "{failed} of {systems} system(s) failed; {problems} other problem(s) in {}",
            args.config.display()
        );
        Ok(ExitCode::FAILURE)
    } else {
        say!(
            json,
            "configuration {} is valid and all {systems} system(s) answered",
            args.config.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// Connects to a PostgreSQL state and prints what it holds for the tenant, changing
/// nothing (no migration, no tenant registered); returns the problem found, if any.
async fn check_postgres(config: &Config, json: bool) -> std::result::Result<(), String> {
    let state = config.state.clone();
    let shown = state.display().to_string();
    let probe = tokio::task::spawn_blocking(move || idbridge_store::probe_postgres(&state, None))
        .await
        .unwrap_or_else(|e| {
            Err(idbridge_core::Error::unavailable(format!(
                "the check stopped: {e}"
            )))
        });
    let p = match probe {
        Ok(p) => p,
        Err(e) => {
            say!(json, "state: FAILED: {e}");
            return Err(format!("state: {e}"));
        }
    };
    let tls = if p.encrypted { "TLS" } else { "not encrypted" };
    say!(
        json,
        "state {shown}: ok (PostgreSQL {}, {tls})",
        p.server_version
    );
    match p.schema_version {
        None => say!(json, "  schema: none yet (the first run creates it)"),
        Some(v) if v > idbridge_store::POSTGRES_SCHEMA_VERSION => {
            let problem = format!(
                "schema version {v} is newer than the {} this idbridge knows; use the \
                 idbridge version that wrote it (or newer)",
                idbridge_store::POSTGRES_SCHEMA_VERSION
            );
            say!(json, "  schema: FAILED: {problem}");
            return Err(format!("state: {problem}"));
        }
        Some(v) if v < idbridge_store::POSTGRES_SCHEMA_VERSION => say!(
            json,
            "  schema: version {v} (the next run migrates it to {})",
            idbridge_store::POSTGRES_SCHEMA_VERSION
        ),
        Some(v) => say!(json, "  schema: version {v}"),
    }
    if !p.tenant_known {
        say!(
            json,
            "  tenant {}: not registered yet (the first run registers it)",
            config.tenant
        );
    } else {
        say!(json, "  tenant {}: registered", config.tenant);
    }
    match (&p.holder, p.held_unnamed) {
        (Some(holder), _) => say!(json, "  run lock: held by {holder}"),
        (None, true) => say!(json, "  run lock: held by a run that is starting up"),
        (None, false) => say!(json, "  run lock: free"),
    }
    Ok(())
}

/// Reads every system and plans as `idbridge plan` does, against an empty in-memory state
/// (the configured state file is neither created nor changed). The handles are the
/// source's first, then the targets' in configuration order, as [`Config::systems`] gives
/// them.
async fn plan_check(handles: Vec<AdapterHandle>, settings: Vec<TargetSettings>) -> Result<()> {
    let mut handles = handles.into_iter();
    let Some(source) = handles.next() else {
        return Ok(());
    };
    let targets = handles
        .zip(settings)
        .map(|(handle, settings)| Target { handle, settings })
        .collect();
    let engine = Engine::new(source, targets, Store::open_in_memory()?);
    engine.plan().await.map(|_| ())
}
