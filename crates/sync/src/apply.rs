//! Applying one target's plan: dependency order, bounded concurrency, batches where the
//! adapter takes them, every write announced in the journal (`started`, durably) before
//! it is sent and every result journaled (durably) before anything that depends on it
//! starts, a write whose outcome is unknown (its answer lost) tried again a few times
//! (unless the target looks down), and a failure skipping only its dependents.
//!
//! - `schedule`: which operation runs when;
//! - `batch`: which ready operations share one call;
//! - `run`: running an operation or a batch, with its journal rows;
//! - `perform`: sending one operation and settling the answer (adoption of what already
//!   exists, deletes of what is gone), the same for operations sent alone or in a batch;
//! - `records`: the journal rows and links an operation writes;
//! - `retry`: the engine's retry decision.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use idbridge_core::{AdapterHandle, Error, Result};
use idbridge_store::Write;
use serde::{Deserialize, Serialize};

use crate::events::Emitter;
use crate::journal::JournalWriter;
use crate::plan::{CanSignIn, TargetPlan};

mod batch;
mod created;
mod dependents;
mod perform;
mod progress;
mod records;
mod retry;
mod run;
mod schedule;
#[cfg(test)]
mod test_plans;

pub(crate) use schedule::apply_target;

/// A request to stop: operations in flight finish and are journaled, nothing new starts.
/// Cheap to clone; all clones share the request.
#[derive(Clone, Default)]
pub struct Stop(Arc<StopInner>);

#[derive(Default)]
struct StopInner {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stop({})", self.is_stopped())
    }
}

impl Stop {
    /// A fresh, unset request.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks everything holding a clone to stop.
    pub fn stop(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether a stop was requested.
    pub fn is_stopped(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    /// Waits until a stop is requested.
    pub async fn stopped(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// How one operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    /// Done.
    Ok,
    /// The target refused it or could not be reached.
    Failed,
    /// Not attempted because an operation it depends on failed.
    Skipped,
    /// Not attempted because the run was stopped first.
    NotStarted,
}

/// One operation that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpProblem {
    /// Its number in the target plan.
    pub op: usize,
    /// The operation's name.
    pub operation: String,
    /// What it addressed.
    pub resource: String,
    /// How it ended.
    pub outcome: OpOutcome,
    /// Why.
    pub error: String,
}

/// What happened in one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    /// The target.
    pub target: String,
    /// Its adapter kind.
    pub adapter: String,
    /// Operations planned.
    pub planned: usize,
    /// Operations done.
    pub ok: usize,
    /// Operations failed.
    pub failed: usize,
    /// Operations skipped because something they depend on failed.
    pub skipped: usize,
    /// Operations not started because the run was stopped.
    pub not_started: usize,
    /// Operations done, by name.
    pub done: BTreeMap<String, usize>,
    /// Why the target was not changed at all (guard, stale plan), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// A failure that stopped the target's apply (the state file could not be written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatal: Option<String>,
    /// Why the target could not be connected to or read, if so: nothing was changed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Failed and skipped operations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<OpProblem>,
    /// Accounts that should have no access but can still sign in, because the target
    /// cannot disable them (from the plan). The target has not converged while any remain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub can_sign_in: Vec<CanSignIn>,
}

impl TargetReport {
    /// A report for a target whose plan was not applied at all.
    pub fn refused(plan: &TargetPlan, why: String) -> TargetReport {
        TargetReport {
            target: plan.target.clone(),
            adapter: plan.adapter.clone(),
            planned: plan.ops.len(),
            not_started: plan.ops.len(),
            refused: Some(why),
            can_sign_in: plan.can_sign_in.clone(),
            ..Default::default()
        }
    }

    /// A report for a target that could not be connected to or read: nothing was done.
    pub fn unavailable(plan: &TargetPlan, why: String) -> TargetReport {
        TargetReport {
            target: plan.target.clone(),
            adapter: plan.adapter.clone(),
            planned: plan.ops.len(),
            not_started: plan.ops.len(),
            unavailable: Some(why),
            ..Default::default()
        }
    }

    /// Whether everything planned was done and no account that should have no access
    /// can still sign in.
    pub fn converged(&self) -> bool {
        self.refused.is_none()
            && self.fatal.is_none()
            && self.unavailable.is_none()
            && self.ok == self.planned
            && self.can_sign_in.is_empty()
    }
}

/// What the apply of one target needs besides the plan.
pub(crate) struct ApplyContext<'a> {
    pub handle: &'a AdapterHandle,
    pub concurrency: usize,
    pub journal: &'a JournalWriter,
    pub run: i64,
    pub stop: &'a Stop,
    /// Where each operation's outcome is reported.
    pub events: &'a Emitter,
    /// Whether an account found by login when a create says "already exists" may be
    /// linked (the target correlates by login).
    pub adopt_existing_login: bool,
}

/// The result of one attempt of an operation.
struct Done {
    op: usize,
    result: Result<Option<String>>,
    fatal: Option<Error>,
}

type OpFuture<'a> = Pin<Box<dyn Future<Output = run::Called> + Send + 'a>>;

/// The journaling of a call's outcomes, ending with its operations' results.
type JournalFuture<'a> = Pin<Box<dyn Future<Output = Vec<Done>> + Send + 'a>>;

/// What a successful call produced.
struct Performed {
    created: Option<String>,
    after: Option<idbridge_store::JsonText>,
    links: Vec<Write>,
}

#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod tests;
