//! How long a request is tried: attempts, exponential back-off with jitter, a time budget
//! per request, and the server's `Retry-After`.

use std::time::Duration;

use rand::Rng;
use reqwest::Response;

/// How retries back off and when they stop. This is the only place transient failures
/// are retried (the engine adds attempts only for writes whose outcome is unknown); the
/// defaults and the bounds they give are in docs/operations.md, "Retries".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. Default 5; 1 disables retries.
    pub max_attempts: u32,
    /// The back-off before the first retry (before jitter). Default 200 ms.
    pub initial_backoff: Duration,
    /// The largest back-off between two attempts. Default 10 s.
    pub max_backoff: Duration,
    /// The time all attempts of one request and the waits between them may take together:
    /// no retry starts with less than a second of it left, and the last attempt's timeout
    /// is cut to what is left, so one request never takes longer. Default 120 s.
    pub budget: Duration,
    /// The longest `Retry-After` honoured; a server asking for more gets this. Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            budget: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The back-off before retry number `retry` (1-based): exponential, capped, with full
    /// jitter so that many clients do not retry in lock-step.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let cap = exp.min(self.max_backoff);
        let millis = cap.as_millis().min(u128::from(u64::MAX)) as u64;
        if millis == 0 {
            return Duration::ZERO;
        }
        // Full jitter, but never below half the back-off so retries still spread out.
        let low = millis / 2;
        Duration::from_millis(rand::rng().random_range(low..=millis))
    }
}

/// The `Retry-After` of a response, as seconds or an HTTP date.
pub fn retry_after(resp: &Response) -> Option<Duration> {
    let value = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(value)
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for retry in 1..20 {
            assert!(p.backoff(retry) <= p.max_backoff);
        }
        assert!(p.backoff(1) >= Duration::from_millis(100));
    }
}
