//! `plan`, `apply`, `journal` and `demo` as a user runs them: output and exit codes.

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
