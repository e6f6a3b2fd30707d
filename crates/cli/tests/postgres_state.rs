//! `idbridge` processes sharing one PostgreSQL state (a private server, see
//! `crates/store/tests/support`; skipped with a printed reason when PostgreSQL is not
//! installed, unless `IDBRIDGE_REQUIRE_POSTGRES=1`): one run per tenant at a time across
//! processes, tenants side by side, `sync --config-dir`, `state migrate`, and a worker
//! killed mid-apply whose tenant another worker then converges.

#[path = "../../store/tests/support/mod.rs"]
mod pg;
mod support;

use std::path::Path;

use idbridge_core::Secret;
use idbridge_store::{Outcome, RunOutcome, Store};
use support::{
    all_output, emulated_vendors, emulator, file_target, idbridge, start, users_only,
    write_json_config, write_yaml_directory,
};

/// A source directory of `n` people, `person.NN`.
fn write_source(path: &Path, n: usize) {
    let mut text = String::from("users:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - id: p{i:02}\n    login: person.{i:02}\n    email: person.{i:02}@example.com\n    display_name: Person {i}\n"
        ));
    }
    write_yaml_directory(path, &text, users_only(n));
}

/// Writes `DIR/NAME.json`: `n` people synced into `targets`, the state in tenant `tenant`
/// of the database at `url`, the password in a secret file.
fn tenant_config(
    dir: &Path,
    name: &str,
    url: &str,
    tenant: &str,
    n: usize,
    targets: serde_json::Value,
) -> String {
    let source = dir.join(format!("{name}-source.yaml"));
    write_source(&source, n);
    let password = dir.join(format!("{name}-pg-password"));
    std::fs::write(&password, format!("{}\n", pg::PASSWORD)).expect("password file");
    let config = serde_json::json!({
        "state": url,
        "tenant": tenant,
        "state_password_file": password,
        "source": {"adapter": "file", "path": source},
        "targets": targets,
    });
    write_json_config(&dir.join(format!("{name}.json")), &config)
}

fn open(url: &str, tenant: &str) -> Store {
    Store::open_postgres(
        Path::new(&format!("{url}?tenant={tenant}")),
        Some(Secret::new(pg::PASSWORD)),
    )
    .expect("opens the state")
}

#[test]
fn one_run_per_tenant_across_processes_and_tenants_side_by_side() {
    let Some(server) = pg::server() else {
        return;
    };
    let url = server.new_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let acme = tenant_config(
        dir.path(),
        "acme",
        &url,
        "acme",
        3,
        serde_json::json!({"t": file_target(dir.path(), "acme-target")}),
    );
    let zeta = tenant_config(
        dir.path(),
        "zeta",
        &url,
        "zeta",
        2,
        serde_json::json!({"t": file_target(dir.path(), "zeta-target")}),
    );

    // A worker that holds acme's lock for as long as it runs.
    let mut first = start(&["sync", "-c", &acme, "--interval", "1h"]);
    let pid = first.0.id();
    let acme_state = open(&url, "acme");
    first.wait_for("the first worker holds the lock", || {
        acme_state
            .lock_holder()
            .is_ok_and(|h| h.is_some_and(|h| h.pid == pid))
    });

    let out = idbridge(&["sync", "-c", &acme], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "refused: {text}");
    assert!(text.contains("another run is in progress"), "{text}");
    assert!(
        text.contains(&format!("PID {pid}")),
        "names the holder: {text}"
    );
    assert!(text.contains("idbridge sync"), "{text}");
    assert!(
        text.contains("tenant=acme"),
        "names the tenant's state: {text}"
    );
    assert!(!text.contains(pg::PASSWORD), "{text}");

    let out = idbridge(&["sync", "-c", &zeta], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "another tenant runs: {}",
        all_output(&out)
    );
    let zeta_runs = open(&url, "zeta").runs(10).expect("runs");
    assert_eq!(zeta_runs.len(), 1);
    assert_eq!(zeta_runs[0].outcome, RunOutcome::Succeeded);

    first.sigterm();
    assert_eq!(first.wait_exit().code(), Some(0));
    let acme_runs = acme_state.runs(10).expect("runs");
    assert_eq!(
        acme_runs.len(),
        1,
        "the refused run recorded nothing: {acme_runs:?}"
    );
    assert_eq!(acme_runs[0].pid, pid);
    assert!(
        acme_state.lock_holder().expect("holder").is_none(),
        "released"
    );

    let out = idbridge(&["journal", "-c", &zeta, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        runs.as_array().map(Vec::len),
        Some(1),
        "only zeta's run: {runs}"
    );
}

#[test]
fn a_config_directory_runs_every_tenant_and_skips_one_held_elsewhere() {
    let Some(server) = pg::server() else {
        return;
    };
    let url = server.new_database();
    let work = tempfile::tempdir().expect("tempdir");
    let configs = work.path().join("tenants");
    std::fs::create_dir(&configs).expect("mkdir");
    let mut paths: Vec<String> = Vec::new();
    for tenant in ["acme", "beta", "zeta"] {
        let cfg = tenant_config(
            work.path(),
            tenant,
            &url,
            tenant,
            2,
            serde_json::json!({"t": file_target(work.path(), &format!("{tenant}-target"))}),
        );
        let into = configs.join(format!("{tenant}.json"));
        std::fs::rename(&cfg, &into).expect("move");
        paths.push(into.to_string_lossy().into_owned());
    }
    let dir_arg = configs.to_string_lossy().into_owned();

    // Another worker runs beta.
    let mut other = start(&["sync", "-c", &paths[1], "--interval", "1h"]);
    let pid = other.0.id();
    let beta = open(&url, "beta");
    other.wait_for("the other worker holds beta", || {
        beta.lock_holder()
            .is_ok_and(|h| h.is_some_and(|h| h.pid == pid))
    });
    let out = idbridge(&["sync", "--config-dir", &dir_arg, "--parallel", "2"], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("3 configurations: 2 converged, 0 failed, 1 running elsewhere"),
        "{text}"
    );
    assert!(text.contains("beta.json: running elsewhere"), "{text}");
    for tenant in ["acme", "zeta"] {
        let runs = open(&url, tenant).runs(10).expect("runs");
        assert_eq!(runs.len(), 1, "{tenant}: {runs:?}");
        assert_eq!(runs[0].outcome, RunOutcome::Succeeded, "{tenant}");
    }
    other.sigterm();
    assert_eq!(other.wait_exit().code(), Some(0));

    // A broken configuration fails alone.
    std::fs::write(configs.join("broken.toml"), "[source]\nadapter = 1\n").expect("write");
    let out = idbridge(&["sync", "--config-dir", &dir_arg], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("4 configurations: 3 converged, 1 failed, 0 running elsewhere"),
        "{text}"
    );
}

#[test]
fn a_sqlite_state_is_migrated_and_the_next_sync_has_nothing_to_do() {
    let Some(server) = pg::server() else {
        return;
    };
    let url = server.new_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = file_target(dir.path(), "target");
    let cfg = tenant_config(
        dir.path(),
        "acme",
        &url,
        "acme",
        4,
        serde_json::json!({"t": target}),
    );
    // The same configuration on a SQLite file first.
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg).expect("read")).expect("JSON");
    let sqlite = dir.path().join("idbridge.db");
    let map = config.as_object_mut().expect("object");
    map.insert("state".into(), serde_json::json!(sqlite));
    map.remove("tenant");
    map.remove("state_password_file");
    let local = write_json_config(&dir.path().join("local.json"), &config);
    let out = idbridge(&["sync", "-c", &local], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));

    let password = dir.path().join("acme-pg-password");
    let from = sqlite.to_string_lossy().into_owned();
    let pw = password.to_string_lossy().into_owned();
    let migrate = [
        "state",
        "migrate",
        "--from",
        &from,
        "--to",
        &url,
        "--tenant",
        "acme",
        "--password-file",
        &pw,
    ];
    let out = idbridge(&migrate, &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("copied 4 links, 1 runs"), "{text}");
    let out = idbridge(&migrate, &[]);
    let text = all_output(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a second copy is refused: {text}"
    );
    assert!(text.contains("--replace"), "{text}");
    let mut replace = migrate.to_vec();
    replace.push("--replace");
    assert_eq!(idbridge(&replace, &[]).status.code(), Some(0));

    // The links came along: the PostgreSQL state plans nothing.
    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing to do: {}",
        all_output(&out)
    );
}

#[test]
fn a_worker_killed_mid_apply_leaves_its_tenant_to_the_next_worker_which_converges() {
    let Some(server) = pg::server() else {
        return;
    };
    // 40 creates behind 100 ms of latency outlast the kill on a platform written one
    // account per request; one written in batches may finish first. Every platform is
    // tried; at least one must have been killed mid-apply.
    let killed: Vec<&str> = emulated_vendors()
        .into_iter()
        .filter(|vendor| kill_during_sync_on(server, vendor))
        .collect();
    assert!(
        !killed.is_empty(),
        "no emulated platform's apply could be killed mid-way"
    );
}

fn kill_during_sync_on(server: &pg::PgServer, vendor: &str) -> bool {
    let (_emulator, mut target) = emulator(vendor, &["--latency-ms", "100"]);
    target["concurrency"] = serde_json::json!(2);
    let url = server.new_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let people = 40;
    let cfg = tenant_config(
        dir.path(),
        "acme",
        &url,
        "acme",
        people,
        serde_json::json!({"t": target}),
    );
    let state = open(&url, "acme");
    let mut worker = start(&["sync", "-c", &cfg]);
    worker.wait_for("the first write is journaled", || {
        state
            .journal(None)
            .is_ok_and(|j| j.iter().any(|e| e.outcome == Outcome::Ok))
    });
    let status = std::process::Command::new("kill")
        .args(["-KILL", &worker.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let _ = worker.wait_exit();
    let killed = state.runs(10).expect("runs");
    assert_eq!(killed.len(), 1, "{vendor}: {killed:?}");
    if killed[0].outcome == RunOutcome::Succeeded {
        return false;
    }
    assert_eq!(
        killed[0].outcome,
        RunOutcome::Running,
        "{vendor}: died running"
    );

    // The server released the dead worker's lock: the next worker takes the tenant over.
    let out = idbridge(&["sync", "-c", &cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{vendor}: converges: {}",
        all_output(&out)
    );
    let runs = state.runs(10).expect("runs");
    assert_eq!(runs.len(), 2, "{vendor}: {runs:?}");
    assert_eq!(
        runs[1].outcome,
        RunOutcome::Interrupted,
        "{vendor}: the killed run"
    );
    assert_eq!(runs[0].outcome, RunOutcome::Succeeded, "{vendor}");
    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{vendor}: nothing left: {}",
        all_output(&out)
    );
    // Every account the killed run created is journaled, done or in flight.
    let journal = state.journal(Some(runs[1].id)).expect("journal");
    let first_run_creates = journal
        .iter()
        .filter(|e| e.operation == "create_user")
        .count();
    let second_run_creates = state
        .journal(Some(runs[0].id))
        .expect("journal")
        .iter()
        .filter(|e| e.operation == "create_user" && e.outcome == Outcome::Ok)
        .count();
    assert!(first_run_creates > 0, "{vendor}: {journal:?}");
    assert!(
        second_run_creates < people,
        "{vendor}: the second worker created only what was left ({second_run_creates})"
    );
    true
}

#[test]
fn a_stop_reaches_the_runs_of_a_config_directory() {
    let Some(server) = pg::server() else {
        return;
    };
    // As in the kill test: at least one platform must still be applying when the stop
    // comes.
    let stopped: Vec<&str> = emulated_vendors()
        .into_iter()
        .filter(|vendor| stop_during_directory_sync_on(server, vendor))
        .collect();
    assert!(
        !stopped.is_empty(),
        "no emulated platform's apply could be stopped mid-way"
    );
}

fn stop_during_directory_sync_on(server: &pg::PgServer, vendor: &str) -> bool {
    let (_emulator, mut target) = emulator(vendor, &["--latency-ms", "100"]);
    target["concurrency"] = serde_json::json!(2);
    let url = server.new_database();
    let work = tempfile::tempdir().expect("tempdir");
    let configs = work.path().join("tenants");
    std::fs::create_dir(&configs).expect("mkdir");
    let cfg = tenant_config(
        work.path(),
        "acme",
        &url,
        "acme",
        40,
        serde_json::json!({"t": target}),
    );
    std::fs::rename(&cfg, configs.join("acme.json")).expect("move");
    let state = open(&url, "acme");
    let dir_arg = configs.to_string_lossy().into_owned();
    let mut parent = start(&["sync", "--config-dir", &dir_arg, "--interval", "1h"]);
    parent.wait_for("the first write is journaled", || {
        state
            .journal(None)
            .is_ok_and(|j| j.iter().any(|e| e.outcome == Outcome::Ok))
    });
    parent.sigterm();
    assert_eq!(
        parent.wait_exit().code(),
        Some(0),
        "{vendor}: a stop exits 0"
    );
    let runs = state.runs(10).expect("runs");
    assert_eq!(runs.len(), 1, "{vendor}: {runs:?}");
    if runs[0].outcome == RunOutcome::Succeeded {
        return false;
    }
    assert_eq!(
        runs[0].outcome,
        RunOutcome::Stopped,
        "{vendor}: the tenant's run was told to stop and finished its operations in flight"
    );
    assert!(
        state.lock_holder().expect("holder").is_none(),
        "{vendor}: released"
    );
    true
}
