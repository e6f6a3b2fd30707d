//! Operating on a PostgreSQL state (a private server, see `crates/store/tests/support`;
//! skipped with a printed reason when PostgreSQL is not installed, unless
//! `IDBRIDGE_REQUIRE_POSTGRES=1`): `idbridge check` reports the server, the schema and the
//! lock holder without writing, and `sync --interval` takes a lost run lock again.

#[path = "../../store/tests/support/mod.rs"]
mod pg;
mod support;

use std::path::Path;

use idbridge_core::Secret;
use idbridge_store::{RunOutcome, Store};
use support::{
    Running, all_output, file_target, idbridge, users_only, write_json_config, write_yaml_directory,
};

/// A source directory of `n` people, `person.NN`.
fn write_source(path: &Path, n: usize) {
    let mut text = String::from("users:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - id: p{i:02}\n    login: person.{i:02}\n    email: person.{i:02}@example.com\n"
        ));
    }
    write_yaml_directory(path, &text, users_only(n));
}

/// Writes `DIR/acme.json`: `n` people synced into a file target, the state in tenant
/// `acme` of the database at `url`, the password in a secret file (`password` itself).
fn config(dir: &Path, url: &str, n: usize, password: &str) -> String {
    write_source(&dir.join("source.yaml"), n);
    let secret = dir.join("pg-password");
    std::fs::write(&secret, format!("{password}\n")).expect("password file");
    let config = serde_json::json!({
        "state": url,
        "tenant": "acme",
        "state_password_file": secret,
        "source": {"adapter": "file", "path": dir.join("source.yaml")},
        "targets": {"t": file_target(dir, "target")},
    });
    write_json_config(&dir.join("acme.json"), &config)
}

fn open(url: &str) -> Store {
    Store::open_postgres(
        Path::new(&format!("{url}?tenant=acme")),
        Some(Secret::new(pg::PASSWORD)),
    )
    .expect("opens the state")
}

#[test]
fn check_reports_a_postgres_state_and_its_lock_holder_without_writing() {
    let Some(server) = pg::server() else {
        return;
    };
    let url = server.new_database();
    let db = url.rsplit('/').next().expect("database name").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let acme = config(dir.path(), &url, 2, pg::PASSWORD);

    // A new database: reachable, nothing created, and check creates nothing either.
    let out = idbridge(&["check", "-c", &acme], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("tenant=acme: ok (PostgreSQL "), "{text}");
    assert!(text.contains("not encrypted"), "{text}");
    assert!(text.contains("schema: none yet"), "{text}");
    assert!(text.contains("tenant acme: not registered yet"), "{text}");
    assert!(text.contains("run lock: free"), "{text}");
    let tables = server
        .psql(
            &db,
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'idbridge%'",
        )
        .expect("tables");
    assert_eq!(tables, "0", "check wrote nothing");

    // After a run, and while this process holds the tenant's lock.
    let out = idbridge(&["sync", "-c", &acme], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let store = open(&url);
    let lock = store.lock("offboard").expect("lock");
    let out = idbridge(&["check", "-c", &acme], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "schema: version {}",
            idbridge_store::POSTGRES_SCHEMA_VERSION
        )),
        "{text}"
    );
    assert!(text.contains("tenant acme: registered"), "{text}");
    assert!(
        text.contains(&format!(
            "run lock: held by `idbridge offboard` (PID {}",
            std::process::id()
        )),
        "{text}"
    );
    drop(lock);
    let out = idbridge(&["check", "-c", &acme], &[]);
    assert!(
        all_output(&out).contains("run lock: free"),
        "{}",
        all_output(&out)
    );

    // A refused login fails the check, naming the state and not the password.
    let wrong = "not-the-Password-4e1";
    let refused = config(dir.path(), &url, 2, wrong);
    let out = idbridge(&["check", "-c", &refused], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("state: FAILED"), "{text}");
    assert!(text.contains("tenant=acme"), "{text}");
    assert!(
        !text.contains(wrong) && !text.contains(pg::PASSWORD),
        "{text}"
    );
}

#[test]
fn sync_on_an_interval_takes_a_lost_run_lock_again_at_the_next_run() {
    let Some(server) = pg::server() else {
        return;
    };
    let url = server.new_database();
    let db = url.rsplit('/').next().expect("database name").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let acme = config(dir.path(), &url, 2, pg::PASSWORD);
    let log = dir.path().join("sync.log");
    let mut worker = {
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let child = support::command()
            .args(["sync", "-c", &acme, "--interval", "5s"])
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the idbridge binary runs");
        Running(child)
    };
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    let store = open(&url);
    let succeeded = |store: &Store| {
        store
            .runs(100)
            .expect("runs")
            .into_iter()
            .filter(|r| r.outcome == RunOutcome::Succeeded)
            .count()
    };
    worker.wait_for("the first run", || succeeded(&store) >= 1);

    // The lock's session goes away, as with a network cut or a server restart.
    let lock_backends = format!(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = '{db}')"
    );
    let before = server.psql("postgres", &lock_backends).expect("pg_locks");
    assert!(!before.is_empty(), "the worker holds an advisory lock");
    server
        .psql(
            "postgres",
            &format!("SELECT pg_terminate_backend(pid) FROM ({lock_backends}) AS held"),
        )
        .expect("terminate");
    let runs_then = store.runs(100).expect("runs").len();

    // A newcomer in the source: the next run takes the lock again and syncs it.
    write_source(&dir.path().join("source.yaml"), 3);
    worker.wait_for("a run after the lock was lost", || {
        store.runs(100).expect("runs").len() > runs_then
            && store.runs(1).expect("runs")[0].outcome != RunOutcome::Running
    });
    let latest = store.runs(1).expect("runs").remove(0);
    assert_eq!(
        latest.outcome,
        RunOutcome::Succeeded,
        "{latest:?}\n{}",
        logged()
    );
    let target = std::fs::read_to_string(dir.path().join("target.yaml")).expect("target");
    assert!(target.contains("person.02"), "{target}");
    assert!(logged().contains("the run lock was lost"), "{}", logged());
    let after = server.psql("postgres", &lock_backends).expect("pg_locks");
    assert!(
        !after.is_empty() && after != before,
        "held again by a new session: {after}"
    );
    let holder = store.lock_holder().expect("holder").expect("recorded");
    assert_eq!(holder.pid, worker.0.id());

    // Another worker is still refused while this one runs.
    let out = idbridge(&["sync", "-c", &acme], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(all_output(&out).contains("another run is in progress"));

    worker.sigterm();
    assert_eq!(worker.wait_exit().code(), Some(0), "{}", logged());
}
