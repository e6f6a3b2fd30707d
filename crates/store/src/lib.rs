//! # idbridge-store
//!
//! The sync engine's state, in one embedded SQLite file (the default) or in a PostgreSQL
//! database shared by many tenants and workers (see [`Store::open`] and the `pg` module):
//!
//! - **links**: which target account (or group) belongs to which source record, with a
//!   fingerprint of what idbridge last wrote there;
//! - **the journal**: every operation a run performed on a target, with the record's state
//!   before and after, the outcome and the error;
//! - **runs**: when each run started and ended, what it counted, how it ended;
//! - **the run lock**: at most one run changes targets at a time;
//! - **holds**: people `idbridge offboard` disabled, kept disabled by every later plan
//!   until the hold is lifted;
//! - **the SCIM inbox**: the users and groups an identity provider pushed to
//!   `idbridge serve`, with a change sequence the fan-out follows.
//!
//! # Example
//!
//! The engine opens the store itself (`idbridge_sync::open_store`); a program reads it to
//! show what runs did:
//!
//! ```
//! use idbridge_store::Store;
//!
//! let dir = tempfile::tempdir().expect("a temporary directory");
//! let store = Store::open(&dir.path().join("state.db"))?;
//! let lock = store.lock("report")?;
//! assert_eq!(lock.holder().command, "report");
//! // A second run is refused while the lock is held.
//! assert!(store.lock("sync").is_err());
//! drop(lock);
//! assert!(store.runs(10)?.is_empty());
//! # Ok::<(), idbridge_core::Error>(())
//! ```
//!
//! # Next
//!
//! `idbridge-sync` writes this state while it applies a plan; `idbridge-core` has the
//! configuration that names the state file (`state`).
//!
//! # Durability
//! The database runs in WAL mode with `synchronous = FULL`: every commit is on disk (the WAL
//! is fsynced) before [`Store::commit`] returns. `NORMAL` would be faster, but in WAL mode it
//! only makes commits durable at the next checkpoint, so a power loss could roll back the
//! journal row holding a disabled account's last state or the link of an account that was
//! just created. The sync engine amortises the fsync by committing the results that finish
//! together in one transaction ([`Store::commit`] takes a batch).
//!
//! # The run lock
//! [`Store::lock`] takes an exclusive SQLite lock on a side file (`<state>.lock`) and keeps it
//! for the life of the returned [`RunLock`]. The operating system drops the lock when the
//! holding process ends in any way (including `kill -9`), so a lock can never outlive its
//! run. Who holds it (PID, host, command, start time) is recorded in the state file, so a
//! second run stops at once with a message naming the first.
//!
//! # PostgreSQL
//! A `state` of `postgres://user@host:port/db?tenant=acme` keeps the same state in shared
//! tables, every row scoped by its tenant, with the same guarantees: each batch is one
//! transaction committed with `synchronous_commit = on` before [`Store::commit`] returns,
//! versioned migrations of its own, and the run lock is a session-level advisory lock per
//! tenant on a connection held for the run, so a worker that dies releases it. Each
//! connection lives on a thread of its own (the `pg` module says why), so the API stays
//! synchronous and safe to call from async code.

mod commit;
mod holds;
mod inbox;
mod journal;
mod json_text;
mod links;
mod lock;
mod pg;
mod runs;
mod schema;
mod seal_key;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use idbridge_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, params};
use serde_json::Value;

pub use commit::Write;
pub use holds::{Hold, NewHold};
pub use inbox::{InboxEntry, InboxKind, InboxWrite};
pub use journal::{JournalEntry, NewJournalEntry, Outcome};
pub use json_text::JsonText;
pub use links::{Link, LinkKind};
pub use lock::os_user;
pub use lock::{LockHolder, RunLock};
pub use pg::POSTGRES_SCHEMA_VERSION;
pub use pg::probe::{PostgresProbe, probe_postgres};
pub use pg::transfer::CopyCounts;
pub use runs::{RunOutcome, RunRecord};
pub use schema::SCHEMA_VERSION;

/// The state database. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    backend: Backend,
}

enum Backend {
    Sqlite(Mutex<Connection>),
    Postgres(Box<pg::Pg>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

pub(crate) fn corrupt(msg: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("the state file holds an unexpected value: {msg}"),
    )
}

pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(format!("time `{s}`: {e}")))
}

pub(crate) fn parse_json(s: Option<String>) -> Result<Option<Value>> {
    s.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(format!("JSON column: {e}"))))
        .transpose()
}

pub(crate) fn to_json_text(v: &Option<JsonText>) -> Option<&str> {
    v.as_ref().map(JsonText::as_str)
}

impl Store {
    /// Opens (creating if needed) the state file at `path` and brings its schema up to date.
    ///
    /// The parent directory must exist.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be opened or written;
    /// [`ErrorKind::Config`] when it was written by a newer idbridge (a higher schema
    /// version than this build knows).
    ///
    /// A `path` that is a PostgreSQL locator (`postgres://...`, see
    /// [`idbridge_core::config::is_postgres_state`]) opens that database instead, as
    /// [`Store::open_postgres`] does with the password a loaded configuration gave for it
    /// ([`idbridge_core::config::state_password`]), else `PGPASSWORD`.
    pub fn open(path: &Path) -> Result<Store> {
        if idbridge_core::config::is_postgres_state(path) {
            return Self::open_postgres(path, idbridge_core::config::state_password(path));
        }
        let conn = Connection::open(path).map_err(|e| db_error(path, "cannot open", &e))?;
        let path_buf = path.to_path_buf();
        let err = |what: &str, e: rusqlite::Error| db_error(&path_buf, what, &e);
        // Wait for another process's write (or migration) rather than fail at once.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| err("cannot set the busy timeout", e))?;
        // WAL so that `idbridge journal` and `plan` can read while a run writes.
        // SQLite answers a journal-mode switch that races another connection's with
        // SQLITE_BUSY at once, without its busy handler, so the wait is ours: a new state
        // file opened by two processes at once must open in both.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mode: String = loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other.map_err(|e| err("cannot switch to WAL mode", e))?,
            }
        };
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::unavailable(format!(
                "state file `{}`: the file system does not support WAL mode (got `{mode}`)",
                path.display()
            )));
        }
        // See the crate docs for why FULL and not NORMAL.
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
        )
        .map_err(|e| err("cannot set pragmas", e))?;
        let store = Store {
            inner: Arc::new(Inner {
                path: path_buf.clone(),
                backend: Backend::Sqlite(Mutex::new(conn)),
            }),
        };
        {
            let mut conn = store.conn()?;
            schema::migrate(&mut conn, &path_buf)?;
        }
        Ok(store)
    }

    /// A state database in memory, with the current schema and no links or runs: what a
    /// first run sees, without a file. For `idbridge check`, which plans without writing.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when SQLite cannot set it up.
    pub fn open_in_memory() -> Result<Store> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory()
            .map_err(|e| db_error(&path, "cannot open an in-memory database", &e))?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(|e| db_error(&path, "cannot set pragmas", &e))?;
        let store = Store {
            inner: Arc::new(Inner {
                path: path.clone(),
                backend: Backend::Sqlite(Mutex::new(conn)),
            }),
        };
        {
            let mut conn = store.conn()?;
            schema::migrate(&mut conn, &path)?;
        }
        Ok(store)
    }

    /// Opens the PostgreSQL state at `locator` (`postgres://user@host:port/db?tenant=acme`;
    /// the tenant defaults to [`idbridge_core::config::DEFAULT_TENANT`]), with `password`
    /// (else the `PGPASSWORD` environment variable, else none), brings its schema up to
    /// date and registers the tenant.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the locator is not a PostgreSQL URL, holds a password, or
    /// the database has a newer schema than this build knows; [`ErrorKind::Unavailable`]
    /// when the server cannot be reached or refuses the login.
    pub fn open_postgres(locator: &Path, password: Option<idbridge_core::Secret>) -> Result<Store> {
        let pg = pg::Pg::open(locator, password)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: locator.to_path_buf(),
                backend: Backend::Postgres(Box::new(pg)),
            }),
        })
    }

    /// The state file's path, or the PostgreSQL locator (with its tenant, never a
    /// password).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether this state lives in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.pg().is_some()
    }

    /// The tenant of a PostgreSQL state; `None` for a SQLite file (which holds one).
    pub fn tenant(&self) -> Option<&str> {
        self.pg().map(|p| p.conn.target.tenant.as_str())
    }

    pub(crate) fn pg(&self) -> Option<&pg::Pg> {
        match &self.inner.backend {
            Backend::Postgres(p) => Some(p),
            Backend::Sqlite(_) => None,
        }
    }

    pub(crate) fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        match &self.inner.backend {
            // A panic while holding the lock cannot leave a half-applied change behind
            // (every change is one SQLite transaction), so a poisoned mutex is safe to reuse.
            Backend::Sqlite(m) => Ok(m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)),
            Backend::Postgres(_) => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "state `{}` is a PostgreSQL database, not a SQLite file",
                    self.inner.path.display()
                ),
            )),
        }
    }

    pub(crate) fn error(&self, what: &str, e: &rusqlite::Error) -> Error {
        db_error(&self.inner.path, what, e)
    }

    /// The schema version of the open file ([`SCHEMA_VERSION`] when up to date), or of the
    /// PostgreSQL database ([`POSTGRES_SCHEMA_VERSION`]).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn schema_version(&self) -> Result<i64> {
        if let Some(pg) = self.pg() {
            return pg.schema_version();
        }
        self.conn()?
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.error("cannot read the schema version", &e))
    }

    /// Writes a consistent copy of the whole state file to `dest` (which must not exist),
    /// safe to run while a run is writing.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the copy cannot be written.
    /// A PostgreSQL state is refused: back it up with the server's tools (`pg_dump`).
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        if self.pg().is_some() {
            return Err(Error::invalid_input(format!(
                "state `{}` is a PostgreSQL database: back it up with pg_dump",
                self.path().display()
            )));
        }
        let dest_text = dest.to_str().ok_or_else(|| {
            Error::invalid_input(format!(
                "backup path `{}` is not valid UTF-8",
                dest.display()
            ))
        })?;
        self.conn()?
            .execute("VACUUM INTO ?1", params![dest_text])
            .map(|_| ())
            .map_err(|e| self.error(&format!("cannot back up to `{}`", dest.display()), &e))
    }
}

pub(crate) fn db_error(path: &Path, what: &str, e: &rusqlite::Error) -> Error {
    Error::unavailable(format!("state file `{}`: {what}: {e}", path.display()))
        .with_retryable(false)
}

#[cfg(test)]
mod tests;
