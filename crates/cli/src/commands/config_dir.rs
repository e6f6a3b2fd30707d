//! `idbridge sync --config-dir DIR`: every tenant's configuration in a directory, a
//! bounded number at once, once or on an interval.
//!
//! Each configuration runs as its own `idbridge sync --config FILE` process (the same
//! program, with the other arguments given), so that one tenant's crash, memory or stuck
//! target cannot touch another's, and each holds its own run lock. On a shared
//! PostgreSQL state, workers on several machines can serve the same directory: the lock
//! lets exactly one of them run a tenant at a time, and the others report that tenant as
//! running elsewhere rather than failed. SIGINT/SIGTERM is passed on to the runs in
//! progress, which finish their operations in flight and stop.
//!
//! With `--listen`, this process serves the metrics of every tenant's runs, labelled by
//! tenant: each run writes what its metrics saw to a file this process names
//! (`--summary-to`), read once the run has ended.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use idbridge_core::{Error, Result};
use idbridge_sync::Stop;
use tokio::sync::Semaphore;

use crate::metrics::{Metrics, RunSummary};
use crate::output::{errln, out, outln};

/// Flags of `sync` that belong to the directory run and are not passed to each tenant's.
const OWN_FLAGS: &[&str] = &[
    "--config-dir",
    "--parallel",
    "--interval",
    "--listen",
    "--ready-max-age",
];

/// How one tenant's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Converged,
    Failed,
    /// Another worker holds the tenant's run lock.
    Elsewhere,
    /// Not started: a stop was requested first.
    NotStarted,
}

/// The configuration files in `dir` (`.toml`, `.yaml`, `.yml`, `.json`; hidden files
/// skipped), in name order.
fn configs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::config(format!("configuration directory `{}`: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            !name.starts_with('.') && matches!(ext, "toml" | "yaml" | "yml" | "json")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::config(format!(
            "configuration directory `{}` holds no .toml, .yaml, .yml or .json file",
            dir.display()
        )));
    }
    Ok(files)
}

/// This process's arguments after `idbridge`, less the directory run's own flags.
fn passed_on(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        let text = arg.to_string_lossy();
        if OWN_FLAGS.contains(&text.as_ref()) {
            skip_value = true;
            continue;
        }
        if OWN_FLAGS.iter().any(|f| text.starts_with(&format!("{f}="))) {
            continue;
        }
        out.push(arg);
    }
    out
}

/// Runs every configuration in `dir`, at most `parallel` at once; with `interval`, again
/// after each round until SIGINT/SIGTERM; with `listen` (an address and the readiness
/// age, default three intervals), serving `/metrics`, `/healthz` and `/readyz` there.
///
/// Exit code of a single round: 0 when every tenant converged (or runs on another worker),
/// 3 when some did and others failed, 1 when all failed; on an interval, 0 when stopped.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] when the directory cannot be read or holds no
/// configuration, or the address cannot be bound; [`idbridge_core::ErrorKind::Unavailable`]
/// when this program cannot be found to start the runs.
pub async fn run(
    dir: &Path,
    parallel: usize,
    interval: Option<Duration>,
    listen: Option<(std::net::SocketAddr, Option<Duration>)>,
) -> Result<ExitCode> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::unavailable(format!("cannot find the idbridge program: {e}")))?;
    let base = passed_on(std::env::args_os().skip(1));
    let summaries = tempfile::Builder::new()
        .prefix("idbridge-runs-")
        .tempdir()
        .map_err(|e| {
            Error::unavailable(format!("cannot make a directory for run summaries: {e}"))
        })?;
    let metrics = match (listen, interval) {
        (Some((addr, max_age)), Some(every)) => {
            let metrics = Metrics::by_tenant(max_age.unwrap_or(every.saturating_mul(3)));
            let bound = crate::metrics::serve(addr, metrics.clone()).await?;
            errln!("serving /metrics, /healthz and /readyz on http://{bound}");
            Some(metrics)
        }
        _ => None,
    };
    let tenants = Tenants {
        summaries: summaries.path().to_path_buf(),
        metrics,
    };
    let stop = Stop::new();
    let running: Arc<Mutex<Vec<u32>>> = Arc::default();
    let forward = {
        let (stop, running) = (stop.clone(), running.clone());
        tokio::spawn(async move {
            super::shutdown_signal().await;
            errln!("stopping: the runs in progress finish their operations in flight");
            stop.stop();
            let pids = running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for pid in pids {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
        })
    };
    let result = loop {
        let files = configs(dir)?;
        let ended = round(
            &exe,
            &base,
            files,
            parallel.max(1),
            &stop,
            &running,
            &tenants,
        )
        .await;
        let count = |e: Ended| ended.iter().filter(|x| **x == e).count();
        let (ok, failed, elsewhere) = (
            count(Ended::Converged),
            count(Ended::Failed),
            count(Ended::Elsewhere),
        );
        errln!(
            "{} configurations: {ok} converged, {failed} failed, {elsewhere} running elsewhere",
            ended.len()
        );
        let Some(interval) = interval else {
            break Ok(if failed == 0 {
                crate::exit::SUCCESS
            } else if ok + elsewhere > 0 {
                ExitCode::from(crate::exit::PARTLY_FAILED)
            } else {
                crate::exit::FAILED
            });
        };
        if stop.is_stopped() {
            break Ok(crate::exit::SUCCESS);
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = stop.stopped() => break Ok(crate::exit::SUCCESS),
        }
    };
    forward.abort();
    result
}

/// Where the tenants' runs leave their summaries, and the metrics they go to.
#[derive(Clone)]
struct Tenants {
    summaries: PathBuf,
    metrics: Option<Arc<Metrics>>,
}

impl Tenants {
    /// Records what the run of `file` left in `summary` (removing it), under its tenant.
    fn record(&self, file: &Path, summary: &Path, ended: Ended) {
        let text = std::fs::read_to_string(summary).ok();
        let _ = std::fs::remove_file(summary);
        let Some(metrics) = &self.metrics else { return };
        if matches!(ended, Ended::Elsewhere | Ended::NotStarted) {
            return;
        }
        let parsed: Option<RunSummary> = text.and_then(|t| serde_json::from_str(&t).ok());
        let tenant = match &parsed {
            Some(s) if !s.tenant.is_empty() => s.tenant.clone(),
            // No summary (the run could not start or was killed): the file names it.
            _ => file.file_stem().map_or_else(
                || file.display().to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        };
        metrics.record_tenant(&tenant, parsed.as_ref());
    }
}

async fn round(
    exe: &Path,
    base: &[OsString],
    files: Vec<PathBuf>,
    parallel: usize,
    stop: &Stop,
    running: &Arc<Mutex<Vec<u32>>>,
    tenants: &Tenants,
) -> Vec<Ended> {
    let slots = Arc::new(Semaphore::new(parallel));
    let mut tasks = Vec::new();
    for (n, file) in files.into_iter().enumerate() {
        let (exe, base, slots) = (exe.to_path_buf(), base.to_vec(), slots.clone());
        let (stop, running, tenants) = (stop.clone(), running.clone(), tenants.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else {
                return Ended::Failed;
            };
            if stop.is_stopped() {
                return Ended::NotStarted;
            }
            let summary = tenants.summaries.join(format!("{n}.json"));
            let ended = {
                let (file, summary) = (file.clone(), summary.clone());
                tokio::task::spawn_blocking(move || one(&exe, &base, &file, &summary, &running))
                    .await
                    .unwrap_or(Ended::Failed)
            };
            tenants.record(&file, &summary, ended);
            ended
        }));
    }
    let mut ended = Vec::new();
    for t in tasks {
        ended.push(t.await.unwrap_or(Ended::Failed));
    }
    ended
}

/// Runs one configuration to its end and prints what it printed, under its name.
fn one(
    exe: &Path,
    base: &[OsString],
    file: &Path,
    summary: &Path,
    running: &Mutex<Vec<u32>>,
) -> Ended {
    let child = Command::new(exe)
        .args(base)
        .arg("--config")
        .arg(file)
        .arg("--summary-to")
        .arg(summary)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            errln!("{}: cannot start: {e}", file.display());
            return Ended::Failed;
        }
    };
    let pid = child.id();
    running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(pid);
    let output = child.wait_with_output();
    running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|p| *p != pid);
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            errln!("{}: lost the run: {e}", file.display());
            return Ended::Failed;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let ended = if output.status.success() {
        Ended::Converged
    } else if stderr.contains("another run is in progress") {
        Ended::Elsewhere
    } else {
        Ended::Failed
    };
    let status = match ended {
        Ended::Converged => "converged".to_string(),
        Ended::Elsewhere => "running elsewhere".to_string(),
        Ended::NotStarted => "not started".to_string(),
        Ended::Failed => match output.status.code() {
            Some(code) => format!("failed (exit {code})"),
            None => "failed (killed)".to_string(),
        },
    };
    outln!("== {}: {status}", file.display());
    out!("{}", String::from_utf8_lossy(&output.stdout));
    if !stderr.is_empty() {
        errln!("{}", stderr.trim_end());
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_flags_are_not_passed_on() {
        let args = [
            "sync",
            "--config-dir",
            "/etc/idbridge",
            "--parallel=3",
            "--json",
            "--interval",
            "15m",
            "--listen",
            "127.0.0.1:9464",
            "--ready-max-age=1h",
            "--allow-deletions",
            "2",
        ];
        let passed = passed_on(args.iter().map(OsString::from));
        assert_eq!(passed, ["sync", "--json", "--allow-deletions", "2"]);
    }

    #[test]
    fn only_configuration_files_are_taken_in_name_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["b.yaml", "a.toml", ".hidden.toml", "notes.txt", "c.json"] {
            std::fs::write(dir.path().join(name), "").expect("write");
        }
        let names: Vec<String> = configs(dir.path())
            .expect("configs")
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.toml", "b.yaml", "c.json"]);
        let empty = tempfile::tempdir().expect("tempdir");
        assert!(configs(empty.path()).is_err());
    }
}
