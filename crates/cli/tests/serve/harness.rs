//! What the `serve` tests share: the platforms, the configuration, the running server and
//! the SCIM requests, and looking at what each platform shows.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Running, bin, capabilities, write_json_config};
use idbridge_core::{AdapterHandle, Capabilities, Principal, registry};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator, start_emulator};
use serde_json::{Value, json};

pub const TOKEN: &str = "scim-bearer-3f9a1c7e5b2d8046";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// How long a fan-out may take to show on every platform.
pub const SETTLE: Duration = Duration::from_secs(90);

/// One platform: its emulator and a connection of the test's own to look at it.
pub struct Platform {
    pub vendor: &'static str,
    pub emulator: RunningEmulator,
    pub probe: AdapterHandle,
    pub caps: Capabilities,
}

pub async fn platforms() -> Vec<Platform> {
    idbridge_platforms::link_all();
    let mut all = Vec::new();
    for d in idbridge_platforms::emulators() {
        let emulator = start_emulator(d.vendor, EmulatorOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{}: the emulator starts: {e}", d.vendor));
        let probe = registry::build_adapter(d.vendor, emulator.adapter_config("probe"))
            .await
            .unwrap_or_else(|e| panic!("{}: the probe connects: {e}", d.vendor));
        all.push(Platform {
            vendor: d.vendor,
            caps: capabilities(d.vendor),
            emulator,
            probe,
        });
    }
    assert!(all.len() >= 3, "every vendor emulator is registered");
    all
}

/// Writes `DIR/idbridge.json`: the SCIM directory as the source, every platform a target
/// (with `target` merged into its section), and `serve` as the `[serve]` section.
pub fn config(dir: &Path, platforms: &[Platform], target: &Value, serve: Value) -> String {
    let mut targets = serde_json::Map::new();
    for p in platforms {
        let mut section = p.emulator.config.clone();
        for extra in [&p.emulator.target_settings, target] {
            if let (Some(s), Some(e)) = (section.as_object_mut(), extra.as_object()) {
                s.extend(e.clone());
            }
        }
        targets.insert(p.vendor.to_string(), section);
    }
    let mut serve_section = json!({"listen": "127.0.0.1:0", "tokens": [TOKEN],
                                   "reconcile_interval_secs": 3600});
    if let (Some(s), Some(e)) = (serve_section.as_object_mut(), serve.as_object()) {
        s.extend(e.clone());
    }
    write_json_config(
        &dir.join("idbridge.json"),
        &json!({
            "state": dir.join("state.db"),
            "source": {"adapter": "scim-inbox"},
            "targets": targets,
            "serve": serve_section,
        }),
    )
}

/// A running `idbridge serve`, its output collected as it comes.
pub struct Serve {
    pub child: Running,
    pub base: String,
    output: Arc<Mutex<String>>,
}

impl Serve {
    pub fn start(config: &str) -> Serve {
        Self::start_with(config, &[])
    }

    /// [`Serve::start`] with more arguments.
    pub fn start_with(config: &str, extra: &[&str]) -> Serve {
        let mut child = Command::new(bin())
            .args(["serve", "-c", config])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("idbridge serve starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let (output, tx) = (output.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(url) = line.split("serving SCIM on ").nth(1) {
                        let _ = tx.send(url.trim().to_string());
                    }
                    let mut all = output.lock().expect("output");
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        let base = rx.recv_timeout(SETTLE).unwrap_or_else(|_| {
            panic!(
                "idbridge serve announces its address: {}",
                output.lock().expect("output")
            )
        });
        Serve {
            child: Running(child),
            base,
            output,
        }
    }

    pub fn output(&self) -> String {
        self.output.lock().expect("output").clone()
    }

    /// A request to the SCIM endpoint with the bearer token.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let text = resp.text().await.expect("a body");
        assert!(
            status.is_success(),
            "{method} {path}: {status} {text}\n{}",
            self.output()
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn post(&self, path: &str, body: Value) -> String {
        let created = self.send(reqwest::Method::POST, path, Some(body)).await;
        created["id"].as_str().expect("an id").to_string()
    }

    pub async fn patch(&self, path: &str, ops: Value) {
        let body = json!({"schemas": [PATCH], "Operations": ops});
        self.send(reqwest::Method::PATCH, path, Some(body)).await;
    }
}

/// An Okta-shaped create: a throwaway password, `name`, one primary work e-mail.
pub fn okta_user(login: &str) -> Value {
    json!({"schemas": [USER], "userName": login, "active": true,
           "name": {"givenName": "Okta", "familyName": login},
           "emails": [{"primary": true, "value": login, "type": "work"}],
           "displayName": format!("Okta {login}"), "locale": "en-US",
           "externalId": format!("00u{}", login.len()), "groups": [],
           "password": "Throwaway-pw-81c2"})
}

/// An Entra-shaped create: the enterprise extension, `meta.resourceType`, `roles`.
pub fn entra_user(login: &str) -> Value {
    json!({"schemas": [USER, ENTERPRISE], "externalId": format!("ext-{login}"),
           "userName": login, "active": true, "displayName": format!("Entra {login}"),
           "emails": [{"primary": true, "type": "work", "value": login}],
           "meta": {"resourceType": "User"}, "roles": [],
           "name": {"formatted": format!("Entra {login}"), "familyName": login, "givenName": "Entra"},
           ENTERPRISE: {"department": "Research"}})
}

/// What one platform shows of a login.
pub struct Seen {
    pub id: String,
    pub enabled: bool,
    pub display_name: Option<String>,
}

pub async fn user_on(p: &Platform, login: &str) -> Option<Seen> {
    let users = p.probe.all_users().await.expect("users are listed");
    users
        .into_iter()
        .find(|u| {
            u.login.eq_ignore_ascii_case(login)
                || u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(login))
        })
        .map(|u| Seen {
            id: u.id,
            enabled: u.enabled,
            display_name: u.display_name,
        })
}

/// The logins in group `name` on one platform; `None` when there is no such group.
pub async fn members_on(p: &Platform, name: &str) -> Option<Vec<String>> {
    let group = p
        .probe
        .all_groups()
        .await
        .expect("groups are listed")
        .into_iter()
        .find(|g| g.name == name)?;
    let users = p.probe.all_users().await.expect("users are listed");
    let mut logins: Vec<String> = p
        .probe
        .all_members(&group.id)
        .await
        .expect("members are listed")
        .into_iter()
        .filter_map(|m| match m {
            Principal::User(id) => users
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.email.clone().unwrap_or(u.login.clone()).to_lowercase()),
            Principal::Group(_) => None,
        })
        .collect();
    logins.sort();
    Some(logins)
}

/// Polls `check` until it returns `Ok`, failing with its last complaint after [`SETTLE`].
pub async fn eventually<F, Fut>(serve: &Serve, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + SETTLE;
    loop {
        match check().await {
            Ok(()) => return,
            Err(why) if Instant::now() > deadline => {
                panic!("{what}: {why}\n--- idbridge serve ---\n{}", serve.output())
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub fn logins(prefix: &str, n: std::ops::Range<usize>) -> Vec<String> {
    n.map(|i| format!("{prefix}{i}@example.com")).collect()
}

/// Every one of `logins` there and enabled.
pub async fn enabled(p: &Platform, logins: &[String]) -> Result<(), String> {
    for login in logins {
        match user_on(p, login).await {
            Some(u) if u.enabled => {}
            Some(_) => return Err(format!("{login} is disabled")),
            None => return Err(format!("{login} is missing")),
        }
    }
    Ok(())
}

/// Receives the alerts posted to a webhook on loopback.
pub async fn alert_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/alert",
        axum::routing::post(move |body: String| {
            let keep = keep.clone();
            async move {
                if let Ok(v) = serde_json::from_str(&body) {
                    keep.lock().expect("alerts").push(v);
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/alert"), got)
}
