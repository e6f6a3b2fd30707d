//! Copying a SQLite state file into a tenant of a PostgreSQL state
//! (`idbridge state migrate`).

use std::collections::HashMap;

use idbridge_core::{Error, Result};
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::{
    Hold, InboxEntry, InboxKind, JournalEntry, Link, LinkKind, RunRecord, Store, parse_time,
};

/// What [`Store::copy_into`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CopyCounts {
    /// Links.
    pub links: usize,
    /// Runs (approvals among them).
    pub runs: usize,
    /// Journal rows.
    pub journal: usize,
    /// Holds, lifted ones included.
    pub holds: usize,
    /// Whether the plan key was copied (so plans sealed before still apply).
    pub plan_key: bool,
    /// SCIM inbox resources (users and groups), with their versions and the change
    /// sequence.
    pub inbox: usize,
}

struct Snapshot {
    links: Vec<Link>,
    runs: Vec<RunRecord>,
    journal: Vec<JournalEntry>,
    holds: Vec<Hold>,
    plan_key: Option<Vec<u8>>,
    inbox: Vec<InboxEntry>,
    /// The inbox's change sequence and how far the fan-out applied it.
    inbox_state: (i64, i64),
}

impl Store {
    fn sqlite_snapshot(&self) -> Result<Snapshot> {
        let mut links = Vec::new();
        let pairs: Vec<(String, String)> = {
            let conn = self.conn()?;
            let mut stmt = conn
                .prepare("SELECT DISTINCT target, kind FROM links ORDER BY target, kind")
                .map_err(|e| self.error("cannot read links", &e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.error("cannot read links", &e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.error("cannot read links", &e))?
        };
        for (target, kind) in pairs {
            let kind = if kind == "group" {
                LinkKind::Group
            } else {
                LinkKind::User
            };
            links.extend(self.links(&target, kind)?);
        }
        let mut runs = self.runs(usize::MAX)?;
        runs.reverse();
        let journal = self.journal(None)?;
        let holds = self.all_holds()?;
        let plan_key = self
            .conn()?
            .query_row("SELECT key FROM plan_key WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.error("cannot read the plan key", &e))?;
        let mut inbox = self.inbox_list(InboxKind::User)?;
        inbox.extend(self.inbox_list(InboxKind::Group)?);
        let inbox_state = (self.inbox_sequence()?, self.inbox_applied()?);
        Ok(Snapshot {
            links,
            runs,
            journal,
            holds,
            plan_key,
            inbox,
            inbox_state,
        })
    }

    fn all_holds(&self) -> Result<Vec<Hold>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT id, person, source_id, keys, created, created_by, reason, lifted, lifted_by
                 FROM holds ORDER BY id",
            )
            .map_err(|e| self.error("cannot read holds", &e))?;
        type HoldRow = (
            i64,
            String,
            Option<String>,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<HoldRow> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.error("cannot read holds", &e))?;
        rows.into_iter()
            .map(
                |(id, person, source_id, keys, created, created_by, reason, lifted, lifted_by)| {
                    Ok(Hold {
                        id,
                        person,
                        source_id,
                        keys: serde_json::from_str(&keys)
                            .map_err(|e| crate::corrupt(format!("keys of hold {id}: {e}")))?,
                        created: parse_time(&created)?,
                        created_by,
                        reason,
                        lifted: lifted.as_deref().map(parse_time).transpose()?,
                        lifted_by,
                    })
                },
            )
            .collect()
    }

    /// Copies this SQLite state (links, runs, journal, holds, the plan key and the SCIM
    /// inbox with its versions and change sequence) into `dest`,
    /// a PostgreSQL state, under `dest`'s tenant, in one transaction. Run and journal ids
    /// are renumbered (they are shared by every tenant of the database); the journal keeps
    /// pointing at its runs, and every time is kept.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Conflict`] when the tenant already has state in `dest`
    /// and `replace` is false (with `replace`, that state is deleted first, in the same
    /// transaction); [`idbridge_core::ErrorKind::InvalidInput`] when `self` is not a SQLite
    /// state or `dest` not a PostgreSQL one; [`idbridge_core::ErrorKind::Unavailable`] when
    /// either cannot be read or written (nothing is then copied).
    pub fn copy_into(&self, dest: &Store, replace: bool) -> Result<CopyCounts> {
        let Some(pg) = dest.pg() else {
            return Err(Error::invalid_input(format!(
                "the destination `{}` is not a PostgreSQL state",
                dest.path().display()
            )));
        };
        if self.pg().is_some() {
            return Err(Error::invalid_input(format!(
                "the source `{}` is not a SQLite state file",
                self.path().display()
            )));
        }
        let snap = self.sqlite_snapshot()?;
        let counts = CopyCounts {
            links: snap.links.len(),
            runs: snap.runs.len(),
            journal: snap.journal.len(),
            holds: snap.holds.len(),
            plan_key: snap.plan_key.is_some(),
            inbox: snap.inbox.len(),
        };
        pg.with(move |c, tenant, t| {
            let err = |what: &str, e: postgres::Error| t.error(what, &e);
            let mut tx = c
                .transaction()
                .map_err(|e| err("cannot begin the copy", e))?;
            let present: i64 = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM idbridge_links WHERE tenant = $1)
                          + (SELECT count(*) FROM idbridge_runs WHERE tenant = $1)
                          + (SELECT count(*) FROM idbridge_holds WHERE tenant = $1)
                          + (SELECT count(*) FROM idbridge_plan_key WHERE tenant = $1)
                          + (SELECT count(*) FROM idbridge_inbox WHERE tenant = $1)",
                    &[&tenant],
                )
                .and_then(|r| r.try_get(0))
                .map_err(|e| err("cannot read the destination", e))?;
            if present > 0 && !replace {
                return Err(Error::conflict(format!(
                    "tenant `{}` already has state in `{}` ({present} rows); refusing to \
                     mix two states (pass --replace to delete it first)",
                    t.tenant, t.locator
                )));
            }
            tx.batch_execute(&format!(
                "DELETE FROM idbridge_journal WHERE tenant = {tenant};
                 DELETE FROM idbridge_runs WHERE tenant = {tenant};
                 DELETE FROM idbridge_links WHERE tenant = {tenant};
                 DELETE FROM idbridge_holds WHERE tenant = {tenant};
                 DELETE FROM idbridge_plan_key WHERE tenant = {tenant};
                 DELETE FROM idbridge_inbox WHERE tenant = {tenant};
                 DELETE FROM idbridge_inbox_state WHERE tenant = {tenant};"
            ))
            .map_err(|e| err("cannot clear the destination", e))?;
            let mut run_ids = HashMap::new();
            for r in &snap.runs {
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO idbridge_runs (tenant, command, started, ended, pid, host,
                           outcome, counts, os_user, plan_digest)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                        &[
                            &tenant,
                            &r.command,
                            &r.started,
                            &r.ended,
                            &i64::from(r.pid),
                            &r.host,
                            &r.outcome.as_str(),
                            &r.counts,
                            &r.os_user,
                            &r.plan_digest,
                        ],
                    )
                    .and_then(|row| row.try_get(0))
                    .map_err(|e| err("cannot copy a run", e))?;
                run_ids.insert(r.id, id);
            }
            for j in &snap.journal {
                let run = run_ids.get(&j.run).copied().ok_or_else(|| {
                    crate::corrupt(format!("journal row {} names no run ({})", j.id, j.run))
                })?;
                tx.execute(
                    "INSERT INTO idbridge_journal (tenant, run, time, target, operation,
                       resource, state_before, state_after, outcome, error)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &tenant,
                        &run,
                        &j.time,
                        &j.target,
                        &j.operation,
                        &j.resource,
                        &j.before,
                        &j.after,
                        &j.outcome.as_str(),
                        &j.error,
                    ],
                )
                .map_err(|e| err("cannot copy a journal row", e))?;
            }
            for l in &snap.links {
                tx.execute(
                    "INSERT INTO idbridge_links
                       (tenant, target, kind, source_id, target_id, fingerprint, updated)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &tenant,
                        &l.target,
                        &l.kind.as_str(),
                        &l.source_id,
                        &l.target_id,
                        &l.fingerprint,
                        &l.updated,
                    ],
                )
                .map_err(|e| err("cannot copy a link", e))?;
            }
            for h in &snap.holds {
                tx.execute(
                    "INSERT INTO idbridge_holds (tenant, person, source_id, keys, created,
                       created_by, reason, lifted, lifted_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        &tenant,
                        &h.person,
                        &h.source_id,
                        &serde_json::Value::from(h.keys.clone()),
                        &h.created,
                        &h.created_by,
                        &h.reason,
                        &h.lifted,
                        &h.lifted_by,
                    ],
                )
                .map_err(|e| err("cannot copy a hold", e))?;
            }
            if let Some(key) = &snap.plan_key {
                tx.execute(
                    "INSERT INTO idbridge_plan_key (tenant, key) VALUES ($1, $2)",
                    &[&tenant, key],
                )
                .map_err(|e| err("cannot copy the plan key", e))?;
            }
            for e in &snap.inbox {
                tx.execute(
                    "INSERT INTO idbridge_inbox (tenant, kind, id, version, resource)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&tenant, &e.kind.as_str(), &e.id, &e.version, &e.resource],
                )
                .map_err(|e| err("cannot copy an inbox resource", e))?;
            }
            let (sequence, applied) = snap.inbox_state;
            tx.execute(
                "INSERT INTO idbridge_inbox_state (tenant, sequence, applied) VALUES ($1, $2, $3)",
                &[&tenant, &sequence, &applied],
            )
            .map_err(|e| err("cannot copy the inbox sequence", e))?;
            tx.commit().map_err(|e| err("cannot commit the copy", e))
        })?;
        Ok(counts)
    }
}
