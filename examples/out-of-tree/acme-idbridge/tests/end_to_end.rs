//! The built binary as a person runs it: the portal adapter is registered next to the
//! shipped ones, and a file directory synced into a portal converges.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs the binary with `args` to the end, with no stdin and no developer log settings.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acme-idbridge"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `args` and checks the exit code.
fn expect(args: &[&str], code: i32) -> Output {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "`{}` exits {code}: {}",
        args.join(" "),
        text(&out)
    );
    out
}

const SOURCE: &str = r#"
users:
  - {id: s-1, login: ada.lovelace, email: ada.lovelace@example.com, display_name: Ada Lovelace, groups: [engineering]}
  - {id: s-2, login: grace.hopper, email: grace.hopper@example.com, groups: [platform]}
groups:
  - {id: s-all, name: all-staff}
  - {id: s-eng, name: engineering, groups: [all-staff]}
  - {id: s-plat, name: platform, groups: [engineering]}
roles:
  - {id: s-reader, name: reader}
grants:
  - {role: reader, group: engineering}
"#;

fn write_source(dir: &Path, extra_user: Option<&str>) {
    let mut users = 2;
    let mut text = SOURCE.to_string();
    if let Some(login) = extra_user {
        users += 1;
        text = text.replacen(
            "groups:\n",
            &format!("  - {{id: s-3, login: {login}, groups: [all-staff]}}\ngroups:\n"),
            1,
        );
    }
    text.push_str(&format!(
        "complete: {{users: {users}, groups: 3, roles: 1, grants: 1}}\n"
    ));
    std::fs::write(dir.join("directory.yaml"), text).expect("write the source");
}

const CONFIG: &str = r#"
state = "state.db"

[source]
adapter = "file"
path = "directory.yaml"

[targets.portal]
adapter = "portal"
path = "portal.json"
create = true

[targets.portal.roles]
reader = { role = "viewer" }
"#;

fn portal(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("portal.json")).expect("the portal store exists");
    serde_json::from_str(&text).expect("the portal store is JSON")
}

fn id_of(store: &serde_json::Value, list: &str, key: &str, value: &str) -> String {
    store[list]
        .as_array()
        .expect("a list")
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("{value} is in the portal's {list}: {store}"))["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

#[test]
fn the_portal_adapter_is_listed_next_to_the_shipped_ones() {
    let out = expect(&["adapters", "--json"], 0);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(names.contains(&"portal"), "{names:?}");
    assert!(names.contains(&"file"), "{names:?}");
    let portal = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|a| a["name"] == "portal")
        .expect("portal");
    assert_eq!(portal["capabilities"]["members_nested"], true, "{portal}");
    assert_eq!(portal["capabilities"]["sessions_list"], false, "{portal}");
}

#[test]
fn a_directory_synced_into_the_portal_converges() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path(), None);
    let config = dir.path().join("idbridge.toml");
    std::fs::write(&config, CONFIG).expect("write the config");
    let cfg = config.to_str().expect("a UTF-8 path");

    expect(&["check", "-c", cfg], 0);
    let out = expect(&["plan", "-c", cfg], 2);
    assert!(text(&out).contains("ada.lovelace"), "{}", text(&out));
    expect(&["apply", "-c", cfg, "--yes"], 0);
    expect(&["plan", "-c", cfg], 0);

    let store = portal(dir.path());
    let ada = id_of(&store, "users", "login", "ada.lovelace");
    let engineering = id_of(&store, "groups", "name", "engineering");
    let platform = id_of(&store, "groups", "name", "platform");
    let members = &store["members"];
    let has =
        |group: &str, kind: &str, id: &str| {
            members.as_array().expect("a list").iter().any(|m| {
                m["group"] == group && m["member"]["kind"] == kind && m["member"]["id"] == id
            })
        };
    assert!(has(&engineering, "user", &ada), "{store}");
    assert!(has(&engineering, "group", &platform), "{store}");
    let granted = store["grants"].as_array().expect("a list").iter().any(|g| {
        g["role"] == "r-viewer"
            && g["principal"]["kind"] == "group"
            && g["principal"]["id"] == engineering
    });
    assert!(granted, "engineering holds viewer: {store}");
    assert_eq!(
        id_of(&store, "users", "login", "portal-admin"),
        acme_portal::ADMIN_USER_ID,
        "the built-in administrator is left alone"
    );

    // A person joins: one unattended sync brings them over, and nothing is left to do.
    write_source(dir.path(), Some("alan.turing"));
    expect(&["sync", "-c", cfg], 0);
    id_of(&portal(dir.path()), "users", "login", "alan.turing");
    expect(&["plan", "-c", cfg], 0);
}
