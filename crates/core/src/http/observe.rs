//! A process-wide observer of HTTP answers, for metrics: the program that runs the
//! adapters (the `idbridge` command) installs one to count requests by adapter and status.
//! Kept apart from the adapters so that none of them needs to know about metrics.

use std::sync::{Arc, OnceLock};

/// What became of one attempt of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// The server answered with this status.
    Status(u16),
    /// No answer arrived (connection refused, timeout, reset).
    NoAnswer,
}

/// Called once per attempt with the adapter's name (as given to
/// [`super::HttpClient::new`]) and what came back. Must be quick: it runs on the request's
/// path.
pub type AnswerObserver = Arc<dyn Fn(&str, Answered) + Send + Sync>;

static OBSERVER: OnceLock<AnswerObserver> = OnceLock::new();

/// Installs the observer of every HTTP answer in this process. Only the first call
/// installs one; later calls return `false` and change nothing.
pub fn observe_answers(observer: AnswerObserver) -> bool {
    OBSERVER.set(observer).is_ok()
}

/// Reports one attempt to the observer, if one is installed.
pub(crate) fn answered(adapter: &str, answer: Answered) {
    if let Some(observer) = OBSERVER.get() {
        observer(adapter, answer);
    }
}
