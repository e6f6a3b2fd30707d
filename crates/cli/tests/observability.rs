//! `sync --interval --listen`: `/metrics`, `/healthz` and `/readyz` scraped over HTTP
//! while runs happen.

#![cfg(unix)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A bound on waiting for what the process should do within a couple of runs; never
/// asserted as a duration.
const PATIENCE: Duration = Duration::from_secs(120);

/// `GET path` on `addr`: the status and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("the endpoint accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The value of the sample `name{labels}` in a scrape, if there.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

/// Polls until `check` is true of the text `read` returns, failing with it after
/// [`PATIENCE`].
fn wait_until(what: &str, read: impl Fn() -> String, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = read();
        if check(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "never {what}:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The address the process says it serves on.
fn served_at(log: &Path) -> String {
    let text = wait_until(
        "announced the endpoint",
        || std::fs::read_to_string(log).unwrap_or_default(),
        |t| t.contains("on http://"),
    );
    text.split("on http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("an address")
        .to_string()
}

fn start_sync(dir: &Path, config: &str, extra: &[&str]) -> (support::Running, PathBuf) {
    let log = dir.join("sync.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = support::command()
        .args(["sync", "-c", config, "--interval", "5s"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("the idbridge binary runs");
    (support::Running(child), log)
}

#[test]
fn metrics_health_and_readiness_follow_the_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vendor = support::emulated_vendors()[0];
    let (emulator, emulated) = support::emulator(vendor, &[]);
    let source = dir.path().join("dir.yaml");
    support::write_yaml_directory(
        &source,
        "users:\n  - {id: u-1, login: ada, email: ada@example.com}\n",
        support::users_only(1),
    );
    let config = serde_json::json!({
        "state": dir.path().join("state.db"),
        "source": {"adapter": "file", "path": source},
        "targets": {
            "copy": support::file_target(dir.path(), "copy"),
            "emu": emulated,
        },
    });
    let config = support::write_json_config(&dir.path().join("idbridge.json"), &config);
    let (mut sync, log) = start_sync(
        dir.path(),
        &config,
        &["--listen", "127.0.0.1:0", "--ready-max-age", "1h"],
    );
    let addr = served_at(&log);
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();

    assert_eq!(get(&addr, "/healthz").0, 200, "{}", logged());

    // The first run converges both targets.
    let scrape = || get(&addr, "/metrics").1;
    let first = wait_until("counted a converged run", scrape, |s| {
        sample(s, r#"idbridge_runs_total{outcome="succeeded"}"#).is_some_and(|n| n >= 1.0)
    });
    for series in [
        r#"idbridge_operations_total{target="copy",kind="create_user",outcome="ok"}"#,
        r#"idbridge_last_success_timestamp_seconds{target="copy"}"#,
        r#"idbridge_last_success_timestamp_seconds{target="emu"}"#,
        "idbridge_run_duration_seconds_count",
        "idbridge_read_duration_seconds_count",
    ] {
        assert!(
            sample(&first, series).is_some_and(|n| n > 0.0),
            "{series}:\n{first}"
        );
    }
    // Requests are counted by the target's configured name as well as its adapter.
    let requests_ok =
        format!(r#"idbridge_http_requests_total{{target="emu",adapter="{vendor}",status="200"}}"#);
    let ok_before =
        sample(&first, &requests_ok).unwrap_or_else(|| panic!("{requests_ok}:\n{first}"));
    assert!(ok_before > 0.0, "{first}");
    let (status, body) = get(&addr, "/readyz");
    assert_eq!(status, 200, "{body}");

    // Later runs send more requests to the emulated system.
    wait_until("counted more requests", scrape, |s| {
        sample(s, &requests_ok).is_some_and(|n| n > ok_before)
    });

    // The emulated system goes away: its runs fail, and the process is no longer ready.
    drop(emulator);
    let down = wait_until("counted a failed run", scrape, |s| {
        sample(s, r#"idbridge_runs_total{outcome="failed"}"#).is_some_and(|n| n >= 1.0)
    });
    assert!(
        down.contains(&format!(
            r#"idbridge_http_requests_total{{target="emu",adapter="{vendor}",status="none"}}"#
        )),
        "{down}"
    );
    let (status, body) = get(&addr, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("emu: the last run did not converge"),
        "{body}"
    );
    assert!(!body.contains("copy"), "{body}");
    assert_eq!(get(&addr, "/healthz").0, 200);

    sync.sigterm();
    let status = sync.wait_exit();
    assert_eq!(status.code(), Some(0), "{}", logged());
}

#[test]
fn a_configuration_directory_serves_every_tenants_metrics_by_tenant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let configs = dir.path().join("tenants");
    std::fs::create_dir(&configs).expect("config dir");
    let vendor = support::emulated_vendors()[0];
    let (_emulator, emulated) = support::emulator(vendor, &[]);
    for (tenant, targets) in [
        ("acme", serde_json::json!({"crm": emulated})),
        (
            "globex",
            serde_json::json!({"copy": support::file_target(dir.path(), "globex-copy")}),
        ),
    ] {
        let source = dir.path().join(format!("{tenant}.yaml"));
        support::write_yaml_directory(
            &source,
            "users:\n  - {id: u-1, login: ada, email: ada@example.com}\n",
            support::users_only(1),
        );
        let config = serde_json::json!({
            "state": dir.path().join(format!("{tenant}.db")),
            "tenant": tenant,
            "source": {"adapter": "file", "path": source},
            "targets": targets,
        });
        support::write_json_config(&configs.join(format!("{tenant}.json")), &config);
    }
    let log = dir.path().join("sync.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = support::command()
        .args(["sync", "--config-dir"])
        .arg(&configs)
        .args(["--interval", "5s", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("the idbridge binary runs");
    let mut sync = support::Running(child);
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    let addr = served_at(&log);
    let scrape = || get(&addr, "/metrics").1;
    let requests = format!(
        r#"idbridge_http_requests_total{{tenant="acme",target="crm",adapter="{vendor}",status="200"}}"#
    );
    let seen = wait_until("counted both tenants' runs", scrape, |s| {
        sample(
            s,
            r#"idbridge_runs_total{tenant="acme",outcome="succeeded"}"#,
        )
        .is_some()
            && sample(
                s,
                r#"idbridge_runs_total{tenant="globex",outcome="succeeded"}"#,
            )
            .is_some()
    });
    for series in [
        requests.as_str(),
        r#"idbridge_operations_total{tenant="acme",target="crm",kind="create_user",outcome="ok"}"#,
        r#"idbridge_operations_total{tenant="globex",target="copy",kind="create_user",outcome="ok"}"#,
        r#"idbridge_last_success_timestamp_seconds{tenant="globex",target="copy"}"#,
        r#"idbridge_run_duration_seconds_count{tenant="acme"}"#,
        r#"idbridge_read_duration_seconds_count{tenant="globex"}"#,
    ] {
        assert!(
            sample(&seen, series).is_some_and(|n| n > 0.0),
            "{series}:\n{seen}\n{}",
            logged()
        );
    }
    // The directory run's own metrics carry no unlabelled runs.
    assert!(!seen.contains("idbridge_runs_total{outcome="), "{seen}");
    let (status, body) = get(&addr, "/readyz");
    assert_eq!(status, 200, "{body}");
    sync.sigterm();
    assert_eq!(sync.wait_exit().code(), Some(0), "{}", logged());
}

#[test]
fn listen_needs_an_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = support::example_config(dir.path());
    let out = support::idbridge(&["sync", "-c", &config, "--listen", "127.0.0.1:0"], &[]);
    assert!(!out.status.success(), "{}", support::all_output(&out));
    assert!(
        support::all_output(&out).contains("--interval"),
        "{}",
        support::all_output(&out)
    );
}

/// A webhook receiver on loopback: answers 500 to the first `failures` posts and 200 to
/// the rest, and keeps every body.
fn receiver(failures: usize) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            kept.lock()
                .expect("bodies")
                .push(String::from_utf8_lossy(&body).into_owned());
            let status = if n < failures {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (addr, bodies)
}

#[test]
fn a_target_down_posts_the_report_to_the_webhook_retrying_a_failed_post() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vendor = support::emulated_vendors()[0];
    let (emulator, emulated) = support::emulator(vendor, &[]);
    drop(emulator);
    let (addr, bodies) = receiver(1);
    let source = dir.path().join("dir.yaml");
    support::write_yaml_directory(
        &source,
        "users:\n  - {id: u-1, login: ada, email: ada@example.com}\n",
        support::users_only(1),
    );
    let token = "hook-token-8d1f0c";
    let config = serde_json::json!({
        "state": dir.path().join("state.db"),
        "alert_webhook": format!("http://{addr}/hooks/{token}"),
        "source": {"adapter": "file", "path": source},
        "targets": {
            "copy": support::file_target(dir.path(), "copy"),
            "down": support::at_closed_port(&emulated),
        },
    });
    let config = support::write_json_config(&dir.path().join("idbridge.json"), &config);
    let (mut sync, log) = start_sync(dir.path(), &config, &[]);
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();

    wait_until(
        "posted twice",
        || format!("{:?}", bodies.lock().expect("bodies")),
        |_| bodies.lock().expect("bodies").len() >= 2,
    );
    let posted = bodies.lock().expect("bodies").clone();
    // The first post was refused with a 500 and sent again, whole.
    assert_eq!(posted[0], posted[1]);
    let alert: serde_json::Value = serde_json::from_str(&posted[1]).expect("JSON");
    let reasons = alert["reasons"].to_string();
    assert!(reasons.contains("target_down"), "{alert}");
    assert!(reasons.contains("failed"), "{alert}");
    assert_eq!(alert["report"]["outcome"], "failed", "{alert}");
    let targets = alert["report"]["targets"].as_array().expect("targets");
    let down = targets
        .iter()
        .find(|t| t["target"] == "down")
        .unwrap_or_else(|| panic!("{alert}"));
    assert!(down["unavailable"].is_string(), "{alert}");

    sync.sigterm();
    assert_eq!(sync.wait_exit().code(), Some(0), "{}", logged());
    let text = logged();
    assert!(text.contains("trying again"), "{text}");
    assert!(
        !text.contains(token),
        "the webhook URL is a secret:\n{text}"
    );
}

#[test]
fn a_webhook_that_is_not_a_url_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = support::example_config(dir.path());
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        format!("alert_webhook = \"ftp://x/tok-55e1\"\n{text}"),
    )
    .expect("write");
    let out = support::idbridge(&["sync", "-c", &config, "--interval", "5s"], &[]);
    let said = support::all_output(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("alert_webhook"), "{said}");
    assert!(!said.contains("tok-55e1"), "{said}");
}

#[test]
fn a_single_sync_with_a_target_down_posts_an_alert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (emulator, emulated) = support::emulator(support::emulated_vendors()[0], &[]);
    drop(emulator);
    let (addr, bodies) = receiver(0);
    let source = dir.path().join("dir.yaml");
    support::write_yaml_directory(
        &source,
        "users:\n  - {id: u-1, login: ada, email: ada@example.com}\n",
        support::users_only(1),
    );
    let config = serde_json::json!({
        "state": dir.path().join("state.db"),
        "alert_webhook": format!("http://{addr}/hook"),
        "source": {"adapter": "file", "path": source},
        "targets": {
            "copy": support::file_target(dir.path(), "copy"),
            "down": support::at_closed_port(&emulated),
        },
    });
    let config = support::write_json_config(&dir.path().join("idbridge.json"), &config);
    let out = support::idbridge(&["sync", "-c", &config], &[]);
    let said = support::all_output(&out);
    assert_eq!(out.status.code(), Some(3), "partly failed: {said}");
    let posted = bodies.lock().expect("bodies").clone();
    assert_eq!(posted.len(), 1, "{posted:?}\n{said}");
    let alert: serde_json::Value = serde_json::from_str(&posted[0]).expect("JSON");
    assert!(
        alert["reasons"].to_string().contains("target_down"),
        "{alert}"
    );
    assert_eq!(alert["tenant"], "default", "{alert}");
    assert!(alert["report"]["run"].is_number(), "{alert}");
}
