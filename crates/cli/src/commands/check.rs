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
}

/// What connecting every system gave.
#[derive(Clone)]
struct Connected {
    /// Per system, in configuration order: the handle, or `None` when it failed.
    handles: Vec<Option<AdapterHandle>>,
    failed: usize,
}

impl super::connected::Connections for Connected {
    async fn log_out(&self) {
        for handle in self.handles.iter().flatten() {
            handle.log_out().await;
        }
    }
}

/// Connects and checks every system, printing each one's outcome.
async fn connect_all(config: &Config) -> Connected {
    let mut handles = Vec::new();
    let mut failed = 0;
    for section in config.systems() {
        let label = format!("{} ({})", section.name, section.adapter);
        // Built read-only: a check creates nothing (a file target's `create = true`
        // included).
        let handle = match super::connect_with(config, section, true).await {
            Ok(h) => h,
            Err(e) => {
                failed += 1;
                outln!("{label}: FAILED to build: {e}");
                handles.push(None);
                continue;
            }
        };
        match handle.check().await {
            Ok(()) => {
                outln!("{label}: ok");
                let ops: Vec<&str> = handle
                    .capabilities()
                    .supported()
                    .iter()
                    .map(|o| o.as_str())
                    .collect();
                outln!("  supports: {}", ops.join(", "));
            }
            Err(e) => {
                failed += 1;
                outln!("{label}: FAILED: {e}");
            }
        }
        handles.push(Some(handle));
    }
    Connected { handles, failed }
}

/// Checks the engine's keys of every target, the state file's place, every system's
/// connection, and then (when all of that passed) reads every system and plans against an
/// empty, in-memory state, which checks the role and group mappings against what the
/// source and the targets hold. Nothing is written: no state file is created and no
/// target is changed. Exit code 1 when anything fails.
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let mut problems = 0;

    let mut settings = Vec::new();
    for (name, section) in &config.targets {
        let mut section = section.clone();
        match TargetSettings::take_from(&config, &mut section) {
            Ok(s) => settings.push(s),
            Err(e) => {
                problems += 1;
                outln!("targets.{name}: FAILED: {e}");
            }
        }
    }
    if idbridge_core::config::is_postgres_state(&config.state) {
        problems += check_postgres(&config).await;
    } else {
        match idbridge_sync::check_state_path(&config.state) {
            Ok(()) => outln!("state {}: ok", config.state.display()),
            Err(e) => {
                problems += 1;
                outln!("state: FAILED: {e}");
            }
        }
    }

    let (systems, failed, plan_checked) = super::connected::run_connected(
        async { Ok(connect_all(&config).await) },
        |connected| async move {
            let systems = connected.handles.len();
            let failed = connected.failed;
            if failed > 0 || problems > 0 {
                return Ok((systems, failed, None));
            }
            let handles = connected.handles.into_iter().flatten().collect();
            Ok((systems, failed, Some(plan_check(handles, settings).await)))
        },
    )
    .await?;
    match plan_checked {
        Some(Ok(())) => outln!("mappings: ok (a plan can be made)"),
        Some(Err(e)) => {
            problems += 1;
            outln!("mappings: FAILED: {e}");
        }
        None => outln!("mappings: not checked (fix the problems above first)"),
    }

    if failed > 0 || problems > 0 {
        outln!(
            "{failed} of {systems} system(s) failed; {problems} other problem(s) in {}",
            args.config.display()
        );
        Ok(ExitCode::FAILURE)
    } else {
        outln!(
            "configuration {} is valid and all {systems} system(s) answered",
            args.config.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// Connects to a PostgreSQL state and prints what it holds for the tenant, changing
/// nothing (no migration, no tenant registered); returns the number of problems (0 or 1).
async fn check_postgres(config: &Config) -> usize {
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
            outln!("state: FAILED: {e}");
            return 1;
        }
    };
    let tls = if p.encrypted { "TLS" } else { "not encrypted" };
    outln!("state {shown}: ok (PostgreSQL {}, {tls})", p.server_version);
    match p.schema_version {
        None => outln!("  schema: none yet (the first run creates it)"),
        Some(v) if v > idbridge_store::POSTGRES_SCHEMA_VERSION => {
            outln!(
                "  schema: FAILED: version {v}, newer than the {} this idbridge knows; use the \
                 idbridge version that wrote it (or newer)",
                idbridge_store::POSTGRES_SCHEMA_VERSION
            );
            return 1;
        }
        Some(v) if v < idbridge_store::POSTGRES_SCHEMA_VERSION => outln!(
            "  schema: version {v} (the next run migrates it to {})",
            idbridge_store::POSTGRES_SCHEMA_VERSION
        ),
        Some(v) => outln!("  schema: version {v}"),
    }
    if !p.tenant_known {
        outln!(
            "  tenant {}: not registered yet (the first run registers it)",
            config.tenant
        );
    } else {
        outln!("  tenant {}: registered", config.tenant);
    }
    match (&p.holder, p.held_unnamed) {
        (Some(holder), _) => outln!("  run lock: held by {holder}"),
        (None, true) => outln!("  run lock: held by a run that is starting up"),
        (None, false) => outln!("  run lock: free"),
    }
    0
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
