//! The `idbridge` binary, run as a user would run it.

mod support;

use std::process::Output;

use support::{example_directory, idbridge, write_config};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn adapters_lists_file_with_capabilities() {
    let out = idbridge(&["adapters"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("file ")), "{stdout}");
    assert!(stdout.contains("users_create"), "{stdout}");

    let out = idbridge(&["adapters", "--json"], &[]);
    let list: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("adapters --json prints JSON");
    let file = list
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "file"))
        .expect("file is listed");
    assert_eq!(file["capabilities"]["users_list"], true);
    assert_eq!(file["capabilities"]["sessions_list"], false);
}

#[test]
fn check_passes_on_a_valid_config_and_lists_capabilities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("target.yaml");
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nadapter = \"file\"\npath = {:?}\n\n[targets.copy]\nadapter = \"file\"\npath = {:?}\ncreate = true\n",
            example_directory(),
            target
        ),
    );
    let out = idbridge(&["check", "-c", cfg.to_str().expect("utf-8 path")], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("source (file): ok"), "{stdout}");
    assert!(stdout.contains("copy (file): ok"), "{stdout}");
}

/// Runs `idbridge check` on the configuration `body` (written to `DIR/idbridge.toml`),
/// expecting it to fail; returns stdout and stderr.
fn failed_check(body: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), body);
    let out = idbridge(&["check", "-c", cfg.to_str().expect("utf-8 path")], &[]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    format!("{stdout}{stderr}")
}

#[test]
fn misspelt_key_fails_naming_the_key_path_and_file() {
    let all = failed_check(&format!(
        "[source]\nadapter = \"file\"\npaht = {:?}\n",
        example_directory()
    ));
    assert!(all.contains("source.paht"), "{all}");
    assert!(all.contains("idbridge.toml"), "{all}");
}

#[test]
fn unknown_adapter_lists_the_known_ones() {
    let all = failed_check("[source]\nadapter = \"fiel\"\n");
    assert!(all.contains("source.adapter"), "{all}");
    assert!(all.contains("unknown adapter `fiel`"), "{all}");
    assert!(all.contains("file"), "{all}");
}

#[test]
fn users_and_groups_list_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nadapter = \"file\"\npath = {:?}\n",
            example_directory()
        ),
    );
    let cfg = cfg.to_str().expect("utf-8 path");
    let out = idbridge(
        &["users", "list", "--system", "source", "-c", cfg, "--json"],
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let users = users.as_array().expect("an array");
    assert!(users.len() >= 40, "about 50 users: {}", users.len());
    for key in ["id", "login", "email", "display_name", "enabled"] {
        assert!(
            users[0].get(key).is_some(),
            "user has `{key}`: {}",
            users[0]
        );
    }
    assert!(
        users.iter().any(|u| u["enabled"] == false),
        "one disabled user"
    );

    let out = idbridge(
        &["groups", "list", "--system", "source", "-c", cfg, "--json"],
        &[],
    );
    let groups: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let groups = groups.as_array().expect("an array");
    assert!(groups.len() >= 8);
    for key in ["id", "name", "description", "members"] {
        assert!(
            groups[0].get(key).is_some(),
            "group has `{key}`: {}",
            groups[0]
        );
    }
    assert!(
        groups.iter().any(|g| g["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|p| p["kind"] == "group"))),
        "a nested group shows as a member"
    );
}

#[test]
fn unknown_system_names_the_configured_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nadapter = \"file\"\npath = {:?}\n",
            example_directory()
        ),
    );
    let out = idbridge(
        &[
            "users",
            "list",
            "--system",
            "bi",
            "-c",
            cfg.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("no system named `bi`"), "{stderr}");
    assert!(stderr.contains("source"), "{stderr}");
}

#[test]
fn emulate_unknown_vendor_lists_known_ones() {
    let out = idbridge(&["emulate", "nosuchvendor"], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no emulator for `nosuchvendor`"),
        "{stderr}"
    );
}
