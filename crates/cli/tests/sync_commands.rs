//! `plan`, `apply`, `sync`, `journal` and `demo` as a user runs them: output, exit codes, and
//! when `apply` and `sync` let go of their source.

mod support;

use std::process::Output;

use support::{all_output, example_config as config, idbridge};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn plan_exit_codes_follow_what_would_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());

    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "changes planned: {}",
        all_output(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("+ create user ada.lovelace"), "{text}");

    let out = idbridge(&["plan", "-c", &cfg, "--json"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan --json is JSON");
    assert!(plan.is_object(), "{plan}");

    let out = idbridge(&["apply", "-c", &cfg, "--yes"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "apply converges: {}",
        all_output(&out)
    );

    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing left: {}",
        all_output(&out)
    );

    let out = idbridge(&["journal", "-c", &cfg, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let journal: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("journal --json is JSON");
    assert!(!journal.to_string().is_empty());

    std::fs::write(dir.path().join("idbridge.toml"), "[source]\nadapter = 1\n").expect("write");
    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad config is an error: {}",
        all_output(&out)
    );
}

#[test]
fn a_saved_plan_applies_exactly_and_then_nothing_is_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().expect("utf-8 path");
    let out = idbridge(&["plan", "-c", &cfg, "--out", saved], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    let out = idbridge(&["apply", "-c", &cfg, saved, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
}

#[test]
fn demo_tells_the_whole_story() {
    let out = idbridge(&["demo"], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    for vendor in support::emulated_vendors() {
        assert!(
            text.contains(&format!(
                "{vendor:<10} write requests during the second run: 0"
            )),
            "{vendor}: the second run writes nothing:\n{text}"
        );
    }
    assert!(
        text.contains("~ update user grace.hopper"),
        "rename is an update:\n{text}"
    );
    assert!(
        text.contains("+ create user nina.simone"),
        "the joiner is created:\n{text}"
    );
    assert!(
        text.contains("- disable user alan.turing"),
        "the leaver is disabled:\n{text}"
    );
    assert!(
        text.contains("! revoke sessions of alan.turing"),
        "sessions are revoked:\n{text}"
    );
    assert!(
        text.contains("alan's live sessions: 1 before, 0 after"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .contains("Nothing to change: every target matches the source."),
        "{text}"
    );
}

/// The position of the first JSON log line of `out` with `message` about `path`.
fn logged(out: &Output, message: &str, path: &std::path::Path) -> Option<usize> {
    let path = path.display().to_string();
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .position(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(message))
                && l["fields"]["path"].as_str() == Some(path.as_str())
        })
}

#[test]
fn a_single_sync_lets_go_of_its_file_source_before_it_writes() {
    // As `apply` does: the plan is made, the source is read no more, and a `file` source's
    // directory (hundreds of megabytes at a million users) is not held through the writes.
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());
    let (source, target) = (
        dir.path().join("source.yaml"),
        dir.path().join("target.yaml"),
    );
    for command in ["sync", "apply"] {
        std::fs::remove_file(&target).ok();
        std::fs::remove_file(dir.path().join("state.db")).ok();
        let mut args = vec!["--log-format", "json", command, "-c", &cfg];
        if command == "apply" {
            args.push("--yes");
        }
        let out = idbridge(&args, &[("RUST_LOG", "idbridge_file=debug")]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{command}: {}",
            all_output(&out)
        );
        let closed = logged(&out, "let go of the directory", &source)
            .unwrap_or_else(|| panic!("{command}: the source is closed: {}", all_output(&out)));
        let written = logged(&out, "rewrote the directory file", &target)
            .unwrap_or_else(|| panic!("{command}: the target is written: {}", all_output(&out)));
        assert!(
            closed < written,
            "{command}: the source is closed (line {closed}) before the first write (line {written})"
        );
    }
}
