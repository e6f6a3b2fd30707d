//! Fidelity: the official Python client `dataiku-api-client` (pinned in
//! `tests/fidelity/requirements.txt`) drives the emulator: it creates a user, reads and
//! saves its settings (disables it, changes its groups), creates a group, reads the
//! authorization matrix, sets a project permission for the group, uses the bulk endpoints
//! and deletes the user. Then the adapter finds the user the client left, in its group.
//!
//! The interpreter is `IDBRIDGE_PYTHON` (default `.venv/bin/python` at the workspace
//! root). Without it or without the package the test is skipped with a message, unless
//! `IDBRIDGE_REQUIRE_FIDELITY=1`, which turns the skip into a failure.

use std::path::Path;
use std::process::Command;

use idbridge_core::{Grant, GrantFilter, Principal, Scope, registry};
use idbridge_dataiku::emulator::{DEFAULT_API_KEY, start_with_state};
use idbridge_testkit::emulator::EmulatorOptions;
use idbridge_testkit::fidelity;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataikuapi_drives_the_emulator() {
    let Some(python) = fidelity::python_with("dataikuapi, requests", "dataiku-api-client fidelity")
    else {
        return;
    };
    let (emulator, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("emulator starts");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/dataikuapi_fidelity.py");
    let base = emulator.base_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .arg(&base)
            .env("DSS_API_KEY", DEFAULT_API_KEY)
            .env("KEEP_LOGIN", "fidelity.keeper")
            .output()
    })
    .await
    .expect("the script's thread ends")
    .expect("the interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the dataikuapi script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let summary: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .last()
            .expect("the script prints a summary line"),
    )
    .expect("the summary is JSON");
    assert_eq!(summary["ok"], true);

    // The password the client set went in as written, and never comes back.
    assert_eq!(
        state.password_of("fidelity.keeper").as_deref(),
        Some("keeper-pass")
    );

    let h = registry::build_adapter("dataiku", emulator.adapter_config("dss"))
        .await
        .expect("the adapter connects");
    let users = h.all_users().await.expect("users list");
    let kept = users
        .iter()
        .find(|u| u.id == "fidelity.keeper")
        .expect("the adapter lists the user dataikuapi created");
    assert_eq!(kept.email.as_deref(), Some("keeper@example.com"));
    assert_eq!(kept.display_name.as_deref(), Some("Kept by dataikuapi"));
    assert!(kept.enabled);
    assert!(
        !users.iter().any(|u| u.id == "fidelity.user"),
        "the user dataikuapi deleted is gone"
    );
    let members = h.all_members("fidelity_team").await.expect("members");
    assert_eq!(members, vec![Principal::User("fidelity.keeper".into())]);
    // The group got mayCreateProjects from the client: it is a role now, and its
    // project entry from the client reads as the `reader` project role.
    let grants = h.all_grants(&GrantFilter::default()).await.expect("grants");
    assert!(grants.contains(&Grant {
        role: "fidelity_team".into(),
        principal: Principal::User("fidelity.keeper".into()),
        scope: Scope::Global,
    }));
    assert!(grants.contains(&Grant {
        role: "SANDBOX:reader".into(),
        principal: Principal::Group("fidelity_team".into()),
        scope: Scope::Project("SANDBOX".into()),
    }));
    let activity = h.user_activity("fidelity.keeper").await.expect("activity");
    assert_eq!(activity.last_login, None);
}
