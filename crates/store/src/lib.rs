//! # idbridge-store
//!
//! The sync engine's state, in one embedded SQLite file:
//!
//! - **links**: which target account (or group) belongs to which source record, with a
//!   fingerprint of what idbridge last wrote there;
//! - **the journal**: every operation a run performed on a target, with the record's state
//!   before and after, the outcome and the error;
//! - **runs**: when each run started and ended, what it counted, how it ended;
//! - **the run lock**: at most one run changes targets at a time;
//! - **holds**: people `idbridge offboard` disabled, kept disabled by every later plan
//!   until the hold is lifted.
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

mod holds;
mod lock;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use idbridge_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use holds::{Hold, NewHold};
pub use lock::os_user;
pub use lock::{LockHolder, RunLock};
pub use schema::SCHEMA_VERSION;

/// What a link connects: a user account or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A user account.
    User,
    /// A group.
    Group,
}

impl LinkKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::User => "user",
            LinkKind::Group => "group",
        }
    }
}

/// A source record's counterpart in one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The target's name (the `targets.<name>` table).
    pub target: String,
    /// User or group.
    pub kind: LinkKind,
    /// The source record's stable id.
    pub source_id: String,
    /// The target record's stable id.
    pub target_id: String,
    /// A fingerprint of the desired state idbridge last wrote (or confirmed) in the target.
    pub fingerprint: String,
    /// When the link was last written.
    pub updated: DateTime<Utc>,
}

/// How a journaled operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// About to be attempted: written before a disable or delete, with the record's last
    /// state, so that it is kept even if the process dies during the operation. A later row
    /// of the same run and resource gives the outcome.
    Started,
    /// The target accepted the operation.
    Ok,
    /// The target refused it or could not be reached.
    Failed,
    /// Not attempted because an operation it depends on failed, or the run was stopped.
    Skipped,
}

impl Outcome {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "started" => Ok(Outcome::Started),
            "ok" => Ok(Outcome::Ok),
            "failed" => Ok(Outcome::Failed),
            "skipped" => Ok(Outcome::Skipped),
            other => Err(corrupt(format!("unknown journal outcome `{other}`"))),
        }
    }
}

/// One journal row to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJournalEntry {
    /// The run it belongs to.
    pub run: i64,
    /// The target's name.
    pub target: String,
    /// The operation (`create_user`, `disable_user`, `add_member`, ...).
    pub operation: String,
    /// What it addressed, readably (a login, a group name, `group <- login`).
    pub resource: String,
    /// The record's state before the operation, when there was one.
    pub before: Option<Value>,
    /// The record's state after it, as the target reported it.
    pub after: Option<Value>,
    /// How it ended.
    pub outcome: Outcome,
    /// The error, for failed and skipped operations.
    pub error: Option<String>,
}

/// One journal row as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The row id (increasing).
    pub id: i64,
    /// The run it belongs to.
    pub run: i64,
    /// When it was written.
    pub time: DateTime<Utc>,
    /// The target's name.
    pub target: String,
    /// The operation.
    pub operation: String,
    /// What it addressed.
    pub resource: String,
    /// The record's state before.
    pub before: Option<Value>,
    /// The record's state after.
    pub after: Option<Value>,
    /// How it ended.
    pub outcome: Outcome,
    /// The error, if any.
    pub error: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Still running (or the process died and no later run has noticed yet).
    Running,
    /// Every planned operation succeeded (or nothing needed to change).
    Succeeded,
    /// Some operations failed or a target was refused by a guard.
    Failed,
    /// Stopped on request (SIGINT/SIGTERM) after finishing the operations in flight.
    Stopped,
    /// The process ended without finishing the run (crash, `kill -9`); set by the next run.
    Interrupted,
}

impl RunOutcome {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Stopped => "stopped",
            RunOutcome::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "running" => Ok(RunOutcome::Running),
            "succeeded" => Ok(RunOutcome::Succeeded),
            "failed" => Ok(RunOutcome::Failed),
            "stopped" => Ok(RunOutcome::Stopped),
            "interrupted" => Ok(RunOutcome::Interrupted),
            other => Err(corrupt(format!("unknown run outcome `{other}`"))),
        }
    }
}

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run id (increasing).
    pub id: i64,
    /// The command that started it (`apply`, `sync`, `offboard`).
    pub command: String,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended, if it did.
    pub ended: Option<DateTime<Utc>>,
    /// The process id that ran it.
    pub pid: u32,
    /// The host it ran on.
    pub host: String,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Counts per target and operation, as the engine reported them.
    pub counts: Option<Value>,
    /// The operating-system user who ran it (`None` for runs recorded before idbridge
    /// kept it).
    #[serde(default)]
    pub os_user: Option<String>,
    /// The SHA-256 digest (hex) of the plan it applied, when it applied one.
    #[serde(default)]
    pub plan_digest: Option<String>,
}

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

/// The state database. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
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

fn parse_json(s: Option<String>) -> Result<Option<Value>> {
    s.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(format!("JSON column: {e}"))))
        .transpose()
}

fn to_json_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(Value::to_string)
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
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| db_error(path, "cannot open", &e))?;
        let path_buf = path.to_path_buf();
        let err = |what: &str, e: rusqlite::Error| db_error(&path_buf, what, &e);
        // Wait for another process's write (or migration) rather than fail at once.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| err("cannot set the busy timeout", e))?;
        // WAL so that `idbridge journal` and `plan` can read while a run writes.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| err("cannot switch to WAL mode", e))?;
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
                conn: Mutex::new(conn),
            }),
        };
        {
            let mut conn = store.conn();
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
                conn: Mutex::new(conn),
            }),
        };
        {
            let mut conn = store.conn();
            schema::migrate(&mut conn, &path)?;
        }
        Ok(store)
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-applied change behind (every
        // change is one SQLite transaction), so a poisoned mutex is safe to reuse.
        self.inner
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn error(&self, what: &str, e: &rusqlite::Error) -> Error {
        db_error(&self.inner.path, what, e)
    }

    /// The schema version of the open file.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.error("cannot read the schema version", &e))
    }

    /// Every link of one target and kind.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn links(&self, target: &str, kind: LinkKind) -> Result<Vec<Link>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT source_id, target_id, fingerprint, updated FROM links
                 WHERE target = ?1 AND kind = ?2 ORDER BY source_id",
            )
            .map_err(|e| self.error("cannot read links", &e))?;
        let rows = stmt
            .query_map(params![target, kind.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.error("cannot read links", &e))?;
        let mut out = Vec::new();
        for row in rows {
            let (source_id, target_id, fingerprint, updated) =
                row.map_err(|e| self.error("cannot read links", &e))?;
            out.push(Link {
                target: target.to_string(),
                kind,
                source_id,
                target_id,
                fingerprint,
                updated: parse_time(&updated)?,
            });
        }
        Ok(out)
    }

    /// The link of one source record in one target, if any.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn link(&self, target: &str, kind: LinkKind, source_id: &str) -> Result<Option<Link>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT target_id, fingerprint, updated FROM links
                 WHERE target = ?1 AND kind = ?2 AND source_id = ?3",
                params![target, kind.as_str(), source_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.error("cannot read a link", &e))?;
        row.map(|(target_id, fingerprint, updated)| {
            Ok(Link {
                target: target.to_string(),
                kind,
                source_id: source_id.to_string(),
                target_id,
                fingerprint,
                updated: parse_time(&updated)?,
            })
        })
        .transpose()
    }

    /// Applies `writes` in one transaction, durable on disk when this returns.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the transaction cannot be committed; then none of
    /// the writes took effect.
    pub fn commit(&self, writes: &[Write]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
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

    /// Records the start of a run and returns its id. Call it while holding the
    /// [`RunLock`].
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be written.
    pub fn begin_run(&self, command: &str) -> Result<i64> {
        self.begin_run_with_plan(command, None)
    }

    /// Like [`Store::begin_run`], also recording the digest of the plan the run applies
    /// (see `Plan::digest` in the sync engine). Both record the operating-system user
    /// running this process.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be written.
    pub fn begin_run_with_plan(&self, command: &str, plan_digest: Option<&str>) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO runs (command, started, pid, host, outcome, os_user, plan_digest)
             VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6)",
            params![
                command,
                now_text(),
                std::process::id(),
                lock::host_name(),
                lock::os_user(),
                plan_digest
            ],
        )
        .map_err(|e| self.error("cannot record the run", &e))?;
        Ok(conn.last_insert_rowid())
    }

    /// Records the end of a run with its outcome and counts.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be written; [`ErrorKind::NotFound`]
    /// when there is no such run.
    pub fn finish_run(&self, run: i64, outcome: RunOutcome, counts: &Value) -> Result<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE runs SET ended = ?2, outcome = ?3, counts = ?4 WHERE id = ?1",
                params![run, now_text(), outcome.as_str(), counts.to_string()],
            )
            .map_err(|e| self.error("cannot record the end of the run", &e))?;
        if n == 0 {
            return Err(Error::not_found(format!("no run {run} in the state file")));
        }
        Ok(())
    }

    /// The most recent runs, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query_runs(
            "SELECT id, command, started, ended, pid, host, outcome, counts, os_user, plan_digest
             FROM runs ORDER BY id DESC LIMIT ?1",
            params![limit],
        )
    }

    /// One run by id.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        Ok(self
            .query_runs(
                "SELECT id, command, started, ended, pid, host, outcome, counts, os_user,
                 plan_digest FROM runs WHERE id = ?1",
                params![id],
            )?
            .into_iter()
            .next())
    }

    /// The earliest run that applied the plan with this digest (see
    /// [`Store::begin_run_with_plan`]), if any.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn run_of_plan(&self, plan_digest: &str) -> Result<Option<RunRecord>> {
        Ok(self
            .query_runs(
                "SELECT id, command, started, ended, pid, host, outcome, counts, os_user,
                 plan_digest FROM runs WHERE plan_digest = ?1 AND command != 'approve'
                 ORDER BY id LIMIT 1",
                params![plan_digest],
            )?
            .into_iter()
            .next())
    }

    /// Records that the operating-system user running this process approved the plan
    /// with this digest: a finished run of command `approve` (so the journal lists it with
    /// who and when), its counts naming the plan's maker. Returns the run's id.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be written.
    pub fn record_approval(&self, plan_digest: &str, made_by: Option<&str>) -> Result<i64> {
        let conn = self.conn();
        let now = now_text();
        let counts = serde_json::json!({ "approved": plan_digest, "made_by": made_by });
        conn.execute(
            "INSERT INTO runs (command, started, ended, pid, host, outcome, counts, os_user,
                               plan_digest)
             VALUES ('approve', ?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                now,
                std::process::id(),
                lock::host_name(),
                RunOutcome::Succeeded.as_str(),
                counts.to_string(),
                lock::os_user(),
                plan_digest
            ],
        )
        .map_err(|e| self.error("cannot record the approval", &e))?;
        Ok(conn.last_insert_rowid())
    }

    /// The approvals of the plan with this digest (see [`Store::record_approval`]),
    /// oldest first.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn approvals(&self, plan_digest: &str) -> Result<Vec<RunRecord>> {
        self.query_runs(
            "SELECT id, command, started, ended, pid, host, outcome, counts, os_user, plan_digest
             FROM runs WHERE plan_digest = ?1 AND command = 'approve' ORDER BY id",
            params![plan_digest],
        )
    }

    /// The secret key that seals saved plans: 32 random bytes, made in the state file on
    /// first use and never shown. Whoever can read the state file can read it; a plan
    /// sealed with it proves that an idbridge with this state file wrote it.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read or written.
    pub fn plan_key(&self) -> Result<[u8; 32]> {
        let conn = self.conn();
        // SQLite's randomblob draws from the operating system's random source.
        conn.execute(
            "INSERT OR IGNORE INTO plan_key (id, key) VALUES (1, randomblob(32))",
            [],
        )
        .map_err(|e| self.error("cannot create the plan key", &e))?;
        let key: Vec<u8> = conn
            .query_row("SELECT key FROM plan_key WHERE id = 1", [], |r| r.get(0))
            .map_err(|e| self.error("cannot read the plan key", &e))?;
        key.try_into()
            .map_err(|_| corrupt("the plan key is not 32 bytes".to_string()))
    }

    fn query_runs(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(|e| self.error("cannot read runs", &e))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })
            .map_err(|e| self.error("cannot read runs", &e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, command, started, ended, pid, host, outcome, counts, os_user, plan_digest) =
                row.map_err(|e| self.error("cannot read runs", &e))?;
            out.push(RunRecord {
                id,
                command,
                started: parse_time(&started)?,
                ended: ended.as_deref().map(parse_time).transpose()?,
                pid,
                host,
                outcome: RunOutcome::parse(&outcome)?,
                counts: parse_json(counts)?,
                os_user,
                plan_digest,
            });
        }
        Ok(out)
    }

    /// Journal rows in write order: of one run, or of every run.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the file cannot be read.
    pub fn journal(&self, run: Option<i64>) -> Result<Vec<JournalEntry>> {
        let conn = self.conn();
        let sql = "SELECT id, run, time, target, operation, resource, state_before, state_after, outcome, error
                   FROM journal WHERE (?1 IS NULL OR run = ?1) ORDER BY id";
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(|e| self.error("cannot read the journal", &e))?;
        let rows = stmt
            .query_map(params![run], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })
            .map_err(|e| self.error("cannot read the journal", &e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, run, time, target, operation, resource, before, after, outcome, error) =
                row.map_err(|e| self.error("cannot read the journal", &e))?;
            out.push(JournalEntry {
                id,
                run,
                time: parse_time(&time)?,
                target,
                operation,
                resource,
                before: parse_json(before)?,
                after: parse_json(after)?,
                outcome: Outcome::parse(&outcome)?,
                error,
            });
        }
        Ok(out)
    }

    /// Writes a consistent copy of the whole state file to `dest` (which must not exist),
    /// safe to run while a run is writing.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the copy cannot be written.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        let dest_text = dest.to_str().ok_or_else(|| {
            Error::invalid_input(format!(
                "backup path `{}` is not valid UTF-8",
                dest.display()
            ))
        })?;
        self.conn()
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
