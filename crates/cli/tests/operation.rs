//! Running idbridge as an administrator does: exit codes, a target that is down, stopping
//! on SIGTERM, `--interval` and its lock, log lines, and what the journal records.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use idbridge_store::{Outcome, RunOutcome, Store};
use support::{
    Running, all_output, at_closed_port, capabilities, closed_port, emulated_vendors, emulator,
    emulator_with_secret, file_target, login_on, secret_credentials, start, users_only,
    vendors_with_sessions, write_json_config, write_yaml_directory,
};

const CANARY: &str = "Canary-S3cret-0e5d21";

/// Runs `idbridge ARGS` without `NO_COLOR` either, so that whether logs carry colour is the
/// binary's own choice.
fn idbridge(args: &[&str], envs: &[(&str, &str)]) -> Output {
    support::output(
        support::command()
            .args(args)
            .env_remove("NO_COLOR")
            .envs(envs.iter().copied()),
    )
}

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

/// A JSON configuration with a file source of `n` people and these targets.
fn write_config(dir: &Path, n: usize, targets: serde_json::Value) -> String {
    let source = dir.join("source.yaml");
    write_source(&source, n);
    let config = serde_json::json!({
        "state": dir.join("state.db"),
        "source": {"adapter": "file", "path": source},
        "targets": targets,
    });
    write_json_config(&dir.join("idbridge.json"), &config)
}

fn logins(config: &str, system: &str) -> Vec<String> {
    let out = idbridge(
        &["users", "list", "--system", system, "-c", config, "--json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    users
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|u| u["login"].as_str().map(str::to_lowercase))
        .collect()
}

#[test]
fn usage_errors_exit_64_and_help_and_version_exit_0() {
    let out = idbridge(&["plan", "--tagret", "bi"], &[]);
    assert_eq!(out.status.code(), Some(64), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("--tagret"),
        "{}",
        all_output(&out)
    );
    let out = idbridge(&["no-such-command"], &[]);
    assert_eq!(out.status.code(), Some(64), "{}", all_output(&out));
    let out = idbridge(&[], &[]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "no command: {}",
        all_output(&out)
    );
    let out = idbridge(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = idbridge(&["plan", "--help"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = idbridge(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
}

#[test]
fn intervals_under_five_seconds_are_usage_errors() {
    for short in ["0", "0s", "1s", "4s"] {
        let out = idbridge(&["sync", "-c", "idbridge.toml", "--interval", short], &[]);
        let text = all_output(&out);
        assert_eq!(out.status.code(), Some(64), "{short}: {text}");
        assert!(
            text.contains("--interval") && text.contains("at least 5s"),
            "{short}: names the flag and the minimum: {text}"
        );
    }
}

#[test]
fn sync_on_an_interval_holds_the_run_lock_between_runs_and_stops_with_exit_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        3,
        serde_json::json!({"copy": file_target(dir.path(), "copy")}),
    );
    let cfg = cfg.as_str();
    let mut child = start(&["sync", "-c", cfg, "--interval", "5s"]);
    let state = dir.path().join("state.db");
    child.wait_for("the first run ends", || {
        state.exists()
            && Store::open(&state)
                .and_then(|s| s.runs(1))
                .is_ok_and(|r| r.first().is_some_and(|r| r.ended.is_some()))
    });
    // Between two runs of the interval, no other run may start.
    for args in [vec!["sync", "-c", cfg], vec!["apply", "-c", cfg, "--yes"]] {
        let out = idbridge(&args, &[]);
        let text = all_output(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?} is refused: {text}");
        assert!(
            text.contains(&format!("PID {}", child.0.id())),
            "{args:?}: the refusal names the running process: {text}"
        );
    }
    child.sigterm();
    let status = child.wait_exit();
    assert_eq!(status.code(), Some(0), "stopped on request");
    let out = idbridge(&["sync", "-c", cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the lock is free again: {}",
        all_output(&out)
    );
}

#[test]
fn sigterm_during_sync_finishes_the_operations_in_flight_records_stopped_and_exits_0() {
    // 40 creates behind 100 ms of latency outlast the stop on a platform written one
    // account per request; an adapter that writes a whole batch in one request may finish
    // first. Every platform is tried; at least one must have been stopped mid-apply.
    let stopped: Vec<&str> = emulated_vendors()
        .into_iter()
        .filter(|vendor| sigterm_during_sync_on(vendor))
        .collect();
    assert!(
        !stopped.is_empty(),
        "no emulated platform's apply could be stopped mid-way"
    );
}

/// Stops a sync into `vendor`'s emulator after its first journaled write; false when the
/// apply had finished before the stop came (checked to have converged then).
fn sigterm_during_sync_on(vendor: &str) -> bool {
    let (_emulator, target) = emulator(vendor, &["--latency-ms", "100"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut target = target;
    target["concurrency"] = serde_json::json!(2);
    let people = 40;
    let cfg = write_config(dir.path(), people, serde_json::json!({"t": target}));
    let mut child = start(&["sync", "-c", &cfg]);
    let state = dir.path().join("state.db");
    child.wait_for("the first write is journaled", || {
        state.exists()
            && Store::open(&state)
                .and_then(|s| s.journal(None))
                .is_ok_and(|j| j.iter().any(|e| e.outcome == Outcome::Ok))
    });
    child.sigterm();
    let status = child.wait_exit();
    assert_eq!(
        status.code(),
        Some(0),
        "{vendor}: a stop on request exits 0"
    );

    let store = Store::open(&state).expect("state");
    let runs = store.runs(10).expect("runs");
    assert_eq!(runs.len(), 1, "{vendor}: {runs:?}");
    let journal = store.journal(Some(runs[0].id)).expect("journal");
    let created = journal
        .iter()
        .filter(|e| e.operation == "create_user" && e.outcome == Outcome::Ok)
        .count();
    if runs[0].outcome == RunOutcome::Succeeded {
        assert_eq!(created, people, "{vendor}: finished before the stop");
        return false;
    }
    assert_eq!(runs[0].outcome, RunOutcome::Stopped, "{vendor}: {runs:?}");
    let in_flight: Vec<_> = journal
        .iter()
        .filter(|e| e.outcome == Outcome::Started)
        .collect();
    assert!(
        in_flight.is_empty(),
        "{vendor}: every operation in flight was finished and journaled: {in_flight:?}"
    );
    assert!(
        created < people,
        "{vendor}: the stop came mid-apply ({created} of {people} created)"
    );

    // The next run finishes the job.
    let out = idbridge(&["sync", "-c", &cfg], &[]);
    assert_eq!(out.status.code(), Some(0), "{vendor}: {}", all_output(&out));
    true
}

#[test]
fn one_unreachable_target_is_skipped_and_reported_while_the_others_converge() {
    // Every emulated platform once as a target that is up, named after its vendor, and
    // the first one again as `down`, whose server is gone: nothing listens on its port.
    let vendors = emulated_vendors();
    let down_vendor = vendors[0];
    let mut running = Vec::new();
    let mut targets = serde_json::Map::new();
    for vendor in &vendors {
        let (child, target) = emulator(vendor, &[]);
        running.push(child);
        targets.insert(vendor.to_string(), target);
    }
    let (down_emulator, down) = emulator_with_secret(down_vendor, CANARY);
    drop(down_emulator);
    targets.insert("down".to_string(), at_closed_port(&down));
    let unavailable = format!("target down ({down_vendor}): UNAVAILABLE");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), 2, serde_json::Value::Object(targets));
    let cfg = cfg.as_str();

    let out = idbridge(&["plan", "-c", cfg], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(3), "plan: {text}");
    assert!(text.contains(&unavailable), "{text}");
    assert!(text.contains("+ create user person.01"), "{text}");

    let out = idbridge(&["sync", "-c", cfg], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(3), "partly failed: {text}");
    assert!(!text.contains(CANARY), "no secret in the output: {text}");
    for vendor in &vendors {
        let login = login_on(vendor, "person.01", "person.01@example.com");
        assert!(logins(cfg, vendor).contains(&login), "{vendor}: {login}");
    }

    let out = idbridge(&["journal", "-c", cfg, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let run = &runs[0];
    assert_eq!(run["outcome"], "failed", "{run}");
    let why = run["counts"]["down"]["unavailable"]
        .as_str()
        .unwrap_or_else(|| panic!("down is journaled unavailable: {run}"));
    assert!(why.contains("cannot connect"), "{why}");
    assert!(!why.contains(CANARY), "{why}");
    for vendor in &vendors {
        let counts = &run["counts"][*vendor];
        assert_eq!(counts["unavailable"], serde_json::Value::Null, "{vendor}");
        assert!(counts["ok"].as_u64() >= Some(2), "{vendor}: {run}");
    }
    let out = idbridge(&["journal", "-c", cfg], &[]);
    let text = all_output(&out);
    assert!(text.contains("down: unavailable (cannot connect"), "{text}");

    // Offboarding goes on where it can, says where it could not, and exits 3.
    let out = idbridge(&["offboard", "person.00", "-c", cfg, "--yes"], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(3), "offboard: {text}");
    assert!(text.contains(&unavailable), "{text}");
    for vendor in &vendors {
        // Offboarding disables; a platform that cannot disable accounts keeps them.
        if !capabilities(vendor).users_set_enabled {
            continue;
        }
        let out = idbridge(
            &["users", "list", "--system", vendor, "-c", cfg, "--json"],
            &[],
        );
        let users: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let login = login_on(vendor, "person.00", "person.00@example.com");
        let person = users
            .as_array()
            .and_then(|u| u.iter().find(|u| u["login"] == login.as_str()))
            .unwrap_or_else(|| panic!("person.00 in {vendor}: {users}"));
        assert_eq!(person["enabled"], false, "disabled in {vendor}: {person}");
    }

    // With only the unreachable target, nothing converged: plan and sync exit 1.
    let out = idbridge(&["plan", "-c", cfg, "--target", "down"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let out = idbridge(&["sync", "-c", cfg, "--target", "down"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
}

#[test]
fn an_unreadable_source_changes_nothing_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        2,
        serde_json::json!({"copy": file_target(dir.path(), "copy")}),
    );
    let cfg = cfg.as_str();
    // An export that came out empty is a failed source, never "everyone left".
    std::fs::write(
        dir.path().join("source.yaml"),
        "users: []\ncomplete: {users: 0, groups: 0, roles: 0, grants: 0}\n",
    )
    .expect("empty it");
    let out = idbridge(&["sync", "-c", cfg], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("returned no users"), "{text}");
    assert!(logins(cfg, "copy").is_empty(), "nothing was created");
    let out = idbridge(&["journal", "-c", cfg], &[]);
    let text = all_output(&out);
    assert!(
        text.contains("failed")
            && text.contains("source: failed (the source `source` returned no users"),
        "the failed run is journaled: {text}"
    );
    // A source that is not there at all.
    std::fs::remove_file(dir.path().join("source.yaml")).expect("remove the source");
    let out = idbridge(&["sync", "-c", cfg], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("source.yaml"), "{text}");
    assert!(logins(cfg, "copy").is_empty(), "nothing was created");
}

#[test]
fn logs_carry_no_colour_outside_a_terminal_and_say_what_each_target_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        2,
        serde_json::json!({
            "one": file_target(dir.path(), "one"),
            "two": file_target(dir.path(), "two"),
        }),
    );
    let cfg = cfg.as_str();
    let out = idbridge(&["sync", "-c", cfg], &[("RUST_LOG", "info")]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.stderr.contains(&0x1b),
        "no escape sequence in a log that is not a terminal:\n{log}"
    );
    for name in ["one", "two"] {
        for step in [
            "connecting",
            "reading",
            "read",
            "planned",
            "applying",
            "done",
        ] {
            assert!(
                log.lines()
                    .any(|l| l.contains(&format!("target={name}")) && l.contains(step)),
                "target {name}: no `{step}` line:\n{log}"
            );
        }
    }
    assert!(
        log.lines()
            .any(|l| l.contains("source: read") && l.contains("users=2")),
        "says how many users it read:\n{log}"
    );
    assert!(
        log.lines().any(|l| l.contains("target=one")
            && l.contains("planned")
            && l.contains("operations=2")),
        "says how many operations it planned:\n{log}"
    );
}

#[test]
fn the_journal_records_who_ran_and_the_digest_of_the_applied_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        2,
        serde_json::json!({"copy": file_target(dir.path(), "copy")}),
    );
    let cfg = cfg.as_str();
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().expect("utf-8");
    let out = idbridge(&["plan", "-c", cfg, "--out", saved], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let digest = stderr
        .split("SHA-256 ")
        .nth(1)
        .map(|t| {
            t.chars()
                .take_while(char::is_ascii_hexdigit)
                .collect::<String>()
        })
        .unwrap_or_else(|| panic!("plan --out names the digest: {stderr}"));
    assert_eq!(digest.len(), 64, "{stderr}");
    // The user is the process's own, not whatever the environment claims.
    let out = idbridge(
        &["apply", "-c", cfg, saved, "--yes"],
        &[("USER", "someone-else"), ("LOGNAME", "someone-else")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));

    let me = Command::new("id").arg("-un").output().expect("id runs");
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    assert!(!me.is_empty());

    let out = idbridge(&["journal", "-c", cfg, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(runs[0]["os_user"], me.as_str(), "{runs}");
    assert_eq!(runs[0]["plan_digest"], digest.as_str(), "{runs}");

    let out = idbridge(&["journal", "-c", cfg], &[]);
    let text = all_output(&out);
    assert!(text.contains(&me) && text.contains(&digest[..12]), "{text}");
    let id = runs[0]["id"].to_string();
    let out = idbridge(&["journal", "-c", cfg, "--run", &id], &[]);
    let text = all_output(&out);
    assert!(
        text.contains(&format!("by {me}")) && text.contains(&format!("SHA-256 {digest}")),
        "{text}"
    );
}

#[test]
fn a_configuration_error_in_one_target_stops_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broken = file_target(dir.path(), "broken");
    broken["no_such_key"] = serde_json::json!(1);
    let cfg = write_config(
        dir.path(),
        2,
        serde_json::json!({"copy": file_target(dir.path(), "copy"), "broken": broken}),
    );
    let cfg = cfg.as_str();
    let out = idbridge(&["sync", "-c", cfg], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("no_such_key"), "names the key: {text}");
    assert!(
        logins(cfg, "copy").is_empty(),
        "nothing was created: {text}"
    );
}

/// `idbridge emulate VENDOR` on `port`, with `CANARY` as every secret credential it takes.
fn emulator_on_port(vendor: &str, port: u16) -> (Running, serde_json::Value) {
    let mut args: Vec<String> = secret_credentials(vendor)
        .into_iter()
        .flat_map(|name| ["--credential".to_string(), format!("{name}={CANARY}")])
        .collect();
    args.extend(["--listen".to_string(), format!("127.0.0.1:{port}")]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    emulator(vendor, &args)
}

#[test]
fn sync_on_an_interval_syncs_a_target_again_once_it_is_back() {
    // Every emulated platform as a target whose server is down at first: its emulator is
    // started once for the section that connects to it, and stopped.
    let vendors = emulated_vendors();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut targets = serde_json::Map::new();
    targets.insert("copy".to_string(), file_target(dir.path(), "copy"));
    let ports: Vec<u16> = vendors.iter().map(|_| closed_port()).collect();
    for (vendor, port) in vendors.iter().zip(&ports) {
        let (first, target) = emulator_on_port(vendor, *port);
        drop(first);
        targets.insert(vendor.to_string(), target);
    }
    let cfg = write_config(dir.path(), 2, serde_json::Value::Object(targets));
    let mut child = start(&["sync", "--interval", "5s", "-c", &cfg]);
    let state = dir.path().join("state.db");
    let runs = || {
        Store::open(&state)
            .and_then(|s| s.runs(100))
            .unwrap_or_default()
    };
    let counts_of = |r: &idbridge_store::RunRecord, target: &str| {
        r.counts
            .as_ref()
            .map(|c| c[target].clone())
            .unwrap_or_default()
    };
    child.wait_for("a run skips the unreachable targets", || {
        runs().iter().any(|r| {
            r.ended.is_some()
                && vendors
                    .iter()
                    .all(|v| counts_of(r, v)["unavailable"].is_string())
        })
    });
    let _back: Vec<Running> = vendors
        .iter()
        .zip(&ports)
        .map(|(vendor, port)| emulator_on_port(vendor, *port).0)
        .collect();
    child.wait_for("a later run syncs the targets that are back", || {
        runs().iter().any(|r| {
            r.outcome == RunOutcome::Succeeded
                && vendors
                    .iter()
                    .all(|v| counts_of(r, v)["ok"].as_u64() >= Some(2))
        })
    });
    child.sigterm();
    assert_eq!(child.wait_exit().code(), Some(0));
}

#[test]
fn a_source_that_cannot_be_connected_to_leaves_no_target_session_open() {
    for vendor in vendors_with_sessions() {
        let (_emulator, target) = emulator(vendor, &[]);
        let dir = tempfile::tempdir().expect("tempdir");
        let config = serde_json::json!({
            "state": dir.path().join("state.db"),
            "source": at_closed_port(&target),
            "targets": {"t": target},
        });
        let cfg = write_json_config(&dir.path().join("idbridge.json"), &config);
        let cfg = cfg.as_str();

        let out = idbridge(&["plan", "-c", cfg], &[]);
        assert_eq!(out.status.code(), Some(1), "{vendor}: {}", all_output(&out));
        // The listing's own session is the only one open: the plan logged out of `t`.
        let out = idbridge(
            &["sessions", "list", "--system", "t", "-c", cfg, "--json"],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{vendor}: {}", all_output(&out));
        let sessions: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(
            sessions.as_array().map(Vec::len),
            Some(1),
            "{vendor}: sessions left open: {sessions}"
        );
    }
}
