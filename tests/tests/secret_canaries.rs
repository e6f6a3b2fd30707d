//! Fault suite: a canary password (Strategy), API key (Dataiku) and refresh token
//! (Squirro), given to `idbridge` only through `IDBRIDGE__TARGETS__<T>__<KEY>` environment
//! variables, never appear anywhere across a full run with faults injected: not in any
//! command's output or log line (`RUST_LOG=trace`, text and JSON logs), not in the saved
//! plan, the run reports, the journal (as the command shows it, as JSON, and in the
//! SQLite state file itself) nor in any error message, including the ones a wrong
//! credential provokes.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use idbridge_core::{Secret, registry};
use idbridge_testkit::emulator::{EmulatorOptions, FaultSpec, start_emulator};
use support::{Shape, TARGETS};

const PASSWORD: &str = "Canary-Pa55word-e41b7c";
const API_KEY: &str = "canary-api-key-93f0d2a6";
const REFRESH_TOKEN: &str = "canary-refresh-token-5c8e17";
const CANARIES: [&str; 3] = [PASSWORD, API_KEY, REFRESH_TOKEN];

fn assert_no_canary(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for canary in CANARIES {
        assert!(
            !text.contains(canary),
            "{what}: a secret leaked ({canary}):\n{}",
            text.chars().take(4000).collect::<String>()
        );
        // Also as raw bytes, for binary files (the SQLite state file).
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "{what}: a secret leaked ({canary}) in its bytes"
        );
    }
}

struct Runner<'a> {
    bin: &'a Path,
    config: &'a Path,
    env: Vec<(String, String)>,
    outputs: usize,
}

impl Runner<'_> {
    /// Runs a command that connects to the systems, so that trace logging has something
    /// to say.
    fn run(&mut self, args: &[&str], log_format: &str) -> Output {
        let out = self.run_any(args, log_format);
        assert!(
            !out.stderr.is_empty(),
            "`idbridge {}`: trace logging wrote nothing, so nothing was checked",
            args.join(" ")
        );
        out
    }

    /// Runs any command and checks its output.
    fn run_any(&mut self, args: &[&str], log_format: &str) -> Output {
        let mut cmd = Command::new(self.bin);
        cmd.args(["--log-format", log_format])
            .args(args)
            .arg("-c")
            .arg(self.config)
            .env("RUST_LOG", "trace");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("idbridge runs");
        self.outputs += 1;
        let what = format!("`idbridge {}`", args.join(" "));
        assert_no_canary(&format!("{what} stdout"), &out.stdout);
        assert_no_canary(&format!("{what} stderr"), &out.stderr);
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secrets_from_the_environment_never_appear_anywhere_across_a_faulty_run() {
    idbridge_e2e::link_vendors();
    let bin = tokio::task::spawn_blocking(support::idbridge_bin)
        .await
        .expect("build");
    let dir = tempfile::tempdir().expect("tempdir");
    let shape = Shape {
        users: 60,
        groups: 4,
        per_user: 2,
    };
    let source = dir.path().join("source.json");
    shape.write(&source);
    let state = dir.path().join("state.db");

    let faults = FaultSpec::parse(
        "429=0.03,500=0.02,503=0.02,reset=0.02,slow=0.01,slow_ms=100,retry_after=0,seed=11",
    )
    .expect("fault spec");
    let mut emulators = Vec::new();
    let mut sections = Vec::new();
    let mut env = Vec::new();
    for (name, vendor) in TARGETS {
        let options = EmulatorOptions {
            faults: faults.clone(),
            admin_password: Some(Secret::new(PASSWORD)),
            api_key: Some(Secret::new(API_KEY)),
            refresh_token: Some(Secret::new(REFRESH_TOKEN)),
            ..EmulatorOptions::default()
        };
        let e = start_emulator(vendor, options).await.expect("emulator");
        let mut section = e.config.clone();
        let obj = section.as_object_mut().expect("a config object");
        let keys = registry::find(vendor).expect("registered").secret_keys;
        for key in keys {
            if let Some(value) = obj.remove(*key) {
                let value = value.as_str().expect("a secret is a string").to_string();
                assert!(
                    CANARIES.contains(&value.as_str()),
                    "{vendor}: `{key}` is a canary"
                );
                env.push((
                    format!(
                        "IDBRIDGE__TARGETS__{}__{}",
                        name.to_uppercase(),
                        key.to_uppercase()
                    ),
                    value,
                ));
            }
        }
        sections.push((name.to_string(), section, support::settings(name)));
        emulators.push(e);
    }
    assert_eq!(
        env.len(),
        3,
        "one secret per target: {:?}",
        env.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    let config = support::write_config(dir.path(), &source, &state, &sections);
    assert_no_canary(
        "the configuration file",
        &std::fs::read(&config).expect("read"),
    );

    let mut r = Runner {
        bin: &bin,
        config: &config,
        env,
        outputs: 0,
    };
    r.run(&["check"], "text");
    let plan_file = dir.path().join("plan.json");
    let plan_path = plan_file.to_str().expect("utf-8 path");
    r.run(&["plan", "--out", plan_path], "text");
    r.run(&["plan", "--json"], "json");
    if plan_file.exists() {
        assert_no_canary("the saved plan", &std::fs::read(&plan_file).expect("read"));
        r.run(&["apply", plan_path, "--yes"], "json");
    }
    // Faults may leave a run short: run again, as the nightly job would, until one
    // converges.
    let mut converged = false;
    for n in 0..8 {
        let format = if n % 2 == 0 { "text" } else { "json" };
        let out = r.run(&["sync", "--json"], format);
        if out.status.success() {
            converged = true;
            break;
        }
    }
    assert!(converged, "no sync converged under faults");
    r.run(&["users", "list", "--system", "bi", "--json"], "text");
    r.run(&["groups", "list", "--system", "dss", "--json"], "json");
    r.run(&["offboard", &Shape::login(3), "--yes"], "text");
    r.run_any(&["journal"], "text");
    let journal = r.run_any(&["journal", "--json", "--limit", "100"], "json");
    assert!(
        String::from_utf8_lossy(&journal.stdout).contains("create_user"),
        "the journal shows the run's writes"
    );

    // A wrong credential fails, and its errors do not echo it either (the wrong value
    // contains the canary, so an echo would be caught).
    let wrong: Vec<(String, String)> = r
        .env
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v}-wrong")))
        .collect();
    let good = std::mem::replace(&mut r.env, wrong);
    let out = r.run(&["check"], "text");
    assert!(!out.status.success(), "wrong credentials are refused");
    r.run(&["sync"], "json");
    r.env = good;

    // The state file, its write-ahead log, and anything else left in the directory.
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        let path = entry.expect("entry").path();
        if path.is_file() && path != config {
            assert_no_canary(
                &format!("{}", path.display()),
                &std::fs::read(&path).expect("read"),
            );
        }
    }
    assert!(r.outputs >= 12);
    drop(emulators);
}
