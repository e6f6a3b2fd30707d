//! Runs the official Python SDK (mstrio-py, pinned in `tests/fidelity/requirements.txt`)
//! against the emulator, then checks with this adapter what the SDK left behind.
//!
//! The interpreter is `$IDBRIDGE_PYTHON`, else `.venv/bin/python` at the workspace root.
//! Without it (or without mstrio-py installed) the test is skipped with a message, unless
//! `IDBRIDGE_REQUIRE_FIDELITY=1`, in which case it fails.

use std::path::PathBuf;

use idbridge_core::registry;
use idbridge_strategy::emulator;
use idbridge_testkit::emulator::EmulatorOptions;
use idbridge_testkit::fidelity;

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
    let Some(python) = fidelity::python_with("mstrio", "strategy fidelity (mstrio-py)") else {
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
