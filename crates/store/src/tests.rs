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
        before: Some(serde_json::json!({"enabled": true})),
        after: Some(serde_json::json!({"enabled": false})),
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
fn links_round_trip_update_and_delete() {
    let (_dir, store) = temp_store();
    store
        .commit(&[
            Write::UpsertLink(link("s1", "T1", "fp1")),
            Write::UpsertLink(link("s2", "T2", "fp2")),
        ])
        .expect("commit");
    let links = store.links("bi", LinkKind::User).expect("links");
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].target_id, "T1");
    assert!(
        store
            .links("other", LinkKind::User)
            .expect("links")
            .is_empty()
    );
    assert!(
        store
            .links("bi", LinkKind::Group)
            .expect("links")
            .is_empty()
    );

    store
        .commit(&[Write::UpsertLink(link("s1", "T1", "fp1b"))])
        .expect("update");
    let l = store
        .link("bi", LinkKind::User, "s1")
        .expect("read")
        .expect("present");
    assert_eq!(l.fingerprint, "fp1b");

    store
        .commit(&[Write::DeleteLink {
            target: "bi".into(),
            kind: LinkKind::User,
            source_id: "s2".into(),
        }])
        .expect("delete");
    assert!(
        store
            .link("bi", LinkKind::User, "s2")
            .expect("read")
            .is_none()
    );
}

#[test]
fn a_new_claim_on_a_target_account_replaces_the_old_link() {
    let (_dir, store) = temp_store();
    store
        .commit(&[Write::UpsertLink(link("old", "T1", "a"))])
        .expect("commit");
    store
        .commit(&[Write::UpsertLink(link("new", "T1", "b"))])
        .expect("commit");
    let links = store.links("bi", LinkKind::User).expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].source_id, "new");
}

#[test]
fn a_failed_batch_leaves_nothing_behind() {
    let (_dir, store) = temp_store();
    let run = store.begin_run("apply").expect("run");
    // The second write violates the journal's foreign key (no run 999).
    let err = store
        .commit(&[
            Write::UpsertLink(link("s1", "T1", "fp")),
            Write::Journal(entry(999, "create_user", Outcome::Ok)),
        ])
        .expect_err("fk violation");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(store.links("bi", LinkKind::User).expect("links").is_empty());
    assert!(store.journal(Some(run)).expect("journal").is_empty());
}

#[test]
fn journal_and_runs_are_recorded_and_read_back() {
    let (_dir, store) = temp_store();
    let run = store.begin_run("apply").expect("run");
    let mut failed = entry(run, "disable_user", Outcome::Failed);
    failed.error = Some("bi: boom (unavailable)".into());
    failed.after = None;
    store
        .commit(&[
            Write::Journal(entry(run, "create_user", Outcome::Ok)),
            Write::Journal(failed),
        ])
        .expect("commit");
    store
        .finish_run(
            run,
            RunOutcome::Failed,
            &serde_json::json!({"bi": {"ok": 1, "failed": 1}}),
        )
        .expect("finish");
    let other = store.begin_run("sync").expect("run");
    store
        .commit(&[Write::Journal(entry(other, "update_user", Outcome::Ok))])
        .expect("commit");

    let rows = store.journal(Some(run)).expect("journal");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].operation, "create_user");
    assert_eq!(rows[0].before, Some(serde_json::json!({"enabled": true})));
    assert_eq!(rows[1].outcome, Outcome::Failed);
    assert_eq!(rows[1].error.as_deref(), Some("bi: boom (unavailable)"));
    assert_eq!(rows[1].after, None);
    assert_eq!(store.journal(None).expect("all").len(), 3);

    let runs = store.runs(10).expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, other, "newest first");
    assert_eq!(runs[0].outcome, RunOutcome::Running);
    let first = store.run(run).expect("read").expect("exists");
    assert_eq!(first.outcome, RunOutcome::Failed);
    assert!(first.ended.is_some());
    assert_eq!(first.pid, std::process::id());
    assert_eq!(
        first.counts,
        Some(serde_json::json!({"bi": {"ok": 1, "failed": 1}}))
    );
    assert!(store.run(12345).expect("read").is_none());
    assert_eq!(
        store
            .finish_run(12345, RunOutcome::Succeeded, &Value::Null)
            .expect_err("missing")
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn committed_writes_are_visible_to_a_second_connection_at_once() {
    let (dir, store) = temp_store();
    let run = store.begin_run("apply").expect("run");
    store
        .commit(&[Write::Journal(entry(run, "create_user", Outcome::Ok))])
        .expect("commit");
    // A second process (here: a second connection) sees the row without the first closing.
    let reader = Store::open(&dir.path().join("state.db")).expect("second open");
    assert_eq!(reader.journal(Some(run)).expect("journal").len(), 1);
}

#[test]
fn second_lock_is_refused_naming_the_holder_and_released_on_drop() {
    let (dir, store) = temp_store();
    let lock = store.lock("apply").expect("first lock");
    assert_eq!(lock.holder().pid, std::process::id());

    // A second handle on the same file, as a second process would open it.
    let other = Store::open(&dir.path().join("state.db")).expect("second open");
    let err = other.lock("sync").expect_err("held");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let text = err.to_string();
    assert!(text.contains("another run is in progress"), "{text}");
    assert!(
        text.contains(&format!("PID {}", std::process::id())),
        "{text}"
    );
    assert!(text.contains("idbridge apply"), "{text}");
    assert!(text.contains(&host_name_for_test()), "{text}");

    drop(lock);
    assert!(other.lock_holder().expect("read").is_none());
    let again = other.lock("sync").expect("free after drop");
    assert_eq!(again.holder().command, "sync");
}

fn host_name_for_test() -> String {
    lock::host_name()
}

#[test]
fn taking_the_lock_marks_runs_of_dead_processes_interrupted() {
    let (_dir, store) = temp_store();
    // A run that started and never finished: its process died (the lock is free).
    let dead = store.begin_run("apply").expect("run");
    let _lock = store.lock("apply").expect("lock");
    let record = store.run(dead).expect("read").expect("exists");
    assert_eq!(record.outcome, RunOutcome::Interrupted);
    assert!(record.ended.is_some());
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
fn runs_record_the_os_user_and_the_plan_digest() {
    let (_dir, store) = temp_store();
    let with_plan = store
        .begin_run_with_plan("apply", Some("ab12"))
        .expect("run");
    let without = store.begin_run("sync").expect("run");
    let a = store.run(with_plan).expect("read").expect("there");
    let b = store.run(without).expect("read").expect("there");
    assert_eq!(a.plan_digest.as_deref(), Some("ab12"));
    assert_eq!(b.plan_digest, None);
    let user = a.os_user.expect("the user is recorded");
    assert!(!user.trim().is_empty());
    assert_eq!(b.os_user.as_deref(), Some(user.as_str()));
    assert_eq!(store.runs(10).expect("runs")[1].os_user, Some(user));
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

#[test]
fn the_plan_key_is_made_once_per_file_and_kept() {
    let (dir, store) = temp_store();
    let key = store.plan_key().expect("key");
    assert_ne!(key, [0u8; 32]);
    assert_eq!(store.plan_key().expect("again"), key);
    drop(store);
    let reopened = Store::open(&dir.path().join("state.db")).expect("reopens");
    assert_eq!(reopened.plan_key().expect("kept"), key);
    let (_other_dir, other) = temp_store();
    assert_ne!(
        other.plan_key().expect("other"),
        key,
        "each state file has its own"
    );
}

#[test]
fn runs_are_found_by_the_plan_they_applied_and_approvals_are_kept_apart() {
    let (_dir, store) = temp_store();
    assert!(store.run_of_plan("d1").expect("none").is_none());
    let approval = store.record_approval("d1", Some("maker")).expect("approve");
    assert!(store.run_of_plan("d1").expect("not applied").is_none());
    let approvals = store.approvals("d1").expect("approvals");
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].id, approval);
    assert_eq!(approvals[0].outcome, RunOutcome::Succeeded);
    assert_eq!(approvals[0].os_user.as_deref(), Some(os_user().as_str()));
    let run = store.begin_run_with_plan("apply", Some("d1")).expect("run");
    store
        .begin_run_with_plan("apply", Some("d1"))
        .expect("again");
    assert_eq!(
        store.run_of_plan("d1").expect("applied").map(|r| r.id),
        Some(run)
    );
    assert!(store.approvals("d2").expect("none").is_empty());
}
