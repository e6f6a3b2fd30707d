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
    let run = |args: &[&str]| {
        let out = Command::new(&bin)
            .args(args)
            .arg("-c")
            .arg(&cfg)
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
    };
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
