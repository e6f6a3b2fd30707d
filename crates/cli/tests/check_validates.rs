//! `idbridge check` rejects what `idbridge plan` would reject, names the key path or file,
//! and writes nothing.

mod support;

use std::path::Path;

use support::{all_output, copy_example, example_directory, file_config, idbridge};

/// A source and a target directory file, both holding the example's roles, and a
/// configuration syncing one into the other with `extra` in the target's section.
fn config(dir: &Path, state: &Path, extra: &str) -> String {
    copy_example(&dir.join("source.yaml"));
    copy_example(&dir.join("target.yaml"));
    file_config(
        dir,
        state,
        &dir.join("source.yaml"),
        &dir.join("target.yaml"),
        extra,
    )
}

/// `check` and `plan` both fail, naming `needle`, and no state file appears.
fn both_refuse(dir: &Path, cfg: &str, state: &Path, needle: &str) {
    let out = idbridge(&["check", "-c", cfg], &[]);
    assert_eq!(out.status.code(), Some(1), "check: {}", all_output(&out));
    assert!(
        all_output(&out).contains(needle),
        "check names `{needle}`: {}",
        all_output(&out)
    );
    assert!(!state.exists(), "check created no state file");
    let out = idbridge(&["plan", "-c", cfg], &[]);
    assert_eq!(out.status.code(), Some(1), "plan: {}", all_output(&out));
    let target = std::fs::read(dir.join("target.yaml")).expect("target");
    assert_eq!(
        target,
        std::fs::read(example_directory()).expect("example"),
        "the target was not written"
    );
}

#[test]
fn an_unknown_deletion_value_fails_check_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.db");
    let cfg = config(dir.path(), &state, "deletion = \"archive\"\n");
    both_refuse(dir.path(), &cfg, &state, "targets.copy.deletion");
    assert!(all_output(&idbridge(&["check", "-c", &cfg], &[])).contains("idbridge.toml"));
}

#[test]
fn an_unknown_role_in_a_mapping_fails_check_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.db");
    let cfg = config(
        dir.path(),
        &state,
        "[targets.copy.roles.analyst]\nrole = \"no-such-role\"\n",
    );
    both_refuse(dir.path(), &cfg, &state, "targets.copy.roles.analyst.role");
    let out = idbridge(&["check", "-c", &cfg], &[]);
    assert!(
        all_output(&out).contains("no role `no-such-role`"),
        "{}",
        all_output(&out)
    );
}

#[test]
fn a_missing_state_directory_fails_check_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("no-such-directory").join("state.db");
    let cfg = config(dir.path(), &state, "");
    both_refuse(dir.path(), &cfg, &state, &state.display().to_string());
    assert!(!dir.path().join("no-such-directory").exists());
}

#[test]
fn a_valid_configuration_passes_check_without_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.db");
    let cfg = config(
        dir.path(),
        &state,
        "deletion = \"delete\"\n[targets.copy.roles.analyst]\nrole = \"viewer\"\n",
    );
    let out = idbridge(&["check", "-c", &cfg], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(!state.exists(), "check created no state file");
    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{}",
        all_output(&out)
    );
}

#[test]
fn check_creates_no_target_file_that_create_would_make() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.db");
    copy_example(&dir.path().join("source.yaml"));
    let target = dir.path().join("new").join("target.yaml");
    let cfg = file_config(
        dir.path(),
        &state,
        &dir.path().join("source.yaml"),
        &target,
        "create = true\n",
    );
    let out = idbridge(&["check", "-c", &cfg], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("mappings: ok"),
        "planned against an empty target: {}",
        all_output(&out)
    );
    assert!(!target.exists(), "check created the target file");
    assert!(
        !dir.path().join("new").exists(),
        "check created the target's directory"
    );
    assert!(!state.exists(), "check created no state file");
}

#[test]
fn check_json_reports_every_system_with_what_it_supports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.db");
    let cfg = config(dir.path(), &state, "");
    let out = idbridge(&["check", "--json", "-c", &cfg], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["mappings"], "ok", "{report}");
    let systems = report["systems"].as_array().expect("systems");
    assert_eq!(systems.len(), 2, "{report}");
    for s in systems {
        assert_eq!(s["adapter"], "file");
        assert_eq!(s["ok"], true);
        assert!(
            s["supports"]
                .as_array()
                .is_some_and(|a| a.iter().any(|o| o == "users_create")),
            "{s}"
        );
        assert_eq!(
            s["facts"],
            serde_json::json!([]),
            "a file has nothing to discover"
        );
    }
    assert!(!state.exists(), "check created no state file");
}

#[test]
fn check_shows_what_a_scim_server_advertises_in_text_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.yaml");
    copy_example(&source);
    let (_server, target) = support::emulator("scim", &[]);
    let cfg = dir.path().join("idbridge.json");
    std::fs::write(
        &cfg,
        serde_json::json!({
            "state": dir.path().join("state.db"),
            "source": {"adapter": "file", "path": source},
            "targets": {"app": target},
        })
        .to_string(),
    )
    .expect("config written");
    let cfg = cfg.to_str().expect("utf-8 path");
    let out = idbridge(&["check", "-c", cfg], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("  discovered:\n    serviceProviderConfig: read\n    patch: yes"),
        "{text}"
    );
    let out = idbridge(&["check", "--json", "-c", cfg], &[]);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let facts = &report["systems"][1]["facts"];
    assert_eq!(facts[0]["name"], "serviceProviderConfig", "{report}");
    assert!(
        facts
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x["name"] == "bulk")),
        "{report}"
    );
}
