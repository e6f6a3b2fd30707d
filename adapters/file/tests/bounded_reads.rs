//! The directory file is read with a bound (`max_file_bytes`) and only when it is a
//! regular file: a wrong path (`/dev/zero`, a FIFO) or an enormous file is refused at
//! once, naming the file, instead of exhausting memory or waiting for a writer.

use std::path::Path;

use idbridge_core::{AdapterConfig, ConfigOrigin, ErrorKind, registry};
use idbridge_file::DEFAULT_MAX_FILE_BYTES;

const SEED: &str = "users:\n  - {id: u-1, login: ada}\ngroups: []\nroles: []\ngrants: []\n\
                    complete: {users: 1, groups: 0, roles: 0, grants: 0}\n";

fn config(dir: &Path, settings: serde_json::Value) -> AdapterConfig {
    let mut cfg = AdapterConfig::new("targets.copy", settings);
    cfg.origin = ConfigOrigin::in_memory(dir);
    cfg
}

async fn build(dir: &Path, settings: serde_json::Value) -> idbridge_core::Result<()> {
    registry::build_adapter("file", config(dir, settings))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_file_past_the_default_bound_is_refused_without_reading_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("big.yaml");
    let file = std::fs::File::create(&path).expect("create");
    // A sparse file: its size is in the metadata, its blocks are never allocated.
    file.set_len(DEFAULT_MAX_FILE_BYTES + 1).expect("set_len");
    let err = build(tmp.path(), serde_json::json!({"path": "big.yaml"}))
        .await
        .expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::Config);
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("larger than 4 GiB"), "{text}");
    assert!(text.contains("max_file_bytes"), "{text}");
}

#[tokio::test]
async fn max_file_bytes_bounds_the_first_read_and_every_reload() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    std::fs::write(&path, SEED).expect("write");
    let small = serde_json::json!({"path": "d.yaml", "max_file_bytes": 100});
    let err = build(tmp.path(), small).await.expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("larger than 100 bytes"), "{err}");

    let bound = SEED.len() as u64 + 10;
    let h = registry::build_adapter(
        "file",
        config(
            tmp.path(),
            serde_json::json!({"path": "d.yaml", "max_file_bytes": bound}),
        ),
    )
    .await
    .expect("within the bound");
    assert_eq!(h.all_users().await.expect("lists").len(), 1);
    // The file grows past the bound while the adapter holds it: the reload is refused,
    // and so is the check.
    let grown = SEED.replace("users:\n", "users:\n  - {id: u-2, login: bob}\n");
    std::fs::write(&path, grown.replace("users: 1", "users: 2")).expect("rewrite");
    let err = h.all_users().await.expect_err("reload refused");
    assert!(err.to_string().contains("max_file_bytes"), "{err}");
    let err = h.check().await.expect_err("check refused");
    assert!(err.to_string().contains("max_file_bytes"), "{err}");
}

#[cfg(unix)]
#[tokio::test]
async fn devices_and_fifos_are_refused_at_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink("/dev/zero", tmp.path().join("zero.yaml")).expect("symlink");
    let fifo = tmp.path().join("pipe.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for (file, what) in [("zero.yaml", "a character device"), ("pipe.json", "a FIFO")] {
        let err = build(tmp.path(), serde_json::json!({"path": file}))
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        let text = err.to_string();
        assert!(text.contains(file), "{text}");
        assert!(text.contains(what), "{text}");
        assert!(text.contains("not a regular file"), "{text}");
    }
}
