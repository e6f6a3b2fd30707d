//! `idbridge serve`: a SCIM 2.0 server identity providers provision into, and the fan-out
//! of what they send to every target.
//!
//! The server (`idbridge-scim-server`) stores each write in the state database before it
//! answers, bumping the directory's change sequence. This command watches that sequence:
//! a burst of writes that went quiet for `debounce_secs` (see [`debounce`]) runs the sync
//! of the configuration, whose source is the `scim-inbox` adapter over that same
//! directory; a full sync also runs every `reconcile_interval_secs`. The sync is the one
//! `idbridge sync` runs (plan, guards, apply, journal, alerts), under the run lock held
//! for the life of the process. After a run that converged every target, the sequence it
//! started at is recorded as applied; at start, a sequence ahead of the applied one
//! (a crash between an answer and its fan-out) runs the fan-out at once.

mod debounce;
mod scim;
mod settings;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use idbridge_core::{Error, Result};
use idbridge_store::{RunLock, Store};
use idbridge_sync::Stop;
use tokio::task::JoinHandle;

use self::debounce::{Debounce, Due};
use self::settings::ServeSettings;
use super::apply::{connect_engine, finish, stop_on_signals};
use super::connected::SharedEngine;
use super::sync::{RunFlags, alert, alerts_of, once, quit_after_grace, serve_metrics};
use crate::alerts::Webhook;
use crate::metrics::Metrics;
use crate::output::errln;

/// The source adapter `serve` fans out from.
const INBOX_ADAPTER: &str = "scim-inbox";

/// How often the change sequence is read for new writes.
const POLL: Duration = Duration::from_millis(100);

/// Arguments of `idbridge serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (TOML, YAML or JSON), with a `[serve]` section and
    /// `[source] adapter = "scim-inbox"`.
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Serve `/metrics` (Prometheus), `/healthz` and `/readyz` over plain HTTP on ADDR
    /// (e.g. `127.0.0.1:9464`), apart from the SCIM listener. Off by default.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// After SIGINT/SIGTERM, how long the fan-out in flight may take to finish its
    /// operations in flight and journal them before the process quits without them
    /// (exit 1; the next start applies what is left).
    #[arg(long, value_name = "DURATION", value_parser = super::sync::parse_duration, default_value = "30s")]
    grace: Duration,
    /// Print each run report as JSON.
    #[arg(long)]
    json: bool,
}

/// Serves SCIM and fans out until SIGINT/SIGTERM: exit 0 when stopped on request, 1
/// when it cannot start (configuration, address in use, state, lock held by another
/// run, a source other than `scim-inbox`).
pub async fn run(args: Args) -> Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let settings = ServeSettings::from_config(&config)?;
    if config.source.adapter != INBOX_ADAPTER {
        return Err(config.origin.error(
            "source.adapter",
            format!(
                "`idbridge serve` fans out the SCIM directory it keeps: the source must be \
                 `{INBOX_ADAPTER}`, not `{}`",
                config.source.adapter
            ),
        ));
    }
    if let Some(refused) = super::apply::refuse_unapproved(&args.config, "serve")? {
        return Ok(refused);
    }
    let alerts = alerts_of(&args.config)?;
    let state = config.state.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&state))
        .await
        .map_err(|e| Error::unavailable(format!("opening the state stopped: {e}")))??;
    // Bound before the targets are connected: an address in use fails at once.
    let listen = settings.server.listen;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        config
            .origin
            .error("serve.listen", format!("{listen}: cannot listen: {e}"))
    })?;
    let path = args.config.clone();
    let connect = async move { Ok(SharedEngine::new(connect_engine(&path, None).await?)) };
    super::connected::run_connected(connect, |shared| {
        serve(shared, args, settings, store, listener, alerts)
    })
    .await
}

async fn serve(
    shared: SharedEngine,
    args: Args,
    settings: ServeSettings,
    store: Store,
    listener: tokio::net::TcpListener,
    alerts: Option<(Webhook, String)>,
) -> Result<ExitCode> {
    let lock = shared.read().await.lock("serve")?;
    let stop = stop_on_signals();
    let grace = quit_after_grace(&stop, args.grace, &shared);
    let metrics = match args.metrics_listen {
        Some(addr) => {
            Some(serve_metrics(&shared, addr, settings.reconcile.saturating_mul(3)).await?)
        }
        None => None,
    };
    let fan_out = FanOut {
        shared,
        store: store.clone(),
        lock,
        stop: stop.clone(),
        flags: RunFlags {
            json: args.json,
            ..RunFlags::default()
        },
        metrics,
        alerts,
    };
    // Read before the server answers anyone: what is pending now was answered by an
    // earlier process, and what arrives from here on is this one's to debounce.
    let (seen, applied) = fan_out.sequence().await?;
    let server = scim::start(settings.server.clone(), store, listener, stop.clone())?;
    let result = fan_out
        .run_until_stopped(&settings, &server, seen, applied)
        .await;
    // The server stops accepting on the same stop request and finishes what it answers.
    let requested = stop.is_stopped();
    stop.stop();
    let served = match server.await {
        Ok(served) => served,
        Err(e) => Err(Error::unavailable(format!("the SCIM server stopped: {e}"))),
    };
    grace.abort();
    result?;
    match (served, requested) {
        (Err(e), _) => Err(e),
        (Ok(()), false) => Err(Error::unavailable("the SCIM server stopped on its own")),
        (Ok(()), true) => {
            errln!("stopped on request");
            Ok(crate::exit::SUCCESS)
        }
    }
}

/// The fan-out loop's parts.
struct FanOut {
    shared: SharedEngine,
    store: Store,
    lock: RunLock,
    stop: Stop,
    flags: RunFlags,
    metrics: Option<Arc<Metrics>>,
    alerts: Option<(Webhook, String)>,
}

impl FanOut {
    async fn sequence(&self) -> Result<(i64, i64)> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || Ok((store.inbox_sequence()?, store.inbox_applied()?)))
            .await
            .map_err(|e| Error::unavailable(format!("reading the SCIM directory stopped: {e}")))?
    }

    /// Runs fan-outs as writes arrive and on the interval until a stop is requested or
    /// the SCIM server ends (it cannot serve: its error is the command's).
    /// `seen` and `applied` are the change sequence and the applied mark read before the
    /// server started.
    async fn run_until_stopped(
        &self,
        settings: &ServeSettings,
        server: &JoinHandle<Result<()>>,
        mut seen: i64,
        applied: i64,
    ) -> Result<()> {
        let mut clock = Debounce::new(settings.debounce, settings.reconcile, Instant::now());
        if seen > applied {
            errln!(
                "SCIM changes {}..={seen} were answered but not yet applied; applying them now",
                applied + 1
            );
            self.run_once(seen, Due::Writes).await;
            clock.started(Instant::now());
        }
        while !self.stop.is_stopped() && !server.is_finished() {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = self.stop.stopped() => break,
            }
            match self.sequence().await {
                Ok((now, _)) if now > seen => {
                    seen = now;
                    clock.write(Instant::now());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the SCIM directory's change sequence")
                }
            }
            let Some(why) = clock.due(Instant::now()) else {
                continue;
            };
            // An empty directory that never had a write has nothing to reconcile: a sync
            // would only refuse the empty source.
            if why == Due::Reconcile && seen == 0 {
                clock.started(Instant::now());
                continue;
            }
            clock.started(Instant::now());
            self.run_once(seen, why).await;
        }
        Ok(())
    }

    /// One sync covering the writes up to `sequence`; records it as applied when every
    /// target converged.
    async fn run_once(&self, sequence: i64, why: Due) {
        tracing::info!(sequence, reason = ?why, "fan-out starts");
        // A target that could not be connected to at start (or since) may be back.
        self.shared.write().await.reconnect().await;
        let result = once(
            &*self.shared.read().await,
            &self.flags,
            &self.stop,
            &self.lock,
            self.metrics.as_deref(),
        )
        .await;
        match &result {
            Ok(Some(report)) => {
                let _ = finish(report, self.flags.json);
                if report.converged() {
                    let store = self.store.clone();
                    let recorded =
                        tokio::task::spawn_blocking(move || store.inbox_set_applied(sequence))
                            .await
                            .map_err(|e| Error::unavailable(e.to_string()))
                            .and_then(|r| r);
                    match recorded {
                        Ok(()) => tracing::info!(sequence, "fan-out applied"),
                        Err(e) => {
                            errln!("error: cannot record SCIM change {sequence} as applied: {e}")
                        }
                    }
                } else {
                    errln!(
                        "the fan-out of SCIM changes up to {sequence} did not converge every \
                         target; the next reconciliation (or start) runs it again"
                    );
                }
            }
            Ok(None) => {}
            Err(e) => errln!("error: {e}"),
        }
        alert(self.alerts.as_ref(), &result).await;
    }
}
