//! Shared by the CLI's integration tests: running the `idbridge` binary, its emulators,
//! directory files and the configurations that point at them.

// Every test file is its own crate and uses only some of these helpers; the ones it does
// not use would otherwise warn as dead code there.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub use idbridge_file::Complete;

/// Every vendor the binary ships an emulator for, sorted: the binary links the same
/// `idbridge-platforms` facade.
pub fn emulated_vendors() -> Vec<&'static str> {
    idbridge_platforms::emulators()
        .iter()
        .map(|d| d.vendor)
        .collect()
}

/// The declared capabilities of the adapter registered as `vendor`.
///
/// # Panics
/// When no adapter of that name is registered.
pub fn capabilities(vendor: &str) -> idbridge_core::Capabilities {
    idbridge_platforms::link_all();
    (idbridge_core::registry::find(vendor)
        .unwrap_or_else(|e| panic!("{e}"))
        .capabilities)()
}

/// The login the adapter of `vendor` lists for a source person with this login and email
/// (platforms whose logins are email addresses list the email).
pub fn login_on(vendor: &str, login: &str, email: &str) -> String {
    if capabilities(vendor).users_login_is_email {
        email.to_string()
    } else {
        login.to_string()
    }
}

/// The emulated vendors whose adapters list live sessions, failing the test when there is
/// none (the session tests would then check nothing).
pub fn vendors_with_sessions() -> Vec<&'static str> {
    let vendors: Vec<&str> = emulated_vendors()
        .into_iter()
        .filter(|v| capabilities(v).sessions_list)
        .collect();
    assert!(
        !vendors.is_empty(),
        "no emulated adapter lists sessions: {:?}",
        emulated_vendors()
    );
    vendors
}

/// The `idbridge` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_idbridge")
}

/// `idbridge` with `RUST_LOG` removed, so that a developer's log settings do not reach
/// what the tests read.
pub fn command() -> Command {
    let mut cmd = Command::new(bin());
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs `cmd` to the end with an empty stdin, and returns what it printed.
pub fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .expect("the idbridge binary runs")
}

/// Runs `idbridge ARGS` (see [`command`]) with `envs` set, to the end.
pub fn idbridge(args: &[&str], envs: &[(&str, &str)]) -> Output {
    output(command().args(args).envs(envs.iter().copied()))
}

/// Stdout then stderr, as text.
pub fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A child process killed when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Sends SIGTERM, failing the test if it cannot be sent.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM sent");
    }

    /// Waits (polling, up to two minutes) until the process ends.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.0.try_wait().expect("poll") {
                return status;
            }
            assert!(Instant::now() < deadline, "the process does not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls (up to two minutes) until `ready` holds, failing with `what` when the time
    /// runs out or the process ends first.
    pub fn wait_for(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ready() {
            if let Some(status) = self.0.try_wait().expect("poll") {
                panic!("the process ended ({status}) before {what}");
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts `idbridge ARGS` (see [`command`]) in the background, with no stdin and its
/// output discarded.
pub fn start(args: &[&str]) -> Running {
    Running(
        command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("idbridge starts"),
    )
}

/// Starts `idbridge emulate VENDOR EXTRA...` and returns it with the target configuration
/// its announcement carries.
pub fn emulator(vendor: &str, extra: &[&str]) -> (Running, serde_json::Value) {
    let mut child = command()
        .arg("emulate")
        .arg(vendor)
        .args(extra)
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
    (Running(child), announcement["config"].clone())
}

/// The names of the secret credentials `idbridge emulate VENDOR` takes.
pub fn secret_credentials(vendor: &str) -> Vec<String> {
    let out = command()
        .args(["emulate", vendor, "--list-credentials"])
        .output()
        .expect("idbridge emulate --list-credentials runs");
    assert!(out.status.success(), "{vendor}: {out:?}");
    let list: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the credentials are JSON");
    list.as_array()
        .expect("a list")
        .iter()
        .filter(|c| c["secret"] == true)
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

/// Starts `idbridge emulate VENDOR` with `secret` as every secret credential it takes.
pub fn emulator_with_secret(vendor: &str, secret: &str) -> (Running, serde_json::Value) {
    let args: Vec<String> = secret_credentials(vendor)
        .into_iter()
        .flat_map(|name| ["--credential".to_string(), format!("{name}={secret}")])
        .collect();
    assert!(!args.is_empty(), "{vendor}: its emulator takes a secret");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    emulator(vendor, &args)
}

/// A port on loopback that nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}

/// `target` (an emulator's target section) pointed at a port on loopback that nothing
/// listens on, its base URL's path kept.
pub fn at_closed_port(target: &serde_json::Value) -> serde_json::Value {
    let base = target["base_url"]
        .as_str()
        .unwrap_or_else(|| panic!("the section has a base URL: {target}"));
    let path = base.splitn(4, '/').nth(3).unwrap_or_default();
    let mut moved = target.clone();
    moved["base_url"] = serde_json::json!(format!("http://127.0.0.1:{}/{path}", closed_port()));
    moved
}

/// The example directory file shipped with the project (50 users, 8 groups).
pub fn example_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/directory.yaml")
}

/// Copies the example directory file to `to`.
pub fn copy_example(to: &Path) {
    std::fs::copy(example_directory(), to).expect("copy the example");
}

/// A directory file's `complete` trailer of `users` users and nothing else.
pub fn users_only(users: usize) -> Complete {
    Complete {
        users,
        ..Complete::default()
    }
}

/// Writes a YAML directory file: `body` (its sections, each line ending in a newline) and
/// then the `complete` trailer, which must be the file's last top-level key.
pub fn write_yaml_directory(path: &Path, body: &str, complete: Complete) {
    let text = format!(
        "{body}complete: {{users: {}, groups: {}, roles: {}, grants: {}}}\n",
        complete.users, complete.groups, complete.roles, complete.grants
    );
    std::fs::write(path, text).expect("write the directory");
}

/// Writes a JSON directory file: the object `directory` with the `complete` trailer added
/// as its last key (`json!` sorts keys, so the trailer is appended to the text).
pub fn write_json_directory(path: &Path, directory: &serde_json::Value, complete: Complete) {
    let mut text = directory.to_string();
    assert_eq!(text.pop(), Some('}'), "a directory is a JSON object");
    let trailer = serde_json::to_string(&complete).expect("the trailer serializes");
    text.push_str(&format!(",\"complete\":{trailer}}}"));
    std::fs::write(path, text).expect("write the directory");
}

/// Writes `body` as `DIR/idbridge.toml` and returns its path.
pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("idbridge.toml");
    std::fs::write(&path, body).expect("write config");
    path
}

/// Writes `DIR/idbridge.toml` syncing the directory file `source` into the directory file
/// `target` (the target `copy`, with `extra` in its section), with its state at `state`;
/// returns the config's path.
pub fn file_config(dir: &Path, state: &Path, source: &Path, target: &Path, extra: &str) -> String {
    let path = write_config(
        dir,
        &format!(
            "state = {state:?}\n[source]\nadapter = \"file\"\npath = {source:?}\n[targets.copy]\nadapter = \"file\"\npath = {target:?}\n{extra}"
        ),
    );
    path.to_str().expect("utf-8 path").to_string()
}

/// Writes `DIR/idbridge.toml` syncing the directory file `source` into a fresh directory
/// file `target`, created on the first run, with its state in `DIR/state.db`; returns the
/// config's path.
pub fn copy_config(dir: &Path, source: &Path, target: &Path) -> String {
    file_config(
        dir,
        &dir.join("state.db"),
        source,
        target,
        "create = true\n",
    )
}

/// A config syncing a copy of the example directory (`DIR/source.yaml`) into a fresh
/// directory file (`DIR/target.yaml`), with its state in `DIR/state.db`.
pub fn example_config(dir: &Path) -> String {
    let source = dir.join("source.yaml");
    copy_example(&source);
    copy_config(dir, &source, &dir.join("target.yaml"))
}

/// Writes the JSON configuration `config` to `path` and returns the path.
pub fn write_json_config(path: &Path, config: &serde_json::Value) -> String {
    std::fs::write(path, config.to_string()).expect("write config");
    path.to_str().expect("utf-8 path").to_string()
}

/// Writes a one-user directory `DIR/dir.yaml` (one user: `check` plans, and a plan
/// refuses an empty source) and `DIR/idbridge.json` syncing it into `target` as target
/// `t`; returns the configuration's path.
pub fn one_user_config(dir: &Path, target: serde_json::Value) -> String {
    let directory = dir.join("dir.yaml");
    write_yaml_directory(
        &directory,
        "users:\n  - {id: u-1, login: ada}\n",
        users_only(1),
    );
    let config = serde_json::json!({
        "source": {"adapter": "file", "path": directory},
        "targets": {"t": target},
    });
    write_json_config(&dir.join("idbridge.json"), &config)
}

/// A file target section writing `DIR/NAME.yaml`, created on the first run.
pub fn file_target(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::json!({"adapter": "file", "path": dir.join(format!("{name}.yaml")), "create": true})
}
