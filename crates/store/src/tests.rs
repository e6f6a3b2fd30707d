//! SQLite-only cases (the file, WAL, backups, old schema versions); the cases both
//! backends share are in `tests/backends.rs`.

use super::*;

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("state.db")).expect("opens");
    (dir, store)
}

fn link(source: &str, target_id: &str, fp: &str) -> Link {
    Link {
        target: "bi".into(),
        kind: LinkKind::User,
        source_id: source.into(),
        target_id: target_id.into(),
        fingerprint: fp.into(),
        updated: Utc::now(),
    }
}

fn entry(run: i64, op: &str, outcome: Outcome) -> NewJournalEntry {
    NewJournalEntry {
        run,
        target: "bi".into(),
        operation: op.into(),
        resource: "ada".into(),
        before: Some((&serde_json::json!({"enabled": true})).into()),
        after: Some((&serde_json::json!({"enabled": false})).into()),
        outcome,
        error: None,
    }
}

#[test]
fn fresh_file_gets_current_schema_in_wal_mode() {
    let (dir, store) = temp_store();
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let mode: String = store
        .conn()
        .expect("sqlite")
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let sync: i64 = store
        .conn()
        .expect("sqlite")
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("sync");
    assert_eq!(sync, 2, "synchronous must be FULL");
    drop(store);
    // Reopening does not re-run migrations (they would fail on existing tables).
    let again = Store::open(&dir.path().join("state.db")).expect("reopens");
    assert_eq!(again.schema_version().expect("version"), SCHEMA_VERSION);
}

#[test]
fn newer_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    {
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
            .expect("bump");
    }
    let err = Store::open(&path).expect_err("newer schema");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn a_stale_holder_record_does_not_block_the_next_run() {
    let (_dir, store) = temp_store();
    // A process that died holding the lock leaves its holder row behind, but the operating
    // system released its file lock.
    store
        .conn()
        .expect("sqlite")
        .execute(
            "INSERT INTO lock_holder (id, pid, host, command, started) VALUES (1, 999999, 'h', 'sync', ?1)",
            params![now_text()],
        )
        .expect("insert");
    let lock = store.lock("apply").expect("stale record is taken over");
    assert_eq!(
        store.lock_holder().expect("read").expect("holder").pid,
        lock.holder().pid
    );
}

#[test]
fn backup_is_a_consistent_copy() {
    let (dir, store) = temp_store();
    store
        .commit(&[Write::UpsertLink(link("s1", "T1", "fp"))])
        .expect("commit");
    let dest = dir.path().join("backup.db");
    store.backup_to(&dest).expect("backup");
    let copy = Store::open(&dest).expect("open copy");
    assert_eq!(copy.links("bi", LinkKind::User).expect("links").len(), 1);
}

#[test]
fn a_version_1_file_is_migrated_keeping_its_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    {
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(schema::MIGRATIONS[0]).expect("schema 1");
        conn.execute_batch("PRAGMA user_version = 1")
            .expect("version");
        conn.execute(
            "INSERT INTO runs (command, started, pid, host, outcome) VALUES ('apply', ?1, 1, 'h', 'succeeded')",
            params![now_text()],
        )
        .expect("run");
        conn.execute(
            "INSERT INTO journal (run, time, target, operation, resource, outcome) VALUES (1, ?1, 'bi', 'create_user', 'ada', 'ok')",
            params![now_text()],
        )
        .expect("row");
    }
    let store = Store::open(&path).expect("migrates");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let rows = store.journal(Some(1)).expect("journal");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].resource, "ada");
    store
        .commit(&[Write::Journal(entry(1, "delete_user", Outcome::Started))])
        .expect("started rows are accepted");
    assert_eq!(
        store.journal(Some(1)).expect("journal")[1].outcome,
        Outcome::Started
    );
}

#[test]
fn runs_recorded_before_users_and_digests_were_kept_read_back_without_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    {
        let conn = Connection::open(&path).expect("open");
        for sql in &schema::MIGRATIONS[..3] {
            conn.execute_batch(sql).expect("older schema");
        }
        conn.execute_batch("PRAGMA user_version = 3")
            .expect("version");
        conn.execute(
            "INSERT INTO runs (command, started, pid, host, outcome) VALUES ('sync', ?1, 1, 'h', 'succeeded')",
            params![now_text()],
        )
        .expect("run");
    }
    let store = Store::open(&path).expect("migrates");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let run = store.run(1).expect("read").expect("there");
    assert_eq!((run.os_user, run.plan_digest), (None, None));
}

#[test]
fn two_processes_opening_a_new_file_at_once_both_succeed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || Store::open(&path).map(|s| s.schema_version()))
        })
        .collect();
    for t in opened {
        let version = t
            .join()
            .expect("no panic")
            .expect("opens")
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
    }
}
