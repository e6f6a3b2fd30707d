//! `serve-latency`: how long after the SCIM answer a deactivation is on every platform.
//!
//! The real `idbridge serve` (a child process) fans out to every shipped emulator, each in
//! this process with the injected latency. After a first fan-out of `users` people, each
//! round deactivates one person with an Entra-shaped PATCH (`"op": "Replace"`, `active`
//! `"False"`) and measures, from the moment the 2xx answer arrives:
//! - the last write an emulator served in that round (the emulators' request logs are
//!   polled every millisecond; "last" is the last change of the count before the run's
//!   report appears), and
//! - the run's report on the child's stdout (the journal written too).
//!
//! Both include the debounce; the figures print it next to them. No figure is asserted.
//! A platform that cannot disable accounts is configured with `deletion = "delete"`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use idbridge_core::{Error, Result};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator, start_emulator};
use serde_json::{Value, json};

/// The bearer token of the benchmark's server (loopback only, for the run's length).
const TOKEN: &str = "bench-scim-token-7d41c09b2e";
/// How long one fan-out may take before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(300);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// People provisioned before the rounds.
    pub users: usize,
    /// Rounds (one deactivation each).
    pub rounds: usize,
    /// The `[serve]` debounce, in seconds.
    pub debounce_secs: f64,
    /// Latency each emulator adds to every request.
    pub latency: Duration,
    /// The `idbridge` program.
    pub idbridge: PathBuf,
}

/// The child `idbridge serve`, killed when dropped.
struct Serve {
    child: Child,
    base: String,
    /// Each run report's first line, with when it was read.
    runs: Receiver<(Instant, String)>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_serve(idbridge: &Path, config: &Path) -> Result<Serve> {
    let mut child = Command::new(idbridge)
        .args(["serve", "-c"])
        .arg(config)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::unavailable(format!("{}: cannot start: {e}", idbridge.display())))?;
    let (runs_tx, runs) = channel();
    let (url_tx, url) = channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(std::io::Result::ok) {
                if line.starts_with("run ") && line.contains(':') {
                    let _ = runs_tx.send((Instant::now(), line));
                }
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(std::io::Result::ok) {
                if let Some(u) = line.split("serving SCIM on ").nth(1) {
                    let _ = url_tx.send(u.trim().to_string());
                } else if line.starts_with("error") {
                    eprintln!("idbridge serve: {line}");
                }
            }
        });
    }
    let base = url
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| Error::unavailable("idbridge serve did not announce its address"))?;
    Ok(Serve { child, base, runs })
}

/// Every served write so far, over all emulators.
fn writes(emulators: &[RunningEmulator]) -> usize {
    emulators
        .iter()
        .map(|e| e.server.log().served_writes().len())
        .sum()
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Value,
) -> Result<Value> {
    let resp = client
        .request(method, url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| Error::unavailable(format!("{url}: {e}")))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(Error::unavailable(format!("{url}: {status} {text}")));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Waits for the next run report; `Err` past [`PATIENCE`].
fn next_run(serve: &Serve) -> Result<(Instant, String)> {
    serve
        .runs
        .recv_timeout(PATIENCE)
        .map_err(|_| Error::unavailable("no fan-out within the patience of the benchmark"))
}

/// Runs the benchmark and prints its figures.
///
/// # Errors
/// An emulator or `idbridge serve` that does not start, a SCIM request refused, a
/// fan-out that does not come.
pub async fn run(o: &Options) -> Result<()> {
    crate::emulated::link_vendors();
    let dir = tempfile::tempdir().map_err(|e| Error::unavailable(format!("temp dir: {e}")))?;
    let mut emulators = Vec::new();
    let mut targets = serde_json::Map::new();
    for d in idbridge_platforms::emulators() {
        let options = EmulatorOptions {
            latency: o.latency,
            ..EmulatorOptions::default()
        };
        let e = start_emulator(d.vendor, options).await?;
        let mut section = e.config.clone();
        if let (Some(s), Some(extra)) = (section.as_object_mut(), e.target_settings.as_object()) {
            s.extend(extra.clone());
            // A platform that cannot disable an account deletes it instead (as
            // docs/configuration.md advises), so that every round's run converges.
            let caps = (idbridge_core::registry::find(d.vendor)?.capabilities)();
            if !caps.users_set_enabled {
                s.insert("deletion".into(), json!("delete"));
            }
        }
        targets.insert(d.vendor.to_string(), section);
        emulators.push(e);
    }
    let config = dir.path().join("idbridge.json");
    let text = json!({
        "state": dir.path().join("state.db"),
        "source": {"adapter": "scim-inbox"},
        "targets": targets,
        "serve": {"listen": "127.0.0.1:0", "tokens": [TOKEN], "debounce_secs": o.debounce_secs,
                  "reconcile_interval_secs": 86_400},
    });
    std::fs::write(&config, text.to_string())
        .map_err(|e| Error::unavailable(format!("{}: {e}", config.display())))?;
    let serve = start_serve(&o.idbridge, &config)?;
    let client = reqwest::Client::new();
    let users_url = format!("{}/Users", serve.base);
    let mut ids = Vec::new();
    let t = Instant::now();
    for i in 0..o.users {
        let login = format!("person{i:05}@example.com");
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": login, "active": true, "displayName": format!("Person {i}"),
            "emails": [{"primary": true, "type": "work", "value": login}]});
        let created = send(&client, reqwest::Method::POST, &users_url, body).await?;
        ids.push(created["id"].as_str().unwrap_or_default().to_string());
    }
    let (done, first) = next_run(&serve)?;
    // A pause longer than the debounce between two creates makes a second run: wait it out
    // so that no round takes it for its own.
    let settle = Duration::from_secs_f64(o.debounce_secs * 2.0) + Duration::from_secs(1);
    while serve.runs.recv_timeout(settle).is_ok() {}
    println!(
        "serve-latency: {} emulators ({} ms per request), {} people provisioned over SCIM, \
         debounce {} s",
        emulators.len(),
        o.latency.as_millis(),
        o.users,
        o.debounce_secs
    );
    println!(
        "  first fan-out: {:.2} s after the first request ({first})",
        done.duration_since(t).as_secs_f64()
    );
    let mut last_write = Vec::new();
    let mut reported = Vec::new();
    for (round, id) in ids.iter().take(o.rounds).enumerate() {
        let before = writes(&emulators);
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
        send(
            &client,
            reqwest::Method::PATCH,
            &format!("{users_url}/{id}"),
            body,
        )
        .await?;
        let answered = Instant::now();
        let (mut seen, mut changed) = (before, None);
        let report = loop {
            if let Ok(run) = serve.runs.try_recv() {
                break run;
            }
            let now = writes(&emulators);
            if now != seen {
                seen = now;
                changed = Some(Instant::now());
            }
            if answered.elapsed() > PATIENCE {
                return Err(Error::unavailable(
                    "no fan-out within the patience of the benchmark",
                ));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let Some(changed) = changed else {
            return Err(Error::unavailable(format!(
                "round {round}: the fan-out wrote nothing ({})",
                report.1
            )));
        };
        last_write.push(changed.duration_since(answered));
        reported.push(report.0.duration_since(answered));
        println!(
            "  round {round:>3}: last write {:>7.1} ms, report {:>7.1} ms, {} writes ({})",
            ms(changed.duration_since(answered)),
            ms(report.0.duration_since(answered)),
            seen - before,
            report.1
        );
    }
    let debounce = Duration::from_secs_f64(o.debounce_secs);
    for (what, mut all) in [
        ("SCIM answer -> last target write", last_write),
        ("SCIM answer -> run report", reported),
    ] {
        all.sort();
        if all.is_empty() {
            continue;
        }
        let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
        println!(
            "  {what}: min {:.1} ms, median {:.1} ms, p95 {:.1} ms, max {:.1} ms \
             (of which debounce {:.1} ms; median beyond it {:.1} ms)",
            ms(all[0]),
            ms(at(0.5)),
            ms(at(0.95)),
            ms(all[all.len() - 1]),
            ms(debounce),
            ms(at(0.5).saturating_sub(debounce)),
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
