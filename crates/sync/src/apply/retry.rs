//! The engine's retry decision: which failed operations are tried again, and after what
//! pause. Transient failures are retried first in the HTTP pipeline; what reaches the
//! engine is what that layer gave up on (or could not retry, such as a write whose answer
//! was lost), and a create retried here that the target did carry out is adopted (see
//! [`super::perform`]).

use idbridge_core::{Error, Result};

/// Attempts of one operation, the first included, while its request reached the target
/// and its outcome is unknown ([`Error::is_outcome_unknown`]: the answer to a write that is
/// not idempotent was lost, so the HTTP layer could not send it again). Every other
/// transient failure was retried by the HTTP layer already and is not retried here, so
/// that retries do not multiply. A retried create that the target did carry out finds
/// the account already there and adopts it (see [`super::perform`]).
const OP_ATTEMPTS: u32 = 4;

/// Retryable failures in a row, with no success in between, after which a target is taken
/// to be down: its failures are no longer retried in this run, so that an unreachable
/// target fails fast instead of having every operation wait through every attempt.
fn down_after(concurrency: usize) -> usize {
    2 * concurrency + 8
}

/// The pause before retry number `retry` (1-based) of an operation: the target's
/// `Retry-After` where it sent one (at most a minute), else 250 ms doubling to 4 s
/// (1.75 s in all over the three retries).
fn retry_wait(error: &Error, retry: u32) -> std::time::Duration {
    use std::time::Duration;
    match error.retry_after() {
        Some(after) => after.min(Duration::from_secs(60)),
        None => Duration::from_millis(250)
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(Duration::from_secs(4)),
    }
}

/// The retry state of one target's apply: each operation's attempts so far, and the
/// retryable failures in a row with no success in between.
pub(super) struct Retries {
    /// Attempts beyond the first, of the operations tried again (few, where a plan has
    /// millions).
    attempts: std::collections::HashMap<usize, u32>,
    failing_in_a_row: usize,
    concurrency: usize,
}

impl Retries {
    /// No attempt yet made, for operations run `concurrency` at a time.
    pub(super) fn new(concurrency: usize) -> Retries {
        Retries {
            attempts: std::collections::HashMap::new(),
            failing_in_a_row: 0,
            concurrency,
        }
    }

    /// Counts the results of one call (one operation, or a batch sent as one request).
    /// A batch's operations failing together count as one failure, so that one lost
    /// answer to a large batch does not make the target look down.
    pub(super) fn count_call<'r>(
        &mut self,
        results: impl Iterator<Item = &'r Result<Option<String>>> + Clone,
    ) {
        if results.clone().any(|r| r.is_ok()) {
            self.failing_in_a_row = 0;
        } else if results
            .into_iter()
            .any(|r| matches!(r, Err(e) if e.is_retryable()))
        {
            self.failing_in_a_row += 1;
        }
    }

    /// When the attempt of operation `op` failed and is to be tried again, returns the
    /// pause before the next attempt and that attempt's number (count the call first with
    /// [`Retries::count_call`]). Nothing is retried once the apply is `stopping` (a stop
    /// request, or a journal failure).
    pub(super) fn next_attempt(
        &mut self,
        op: usize,
        result: &Result<Option<String>>,
        stopping: bool,
    ) -> Option<(std::time::Duration, u32)> {
        let Err(e) = result else {
            return None;
        };
        let attempts = self.attempts.get(&op).copied().unwrap_or(1);
        let retry = e.is_outcome_unknown()
            && attempts < OP_ATTEMPTS
            && self.failing_in_a_row <= down_after(self.concurrency)
            && !stopping;
        if !retry {
            return None;
        }
        let wait = retry_wait(e, attempts);
        self.attempts.insert(op, attempts + 1);
        Some((wait, attempts + 1))
    }
}
