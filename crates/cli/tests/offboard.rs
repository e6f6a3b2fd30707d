//! `offboard`, `offboard --list` and `offboard --lift` as an administrator runs them.

mod support;

use std::process::Output;

use support::{all_output, example_config as config};

fn idbridge(args: &[&str]) -> Output {
    // Who placed a hold comes from the process's user id, not from `$USER`.
    support::idbridge(args, &[("USER", "mallory")])
}

#[test]
fn an_offboarding_holds_until_lifted_and_both_are_journaled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());
    let out = idbridge(&["sync", "-c", &cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));

    let out = idbridge(&["offboard", "-c", &cfg, "--list"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(all_output(&out).contains("no holds in force"));

    let out = idbridge(&[
        "offboard",
        "alan.turing",
        "-c",
        &cfg,
        "--yes",
        "--reason",
        "laptop stolen",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("- disable user alan.turing (offboarded)"),
        "{}",
        all_output(&out)
    );

    let out = idbridge(&["offboard", "-c", &cfg, "--list"]);
    let text = all_output(&out);
    assert!(text.contains("alan.turing  held since "), "{text}");
    assert!(text.contains("(offboard: laptop stolen)"), "{text}");
    assert!(!text.contains(" by mallory "), "{text}");

    // The source still has alan enabled: the sync keeps the account disabled.
    let out = idbridge(&["sync", "-c", &cfg]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("= alan.turing held by offboard since "),
        "{text}"
    );
    assert!(!text.contains("enable user alan.turing"), "{text}");

    let out = idbridge(&["offboard", "-c", &cfg, "--lift", "nobody"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(all_output(&out).contains("no hold in force names `nobody`"));

    let out = idbridge(&["offboard", "-c", &cfg, "--lift", "ALAN.TURING"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = idbridge(&["plan", "-c", &cfg]);
    assert!(
        all_output(&out).contains("+ enable user alan.turing"),
        "{}",
        all_output(&out)
    );

    let out = idbridge(&["journal", "-c", &cfg]);
    let text = all_output(&out);
    assert!(text.contains("offboard --lift"), "{text}");
}
