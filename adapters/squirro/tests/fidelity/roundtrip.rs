//! Both directions between `squirroclient` and the adapter, field by field, for every
//! kind of change the adapter makes: users created with an e-mail address, a display name
//! and attributes, each of those changed or cleared; server roles granted and revoked;
//! groups created (with members too), renamed and deleted; members added and removed;
//! project roles granted to users and groups, changed and revoked; sessions revoked one by
//! one and per user; users deleted. Squirro has no enabled flag, so there is no disable or
//! enable to compare.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use idbridge_core::{
    AdapterExt, Grant, GrantFilter, GroupChanges, Groups, Memberships, NewGroup, NewUser,
    Principal, Roles, Scope, Sessions, UserChanges, Users,
};
use idbridge_squirro::SquirroAdapter;
use idbridge_squirro::emulator::{DEFAULT_PROJECT, DEFAULT_REFRESH_TOKEN, State, start_with_state};
use idbridge_squirro::sessions::session_id;
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use idbridge_testkit::fidelity;
use serde_json::{Value, json};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/squirroclient_fidelity.py")
}

/// Runs the script in `mode` and returns its standard output; fails the test with both
/// streams when the script fails.
pub async fn run(
    python: PathBuf,
    emulator: &RunningEmulator,
    tenant: &str,
    mode: &[&str],
) -> String {
    let base = emulator.base_url.clone();
    let tenant = tenant.to_string();
    let args: Vec<String> = mode.iter().map(|s| (*s).to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(script())
            .arg(&base)
            .arg(&tenant)
            .args(&args)
            .env("SQUIRRO_REFRESH_TOKEN", DEFAULT_REFRESH_TOKEN)
            .output()
    })
    .await
    .expect("the script's thread ends")
    .expect("the interpreter runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "squirroclient {mode:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}

pub async fn adapter(emulator: &RunningEmulator) -> SquirroAdapter {
    let mut cfg = emulator.adapter_config("sq");
    cfg.settings
        .insert("attribute_keys".into(), json!(["department", "site"]));
    SquirroAdapter::connect(&cfg)
        .await
        .expect("the adapter connects")
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn global(user: &str) -> GrantFilter {
    GrantFilter {
        principal: Some(Principal::User(user.to_string())),
        scope: Some(Scope::Global),
        ..GrantFilter::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_squirroclient_writes_the_adapter_reads_back_exactly() {
    let Some(python) = fidelity::python_with("squirro_client", "squirroclient write fidelity")
    else {
        return;
    };
    let (emulator, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("emulator starts");
    let stdout = run(python, &emulator, state.tenant(), &["write"]).await;
    let manifest: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MANIFEST "))
        .map(|m| serde_json::from_str(m).expect("the manifest is JSON"))
        .unwrap_or_else(|| panic!("no manifest in:\n{stdout}"));
    let sq = adapter(&emulator).await;
    let mut problems = Vec::new();
    let mut check = |what: String, wrote: Option<String>, read: Option<String>| {
        if wrote != read {
            problems.push(format!(
                "{what}: squirroclient wrote {wrote:?}, the adapter read {read:?}"
            ));
        }
    };

    let listed = sq.all_users().await.expect("users");
    for u in manifest["users"].as_array().expect("users") {
        let id = u["id"].as_str().expect("id");
        let single = sq.get_user(id).await.expect("the user reads");
        let from_list = listed.iter().find(|x| x.id == id).cloned();
        for (how, user) in [("get_user", Some(single)), ("list_users", from_list)] {
            let Some(user) = user else {
                check(format!("{how} {id}"), Some("listed".into()), None);
                continue;
            };
            check(
                format!("{how} {id} login"),
                text(&u["email"]),
                Some(user.login.clone()),
            );
            check(
                format!("{how} {id} email"),
                text(&u["email"]),
                user.email.clone(),
            );
            check(
                format!("{how} {id} display name"),
                text(&u["full_name"]),
                user.display_name.clone(),
            );
            let wrote: BTreeMap<String, String> =
                serde_json::from_value(u["attributes"].clone()).expect("attributes");
            check(
                format!("{how} {id} attributes"),
                Some(format!("{wrote:?}")),
                Some(format!("{:?}", user.attributes)),
            );
            check(
                format!("{how} {id} enabled"),
                Some("true".into()),
                Some(user.enabled.to_string()),
            );
        }
        let roles: Vec<String> = sq
            .all_grants(&global(id))
            .await
            .expect("server role")
            .into_iter()
            .map(|g| g.role)
            .collect();
        check(
            format!("server role of {id}"),
            text(&u["role"]),
            Some(roles.join(",")),
        );
    }
    for id in manifest["absent_users"].as_array().expect("absent users") {
        let id = id.as_str().expect("id");
        let err = sq.get_user(id).await.expect_err("deleted");
        check(
            format!("get_user {id}"),
            Some("not_found".into()),
            Some(err.kind().to_string()),
        );
        assert!(listed.iter().all(|u| u.id != id), "{id} still listed");
    }

    let groups = sq.all_groups().await.expect("groups");
    let all_members = sq.list_all_members().await.expect("every membership");
    for g in manifest["groups"].as_array().expect("groups") {
        let id = g["id"].as_str().expect("id");
        let single = sq.get_group(id).await.expect("the group reads");
        check(
            format!("get_group {id} name"),
            text(&g["name"]),
            Some(single.name.clone()),
        );
        let listed = groups.iter().find(|x| x.id == id).map(|x| x.name.clone());
        check(format!("list_groups {id} name"), text(&g["name"]), listed);
        check(
            format!("get_group {id} description"),
            None,
            single.description.clone(),
        );
        let wrote: Vec<String> = serde_json::from_value(g["members"].clone()).expect("members");
        let mut read: Vec<String> = sq
            .all_members(id)
            .await
            .expect("members")
            .into_iter()
            .map(|p| p.id().to_string())
            .collect();
        read.sort();
        check(
            format!("list_members {id}"),
            Some(format!("{wrote:?}")),
            Some(format!("{read:?}")),
        );
        let mut from_all: Vec<String> = all_members
            .iter()
            .filter(|m| m.group == id)
            .map(|m| m.member.id().to_string())
            .collect();
        from_all.sort();
        check(
            format!("list_all_members {id}"),
            Some(format!("{wrote:?}")),
            Some(format!("{from_all:?}")),
        );
    }
    for id in manifest["absent_groups"].as_array().expect("absent groups") {
        let id = id.as_str().expect("id");
        let err = sq.get_group(id).await.expect_err("deleted");
        check(
            format!("get_group {id}"),
            Some("not_found".into()),
            Some(err.kind().to_string()),
        );
    }

    let project = &manifest["project"];
    let title = project["title"].as_str().expect("title");
    let principals: Vec<&str> = project["principals"]
        .as_array()
        .expect("principals")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut read: Vec<String> = sq
        .all_grants(&GrantFilter {
            scope: Some(Scope::Project(title.to_string())),
            ..GrantFilter::default()
        })
        .await
        .expect("project grants")
        .into_iter()
        .filter(|g| principals.contains(&g.principal.id()))
        .map(|g| format!("{} {} {}", g.principal, g.role, g.scope))
        .collect();
    read.sort();
    let mut wrote: Vec<String> = project["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .map(|g| {
            let id = g["id"].as_str().expect("id").to_string();
            let principal = if g["type"] == "group" {
                Principal::Group(id)
            } else {
                Principal::User(id)
            };
            let role = g["role"].as_str().expect("role");
            format!(
                "{principal} {role}@{title} {}",
                Scope::Project(title.to_string())
            )
        })
        .collect();
    wrote.sort();
    check(
        "project grants".into(),
        Some(format!("{wrote:?}")),
        Some(format!("{read:?}")),
    );

    for s in manifest["sessions"].as_array().expect("sessions") {
        let user = s["user"].as_str().expect("user");
        let mut wrote: Vec<String> = serde_json::from_value(s["ids"].clone()).expect("ids");
        wrote.sort();
        let mut read = sq.grant_ids(user).await.expect("grant ids");
        read.sort();
        check(
            format!("grants of {user}"),
            Some(format!("{wrote:?}")),
            Some(format!("{read:?}")),
        );
        for id in &wrote {
            let session = sq.get_session(user, id).await.expect("the session reads");
            check(
                format!("session {id}"),
                Some(session_id(user, id)),
                Some(session.id),
            );
        }
        for id in s["absent"].as_array().expect("absent") {
            let id = id.as_str().expect("id");
            let err = sq.get_session(user, id).await.expect_err("revoked");
            check(
                format!("session {id}"),
                Some("not_found".into()),
                Some(err.kind().to_string()),
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_adapter_writes_squirroclient_reads_back_exactly() {
    let Some(python) = fidelity::python_with("squirro_client", "squirroclient read fidelity")
    else {
        return;
    };
    let (emulator, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("emulator starts");
    let sq = adapter(&emulator).await;
    let manifest = adapter_writes(&sq, &state).await;
    let path = std::env::temp_dir().join(format!(
        "idbridge-squirro-fidelity-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, manifest.to_string()).expect("the manifest is written");
    let path_text = path.to_string_lossy().to_string();
    let stdout = run(python, &emulator, state.tenant(), &["read", &path_text]).await;
    let _ = std::fs::remove_file(&path);
    println!("{stdout}");
    assert!(stdout.contains("READ OK"), "{stdout}");
}

/// Makes through the adapter every kind of change it makes, and returns the manifest of
/// what the client must read back (the format `squirroclient_roundtrip.read` takes).
pub async fn adapter_writes(sq: &SquirroAdapter, state: &State) -> Value {
    let create = |login: &str, name: Option<&str>, attrs: &[(&str, &str)]| {
        let mut new = NewUser::new(login);
        new.display_name = name.map(str::to_string);
        new.attributes = attrs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        new
    };

    // Users: created with every field, then each field changed, one cleared.
    let named = sq
        .create_user(&create(
            "adapter.named@example.com",
            Some("Adapter Named"),
            &[("department", "Ops"), ("site", "Bern")],
        ))
        .await
        .expect("created")
        .id;
    sq.update_user(
        &named,
        &UserChanges {
            login: Some("adapter.renamed@example.com".into()),
            display_name: Some(Some("Adapter Renamed".into())),
            attributes: Some([("site".to_string(), "Basel".to_string())].into()),
            ..UserChanges::default()
        },
    )
    .await
    .expect("every field changed");
    let cleared = sq
        .create_user(&create(
            "adapter.cleared@example.com",
            Some("To Clear"),
            &[],
        ))
        .await
        .expect("created")
        .id;
    sq.update_user(
        &cleared,
        &UserChanges {
            display_name: Some(None),
            ..UserChanges::default()
        },
    )
    .await
    .expect("display name cleared");

    // Server roles: granted, granted then revoked (back to the default), the default revoked.
    let mut ids = BTreeMap::new();
    for login in [
        "adapter.admin",
        "adapter.revoked",
        "adapter.reader",
        "adapter.gone",
    ] {
        let id = sq
            .create_user(&create(&format!("{login}@example.com"), None, &[]))
            .await
            .expect("created")
            .id;
        ids.insert(login, id);
    }
    let role = |user: &str, role: &str| Grant {
        role: role.into(),
        principal: Principal::User(user.to_string()),
        scope: Scope::Global,
    };
    sq.grant(&role(&ids["adapter.admin"], "admin"))
        .await
        .expect("granted");
    sq.grant(&role(&ids["adapter.revoked"], "admin"))
        .await
        .expect("granted");
    sq.revoke(&role(&ids["adapter.revoked"], "admin"))
        .await
        .expect("revoked");
    sq.revoke(&role(&ids["adapter.reader"], "user"))
        .await
        .expect("revoked");
    sq.delete_user(&ids["adapter.gone"]).await.expect("deleted");

    // Groups: created, renamed, members added and removed; created with members; deleted.
    let team = sq
        .create_group(&NewGroup {
            name: "Adapter Team".into(),
            description: None,
        })
        .await
        .expect("group")
        .id;
    sq.update_group(
        &team,
        &GroupChanges {
            name: Some("Adapter Team Renamed".into()),
            description: None,
        },
    )
    .await
    .expect("renamed");
    for member in [&named, &ids["adapter.admin"], &ids["adapter.revoked"]] {
        sq.add_member(&team, &Principal::User(member.clone()))
            .await
            .expect("added");
    }
    sq.remove_member(&team, &Principal::User(named.clone()))
        .await
        .expect("removed");
    let seeded = sq
        .create_group_with_members("Adapter Seeded", &[named.as_str()])
        .await
        .expect("group with members")
        .id;
    let doomed = sq
        .create_group(&NewGroup {
            name: "Adapter Doomed".into(),
            description: None,
        })
        .await
        .expect("group")
        .id;
    sq.delete_group(&doomed).await.expect("deleted");

    // Project roles: a user's granted then changed, a group's granted, one revoked.
    let project = |principal: Principal, role: &str| Grant {
        role: format!("{role}@{DEFAULT_PROJECT}"),
        principal,
        scope: Scope::Project(DEFAULT_PROJECT.into()),
    };
    sq.grant(&project(Principal::User(named.clone()), "reader"))
        .await
        .expect("granted");
    sq.grant(&project(Principal::User(named.clone()), "admin"))
        .await
        .expect("changed");
    sq.grant(&project(Principal::Group(team.clone()), "member"))
        .await
        .expect("granted");
    let reader = Principal::User(ids["adapter.reader"].clone());
    sq.grant(&project(reader.clone(), "reader"))
        .await
        .expect("granted");
    sq.revoke(&project(reader, "reader"))
        .await
        .expect("revoked");

    // Sessions: one revoked by id, every one of another user revoked.
    state.seed_grant(
        &named,
        "sqFidelityKeptGrant001",
        "fidelity-kept-refresh-token",
    );
    state.seed_grant(
        &named,
        "sqFidelityDropGrant001",
        "fidelity-drop-refresh-token",
    );
    state.seed_grant(
        &ids["adapter.admin"],
        "sqFidelityUserGrant001",
        "fidelity-user-refresh-token",
    );
    sq.revoke_session(&session_id(&named, "sqFidelityDropGrant001"))
        .await
        .expect("revoked");
    let revoked = sq
        .revoke_user_sessions(&ids["adapter.admin"])
        .await
        .expect("revoked");
    assert_eq!(revoked, 1);

    let user =
        |id: &str, email: &str, name: Option<&str>, role: &str, attrs: Value, removed: Value| {
            json!({"id": id, "email": email, "full_name": name, "role": role,
               "attributes": attrs, "removed": removed})
        };
    let mut team_members = vec![ids["adapter.admin"].clone(), ids["adapter.revoked"].clone()];
    team_members.sort();
    json!({
        "users": [
            user(&named, "adapter.renamed@example.com", Some("Adapter Renamed"), "user",
                 json!({"site": "Basel"}), json!(["department"])),
            user(&cleared, "adapter.cleared@example.com", None, "user", json!({}), json!([])),
            user(&ids["adapter.admin"], "adapter.admin@example.com", None, "admin", json!({}), json!([])),
            user(&ids["adapter.revoked"], "adapter.revoked@example.com", None, "user", json!({}), json!([])),
            user(&ids["adapter.reader"], "adapter.reader@example.com", None, "reader", json!({}), json!([])),
        ],
        "absent_users": [ids["adapter.gone"]],
        "groups": [
            {"id": team, "name": "Adapter Team Renamed",
             "members": team_members},
            {"id": seeded, "name": "Adapter Seeded", "members": [named]},
        ],
        "absent_groups": [doomed],
        "project": {
            "id": idbridge_squirro::emulator::PROJECT_ID,
            "principals": [named, team, ids["adapter.reader"]],
            "grants": [
                {"type": "user", "id": named, "role": "admin"},
                {"type": "group", "id": team, "role": "member"},
            ],
        },
        "sessions": [
            {"user": named, "ids": ["sqFidelityKeptGrant001"], "absent": ["sqFidelityDropGrant001"]},
            {"user": ids["adapter.admin"], "ids": [], "absent": ["sqFidelityUserGrant001"]},
        ],
    })
}
