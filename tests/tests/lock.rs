//! The run lock across processes: a second process is refused at once with the first
//! one's PID, and a `kill -9` of the holder frees the lock for the next run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use idbridge_core::ErrorKind;
use idbridge_store::{RunOutcome, Store};

const HOLD: &str = "IDBRIDGE_TEST_HOLD_LOCK";

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_lock_held_by_another_process_is_refused_and_freed_when_that_process_is_killed() {
    if let Ok(path) = std::env::var(HOLD) {
        // Child: take the lock, start a run, say so, and wait to be killed.
        let store = Store::open(std::path::Path::new(&path)).expect("open");
        let _lock = store.lock("sync").expect("child lock");
        store.begin_run("sync").expect("run");
        println!("LOCKED");
        std::thread::sleep(std::time::Duration::from_secs(120));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.db");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = KillOnDrop(
        Command::new(exe)
            .args([
                "--exact",
                "a_lock_held_by_another_process_is_refused_and_freed_when_that_process_is_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HOLD, &state)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the holder"),
    );
    let pid = child.0.id();
    let stdout = child.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("LOCKED") => break,
            Some(Ok(_)) => continue,
            other => panic!("the holder ended without locking: {other:?}"),
        }
    }

    let store = Store::open(&state).expect("open");
    let err = store.lock("apply").expect_err("held by the child");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains(&format!("PID {pid}")), "{err}");
    assert!(err.to_string().contains("idbridge sync"), "{err}");

    // kill -9: the operating system drops the child's lock.
    child.0.kill().expect("kill");
    child.0.wait().expect("reap");
    let lock = store.lock("apply").expect("free after the holder died");
    assert_eq!(lock.holder().pid, std::process::id());
    // The child's run is recorded as interrupted.
    let runs = store.runs(5).expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, RunOutcome::Interrupted);
    assert_eq!(runs[0].pid, pid);
}
