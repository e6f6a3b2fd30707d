//! Runs the official Python SDK (mstrio-py, pinned in `tests/fidelity/requirements.txt`)
//! against the emulator, then checks with this adapter what the SDK left behind.
//!
//! The interpreter is `$IDBRIDGE_PYTHON`, else `.venv/bin/python` at the workspace root.
//! Without it (or without mstrio-py installed) the test is skipped with a message, unless
//! `IDBRIDGE_REQUIRE_FIDELITY=1`, in which case it fails.

use std::path::PathBuf;
use std::process::Stdio;

use idbridge_core::{AdapterExt, registry};
use idbridge_strategy::emulator;
use idbridge_testkit::emulator::EmulatorOptions;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The interpreter with mstrio-py, or `None` when the test should be skipped.
fn python() -> Option<PathBuf> {
    let required = std::env::var("IDBRIDGE_REQUIRE_FIDELITY").is_ok_and(|v| v == "1");
    let python = std::env::var_os("IDBRIDGE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    let has_sdk = std::process::Command::new(&python)
        .args(["-c", "import mstrio"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_sdk {
        return Some(python);
    }
    let msg = format!(
        "mstrio-py is not importable with `{}`: create the virtualenv with `python3 -m venv .venv && .venv/bin/pip install -r adapters/strategy/tests/fidelity/requirements.txt` or set IDBRIDGE_PYTHON",
        python.display()
    );
    assert!(!required, "IDBRIDGE_REQUIRE_FIDELITY=1 but {msg}");
    eprintln!("SKIPPED strategy fidelity test: {msg}");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mstrio_py_manages_users_groups_roles_and_connections_on_the_emulator() {
    run_against(None).await;
}

/// From 11.6.0400 the SDK grants roles through `/api/securityRoles/{id}/members` and
/// fetches more user details.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mstrio_py_works_against_a_newer_server_version_too() {
    run_against(Some("11.6.0400.0101")).await;
}

async fn run_against(version: Option<&str>) {
    let Some(python) = python() else {
        return;
    };
    let mut options = EmulatorOptions::default();
    if let Some(v) = version {
        options.extra.insert("version".to_string(), v.to_string());
    }
    let running = emulator::start(options).await.expect("emulator starts");
    let cfg = running.config.clone();
    let text = |k: &str| cfg[k].as_str().expect("config key").to_string();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/mstrio_fidelity.py");
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .args([
            text("base_url"),
            text("username"),
            text("password"),
            text("project"),
        ])
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("FIDELITY OK"),
        "mstrio-py failed against the emulator\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );

    // The user the SDK left behind is visible through this adapter.
    let handle = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("adapter connects");
    let users = handle.all_users().await.expect("users list");
    assert!(
        users.iter().any(|u| u.login == "fidelity.keeper"),
        "{users:?}"
    );
    assert!(!users.iter().any(|u| u.login == "fidelity.user"));
    handle.close().await.expect("logout");
    running.server.shutdown().await;
}
