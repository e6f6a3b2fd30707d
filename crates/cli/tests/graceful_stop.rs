//! SIGTERM during `sync --interval`: the operations in flight finish and are journaled,
//! the lock is released and the process exits 0, within the grace period (`--grace`).

#![cfg(unix)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use idbridge_store::{Outcome, RunOutcome, Store};
use support::{
    emulated_vendors, emulator, start, users_only, write_json_config, write_yaml_directory,
};

/// Writes a directory of `n` people and a configuration syncing it into `target`, with
/// its state in `DIR/state.db`; returns the configuration's path.
fn config(dir: &Path, n: usize, target: serde_json::Value) -> String {
    let source = dir.join("source.yaml");
    let mut text = String::from("users:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - id: p{i:02}\n    login: person.{i:02}\n    email: person.{i:02}@example.com\n    display_name: Person {i}\n"
        ));
    }
    write_yaml_directory(&source, &text, users_only(n));
    let config = serde_json::json!({
        "state": dir.join("state.db"),
        "source": {"adapter": "file", "path": source},
        "targets": {"t": target},
    });
    write_json_config(&dir.join("idbridge.json"), &config)
}

/// Waits (polling, up to two minutes) until `ready` holds.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_mid_apply_finishes_the_operations_in_flight_and_exits_0() {
    // A fast platform may finish before the signal comes; at least one must be stopped
    // mid-apply.
    let stopped: Vec<&str> = emulated_vendors()
        .into_iter()
        .filter(|vendor| stop_mid_apply_on(vendor))
        .collect();
    assert!(
        !stopped.is_empty(),
        "no emulated platform's apply could be stopped mid-way"
    );
}

fn stop_mid_apply_on(vendor: &str) -> bool {
    let (_emulator, mut target) = emulator(vendor, &["--latency-ms", "100"]);
    target["concurrency"] = serde_json::json!(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), 40, target);
    let mut sync = start(&["sync", "-c", &cfg, "--interval", "1h", "--grace", "60s"]);
    let state_path = dir.path().join("state.db");
    wait_for("the first write is journaled", || {
        Store::open(&state_path)
            .and_then(|s| s.journal(None))
            .is_ok_and(|j| j.iter().any(|e| e.outcome == Outcome::Ok))
    });
    sync.sigterm();
    assert_eq!(sync.wait_exit().code(), Some(0), "{vendor}: a stop exits 0");

    let state = Store::open(&state_path).expect("state");
    let runs = state.runs(10).expect("runs");
    assert_eq!(runs.len(), 1, "{vendor}: {runs:?}");
    if runs[0].outcome == RunOutcome::Succeeded {
        return false;
    }
    assert_eq!(runs[0].outcome, RunOutcome::Stopped, "{vendor}");
    let journal = state.journal(Some(runs[0].id)).expect("journal");
    for started in journal.iter().filter(|e| e.outcome == Outcome::Started) {
        assert!(
            journal.iter().any(|e| e.id > started.id
                && e.target == started.target
                && e.resource == started.resource
                && e.outcome != Outcome::Started),
            "{vendor}: started and never finished: {started:?}"
        );
    }
    assert!(
        journal.iter().any(|e| e.outcome == Outcome::Ok),
        "{vendor}: {journal:?}"
    );
    assert!(
        state.lock_holder().expect("holder").is_none(),
        "{vendor}: the lock is released"
    );
    true
}

#[test]
fn operations_that_outlast_the_grace_period_are_left_and_the_process_exits_1() {
    let vendor = emulated_vendors()[0];
    let (_emulator, mut target) = emulator(vendor, &["--latency-ms", "4000"]);
    target["concurrency"] = serde_json::json!(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), 5, target);
    let log = dir.path().join("sync.log");
    let out = std::fs::File::create(&log).expect("log");
    let child = support::command()
        .args(["sync", "-c", &cfg, "--interval", "1h", "--grace", "1s"])
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("idbridge starts");
    let mut sync = support::Running(child);
    // Applying: the plan is printed just before, and every write then takes seconds.
    wait_for("the run starts applying", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("change(s) planned"))
    });
    std::thread::sleep(Duration::from_millis(300));
    sync.sigterm();
    let status = sync.wait_exit();
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("grace period of 1s"), "{said}");
}
