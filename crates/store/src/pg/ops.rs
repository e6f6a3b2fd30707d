//! The store's reads and writes on PostgreSQL: the same statements as on SQLite, each
//! scoped by tenant.

use chrono::Utc;
use idbridge_core::{Error, Result};
use postgres::types::ToSql;
use postgres::{Client, Row};
use serde_json::Value;

use super::{Pg, Target};
use crate::{
    Hold, JournalEntry, JsonText, Link, LinkKind, LockHolder, RunOutcome, RunRecord, Write,
    corrupt, lock,
};

fn kind_of(s: &str) -> Result<LinkKind> {
    match s {
        "user" => Ok(LinkKind::User),
        "group" => Ok(LinkKind::Group),
        other => Err(corrupt(format!("unknown link kind `{other}`"))),
    }
}

pub(crate) fn link_row(r: &Row, t: &Target) -> Result<Link> {
    let get = || -> std::result::Result<_, postgres::Error> {
        Ok(Link {
            target: r.try_get(0)?,
            kind: LinkKind::User,
            source_id: r.try_get(2)?,
            target_id: r.try_get(3)?,
            fingerprint: r.try_get(4)?,
            updated: r.try_get(5)?,
        })
    };
    let mut link = get().map_err(|e| t.error("cannot read links", &e))?;
    let kind: String = r.try_get(1).map_err(|e| t.error("cannot read links", &e))?;
    link.kind = kind_of(&kind)?;
    Ok(link)
}

pub(crate) const LINK_COLUMNS: &str = "target, kind, source_id, target_id, fingerprint, updated";
pub(crate) const RUN_COLUMNS: &str =
    "id, command, started, ended, pid, host, outcome, counts, os_user, plan_digest";
pub(crate) const JOURNAL_COLUMNS: &str =
    "id, run, time, target, operation, resource, state_before, state_after, outcome, error";
pub(crate) const HOLD_COLUMNS: &str =
    "id, person, source_id, keys, created, created_by, reason, lifted, lifted_by";

pub(crate) fn run_row(r: &Row, t: &Target) -> Result<RunRecord> {
    let get = || -> std::result::Result<_, postgres::Error> {
        Ok((
            r.try_get::<_, i64>(0)?,
            r.try_get::<_, String>(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get::<_, i64>(4)?,
            r.try_get::<_, String>(5)?,
            r.try_get::<_, String>(6)?,
            r.try_get::<_, Option<Value>>(7)?,
            r.try_get::<_, Option<String>>(8)?,
            r.try_get::<_, Option<String>>(9)?,
        ))
    };
    let (id, command, started, ended, pid, host, outcome, counts, os_user, plan_digest) =
        get().map_err(|e| t.error("cannot read runs", &e))?;
    Ok(RunRecord {
        id,
        command,
        started,
        ended,
        pid: u32::try_from(pid).map_err(|_| corrupt(format!("pid {pid} of run {id}")))?,
        host,
        outcome: RunOutcome::parse(&outcome)?,
        counts,
        os_user,
        plan_digest,
    })
}

pub(crate) fn journal_row(r: &Row, t: &Target) -> Result<JournalEntry> {
    let get = || -> std::result::Result<_, postgres::Error> {
        Ok((
            JournalEntry {
                id: r.try_get(0)?,
                run: r.try_get(1)?,
                time: r.try_get(2)?,
                target: r.try_get(3)?,
                operation: r.try_get(4)?,
                resource: r.try_get(5)?,
                before: r.try_get(6)?,
                after: r.try_get(7)?,
                outcome: crate::Outcome::Started,
                error: r.try_get(9)?,
            },
            r.try_get::<_, String>(8)?,
        ))
    };
    let (mut entry, outcome) = get().map_err(|e| t.error("cannot read the journal", &e))?;
    entry.outcome = crate::Outcome::parse(&outcome)?;
    Ok(entry)
}

pub(crate) fn hold_row(r: &Row, t: &Target) -> Result<Hold> {
    let get = || -> std::result::Result<_, postgres::Error> {
        Ok((
            Hold {
                id: r.try_get(0)?,
                person: r.try_get(1)?,
                source_id: r.try_get(2)?,
                keys: Vec::new(),
                created: r.try_get(4)?,
                created_by: r.try_get(5)?,
                reason: r.try_get(6)?,
                lifted: r.try_get(7)?,
                lifted_by: r.try_get(8)?,
            },
            r.try_get::<_, Value>(3)?,
        ))
    };
    let (mut hold, keys) = get().map_err(|e| t.error("cannot read holds", &e))?;
    hold.keys = serde_json::from_value(keys)
        .map_err(|e| corrupt(format!("keys of hold {}: {e}", hold.id)))?;
    Ok(hold)
}

fn query(
    c: &mut Client,
    t: &Target,
    what: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>> {
    c.query(sql, params).map_err(|e| t.error(what, &e))
}

impl Pg {
    pub(crate) fn schema_version(&self) -> Result<i64> {
        self.with(|c, _, t| super::schema::version(c, t).map(i64::from))
    }

    pub(crate) fn links(&self, target: &str, kind: LinkKind) -> Result<Vec<Link>> {
        let target = target.to_string();
        self.with(move |c, tenant, t| {
            let sql = format!(
                "SELECT {LINK_COLUMNS} FROM idbridge_links
                 WHERE tenant = $1 AND target = $2 AND kind = $3 ORDER BY source_id"
            );
            query(
                c,
                t,
                "cannot read links",
                &sql,
                &[&tenant, &target, &kind.as_str()],
            )?
            .iter()
            .map(|r| link_row(r, t))
            .collect()
        })
    }

    pub(crate) fn link_count(&self, target: &str, kind: LinkKind) -> Result<usize> {
        let target = target.to_string();
        self.with(move |c, tenant, t| {
            let rows = query(
                c,
                t,
                "cannot count links",
                "SELECT COUNT(*) FROM idbridge_links WHERE tenant = $1 AND target = $2 AND kind = $3",
                &[&tenant, &target, &kind.as_str()],
            )?;
            let n: i64 = rows.first().map_or(0, |r| r.get(0));
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    pub(crate) fn link(&self, target: &str, kind: LinkKind, source: &str) -> Result<Option<Link>> {
        let (target, source) = (target.to_string(), source.to_string());
        self.with(move |c, tenant, t| {
            let sql = format!(
                "SELECT {LINK_COLUMNS} FROM idbridge_links
                 WHERE tenant = $1 AND target = $2 AND kind = $3 AND source_id = $4"
            );
            let rows = query(
                c,
                t,
                "cannot read a link",
                &sql,
                &[&tenant, &target, &kind.as_str(), &source],
            )?;
            rows.first().map(|r| link_row(r, t)).transpose()
        })
    }

    pub(crate) fn journal(&self, run: Option<i64>) -> Result<Vec<JournalEntry>> {
        self.with(move |c, tenant, t| {
            let sql = format!(
                "SELECT {JOURNAL_COLUMNS} FROM idbridge_journal
                 WHERE tenant = $1 AND ($2::BIGINT IS NULL OR run = $2) ORDER BY id"
            );
            query(c, t, "cannot read the journal", &sql, &[&tenant, &run])?
                .iter()
                .map(|r| journal_row(r, t))
                .collect()
        })
    }

    pub(crate) fn commit(&self, writes: &[Write]) -> Result<()> {
        let writes = writes.to_vec();
        let lock_backend = *self
            .lock_backend
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.with(move |c, tenant, t| {
            let err = |what: &str, e: postgres::Error| t.error(what, &e);
            let mut tx = c
                .transaction()
                .map_err(|e| err("cannot begin a transaction", e))?;
            if let Some(backend) = lock_backend {
                super::lock::check_held(&mut tx, tenant, backend, t)?;
            }
            let now = Utc::now();
            for write in &writes {
                if let Write::FinishJournal(j) = write {
                    let finished = tx
                        .execute(
                            "UPDATE idbridge_journal SET time = $1,
                               state_before = COALESCE($2, state_before),
                               state_after = $3, outcome = $4, error = $5
                             WHERE id = (SELECT id FROM idbridge_journal
                               WHERE run = $6 AND target = $7 AND operation = $8
                                 AND resource = $9 AND outcome = 'started' AND tenant = $10
                               ORDER BY id DESC LIMIT 1)",
                            &[
                                &now,
                                &j.before.as_ref().map(JsonText::sql),
                                &j.after.as_ref().map(JsonText::sql),
                                &j.outcome.as_str(),
                                &j.error,
                                &j.run,
                                &j.target,
                                &j.operation,
                                &j.resource,
                                &tenant,
                            ],
                        )
                        .map_err(|e| err("cannot write the journal", e))?;
                    if finished > 0 {
                        continue;
                    }
                }
                match write {
                    Write::Journal(j) | Write::FinishJournal(j) => {
                        tx.execute(
                            "INSERT INTO idbridge_journal (tenant, run, time, target, operation,
                               resource, state_before, state_after, outcome, error)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                            &[
                                &tenant,
                                &j.run,
                                &now,
                                &j.target,
                                &j.operation,
                                &j.resource,
                                &j.before.as_ref().map(JsonText::sql),
                                &j.after.as_ref().map(JsonText::sql),
                                &j.outcome.as_str(),
                                &j.error,
                            ],
                        )
                        .map_err(|e| err("cannot write the journal", e))?;
                    }
                    Write::UpsertLink(l) => {
                        tx.execute(
                            "DELETE FROM idbridge_links WHERE tenant = $1 AND target = $2
                               AND kind = $3 AND target_id = $4 AND source_id <> $5",
                            &[&tenant, &l.target, &l.kind.as_str(), &l.target_id, &l.source_id],
                        )
                        .and_then(|_| {
                            tx.execute(
                                "INSERT INTO idbridge_links
                                   (tenant, target, kind, source_id, target_id, fingerprint, updated)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                                 ON CONFLICT (tenant, target, kind, source_id) DO UPDATE SET
                                   target_id = excluded.target_id,
                                   fingerprint = excluded.fingerprint,
                                   updated = excluded.updated",
                                &[
                                    &tenant,
                                    &l.target,
                                    &l.kind.as_str(),
                                    &l.source_id,
                                    &l.target_id,
                                    &l.fingerprint,
                                    &now,
                                ],
                            )
                        })
                        .map_err(|e| err("cannot write a link", e))?;
                    }
                    Write::DeleteLink {
                        target,
                        kind,
                        source_id,
                    } => {
                        tx.execute(
                            "DELETE FROM idbridge_links WHERE tenant = $1 AND target = $2
                               AND kind = $3 AND source_id = $4",
                            &[&tenant, target, &kind.as_str(), source_id],
                        )
                        .map_err(|e| err("cannot delete a link", e))?;
                    }
                }
            }
            tx.commit().map_err(|e| err("cannot commit", e))
        })
    }

    pub(crate) fn begin_run(
        &self,
        command: &str,
        plan_digest: Option<&str>,
        approval: Option<Value>,
    ) -> Result<i64> {
        let command = command.to_string();
        let plan_digest = plan_digest.map(str::to_string);
        self.with(move |c, tenant, t| {
            let now = Utc::now();
            let (ended, outcome) = match approval {
                Some(_) => (Some(now), RunOutcome::Succeeded),
                None => (None, RunOutcome::Running),
            };
            c.query_one(
                "INSERT INTO idbridge_runs (tenant, command, started, ended, pid, host, outcome,
                   counts, os_user, plan_digest)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                &[
                    &tenant,
                    &command,
                    &now,
                    &ended,
                    &i64::from(std::process::id()),
                    &lock::host_name(),
                    &outcome.as_str(),
                    &approval,
                    &lock::os_user(),
                    &plan_digest,
                ],
            )
            .and_then(|r| r.try_get(0))
            .map_err(|e| t.error("cannot record the run", &e))
        })
    }

    pub(crate) fn finish_run(&self, run: i64, outcome: RunOutcome, counts: &Value) -> Result<()> {
        let counts = counts.clone();
        self.with(move |c, tenant, t| {
            let n = c
                .execute(
                    "UPDATE idbridge_runs SET ended = $3, outcome = $4, counts = $5
                     WHERE id = $2 AND tenant = $1",
                    &[&tenant, &run, &Utc::now(), &outcome.as_str(), &counts],
                )
                .map_err(|e| t.error("cannot record the end of the run", &e))?;
            if n == 0 {
                return Err(Error::not_found(format!(
                    "no run {run} in state `{}`",
                    t.locator
                )));
            }
            Ok(())
        })
    }

    /// Runs matching `clause` (with `$1` the tenant and `$2` the argument).
    pub(crate) fn runs_where(
        &self,
        clause: &'static str,
        arg: Option<RunArg>,
    ) -> Result<Vec<RunRecord>> {
        self.with(move |c, tenant, t| {
            let sql = format!("SELECT {RUN_COLUMNS} FROM idbridge_runs WHERE tenant = $1 {clause}");
            let rows = match &arg {
                None => query(c, t, "cannot read runs", &sql, &[&tenant])?,
                Some(RunArg::Int(i)) => query(c, t, "cannot read runs", &sql, &[&tenant, i])?,
                Some(RunArg::Text(s)) => query(c, t, "cannot read runs", &sql, &[&tenant, s])?,
            };
            rows.iter().map(|r| run_row(r, t)).collect()
        })
    }

    pub(crate) fn add_hold(
        &self,
        person: String,
        source_id: Option<String>,
        keys: Vec<String>,
        by: String,
        reason: String,
    ) -> Result<Hold> {
        self.with(move |c, tenant, t| {
            let keys = Value::from(keys);
            let sql = format!(
                "INSERT INTO idbridge_holds (tenant, person, source_id, keys, created, created_by,
                   reason) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {HOLD_COLUMNS}"
            );
            let row = c
                .query_one(
                    &sql,
                    &[
                        &tenant,
                        &person,
                        &source_id,
                        &keys,
                        &Utc::now(),
                        &by,
                        &reason,
                    ],
                )
                .map_err(|e| t.error("cannot record the hold", &e))?;
            hold_row(&row, t)
        })
    }

    pub(crate) fn holds(&self) -> Result<Vec<Hold>> {
        self.with(|c, tenant, t| {
            let sql = format!(
                "SELECT {HOLD_COLUMNS} FROM idbridge_holds
                 WHERE tenant = $1 AND lifted IS NULL ORDER BY id"
            );
            query(c, t, "cannot read holds", &sql, &[&tenant])?
                .iter()
                .map(|r| hold_row(r, t))
                .collect()
        })
    }

    pub(crate) fn lift_holds(&self, ids: Vec<i64>, by: String) -> Result<()> {
        self.with(move |c, tenant, t| {
            c.execute(
                "UPDATE idbridge_holds SET lifted = $3, lifted_by = $4
                 WHERE tenant = $1 AND id = ANY($2) AND lifted IS NULL",
                &[&tenant, &ids, &Utc::now(), &by],
            )
            .map(|_| ())
            .map_err(|e| t.error("cannot lift the hold", &e))
        })
    }

    pub(crate) fn plan_key(&self) -> Result<[u8; 32]> {
        self.with(|c, tenant, t| {
            // Drawn here rather than by the server: SQLite's randomblob (seeded from the
            // operating system) is what the file backend uses too.
            let fresh: Vec<u8> = rusqlite::Connection::open_in_memory()
                .and_then(|m| m.query_row("SELECT randomblob(32)", [], |r| r.get(0)))
                .map_err(|e| Error::unavailable(format!("cannot draw a plan key: {e}")))?;
            c.execute(
                "INSERT INTO idbridge_plan_key (tenant, key) VALUES ($1, $2)
                 ON CONFLICT (tenant) DO NOTHING",
                &[&tenant, &fresh],
            )
            .map_err(|e| t.error("cannot create the plan key", &e))?;
            let key: Vec<u8> = c
                .query_one(
                    "SELECT key FROM idbridge_plan_key WHERE tenant = $1",
                    &[&tenant],
                )
                .and_then(|r| r.try_get(0))
                .map_err(|e| t.error("cannot read the plan key", &e))?;
            key.try_into()
                .map_err(|_| corrupt("the plan key is not 32 bytes".to_string()))
        })
    }

    pub(crate) fn lock_holder(&self) -> Result<Option<LockHolder>> {
        self.with(|c, tenant, t| {
            let rows = query(
                c,
                t,
                "cannot read the lock holder",
                "SELECT pid, host, command, started FROM idbridge_lock_holder WHERE tenant = $1",
                &[&tenant],
            )?;
            rows.first()
                .map(|r| {
                    let get = || -> std::result::Result<_, postgres::Error> {
                        Ok((
                            r.try_get::<_, i64>(0)?,
                            r.try_get(1)?,
                            r.try_get(2)?,
                            r.try_get(3)?,
                        ))
                    };
                    let (pid, host, command, started) =
                        get().map_err(|e| t.error("cannot read the lock holder", &e))?;
                    Ok(LockHolder {
                        pid: u32::try_from(pid)
                            .map_err(|_| corrupt(format!("lock holder pid {pid}")))?,
                        host,
                        command,
                        started,
                    })
                })
                .transpose()
        })
    }
}

/// The argument of a [`Pg::runs_where`] clause.
pub(crate) enum RunArg {
    Int(i64),
    Text(String),
}
