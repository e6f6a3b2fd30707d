//! Runs the official Python SDK (mstrio-py, pinned in `tests/fidelity/requirements.txt`)
//! against the emulator in both directions: what the SDK writes, this adapter reads back
//! exactly; what this adapter writes, the SDK reads back exactly, field by field.
//!
//! Each test starts the emulator as one server version, on one side of every switch the
//! SDK and the adapter make by version: the role-members route (11.6.0400), delivery
//! devices for e-mail addresses (11.3.0100) and the bulk disconnect (11.3.1).
//!
//! The interpreter is `$IDBRIDGE_PYTHON`, else `.venv/bin/python` at the workspace root.
//! Without it (or without mstrio-py installed) the test is skipped with a message, unless
//! `IDBRIDGE_REQUIRE_FIDELITY=1`, in which case it fails.

use std::path::{Path, PathBuf};

use idbridge_core::{
    AdapterHandle, Grant, GrantFilter, GroupChanges, NewGroup, NewUser, Principal, Scope,
    UserChanges, registry,
};
use idbridge_strategy::emulator::{self, GENERIC_EMAIL_DEVICE_ID, TUTORIAL_PROJECT_NAME};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use idbridge_testkit::fidelity;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mstrio_py_manages_users_groups_roles_and_connections_on_the_emulator() {
    run_against(&[]).await;
}

/// From 11.6.0400 the SDK grants roles through `/api/securityRoles/{id}/members` and
/// fetches more user details.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mstrio_py_works_against_a_newer_server_version_too() {
    run_against(&[("version", "11.6.0400.0101")]).await;
}

/// Before 11.3.0100 there are no delivery devices (e-mail addresses are added without
/// one) and before 11.3.1 no bulk disconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mstrio_py_works_against_an_older_server_version_too() {
    run_against(&[("version", "11.2.0300.0001"), ("bulk_disconnect", "false")]).await;
}

/// Runs the SDK script with `extra` arguments and returns its standard output.
async fn sdk(python: &Path, running: &RunningEmulator, extra: &[&str]) -> String {
    let cfg = running.config.clone();
    let text = |k: &str| cfg[k].as_str().expect("config key").to_string();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/mstrio_fidelity.py");
    let output = tokio::process::Command::new(python)
        .arg(&script)
        .args([
            text("base_url"),
            text("username"),
            text("password"),
            text("project"),
        ])
        .args(extra)
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "mstrio-py failed against the emulator ({extra:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    stdout
}

/// What the SDK reads of the user with `login`.
async fn sdk_reads(python: &Path, running: &RunningEmulator, login: &str) -> Value {
    let out = sdk(python, running, &["read", login]).await;
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("READ "))
        .unwrap_or_else(|| panic!("no READ line in {out}"));
    serde_json::from_str(line).expect("the read is JSON")
}

async fn run_against(extra: &[(&str, &str)]) {
    let Some(python) = fidelity::python_with("mstrio", "strategy fidelity (mstrio-py)") else {
        return;
    };
    let mut options = EmulatorOptions::default();
    for (k, v) in extra {
        options.extra.insert(k.to_string(), v.to_string());
    }
    let running = emulator::start(options).await.expect("emulator starts");
    let out = sdk(&python, &running, &[]).await;
    assert!(out.contains("FIDELITY OK"), "{out}");

    let handle = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("adapter connects");
    // Before 11.3.0100 the SDK manages no addresses (they name devices, which need it).
    let devices = !extra
        .iter()
        .any(|(k, v)| *k == "version" && v.starts_with("11.2"));
    sdk_writes_adapter_reads(&handle, devices).await;
    adapter_writes_sdk_reads(&python, &running, &handle, devices).await;
    handle.close().await.expect("logout");
    running.server.shutdown().await;
}

/// What the SDK left behind, read through this adapter.
async fn sdk_writes_adapter_reads(handle: &AdapterHandle, devices: bool) {
    let users = handle.all_users().await.expect("users list");
    assert!(!users.iter().any(|u| u.login == "fidelity.user"));
    let mut ids = Vec::new();
    for (login, name, email, enabled) in [
        (
            "fidelity.keeper",
            "Fidelity Keeper",
            "keeper@example.com",
            true,
        ),
        (
            "fidelity.mailer",
            "Fidelity Mailer Renamed",
            "mailer.new@example.com",
            false,
        ),
    ] {
        let listed = users
            .iter()
            .find(|u| u.login == login)
            .unwrap_or_else(|| panic!("{login} in {users:?}"));
        let user = handle.get_user(&listed.id).await.expect("read");
        assert_eq!(user.display_name.as_deref(), Some(name), "{user:?}");
        let email = devices.then_some(email);
        assert_eq!(user.email.as_deref(), email, "{user:?}");
        assert_eq!(user.enabled, enabled, "{user:?}");
        assert_eq!(listed, &user, "the listing reads the same");
        ids.push(user);
    }
    let keeper = &ids[0];
    assert_eq!(
        keeper.attributes.get("description").map(String::as_str),
        Some("kept by mstrio-py")
    );
    let groups = handle.all_groups().await.expect("groups");
    let named = |n: &str| {
        groups
            .iter()
            .find(|g| g.name == n)
            .unwrap_or_else(|| panic!("{n} in {groups:?}"))
            .clone()
    };
    let (parent, team) = (named("Fidelity Kept Parent"), named("Fidelity Kept Team"));
    assert_eq!(team.description.as_deref(), Some("renamed by mstrio-py"));
    assert_eq!(parent.description.as_deref(), Some("parent"));
    assert!(!groups.iter().any(|g| g.name.starts_with("Fidelity Group")));
    let members = handle.all_members(&parent.id).await.expect("members");
    assert_eq!(members, [Principal::Group(team.id.clone())]);
    let members = handle.all_members(&team.id).await.expect("members");
    assert_eq!(members, [Principal::User(keeper.id.clone())]);
    let filter = GrantFilter {
        principal: Some(Principal::User(keeper.id.clone())),
        ..Default::default()
    };
    let grants = handle.all_grants(&filter).await.expect("grants");
    let roles = handle.all_roles().await.expect("roles");
    let power = roles
        .iter()
        .find(|r| r.name == "Power Users")
        .expect("a default role");
    assert_eq!(
        grants,
        [Grant {
            role: power.id.clone(),
            principal: Principal::User(keeper.id.clone()),
            scope: Scope::Project(TUTORIAL_PROJECT_NAME.to_string()),
        }]
    );
    let sessions = handle
        .all_sessions(Some(&keeper.id))
        .await
        .expect("sessions");
    assert!(!sessions.is_empty(), "the SDK's sign-in is listed");
    assert!(sessions.iter().all(|s| s.user == keeper.id), "{sessions:?}");
}

/// What this adapter writes, read through the SDK, field by field.
async fn adapter_writes_sdk_reads(
    python: &Path,
    running: &RunningEmulator,
    h: &AdapterHandle,
    devices: bool,
) {
    let parent = h
        .create_group(&NewGroup {
            name: "Adapter Parent".into(),
            description: None,
        })
        .await
        .expect("group");
    let team = h
        .create_group(&NewGroup {
            name: "Adapter Group".into(),
            description: Some("made by idbridge".into()),
        })
        .await
        .expect("group");
    h.update_group(
        &team.id,
        &GroupChanges {
            name: Some("Adapter Team".into()),
            ..Default::default()
        },
    )
    .await
    .expect("renamed");
    h.add_member(&parent.id, &Principal::Group(team.id.clone()))
        .await
        .expect("nested");
    let mut new = NewUser::new("adapter.written");
    new.email = Some("written@example.com".into());
    new.display_name = Some("Adapter Written".into());
    new.attributes
        .insert("description".into(), "made by idbridge".into());
    let user = h.create_user(&new).await.expect("created");
    h.add_member(&team.id, &Principal::User(user.id.clone()))
        .await
        .expect("member");
    let role = h
        .all_roles()
        .await
        .expect("roles")
        .into_iter()
        .find(|r| r.name == "Normal Users")
        .expect("a default role");
    let grant = Grant {
        role: role.id.clone(),
        principal: Principal::User(user.id.clone()),
        scope: Scope::Project(TUTORIAL_PROJECT_NAME.to_string()),
    };
    h.grant(&grant).await.expect("granted");
    h.update_user(
        &user.id,
        &UserChanges {
            email: Some(Some("written.new@example.com".into())),
            display_name: Some(Some("Adapter Rewritten".into())),
            ..Default::default()
        },
    )
    .await
    .expect("changed");
    h.set_user_enabled(&user.id, false).await.expect("disabled");

    let read = sdk_reads(python, running, "adapter.written").await;
    let expected_address = if devices {
        json!([{
            "address": "written.new@example.com",
            "delivery_type": "email",
            "device": GENERIC_EMAIL_DEVICE_ID,
            "is_default": true,
        }])
    } else {
        json!([])
    };
    assert_eq!(read["id"], json!(user.id), "{read}");
    assert_eq!(read["username"], "adapter.written", "{read}");
    assert_eq!(read["full_name"], "Adapter Rewritten", "{read}");
    assert_eq!(read["description"], "made by idbridge", "{read}");
    assert_eq!(read["enabled"], false, "{read}");
    assert_eq!(read["default_email_address"], "written.new@example.com");
    assert_eq!(
        read["addresses"], expected_address,
        "one address, changed in place"
    );
    assert_eq!(
        read["groups"]["Adapter Team"],
        json!(["Adapter Parent"]),
        "{read}"
    );
    assert_eq!(read["roles"], json!(["Normal Users"]), "{read}");
    assert_eq!(read["connections"], 0, "{read}");

    // Enabled again, the user signs in; the adapter sees and ends its connections.
    h.set_user_enabled(&user.id, true).await.expect("enabled");
    emulator::sign_in_as(running, "adapter.written")
        .await
        .expect("signs in");
    let sessions = h.all_sessions(Some(&user.id)).await.expect("sessions");
    assert!(!sessions.is_empty(), "the sign-in opened a connection");
    assert!(sessions.iter().all(|s| s.user == user.id), "{sessions:?}");
    let read = sdk_reads(python, running, "adapter.written").await;
    assert_eq!(read["connections"], json!(sessions.len()), "{read}");
    let ended = h.revoke_user_sessions(&user.id).await.expect("revoked");
    assert_eq!(ended, sessions.len() as u64);
    h.revoke(&grant).await.expect("revoked");
    h.remove_member(&team.id, &Principal::User(user.id.clone()))
        .await
        .expect("removed");
    h.update_user(
        &user.id,
        &UserChanges {
            email: Some(None),
            ..Default::default()
        },
    )
    .await
    .expect("e-mail cleared");
    let read = sdk_reads(python, running, "adapter.written").await;
    assert_eq!(read["enabled"], true, "{read}");
    assert_eq!(read["connections"], 0, "{read}");
    assert_eq!(read["roles"], json!([]), "{read}");
    assert_eq!(read["addresses"], json!([]), "{read}");
    assert!(read["default_email_address"].is_null(), "{read}");
    assert!(read["groups"].get("Adapter Team").is_none(), "{read}");
    h.delete_group(&team.id).await.expect("group deleted");
    h.delete_group(&parent.id).await.expect("group deleted");
    h.delete_user(&user.id).await.expect("user deleted");
    let users = h.all_users().await.expect("users");
    assert!(!users.iter().any(|u| u.login == "adapter.written"));
}
