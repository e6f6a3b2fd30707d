//! Group commit: the writes that arrive while the file is being rewritten share the next
//! rewrite, so a burst of writes (the sync engine runs many at once, and hands over
//! membership and user batches) costs a few rewrites instead of one each.
//!
//! A write is queued ([`Committer::submit`]) and its caller waits for its answer, nothing
//! else. One task at a time, the drainer ([`Committer::drain`]), rewrites the file: it
//! takes the state lock and every queued write, applies them in order to the document
//! held (recording how to undo them: [`Draft`]), validates it, saves it atomically once,
//! tells every caller its outcome, and goes on while writes are queued. Readers wait for
//! the lock, so they never see a document a rewrite is still changing. The first write
//! queued while no drainer runs starts one. So a call returns `Ok` only once the rewrite
//! holding its change is durable (renamed into place, file and directory fsynced): the
//! journal, which marks a write done when its call returns, never marks done what is not
//! on disk. A failed rewrite fails every write it carried and undoes their changes to the
//! document held (the file was not replaced), so memory never claims what the file lacks;
//! so does a rewrite cut short by a panic, as its lock is released.
//!
//! Callers do not queue for the lock themselves: when they did, a caller whose write a
//! rewrite had already carried still waited its turn behind the next rewrite, so a client
//! keeping eight batches in flight had two at most in the queue, and a rewrite of the
//! whole file carried one batch instead of seven.
//!
//! The rewrite runs in a task of its own: a caller that gives up waiting (its future is
//! dropped) cannot cut a rewrite short and leave memory and file apart. A write whose
//! caller gave up before it was applied is dropped unapplied.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdMutexGuard};
use std::time::SystemTime;

use idbridge_core::{Error, Result};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::draft::Draft;
use crate::format::SaveStep;
use crate::held::Held;
use crate::reload::{Seen, Stat, hash_file};

/// What the adapter holds: the document as last read or durably written.
pub(crate) struct State {
    pub(crate) held: Held,
    /// What the file held when last read or written; `None` while a read-only adapter
    /// stands in for a file that `create = true` would create (an empty directory).
    pub(crate) seen: Option<Seen>,
    /// What listings computed over `held`, for the version of it they computed it from:
    /// the hash in `seen`. Whatever replaces `dir` resets it.
    pub(crate) derived: Option<crate::listing::Derived>,
    /// The listing version of `held` ([`idbridge_core::Memberships::listing_version`]):
    /// a new one whenever `held` is replaced.
    pub(crate) version: u64,
    /// Whether [`idbridge_core::Adapter::close`] let go of the document: `held` is empty
    /// and `seen` is `None` until a read or a write reads the file again.
    pub(crate) closed: bool,
}

impl State {
    /// The state of an adapter that holds `held`, as the file holds it (`seen`).
    pub(crate) fn new(held: Held, seen: Option<Seen>) -> State {
        State {
            held,
            seen,
            derived: None,
            version: next_version(),
            closed: false,
        }
    }

    /// Lets go of the document: the next read or write reads the file again.
    pub(crate) fn close(&mut self) {
        self.held = Held::empty();
        self.seen = None;
        self.derived = None;
        self.version = next_version();
        self.closed = true;
    }

    /// Makes `held`, as the file now holds it (`seen`), the current document.
    pub(crate) fn replace(&mut self, held: Held, seen: Seen) {
        self.held = held;
        self.rewritten(seen);
    }

    /// Notes that the document held, changed in place, is what the file now holds
    /// (`seen`).
    fn rewritten(&mut self, seen: Seen) {
        self.closed = false;
        self.seen = Some(seen);
        self.derived = None;
        self.version = next_version();
    }
}

/// A listing version no adapter of this process has given out: a position read under one
/// version can never be taken for one of another document, even another adapter's.
fn next_version() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A failure injected at a step of a save, so tests can fail a rewrite where a full disk
/// or a failing fsync would.
pub(crate) type Fault = Arc<dyn Fn(SaveStep) -> std::io::Result<()> + Send + Sync>;

/// One queued write, its result type erased so that writes of every kind share a rewrite.
trait Job: Send {
    /// Whether its caller gave up before the write was applied.
    fn abandoned(&self) -> bool;
    /// Applies the write to `dir`, keeping its result; `true` when it succeeded. A write
    /// that fails is undone.
    fn apply(&mut self, dir: &mut Draft) -> bool;
    /// Fails an applied write whose change would leave the document invalid.
    fn reject(&mut self, error: Error);
    /// Answers the caller: its own result once `saved` (the rewrite carrying it, or no
    /// rewrite when nothing changed) is `Ok`, else the rewrite's error.
    fn finish(self: Box<Self>, saved: std::result::Result<(), &Error>);
}

/// A write and the caller waiting for it.
struct Waiting<T, F> {
    write: F,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Waiting<T, F>
where
    T: Send + 'static,
    F: FnMut(&mut Draft) -> Result<T> + Send + 'static,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn apply(&mut self, dir: &mut Draft) -> bool {
        let mark = dir.mark();
        let result = (self.write)(dir);
        let ok = result.is_ok();
        if !ok {
            // A write checks before it changes anything; whatever it did change goes.
            dir.rollback_to(mark);
        }
        self.result = Some(result);
        ok
    }

    fn reject(&mut self, error: Error) {
        self.result = Some(Err(error));
    }

    fn finish(self: Box<Self>, saved: std::result::Result<(), &Error>) {
        let answer = match (self.result, saved) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(_)), Err(e)) => Err(e.clone()),
            (Some(Ok(out)), Ok(())) => Ok(out),
            (None, _) => Err(Error::unavailable(
                "a queued directory write was never applied",
            )),
        };
        // A caller that gave up meanwhile gets nothing; the outcome stands either way.
        let _ = self.reply.send(answer);
    }
}

/// The writes waiting for a rewrite, and whether a drainer is running to take them.
#[derive(Default)]
struct Queue {
    jobs: Vec<Box<dyn Job>>,
    draining: bool,
}

/// The queue of writes waiting for a rewrite, and how to rewrite the file.
pub(crate) struct Committer {
    path: PathBuf,
    max_file_bytes: u64,
    read_only: bool,
    queue: StdMutex<Queue>,
    rewrites: AtomicU64,
    fault: StdMutex<Option<Fault>>,
}

impl Committer {
    pub(crate) fn new(path: PathBuf, max_file_bytes: u64, read_only: bool) -> Committer {
        Committer {
            path,
            max_file_bytes,
            read_only,
            queue: StdMutex::new(Queue::default()),
            rewrites: AtomicU64::new(0),
            fault: StdMutex::new(None),
        }
    }

    /// How many times the file has been rewritten.
    pub(crate) fn rewrites(&self) -> u64 {
        self.rewrites.load(Ordering::Relaxed)
    }

    /// Makes every later save fail at the step `fault` fails (tests).
    #[cfg(test)]
    pub(crate) fn set_fault(&self, fault: Option<Fault>) {
        *lock(&self.fault) = fault;
    }

    /// Applies `writes`, in order, with the writes of other callers queued meanwhile, and
    /// returns one result per write once the rewrite carrying them is durable (or failed).
    /// A write that fails is undone; a write may run again, on the document as it was
    /// before it, when the writes together leave the document invalid (see `isolate`).
    pub(crate) async fn submit<T, F>(
        self: &Arc<Self>,
        state: &Arc<Mutex<State>>,
        writes: Vec<F>,
    ) -> Vec<Result<T>>
    where
        T: Send + 'static,
        F: FnMut(&mut Draft) -> Result<T> + Send + 'static,
    {
        let mut replies = Vec::with_capacity(writes.len());
        let start = {
            let mut queue = lock(&self.queue);
            for write in writes {
                let (reply, answer) = oneshot::channel();
                queue.jobs.push(Box::new(Waiting {
                    write,
                    result: None,
                    reply,
                }));
                replies.push(answer);
            }
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            // Made before the task, so that a task dropped unpolled (its runtime shutting
            // down) still clears the mark.
            let draining = Draining(Some(self.clone()));
            tokio::spawn(self.clone().drain(state.clone(), draining));
        }
        let mut out = Vec::with_capacity(replies.len());
        for answer in replies {
            out.push(answer.await.unwrap_or_else(|_| {
                Err(Error::unavailable(format!(
                    "directory file `{}`: the rewrite carrying this write stopped before it \
                     answered; whether the file holds it is unknown until it is read again",
                    self.path.display()
                )))
            }));
        }
        out
    }

    /// Rewrites the file for the queued writes, again and again while writes are queued
    /// (see the module documentation); ends, letting the next write start a drainer, once
    /// the queue is empty.
    ///
    /// Each rewrite (changing and validating the document, then saving it) runs on a
    /// blocking thread: on the async workers it would keep the
    /// callers from being polled, so that the writes they are about to send (a
    /// scheduler's next batches) would reach the queue one rewrite at a time.
    async fn drain(self: Arc<Self>, state: Arc<Mutex<State>>, mut draining: Draining) {
        loop {
            // Writes woken together reach the queue over a few polls: let them in first.
            tokio::task::yield_now().await;
            let guard = state.clone().lock_owned().await;
            let this = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || this.rewrite(guard)).await {
                // Its writes' callers are told the rewrite stopped before it answered.
                tracing::warn!(path = %self.path.display(), error = %e, "a directory rewrite stopped");
            }
            // Under the queue's lock: a write queued after this sees no drainer and starts
            // one.
            let mut queue = lock(&self.queue);
            if queue.jobs.is_empty() {
                queue.draining = false;
                draining.0 = None;
                return;
            }
        }
    }

    /// One rewrite of [`Committer::drain`], on a blocking thread: takes every queued
    /// write.
    fn rewrite(&self, state: OwnedMutexGuard<State>) {
        let mut jobs = std::mem::take(&mut lock(&self.queue).jobs);
        jobs.retain(|j| !j.abandoned());
        if jobs.is_empty() {
            return;
        }
        let mut state = Rewriting(state);
        let expected = state.0.seen.clone();
        let draft = state.0.held.writable();
        for job in &mut jobs {
            job.apply(draft);
        }
        if !draft.changed_since(0) {
            drop(state);
            finish(jobs, Ok(()));
            return;
        }
        if draft.validate().is_err() {
            draft.rollback_to(0);
            isolate(draft, &mut jobs);
            if !draft.changed_since(0) {
                drop(state);
                finish(jobs, Ok(()));
                return;
            }
        }
        match self.save(expected, draft) {
            Ok(seen) => {
                draft.commit();
                state.0.rewritten(seen);
                self.rewrites.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(path = %self.path.display(), writes = jobs.len(), "rewrote the directory file");
                // Answered only now that memory holds what the file holds: a caller's
                // next read sees its write.
                drop(state);
                finish(jobs, Ok(()));
            }
            Err(e) => {
                // Undone as the lock is released: memory holds what the file holds.
                drop(state);
                finish(jobs, Err(&e));
            }
        }
    }

    /// Saves `next` (already validated) over the file, unless someone else changed the file
    /// since it was last read or written (`expected`); returns what the file now holds.
    fn save(&self, expected: Option<Seen>, next: &Draft) -> Result<Seen> {
        if self.read_only {
            return Err(Error::permission_denied(format!(
                "directory file `{}` was opened read-only (to be checked); nothing is written",
                self.path.display()
            ))
            .with_retryable(false));
        }
        let Some(expected) = expected else {
            return Err(Error::conflict(format!(
                "directory file `{}` was not read before writing",
                self.path.display()
            )));
        };
        let path = &self.path;
        let limit = self.max_file_bytes;
        let fault = lock(&self.fault).clone();
        let unchanged = match Stat::of(path) {
            Ok(now) if expected.proven_by(&now) => true,
            Ok(now) if now == expected.stat => {
                // Too recent for the metadata to tell: compare the content.
                hash_file(path, limit)?.hash == expected.hash
            }
            _ => false,
        };
        if !unchanged {
            return Err(Error::conflict(format!(
                "directory file `{}` was changed by someone else since it was read; \
                 reload before writing",
                path.display()
            )));
        }
        let at = SystemTime::now();
        let hash = next.save_with(path, &mut |step| match &fault {
            Some(f) => f(step),
            None => Ok(()),
        })?;
        let stat = Stat::of(path).map_err(|e| crate::format::io_error(path, "cannot read", e))?;
        Ok(Seen { stat, hash, at })
    }
}

/// The state lock held by a rewrite: released, it undoes whatever changes the rewrite has
/// not committed (a failed save, a panic), so that no reader sees them.
struct Rewriting(OwnedMutexGuard<State>);

impl Drop for Rewriting {
    fn drop(&mut self) {
        self.0.held.discard_changes();
    }
}

/// Applies `jobs` again to `dir` (their changes undone), rejecting each write whose change
/// leaves the document invalid, so that one bad write fails alone instead of failing
/// every write that shares its rewrite. Only taken when the writes together do not
/// validate.
fn isolate(dir: &mut Draft, jobs: &mut [Box<dyn Job>]) {
    // All of them together did not validate: start from their halves.
    let (first, rest) = jobs.split_at_mut(jobs.len() / 2);
    apply_valid(dir, first);
    apply_valid(dir, rest);
}

/// Applies `jobs` to `dir` if the result validates; else undoes them and halves them,
/// down to the single writes that leave the document invalid, which are rejected. A
/// rewrite carries tens of thousands of writes: one bad write among them costs about
/// twice the logarithm of their number in checks of the document, where trying them one
/// at a time cost a check per write.
fn apply_valid(dir: &mut Draft, jobs: &mut [Box<dyn Job>]) {
    if jobs.is_empty() {
        return;
    }
    let mark = dir.mark();
    for job in jobs.iter_mut() {
        job.apply(dir);
    }
    let Err(e) = dir.validate() else {
        return;
    };
    dir.rollback_to(mark);
    if let [job] = jobs {
        job.reject(e);
        return;
    }
    let (first, rest) = jobs.split_at_mut(jobs.len() / 2);
    apply_valid(dir, first);
    apply_valid(dir, rest);
}

/// What a drainer dropped before it ends (with its runtime) leaves behind: the queue
/// marked as without a drainer, so that the next write starts one, and the writes queued
/// meanwhile answered as never applied rather than left waiting. A drainer that ends
/// disarms it, having cleared the mark itself with the queue found empty under the same
/// lock.
struct Draining(Option<Arc<Committer>>);

impl Drop for Draining {
    fn drop(&mut self) {
        if let Some(committer) = self.0.take() {
            let jobs = {
                let mut queue = lock(&committer.queue);
                queue.draining = false;
                std::mem::take(&mut queue.jobs)
            };
            // Unapplied, each answers that it was never applied.
            finish(jobs, Ok(()));
        }
    }
}

fn finish(jobs: Vec<Box<dyn Job>>, saved: std::result::Result<(), &Error>) {
    for job in jobs {
        job.finish(saved);
    }
}

/// Locks a queue or hook, which a panicking holder cannot leave half changed (each holder
/// only pushes, takes or replaces it whole).
fn lock<T>(m: &StdMutex<T>) -> StdMutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
