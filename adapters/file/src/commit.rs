//! Group commit: the writes that arrive while the file is being rewritten share the next
//! rewrite, so a burst of writes (the sync engine runs many at once, and hands over
//! membership and user batches) costs a few rewrites instead of one each.
//!
//! A write is queued ([`Committer::submit`]) and its caller waits for the state lock.
//! Whoever gets the lock while writes are queued takes all of them ([`Committer::flush`]):
//! it applies them in order to one copy of the document, validates the copy, saves it
//! atomically once and only then makes it current, and tells every caller its outcome. A
//! caller whose write an earlier rewrite already carried finds the queue empty and has its
//! answer. So a call returns `Ok` only once the rewrite holding its change is durable
//! (renamed into place, file and directory fsynced): the journal, which marks a write done
//! when its call returns, never marks done what is not on disk. A failed rewrite fails
//! every write it carried and leaves the document held in memory as it was (the file was
//! not replaced), so memory never claims what the file lacks.
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
use crate::format::{Directory, SaveStep, io_error};
use crate::held::Held;
use crate::reload::{Seen, Stat, hash_bytes, hash_file};

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
}

impl State {
    /// The state of an adapter that holds `held`, as the file holds it (`seen`).
    pub(crate) fn new(held: Held, seen: Option<Seen>) -> State {
        State {
            held,
            seen,
            derived: None,
            version: next_version(),
        }
    }

    /// Makes `held`, as the file now holds it (`seen`), the current document.
    pub(crate) fn replace(&mut self, held: Held, seen: Seen) {
        self.held = held;
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
    /// that fails leaves `dir` as it was.
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
        let result = (self.write)(dir);
        let ok = result.is_ok();
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

/// The queue of writes waiting for a rewrite, and how to rewrite the file.
pub(crate) struct Committer {
    path: PathBuf,
    max_file_bytes: u64,
    read_only: bool,
    queue: StdMutex<Vec<Box<dyn Job>>>,
    rewrites: AtomicU64,
    fault: StdMutex<Option<Fault>>,
}

impl Committer {
    pub(crate) fn new(path: PathBuf, max_file_bytes: u64, read_only: bool) -> Committer {
        Committer {
            path,
            max_file_bytes,
            read_only,
            queue: StdMutex::new(Vec::new()),
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
    /// Each write must leave the document unchanged when it fails; it may run more than
    /// once (on a fresh copy) when the writes together leave the document invalid.
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
        {
            let mut queue = lock(&self.queue);
            for write in writes {
                let (reply, answer) = oneshot::channel();
                queue.push(Box::new(Waiting {
                    write,
                    result: None,
                    reply,
                }));
                replies.push(answer);
            }
        }
        let guard = state.clone().lock_owned().await;
        if lock(&self.queue).is_empty() {
            // The rewrite that held the lock before carried these writes.
            drop(guard);
        } else {
            tokio::spawn(self.clone().flush(guard));
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

    /// Takes every queued write into one rewrite (see the module documentation).
    ///
    /// The rewrite (copying, changing, comparing and validating the document, then
    /// saving it) runs on a blocking thread: on the async workers it would keep the
    /// caller that spawned it from being polled, so that the writes it is about to send
    /// (a scheduler's next operations) would reach the queue one rewrite at a time.
    async fn flush(self: Arc<Self>, state: OwnedMutexGuard<State>) {
        // Writes woken together reach the queue over a few polls: let them in first.
        tokio::task::yield_now().await;
        let path = self.path.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || self.rewrite(state)).await {
            // Its writes' callers are told the rewrite stopped before it answered.
            tracing::warn!(path = %path.display(), error = %e, "a directory rewrite stopped");
        }
    }

    /// [`Committer::flush`]'s work, on a blocking thread.
    fn rewrite(&self, mut state: OwnedMutexGuard<State>) {
        let mut jobs = std::mem::take(&mut *lock(&self.queue));
        jobs.retain(|j| !j.abandoned());
        if jobs.is_empty() {
            return;
        }
        let current = state.held.unpacked();
        // Indexed once per rewrite, which copies, validates and saves the whole document
        // anyway; each write then finds its records in O(1).
        let mut next = Draft::new(current.clone());
        for job in &mut jobs {
            job.apply(&mut next);
        }
        if next.dir == *current {
            finish(jobs, Ok(()));
            return;
        }
        if next.dir.validate().is_err() {
            next = isolate(current, &mut jobs);
            if next.dir == *current {
                finish(jobs, Ok(()));
                return;
            }
        }
        match self.save(state.seen.clone(), next.into_dir()) {
            Ok((dir, seen)) => {
                state.replace(Held::plain(dir), seen);
                self.rewrites.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(path = %self.path.display(), writes = jobs.len(), "rewrote the directory file");
                // Answered only now that memory holds what the file holds: a caller's
                // next read sees its write.
                drop(state);
                finish(jobs, Ok(()));
            }
            Err(e) => {
                drop(state);
                finish(jobs, Err(&e));
            }
        }
    }

    /// Saves `next` (already validated) over the file, unless someone else changed the file
    /// since it was last read or written (`expected`); returns the document and what the
    /// file now holds.
    fn save(&self, expected: Option<Seen>, next: Directory) -> Result<(Directory, Seen)> {
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
        let text = next.save_valid_with(path, &mut |step| match &fault {
            Some(f) => f(step),
            None => Ok(()),
        })?;
        let stat = Stat::of(path).map_err(|e| io_error(path, "cannot read", e))?;
        let seen = Seen {
            stat,
            hash: hash_bytes(text.as_bytes()),
            at,
        };
        Ok((next, seen))
    }
}

/// Applies `jobs` again to a copy of `base`, one at a time, rejecting each whose change
/// leaves the document invalid: so that one bad write fails alone instead of failing
/// every write that shares its rewrite. Slow (a copy per write), and only taken when the
/// writes together do not validate.
fn isolate(base: &Directory, jobs: &mut [Box<dyn Job>]) -> Draft {
    let mut dir = Draft::new(base.clone());
    for job in jobs {
        let before = dir.clone();
        if job.apply(&mut dir)
            && let Err(e) = dir.dir.validate()
        {
            dir = before;
            job.reject(e);
        }
    }
    dir
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
