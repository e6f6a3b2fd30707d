//! `sync --interval` as a long-running process: every run reads the source afresh.

#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::example_config;

/// How long to wait for something the process should do within a couple of runs; only
/// a bound on waiting, never asserted as a duration.
const PATIENCE: Duration = Duration::from_secs(120);

/// The running `idbridge sync`, killed when dropped, and the file its output goes to.
struct Running {
    child: support::Running,
    log: PathBuf,
}

impl Running {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to end, killing it after [`PATIENCE`].
    fn terminate(&mut self) -> std::process::ExitStatus {
        let child = &mut self.child.0;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = child.try_wait().expect("wait for idbridge") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().expect("wait after kill");
            }
            std::thread::sleep(Duration::from_millis(100));
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
    let cfg = example_config(dir.path());
    let source = dir.path().join("source.yaml");
    let target = dir.path().join("target.yaml");

    let log = dir.path().join("sync.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = support::command()
        .args(["sync", "-c", &cfg, "--interval", "5s"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("the idbridge binary runs");
    let mut running = Running {
        child: support::Running(child),
        log,
    };

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
