//! Fidelity in both directions through the official Python client `dataiku-api-client`
//! (pinned in `tests/fidelity/requirements.txt`), against the emulator.
//!
//! - **The client writes, the adapter reads.** `dataikuapi_fidelity.py` creates users
//!   (with e-mail and display name), changes each field the adapter owns, disables and
//!   enables, creates and deletes groups, adds and removes memberships, grants and revokes
//!   global flags and project permissions, and uses the bulk endpoints. Then the adapter's
//!   view must equal, field by field, what the client itself reads back
//!   (`dataikuapi_read.py`).
//! - **The adapter writes, the client reads.** The adapter performs every operation it
//!   has (single and bulk creates, each field update, disable and enable, group create,
//!   update and delete, membership add and remove, grants and revokes in both scopes, to
//!   users and groups); the client must then read exactly the values written.
//!
//! The interpreter is `IDBRIDGE_PYTHON` (default `.venv/bin/python` at the workspace
//! root). Without it or without the package the test is skipped with a message, unless
//! `IDBRIDGE_REQUIRE_FIDELITY=1`, which turns the skip into a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use idbridge_core::{
    AdapterHandle, Grant, GrantFilter, GroupChanges, NewGroup, NewUser, Principal, Scope,
    UserChanges, UserWrite, registry,
};
use idbridge_dataiku::config::default_project_roles;
use idbridge_dataiku::emulator::{DEFAULT_API_KEY, start, start_with_state};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use idbridge_testkit::fidelity;
use serde_json::{Map, Value, json};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fidelity")
        .join(name)
}

/// Runs a script with the emulator's URL; returns its last stdout line as JSON.
async fn run_script(python: &Path, name: &str, emulator: &RunningEmulator) -> Value {
    let (python, script, base) = (
        python.to_path_buf(),
        script(name),
        emulator.base_url.clone(),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .arg(&base)
            .env("DSS_API_KEY", DEFAULT_API_KEY)
            .env("KEEP_LOGIN", "fidelity.keeper")
            .output()
    })
    .await
    .expect("the script's thread ends")
    .expect("the interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    serde_json::from_str(stdout.lines().last().expect("a summary line")).expect("JSON")
}

/// `""` and absent read alike on DSS (no e-mail, no name, no description).
fn text(v: Option<&str>) -> Value {
    v.filter(|s| !s.is_empty())
        .map_or(Value::Null, |s| Value::String(s.into()))
}

fn principal_key(p: &Principal) -> String {
    match p {
        Principal::User(u) => format!("user:{u}"),
        Principal::Group(g) => format!("group:{g}"),
    }
}

/// What the adapter reads, in the read script's shape.
async fn adapter_view(h: &AdapterHandle) -> Value {
    let memberships = h.list_all_members().await.expect("memberships");
    let mut users = Map::new();
    for u in h.all_users().await.expect("users") {
        let mut groups: Vec<&str> = memberships
            .iter()
            .filter(|m| m.member == Principal::User(u.id.clone()))
            .map(|m| m.group.as_str())
            .collect();
        groups.sort_unstable();
        users.insert(
            u.id.clone(),
            json!({
                "email": text(u.email.as_deref()),
                "displayName": text(u.display_name.as_deref()),
                "enabled": u.enabled,
                "attributes": u.attributes,
                "groups": groups,
            }),
        );
    }
    let roles = h.all_roles().await.expect("roles");
    let mut groups = Map::new();
    for g in h.all_groups().await.expect("groups") {
        let mut flags: Vec<String> = roles
            .iter()
            .find(|r| r.scope == Scope::Global && r.id == g.id)
            .map(|r| r.privileges.clone())
            .unwrap_or_default();
        flags.sort();
        groups.insert(
            g.id.clone(),
            json!({"description": text(g.description.as_deref()), "flags": flags}),
        );
    }
    let role_flags = default_project_roles();
    let mut projects: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for r in h.all_roles().await.expect("roles") {
        if let Scope::Project(key) = &r.scope {
            projects.entry(key.clone()).or_default();
        }
    }
    for g in h.all_grants(&GrantFilter::default()).await.expect("grants") {
        let Scope::Project(key) = &g.scope else {
            continue;
        };
        let role = g.role.rsplit(':').next().unwrap_or_default();
        let entry = projects
            .entry(key.clone())
            .or_default()
            .entry(principal_key(&g.principal))
            .or_default();
        entry.extend(role_flags.get(role).cloned().unwrap_or_default());
        entry.sort();
        entry.dedup();
    }
    json!({"users": users, "groups": groups, "projects": projects})
}

/// Compares two views field by field, naming the first difference.
fn assert_same(adapter: &Value, client: &Value) {
    for part in ["users", "groups", "projects"] {
        let (a, c) = (&adapter[part], &client[part]);
        let keys = |v: &Value| -> Vec<String> {
            v.as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(a), keys(c), "{part}: the same records on both sides");
        for id in keys(c) {
            match (&a[&id], &c[&id]) {
                (Value::Object(ra), Value::Object(rc)) => {
                    for (field, value) in rc {
                        assert_eq!(
                            ra.get(field),
                            Some(value),
                            "{part} `{id}` field `{field}`: adapter vs dataikuapi"
                        );
                    }
                    assert_eq!(ra.len(), rc.len(), "{part} `{id}`: the same fields");
                }
                (ra, rc) => assert_eq!(ra, rc, "{part} `{id}`"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dataikuapi_writes_and_the_adapter_reads_the_same_values() {
    let Some(python) = fidelity::python_with("dataikuapi, requests", "dataiku-api-client fidelity")
    else {
        return;
    };
    let (emulator, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("emulator starts");
    let summary = run_script(&python, "dataikuapi_fidelity.py", &emulator).await;
    assert_eq!(summary["ok"], true);

    // The password the client set went in as written, and never comes back.
    assert_eq!(
        state.password_of("fidelity.keeper").as_deref(),
        Some("keeper-pass")
    );

    let h = registry::build_adapter("dataiku", emulator.adapter_config("dss"))
        .await
        .expect("the adapter connects");
    let client = run_script(&python, "dataikuapi_read.py", &emulator).await;
    assert_same(&adapter_view(&h).await, &client);

    // And the values are the ones the client wrote.
    let kept = h.get_user("fidelity.keeper").await.expect("kept");
    assert_eq!(kept.email.as_deref(), Some("keeper.changed@example.com"));
    assert_eq!(kept.display_name.as_deref(), Some("Kept and renamed"));
    assert!(kept.enabled);
    assert_eq!(
        kept.attributes,
        BTreeMap::from([("dept".to_string(), "R&D".to_string())])
    );
    assert!(h.get_user("fidelity.user").await.is_err(), "deleted");
    assert!(h.get_group("fidelity_doomed").await.is_err(), "deleted");
    let members = h.all_members("fidelity_team").await.expect("members");
    assert_eq!(members, vec![Principal::User("fidelity.keeper".into())]);
    assert!(
        !h.all_members("readers")
            .await
            .expect("members")
            .contains(&Principal::User("fidelity.keeper".into())),
        "the membership the client removed"
    );
    let grants = h.all_grants(&GrantFilter::default()).await.expect("grants");
    for expected in [
        Grant {
            role: "fidelity_team".into(),
            principal: Principal::User("fidelity.keeper".into()),
            scope: Scope::Global,
        },
        Grant {
            role: "SANDBOX:reader".into(),
            principal: Principal::Group("fidelity_team".into()),
            scope: Scope::Project("SANDBOX".into()),
        },
        Grant {
            role: "SANDBOX:viewer".into(),
            principal: Principal::User("fidelity.keeper".into()),
            scope: Scope::Project("SANDBOX".into()),
        },
    ] {
        assert!(grants.contains(&expected), "{expected:?} in {grants:?}");
    }
    assert!(
        !grants
            .iter()
            .any(|g| g.principal == Principal::Group("readers".into())),
        "the grants the client revoked: {grants:?}"
    );
    let activity = h.user_activity("fidelity.keeper").await.expect("activity");
    assert_eq!(activity.last_login, None);
}

fn grant(role: &str, principal: Principal, scope: Scope) -> Grant {
    Grant {
        role: role.into(),
        principal,
        scope,
    }
}

fn user(login: &str) -> Principal {
    Principal::User(login.into())
}

fn group(name: &str) -> Principal {
    Principal::Group(name.into())
}

/// Every operation the adapter performs, on both servers (with and without the bulk
/// endpoints).
async fn adapter_writes(h: &AdapterHandle) {
    let sandbox = || Scope::Project("SANDBOX".into());
    h.create_user(&NewUser {
        email: Some("ann@example.com".into()),
        display_name: Some("Ann Example".into()),
        attributes: BTreeMap::from([("dept".into(), "Ops".into())]),
        ..NewUser::new("ann")
    })
    .await
    .expect("create with e-mail, name and attributes");
    h.create_user(&NewUser::new("bob")).await.expect("create");
    let update = |changes: UserChanges| async move {
        h.update_user("bob", &changes).await.expect("update");
    };
    update(UserChanges {
        email: Some(Some("bob@example.com".into())),
        ..UserChanges::default()
    })
    .await;
    update(UserChanges {
        display_name: Some(Some("Bob Builder".into())),
        ..UserChanges::default()
    })
    .await;
    update(UserChanges {
        attributes: Some(BTreeMap::from([("site".into(), "Lyon".into())])),
        ..UserChanges::default()
    })
    .await;
    h.set_user_enabled("bob", false).await.expect("disable");
    h.set_user_enabled("bob", true).await.expect("enable");
    h.set_user_enabled("ann", false).await.expect("disable");
    // Through the batch path (bulk where the server has it).
    let results = h
        .write_users(vec![
            UserWrite::Create {
                user: NewUser {
                    email: Some("cid@example.com".into()),
                    display_name: Some("Cid".into()),
                    ..NewUser::new("cid")
                },
            },
            UserWrite::Create {
                user: NewUser::new("dan"),
            },
        ])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let results = h
        .write_users(vec![
            UserWrite::Update {
                id: "cid".into(),
                changes: UserChanges {
                    email: Some(None),
                    display_name: Some(Some("Cid Renamed".into())),
                    ..UserChanges::default()
                },
            },
            UserWrite::SetEnabled {
                id: "dan".into(),
                enabled: false,
            },
        ])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let results = h
        .write_users(vec![UserWrite::Delete { id: "dan".into() }])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    h.create_group(&NewGroup {
        name: "analysts".into(),
        description: Some("Analysts".into()),
    })
    .await
    .expect("group");
    h.update_group(
        "analysts",
        &GroupChanges {
            description: Some(Some("Analysts team".into())),
            ..GroupChanges::default()
        },
    )
    .await
    .expect("describe");
    h.create_group(&NewGroup {
        name: "temp".into(),
        description: None,
    })
    .await
    .expect("group");
    h.delete_group("temp").await.expect("delete group");
    h.add_member("analysts", &user("ann")).await.expect("add");
    h.add_member("analysts", &user("bob")).await.expect("add");
    h.remove_member("analysts", &user("bob"))
        .await
        .expect("remove");
    h.add_member("readers", &user("bob")).await.expect("add");

    // Global roles (groups with flags): to a user by membership, to a group by flags.
    h.grant(&grant("data_team", user("ann"), Scope::Global))
        .await
        .expect("global to user");
    h.grant(&grant("data_team", user("bob"), Scope::Global))
        .await
        .expect("global to user");
    h.revoke(&grant("data_team", user("bob"), Scope::Global))
        .await
        .expect("revoke global from user");
    h.grant(&grant("data_team", group("analysts"), Scope::Global))
        .await
        .expect("global to group");
    h.grant(&grant("data_team", group("readers"), Scope::Global))
        .await
        .expect("global to group");
    h.revoke(&grant("data_team", group("readers"), Scope::Global))
        .await
        .expect("revoke global from group");

    // Project roles, to users and groups.
    h.grant(&grant("SANDBOX:reader", group("analysts"), sandbox()))
        .await
        .expect("project to group");
    h.grant(&grant("viewer", user("ann"), sandbox()))
        .await
        .expect("project to user");
    h.grant(&grant("SANDBOX:contributor", user("bob"), sandbox()))
        .await
        .expect("project to user");
    h.revoke(&grant("SANDBOX:contributor", user("bob"), sandbox()))
        .await
        .expect("revoke project from user");
    h.grant(&grant("SANDBOX:admin", group("readers"), sandbox()))
        .await
        .expect("project to group");
    h.revoke(&grant("SANDBOX:admin", group("readers"), sandbox()))
        .await
        .expect("revoke project from group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_writes_and_dataikuapi_reads_the_same_values() {
    let Some(python) = fidelity::python_with("dataikuapi", "dataiku-api-client fidelity") else {
        return;
    };
    for version in ["14.1.4", "14.2.0"] {
        let mut options = EmulatorOptions::default();
        options.extra.insert("version".into(), version.into());
        let emulator = start(options).await.expect("emulator starts");
        let h = registry::build_adapter("dataiku", emulator.adapter_config("dss"))
            .await
            .expect("the adapter connects");
        adapter_writes(&h).await;
        let client = run_script(&python, "dataikuapi_read.py", &emulator).await;
        assert_same(&adapter_view(&h).await, &client);

        // Exactly what the adapter wrote, as the official client reads it.
        let users = &client["users"];
        assert_eq!(
            users["ann"],
            json!({"email": "ann@example.com", "displayName": "Ann Example", "enabled": false,
                   "attributes": {"dept": "Ops"}, "groups": ["analysts", "data_team"]}),
            "{version}"
        );
        assert_eq!(
            users["bob"],
            json!({"email": "bob@example.com", "displayName": "Bob Builder", "enabled": true,
                   "attributes": {"site": "Lyon"}, "groups": ["readers"]}),
            "{version}"
        );
        assert_eq!(
            users["cid"],
            json!({"email": null, "displayName": "Cid Renamed", "enabled": true,
                   "attributes": {}, "groups": []}),
            "{version}"
        );
        assert!(users.get("dan").is_none(), "{version}: deleted");
        let groups = &client["groups"];
        assert_eq!(
            groups["analysts"],
            json!({"description": "Analysts team",
                   "flags": ["mayCreateActiveWebContent", "mayCreateProjects", "mayWriteSafeCode"]}),
            "{version}"
        );
        assert_eq!(groups["readers"]["flags"], json!([]), "{version}");
        assert!(groups.get("temp").is_none(), "{version}: deleted");
        let sandbox = &client["projects"]["SANDBOX"];
        assert_eq!(
            sandbox["group:analysts"],
            json!(["readDashboards", "readProjectContent"]),
            "{version}"
        );
        assert_eq!(sandbox["user:ann"], json!(["readDashboards"]), "{version}");
        assert!(sandbox.get("user:bob").is_none(), "{version}: revoked");
        assert!(sandbox.get("group:readers").is_none(), "{version}: revoked");
    }
}
