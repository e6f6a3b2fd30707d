//! Writing links and journal rows together, in one durable transaction.

use idbridge_core::Result;
use rusqlite::params;

use crate::{Link, LinkKind, NewJournalEntry, Store, now_text, to_json_text};

/// A change to apply in one transaction with [`Store::commit`].
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Append a journal row.
    Journal(NewJournalEntry),
    /// Complete the newest `started` row of the same run, target, operation and resource
    /// with this row's outcome, time, state after and error (and state before, when this
    /// row has one); append the row when no such row is in flight.
    FinishJournal(NewJournalEntry),
    /// Insert or replace a link. Any other link of the same target and kind that points at
    /// the same target id is removed (the newest claim on an account wins).
    UpsertLink(Link),
    /// Remove a link.
    DeleteLink {
        /// The target's name.
        target: String,
        /// User or group.
        kind: LinkKind,
        /// The source record's id.
        source_id: String,
    },
}

impl Store {
    /// Applies `writes` in one transaction, durable on disk when this returns.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the transaction cannot be committed; then none of
    /// the writes took effect.
    pub fn commit(&self, writes: &[Write]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        if let Some(pg) = self.pg() {
            return pg.commit(writes);
        }
        let mut conn = self.conn()?;
        let tx = conn
            .transaction()
            .map_err(|e| self.error("cannot begin a transaction", &e))?;
        let now = now_text();
        for write in writes {
            if let Write::FinishJournal(j) = write {
                let finished = tx
                    .prepare_cached(
                        "UPDATE journal SET time = ?1, state_before = COALESCE(?2, state_before),
                           state_after = ?3, outcome = ?4, error = ?5
                         WHERE id = (SELECT id FROM journal
                           WHERE run = ?6 AND target = ?7 AND operation = ?8 AND resource = ?9
                             AND outcome = 'started'
                           ORDER BY id DESC LIMIT 1)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            now,
                            to_json_text(&j.before),
                            to_json_text(&j.after),
                            j.outcome.as_str(),
                            j.error,
                            j.run,
                            j.target,
                            j.operation,
                            j.resource,
                        ])
                    })
                    .map_err(|e| self.error("cannot write the journal", &e))?;
                if finished > 0 {
                    continue;
                }
            }
            match write {
                Write::Journal(j) | Write::FinishJournal(j) => {
                    tx.prepare_cached(
                        "INSERT INTO journal
                         (run, time, target, operation, resource, state_before, state_after, outcome, error)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            j.run,
                            now,
                            j.target,
                            j.operation,
                            j.resource,
                            to_json_text(&j.before),
                            to_json_text(&j.after),
                            j.outcome.as_str(),
                            j.error,
                        ])
                    })
                    .map_err(|e| self.error("cannot write the journal", &e))?;
                }
                Write::UpsertLink(l) => {
                    tx.prepare_cached(
                        "DELETE FROM links WHERE target = ?1 AND kind = ?2 AND target_id = ?3
                         AND source_id <> ?4",
                    )
                    .and_then(|mut s| {
                        s.execute(params![l.target, l.kind.as_str(), l.target_id, l.source_id])
                    })
                    .and_then(|_| {
                        tx.prepare_cached(
                            "INSERT INTO links (target, kind, source_id, target_id, fingerprint, updated)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                             ON CONFLICT (target, kind, source_id) DO UPDATE SET
                               target_id = excluded.target_id,
                               fingerprint = excluded.fingerprint,
                               updated = excluded.updated",
                        )
                    })
                    .and_then(|mut s| {
                        s.execute(params![
                            l.target,
                            l.kind.as_str(),
                            l.source_id,
                            l.target_id,
                            l.fingerprint,
                            now,
                        ])
                    })
                    .map_err(|e| self.error("cannot write a link", &e))?;
                }
                Write::DeleteLink {
                    target,
                    kind,
                    source_id,
                } => {
                    tx.prepare_cached(
                        "DELETE FROM links WHERE target = ?1 AND kind = ?2 AND source_id = ?3",
                    )
                    .and_then(|mut s| s.execute(params![target, kind.as_str(), source_id]))
                    .map_err(|e| self.error("cannot delete a link", &e))?;
                }
            }
        }
        tx.commit().map_err(|e| self.error("cannot commit", &e))
    }
}
