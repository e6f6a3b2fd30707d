//! Output a reviewer can trust: control characters in data are shown escaped in every
//! human-readable output, and a closed output never panics nor stops the work.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{
    Complete, all_output, command, copy_config, idbridge, users_only, write_json_directory,
};

/// A display name that erases the line above and moves the cursor up, a login with a
/// carriage return and a bidi override, a group name with a CSI (C1) and DEL.
const EVIL_NAME: &str = "Eve \u{1b}[2K\u{1b}[1A Mallory";
const EVIL_LOGIN: &str = "eve\r\u{202e}nimda";
const EVIL_GROUP: &str = "ops\u{9b}2J\u{7f}\u{2067}x";

/// The raw control characters a terminal acts on (or that reorder what it shows).
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

fn assert_no_raw_controls(what: &str, out: &Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let found = raw_controls(&text);
        assert!(
            found.is_empty(),
            "{what}: raw control characters {found:?} on {stream}:\n{text}"
        );
    }
}

/// A directory (JSON) of `people` ordinary users plus one hostile one in a hostile group.
fn write_source(path: &Path, people: usize) {
    let mut users: Vec<serde_json::Value> = (0..people)
        .map(|i| {
            serde_json::json!({
                "id": format!("u-{i:05}"),
                "login": format!("person.{i:05}"),
                "email": format!("person.{i:05}@example.com"),
                "display_name": format!("Person {i:05} with a name long enough to fill a pipe"),
                "groups": ["staff"],
            })
        })
        .collect();
    users.push(serde_json::json!({
        "id": "u-evil",
        "login": EVIL_LOGIN,
        "email": "eve@example.com",
        "display_name": EVIL_NAME,
        "groups": [EVIL_GROUP],
    }));
    let directory = serde_json::json!({
        "users": users,
        "groups": [
            {"id": "g-staff", "name": "staff"},
            {"id": "g-evil", "name": EVIL_GROUP, "description": "\u{1b}]0;owned\u{7}"},
        ],
    });
    let complete = Complete {
        groups: 2,
        ..users_only(people + 1)
    };
    write_json_directory(path, &directory, complete);
}

/// A configuration syncing a directory file into a fresh directory file.
fn config(dir: &Path, people: usize) -> String {
    let source = dir.join("source.json");
    write_source(&source, people);
    copy_config(dir, &source, &dir.join("target.json"))
}

#[test]
fn control_characters_in_data_are_shown_escaped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), 3);

    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert_no_raw_controls("plan", &out);
    let text = String::from_utf8_lossy(&out.stdout);
    // The hostile login is never written to a target; the conflict names it escaped.
    assert!(
        text.contains("? conflict (user): u-evil (eve\\r\\u{202e}nimda): login `eve\\r\\u{202e}nimda` contains U+000D"),
        "the escaped values are shown where the raw ones were:\n{text}"
    );
    assert!(!text.contains("+ create user eve"), "{text}");
    // So is the hostile group name.
    assert!(
        text.contains("? conflict (group): g-evil (ops\\u{9b}2J\\u{7f}\\u{2067}x): group name `ops\\u{9b}2J\\u{7f}\\u{2067}x` contains U+009B"),
        "the hostile group name is refused, shown escaped:\n{text}"
    );
    assert!(text.contains("\\u{9b}2J\\u{7f}\\u{2067}x"), "{text}");

    let out = idbridge(&["apply", "-c", &cfg, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_no_raw_controls("apply", &out);

    for system in ["source", "copy"] {
        for what in ["users", "groups"] {
            let out = idbridge(&[what, "list", "-c", &cfg, "--system", system], &[]);
            assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
            assert_no_raw_controls(&format!("{what} list --system {system}"), &out);
            // Every row stays one line: the header, the rows and the count.
            let rows = String::from_utf8_lossy(&out.stdout).lines().count();
            // The hostile user and group are in the source only: their login and name
            // are refused for targets.
            let expected = match (what, system) {
                ("users", "source") => 4,
                ("users", _) => 3,
                (_, "source") => 2,
                _ => 1,
            };
            assert_eq!(rows, 1 + expected + 1, "{}", all_output(&out));

            // JSON stays JSON, with the same values, and is as safe on a terminal.
            let out = idbridge(
                &[what, "list", "-c", &cfg, "--system", system, "--json"],
                &[],
            );
            assert_no_raw_controls(&format!("{what} list --json"), &out);
            let list: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("--json is JSON");
            let text = list.to_string();
            let value = if what == "users" {
                EVIL_NAME
            } else {
                EVIL_GROUP
            };
            if system != "source" {
                continue;
            }
            assert!(
                list.as_array()
                    .expect("a list")
                    .iter()
                    .any(|v| v["display_name"] == value || v["name"] == value),
                "the JSON keeps the real value: {text}"
            );
        }
    }

    let out = idbridge(&["journal", "-c", &cfg], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_no_raw_controls("journal", &out);
    let out = idbridge(&["journal", "-c", &cfg, "--run", "1"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_no_raw_controls("journal --run", &out);

    // An error quoting the value (no such person to offboard) is escaped too.
    let out = idbridge(&["offboard", EVIL_NAME, "-c", &cfg, "--yes"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert_no_raw_controls("offboard error", &out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Eve \\u{1b}[2K"),
        "{}",
        all_output(&out)
    );
}

/// A pipe whose reading end is already closed, so that the first write to it fails with
/// EPIPE whatever the timing.
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("`true` runs");
    let write_end = reader.stdin.take().expect("stdin is piped");
    reader.wait().expect("`true` exits");
    Stdio::from(write_end)
}

/// Runs with stdout closed before the first write.
fn run_with_closed_stdout(args: &[&str]) -> Output {
    command()
        .args(args)
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .expect("the idbridge binary runs")
}

fn assert_quiet(what: &str, out: &Output, code: Option<i32>) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{what}: {stderr}"
    );
    assert_eq!(out.status.code(), code, "{what}: {stderr}");
}

#[test]
fn a_closed_stdout_never_panics_and_keeps_the_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), 3);
    let cases: [(&[&str], Option<i32>); 8] = [
        (&["adapters"], Some(0)),
        (&["adapters", "--json", "--examples"], Some(0)),
        (&["check", "-c", &cfg], Some(0)),
        (&["plan", "-c", &cfg], Some(2)),
        (&["plan", "-c", &cfg, "--json"], Some(2)),
        (
            &["users", "list", "-c", &cfg, "--system", "source"],
            Some(0),
        ),
        (
            &["groups", "list", "-c", &cfg, "--system", "source"],
            Some(0),
        ),
        (&["demo"], Some(0)),
    ];
    for (args, code) in cases {
        let out = run_with_closed_stdout(args);
        assert_quiet(&args.join(" "), &out, code);
    }

    // A sync whose plan print hits the closed pipe still applies, journals and exits 0.
    let out = run_with_closed_stdout(&["sync", "-c", &cfg]);
    assert_quiet("sync", &out, Some(0));
    let out = idbridge(&["plan", "-c", &cfg], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the sync applied everything: {}",
        all_output(&out)
    );
    for args in [
        &["journal", "-c", &cfg][..],
        &["journal", "-c", &cfg, "--json"][..],
        &["journal", "-c", &cfg, "--run", "1"][..],
    ] {
        let out = run_with_closed_stdout(args);
        assert_quiet(&args.join(" "), &out, Some(0));
    }
}

#[test]
fn output_closed_after_one_line_stops_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Far more than a pipe buffers, so that the command is still writing when the reader
    // goes away.
    let cfg = config(dir.path(), 3000);
    let saved = dir.path().join("plan.json");
    let saved_arg = saved.display().to_string();
    for args in [
        &["users", "list", "-c", &cfg, "--system", "source"][..],
        &["plan", "-c", &cfg][..],
        &["plan", "-c", &cfg, "--out", &saved_arg][..],
    ] {
        let mut child = command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the idbridge binary runs");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut first)
            .expect("one line");
        assert!(!first.is_empty(), "{args:?} printed a line");
        // The reader (and with it the pipe) is gone here.
        let out = child.wait_with_output().expect("it exits");
        let code = if args[0] == "plan" { Some(2) } else { Some(0) };
        assert_quiet(&args.join(" "), &out, code);
    }
    // The text stopped at the closed pipe; the plan was still saved whole.
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&saved).expect("the plan is saved"))
            .expect("the saved plan is JSON");
    assert!(
        plan["targets"][0]["ops"].as_array().map_or(0, Vec::len) > 3000,
        "every operation is saved"
    );
}

#[test]
fn json_output_closed_after_a_few_bytes_stops_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    // Far more than a pipe buffers: the JSON is still being written when the reader goes.
    let cfg = config(dir.path(), 3000);
    for (args, code) in [
        (&["plan", "-c", &cfg, "--json"][..], Some(2)),
        (
            &["users", "list", "-c", &cfg, "--system", "source", "--json"][..],
            Some(0),
        ),
    ] {
        let mut child = command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the idbridge binary runs");
        // `| head -c 100`
        let mut first = [0u8; 100];
        child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_exact(&mut first)
            .expect("100 bytes");
        assert!(matches!(first[0], b'{' | b'['), "{args:?}");
        let out = child.wait_with_output().expect("it exits");
        assert_quiet(&args.join(" "), &out, code);
    }
}
