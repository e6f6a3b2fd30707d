//! Whether the server has the bulk user endpoints (`/admin/users/actions/bulk`, DSS 14.2
//! and later), learnt without a write of its own.
//!
//! No official client asks the server for its version before a bulk call:
//! `dataikuapi`'s `create_users`, `edit_users` and `delete_users` simply send it, and a
//! server older than 14.2 answers 404 (the path does not exist). The adapter does the
//! same: with `bulk = "auto"` it assumes the endpoints until the first real bulk request
//! answers 404 or 405 as a whole, then remembers that they are missing and sends that
//! request's writes (and every later one) one user at a time. Such an answer means the
//! request did nothing, so sending its writes again one by one is safe. Once a bulk
//! request has been answered, a later 404 is an error like any other.

use std::sync::atomic::{AtomicU8, Ordering};

use idbridge_core::Error;

use crate::config::BulkMode;

const UNKNOWN: u8 = 0;
const PRESENT: u8 = 1;
const MISSING: u8 = 2;

/// What this connection knows about the bulk user endpoints.
#[derive(Debug)]
pub struct BulkSupport {
    state: AtomicU8,
}

impl BulkSupport {
    /// `on`: present; `off`: missing; `auto`: not known until the first bulk request.
    pub fn new(mode: BulkMode) -> Self {
        let state = match mode {
            BulkMode::Auto => UNKNOWN,
            BulkMode::On => PRESENT,
            BulkMode::Off => MISSING,
        };
        BulkSupport {
            state: AtomicU8::new(state),
        }
    }

    /// Whether writes go through the bulk endpoints: true unless they are known missing.
    pub fn usable(&self) -> bool {
        self.state.load(Ordering::Acquire) != MISSING
    }

    /// Records the outcome of a bulk request; returns true when it showed the endpoints
    /// missing (a 404 or 405 while their presence was not yet known), in which case the
    /// request did nothing and its writes should be sent one by one.
    pub fn record<T>(&self, outcome: &Result<T, Error>) -> bool {
        match outcome {
            Ok(_) => {
                let _ = self.state.compare_exchange(
                    UNKNOWN,
                    PRESENT,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                false
            }
            Err(e) if matches!(e.http_status(), Some(404 | 405)) => {
                let missing = self
                    .state
                    .compare_exchange(UNKNOWN, MISSING, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                    || self.state.load(Ordering::Acquire) == MISSING;
                if missing {
                    tracing::info!(
                        error = %e,
                        "DSS has no bulk user endpoints (older than 14.2?); writing users one by one"
                    );
                }
                missing
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::ErrorKind;

    fn status(code: u16) -> Result<(), Error> {
        Err(Error::new(ErrorKind::NotFound, "x").with_http_status(code))
    }

    #[test]
    fn auto_learns_from_the_first_answer_and_keeps_it() {
        let s = BulkSupport::new(BulkMode::Auto);
        assert!(s.usable());
        assert!(s.record(&status(404)));
        assert!(!s.usable());

        let s = BulkSupport::new(BulkMode::Auto);
        assert!(!s.record(&Ok(())));
        // Once answered, a 404 is an ordinary error, not a missing endpoint.
        assert!(!s.record(&status(404)));
        assert!(s.usable());
    }

    #[test]
    fn other_errors_decide_nothing_and_on_never_falls_back() {
        let s = BulkSupport::new(BulkMode::Auto);
        assert!(!s.record(&status(500)));
        assert!(s.usable());
        // Still unknown: a later 405 shows the endpoint missing.
        assert!(s.record(&status(405)));

        let on = BulkSupport::new(BulkMode::On);
        assert!(!on.record(&status(404)));
        assert!(on.usable());
        assert!(!BulkSupport::new(BulkMode::Off).usable());
    }
}
