//! scim2-tester, an independent SCIM 2.0 conformance checker (PyPI, pinned in
//! `tests/peers/requirements.txt`), run through its command line (`scim2 --url ... test`
//! from scim2-cli) against the server: every check must succeed.
//!
//! The interpreter is found as for the fidelity tests (`IDBRIDGE_PYTHON`, else the
//! workspace's `.venv`, made by `scripts/python-env.sh`); without scim2-tester the test is
//! skipped with the reason, unless `IDBRIDGE_REQUIRE_FIDELITY=1`.

#[path = "server/support.rs"]
#[allow(dead_code)]
mod support;

use idbridge_testkit::fidelity;

use support::{Server, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_passes_every_check() {
    let Some(python) = fidelity::python_with("scim2_tester", "scim2_tester_passes_every_check")
    else {
        return;
    };
    let scim2 = python.with_file_name("scim2");
    assert!(
        scim2.exists(),
        "`{}` is missing: scim2-cli is not installed next to {}",
        scim2.display(),
        python.display()
    );
    let s = Server::start().await;
    let url = s.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&scim2)
            .args(["--url", &url, "test", "--verbose"])
            // The token goes through the environment, not the command line others can see.
            .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {TOKEN}"))
            .env("NO_COLOR", "1")
            .output()
    })
    .await
    .expect("joins")
    .expect("runs scim2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    let checks = stdout.lines().filter(|l| l.starts_with("SUCCESS ")).count();
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            [
                "COMPLIANT ",
                "ACCEPTABLE ",
                "DEVIATION ",
                "ERROR ",
                "CRITICAL ",
                "SKIPPED ",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .collect();
    assert!(
        out.status.success() && failed.is_empty() && checks > 0,
        "scim2-tester: {checks} checks succeeded; not succeeded: {failed:#?}\n{stderr}"
    );
    println!("scim2-tester: all {checks} checks succeeded");
}
