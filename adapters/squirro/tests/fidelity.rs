//! Fidelity: the official Python client `squirroclient` (pinned in
//! `tests/fidelity/requirements.txt`) drives the emulator through authentication, users,
//! groups, project members and sessions; then the adapter finds the user the client left.
//! Then both directions, field by field, for every kind of change the adapter makes: what
//! the client writes the adapter reads back exactly (`fidelity/roundtrip.rs`), and what the
//! adapter writes the client reads back exactly; and every request the adapter sends is
//! one the client sends (`fidelity/requests.rs`).
//!
//! The interpreter is `IDBRIDGE_PYTHON` (default `.venv/bin/python` at the workspace
//! root). Without it or without the package the test is skipped with a message, unless
//! `IDBRIDGE_REQUIRE_FIDELITY=1`, which turns the skip into a failure.

use std::path::Path;
use std::process::Command;

use idbridge_core::registry;
use idbridge_squirro::emulator::{DEFAULT_REFRESH_TOKEN, start_with_state};
use idbridge_testkit::emulator::EmulatorOptions;
use idbridge_testkit::fidelity;

#[path = "fidelity/requests.rs"]
mod requests;
#[path = "fidelity/roundtrip.rs"]
mod roundtrip;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn squirroclient_drives_the_emulator() {
    let Some(python) = fidelity::python_with("squirro_client", "squirroclient fidelity") else {
        return;
    };
    let (emulator, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("emulator starts");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/squirroclient_fidelity.py");
    let base = emulator.base_url.clone();
    let tenant = state.tenant().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .arg(&base)
            .arg(&tenant)
            .env("SQUIRRO_REFRESH_TOKEN", DEFAULT_REFRESH_TOKEN)
            .output()
    })
    .await
    .expect("the script's thread ends")
    .expect("the interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("FIDELITY OK"),
        "squirroclient fidelity script failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );

    // The adapter sees what the official client did.
    let handle = registry::build_adapter("squirro", emulator.adapter_config("sq"))
        .await
        .expect("the adapter connects");
    let users = handle.all_users().await.expect("users");
    let logins: Vec<&str> = users.iter().map(|u| u.login.as_str()).collect();
    assert!(
        logins.contains(&"fidelity.keeper@example.com"),
        "{logins:?}"
    );
    assert!(!logins.contains(&"fidelity.user@example.com"), "{logins:?}");
    let groups = handle.all_groups().await.expect("groups");
    assert!(
        groups.iter().all(|g| !g.name.starts_with("Fidelity")),
        "{groups:?}"
    );
    // The request log saw the client's project-member add.
    let writes = emulator.server.log().served_writes();
    assert!(
        writes
            .iter()
            .any(|w| w.method == "POST" && w.path.ends_with("/members")),
        "{writes:?}"
    );
}
