//! Group commit for the journal: results that finish together share one durable
//! transaction (one fsync), and each caller waits until its own rows are on disk before the
//! operations that depend on it may start.

use std::sync::mpsc;

use idbridge_core::{Error, Result};
use idbridge_store::{Store, Write};
use tokio::sync::oneshot;

/// The most journal rows committed in one transaction.
const MAX_BATCH: usize = 512;

struct Msg {
    writes: Vec<Write>,
    done: oneshot::Sender<Result<()>>,
}

/// A handle on the journal writer thread. Cheap to clone; the thread ends when the last
/// handle is dropped.
#[derive(Clone)]
pub struct JournalWriter {
    tx: mpsc::Sender<Msg>,
    /// How many writes were handed to the thread: what the scheduler's tests watch.
    #[cfg(test)]
    sent: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JournalWriter")
    }
}

impl JournalWriter {
    /// Starts the writer thread for `store`.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] when the thread cannot be started.
    pub fn start(store: Store) -> Result<JournalWriter> {
        let (tx, rx) = mpsc::channel::<Msg>();
        std::thread::Builder::new()
            .name("idbridge-journal".into())
            .spawn(move || run(store, rx))
            .map_err(|e| Error::unavailable(format!("cannot start the journal writer: {e}")))?;
        Ok(JournalWriter {
            tx,
            #[cfg(test)]
            sent: Default::default(),
        })
    }

    /// How many writes were handed to the thread so far.
    #[cfg(test)]
    pub(crate) fn writes_sent(&self) -> usize {
        self.sent.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Writes `writes` in one transaction (possibly shared with other callers' writes) and
    /// returns once they are durable.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] when the state file cannot be written.
    pub async fn write(&self, writes: Vec<Write>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        #[cfg(test)]
        self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg { writes, done })
            .map_err(|_| Error::unavailable("the journal writer has stopped"))?;
        wait.await.map_err(|_| {
            Error::unavailable("the journal writer stopped before confirming a write")
        })?
    }
}

fn run(store: Store, rx: mpsc::Receiver<Msg>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let mut rows = batch[0].writes.len();
        while rows < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => {
                    rows += m.writes.len();
                    batch.push(m);
                }
                Err(_) => break,
            }
        }
        // Moved, not copied: at a million users the rows of the batches waiting here are
        // tens of megabytes.
        let mut all: Vec<Write> = Vec::with_capacity(rows);
        let mut callers = Vec::with_capacity(batch.len());
        for m in batch {
            all.extend(m.writes);
            callers.push(m.done);
        }
        let result = store.commit(&all);
        drop(all);
        if let Err(e) = &result {
            tracing::error!(error = %e, "journal write failed");
        }
        for done in callers {
            // The caller may have gone away (the run was dropped); nothing to tell it then.
            let _ = done.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_store::{NewJournalEntry, Outcome};

    #[tokio::test]
    async fn concurrent_writes_are_all_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("store");
        let run = store.begin_run("apply").expect("run");
        let writer = JournalWriter::start(store.clone()).expect("writer");
        let mut tasks = Vec::new();
        for i in 0..50 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move {
                w.write(vec![Write::Journal(NewJournalEntry {
                    run,
                    target: "bi".into(),
                    operation: "create_user".into(),
                    resource: format!("u{i}"),
                    before: None,
                    after: None,
                    outcome: Outcome::Ok,
                    error: None,
                })])
                .await
            }));
        }
        for t in tasks {
            t.await.expect("joins").expect("written");
        }
        assert_eq!(store.journal(Some(run)).expect("read").len(), 50);
    }

    #[tokio::test]
    async fn a_failed_commit_is_reported_to_the_caller() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("store");
        let writer = JournalWriter::start(store).expect("writer");
        let err = writer
            .write(vec![Write::Journal(NewJournalEntry {
                run: 4242, // no such run: the foreign key fails
                target: "bi".into(),
                operation: "x".into(),
                resource: "y".into(),
                before: None,
                after: None,
                outcome: Outcome::Ok,
                error: None,
            })])
            .await
            .expect_err("fails");
        assert_eq!(err.kind(), idbridge_core::ErrorKind::Unavailable);
    }
}
