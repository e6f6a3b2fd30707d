//! The run lock on PostgreSQL: a session-level advisory lock keyed by idbridge's lock
//! class and the tenant's id, taken on a connection of its own that lives as long as the
//! [`RunLock`](crate::RunLock).
//!
//! The server releases a session lock when its connection ends, so a worker that dies
//! (crash, `kill -9`, a machine lost) releases it as soon as the server notices the closed
//! connection: at once when the worker's kernel closed it, and for a machine that vanished
//! without closing it, when the server's TCP keepalive (`tcp_keepalives_idle` and friends)
//! gives up on it. The holder (PID, host, command, start) is written to
//! `idbridge_lock_holder` through the store's own connection, where a refused worker on any
//! machine reads it.
//!
//! If the lock's connection drops while the run goes on (a network cut, a server restart,
//! an administrator's `pg_terminate_backend`), the server releases the lock and another
//! worker may take the tenant. So every [`Store::commit`](crate::Store::commit) of a store
//! holding the lock checks, inside its transaction, that the lock's server process still
//! holds it, and fails (writing nothing) when it does not: the run stops instead of
//! running alongside another.

use chrono::Utc;
use idbridge_core::Result;

use super::{Conn, LOCK_CLASS, Pg, Target};
use crate::LockHolder;

/// The lock's own connection.
pub(crate) struct PgLock {
    conn: Conn,
    tenant_id: i32,
    /// The lock connection's server process id.
    pub(crate) backend: i32,
}

impl PgLock {
    /// Releases the lock and closes its connection (closing alone would release it too).
    pub(crate) fn release(self) {
        let tenant = self.tenant_id;
        let released = self.conn.call(move |s| {
            let target = s.target.clone();
            s.client()?
                .execute("SELECT pg_advisory_unlock($1, $2)", &[&LOCK_CLASS, &tenant])
                .map_err(|e| target.error("cannot release the run lock", &e))
        });
        if let Err(e) = released {
            tracing::warn!(error = %e, "releasing the run lock failed; closing its connection releases it");
        }
    }
}

impl Pg {
    /// Records (or, with `None`, forgets) the server process holding this store's lock,
    /// for the check of every commit.
    pub(crate) fn set_lock_backend(&self, backend: Option<i32>) {
        *self
            .lock_backend
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = backend;
    }

    /// Whether server process `backend` still holds the tenant's run lock.
    pub(crate) fn lock_held_by(&self, backend: i32) -> Result<bool> {
        self.with(move |c, tenant, t| {
            c.query_one(HELD_BY, &[&(LOCK_CLASS as u32), &(tenant as u32), &backend])
                .and_then(|r| r.try_get(0))
                .map_err(|e| t.error("cannot check the run lock", &e))
        })
    }

    /// Tries the advisory lock; `Ok(None)` when another session holds it.
    pub(crate) fn try_lock(&self) -> Result<Option<PgLock>> {
        let conn = Conn::open(self.conn.target.clone())?;
        let tenant = self.tenant_id;
        let (got, backend) = conn.call(move |s| {
            let target = s.target.clone();
            s.client()?
                .query_one(
                    "SELECT pg_try_advisory_lock($1, $2), pg_backend_pid()",
                    &[&LOCK_CLASS, &tenant],
                )
                .and_then(|r| Ok((r.try_get::<_, bool>(0)?, r.try_get::<_, i32>(1)?)))
                .map_err(|e| target.error("cannot take the run lock", &e))
        })?;
        Ok(got.then_some(PgLock {
            conn,
            tenant_id: tenant,
            backend,
        }))
    }

    /// Marks the tenant's runs left `running` as interrupted and records the holder, in
    /// one transaction; returns how many runs were marked.
    pub(crate) fn record_holder(&self, holder: &LockHolder) -> Result<u64> {
        let holder = holder.clone();
        self.with(move |c, tenant, t| {
            let err = |what: &str, e: postgres::Error| t.error(what, &e);
            let mut tx = c
                .transaction()
                .map_err(|e| err("cannot record the lock holder", e))?;
            let interrupted = tx
                .execute(
                    "UPDATE idbridge_runs SET outcome = 'interrupted', ended = $2
                     WHERE tenant = $1 AND outcome = 'running'",
                    &[&tenant, &Utc::now()],
                )
                .map_err(|e| err("cannot close interrupted runs", e))?;
            tx.execute(
                "INSERT INTO idbridge_lock_holder (tenant, pid, host, command, started)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant) DO UPDATE SET pid = excluded.pid, host = excluded.host,
                   command = excluded.command, started = excluded.started",
                &[
                    &tenant,
                    &i64::from(holder.pid),
                    &holder.host,
                    &holder.command,
                    &holder.started,
                ],
            )
            .map_err(|e| err("cannot record the lock holder", e))?;
            tx.commit()
                .map_err(|e| err("cannot record the lock holder", e))?;
            Ok(interrupted)
        })
    }

    /// Clears the holder record if it still names `holder`.
    pub(crate) fn clear_holder(&self, holder: &LockHolder) -> Result<()> {
        let holder = holder.clone();
        self.with(move |c, tenant, t| {
            c.execute(
                "DELETE FROM idbridge_lock_holder
                 WHERE tenant = $1 AND pid = $2 AND host = $3",
                &[&tenant, &i64::from(holder.pid), &holder.host],
            )
            .map(|_| ())
            .map_err(|e| t.error("cannot clear the lock holder", &e))
        })
    }
}

/// Whether server process `$3` holds the run lock of tenant `$2` (lock class `$1`):
/// pg_locks shows a two-key advisory lock as classid, objid (as OIDs) and objsubid 2.
const HELD_BY: &str = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
    AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted AND pid = $3)";

/// Fails unless server process `backend` still holds the tenant's run lock.
pub(crate) fn check_held(
    tx: &mut postgres::Transaction<'_>,
    tenant: i32,
    backend: i32,
    t: &Target,
) -> Result<()> {
    let held: bool = tx
        .query_one(HELD_BY, &[&(LOCK_CLASS as u32), &(tenant as u32), &backend])
        .and_then(|r| r.try_get(0))
        .map_err(|e| t.error("cannot check the run lock", &e))?;
    if held {
        Ok(())
    } else {
        Err(idbridge_core::Error::conflict(format!(
            "state `{}`: the run lock was lost (its database connection ended); \
             stopping so that no other run works alongside this one",
            t.locator
        ))
        .with_retryable(false))
    }
}
