//! Every command logs out of what it logged in to, on every path: commands that fail
//! after logging in to the Strategy emulator, and a command interrupted while it reads,
//! leave the emulator's session count where it was.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idbridge_strategy::emulator::{EmulatorState, start_with_state};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use support::{all_output, copy_example, idbridge, write_json_config};

fn sessions(state: &EmulatorState) -> usize {
    state.lock().sessions.len()
}

/// A configuration: the example directory as the source, the emulator as target `bi`
/// (its section changed by `target`), and `more` appended as further JSON targets.
fn config(
    dir: &Path,
    name: &str,
    emulator: &RunningEmulator,
    target: impl FnOnce(&mut serde_json::Value),
    more: serde_json::Value,
) -> String {
    let source = dir.join("source.yaml");
    copy_example(&source);
    let mut bi = emulator.config.clone();
    target(&mut bi);
    let mut targets = serde_json::json!({ "bi": bi });
    if let (Some(t), Some(m)) = (targets.as_object_mut(), more.as_object()) {
        t.extend(m.clone());
    }
    let config = serde_json::json!({
        "state": dir.join("state.db"),
        "source": {"adapter": "file", "path": source},
        "targets": targets,
    });
    write_json_config(&dir.join(name), &config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_commands_log_out_of_strategy() {
    let (emulator, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("the emulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let valid = config(d, "valid.json", &emulator, |_| {}, serde_json::json!({}));
    let bad_role = config(
        d,
        "bad-role.json",
        &emulator,
        |t| t["roles"] = serde_json::json!({"analyst": {"role": "no-such-role"}}),
        serde_json::json!({}),
    );
    let bad_project = config(
        d,
        "bad-project.json",
        &emulator,
        |t| t["project"] = serde_json::json!("No Such Project"),
        serde_json::json!({}),
    );
    let other_target_fails = config(
        d,
        "other-fails.json",
        &emulator,
        |_| {},
        serde_json::json!({"missing": {"adapter": "file", "path": d.join("missing.yaml")}}),
    );

    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("a plan that fails", vec!["plan", "-c", &bad_role]),
        (
            "an apply whose plan fails",
            vec!["apply", "-c", &bad_role, "--yes"],
        ),
        ("a sync whose plan fails", vec!["sync", "-c", &bad_role]),
        ("an apply that cannot ask", vec!["apply", "-c", &valid]),
        (
            "an offboard of nobody",
            vec!["offboard", "nobody@example.com", "-c", &valid, "--yes"],
        ),
        (
            "a check with an unknown project",
            vec!["check", "-c", &bad_project],
        ),
        (
            "a check whose mapping fails",
            vec!["check", "-c", &bad_role],
        ),
        (
            "a plan whose other target fails",
            vec!["plan", "-c", &other_target_fails],
        ),
        (
            "a users list of an unknown user's activity",
            vec![
                "users",
                "activity",
                "-c",
                &valid,
                "--system",
                "bi",
                "no-such-id",
            ],
        ),
    ];
    for (what, args) in cases {
        let before = sessions(&state);
        let out = idbridge(&args, &[]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", all_output(&out));
        assert_eq!(
            sessions(&state),
            before,
            "{what} left a session open: {}",
            all_output(&out)
        );
    }

    // And the successful paths still log out.
    for args in [
        vec!["check", "-c", &valid],
        vec!["users", "list", "-c", &valid, "--system", "bi"],
        vec!["sessions", "list", "-c", &valid, "--system", "bi"],
    ] {
        let before = sessions(&state);
        let out = idbridge(&args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", all_output(&out));
        assert_eq!(sessions(&state), before, "{args:?}: {}", all_output(&out));
    }
}

/// Waits (bounded) until `ready` holds.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_plan_logs_out() {
    // Slow answers, so that the plan is still reading when it is interrupted.
    let options = EmulatorOptions {
        latency: Duration::from_millis(400),
        ..EmulatorOptions::default()
    };
    let (emulator, state): (RunningEmulator, Arc<EmulatorState>) = start_with_state(options)
        .await
        .expect("the emulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(
        dir.path(),
        "idbridge.json",
        &emulator,
        |_| {},
        serde_json::json!({}),
    );
    let before = sessions(&state);
    let child = support::command()
        .args(["plan", "-c", &cfg])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the idbridge binary runs");
    let log = emulator.server.log().clone();
    wait_for("the plan to read the groups", || {
        log.entries()
            .iter()
            .any(|r| r.method == "GET" && r.path.contains("/api/usergroups"))
    });
    assert_eq!(sessions(&state), before + 1, "the plan is logged in");
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("the plan exits");
    assert_eq!(out.status.code(), Some(130), "{}", all_output(&out));
    assert_eq!(
        sessions(&state),
        before,
        "the interrupted plan logged out: {}",
        all_output(&out)
    );
}
