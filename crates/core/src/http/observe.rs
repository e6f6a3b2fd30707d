//! A process-wide observer of HTTP answers, for metrics: the program that runs the
//! adapters (the `idbridge` command) installs one to count requests by system (the
//! configured target name, or `source`), adapter and status. Kept apart from the adapters
//! so that none of them needs to know about metrics.
//!
//! An adapter builds its [`super::HttpClient`] while it is built, and the registry builds
//! every configured system inside [`in_system`], so each client learns its system's name
//! there without the adapters passing it on.

use std::future::Future;
use std::sync::{Arc, OnceLock};

/// What became of one attempt of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// The server answered with this status.
    Status(u16),
    /// No answer arrived (connection refused, timeout, reset).
    NoAnswer,
}

/// Called once per attempt with the configured system's name (`""` for a client built
/// outside [`in_system`]), the adapter's name (as given to [`super::HttpClient::new`]) and
/// what came back. Must be quick: it runs on the request's path.
pub type AnswerObserver = Arc<dyn Fn(&str, &str, Answered) + Send + Sync>;

static OBSERVER: OnceLock<AnswerObserver> = OnceLock::new();

tokio::task_local! {
    static SYSTEM: Arc<str>;
}

/// Installs the observer of every HTTP answer in this process. Only the first call
/// installs one; later calls return `false` and change nothing.
pub fn observe_answers(observer: AnswerObserver) -> bool {
    OBSERVER.set(observer).is_ok()
}

/// Runs `fut` (the building of system `name`'s adapter): every HTTP client made while it
/// runs reports its answers under `name`.
pub async fn in_system<F: Future>(name: &str, fut: F) -> F::Output {
    SYSTEM.scope(Arc::from(name), fut).await
}

/// The system whose adapter is being built here, if any.
pub(crate) fn current_system() -> Arc<str> {
    SYSTEM
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::from(""))
}

/// Reports one attempt to the observer, if one is installed.
pub(crate) fn answered(system: &str, adapter: &str, answer: Answered) {
    if let Some(observer) = OBSERVER.get() {
        observer(system, adapter, answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_built_in_a_system_knows_its_name() {
        assert_eq!(&*current_system(), "");
        let inside = in_system("bi", async { current_system() }).await;
        assert_eq!(&*inside, "bi");
        assert_eq!(&*current_system(), "");
    }
}
