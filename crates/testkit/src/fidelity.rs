//! The Python interpreter that carries a vendor's official client, for fidelity tests.
//!
//! A fidelity test runs the vendor's own Python client against an emulator. The
//! interpreter is `IDBRIDGE_PYTHON`, else `.venv/bin/python` at the workspace root (made by
//! `scripts/python-env.sh`). When it is missing or cannot import the client, the test is
//! skipped with a message saying why, unless `IDBRIDGE_REQUIRE_FIDELITY=1` (CI sets it),
//! which turns the skip into a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable naming the interpreter.
pub const PYTHON_VAR: &str = "IDBRIDGE_PYTHON";

/// The environment variable that turns a skipped fidelity test into a failure when `1`.
pub const REQUIRE_VAR: &str = "IDBRIDGE_REQUIRE_FIDELITY";

/// The workspace root (where `.venv` lives).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The configured interpreter, whether or not it exists.
pub fn interpreter() -> PathBuf {
    std::env::var_os(PYTHON_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

/// Whether fidelity tests must run (`IDBRIDGE_REQUIRE_FIDELITY=1`).
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// Why `python` cannot import `module`, or `None` when it can.
pub fn missing_module(python: &Path, module: &str) -> Option<String> {
    match Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
    {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`{}` cannot import {module}: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run `{}`: {e}", python.display())),
    }
}

/// The interpreter that imports `module` (the client's import name), or `None` after
/// printing why the test named `test` is skipped.
///
/// # Panics
/// When the client is missing and `IDBRIDGE_REQUIRE_FIDELITY=1`: a required fidelity test
/// must not pass by skipping.
pub fn python_with(module: &str, test: &str) -> Option<PathBuf> {
    let python = interpreter();
    let Some(why) = missing_module(&python, module) else {
        return Some(python);
    };
    assert!(
        !required(),
        "{REQUIRE_VAR}=1 but {why} (run scripts/python-env.sh, or set {PYTHON_VAR})"
    );
    eprintln!("SKIPPED {test}: {why} (run scripts/python-env.sh, or set {PYTHON_VAR})");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_an_importable_module_from_a_missing_one() {
        let python = Path::new("python3");
        assert_eq!(missing_module(python, "json"), None);
        let why = missing_module(python, "no_such_module_for_idbridge").expect("missing");
        assert!(why.contains("no_such_module_for_idbridge"), "{why}");
        let why = missing_module(Path::new("/nonexistent/python"), "json").expect("no interpreter");
        assert!(why.contains("/nonexistent/python"), "{why}");
    }
}
