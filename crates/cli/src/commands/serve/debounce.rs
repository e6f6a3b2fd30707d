//! When the fan-out runs: after a burst of SCIM writes has gone quiet, and on the
//! reconciliation interval.
//!
//! A burst (an identity provider creating a group and its fifty members, one request
//! each) becomes one sync instead of fifty: the fan-out waits until no write came for the
//! debounce time. A provider that never pauses still gets its changes out: the fan-out also
//! runs once the first write of the burst is [`MAX_DELAY_FACTOR`] debounce times old.

use std::time::{Duration, Instant};

/// The longest a write waits for its fan-out, in debounce times, however busy the
/// identity provider keeps the server.
pub(crate) const MAX_DELAY_FACTOR: u32 = 10;

/// Why a fan-out is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// SCIM writes are waiting (a burst went quiet, or waited its longest).
    Writes,
    /// The reconciliation interval passed with no write waiting.
    Reconcile,
}

/// The fan-out's clock: which writes wait, and when the next run is due.
#[derive(Debug, Clone)]
pub(crate) struct Debounce {
    quiet: Duration,
    longest: Duration,
    reconcile: Duration,
    /// The first and the last write not yet fanned out.
    pending: Option<(Instant, Instant)>,
    /// When the last run started (or the clock did).
    last_run: Instant,
}

impl Debounce {
    /// A clock started at `now`: bursts go out after `quiet` without a write, and a full
    /// reconciliation runs every `reconcile`.
    pub(crate) fn new(quiet: Duration, reconcile: Duration, now: Instant) -> Self {
        Debounce {
            quiet,
            longest: quiet.saturating_mul(MAX_DELAY_FACTOR),
            reconcile,
            pending: None,
            last_run: now,
        }
    }

    /// A SCIM write was seen at `at`.
    pub(crate) fn write(&mut self, at: Instant) {
        self.pending = Some(match self.pending {
            Some((first, last)) => (first, last.max(at)),
            None => (at, at),
        });
    }

    /// When the next run is due: the end of the quiet time after the last write (or the
    /// longest wait after the first), else the next reconciliation.
    pub(crate) fn next(&self) -> (Instant, Due) {
        match self.pending {
            Some((first, last)) => ((last + self.quiet).min(first + self.longest), Due::Writes),
            None => (self.last_run + self.reconcile, Due::Reconcile),
        }
    }

    /// What is due at `now`, if anything.
    pub(crate) fn due(&self, now: Instant) -> Option<Due> {
        let (at, why) = self.next();
        (now >= at).then_some(why)
    }

    /// A run started at `now`, covering every write seen so far: writes seen after this
    /// call start a new burst. A run that does not converge is not retried here: the next
    /// reconciliation (or the next start) runs it again.
    pub(crate) fn started(&mut self, now: Instant) {
        self.pending = None;
        self.last_run = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn clock() -> (Debounce, Instant) {
        let t0 = Instant::now();
        (Debounce::new(3 * S, 600 * S, t0), t0)
    }

    #[test]
    fn nothing_is_due_before_a_write_or_the_interval() {
        let (d, t0) = clock();
        assert_eq!(d.next().1, Due::Reconcile, "no write waits");
        assert_eq!(d.due(t0 + 599 * S), None);
        assert_eq!(d.due(t0 + 600 * S), Some(Due::Reconcile));
    }

    #[test]
    fn a_burst_goes_out_once_it_is_quiet_for_the_debounce_time() {
        let (mut d, t0) = clock();
        d.write(t0 + S);
        d.write(t0 + 2 * S);
        d.write(t0 + 4 * S);
        assert_eq!(d.due(t0 + 6 * S), None, "the last write is 2s old");
        assert_eq!(d.due(t0 + 7 * S), Some(Due::Writes));
        d.started(t0 + 7 * S);
        assert_eq!(d.next().1, Due::Reconcile, "no write waits");
        assert_eq!(d.due(t0 + 8 * S), None);
        assert_eq!(
            d.next(),
            (t0 + 607 * S, Due::Reconcile),
            "the interval counts from the last run"
        );
    }

    #[test]
    fn a_provider_that_never_pauses_waits_at_most_the_longest_delay() {
        let (mut d, t0) = clock();
        let mut t = t0;
        let mut fired = None;
        for _ in 0..100 {
            t += S;
            d.write(t);
            if let Some(why) = d.due(t) {
                fired = Some((t, why));
                break;
            }
        }
        assert_eq!(
            fired,
            Some((t0 + S + 3 * S * MAX_DELAY_FACTOR, Due::Writes)),
            "the first write waits MAX_DELAY_FACTOR debounce times"
        );
    }

    #[test]
    fn writes_during_a_run_start_the_next_burst() {
        let (mut d, t0) = clock();
        d.write(t0);
        d.started(t0 + 3 * S);
        d.write(t0 + 4 * S);
        assert_eq!(d.next().1, Due::Writes, "a write waits");
        assert_eq!(d.next(), (t0 + 7 * S, Due::Writes));
    }

    #[test]
    fn writes_seen_out_of_order_keep_the_latest() {
        let (mut d, t0) = clock();
        d.write(t0 + 5 * S);
        d.write(t0 + 2 * S);
        assert_eq!(d.next(), (t0 + 8 * S, Due::Writes));
    }

    #[test]
    fn a_zero_debounce_fans_out_at_once() {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::ZERO, 600 * S, t0);
        d.write(t0);
        assert_eq!(d.due(t0), Some(Due::Writes));
    }
}
