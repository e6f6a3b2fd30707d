//! Every command logs out of what it logged in to, on every path: commands that fail
//! after logging in to an emulated platform that lists sessions, and a command interrupted
//! while it reads, leave the platform's session count where it was.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use idbridge_core::{AdapterHandle, registry};
use idbridge_testkit::emulator::{EmulatorOptions, RequestClass, RunningEmulator, start_emulator};
use support::{all_output, copy_example, idbridge, vendors_with_sessions, write_json_config};

/// Starts the emulator of `vendor` in process, with a session of its own open to count
/// the others.
async fn start(vendor: &str, options: EmulatorOptions) -> (RunningEmulator, AdapterHandle) {
    idbridge_platforms::link_all();
    let emulator = start_emulator(vendor, options)
        .await
        .unwrap_or_else(|e| panic!("{vendor}: the emulator starts: {e}"));
    let probe = registry::build_adapter(vendor, emulator.adapter_config("probe"))
        .await
        .unwrap_or_else(|e| panic!("{vendor}: the probe connects: {e}"));
    (emulator, probe)
}

/// The sessions open on the platform besides the probe's own.
async fn sessions(probe: &AdapterHandle) -> usize {
    let all = probe
        .all_sessions(None)
        .await
        .expect("the sessions are listed");
    all.len()
        .checked_sub(1)
        .expect("the probe's own session is listed")
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
async fn failing_commands_log_out() {
    for vendor in vendors_with_sessions() {
        failing_commands_log_out_of(vendor).await;
    }
}

async fn failing_commands_log_out_of(vendor: &str) {
    let (emulator, probe) = start(vendor, EmulatorOptions::default()).await;
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
        let before = sessions(&probe).await;
        let out = idbridge(&args, &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{vendor}: {what}: {}",
            all_output(&out)
        );
        assert_eq!(
            sessions(&probe).await,
            before,
            "{vendor}: {what} left a session open: {}",
            all_output(&out)
        );
    }

    // And the successful paths still log out.
    for args in [
        vec!["check", "-c", &valid],
        vec!["users", "list", "-c", &valid, "--system", "bi"],
        vec!["sessions", "list", "-c", &valid, "--system", "bi"],
    ] {
        let before = sessions(&probe).await;
        let out = idbridge(&args, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{vendor}: {args:?}: {}",
            all_output(&out)
        );
        assert_eq!(
            sessions(&probe).await,
            before,
            "{vendor}: {args:?}: {}",
            all_output(&out)
        );
    }
    probe.close().await.expect("the probe logs out");
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
    for vendor in vendors_with_sessions() {
        an_interrupted_plan_logs_out_of(vendor).await;
    }
}

#[cfg(unix)]
async fn an_interrupted_plan_logs_out_of(vendor: &str) {
    // Slow answers, so that the plan is still reading when it is interrupted.
    let options = EmulatorOptions {
        latency: Duration::from_millis(400),
        ..EmulatorOptions::default()
    };
    let (emulator, probe) = start(vendor, options).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(
        dir.path(),
        "idbridge.json",
        &emulator,
        |_| {},
        serde_json::json!({}),
    );
    let before = sessions(&probe).await;
    let log = emulator.server.log().clone();
    let seen = log.entries().len();
    let child = support::command()
        .args(["plan", "-c", &cfg])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the idbridge binary runs");
    wait_for("the plan to read", || {
        log.entries()
            .iter()
            .skip(seen)
            .any(|r| r.class == RequestClass::Read)
    });
    assert_eq!(
        sessions(&probe).await,
        before + 1,
        "{vendor}: the plan is logged in"
    );
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("the plan exits");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{vendor}: {}",
        all_output(&out)
    );
    assert_eq!(
        sessions(&probe).await,
        before,
        "{vendor}: the interrupted plan logged out: {}",
        all_output(&out)
    );
    probe.close().await.expect("the probe logs out");
}
