//! Metrics of `idbridge sync --interval` in the Prometheus text format, and the health
//! of the process, served over HTTP (`--listen`): `/metrics`, `/healthz`, `/readyz`.
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
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of `idbridge_runs_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    outcome: String,
}

/// Labels of `idbridge_operations_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    target: String,
    kind: String,
    outcome: String,
}

/// Labels of `idbridge_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    adapter: String,
    status: String,
}

/// Labels of the per-target metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

/// The process's metrics and what `/readyz` decides on.
pub(crate) struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    operations: Family<OpLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    run_seconds: Histogram,
    read_seconds: Histogram,
    guard_refusals: Family<TargetLabels, Counter>,
    last_success: Family<TargetLabels, Gauge>,
    /// Per target: whether its last run converged, and when it last did.
    targets: Mutex<BTreeMap<String, TargetHealth>>,
    ready_max_age: Duration,
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
            "HTTP requests sent to the systems by adapter and answer status (`none` when no answer came)",
            requests.clone(),
        );
        let buckets = || exponential_buckets(0.05, 2.0, 16);
        let run_seconds = Histogram::new(buckets());
        registry.register(
            "run_duration_seconds",
            "Time of a whole run: read, plan, guard and apply",
            run_seconds.clone(),
        );
        let read_seconds = Histogram::new(buckets());
        registry.register(
            "read_duration_seconds",
            "Time to read the source and the targets and plan",
            read_seconds.clone(),
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
        })
    }

    /// Counts one HTTP answer.
    pub(crate) fn answered(&self, adapter: &str, answer: Answered) {
        let status = match answer {
            Answered::Status(s) => s.to_string(),
            Answered::NoAnswer => "none".to_string(),
        };
        self.requests
            .get_or_create(&RequestLabels {
                adapter: adapter.to_string(),
                status,
            })
            .inc();
    }

    /// Records the time to read and plan.
    pub(crate) fn read_took(&self, took: Duration) {
        self.read_seconds.observe(took.as_secs_f64());
    }

    /// Records a run that could not read the source: no target converged.
    pub(crate) fn run_failed(&self, took: Duration) {
        self.run_seconds.observe(took.as_secs_f64());
        self.runs
            .get_or_create(&RunLabels {
                outcome: "failed".into(),
            })
            .inc();
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        for health in targets.values_mut() {
            health.last_ok = false;
        }
    }

    /// Records a finished run from its report.
    pub(crate) fn run_finished(&self, report: &RunReport, took: Duration) {
        self.run_seconds.observe(took.as_secs_f64());
        self.runs
            .get_or_create(&RunLabels {
                outcome: outcome_name(report.outcome).into(),
            })
            .inc();
        let now = SystemTime::now();
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        for t in &report.targets {
            let op = |kind: &str, outcome: &str, n: usize| {
                if n > 0 {
                    self.operations
                        .get_or_create(&OpLabels {
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
                target: t.target.clone(),
            };
            if t.refused.is_some() {
                self.guard_refusals.get_or_create(&label).inc();
            }
            let health = targets.entry(t.target.clone()).or_default();
            health.last_ok = t.converged();
            if health.last_ok {
                health.last_success = Some(now);
                self.last_success
                    .get_or_create(&label)
                    .set(unix_seconds(now));
            }
        }
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
    idbridge_core::http::observe_answers(Arc::new(move |adapter, answer| {
        metrics.answered(adapter, answer);
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
mod tests {
    use super::*;

    #[test]
    fn no_target_is_ready_before_its_first_run() {
        let m = Metrics::new(&["a".into()], Duration::from_secs(60));
        let why = m.readiness().expect_err("not ready");
        assert!(why.contains("a: the last run did not converge"), "{why}");
    }

    #[test]
    fn answers_are_counted_by_adapter_and_status() {
        let m = Metrics::new(&[], Duration::from_secs(60));
        m.answered("rest", Answered::Status(200));
        m.answered("rest", Answered::Status(200));
        m.answered("rest", Answered::NoAnswer);
        let text = m.render();
        assert!(
            text.contains(r#"idbridge_http_requests_total{adapter="rest",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"idbridge_http_requests_total{adapter="rest",status="none"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn a_refused_target_is_counted_and_not_ready() {
        use idbridge_sync::TargetReport;
        let m = Metrics::new(&["a".into(), "b".into()], Duration::from_secs(3600));
        let mut done = BTreeMap::new();
        done.insert("create_user".to_string(), 3);
        let report = RunReport {
            run: 1,
            outcome: RunOutcome::Failed,
            targets: vec![
                TargetReport {
                    target: "a".into(),
                    planned: 3,
                    ok: 3,
                    done,
                    ..TargetReport::default()
                },
                TargetReport {
                    target: "b".into(),
                    refused: Some("deletion guard".into()),
                    ..TargetReport::default()
                },
            ],
        };
        m.run_finished(&report, Duration::from_millis(10));
        let text = m.render();
        for line in [
            r#"idbridge_runs_total{outcome="failed"} 1"#,
            r#"idbridge_operations_total{target="a",kind="create_user",outcome="ok"} 3"#,
            r#"idbridge_guard_refusals_total{target="b"} 1"#,
        ] {
            assert!(text.contains(line), "{line}:\n{text}");
        }
        assert!(text.contains(r#"idbridge_last_success_timestamp_seconds{target="a"}"#));
        assert!(!text.contains(r#"idbridge_last_success_timestamp_seconds{target="b"}"#));
        let why = m.readiness().expect_err("b is not ready");
        assert!(why.contains("b: the last run did not converge"), "{why}");
        assert!(!why.contains("a:"), "{why}");
    }
}
