//! The adapter against the emulator, for what the shared suite does not cover: the refresh
//! after an expired access token, project roles by project name, server-role fallback,
//! sessions by id, attributes, members at creation, the connecting account, and the
//! emulator's own wire details (route order, exact codes, error bodies).

use std::sync::Arc;

use idbridge_core::{
    AdapterConfig, AdapterExt, ErrorKind, Grant, GrantFilter, Memberships, NewUser, PageRequest,
    Principal, Roles, Scope, Secret, Sessions, UserChanges, Users,
};
use idbridge_squirro::SquirroAdapter;
use idbridge_squirro::emulator::{
    ADMIN_ID, DEFAULT_PROJECT, DEFAULT_REFRESH_TOKEN, State, start_with_state,
};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use serde_json::{Value, json};

async fn emulator() -> (RunningEmulator, Arc<State>) {
    start_with_state(EmulatorOptions::default())
        .await
        .expect("emulator starts")
}

async fn adapter(emu: &RunningEmulator, extra: Value) -> SquirroAdapter {
    let mut cfg = emu.adapter_config("sq");
    if let Value::Object(more) = extra {
        cfg.settings.extend(more);
    }
    SquirroAdapter::connect(&cfg).await.expect("connects")
}

async fn new_user(sq: &SquirroAdapter, login: &str) -> String {
    sq.create_user(&NewUser::new(login))
        .await
        .expect("user created")
        .id
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once() {
    let (emu, state) = emulator().await;
    let sq = adapter(&emu, json!({})).await;
    let before = emu.server.log().counts();
    state.expire_access_tokens();
    let users = sq.all_users().await.expect("listed after a refresh");
    assert!(users.iter().any(|u| u.id == ADMIN_ID));
    let token_calls = emu
        .server
        .log()
        .entries()
        .iter()
        .filter(|e| e.path == "/api/user/oauth2/token")
        .count();
    assert_eq!(token_calls, 2, "connect and one refresh");
    // The 401, the exchange, the repeat.
    assert_eq!(emu.server.log().counts().since(&before).total(), 3);
}

#[tokio::test]
async fn a_wrong_refresh_token_fails_to_connect() {
    let (emu, _) = emulator().await;
    let mut cfg = emu.adapter_config("sq");
    cfg.settings
        .insert("refresh_token".into(), json!("not-the-token"));
    let err = SquirroAdapter::connect(&cfg).await.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn the_tenant_comes_from_the_token_when_not_configured() {
    let (emu, _) = emulator().await;
    let cfg = AdapterConfig::new(
        "sq",
        json!({"cluster_url": emu.base_url, "refresh_token": DEFAULT_REFRESH_TOKEN}),
    );
    let sq = SquirroAdapter::connect(&cfg).await.expect("connects");
    assert_eq!(sq.client().tenant().expect("tenant"), "squirro");
    assert!(!sq.all_users().await.expect("users").is_empty());
}

#[tokio::test]
async fn project_roles_by_project_name_for_users_and_groups() {
    let (emu, _) = emulator().await;
    let sq = adapter(&emu, json!({})).await;
    let uid = new_user(&sq, "pr@example.com").await;
    let group = sq
        .create_group_with_members("Analysts", &[&uid])
        .await
        .expect("group with a member");
    assert_eq!(
        sq.all_members(&group.id).await.expect("members"),
        vec![Principal::User(uid.clone())]
    );
    let scope = Scope::Project(DEFAULT_PROJECT.to_lowercase());
    let reader = Grant {
        role: "reader".into(),
        principal: Principal::Group(group.id.clone()),
        scope: scope.clone(),
    };
    sq.grant(&reader).await.expect("group added as reader");
    // A change of role is a grant of the other role.
    let member = Grant {
        role: format!("member@{DEFAULT_PROJECT}"),
        principal: Principal::Group(group.id.clone()),
        scope: scope.clone(),
    };
    sq.grant(&member).await.expect("changed to member");
    let held = sq
        .all_grants(&GrantFilter {
            principal: Some(Principal::Group(group.id.clone())),
            ..GrantFilter::default()
        })
        .await
        .expect("grants");
    // Listed under the project's own title, whatever spelling the grant used.
    assert_eq!(
        held,
        vec![Grant {
            role: format!("member@{DEFAULT_PROJECT}"),
            principal: Principal::Group(group.id.clone()),
            scope: Scope::Project(DEFAULT_PROJECT.into()),
        }]
    );
    // Revoking the role it no longer holds changes nothing; revoking the held one removes it.
    sq.revoke(&reader).await.expect("not held");
    assert_eq!(
        sq.all_grants(&GrantFilter {
            scope: Some(scope.clone()),
            ..GrantFilter::default()
        })
        .await
        .expect("grants")
        .len(),
        1
    );
    sq.revoke(&member).await.expect("revoked");
    assert!(
        sq.all_grants(&GrantFilter {
            scope: Some(scope),
            ..GrantFilter::default()
        })
        .await
        .expect("grants")
        .is_empty()
    );
    let err = sq
        .grant(&Grant {
            role: format!("member@{DEFAULT_PROJECT}"),
            principal: Principal::User(uid),
            scope: Scope::Project("Other".into()),
        })
        .await
        .expect_err("no such project");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn roles_have_unique_ids_and_server_roles_fall_back_on_revoke() {
    let (emu, _) = emulator().await;
    let sq = adapter(&emu, json!({})).await;
    let roles = sq.all_roles().await.expect("roles");
    let ids: Vec<&str> = roles.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "admin",
            "user",
            "demo",
            "reader",
            "reader@Default Project",
            "member@Default Project",
            "admin@Default Project"
        ]
    );
    let uid = new_user(&sq, "role@example.com").await;
    let admin = Grant {
        role: "admin".into(),
        principal: Principal::User(uid.clone()),
        scope: Scope::Global,
    };
    sq.grant(&admin).await.expect("promoted");
    let global = |id: String| GrantFilter {
        principal: Some(Principal::User(id)),
        scope: Some(Scope::Global),
        ..GrantFilter::default()
    };
    assert_eq!(
        sq.all_grants(&global(uid.clone())).await.expect("grants"),
        vec![admin.clone()]
    );
    sq.revoke(&admin).await.expect("demoted");
    let held = sq.all_grants(&global(uid.clone())).await.expect("grants");
    assert_eq!(held[0].role, "user", "the default role after a revoke");
    let user_role = Grant {
        role: "user".into(),
        ..admin.clone()
    };
    sq.revoke(&user_role)
        .await
        .expect("revoking the default role");
    let held = sq.all_grants(&global(uid.clone())).await.expect("grants");
    assert_eq!(held[0].role, "reader");
    let err = sq
        .grant(&Grant {
            role: "user".into(),
            principal: Principal::User(ADMIN_ID.into()),
            scope: Scope::Global,
        })
        .await
        .expect_err("the connecting account keeps its role");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn sessions_by_id_and_the_connecting_account_is_protected() {
    let (emu, state) = emulator().await;
    let sq = adapter(&emu, json!({})).await;
    let uid = new_user(&sq, "sess@example.com").await;
    // The user gets an API token, as it would in the UI.
    let admin = idbridge_squirro::emulator::state::Caller {
        user_id: ADMIN_ID.into(),
        session_id: "x".into(),
        role: "admin".into(),
    };
    let grant = state
        .new_grant(
            &admin,
            &uid,
            &serde_json::Map::from_iter([("type".to_string(), json!("user"))]),
        )
        .expect("grant");
    let sid = grant["id"].as_str().expect("id").to_string();
    let session = sq.get_session(&uid, &sid).await.expect("session");
    assert_eq!(session.id, format!("{uid}/{sid}"));
    assert_eq!(session.user, uid);
    assert!(session.started.is_some());
    sq.revoke_session(&session.id).await.expect("revoked");
    sq.revoke_session(&session.id).await.expect("already gone");
    let err = sq.get_session(&uid, &sid).await.expect_err("gone");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = sq.revoke_session(&sid).await.expect_err("bare id");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let own = sq.connecting_user().expect("known");
    let err = sq
        .revoke_user_sessions(&own)
        .await
        .expect_err("never our own");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let err = sq
        .revoke_session(&format!("{own}/anything"))
        .await
        .expect_err("never our own");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    // idbridge still works: its own token was never touched.
    sq.all_users().await.expect("still connected");
}

#[tokio::test]
async fn managed_attributes_are_read_written_and_removed() {
    let (emu, _) = emulator().await;
    let sq = adapter(
        &emu,
        json!({"attribute_keys": ["department", "cost_centre"]}),
    )
    .await;
    let mut new = NewUser::new("attr@example.com");
    new.display_name = Some("Attr Ibute".into());
    new.password = Some(Secret::new("long-enough-1"));
    new.attributes.insert("department".into(), "R&D".into());
    let created = sq.create_user(&new).await.expect("created");
    assert_eq!(created.attributes["department"], "R&D");
    assert_eq!(created.display_name.as_deref(), Some("Attr Ibute"));
    let changed = sq
        .update_user(
            &created.id,
            &UserChanges {
                attributes: Some([("cost_centre".to_string(), "42".to_string())].into()),
                display_name: Some(None),
                ..UserChanges::default()
            },
        )
        .await
        .expect("updated");
    assert_eq!(
        changed.attributes,
        [("cost_centre".to_string(), "42".to_string())].into()
    );
    assert_eq!(changed.display_name, None);
    let listed = sq.all_users().await.expect("users");
    let me = listed.iter().find(|u| u.id == created.id).expect("listed");
    assert_eq!(me.attributes, changed.attributes);
    let err = sq
        .update_user(
            &created.id,
            &UserChanges {
                attributes: Some([("shoe_size".to_string(), "9".to_string())].into()),
                ..UserChanges::default()
            },
        )
        .await
        .expect_err("unmanaged key");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // Without attribute_keys nothing custom is read.
    let plain = adapter(&emu, json!({})).await;
    assert!(
        plain
            .get_user(&created.id)
            .await
            .expect("user")
            .attributes
            .is_empty()
    );
}

#[tokio::test]
async fn the_email_is_the_login() {
    let (emu, _) = emulator().await;
    let sq = adapter(&emu, json!({})).await;
    let id = new_user(&sq, "first@example.com").await;
    let moved = sq
        .update_user(
            &id,
            &UserChanges {
                email: Some(Some("second@example.com".into())),
                ..UserChanges::default()
            },
        )
        .await
        .expect("changed");
    assert_eq!(moved.login, "second@example.com");
    assert_eq!(moved.email.as_deref(), Some("second@example.com"));
    let err = sq
        .update_user(
            &id,
            &UserChanges {
                login: Some("third@example.com".into()),
                email: Some(Some("fourth@example.com".into())),
                ..UserChanges::default()
            },
        )
        .await
        .expect_err("two different addresses");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let mut disabled = NewUser::new("off@example.com");
    disabled.enabled = false;
    let err = sq
        .create_user(&disabled)
        .await
        .expect_err("no disabled users");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn removing_a_non_member_needs_an_existing_group() {
    let (emu, _) = emulator().await;
    let sq = adapter(&emu, json!({})).await;
    let uid = new_user(&sq, "nm@example.com").await;
    let err = sq
        .remove_member("no-such-group", &Principal::User(uid))
        .await
        .expect_err("missing group");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = sq
        .list_members("no-such-group", PageRequest::first())
        .await
        .expect_err("missing group");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn emulator_wire_details() {
    let (emu, _) = emulator().await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/user", emu.base_url);
    let token: Value = http
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", DEFAULT_REFRESH_TOKEN),
        ])
        .send()
        .await
        .expect("exchange")
        .json()
        .await
        .expect("json");
    let access = token["access_token"].as_str().expect("token").to_string();
    assert_eq!(token["refresh_token"], DEFAULT_REFRESH_TOKEN);
    // The literal route wins over /users/{id}.
    let policy = http
        .get(format!("{base}/v0/squirro/users/password_policy"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("policy");
    assert_eq!(policy.status(), 200);
    let policy: Value = policy.json().await.expect("json");
    assert!(policy.get("min_length").is_some(), "{policy}");
    // Unknown tokens are 401 with a JSON error body; unknown paths 404 likewise.
    let denied = http
        .get(format!("{base}/v0/squirro/users"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("401");
    assert_eq!(denied.status(), 401);
    let body: Value = denied.json().await.expect("json error");
    assert!(body["error"].is_string());
    let missing = http
        .get(format!("{base}/v0/squirro/nothing/here"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    assert!(missing.json::<Value>().await.expect("json")["error"].is_string());
    // Another tenant is 404.
    let other = http
        .get(format!("{base}/v0/elsewhere/users"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("404");
    assert_eq!(other.status(), 404);
    // include_projects arrives as True/False.
    let me: Value = http
        .get(format!(
            "{base}/v1/squirro/users/{ADMIN_ID}?include_projects=True"
        ))
        .bearer_auth(&access)
        .send()
        .await
        .expect("user")
        .json()
        .await
        .expect("json");
    assert!(me["projects"].is_array(), "{me}");
}

/// A cluster URL with a path the server does not serve answers 404 at the token exchange:
/// the error names the URL and both possible causes.
#[tokio::test]
async fn a_wrong_cluster_url_says_404_where_and_asks_for_the_cluster_address() {
    let e =
        idbridge_squirro::emulator::start(idbridge_testkit::emulator::EmulatorOptions::default())
            .await
            .expect("starts");
    let mut cfg = e.adapter_config("sq");
    let good = cfg.settings["cluster_url"]
        .as_str()
        .expect("cluster_url")
        .to_string();
    let wrong = format!("{}/squirro", good.trim_end_matches('/'));
    cfg.settings
        .insert("cluster_url".into(), serde_json::Value::from(wrong.clone()));
    let err = idbridge_core::registry::build_adapter("squirro", cfg)
        .await
        .expect_err("no API there");
    let text = err.to_string();
    assert!(
        text.contains(&format!("404 at {wrong}/api/user/oauth2/token"))
            && text.contains("cluster_url is not the Squirro cluster's address"),
        "{text}"
    );
}

#[tokio::test]
async fn the_token_exchange_is_a_login_and_foreign_credentials_are_refused() {
    use idbridge_squirro::emulator::{classify, start};
    use idbridge_testkit::emulator::RequestClass;
    assert_eq!(
        classify("POST", "/api/user/oauth2/token"),
        RequestClass::Login
    );
    assert_eq!(
        classify("GET", "/api/user/v0/squirro/users"),
        RequestClass::Read
    );
    assert_eq!(
        classify("POST", "/api/user/v0/squirro/groups"),
        RequestClass::Write
    );
    let err = start(EmulatorOptions::default().with_credential("api_key", "k"))
        .await
        .expect_err("not a Squirro credential")
        .to_string();
    assert!(
        err.contains("`api_key`") && err.contains("refresh_token"),
        "{err}"
    );
    let custom = start(EmulatorOptions::default().with_credential("refresh_token", "rt-9"))
        .await
        .expect("start");
    assert_eq!(custom.config["refresh_token"], "rt-9");
}
