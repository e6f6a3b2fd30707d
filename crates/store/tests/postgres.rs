//! What only the PostgreSQL backend does: logging in with the configured secret, tenants,
//! concurrent migration of a new database, and copying a SQLite state into a tenant.

mod support;

use std::path::{Path, PathBuf};

use chrono::Utc;
use idbridge_core::config::{Config, ConfigOrigin};
use idbridge_core::{ErrorKind, Secret};
use idbridge_store::{
    Link, LinkKind, NewHold, NewJournalEntry, Outcome, POSTGRES_SCHEMA_VERSION, RunOutcome, Store,
    Write,
};
use serde_json::json;

fn open(locator: &str) -> Store {
    Store::open_postgres(Path::new(locator), Some(Secret::new(support::PASSWORD)))
        .expect("opens postgres")
}

#[test]
fn a_configured_password_opens_the_state_and_a_wrong_one_is_refused_unshown() {
    let Some(server) = support::server() else {
        return;
    };
    let url = server.new_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = json!({
        "state": url,
        "tenant": "acme",
        "state_password": support::PASSWORD,
        "source": {"adapter": "file", "path": "people.yaml"},
    });
    let config = Config::from_value(tree, ConfigOrigin::in_memory(dir.path())).expect("config");
    assert_eq!(config.state, PathBuf::from(format!("{url}?tenant=acme")));
    assert_eq!(config.tenant, "acme");
    // Store::open finds the password the configuration gave for this state.
    let store = Store::open(&config.state).expect("opens with the configured password");
    assert_eq!(store.tenant(), Some("acme"));
    assert_eq!(
        store.schema_version().expect("version"),
        i64::from(POSTGRES_SCHEMA_VERSION)
    );

    let wrong = "not-the-Password-91";
    let err = Store::open_postgres(
        Path::new(&format!("{url}?tenant=acme")),
        Some(Secret::new(wrong)),
    )
    .expect_err("wrong password");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let text = err.to_string();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(
        !text.contains(wrong) && !text.contains(support::PASSWORD),
        "{text}"
    );

    let with_password = url.replacen("idbridge@", &format!("idbridge:{wrong}@"), 1);
    let err = Store::open_postgres(Path::new(&with_password), None).expect_err("in the URL");
    assert_eq!(err.kind(), ErrorKind::Config);
    let tree = json!({"state": with_password, "source": {"adapter": "file", "path": "p.yaml"}});
    let err = Config::from_value(tree, ConfigOrigin::in_memory(dir.path())).expect_err("refused");
    assert!(err.to_string().contains("state_password"), "{err}");
    assert!(!err.to_string().contains(wrong), "{err}");
}

#[test]
fn workers_opening_a_new_database_at_once_migrate_it_once() {
    let Some(server) = support::server() else {
        return;
    };
    let url = server.new_database();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let locator = format!("{url}?tenant=t{}", i % 2);
            std::thread::spawn(move || open(&locator).schema_version())
        })
        .collect();
    for h in handles {
        let version = h.join().expect("thread").expect("opens");
        assert_eq!(version, i64::from(POSTGRES_SCHEMA_VERSION));
    }
    let tenants = server
        .psql(
            url.rsplit('/').next().expect("db"),
            "SELECT count(*) FROM idbridge_tenants",
        )
        .expect("count");
    assert_eq!(tenants, "2");
}

fn sqlite_state(dir: &Path) -> (Store, i64) {
    let store = Store::open(&dir.join("idbridge.db")).expect("sqlite");
    store.begin_run("sync").expect("an earlier run");
    let run = store.begin_run_with_plan("apply", Some("d1")).expect("run");
    store
        .commit(&[
            Write::UpsertLink(Link {
                target: "bi".into(),
                kind: LinkKind::Group,
                source_id: "g1".into(),
                target_id: "G1".into(),
                fingerprint: "fp".into(),
                updated: Utc::now(),
            }),
            Write::Journal(NewJournalEntry {
                run,
                target: "bi".into(),
                operation: "create_group".into(),
                resource: "staff".into(),
                before: None,
                after: Some((&json!({"name": "staff", "n": 1.5})).into()),
                outcome: Outcome::Ok,
                error: None,
            }),
        ])
        .expect("commit");
    store
        .finish_run(run, RunOutcome::Succeeded, &json!({"bi": {"ok": 1}}))
        .expect("finish");
    for person in ["ada", "bob"] {
        store
            .add_hold(&NewHold {
                person: person.into(),
                source_id: None,
                keys: vec![],
                by: "alice".into(),
                reason: "offboard".into(),
            })
            .expect("hold");
    }
    store.lift_holds("bob", "carol").expect("lift");
    (store, run)
}

#[test]
fn a_sqlite_state_is_copied_into_a_tenant_and_a_second_copy_is_refused() {
    let Some(server) = support::server() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (sqlite, run) = sqlite_state(dir.path());
    let key = sqlite.plan_key().expect("key");
    let url = server.new_database();
    let pg = open(&format!("{url}?tenant=acme"));
    // Another tenant's state is left alone.
    let neighbour = open(&format!("{url}?tenant=zeta"));
    let theirs = neighbour.begin_run("sync").expect("their run");

    sqlite
        .inbox_write(&[
            idbridge_store::InboxWrite::Put {
                kind: idbridge_store::InboxKind::User,
                id: "u1".into(),
                resource: json!({"userName": "ada"}),
                if_version: None,
            },
            idbridge_store::InboxWrite::Put {
                kind: idbridge_store::InboxKind::Group,
                id: "g1".into(),
                resource: json!({"displayName": "ops", "members": [{"value": "u1"}]}),
                if_version: None,
            },
        ])
        .expect("inbox");
    sqlite.inbox_set_applied(1).expect("applied");
    let counts = sqlite.copy_into(&pg, false).expect("copies");
    assert_eq!(counts.inbox, 2);
    let u1 = pg
        .inbox_get(idbridge_store::InboxKind::User, "u1")
        .expect("reads")
        .expect("copied");
    assert_eq!((u1.version, u1.resource), (1, json!({"userName": "ada"})));
    assert_eq!(
        pg.inbox_sequence().expect("seq"),
        2,
        "versions go on from here"
    );
    assert_eq!(pg.inbox_applied().expect("applied"), 1);
    assert_eq!(
        (
            counts.links,
            counts.runs,
            counts.journal,
            counts.holds,
            counts.plan_key
        ),
        (1, 2, 1, 2, true)
    );
    assert_eq!(
        pg.links("bi", LinkKind::Group).expect("links")[0].target_id,
        "G1"
    );
    let runs = pg.runs(10).expect("runs");
    assert_eq!(runs.len(), 2);
    let applied = &runs[0];
    assert_eq!(applied.command, "apply");
    assert_eq!(applied.plan_digest.as_deref(), Some("d1"));
    assert_eq!(applied.outcome, RunOutcome::Succeeded);
    assert_eq!(
        applied.started,
        sqlite.run(run).expect("r").expect("r").started
    );
    let journal = pg.journal(Some(applied.id)).expect("journal");
    assert_eq!(journal.len(), 1, "the journal follows its run's new id");
    assert_eq!(journal[0].after, Some(json!({"name": "staff", "n": 1.5})));
    assert_eq!(
        pg.holds().expect("holds").len(),
        1,
        "the lifted hold stays lifted"
    );
    assert_eq!(pg.plan_key().expect("key"), key, "saved plans still apply");

    let err = sqlite.copy_into(&pg, false).expect_err("not empty");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("--replace"), "{err}");
    assert_eq!(pg.runs(10).expect("runs").len(), 2, "nothing added");

    sqlite.copy_into(&pg, true).expect("replaces");
    assert_eq!(pg.runs(10).expect("runs").len(), 2, "replaced, not added");
    assert_eq!(neighbour.runs(10).expect("theirs")[0].id, theirs);
    assert_eq!(
        pg.copy_into(&neighbour, false)
            .expect_err("pg to pg")
            .kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn a_run_whose_lock_connection_ended_stops_writing() {
    let Some(server) = support::server() else {
        return;
    };
    let url = server.new_database();
    let store = open(&format!("{url}?tenant=acme"));
    let lock = store.lock("sync").expect("lock");
    let run = store.begin_run("sync").expect("run");
    let row = |resource: &str| {
        Write::Journal(NewJournalEntry {
            run,
            target: "bi".into(),
            operation: "create_user".into(),
            resource: resource.into(),
            before: None,
            after: None,
            outcome: Outcome::Started,
            error: None,
        })
    };
    store.commit(&[row("ada")]).expect("written under the lock");

    // An administrator (or a network cut) ends the lock's connection: the server releases
    // the lock, and another worker takes the tenant. Only this database's locks: the
    // cluster's lock table holds those of the tests running alongside too.
    let db = url.rsplit('/').next().expect("db");
    let ended = server
        .psql(
            db,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks
             WHERE locktype = 'advisory' AND granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .expect("terminate");
    assert_eq!(ended, "1");
    let other = open(&format!("{url}?tenant=acme"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let _theirs = loop {
        match other.lock("sync") {
            Ok(l) => break l,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "{e}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    };
    let err = store.commit(&[row("bob")]).expect_err("the lock is gone");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("run lock was lost"), "{err}");
    let rows = store.journal(Some(run)).expect("journal");
    assert_eq!(rows.len(), 1, "nothing written after the loss: {rows:?}");
    drop(lock);
}

#[test]
fn a_state_url_whose_tls_may_fall_back_to_plain_text_is_refused() {
    for mode in ["prefer", "allow"] {
        let err = Store::open_postgres(
            Path::new(&format!(
                "postgres://idbridge@127.0.0.1:1/idb?sslmode={mode}&tenant=acme"
            )),
            None,
        )
        .expect_err("falls back to plain text");
        assert_eq!(err.kind(), ErrorKind::Config);
        let text = err.to_string();
        assert!(text.contains(&format!("sslmode={mode}")), "{text}");
        assert!(text.contains("verify-full"), "{text}");
    }
}
