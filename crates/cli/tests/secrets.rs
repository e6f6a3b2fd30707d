//! Secrets given through the environment never appear in any output, even at
//! `RUST_LOG=trace`, for every shipped vendor adapter talking to its emulator; nor do the
//! session cookies and tokens the emulators hand out.

mod support;

use std::process::{Command, Output};

use support::{Running, bin};

const CANARY: &str = "Canary-S3cret-7f3a9c";

/// Starts `idbridge emulate VENDOR` with the canary as every secret credential, and
/// returns its target configuration.
fn start(vendor: &str) -> (Running, serde_json::Value) {
    support::emulator_with_secret(vendor, CANARY)
}

fn secret_keys(vendor: &str) -> Vec<String> {
    let out = Command::new(bin())
        .args(["adapters", "--json"])
        .output()
        .expect("idbridge adapters runs");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let adapter = list
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == vendor))
        .unwrap_or_else(|| panic!("adapter `{vendor}` is shipped"));
    adapter["secret_keys"]
        .as_array()
        .expect("secret_keys is a list")
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect()
}

fn run(args: &[&str], envs: &[(String, String)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args).env("RUST_LOG", "trace");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("idbridge runs")
}

/// A session cookie, session token or bearer token shown with its value: the marker
/// followed by a letter or digit (a redacted one is followed by `<redacted>`).
fn derived_secret_shown(text: &str) -> Option<&str> {
    const MARKERS: [&str; 5] = [
        "JSESSIONID=",
        "Bearer ",
        "X-MSTR-AuthToken: ",
        "access_token=",
        "access_token\":\"",
    ];
    text.lines().find(|line| {
        MARKERS.iter().any(|m| {
            line.match_indices(m).any(|(at, _)| {
                let rest = &line[at + m.len()..];
                rest.chars().next().is_some_and(char::is_alphanumeric)
            })
        })
    })
}

fn assert_clean(vendor: &str, what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(CANARY) && !stderr.contains(CANARY),
        "{vendor} {what}: the secret leaked:\n{stdout}\n{stderr}"
    );
    for text in [&stdout, &stderr] {
        if let Some(line) = derived_secret_shown(text) {
            panic!("{vendor} {what}: a session credential leaked: {line}");
        }
    }
    assert!(
        !stderr.is_empty(),
        "{vendor} {what}: trace logging produced output"
    );
}

#[test]
fn env_secrets_never_appear_in_output_at_trace_level() {
    for vendor in support::emulated_vendors() {
        let (_emulator, mut target) = start(vendor);
        let keys = secret_keys(vendor);
        let mut envs = Vec::new();
        let obj = target.as_object_mut().expect("config is an object");
        for key in &keys {
            if obj.remove(key).is_some() {
                envs.push((
                    format!("IDBRIDGE__TARGETS__T__{}", key.to_uppercase()),
                    CANARY.to_string(),
                ));
            }
        }
        assert!(!envs.is_empty(), "{vendor}: its config carries a secret");
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = support::one_user_config(dir.path(), target);
        let cfg = cfg.as_str();

        let out = run(&["check", "-c", cfg], &envs);
        assert!(
            out.status.success(),
            "{vendor}: check with the env secret succeeds: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(vendor, "check", &out);

        let out = run(
            &["users", "list", "--system", "t", "-c", cfg, "--json"],
            &envs,
        );
        assert!(out.status.success(), "{vendor}: users list succeeds");
        assert_clean(vendor, "users list", &out);

        // A wrong secret fails, and the error does not echo it either.
        let wrong: Vec<(String, String)> = envs
            .iter()
            .map(|(k, _)| (k.clone(), format!("{CANARY}-wrong")))
            .collect();
        let out = run(&["check", "-c", cfg], &wrong);
        assert!(!out.status.success(), "{vendor}: a wrong secret is refused");
        assert_clean(vendor, "check with a wrong secret", &out);
    }
}
