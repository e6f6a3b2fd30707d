//! Secrets given through the environment never appear in any output, even at
//! `RUST_LOG=trace`, for every shipped vendor adapter talking to its emulator.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

const CANARY: &str = "Canary-S3cret-7f3a9c";
const VENDORS: [&str; 3] = ["dataiku", "squirro", "strategy"];

struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `idbridge emulate VENDOR` with the canary as every credential, and returns its
/// announcement.
fn start(vendor: &str) -> (Emulator, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idbridge"))
        .args([
            "emulate",
            vendor,
            "--admin-password",
            CANARY,
            "--api-key",
            CANARY,
            "--refresh-token",
            CANARY,
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the emulator starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the emulator prints its announcement");
    let announcement: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("{vendor}: bad announcement {line:?}: {e}"));
    (Emulator(child), announcement)
}

fn secret_keys(vendor: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_idbridge"))
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
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idbridge"));
    cmd.args(args).env("RUST_LOG", "trace");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("idbridge runs")
}

fn assert_clean(vendor: &str, what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(CANARY) && !stderr.contains(CANARY),
        "{vendor} {what}: the secret leaked:\n{stdout}\n{stderr}"
    );
    assert!(
        !stderr.is_empty(),
        "{vendor} {what}: trace logging produced output"
    );
}

#[test]
fn env_secrets_never_appear_in_output_at_trace_level() {
    for vendor in VENDORS {
        let (_emulator, announcement) = start(vendor);
        let mut target = announcement["config"].clone();
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
        let directory = dir.path().join("dir.yaml");
        // One user: `check` plans, and a plan refuses an empty source.
        std::fs::write(
            &directory,
            "users:
  - {id: u-1, login: ada}
complete: {users: 1, groups: 0, roles: 0, grants: 0}
",
        )
        .expect("write directory");
        let config = serde_json::json!({
            "source": {"adapter": "file", "path": directory},
            "targets": {"t": target},
        });
        let cfg = dir.path().join("idbridge.json");
        std::fs::write(&cfg, config.to_string()).expect("write config");
        let cfg = cfg.to_str().expect("utf-8 path");

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
