//! The exclusive run lock.
//!
//! The lock itself is an exclusive SQLite transaction held on a side file,
//! `<state>.lock`: SQLite takes an operating-system file lock for it, and the operating system
//! releases that lock when the holding process ends, however it ends. A stale lock is
//! therefore impossible by construction: when the holder's PID is gone, so is its lock.
//!
//! The holder's identity (PID, host, command, start time) is written into the state file's
//! `lock_holder` row, which the state file's WAL mode lets a second process read while the
//! first writes, so the refusal can name the running process. When the lock is taken,
//! runs left `running` by a process that died are marked `interrupted`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use idbridge_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::{Store, db_error, now_text, parse_time};

/// Who holds (or last held) the run lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    /// The holder's process id.
    pub pid: u32,
    /// The holder's host name.
    pub host: String,
    /// The command it runs (`apply`, `sync`, ...).
    pub command: String,
    /// When it took the lock.
    pub started: DateTime<Utc>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`idbridge {}` (PID {} on host {}, started {})",
            self.command,
            self.pid,
            self.host,
            self.started.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// The exclusive right to change targets, held until dropped.
///
/// Dropping it clears the holder record and releases the lock. If the process dies
/// instead, the operating system releases the lock and the next [`Store::lock`] takes over.
pub struct RunLock {
    store: Store,
    guard: Option<Guard>,
    holder: LockHolder,
}

enum Guard {
    // Holds the open exclusive transaction; closing the connection releases the lock.
    Sqlite(Connection),
    // The advisory lock's own connection.
    Postgres(Box<crate::pg::lock::PgLock>),
}

impl std::fmt::Debug for RunLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunLock")
            .field("holder", &self.holder)
            .finish()
    }
}

impl RunLock {
    /// Who holds it (this process).
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    /// Whether the lock is still this process's. A SQLite lock is, for as long as the
    /// `RunLock` lives; a PostgreSQL lock is lost when its connection ends (a network cut,
    /// a server restart, `pg_terminate_backend`), after which the server may have given it
    /// to another worker. A lost lock stays lost: drop it and take the lock again.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] when the server cannot be asked.
    pub fn is_held(&self) -> Result<bool> {
        match (&self.guard, self.store.pg()) {
            (Some(Guard::Postgres(lock)), Some(pg)) => pg.lock_held_by(lock.backend),
            (Some(_), _) => Ok(true),
            (None, _) => Ok(false),
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let pid = self.holder.pid;
        let cleared = match self.store.pg() {
            Some(pg) => pg.clear_holder(&self.holder),
            None => self.store.conn().and_then(|c| {
                c.execute(
                    "DELETE FROM lock_holder WHERE id = 1 AND pid = ?1",
                    params![pid],
                )
                .map(|_| ())
                .map_err(|e| self.store.error("cannot clear the holder", &e))
            }),
        };
        if let Err(e) = cleared {
            tracing::warn!(error = %e, "could not clear the run lock holder record");
        }
        match self.guard.take() {
            Some(Guard::Sqlite(conn)) => {
                // Rolling back ends the exclusive transaction; closing releases the file lock.
                let _ = conn.execute_batch("ROLLBACK");
                drop(conn);
            }
            Some(Guard::Postgres(lock)) => {
                if let Some(pg) = self.store.pg() {
                    pg.set_lock_backend(None);
                }
                lock.release();
            }
            None => {}
        }
    }
}

/// The path of the lock side file for a state file.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// This machine's host name, or `unknown`.
pub(crate) fn host_name() -> String {
    for var in ["HOSTNAME", "COMPUTERNAME"] {
        if let Ok(h) = std::env::var(var) {
            if !h.trim().is_empty() {
                return h.trim().to_string();
            }
        }
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The operating-system user running this process: on Unix the account name of its user
/// id (from the password database), else `USER`/`LOGNAME`/`USERNAME`, else `uid N`, else
/// `unknown`.
pub fn os_user() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // The owner of /proc/self is this process's real user; unlike `USER`, it cannot
        // be set by whoever starts the process.
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            let uid = meta.uid();
            return passwd_name(uid).unwrap_or_else(|| format!("uid {uid}"));
        }
    }
    for var in ["USER", "LOGNAME", "USERNAME"] {
        if let Ok(u) = std::env::var(var) {
            if !u.trim().is_empty() {
                return u.trim().to_string();
            }
        }
    }
    "unknown".to_string()
}

/// The account name of `uid` in /etc/passwd, when it is listed there (directory services
/// may hold accounts it does not list).
#[cfg(unix)]
fn passwd_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// Whether a process with this id runs on this machine: `Some` where it can be told
/// (Linux, through /proc), `None` elsewhere.
fn pid_alive(pid: u32) -> Option<bool> {
    let proc_root = Path::new("/proc/self");
    if !proc_root.exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

impl Store {
    /// Takes the exclusive run lock for `command`, or fails at once.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Conflict`] naming the running process (PID, host,
    /// command, start time) when another run holds the lock;
    /// [`idbridge_core::ErrorKind::Unavailable`] when the lock file cannot be opened.
    ///
    /// On PostgreSQL the lock is the tenant's advisory lock (see the crate docs); the
    /// refusal names the holder on whichever machine it runs.
    pub fn lock(&self, command: &str) -> Result<RunLock> {
        if let Some(pg) = self.pg() {
            let Some(guard) = pg.try_lock()? else {
                return Err(self.held_error());
            };
            let holder = LockHolder {
                pid: std::process::id(),
                host: host_name(),
                command: command.to_string(),
                // The server keeps microseconds: what it stores is what is read back.
                started: chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
            };
            let interrupted = pg.record_holder(&holder)?;
            pg.set_lock_backend(Some(guard.backend));
            if interrupted > 0 {
                tracing::warn!(
                    runs = interrupted,
                    "found runs that ended without finishing (crash or kill); marked interrupted"
                );
            }
            return Ok(RunLock {
                store: self.clone(),
                guard: Some(Guard::Postgres(Box::new(guard))),
                holder,
            });
        }
        let path = lock_path(self.path());
        let conn = Connection::open(&path)
            .map_err(|e| db_error(&path, "cannot open the lock file", &e))?;
        // Fail at once instead of waiting for the other run to finish.
        conn.busy_timeout(std::time::Duration::ZERO)
            .map_err(|e| db_error(&path, "cannot configure the lock file", &e))?;
        if let Err(e) = conn.execute_batch("BEGIN EXCLUSIVE") {
            let busy = matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            );
            if !busy {
                return Err(db_error(&path, "cannot take the run lock", &e));
            }
            return Err(self.held_error());
        }
        let holder = LockHolder {
            pid: std::process::id(),
            host: host_name(),
            command: command.to_string(),
            started: Utc::now(),
        };
        {
            let mut main = self.conn()?;
            let tx = main
                .transaction()
                .map_err(|e| self.error("cannot record the lock holder", &e))?;
            let interrupted = tx
                .execute(
                    "UPDATE runs SET outcome = 'interrupted', ended = ?1 WHERE outcome = 'running'",
                    params![now_text()],
                )
                .map_err(|e| self.error("cannot close interrupted runs", &e))?;
            if interrupted > 0 {
                tracing::warn!(
                    runs = interrupted,
                    "found runs that ended without finishing (crash or kill); marked interrupted"
                );
            }
            tx.execute(
                "INSERT OR REPLACE INTO lock_holder (id, pid, host, command, started)
                 VALUES (1, ?1, ?2, ?3, ?4)",
                params![
                    holder.pid,
                    holder.host,
                    holder.command,
                    holder.started.to_rfc3339()
                ],
            )
            .and_then(|_| tx.commit())
            .map_err(|e| self.error("cannot record the lock holder", &e))?;
        }
        Ok(RunLock {
            store: self.clone(),
            guard: Some(Guard::Sqlite(conn)),
            holder,
        })
    }

    /// Who holds the run lock according to the state file, if anyone recorded it.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] when the file cannot be read.
    pub fn lock_holder(&self) -> Result<Option<LockHolder>> {
        if let Some(pg) = self.pg() {
            return pg.lock_holder();
        }
        let row = self
            .conn()?
            .query_row(
                "SELECT pid, host, command, started FROM lock_holder WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, u32>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.error("cannot read the lock holder", &e))?;
        row.map(|(pid, host, command, started)| {
            Ok(LockHolder {
                pid,
                host,
                command,
                started: parse_time(&started)?,
            })
        })
        .transpose()
    }

    fn held_error(&self) -> Error {
        let state = self.path().display();
        if self.pg().is_some() {
            return match self.lock_holder() {
                Ok(Some(holder)) => Error::conflict(format!(
                    "another run is in progress on state `{state}`: {holder}; \
                     wait for it to finish or stop it"
                )),
                Ok(None) => Error::conflict(format!(
                    "another run is in progress on state `{state}` (it is starting up); \
                     wait for it to finish or stop it"
                )),
                Err(e) => Error::conflict(format!(
                    "another run is in progress on state `{state}` (its details cannot be read: {e})"
                )),
            };
        }
        match self.lock_holder() {
            Ok(Some(holder)) => {
                let mut msg = format!(
                    "another run is in progress on state file `{state}`: {holder}; \
                     wait for it to finish or stop it"
                );
                if holder.host == host_name() && pid_alive(holder.pid) == Some(false) {
                    // The OS lock is still held, so some process owns it, but not the PID on
                    // record: most likely a child the recorded process left behind.
                    msg.push_str(&format!(
                        " (PID {} no longer exists; another process holds `{}`)",
                        holder.pid,
                        lock_path(self.path()).display()
                    ));
                }
                Error::conflict(msg)
            }
            Ok(None) => Error::conflict(format!(
                "another run is in progress on state file `{state}` (it is starting up); \
                 wait for it to finish or stop it"
            )),
            Err(e) => Error::conflict(format!(
                "another run is in progress on state file `{state}` (its details cannot be read: {e})"
            )),
        }
    }
}
