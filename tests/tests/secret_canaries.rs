//! Fault suite: a canary password (Strategy), API key (Dataiku) and refresh token
//! (Squirro), given to `idbridge` only through `IDBRIDGE__TARGETS__<T>__<KEY>` environment
//! variables, never appear anywhere across a full run with faults injected: not in any
//! command's output or log line (`RUST_LOG=trace`, text and JSON logs), not in the saved
//! plan, the run reports, the journal (as the command shows it, as JSON, and in the
//! SQLite state file itself) nor in any error message, including the ones a wrong
//! credential provokes.
//!
//! The credentials the servers hand out are secrets too: every session cookie, session
//! token, access token and refresh token the emulators issued during the run (their
//! request logs list them), and the `Authorization` header made of the API key, appear
//! nowhere either.
//!
//! And a server whose error answers repeat the request (`auth=...`, the login form, the
//! session cookie) has its answers shown with every one of those values redacted, in the
//! printed error and in every log line.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use idbridge_core::registry;
use idbridge_testkit::emulator::{
    CannedAnswer, EmulatorContract, EmulatorOptions, FaultSpec, start_emulator,
};
use serde_json::Value;
use support::Shape;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PASSWORD: &str = "Canary-Pa55word-e41b7c";
// Every secret credential of each emulator (password, API key, refresh token) is
// set to this one canary.
const CANARIES: [&str; 1] = [PASSWORD];

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

/// Where a value a server handed out shows up in `bytes`, if it does.
fn find_derived<'a>(bytes: &[u8], derived: &'a [String]) -> Option<&'a str> {
    derived
        .iter()
        .find(|d| bytes.windows(d.len()).any(|w| w == d.as_bytes()))
        .map(String::as_str)
}

struct Runner<'a> {
    bin: &'a Path,
    config: &'a Path,
    env: Vec<(String, String)>,
    outputs: usize,
    /// Every output, kept to check it for the credentials the servers handed out, which
    /// are only known once the run is over.
    seen: Vec<(String, Vec<u8>)>,
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
        self.seen
            .push((format!("{what} stdout"), out.stdout.clone()));
        self.seen
            .push((format!("{what} stderr"), out.stderr.clone()));
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
    let targets = support::targets();
    for &vendor in &targets {
        let name = vendor;
        let options = EmulatorOptions {
            faults: faults.clone(),
            ..EmulatorOptions::default()
        }
        .with_every_secret(idbridge_e2e::contract(vendor), PASSWORD);
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
        targets.len(),
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
        seen: Vec::new(),
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
    for (n, name) in targets.iter().enumerate() {
        let (what, format) = if n % 2 == 0 {
            ("users", "text")
        } else {
            ("groups", "json")
        };
        r.run(&[what, "list", "--system", name, "--json"], format);
    }
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

    // The credentials the servers handed out: session cookies and tokens (Strategy),
    // access and refresh tokens (Squirro), and the `Authorization` header the API key
    // makes (Dataiku).
    let mut derived = Vec::new();
    for (name, e) in targets.iter().zip(&emulators) {
        let issued = e.server.log().issued_credentials();
        if idbridge_e2e::contract(name).issues_credentials {
            assert!(
                !issued.is_empty(),
                "{name}: the emulator's request log lists the credentials it issued"
            );
        }
        derived.extend(issued);
    }
    derived.push(base64::engine::general_purpose::STANDARD.encode(format!("{PASSWORD}:")));
    derived.retain(|d| d.len() >= 8);
    for (what, bytes) in &r.seen {
        if let Some(found) = find_derived(bytes, &derived) {
            panic!(
                "{what}: a credential a server handed out leaked ({found}):\n{}",
                String::from_utf8_lossy(bytes)
                    .lines()
                    .filter(|l| l.contains(found))
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }

    // The state file, its write-ahead log, and anything else left in the directory.
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        let path = entry.expect("entry").path();
        if path.is_file() && path != config {
            let bytes = std::fs::read(&path).expect("read");
            assert_no_canary(&format!("{}", path.display()), &bytes);
            assert_eq!(
                find_derived(&bytes, &derived),
                None,
                "{}: a credential a server handed out leaked",
                path.display()
            );
        }
    }
    assert!(r.outputs >= 12);
    drop(emulators);
}

/// A server standing in for one vendor's: it signs anyone in the way the vendor does (its
/// emulator's contract says how; every credential it hands out is recorded, and must
/// never be shown) and answers every other request with the vendor's error shape, whose
/// text repeats every request it received so far: the method, path, every header
/// (`Authorization`, token headers, `Cookie`) and the body (a login form with its password,
/// a token exchange with its refresh token).
#[derive(Clone)]
struct Echo {
    contract: &'static EmulatorContract,
    seen: Arc<Mutex<Vec<String>>>,
    issued: Arc<Mutex<Vec<String>>>,
}

impl Echo {
    fn new(contract: &'static EmulatorContract) -> Echo {
        Echo {
            contract,
            seen: Arc::default(),
            issued: Arc::default(),
        }
    }

    fn answer(canned: CannedAnswer) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(canned.status);
        for (name, value) in &canned.headers {
            t = t.insert_header(*name, value.as_str());
        }
        if let Some(body) = canned.body {
            t = t.set_body_json(body);
        }
        t
    }
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_str().unwrap_or("")))
            .collect();
        let entry = format!(
            "{} {} {} body={}",
            request.method,
            request.url.path(),
            headers.join(" "),
            String::from_utf8_lossy(&request.body)
        );
        let seen = {
            let mut seen = self.seen.lock().expect("lock");
            seen.push(entry);
            seen.join(" | ")
        };
        let credential = |purpose: &str| {
            let value = format!("echo-{purpose}-4b1d9e");
            self.issued.lock().expect("lock").push(value.clone());
            value
        };
        if let Some(canned) = (self.contract.sign_in_answer)(request.url.path(), &credential) {
            return Echo::answer(canned);
        }
        // The newest request first: an excerpt cut short still shows it.
        let seen: Vec<&str> = seen.rsplit(" | ").collect();
        let text = format!("could not process the request: {}", seen.join(" | "));
        Echo::answer((self.contract.error_answer)(&text))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_a_server_repeats_in_its_errors_are_redacted_everywhere() {
    idbridge_e2e::link_vendors();
    let bin = tokio::task::spawn_blocking(support::idbridge_bin)
        .await
        .expect("build");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{PASSWORD}:"));
    let canaries: Vec<&str> = CANARIES.iter().copied().chain([basic.as_str()]).collect();
    for vendor in support::targets() {
        let name = vendor;
        let dir = tempfile::tempdir().expect("tempdir");
        let source = dir.path().join("source.json");
        Shape {
            users: 2,
            groups: 1,
            per_user: 1,
        }
        .write(&source);
        // The emulator only provides a working configuration for the vendor; the target is
        // pointed at the echoing server instead.
        let emulator = start_emulator(
            vendor,
            EmulatorOptions::default().with_every_secret(idbridge_e2e::contract(vendor), PASSWORD),
        )
        .await
        .expect("emulator");
        let echo = MockServer::start().await;
        let responder = Echo::new(idbridge_e2e::contract(vendor));
        Mock::given(wiremock::matchers::any())
            .respond_with(responder.clone())
            .mount(&echo)
            .await;
        let section = serde_json::to_string(&emulator.config)
            .expect("json")
            .replace(&emulator.server.url(), &echo.uri());
        let section: Value = serde_json::from_str(&section).expect("json");
        let config = support::write_config(
            dir.path(),
            &source,
            &dir.path().join("state.db"),
            &[(name.to_string(), section, support::settings(name))],
        );
        for (args, format) in [
            (vec!["check"], "text"),
            (vec!["users", "list", "--system", name, "--json"], "json"),
            (vec!["plan"], "text"),
        ] {
            let out = Command::new(&bin)
                .args(["--log-format", format])
                .args(&args)
                .arg("-c")
                .arg(&config)
                .env("RUST_LOG", "trace")
                .output()
                .expect("idbridge runs");
            let what = format!("{vendor}: `idbridge {}`", args.join(" "));
            let text = format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.status.success(), "{what} fails: {text}");
            assert!(
                text.contains("could not process the request"),
                "{what}: the server's error text is shown: {text}"
            );
            let issued = responder.issued.lock().expect("lock").clone();
            let never = canaries
                .iter()
                .copied()
                .chain(issued.iter().map(String::as_str));
            for secret in never {
                assert!(
                    !text.contains(secret),
                    "{what}: `{secret}`, repeated by the server, was shown:\n{}",
                    text.lines()
                        .filter(|l| l.contains(secret))
                        .take(5)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
        let seen = responder.seen.lock().expect("lock").join("\n");
        let issued = responder.issued.lock().expect("lock").clone();
        assert!(
            canaries
                .iter()
                .copied()
                .chain(issued.iter().map(String::as_str))
                .any(|s| seen.contains(s)),
            "{vendor}: the server received a credential to repeat"
        );
    }
}
