//! `sync --interval` as a long-running process: every run reads the source afresh.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for something the process should do within a couple of runs; only
/// a bound on waiting, never asserted as a duration.
const PATIENCE: Duration = Duration::from_secs(120);

fn example_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/directory.yaml")
}

/// The running `idbridge sync`, stopped with SIGTERM (or killed) when dropped.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for idbridge") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("wait after kill");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits until `path` holds `needle`, or gives up after [`PATIENCE`].
fn wait_for(path: &Path, needle: &str, running: &Running) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "`{}` never came to hold `{needle}`; idbridge said:\n{}",
            path.display(),
            running.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_edit_to_the_source_during_sync_interval_reaches_the_target_on_the_next_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.yaml");
    let target = dir.path().join("target.yaml");
    std::fs::copy(example_directory(), &source).expect("copy the example");
    let cfg = dir.path().join("idbridge.toml");
    std::fs::write(
        &cfg,
        format!(
            "state = {:?}\n[source]\nadapter = \"file\"\npath = {:?}\n[targets.copy]\nadapter = \"file\"\npath = {:?}\ncreate = true\n",
            dir.path().join("state.db"),
            source,
            target,
        ),
    )
    .expect("write config");

    let log = dir.path().join("sync.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_idbridge"))
        .args(["sync", "-c"])
        .arg(&cfg)
        .args(["--interval", "5s"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("the idbridge binary runs");
    let mut running = Running { child, log };

    // The first run copies everyone.
    wait_for(&target, "display_name: Ada Lovelace", &running);

    // An administrator edits the source the way an exporter replaces it.
    let text = std::fs::read_to_string(&source).expect("read the source");
    assert!(text.contains("display_name: Ada Lovelace"), "{text}");
    let edited = text.replace(
        "display_name: Ada Lovelace",
        "display_name: Augusta Ada King",
    );
    let staged = dir.path().join("source.yaml.new");
    std::fs::write(&staged, edited).expect("stage the edit");
    std::fs::rename(&staged, &source).expect("replace the source");

    // A later run of the same process applies it.
    let synced = wait_for(&target, "display_name: Augusta Ada King", &running);
    assert!(!synced.contains("display_name: Ada Lovelace"), "{synced}");

    let status = running.terminate();
    assert!(
        status.code().is_some(),
        "idbridge stops on SIGTERM: {status:?}\n{}",
        running.output()
    );
}
