//! Versioned schema migrations of the PostgreSQL state, tracked in
//! `idbridge_schema_version`.
//!
//! As for SQLite, each entry of [`MIGRATIONS`] moves the schema one version up, in one
//! transaction with the version bump, and migrations are append-only. PostgreSQL counts
//! its own versions: its first one holds everything SQLite's first six built, with a
//! `tenant` column on every table. Migrating holds a transaction-level advisory lock, so
//! that workers starting together on a new database apply each step once.

use idbridge_core::{Error, Result};

use super::{LOCK_CLASS, Target};

/// The PostgreSQL schema version this build writes.
pub const POSTGRES_SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

const MIGRATIONS: &[&str] = &[
    // 1: tenants; links, runs, journal, the lock holder, holds and the plan key, each
    // scoped by tenant. Ids are global (increasing across tenants).
    "CREATE TABLE idbridge_tenants (
        id      SERIAL PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        created TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE idbridge_links (
        tenant      INTEGER NOT NULL REFERENCES idbridge_tenants (id),
        target      TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('user', 'group')),
        source_id   TEXT NOT NULL,
        target_id   TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        updated     TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (tenant, target, kind, source_id)
    );
    CREATE UNIQUE INDEX idbridge_links_by_target_id
        ON idbridge_links (tenant, target, kind, target_id);
    CREATE TABLE idbridge_runs (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant      INTEGER NOT NULL REFERENCES idbridge_tenants (id),
        command     TEXT NOT NULL,
        started     TIMESTAMPTZ NOT NULL,
        ended       TIMESTAMPTZ,
        pid         BIGINT NOT NULL,
        host        TEXT NOT NULL,
        outcome     TEXT NOT NULL,
        counts      JSONB,
        os_user     TEXT,
        plan_digest TEXT
    );
    CREATE INDEX idbridge_runs_by_tenant ON idbridge_runs (tenant, id);
    CREATE INDEX idbridge_runs_running ON idbridge_runs (tenant) WHERE outcome = 'running';
    CREATE INDEX idbridge_runs_plan_digest ON idbridge_runs (tenant, plan_digest)
        WHERE plan_digest IS NOT NULL;
    CREATE TABLE idbridge_journal (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant       INTEGER NOT NULL REFERENCES idbridge_tenants (id),
        run          BIGINT NOT NULL REFERENCES idbridge_runs (id),
        time         TIMESTAMPTZ NOT NULL,
        target       TEXT NOT NULL,
        operation    TEXT NOT NULL,
        resource     TEXT NOT NULL,
        state_before JSONB,
        state_after  JSONB,
        outcome      TEXT NOT NULL CHECK (outcome IN ('started', 'ok', 'failed', 'skipped')),
        error        TEXT
    );
    CREATE INDEX idbridge_journal_by_run ON idbridge_journal (tenant, run, id);
    CREATE INDEX idbridge_journal_in_flight
        ON idbridge_journal (run, target, operation, resource, id) WHERE outcome = 'started';
    CREATE TABLE idbridge_lock_holder (
        tenant  INTEGER PRIMARY KEY REFERENCES idbridge_tenants (id),
        pid     BIGINT NOT NULL,
        host    TEXT NOT NULL,
        command TEXT NOT NULL,
        started TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE idbridge_holds (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant      INTEGER NOT NULL REFERENCES idbridge_tenants (id),
        person      TEXT NOT NULL,
        source_id   TEXT,
        keys        JSONB NOT NULL,
        created     TIMESTAMPTZ NOT NULL,
        created_by  TEXT NOT NULL,
        reason      TEXT NOT NULL,
        lifted      TIMESTAMPTZ,
        lifted_by   TEXT
    );
    CREATE INDEX idbridge_holds_active ON idbridge_holds (tenant, id) WHERE lifted IS NULL;
    CREATE TABLE idbridge_plan_key (
        tenant INTEGER PRIMARY KEY REFERENCES idbridge_tenants (id),
        key    BYTEA NOT NULL CHECK (length(key) = 32)
    );",
    // 2: the SCIM inbox (as SQLite's 7), scoped by tenant; the state row of a tenant is
    // made on its first write.
    "CREATE TABLE idbridge_inbox (
        pos      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant   INTEGER NOT NULL REFERENCES idbridge_tenants (id),
        kind     TEXT NOT NULL CHECK (kind IN ('user', 'group')),
        id       TEXT NOT NULL,
        version  BIGINT NOT NULL,
        resource JSONB NOT NULL,
        UNIQUE (tenant, kind, id)
    );
    CREATE INDEX idbridge_inbox_by_kind ON idbridge_inbox (tenant, kind, pos);
    CREATE TABLE idbridge_inbox_state (
        tenant   INTEGER PRIMARY KEY REFERENCES idbridge_tenants (id),
        sequence BIGINT NOT NULL,
        applied  BIGINT NOT NULL
    );",
];

/// Brings the schema to [`POSTGRES_SCHEMA_VERSION`], in one transaction under an advisory
/// lock.
pub(crate) fn migrate(client: &mut postgres::Client, target: &Target) -> Result<()> {
    let err = |what: &str, e: postgres::Error| target.error(what, &e);
    let mut tx = client
        .transaction()
        .map_err(|e| err("cannot begin a migration", e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&(LOCK_CLASS + 1)])
        .map_err(|e| err("cannot lock the schema for migration", e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS idbridge_schema_version (
            id      INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO idbridge_schema_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;",
    )
    .map_err(|e| err("cannot create the schema version table", e))?;
    let current: i32 = tx
        .query_one(
            "SELECT version FROM idbridge_schema_version WHERE id = 1",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(|e| err("cannot read the schema version", e))?;
    if current > POSTGRES_SCHEMA_VERSION {
        return Err(Error::config(format!(
            "state `{}` has schema version {current}, newer than the {POSTGRES_SCHEMA_VERSION} \
             this idbridge knows; use the idbridge version that wrote it (or newer)",
            target.locator
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let to = i as i32 + 1;
        tx.batch_execute(sql)
            .and_then(|()| {
                tx.execute(
                    "UPDATE idbridge_schema_version SET version = $1 WHERE id = 1",
                    &[&to],
                )
            })
            .map_err(|e| err(&format!("migration to schema {to} failed"), e))?;
        tracing::debug!(state = %target.locator, to, "migrated state schema");
    }
    tx.commit()
        .map_err(|e| err("cannot commit the migration", e))
}

/// The tenant's id, registering the tenant on first use.
pub(crate) fn tenant_id(client: &mut postgres::Client, target: &Target) -> Result<i32> {
    client
        .execute(
            "INSERT INTO idbridge_tenants (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
            &[&target.tenant],
        )
        .and_then(|_| {
            client.query_one(
                "SELECT id FROM idbridge_tenants WHERE name = $1",
                &[&target.tenant],
            )
        })
        .and_then(|r| r.try_get(0))
        .map_err(|e| target.error("cannot register the tenant", &e))
}

/// The schema version of the database.
pub(crate) fn version(client: &mut postgres::Client, target: &Target) -> Result<i32> {
    client
        .query_one(
            "SELECT version FROM idbridge_schema_version WHERE id = 1",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(|e| target.error("cannot read the schema version", &e))
}
