//! The `idbridge` binary against the private slapd: `check` and `users list --system
//! source` with an `ldap` source whose password comes from a file.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{GROUPS, PEOPLE, READER_DN, READER_PASSWORD, Slapd};

/// The `idbridge` binary of this build, built first if needed (`IDBRIDGE_BIN` overrides).
fn idbridge_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("IDBRIDGE_BIN") {
        return PathBuf::from(p);
    }
    // Tests run from target/<profile>/deps/<test>; the binary sits in target/<profile>.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .to_path_buf();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "idbridge",
        "--bin",
        "idbridge",
        "--manifest-path",
    ])
    .arg(&manifest);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building the idbridge binary failed");
    profile_dir.join("idbridge")
}

/// Runs the binary with `args` and the configuration; exit code, stdout, stderr. Fails
/// when the bind password shows anywhere.
fn run(bin: &Path, cfg: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(bin)
        .args(args)
        .arg("-c")
        .arg(cfg)
        .env("RUST_LOG", "debug")
        .output()
        .expect("idbridge runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains(READER_PASSWORD) && !stderr.contains(READER_PASSWORD),
        "the password shows:\n{stdout}\n{stderr}"
    );
    (out.status.code(), stdout, stderr)
}

fn config(server: &Slapd) -> PathBuf {
    server.write_file("reader.secret", &format!("{READER_PASSWORD}\n"));
    server.write_file(
        "idbridge.toml",
        &format!(
            "state = \"state.db\"\n\n[source]\nadapter = \"ldap\"\nurl = \"{}\"\n\
             bind_dn = \"{READER_DN}\"\npassword_file = \"reader.secret\"\n\
             user_base_dns = [\"{PEOPLE}\"]\ngroup_base_dns = [\"{GROUPS}\"]\npage_size = 5\n\
             disabled_filter = \"(employeeType=disabled)\"\n\n\
             [targets.copy]\nadapter = \"file\"\npath = \"copy.yaml\"\ncreate = true\n",
            server.url()
        ),
    )
}

#[test]
fn check_and_users_list_read_the_directory() {
    if !support::available() {
        return;
    }
    let server = Slapd::start(&support::seed(), None);
    let cfg = config(&server);
    let bin = idbridge_bin();
    let run = |args: &[&str]| run(&bin, &cfg, args);
    let (code, stdout, stderr) = run(&["check"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("source (ldap): ok"), "{stdout}");

    let (code, stdout, stderr) = run(&["users", "list", "--system", "source"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for login in ["ann", "bob", "cid", "user09"] {
        assert!(stdout.contains(login), "{login} missing:\n{stdout}");
    }
    assert!(!stdout.contains("ghost"), "{stdout}");
}

#[tokio::test]
async fn a_sync_converges_and_a_renamed_and_moved_user_is_an_update() {
    if !support::available() {
        return;
    }
    let server = Slapd::start(&support::seed(), None);
    let cfg = config(&server);
    let bin = idbridge_bin();
    let (code, stdout, stderr) = run(&bin, &cfg, &["apply", "--yes"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let (code, stdout, stderr) = run(&bin, &cfg, &["plan"]);
    assert_eq!(
        code,
        Some(0),
        "a second run plans nothing:\n{stdout}\n{stderr}"
    );

    let mut admin = server.admin().await;
    admin
        .modifydn(
            &format!("uid=bob,ou=engineering,{PEOPLE}"),
            "uid=robert",
            true,
            Some(&format!("ou=sales,{PEOPLE}")),
        )
        .await
        .and_then(|r| r.success())
        .expect("rename and move");
    let (code, stdout, stderr) = run(&bin, &cfg, &["plan", "--json"]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("plan --json is JSON");
    let ops: Vec<&serde_json::Value> = plan["plan"]["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("no targets: {plan:#}"))
        .iter()
        .flat_map(|t| t["ops"].as_array().expect("ops"))
        .collect();
    let of = |op: &str| ops.iter().filter(|o| o["op"] == op).collect::<Vec<_>>();
    let updates = of("update_user");
    assert_eq!(updates.len(), 1, "{plan:#}");
    assert_eq!(updates[0]["changes"]["login"], "robert", "{plan:#}");
    for op in ["create_user", "delete_user", "disable_user"] {
        assert!(of(op).is_empty(), "{op} planned: {plan:#}");
    }
    // Without the refint overlay the directory keeps the old DN in `member` and the old
    // login in `memberUid`: those memberships end, and the read reported them.
    assert_eq!(of("remove_member").len(), 2, "{plan:#}");
}
