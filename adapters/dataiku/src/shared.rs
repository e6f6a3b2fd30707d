//! One listing shared by the writes that need it at the same moment.
//!
//! DSS has no conditional write, so the adapter reads before it writes: a create checks
//! that the name is free, a membership batch reads the users' current `groups`. Under
//! concurrency many such writes want the same listing at once (sixteen group creates each
//! asking whether its name is free). [`SharedRead`] lets them share one request without
//! weakening what each check proves: a caller is only ever given an answer whose request
//! was sent after the caller asked, exactly as if it had sent its own. Callers that arrive
//! while a listing is on the way wait for it to end and share the next one.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use idbridge_core::Result;
use tokio::sync::Mutex;

/// A read that concurrent callers share, never older than any caller's call.
pub struct SharedRead<T> {
    /// Calls so far; a caller's ticket is its position.
    arrivals: AtomicU64,
    /// The last answer, with the number of calls made before its request was sent: it
    /// serves exactly the callers whose ticket is at most that number.
    last: Mutex<Option<(u64, Result<Arc<T>>)>>,
}

impl<T> Default for SharedRead<T> {
    fn default() -> Self {
        SharedRead {
            arrivals: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }
}

impl<T> fmt::Debug for SharedRead<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedRead")
            .field("arrivals", &self.arrivals.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T> SharedRead<T> {
    /// The answer of a `read` sent after this call began: the last one if its request left
    /// after this call arrived, else a new one (which also serves every caller waiting).
    ///
    /// # Errors
    /// The error of the read that serves this call (callers sharing a read share its error).
    pub async fn read<F, Fut>(&self, read: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let ticket = self.arrivals.fetch_add(1, Ordering::SeqCst) + 1;
        let mut last = self.last.lock().await;
        if let Some((sent_after, answer)) = last.as_ref()
            && *sent_after >= ticket
        {
            return answer.clone();
        }
        // Every call counted here arrived before the request below is sent.
        let sent_after = self.arrivals.load(Ordering::SeqCst);
        let answer = read().await.map(Arc::new);
        *last = Some((sent_after, answer.clone()));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test]
    async fn callers_waiting_together_share_one_read_and_later_callers_read_again() {
        let shared: Arc<SharedRead<usize>> = Arc::new(SharedRead::default());
        let sent = Arc::new(AtomicUsize::new(0));
        let read = |shared: Arc<SharedRead<usize>>, sent: Arc<AtomicUsize>| async move {
            shared
                .read(|| async {
                    let n = sent.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    Ok(n)
                })
                .await
        };
        // The first caller's read is on the way when the others arrive: they may not use
        // it (it left before they asked), so they share the second one.
        let first = tokio::spawn(read(shared.clone(), sent.clone()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let others: Vec<_> = (0..8)
            .map(|_| tokio::spawn(read(shared.clone(), sent.clone())))
            .collect();
        assert_eq!(*first.await.expect("task").expect("read"), 1);
        for o in others {
            assert_eq!(*o.await.expect("task").expect("read"), 2);
        }
        assert_eq!(sent.load(Ordering::SeqCst), 2);
        // A caller arriving after both reads ended never gets an old answer.
        assert_eq!(*read(shared.clone(), sent.clone()).await.expect("read"), 3);
    }

    #[tokio::test]
    async fn an_error_serves_only_the_callers_that_waited_for_it() {
        let shared: SharedRead<u8> = SharedRead::default();
        let failed = shared
            .read(|| async { Err(idbridge_core::Error::unavailable("down")) })
            .await;
        assert!(failed.is_err());
        let next = shared.read(|| async { Ok(7) }).await.expect("read");
        assert_eq!(*next, 7);
    }
}
