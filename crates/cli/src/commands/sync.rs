//! `idbridge sync`: plan, guard and apply without asking, once or on an interval.

use crate::output::{errln, out};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use idbridge_core::Result;
use idbridge_store::RunLock;
use idbridge_sync::{ApplyOptions, Engine, RunReport, Stop, report};

use super::apply::{connect_engine, finish, progress, stop_on_signals, with_spinner};
use super::connected::{Connections, SharedEngine};
use crate::alerts::{self, Alert, Webhook};
use crate::metrics::Metrics;

/// Arguments of `idbridge sync`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config", required_unless_present = "config_dir")]
    config: Option<PathBuf>,
    /// Run every configuration file in DIR (one per tenant), each in its own process,
    /// instead of one `--config`.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    config_dir: Option<PathBuf>,
    /// With `--config-dir`: how many configurations run at once.
    #[arg(long, value_name = "N", default_value_t = 2, requires = "config_dir")]
    parallel: usize,
    /// Run again every DURATION (`90s`, `15m`, `1h30m`, `1d`; at least 5s) until
    /// SIGINT/SIGTERM, holding the run lock all along.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    interval: Option<Duration>,
    /// Sync only this target.
    #[arg(long)]
    target: Option<String>,
    /// Let up to N disables and deletes through the deletion guard (each run).
    #[arg(long, value_name = "N")]
    allow_deletions: Option<usize>,
    #[command(flatten)]
    guard: super::guard_flags::GuardFlags,
    /// Print each run report as JSON.
    #[arg(long)]
    json: bool,
    /// With `--interval`: serve `/metrics` (Prometheus), `/healthz` and `/readyz` over
    /// HTTP on ADDR (e.g. `127.0.0.1:9464`). Off by default.
    /// With `--config-dir`, the metrics carry a `tenant` label.
    #[arg(long, value_name = "ADDR", requires = "interval")]
    listen: Option<std::net::SocketAddr>,
    /// After SIGINT/SIGTERM, how long the operations in flight may take
    /// to finish and be journaled before the process quits without them (exit 1; the next
    /// run converges what they left).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    grace: Duration,
    /// With `--listen`: `/readyz` answers 200 only when every target's last run converged
    /// no longer than DURATION ago. Default: three intervals.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "listen")]
    ready_max_age: Option<Duration>,
    /// Write what the run's metrics saw (times, report, requests) as JSON to FILE; how
    /// `--config-dir` learns its tenants' metrics. Not with `--interval`.
    #[arg(long, value_name = "FILE", hide = true, conflicts_with_all = ["interval", "config_dir"])]
    summary_to: Option<PathBuf>,
}

/// The shortest `--interval`: a shorter one re-reads every system without pause, loading
/// them for nothing (changes take longer than that to matter).
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// The longest a logout may take when the grace period is over.
const LOGOUT_TIME: Duration = Duration::from_secs(10);

/// Parses an `--interval` (see [`parse_duration`]) and refuses one under [`MIN_INTERVAL`].
fn parse_interval(text: &str) -> std::result::Result<Duration, String> {
    let d = parse_duration(text)?;
    if d < MIN_INTERVAL {
        return Err(format!(
            "`{text}` is {}s; the interval must be at least {}s",
            d.as_secs(),
            MIN_INTERVAL.as_secs()
        ));
    }
    Ok(d)
}

/// Parses `90s`, `15m`, `1h30m`, `2h`, `1d` or a plain number of seconds.
pub(crate) fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("`{text}`: unknown unit `{c}` (use s, m, h or d)")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}`: a number must come before `{c}`"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("`{text}`: the last number has no unit"));
    }
    Ok(Duration::from_secs(total))
}

/// What one run takes from the command line: the guard's overrides and the output format.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunFlags {
    /// `--allow-deletions N`.
    pub(crate) allow_deletions: Option<usize>,
    /// `--allow-removals N` and `--allow-adoptions N`.
    pub(crate) guard: super::guard_flags::GuardFlags,
    /// `--json`: print reports as JSON (and no plan).
    pub(crate) json: bool,
    /// Whether this is the only run of the process (`sync` without `--interval`): the
    /// source is then closed once the plan is made, as `apply` closes it, so that a `file`
    /// source lets go of its directory before the writes. Runs that come again keep it.
    pub(crate) only_run: bool,
}

impl Args {
    fn flags(&self) -> RunFlags {
        RunFlags {
            allow_deletions: self.allow_deletions,
            guard: self.guard,
            json: self.json,
            only_run: self.interval.is_none(),
        }
    }
}

/// One run under the lock: plan, guard, apply. `None` when a stop was requested while
/// reading (nothing was changed, and no run is recorded). Shared by `sync` and `serve`.
pub(crate) async fn once(
    engine: &Engine,
    flags: &RunFlags,
    stop: &Stop,
    lock: &RunLock,
    metrics: Option<&Metrics>,
) -> Result<Option<RunReport>> {
    let started = Instant::now();
    let plan = tokio::select! {
        plan = with_spinner("reading the source and the targets", engine.plan()) => plan,
        () = stop.stopped() => return Ok(None),
    };
    if let Some(m) = metrics {
        m.read_took(started.elapsed());
    }
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            // The journal shows the failed run too, not only the runs that applied.
            if let Err(journal) = engine.record_failed_run(lock, &e) {
                tracing::warn!(error = %journal, "cannot record the failed run");
            }
            if let Some(m) = metrics {
                m.run_failed(started.elapsed());
            }
            return Err(e);
        }
    };
    if flags.only_run {
        engine.close_source().await;
    }
    let violations = engine.guard_with(&plan, &flags.guard.allowances(flags.allow_deletions));
    if !flags.json {
        out!(
            "{}",
            report::render_plan_limited(&plan, &violations, Some(50))
        );
    }
    let options = ApplyOptions {
        allow_deletions: flags.allow_deletions,
        allow_removals: flags.guard.allow_removals,
        allow_adoptions: flags.guard.allow_adoptions,
        stop: stop.clone(),
        events: progress(&plan),
        ..Default::default()
    };
    let report = engine
        .apply_shared(std::sync::Arc::new(plan), lock, &options)
        .await?;
    if let Some(m) = metrics {
        m.run_finished(&report, started.elapsed());
    }
    Ok(Some(report))
}

/// The alert webhook of the configuration at `config`, with its tenant; `None` when none
/// is configured.
///
/// # Errors
/// The configuration cannot be loaded, or the HTTP client cannot be built.
pub(crate) fn alerts_of(config: &std::path::Path) -> Result<Option<(Webhook, String)>> {
    let loaded = super::load_config(config)?;
    Ok(match loaded.alert_webhook {
        Some(url) => Some((Webhook::new(url)?, loaded.tenant)),
        None => None,
    })
}

/// Exits the process with 1 once `grace` has passed after a stop request, logging out of
/// the engine's systems first: what is in flight may take that long to finish.
pub(crate) fn quit_after_grace(
    stop: &Stop,
    grace: Duration,
    engine: &SharedEngine,
) -> tokio::task::JoinHandle<()> {
    let (stop, engine) = (stop.clone(), engine.clone());
    tokio::spawn(async move {
        stop.stopped().await;
        tokio::time::sleep(grace).await;
        errln!(
            "the operations in flight did not finish within the grace period of {}s; \
             quitting without them (the next run converges)",
            grace.as_secs()
        );
        // Sessions left open count against the platforms' limits; a logout that
        // hangs must not hold the exit for long.
        let _ = tokio::time::timeout(LOGOUT_TIME, engine.log_out()).await;
        std::process::exit(1);
    })
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `addr` for the engine's targets, counting
/// every HTTP answer of the process; `/readyz` wants each target's last run converged no
/// longer than `max_age` ago.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] when the address cannot be bound.
pub(crate) async fn serve_metrics(
    shared: &SharedEngine,
    addr: std::net::SocketAddr,
    max_age: Duration,
) -> Result<std::sync::Arc<Metrics>> {
    let names: Vec<String> = shared
        .read()
        .await
        .targets()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    let metrics = Metrics::new(&names, max_age);
    crate::metrics::observe_http(&metrics);
    let bound = crate::metrics::serve(addr, metrics.clone()).await?;
    errln!("serving /metrics, /healthz and /readyz on http://{bound}");
    Ok(metrics)
}

/// Syncs once, or on an interval until SIGINT/SIGTERM, holding the run lock throughout.
///
/// Once: exit 0 when every target converged (or the run was stopped on request), 3 when
/// some did and others did not, 1 when none did or the source could not be read. On an
/// interval: 0 when stopped on request (each run's outcome is in the journal and the
/// logs), 1 when it cannot start (configuration, source, lock held by another run).
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = match (&args.config, &args.config_dir) {
        (_, Some(dir)) => {
            let listen = match args.listen {
                Some(addr) => Some((addr, args.ready_max_age)),
                None => None,
            };
            return super::config_dir::run(dir, args.parallel, args.interval, listen).await;
        }
        (Some(config), None) => config.clone(),
        (None, None) => {
            return Err(idbridge_core::Error::invalid_input(
                "give --config FILE or --config-dir DIR",
            ));
        }
    };
    if let Some(refused) = super::apply::refuse_unapproved(&config, "sync")? {
        return Ok(refused);
    }
    let loaded = super::load_config(&config)?;
    let tenant = loaded.tenant.clone();
    let alerts = match loaded.alert_webhook {
        Some(url) => Some((Webhook::new(url)?, loaded.tenant)),
        None => None,
    };
    let target = args.target.clone();
    let connect = async {
        let engine = connect_engine(&config, target.as_deref()).await?;
        Ok(SharedEngine::new(engine))
    };
    let summary_to = args.summary_to.clone();
    let summary = summary_to.as_ref().map(|_| {
        let m = Metrics::new(&[], Duration::MAX);
        crate::metrics::observe_http(&m);
        m
    });
    let result = super::connected::run_connected(connect, |engine| {
        sync(engine, args, alerts, summary.clone())
    })
    .await;
    if let (Some(path), Some(m)) = (summary_to, summary) {
        // A run that failed before it could read anything leaves no report: the
        // directory run counts it as failed.
        let text = serde_json::to_string(&m.summary(&tenant)).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text) {
            errln!("cannot write the run summary `{}`: {e}", path.display());
        }
    }
    result
}

async fn sync(
    shared: SharedEngine,
    args: Args,
    alerts: Option<(Webhook, String)>,
    summary: Option<std::sync::Arc<Metrics>>,
) -> Result<ExitCode> {
    // Taken once for the life of the process, so that no `apply` or other `sync` slips in
    // between two runs of an interval.
    let lock = shared.read().await.lock("sync")?;
    let stop = stop_on_signals();
    let grace = quit_after_grace(&stop, args.grace, &shared);
    let flags = args.flags();
    let Some(interval) = args.interval else {
        let result = once(
            &*shared.read().await,
            &flags,
            &stop,
            &lock,
            summary.as_deref(),
        )
        .await;
        drop(lock);
        alert(alerts.as_ref(), &result).await;
        grace.abort();
        return Ok(match result? {
            Some(report) => finish(&report, args.json),
            None => {
                errln!("stopped on request before any change");
                crate::exit::SUCCESS
            }
        });
    };
    let metrics = match args.listen {
        Some(addr) => {
            let max_age = args.ready_max_age.unwrap_or(interval.saturating_mul(3));
            Some(serve_metrics(&shared, addr, max_age).await?)
        }
        None => None,
    };
    let mut first = true;
    let mut lock = Some(lock);
    loop {
        if !first {
            // A target that could not be connected to at start (or since) may be back.
            shared.write().await.reconnect().await;
            keep_lock(&shared, &mut lock).await;
        }
        first = false;
        let result = match &lock {
            Some(held) => {
                once(
                    &*shared.read().await,
                    &flags,
                    &stop,
                    held,
                    metrics.as_deref(),
                )
                .await
            }
            // Another worker took the tenant while the lock was lost: its runs count.
            None => Ok(None),
        };
        match &result {
            Ok(Some(report)) => {
                let _ = finish(report, args.json);
            }
            Ok(None) => {}
            Err(e) => {
                // A failed run (an unreadable source) waits for the next tick.
                errln!("error: {e}");
            }
        }
        alert(alerts.as_ref(), &result).await;
        if stop.is_stopped() {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = stop.stopped() => break,
        }
    }
    drop(lock);
    grace.abort();
    errln!("stopped on request");
    Ok(crate::exit::SUCCESS)
}

/// Takes the run lock again when it was lost since the last run (a PostgreSQL session
/// cut: a network drop, a server restart, an administrator's `pg_terminate_backend`), so
/// that the process goes on syncing instead of failing every run until it is restarted.
/// A worker that took the tenant meanwhile keeps it: `lock` is left empty, and the next
/// interval tries again.
async fn keep_lock(shared: &SharedEngine, lock: &mut Option<RunLock>) {
    if let Some(held) = lock.as_ref() {
        match held.is_held() {
            Ok(true) => return,
            Ok(false) => {
                errln!("the run lock was lost (its database connection ended); taking it again");
            }
            Err(e) => {
                // Every commit checks the lock, so a run under a lost one changes nothing.
                tracing::warn!(error = %e, "cannot check the run lock; running under it");
                return;
            }
        }
    }
    // Released (and its holder record cleared) before it is taken again.
    *lock = None;
    match shared.read().await.lock("sync") {
        Ok(taken) => {
            tracing::info!("took the run lock again");
            *lock = Some(taken);
        }
        Err(e) => errln!("error: {e}; this run is skipped"),
    }
}

/// Posts an alert for a run's result when it calls for one (see [`alerts::reasons`]).
pub(crate) async fn alert(alerts: Option<&(Webhook, String)>, result: &Result<Option<RunReport>>) {
    let Some((hook, tenant)) = alerts else {
        return;
    };
    let alert = match result {
        Ok(Some(report)) => {
            let reasons = alerts::reasons(report);
            if reasons.is_empty() {
                return;
            }
            Alert {
                reasons,
                tenant,
                report: Some(report),
                error: None,
            }
        }
        Ok(None) => return,
        Err(e) => Alert {
            reasons: vec!["failed"],
            tenant,
            report: None,
            error: Some(e.to_string()),
        },
    };
    hook.post(&alert).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("1h30").is_err());
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn intervals_under_the_minimum_are_refused() {
        assert_eq!(parse_interval("5s"), Ok(MIN_INTERVAL));
        assert_eq!(parse_interval("1m"), Ok(Duration::from_secs(60)));
        for short in ["0", "0s", "1", "4s"] {
            let e = parse_interval(short).expect_err(short);
            assert!(e.contains("at least 5s"), "{short}: {e}");
        }
    }
}
