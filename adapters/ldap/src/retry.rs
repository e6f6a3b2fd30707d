//! Retrying reads that failed for a passing reason, with the policy the HTTP adapters
//! share ([`RetryPolicy`]: attempts, exponential back-off with jitter, a time budget).
//!
//! Every operation the adapter performs is a read on a fresh connection, so retrying one
//! whole is safe. Only retryable errors (an unreachable or busy server, a timeout) are
//! retried; a refused bind, a refused certificate or a configuration error fails at once.

use std::future::Future;
use std::time::Instant;

use idbridge_core::Result;
use idbridge_core::http::RetryPolicy;

/// Runs `op` until it succeeds, fails for good, or the policy's attempts or budget run
/// out; returns the last result. `what` names the operation in the retry warnings.
pub async fn with_retries<T, F, Fut>(policy: &RetryPolicy, what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        let result = op().await;
        let err = match result {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let wait = policy.backoff(attempt);
        let in_budget = started.elapsed() + wait < policy.budget;
        if !err.is_retryable() || attempt >= policy.max_attempts || !in_budget {
            return Err(err);
        }
        tracing::warn!(
            attempt,
            "{what} failed ({err}); retrying in {} ms",
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::{Error, ErrorKind};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn quick(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..RetryPolicy::default()
        }
    }

    async fn failing(calls: &AtomicU32, failures: u32, kind: ErrorKind) -> Result<u32> {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= failures {
            Err(Error::new(kind, format!("failure {n}")))
        } else {
            Ok(n)
        }
    }

    #[tokio::test]
    async fn a_passing_failure_is_retried_until_it_succeeds() {
        let calls = AtomicU32::new(0);
        let r = with_retries(&quick(5), "read", || {
            failing(&calls, 2, ErrorKind::Unavailable)
        })
        .await;
        assert_eq!(r.expect("third attempt succeeds"), 3);
    }

    #[tokio::test]
    async fn attempts_are_bounded() {
        let calls = AtomicU32::new(0);
        let r = with_retries(&quick(3), "read", || {
            failing(&calls, 10, ErrorKind::Unavailable)
        })
        .await;
        assert_eq!(r.expect_err("gives up").message(), "failure 3");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_refused_bind_is_not_retried() {
        let calls = AtomicU32::new(0);
        let r = with_retries(&quick(5), "read", || {
            failing(&calls, 10, ErrorKind::Unauthenticated)
        })
        .await;
        assert_eq!(r.expect_err("fails").kind(), ErrorKind::Unauthenticated);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
