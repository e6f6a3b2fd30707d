//! Typed events of a run, for a program that embeds the engine: what is read, what is
//! planned, and how each operation ended, as values rather than log lines.
//!
//! An observer is a callback ([`EventFn`]); [`channel`] makes one that forwards every event
//! to a channel, for a program that consumes them on a task of its own. The engine's
//! observer ([`Engine::set_events`](crate::Engine::set_events)) sees every stage of every
//! run; an apply's own observer ([`ApplyOptions::events`](crate::ApplyOptions::events))
//! sees that apply's events. The command line's progress display is such an observer, so
//! what it shows and what an embedding program sees come from the same events.
//!
//! Events of different targets interleave (targets are read and applied concurrently);
//! within one target, [`RunEvent::OperationFinished`] events come in the order the
//! operations finished, each with the count finished so far.

use std::sync::Arc;

use idbridge_core::Error;
use idbridge_store::RunOutcome;

use crate::apply::TargetReport;

/// Which side of the sync a system is on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemRole {
    /// The source of truth.
    Source,
    /// A target.
    Target,
}

/// Something that happened during a read, a plan or an apply.
///
/// New variants and fields may be added in minor versions: match with a wildcard arm.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// A system is being read.
    ReadStarted {
        /// The system's configured name.
        system: String,
        /// Source or target.
        role: SystemRole,
    },
    /// A system was read (its group members, read afterwards for the groups the plan
    /// needs, are not counted here).
    ReadFinished {
        /// The system's configured name.
        system: String,
        /// Source or target.
        role: SystemRole,
        /// Users read.
        users: usize,
        /// Groups read (0 where the system has none).
        groups: usize,
    },
    /// A system could not be read: for the source the read stops with this error; a
    /// target is reported unavailable and the others go on.
    ReadFailed {
        /// The system's configured name.
        system: String,
        /// Source or target.
        role: SystemRole,
        /// Why.
        error: Error,
    },
    /// A target was planned.
    Planned {
        /// The target.
        target: String,
        /// Operations planned.
        operations: usize,
    },
    /// A target's apply started (after its guards let it through).
    ApplyStarted {
        /// The target.
        target: String,
        /// Operations to apply.
        operations: usize,
    },
    /// One operation ended: done, failed (after any retries), or skipped because one it
    /// depends on failed.
    OperationFinished {
        /// The target.
        target: String,
        /// The operation's number in the target plan: its index in [`TargetPlan::ops`](crate::TargetPlan::ops).
        op: usize,
        /// The operation's name ([`Action::name`](crate::Action::name)).
        operation: String,
        /// What it addressed ([`Action::resource`](crate::Action::resource)).
        resource: String,
        /// How it ended.
        outcome: OperationOutcome,
        /// Operations of the target finished so far, this one included.
        done: usize,
        /// Operations planned for the target.
        total: usize,
    },
    /// A target's apply ended, or the target was not applied at all (refused by a guard,
    /// unavailable): its report, as in [`RunReport::targets`](crate::RunReport::targets).
    TargetFinished {
        /// What happened there.
        report: Box<TargetReport>,
    },
    /// The run ended and was recorded in the state file.
    RunFinished {
        /// The run's id in the state file.
        run: i64,
        /// How it ended.
        outcome: RunOutcome,
    },
}

/// How one operation ended.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum OperationOutcome {
    /// The target carried it out.
    Done,
    /// The target refused it or could not be reached (after the retries the engine
    /// allows); its kind, system, operation and vendor code are on the error.
    Failed {
        /// Why.
        error: Error,
    },
    /// Not attempted because an operation it depends on failed.
    Skipped {
        /// The failed operation's number in the target plan.
        because: usize,
    },
}

impl OperationOutcome {
    /// `done`, `failed` or `skipped`.
    pub fn as_str(&self) -> &'static str {
        match self {
            OperationOutcome::Done => "done",
            OperationOutcome::Failed { .. } => "failed",
            OperationOutcome::Skipped { .. } => "skipped",
        }
    }
}

/// An observer of [`RunEvent`]s. It is called on the engine's tasks, so it must return
/// quickly: hand slow work to another task (see [`channel`]).
pub type EventFn = Arc<dyn Fn(&RunEvent) + Send + Sync>;

/// An observer that sends every event to the returned receiver. Events sent after the
/// receiver is dropped are discarded.
pub fn channel() -> (EventFn, tokio::sync::mpsc::UnboundedReceiver<RunEvent>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let f: EventFn = Arc::new(move |e: &RunEvent| {
        let _ = tx.send(e.clone());
    });
    (f, rx)
}

/// Where the engine sends events: its own observer and an apply's, either optional.
#[derive(Clone, Default)]
pub(crate) struct Emitter {
    sinks: Vec<EventFn>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Emitter({} observers)", self.sinks.len())
    }
}

impl Emitter {
    /// The observers given, in order.
    pub(crate) fn new<'a>(sinks: impl IntoIterator<Item = &'a Option<EventFn>>) -> Emitter {
        Emitter {
            sinks: sinks.into_iter().flatten().cloned().collect(),
        }
    }

    /// These observers and `extra`, if any.
    pub(crate) fn with(&self, extra: &Option<EventFn>) -> Emitter {
        let mut sinks = self.sinks.clone();
        sinks.extend(extra.iter().cloned());
        Emitter { sinks }
    }

    /// Sends an event to every observer; `make` runs only when there is one, so that a
    /// run nobody observes builds no event.
    pub(crate) fn emit(&self, make: impl FnOnce() -> RunEvent) {
        if self.sinks.is_empty() {
            return;
        }
        let event = make();
        for sink in &self.sinks {
            sink(&event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn channel_forwards_each_event_to_every_observer() {
        let (first, mut rx1) = channel();
        let (second, mut rx2) = channel();
        let emitter = Emitter::new([&Some(first), &None, &Some(second)]);
        emitter.emit(|| RunEvent::Planned {
            target: "portal".into(),
            operations: 3,
        });
        for rx in [&mut rx1, &mut rx2] {
            match rx.recv().await {
                Some(RunEvent::Planned { target, operations }) => {
                    assert_eq!((target.as_str(), operations), ("portal", 3));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn nothing_is_built_without_an_observer() {
        Emitter::default().emit(|| panic!("built an event nobody observes"));
    }

    #[test]
    fn events_after_the_receiver_is_dropped_are_discarded() {
        let (f, rx) = channel();
        drop(rx);
        f(&RunEvent::RunFinished {
            run: 1,
            outcome: RunOutcome::Succeeded,
        });
    }
}
