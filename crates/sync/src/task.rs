//! Work on tokio tasks of its own, so that several systems' reads and applies use every
//! core, and that stops when the future waiting for it is dropped.
//!
//! A future awaited inside another runs on the thread that polls the outer one: the reads
//! of a source and three targets joined in one future convert a million records each on one
//! core. Spawned, they run on the runtime's worker threads side by side.

use std::future::Future;

use idbridge_core::{Error, ErrorKind, Result};
use tracing::Instrument;

/// A spawned task, ended when its handle is dropped: dropping the future that waits for
/// it must stop the work, as it did when the work ran inside that future.
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `work` on a task of its own (in the current tracing span) and waits for it.
///
/// A panic in `work` is raised again here, as if `work` had been awaited in place.
///
/// # Errors
/// The error of `work`; [`ErrorKind::Unavailable`] when the runtime ended the task before
/// it finished (it is shutting down).
///
/// # Panics
/// Outside a tokio runtime, and when `work` panics.
pub(crate) async fn on_own_task<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let mut task = AbortOnDrop(tokio::spawn(work.in_current_span()));
    joined((&mut task.0).await)
}

/// Runs `work` on the runtime's thread pool for blocking work (it may block, as a database
/// read does) and waits for it; panics and errors as [`on_own_task`].
///
/// # Errors
/// As [`on_own_task`].
///
/// # Panics
/// As [`on_own_task`].
pub(crate) async fn on_blocking_task<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let span = tracing::Span::current();
    let task = tokio::task::spawn_blocking(move || span.in_scope(work));
    joined(task.await)
}

fn joined<T>(r: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    match r {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::new(
            ErrorKind::Unavailable,
            format!("the work stopped before it finished: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_on_another_thread_and_returns_its_result() {
        let here = std::thread::current().id();
        let there = on_own_task(async { Ok(std::thread::current().id()) })
            .await
            .expect("result");
        assert_ne!(here, there);
        let e = on_own_task(async { Err::<(), _>(Error::not_found("gone")) })
            .await
            .expect_err("error");
        assert_eq!(e.message(), "gone");
        let blocking = on_blocking_task(|| Ok(std::thread::current().id()))
            .await
            .expect("result");
        assert_ne!(here, blocking);
    }

    #[tokio::test]
    #[should_panic(expected = "boom")]
    async fn a_panic_is_raised_in_the_caller() {
        let _ = on_own_task(async {
            if std::env::var_os("IDBRIDGE_NEVER_SET_THIS").is_none() {
                panic!("boom");
            }
            Ok(())
        })
        .await;
    }

    #[tokio::test]
    async fn dropping_the_waiter_stops_the_work() {
        /// Marks that the work's future was dropped before it finished.
        struct Dropped(Arc<AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = Dropped(dropped.clone());
        // Work that never ends by itself: only ending the task drops its guard.
        let waiter = on_own_task(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        });
        // Polled once (the task starts), then dropped.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(20), waiter).await;
        for _ in 0..500 {
            if dropped.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(dropped.load(Ordering::SeqCst), "the task was ended");
    }
}
