//! The engine's retry decision: which failed operations are tried again, and after what
//! pause. Transient failures are retried first in the HTTP pipeline; what reaches the
//! engine is what that layer gave up on (or could not retry, such as a write whose answer
//! was lost), and a create retried here that the target did carry out is adopted (see
//! [`super::perform`]).

use idbridge_core::{Error, Result};

/// Attempts of one operation, the first included, while its failures are retryable
/// (the target was unavailable or throttled). A retried create that the target did carry
/// out finds the account already there and adopts it (see [`super::perform`]).
const OP_ATTEMPTS: u32 = 6;

/// Retryable failures in a row, with no success in between, after which a target is taken
/// to be down: its failures are no longer retried in this run, so that an unreachable
/// target fails fast instead of having every operation wait through every attempt.
fn down_after(concurrency: usize) -> usize {
    2 * concurrency + 8
}

/// The pause before retry number `retry` (1-based) of an operation: the target's
/// `Retry-After` where it sent one (at most a minute), else 250 ms doubling to 4 s
/// (7.75 s in all over the five retries).
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
    attempts: Vec<u32>,
    failing_in_a_row: usize,
    concurrency: usize,
}

impl Retries {
    /// No attempt yet made, for `ops` operations run `concurrency` at a time.
    pub(super) fn new(ops: usize, concurrency: usize) -> Retries {
        Retries {
            attempts: vec![1u32; ops],
            failing_in_a_row: 0,
            concurrency,
        }
    }

    /// Counts the result of an attempt of operation `op`. When it failed and is to be tried
    /// again, returns the pause before the next attempt and that attempt's number. Nothing
    /// is retried once the apply is `stopping` (a stop request, or a journal failure).
    pub(super) fn next_attempt(
        &mut self,
        op: usize,
        result: &Result<Option<String>>,
        stopping: bool,
    ) -> Option<(std::time::Duration, u32)> {
        match result {
            Ok(_) => self.failing_in_a_row = 0,
            Err(e) if e.is_retryable() => self.failing_in_a_row += 1,
            Err(_) => {}
        }
        let Err(e) = result else {
            return None;
        };
        let retry = e.is_retryable()
            && self.attempts[op] < OP_ATTEMPTS
            && self.failing_in_a_row <= down_after(self.concurrency)
            && !stopping;
        if !retry {
            return None;
        }
        let wait = retry_wait(e, self.attempts[op]);
        self.attempts[op] += 1;
        Some((wait, self.attempts[op]))
    }
}
