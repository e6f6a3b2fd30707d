//! Versioned schema migrations, tracked in SQLite's `user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the schema from version `i` to `i + 1` and runs in
//! one transaction with the version bump, so a crash during a migration leaves the file at
//! the old version, intact. Migrations are append-only: never edit a shipped one.

use std::path::Path;

use idbridge_core::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};

use crate::db_error;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: links, journal, runs, the lock holder.
    "CREATE TABLE links (
        target      TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('user', 'group')),
        source_id   TEXT NOT NULL,
        target_id   TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        updated     TEXT NOT NULL,
        PRIMARY KEY (target, kind, source_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX links_by_target_id ON links (target, kind, target_id);
    CREATE TABLE runs (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        command  TEXT NOT NULL,
        started  TEXT NOT NULL,
        ended    TEXT,
        pid      INTEGER NOT NULL,
        host     TEXT NOT NULL,
        outcome  TEXT NOT NULL,
        counts   TEXT
    );
    CREATE TABLE journal (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        run          INTEGER NOT NULL REFERENCES runs (id),
        time         TEXT NOT NULL,
        target       TEXT NOT NULL,
        operation    TEXT NOT NULL,
        resource     TEXT NOT NULL,
        state_before TEXT,
        state_after  TEXT,
        outcome      TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'skipped')),
        error        TEXT
    );
    CREATE INDEX journal_by_run ON journal (run, id);
    CREATE TABLE lock_holder (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        pid     INTEGER NOT NULL,
        host    TEXT NOT NULL,
        command TEXT NOT NULL,
        started TEXT NOT NULL
    );",
    // 2: journal rows may record that a destructive operation is about to start (with the
    // record's last state), before its outcome is known.
    "CREATE TABLE journal_v2 (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        run          INTEGER NOT NULL REFERENCES runs (id),
        time         TEXT NOT NULL,
        target       TEXT NOT NULL,
        operation    TEXT NOT NULL,
        resource     TEXT NOT NULL,
        state_before TEXT,
        state_after  TEXT,
        outcome      TEXT NOT NULL CHECK (outcome IN ('started', 'ok', 'failed', 'skipped')),
        error        TEXT
    );
    INSERT INTO journal_v2 SELECT * FROM journal;
    DROP TABLE journal;
    ALTER TABLE journal_v2 RENAME TO journal;
    CREATE INDEX journal_by_run ON journal (run, id);",
    // 3: every write is journaled as started before it is sent, and its outcome then
    // completes that row: find the row in flight quickly.
    "CREATE INDEX journal_in_flight ON journal (run, target, operation, resource, id)
        WHERE outcome = 'started';",
    // 4: who ran each run (the operating-system user) and which plan it applied (the
    // plan's SHA-256 digest); NULL in the runs recorded before.
    "ALTER TABLE runs ADD COLUMN os_user TEXT;
    ALTER TABLE runs ADD COLUMN plan_digest TEXT;",
    // 5: offboarding holds: a person `idbridge offboard` disabled stays disabled in every
    // target until the hold is lifted. Lifted holds are kept, with who lifted them when.
    "CREATE TABLE holds (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        person      TEXT NOT NULL,
        source_id   TEXT,
        keys        TEXT NOT NULL,
        created     TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        reason      TEXT NOT NULL,
        lifted      TEXT,
        lifted_by   TEXT
    );
    CREATE INDEX holds_active ON holds (id) WHERE lifted IS NULL;",
    // 6: the secret that seals saved plans (32 random bytes, made on first use), so that
    // `apply` takes only plans this state file's idbridge wrote; and the runs by the plan
    // they applied, to say when a plan was applied before.
    "CREATE TABLE plan_key (
        id  INTEGER PRIMARY KEY CHECK (id = 1),
        key BLOB NOT NULL
    );
    CREATE INDEX runs_plan_digest ON runs (plan_digest) WHERE plan_digest IS NOT NULL;",
    // 7: the SCIM inbox: resources an identity provider pushed to `idbridge serve`, in
    // creation order (`pos`), with the change sequence and how far the fan-out applied it.
    "CREATE TABLE inbox (
        pos      INTEGER PRIMARY KEY AUTOINCREMENT,
        kind     TEXT NOT NULL CHECK (kind IN ('user', 'group')),
        id       TEXT NOT NULL,
        version  INTEGER NOT NULL,
        resource TEXT NOT NULL,
        UNIQUE (kind, id)
    );
    CREATE TABLE inbox_state (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        sequence INTEGER NOT NULL,
        applied  INTEGER NOT NULL
    );
    INSERT INTO inbox_state (id, sequence, applied) VALUES (1, 0, 0);",
];

/// Brings the schema to [`SCHEMA_VERSION`].
///
/// Each step reads the version inside an immediate (write-locked) transaction, so that two
/// processes opening a new or older file at once (a run starting while `idbridge journal`
/// reads) never apply the same migration twice: the second waits, then finds it done.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    // The common case, an up-to-date file, needs no write lock.
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| db_error(path, "cannot read the schema version", &e))?;
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_error(path, "cannot begin a migration", &e))?;
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db_error(path, "cannot read the schema version", &e))?;
        if current > SCHEMA_VERSION {
            return Err(Error::config(format!(
                "state file `{}` has schema version {current}, newer than the {SCHEMA_VERSION} this \
                 idbridge knows; use the idbridge version that wrote it (or newer)",
                path.display()
            )));
        }
        let Some(sql) = MIGRATIONS.get(current.max(0) as usize) else {
            return Ok(());
        };
        let to = current.max(0) + 1;
        tx.execute_batch(sql)
            .and_then(|()| tx.execute_batch(&format!("PRAGMA user_version = {to}")))
            .map_err(|e| db_error(path, &format!("migration to schema {to} failed"), &e))?;
        tx.commit()
            .map_err(|e| db_error(path, &format!("migration to schema {to} failed"), &e))?;
        tracing::debug!(state = %path.display(), to, "migrated state schema");
    }
}
