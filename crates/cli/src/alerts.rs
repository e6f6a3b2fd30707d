//! Alerts of `sync --interval`: when a run failed, a guard refused a target's changes or a
//! target was down, its JSON report is posted to the configured `alert_webhook`.
//!
//! The webhook's URL is a secret (such URLs carry their token): no log line or error here
//! shows it, and errors of the HTTP client are stripped of it.

use std::time::Duration;

use idbridge_core::Secret;
use idbridge_store::RunOutcome;
use idbridge_sync::RunReport;
use serde::Serialize;

/// Attempts per alert: the first and two retries.
const ATTEMPTS: u32 = 3;
/// The time one attempt may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The wait before the first retry, doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// What the webhook receives.
#[derive(Debug, Serialize)]
pub(crate) struct Alert<'a> {
    /// Why: `failed`, `guard_refused`, `target_down` (one or more).
    pub(crate) reasons: Vec<&'static str>,
    /// The configuration's tenant.
    pub(crate) tenant: &'a str,
    /// The run's report; none when the run could not read the source.
    pub(crate) report: Option<&'a RunReport>,
    /// Why the run could not read the source, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// The reasons a finished run raises an alert; empty when it raises none.
pub(crate) fn reasons(report: &RunReport) -> Vec<&'static str> {
    let mut why = Vec::new();
    if report.outcome == RunOutcome::Failed {
        why.push("failed");
    }
    if report.targets.iter().any(|t| t.refused.is_some()) {
        why.push("guard_refused");
    }
    if report.targets.iter().any(|t| t.unavailable.is_some()) {
        why.push("target_down");
    }
    why
}

/// Posts alerts to one webhook.
pub(crate) struct Webhook {
    client: reqwest::Client,
    url: Secret,
}

impl Webhook {
    /// A poster to `url`.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] when the HTTP client cannot be built.
    pub(crate) fn new(url: Secret) -> idbridge_core::Result<Webhook> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            // A redirect could take the report elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                idbridge_core::Error::config(format!(
                    "alert_webhook: cannot build the HTTP client: {}",
                    e.without_url()
                ))
            })?;
        Ok(Webhook { client, url })
    }

    /// Posts `alert`, retrying a failed attempt (no answer, 408, 429 or 5xx) up to
    /// [`ATTEMPTS`] in all. Failures are logged, without the URL, and not returned: an
    /// alert that cannot be delivered must not stop the runs.
    pub(crate) async fn post(&self, alert: &Alert<'_>) -> bool {
        let mut wait = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let sent = self.client.post(self.url.expose()).json(alert).send().await;
            let (done, problem) = match sent {
                Ok(resp) if resp.status().is_success() => return true,
                Ok(resp) => {
                    let status = resp.status();
                    let again = status.is_server_error()
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                        || status == reqwest::StatusCode::REQUEST_TIMEOUT;
                    (!again, format!("answered {status}"))
                }
                Err(e) => (false, e.without_url().to_string()),
            };
            if done || attempt == ATTEMPTS {
                tracing::warn!(attempt, problem = %problem, "the alert webhook did not take the alert; giving up");
                return false;
            }
            tracing::warn!(attempt, problem = %problem, "the alert webhook did not take the alert; trying again");
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_sync::TargetReport;

    fn report(outcome: RunOutcome, targets: Vec<TargetReport>) -> RunReport {
        RunReport {
            run: 1,
            outcome,
            targets,
        }
    }

    #[test]
    fn a_converged_run_raises_no_alert() {
        let ok = TargetReport {
            target: "a".into(),
            ..TargetReport::default()
        };
        assert!(reasons(&report(RunOutcome::Succeeded, vec![ok])).is_empty());
        assert!(reasons(&report(RunOutcome::Stopped, vec![])).is_empty());
    }

    #[test]
    fn refusals_and_targets_down_are_named() {
        let refused = TargetReport {
            target: "a".into(),
            refused: Some("deletion guard".into()),
            ..TargetReport::default()
        };
        let down = TargetReport {
            target: "b".into(),
            unavailable: Some("connection refused".into()),
            ..TargetReport::default()
        };
        assert_eq!(
            reasons(&report(RunOutcome::Failed, vec![refused, down])),
            ["failed", "guard_refused", "target_down"]
        );
    }

    #[tokio::test]
    async fn an_unreachable_webhook_is_given_up_after_the_last_attempt() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("address").port();
        drop(closed);
        let hook = Webhook::new(Secret::new(format!("http://127.0.0.1:{port}/t"))).expect("hook");
        let r = report(RunOutcome::Failed, vec![]);
        let alert = Alert {
            reasons: vec!["failed"],
            tenant: "default",
            report: Some(&r),
            error: None,
        };
        assert!(!hook.post(&alert).await);
    }
}
