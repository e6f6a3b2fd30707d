//! A look at a PostgreSQL state that changes nothing, for `idbridge check`: whether the
//! server answers the configured login, which schema version its tables are at, and who
//! holds the tenant's run lock. Unlike opening the store, it neither migrates nor
//! registers the tenant.

use std::path::Path;

use chrono::{DateTime, Utc};
use idbridge_core::{Error, Result, Secret};

use super::{Conn, LOCK_CLASS, Target};
use crate::LockHolder;

/// What [`probe_postgres`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresProbe {
    /// The server's version (`SHOW server_version`).
    pub server_version: String,
    /// Whether the connection is encrypted (TLS).
    pub encrypted: bool,
    /// The schema version of idbridge's tables; `None` before the first run creates them.
    pub schema_version: Option<i32>,
    /// Whether the tenant is registered (a run, `state migrate` or a store opened it).
    pub tenant_known: bool,
    /// Who holds the tenant's run lock now; `None` when no session holds it.
    pub holder: Option<LockHolder>,
    /// The lock is held by a session that recorded no holder (it is starting up).
    pub held_unnamed: bool,
}

/// Connects to the PostgreSQL state at `locator` (its password from `password`, else the
/// configuration's or `PGPASSWORD`, as [`crate::Store::open`]) and reports on it,
/// writing nothing.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] when the locator is not a usable PostgreSQL URL
/// or its TLS settings are wrong; [`idbridge_core::ErrorKind::Unavailable`] when the
/// server cannot be reached, refuses the login, or a query fails.
pub fn probe_postgres(locator: &Path, password: Option<Secret>) -> Result<PostgresProbe> {
    let text = locator
        .to_str()
        .ok_or_else(|| Error::config(format!("state `{}` is not UTF-8", locator.display())))?;
    let password = password.or_else(|| idbridge_core::config::state_password(locator));
    let conn = Conn::open(Target::parse(text, password)?)?;
    conn.call(|s| {
        let target = s.target.clone();
        look(s.client()?, &target)
    })
}

fn look(c: &mut postgres::Client, t: &Target) -> Result<PostgresProbe> {
    let err = |what: &str, e: postgres::Error| t.error(what, &e);
    let row = c
        .query_one(
            "SELECT current_setting('server_version'),
                    COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false),
                    to_regclass('idbridge_schema_version') IS NOT NULL",
            &[],
        )
        .map_err(|e| err("cannot read the server's version", e))?;
    let server_version: String = row.try_get(0).map_err(|e| err("server version", e))?;
    let encrypted: bool = row.try_get(1).map_err(|e| err("encryption", e))?;
    let has_tables: bool = row.try_get(2).map_err(|e| err("schema", e))?;
    let mut probe = PostgresProbe {
        server_version,
        encrypted,
        schema_version: None,
        tenant_known: false,
        holder: None,
        held_unnamed: false,
    };
    if !has_tables {
        return Ok(probe);
    }
    let version: i32 = c
        .query_one(
            "SELECT version FROM idbridge_schema_version WHERE id = 1",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(|e| err("cannot read the schema version", e))?;
    probe.schema_version = Some(version);
    if version < 1 {
        return Ok(probe);
    }
    let tenant: Option<i32> = c
        .query_opt(
            "SELECT id FROM idbridge_tenants WHERE name = $1",
            &[&t.tenant],
        )
        .and_then(|r| r.map(|r| r.try_get(0)).transpose())
        .map_err(|e| err("cannot read the tenants", e))?;
    let Some(tenant) = tenant else {
        return Ok(probe);
    };
    probe.tenant_known = true;
    // pg_locks shows a two-key advisory lock as classid, objid (as OIDs) and objsubid 2.
    let held: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
               AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted)",
            &[&(LOCK_CLASS as u32), &(tenant as u32)],
        )
        .and_then(|r| r.try_get(0))
        .map_err(|e| err("cannot read the run lock", e))?;
    if !held {
        return Ok(probe);
    }
    let holder = c
        .query_opt(
            "SELECT pid, host, command, started FROM idbridge_lock_holder WHERE tenant = $1",
            &[&tenant],
        )
        .map_err(|e| err("cannot read the lock holder", e))?;
    probe.holder = match holder {
        Some(r) => {
            let pid: i64 = r.try_get(0).map_err(|e| err("lock holder", e))?;
            let started: DateTime<Utc> = r.try_get(3).map_err(|e| err("lock holder", e))?;
            Some(LockHolder {
                pid: u32::try_from(pid)
                    .map_err(|_| crate::corrupt(format!("lock holder pid {pid}")))?,
                host: r.try_get(1).map_err(|e| err("lock holder", e))?,
                command: r.try_get(2).map_err(|e| err("lock holder", e))?,
                started,
            })
        }
        None => None,
    };
    probe.held_unnamed = probe.holder.is_none();
    Ok(probe)
}
