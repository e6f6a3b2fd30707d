//! Shared by the fault-suite tests: a generated directory, the `idbridge` binary, a
//! configuration file for it, and an exact read-back of the three emulated targets.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use idbridge_core::{AdapterHandle, Principal};
use idbridge_file::{DirGroup, DirUser, Directory, Format};
use serde_json::{Value, json};

/// The vendor targets of the suite: one per registered emulator, each named after its
/// vendor.
pub fn targets() -> Vec<&'static str> {
    idbridge_e2e::emulated_vendors()
}

/// Engine settings of the suite target of `vendor` (leavers are deleted where accounts
/// cannot be disabled).
pub fn settings(vendor: &str) -> Value {
    idbridge_e2e::leaver_settings(vendor)
}

/// The shape of a generated directory.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Users.
    pub users: usize,
    /// Groups.
    pub groups: usize,
    /// Distinct groups per user.
    pub per_user: usize,
}

impl Shape {
    /// The login of user `i`.
    pub fn login(i: usize) -> String {
        format!("person.{i:04}")
    }

    /// The email of user `i`.
    pub fn email(i: usize) -> String {
        format!("person.{i:04}@example.com")
    }

    /// The name of group `g`.
    pub fn group(g: usize) -> String {
        format!("team-{g:02}")
    }

    /// The groups user `i` belongs to.
    pub fn groups_of(&self, i: usize) -> Vec<usize> {
        (0..self.per_user.min(self.groups))
            .map(|k| (i + k * 7) % self.groups)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The directory document.
    pub fn directory(&self) -> Directory {
        Directory {
            users: (0..self.users)
                .map(|i| DirUser {
                    id: format!("p{i:04}"),
                    login: Self::login(i),
                    email: Some(Self::email(i)),
                    display_name: Some(format!("Person {i}")),
                    enabled: true,
                    groups: self.groups_of(i).into_iter().map(Self::group).collect(),
                    attributes: BTreeMap::new(),
                })
                .collect(),
            groups: (0..self.groups)
                .map(|g| DirGroup {
                    id: format!("t{g:02}"),
                    name: Self::group(g),
                    description: None,
                    groups: Vec::new(),
                })
                .collect(),
            roles: Vec::new(),
            grants: Vec::new(),
        }
    }

    /// Writes the directory as JSON at `path`.
    pub fn write(&self, path: &Path) {
        let text = self.directory().to_text(Format::Json).expect("serialize");
        std::fs::write(path, text).expect("write the source");
    }

    /// The key an account of user `i` is known by on a platform, lower-cased: the email
    /// where logins are email addresses, else the login.
    pub fn key(login_is_email: bool, i: usize) -> String {
        if login_is_email {
            Self::email(i)
        } else {
            Self::login(i)
        }
    }

    /// Reads `handle` back and checks it holds exactly this directory: every user and
    /// group once, every group's members exactly the source's. Returns the target's user
    /// ids by key, for callers that check more.
    pub async fn assert_exact(&self, target: &str, handle: &AdapterHandle) -> ExactState {
        let email_logins = handle.capabilities().users_login_is_email;
        let users = handle.all_users().await.expect("read users back");
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for u in &users {
            by_key
                .entry(u.login.to_lowercase())
                .or_default()
                .push(u.id.clone());
        }
        let mut key_of_id = BTreeMap::new();
        for i in 0..self.users {
            let key = Self::key(email_logins, i);
            let ids = by_key.get(&key).cloned().unwrap_or_default();
            assert_eq!(
                ids.len(),
                1,
                "{target}: user `{key}` should be there exactly once, found {ids:?}"
            );
            key_of_id.insert(ids[0].clone(), key);
        }
        let strays: Vec<&String> = by_key
            .keys()
            .filter(|k| k.starts_with("person.") && !key_of_id.values().any(|v| v == *k))
            .collect();
        assert!(
            strays.is_empty(),
            "{target}: unexpected accounts {strays:?}"
        );

        let groups = handle.all_groups().await.expect("read groups back");
        let mut memberships = BTreeSet::new();
        let mut group_ids = BTreeMap::new();
        for g in 0..self.groups {
            let name = Self::group(g);
            let found: Vec<_> = groups.iter().filter(|x| x.name == name).collect();
            assert_eq!(
                found.len(),
                1,
                "{target}: group `{name}` should be there exactly once"
            );
            group_ids.insert(found[0].id.clone(), name.clone());
            let members = handle
                .all_members(&found[0].id)
                .await
                .expect("read members back");
            let mut got = Vec::new();
            for m in &members {
                got.push(match m {
                    Principal::User(id) => key_of_id
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| format!("unknown user {id}")),
                    Principal::Group(id) => format!("group {id}"),
                });
            }
            let got_set: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(
                got.len(),
                got_set.len(),
                "{target}: `{name}` lists a member twice"
            );
            let want: BTreeSet<String> = (0..self.users)
                .filter(|i| self.groups_of(*i).contains(&g))
                .map(|i| Self::key(email_logins, i))
                .collect();
            assert_eq!(got_set, want, "{target}: members of `{name}`");
            for m in got_set {
                memberships.insert((name.clone(), m));
            }
        }
        ExactState {
            key_of_id,
            group_ids,
            memberships,
        }
    }
}

/// What [`Shape::assert_exact`] found in one target.
#[derive(Debug, Clone, Default)]
pub struct ExactState {
    /// User key (login or email, lower-cased) by target id.
    pub key_of_id: BTreeMap<String, String>,
    /// Group name by target id.
    pub group_ids: BTreeMap<String, String>,
    /// Every (group name, member key).
    pub memberships: BTreeSet<(String, String)>,
}

/// The `idbridge` binary of this build, built first if needed (`IDBRIDGE_BIN` overrides).
pub fn idbridge_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("IDBRIDGE_BIN") {
        return PathBuf::from(p);
    }
    // tests run from target/<profile>/deps/<test>; the binary sits in target/<profile>.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
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
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building the idbridge binary failed");
    let bin = profile_dir.join(format!("idbridge{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "no idbridge binary at {}", bin.display());
    bin
}

/// A configuration file for `idbridge`: the source file, the state file, and one target
/// section per `(name, emulator config, engine settings)`.
pub fn write_config(
    dir: &Path,
    source: &Path,
    state: &Path,
    targets: &[(String, Value, Value)],
) -> PathBuf {
    let mut sections = serde_json::Map::new();
    for (name, emulator_config, settings) in targets {
        let mut section = emulator_config.clone();
        if let (Value::Object(s), Value::Object(extra)) = (&mut section, settings) {
            for (k, v) in extra {
                s.insert(k.clone(), v.clone());
            }
        }
        sections.insert(name.clone(), section);
    }
    let config = json!({
        "state": state,
        "source": {"adapter": "file", "path": source},
        "targets": sections,
    });
    let path = dir.join("idbridge.json");
    std::fs::write(&path, serde_json::to_string_pretty(&config).expect("json"))
        .expect("write the configuration");
    path
}
