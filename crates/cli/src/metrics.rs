//! Metrics of `idbridge sync --interval` (one configuration, or every tenant's of a
//! `--config-dir`, labelled `tenant`) in the Prometheus text format, and the health of the
//! process, served over HTTP (`--listen`): `/metrics`, `/healthz`, `/readyz`.
//!
//! Everything is taken from what a run already returns (its [`RunReport`]) and from the
//! HTTP client's answer observer, so the engine knows nothing of metrics.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use idbridge_core::http::Answered;
use idbridge_core::{Error, Result};
use idbridge_store::RunOutcome;
use idbridge_sync::RunReport;
use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};

/// The `tenant` label: only on the metrics of `sync --config-dir`, which runs many
/// tenants' configurations; a single configuration's metrics go without it.
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq)]
struct Tenant(Option<String>);

impl EncodeLabelSet for Tenant {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> std::result::Result<(), std::fmt::Error> {
        match &self.0 {
            Some(t) => [("tenant", t.as_str())].encode(encoder),
            None => Ok(()),
        }
    }
}

/// Labels of `idbridge_runs_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    #[prometheus(flatten)]
    tenant: Tenant,
    outcome: String,
}

/// Labels of `idbridge_operations_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    #[prometheus(flatten)]
    tenant: Tenant,
    target: String,
    kind: String,
    outcome: String,
}

/// Labels of `idbridge_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    #[prometheus(flatten)]
    tenant: Tenant,
    target: String,
    adapter: String,
    status: String,
}

/// Labels of the per-target metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    #[prometheus(flatten)]
    tenant: Tenant,
    target: String,
}

/// A duration histogram: one for a single configuration, one per tenant under a
/// configuration directory (a family without labels would be shown with empty braces).
#[derive(Clone)]
enum Durations {
    One(Histogram),
    ByTenant(Family<Tenant, Histogram, fn() -> Histogram>),
}

impl Durations {
    fn new(by_tenant: bool) -> Durations {
        if by_tenant {
            Durations::ByTenant(Family::new_with_constructor(duration_histogram))
        } else {
            Durations::One(duration_histogram())
        }
    }

    fn register(&self, registry: &mut Registry, name: &str, help: &str) {
        match self {
            Durations::One(h) => registry.register(name, help, h.clone()),
            Durations::ByTenant(f) => registry.register(name, help, f.clone()),
        }
    }

    fn observe(&self, tenant: &Tenant, seconds: f64) {
        match self {
            Durations::One(h) => h.observe(seconds),
            Durations::ByTenant(f) => f.get_or_create(tenant).observe(seconds),
        }
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 16))
}

/// HTTP requests counted in one process: (system, adapter, status) to how many.
pub(crate) type RequestCounts = BTreeMap<(String, String, String), u64>;

/// What a tenant's run (a process of its own under `sync --config-dir`) hands the
/// directory run for its metrics: written by the run (`--summary-to`), read by the
/// directory run and recorded under the tenant ([`Metrics::record_tenant`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RunSummary {
    /// The configuration's tenant.
    pub(crate) tenant: String,
    /// Seconds to read and plan, when the run got that far.
    pub(crate) read_seconds: Option<f64>,
    /// Seconds of the whole run.
    pub(crate) run_seconds: Option<f64>,
    /// The run's report; `None` when it failed before applying.
    pub(crate) report: Option<RunReport>,
    /// HTTP requests: system, adapter, status and how many.
    pub(crate) requests: Vec<(String, String, String, u64)>,
}

/// The process's metrics and what `/readyz` decides on.
pub(crate) struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    operations: Family<OpLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    run_seconds: Durations,
    read_seconds: Durations,
    guard_refusals: Family<TargetLabels, Counter>,
    last_success: Family<TargetLabels, Gauge>,
    /// Per target (`tenant/target` under a configuration directory): whether its last run
    /// converged, and when it last did.
    targets: Mutex<BTreeMap<String, TargetHealth>>,
    ready_max_age: Duration,
    /// What this process saw, for [`Metrics::summary`].
    seen: Mutex<RunSummary>,
    counted: Mutex<RequestCounts>,
}

#[derive(Debug, Clone, Default)]
struct TargetHealth {
    last_ok: bool,
    last_success: Option<SystemTime>,
}

impl Metrics {
    /// Empty metrics for `targets` (none ready yet); `/readyz` wants each target's last run
    /// converged no longer than `ready_max_age` ago.
    pub(crate) fn new(targets: &[String], ready_max_age: Duration) -> Arc<Metrics> {
        Self::build(targets, ready_max_age, false)
    }

    /// Empty metrics for the runs of many tenants, each recorded with
    /// [`Metrics::record_tenant`]; `/readyz` as with [`Metrics::new`], once a run ended.
    pub(crate) fn by_tenant(ready_max_age: Duration) -> Arc<Metrics> {
        Self::build(&[], ready_max_age, true)
    }

    fn build(targets: &[String], ready_max_age: Duration, by_tenant: bool) -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("idbridge");
        let runs = Family::<RunLabels, Counter>::default();
        registry.register("runs", "Sync runs by how they ended", runs.clone());
        let operations = Family::<OpLabels, Counter>::default();
        registry.register(
            "operations",
            "Operations by target, kind and outcome (ok, failed, skipped, not_started)",
            operations.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests sent to the systems by target (the configured name, or `source`), \
             adapter and answer status (`none` when no answer came)",
            requests.clone(),
        );
        let run_seconds = Durations::new(by_tenant);
        run_seconds.register(
            &mut registry,
            "run_duration_seconds",
            "Time of a whole run: read, plan, guard and apply",
        );
        let read_seconds = Durations::new(by_tenant);
        read_seconds.register(
            &mut registry,
            "read_duration_seconds",
            "Time to read the source and the targets and plan",
        );
        let guard_refusals = Family::<TargetLabels, Counter>::default();
        registry.register(
            "guard_refusals",
            "Runs in which a guard refused a target's changes",
            guard_refusals.clone(),
        );
        let last_success = Family::<TargetLabels, Gauge>::default();
        registry.register(
            "last_success_timestamp_seconds",
            "Unix time of the last run in which the target converged",
            last_success.clone(),
        );
        let targets = targets
            .iter()
            .map(|t| (t.clone(), TargetHealth::default()))
            .collect();
        Arc::new(Metrics {
            registry,
            runs,
            operations,
            requests,
            run_seconds,
            read_seconds,
            guard_refusals,
            last_success,
            targets: Mutex::new(targets),
            ready_max_age,
            seen: Mutex::default(),
            counted: Mutex::default(),
        })
    }

    /// Counts one HTTP answer of system `target` (its configured name) through `adapter`.
    pub(crate) fn answered(&self, target: &str, adapter: &str, answer: Answered) {
        let status = match answer {
            Answered::Status(s) => s.to_string(),
            Answered::NoAnswer => "none".to_string(),
        };
        *self
            .counted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((target.to_string(), adapter.to_string(), status.clone()))
            .or_default() += 1;
        self.count_requests(&Tenant(None), target, adapter, status, 1);
    }

    fn count_requests(&self, tenant: &Tenant, target: &str, adapter: &str, status: String, n: u64) {
        self.requests
            .get_or_create(&RequestLabels {
                tenant: tenant.clone(),
                target: target.to_string(),
                adapter: adapter.to_string(),
                status,
            })
            .inc_by(n);
    }

    /// Records the time to read and plan.
    pub(crate) fn read_took(&self, took: Duration) {
        self.seen_mut().read_seconds = Some(took.as_secs_f64());
        self.read_in(&Tenant(None), took.as_secs_f64());
    }

    fn read_in(&self, tenant: &Tenant, seconds: f64) {
        self.read_seconds.observe(tenant, seconds);
    }

    /// Records a run that could not read the source: no target converged.
    pub(crate) fn run_failed(&self, took: Duration) {
        {
            let mut seen = self.seen_mut();
            seen.run_seconds = Some(took.as_secs_f64());
            seen.report = None;
        }
        self.failed_in(&Tenant(None), Some(took.as_secs_f64()));
    }

    fn failed_in(&self, tenant: &Tenant, seconds: Option<f64>) {
        if let Some(s) = seconds {
            self.run_seconds.observe(tenant, s);
        }
        self.runs
            .get_or_create(&RunLabels {
                tenant: tenant.clone(),
                outcome: "failed".into(),
            })
            .inc();
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        let prefix = tenant.0.as_ref().map(|t| format!("{t}/"));
        for (name, health) in targets.iter_mut() {
            if prefix.as_ref().is_none_or(|p| name.starts_with(p.as_str())) {
                health.last_ok = false;
            }
        }
        if let Some(p) = prefix {
            // A tenant that never got as far as a report is not ready either.
            targets.entry(format!("{p}*")).or_default().last_ok = false;
        }
    }

    /// Records a finished run from its report.
    pub(crate) fn run_finished(&self, report: &RunReport, took: Duration) {
        {
            let mut seen = self.seen_mut();
            seen.run_seconds = Some(took.as_secs_f64());
            seen.report = Some(report.clone());
        }
        self.finished_in(&Tenant(None), report, Some(took.as_secs_f64()));
    }

    fn finished_in(&self, tenant: &Tenant, report: &RunReport, seconds: Option<f64>) {
        if let Some(s) = seconds {
            self.run_seconds.observe(tenant, s);
        }
        self.runs
            .get_or_create(&RunLabels {
                tenant: tenant.clone(),
                outcome: outcome_name(report.outcome).into(),
            })
            .inc();
        let now = SystemTime::now();
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = &tenant.0 {
            targets.remove(&format!("{t}/*"));
        }
        for t in &report.targets {
            let op = |kind: &str, outcome: &str, n: usize| {
                if n > 0 {
                    self.operations
                        .get_or_create(&OpLabels {
                            tenant: tenant.clone(),
                            target: t.target.clone(),
                            kind: kind.to_string(),
                            outcome: outcome.to_string(),
                        })
                        .inc_by(n as u64);
                }
            };
            for (kind, n) in &t.done {
                op(kind, "ok", *n);
            }
            let mut failed: BTreeMap<(&str, &'static str), usize> = BTreeMap::new();
            for p in &t.problems {
                let outcome = match p.outcome {
                    idbridge_sync::OpOutcome::Ok => "ok",
                    idbridge_sync::OpOutcome::Failed => "failed",
                    idbridge_sync::OpOutcome::Skipped => "skipped",
                    idbridge_sync::OpOutcome::NotStarted => "not_started",
                };
                *failed.entry((p.operation.as_str(), outcome)).or_default() += 1;
            }
            for ((kind, outcome), n) in failed {
                op(kind, outcome, n);
            }
            let label = TargetLabels {
                tenant: tenant.clone(),
                target: t.target.clone(),
            };
            if t.refused.is_some() {
                self.guard_refusals.get_or_create(&label).inc();
            }
            let key = match &tenant.0 {
                Some(name) => format!("{name}/{}", t.target),
                None => t.target.clone(),
            };
            let health = targets.entry(key).or_default();
            health.last_ok = t.converged();
            if health.last_ok {
                health.last_success = Some(now);
                self.last_success
                    .get_or_create(&label)
                    .set(unix_seconds(now));
            }
        }
    }

    /// What this process recorded, for the directory run that started it: the last
    /// run's times and report, and every request counted.
    pub(crate) fn summary(&self, tenant: &str) -> RunSummary {
        let mut summary = self.seen_mut().clone();
        summary.tenant = tenant.to_string();
        summary.requests = self
            .counted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|((t, a, s), n)| (t.clone(), a.clone(), s.clone(), *n))
            .collect();
        summary
    }

    /// Records a tenant's run under `sync --config-dir`, from what its process handed
    /// back; `None` when it ended without a word (it could not start, or was killed): a
    /// failed run.
    pub(crate) fn record_tenant(&self, tenant: &str, summary: Option<&RunSummary>) {
        let label = Tenant(Some(tenant.to_string()));
        let Some(summary) = summary else {
            self.failed_in(&label, None);
            return;
        };
        if let Some(s) = summary.read_seconds {
            self.read_in(&label, s);
        }
        match &summary.report {
            Some(report) => self.finished_in(&label, report, summary.run_seconds),
            None => self.failed_in(&label, summary.run_seconds),
        }
        for (target, adapter, status, n) in &summary.requests {
            self.count_requests(&label, target, adapter, status.clone(), *n);
        }
    }

    fn seen_mut(&self) -> std::sync::MutexGuard<'_, RunSummary> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The metrics in the Prometheus text format.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// `Ok` when every target's last run converged within the maximum age; otherwise the
    /// targets that did not, one a line.
    pub(crate) fn readiness(&self) -> std::result::Result<(), String> {
        let targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        if targets.is_empty() {
            return Err("no run has finished yet".into());
        }
        let now = SystemTime::now();
        let mut not_ready = Vec::new();
        for (name, health) in targets.iter() {
            let fresh = health.last_success.is_some_and(|at| {
                now.duration_since(at).unwrap_or(Duration::ZERO) <= self.ready_max_age
            });
            if !health.last_ok {
                not_ready.push(format!("{name}: the last run did not converge"));
            } else if !fresh {
                not_ready.push(format!(
                    "{name}: no converged run in the last {}s",
                    self.ready_max_age.as_secs()
                ));
            }
        }
        if not_ready.is_empty() {
            Ok(())
        } else {
            Err(not_ready.join("\n"))
        }
    }
}

/// The label of a run outcome.
pub(crate) fn outcome_name(outcome: RunOutcome) -> &'static str {
    outcome.as_str()
}

fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Counts every HTTP answer of this process into `metrics` (the first installed wins).
pub(crate) fn observe_http(metrics: &Arc<Metrics>) {
    let metrics = metrics.clone();
    idbridge_core::http::observe_answers(Arc::new(move |target, adapter, answer| {
        metrics.answered(target, adapter, answer);
    }));
}

/// Binds `addr` and serves `/metrics`, `/healthz` and `/readyz` on a task of its own.
/// Returns the address bound (a port 0 is chosen by the system).
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] when the address cannot be bound.
pub(crate) async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::config(format!("--listen {addr}: cannot listen: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::config(format!("--listen {addr}: {e}")))?;
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready_page))
        .with_state(metrics);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics endpoint stopped");
        }
    });
    Ok(bound)
}

async fn metrics_page(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
}

async fn ready_page(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    match metrics.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
