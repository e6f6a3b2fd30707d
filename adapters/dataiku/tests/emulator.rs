//! The emulator's own behaviour: both API roots and slash forms, authentication, case-free
//! booleans, the old-server switch, seeding from a directory, and the adapter on top of it
//! (bulk batches, concurrent membership changes, protected accounts, grants).

use std::sync::Arc;

use idbridge_core::{
    ErrorKind, Grant, GrantFilter, NewUser, Principal, Scope, Secret, UserChanges, UserWrite,
    registry,
};
use idbridge_dataiku::emulator::{DEFAULT_API_KEY, DEFAULT_PROJECT_KEY, start, start_with_state};
use idbridge_file::Directory;
use idbridge_testkit::emulator::EmulatorOptions;
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(base: &str, path: &str, key: &str) -> (u16, Value) {
    let resp = http()
        .get(format!("{base}{path}"))
        .basic_auth(key, Some(""))
        .send()
        .await
        .expect("answer");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn both_roots_and_slash_forms_answer() {
    let e = start(EmulatorOptions::default()).await.expect("starts");
    for path in [
        "/dip/publicapi/admin/users/",
        "/dip/publicapi/admin/users",
        "/public/api/admin/users/",
        "/public/api/admin/users",
    ] {
        let (status, body) = get(&e.base_url, path, DEFAULT_API_KEY).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body[0]["login"], "admin", "{path}");
    }
    let (status, body) = get(
        &e.base_url,
        "/public/api/admin/groups/administrators/",
        DEFAULT_API_KEY,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["admin"], true);
}

#[tokio::test]
async fn authentication_is_basic_with_the_key_and_an_empty_password() {
    let e = start(EmulatorOptions::default()).await.expect("starts");
    let url = format!("{}/dip/publicapi/auth/info", e.base_url);
    let none = http().get(&url).send().await.expect("answer");
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.expect("json");
    assert_eq!(
        body["errorType"],
        "com.dataiku.dip.exceptions.NotAuthenticatedException"
    );
    let with_password = http()
        .get(&url)
        .basic_auth(DEFAULT_API_KEY, Some("x"))
        .send()
        .await
        .expect("answer");
    assert_eq!(with_password.status(), 401);
    let bearer = http()
        .get(&url)
        .bearer_auth(DEFAULT_API_KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(bearer.status(), 401);
    let (status, body) = get(&e.base_url, "/dip/publicapi/auth/info", DEFAULT_API_KEY).await;
    assert_eq!(status, 200);
    assert_eq!(body["authIdentifier"], "admin");
}

#[tokio::test]
async fn impersonation_and_admin_rights() {
    let (e, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let mut doc = serde_json::Map::new();
    doc.insert("login".into(), json!("reader1"));
    doc.insert("groups".into(), json!(["readers"]));
    state.seed_user(doc, 0);
    let resp = http()
        .get(format!("{}/dip/publicapi/admin/users/", e.base_url))
        .basic_auth(DEFAULT_API_KEY, Some(""))
        .header("X-DKU-ProxyUser", "reader1")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 403);
    let resp = http()
        .get(format!("{}/dip/publicapi/current-user", e.base_url))
        .basic_auth(DEFAULT_API_KEY, Some(""))
        .header("X-DKU-ProxyUser", "reader1")
        .send()
        .await
        .expect("answer");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["login"], "reader1");
}

#[tokio::test]
async fn booleans_are_read_ignoring_case_and_old_servers_lack_bulk() {
    let e = start(EmulatorOptions::default()).await.expect("starts");
    let (_, items) = get(
        &e.base_url,
        "/dip/publicapi/admin/users/?includeSettings=True",
        DEFAULT_API_KEY,
    )
    .await;
    assert!(
        items[0].get("adminProperties").is_some(),
        "settings included"
    );
    let (_, items) = get(
        &e.base_url,
        "/dip/publicapi/admin/users/?includeSettings=False",
        DEFAULT_API_KEY,
    )
    .await;
    assert!(
        items[0].get("adminProperties").is_none(),
        "plain list items"
    );
    assert_eq!(items[0]["activeWebSocketSesssions"], 0);

    let mut options = EmulatorOptions::default();
    options.extra.insert("bulk".into(), "false".into());
    let old = start(options).await.expect("starts");
    let resp = http()
        .post(format!(
            "{}/dip/publicapi/admin/users/actions/bulk",
            old.base_url
        ))
        .basic_auth(DEFAULT_API_KEY, Some(""))
        .body("[]")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 404);
    let (_, items) = get(
        &old.base_url,
        "/dip/publicapi/admin/users/?includeSettings=true",
        DEFAULT_API_KEY,
    )
    .await;
    assert!(
        items[0].get("adminProperties").is_none(),
        "ignored by old servers"
    );
}

const SEED: &str = r#"
users:
  - id: u1
    login: ada
    email: ada@example.com
    display_name: Ada
    groups: [engineering]
    attributes: {dept: R&D}
  - id: u2
    login: bob
    enabled: false
groups:
  - id: g1
    name: engineering
    groups: [all-staff]
  - id: g2
    name: all-staff
roles:
  - id: r1
    name: creators
    privileges: [mayCreateProjects]
  - id: r2
    name: reader
    scope: {project: Sales Analytics}
grants:
  - {role: creators, user: bob}
  - {role: reader, group: engineering}
"#;

#[tokio::test]
async fn seeds_a_directory_flattening_nested_groups() {
    let dir = Directory::parse(SEED, idbridge_file::Format::Yaml, "seed.yaml").expect("valid seed");
    let options = EmulatorOptions {
        seed: Some(dir.to_snapshot()),
        ..EmulatorOptions::default()
    };
    let e = start(options).await.expect("starts");
    let h = registry::build_adapter("dataiku", e.adapter_config("dss"))
        .await
        .expect("connects");
    let ada = h.get_user("ada").await.expect("seeded");
    assert_eq!(ada.attributes.get("dept").map(String::as_str), Some("R&D"));
    assert!(!h.get_user("bob").await.expect("seeded").enabled);
    let mut staff = h.all_members("all-staff").await.expect("members");
    staff.sort();
    assert_eq!(
        staff,
        vec![Principal::User("ada".into())],
        "nesting flattened"
    );
    let grants = h.all_grants(&GrantFilter::default()).await.expect("grants");
    assert!(grants.contains(&Grant {
        role: "creators".into(),
        principal: Principal::User("bob".into()),
        scope: Scope::Global,
    }));
    assert!(grants.contains(&Grant {
        role: "SALES_ANALYTICS:reader".into(),
        principal: Principal::Group("engineering".into()),
        scope: Scope::Project("SALES_ANALYTICS".into()),
    }));
}

#[tokio::test]
async fn the_adapter_on_the_emulator() {
    let (e, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("dataiku", e.adapter_config("dss"))
        .await
        .expect("connects");
    assert!(
        h.protected().user("admin"),
        "the key's own user is protected"
    );
    assert!(h.capabilities().users_batch_max.is_some());

    // A batch: created with password, disabled and attributes in one go.
    let mut nu = NewUser::new("batch.one");
    nu.enabled = false;
    nu.password = Some(Secret::new("pw-1"));
    nu.attributes.insert("team".into(), "blue".into());
    let results = h
        .write_users(vec![
            UserWrite::Create { user: nu },
            UserWrite::Create {
                user: NewUser::new("batch.two"),
            },
        ])
        .await;
    let one = results[0].clone().expect("created").expect("record");
    assert!(!one.enabled);
    assert_eq!(one.attributes.get("team").map(String::as_str), Some("blue"));
    assert_eq!(state.password_of("batch.one").as_deref(), Some("pw-1"));
    let settings = state.get_user("batch.one").expect("exists");
    assert_eq!(settings["userProfile"], "READER");
    assert_eq!(settings["sourceType"], "LOCAL");

    // Concurrent membership changes of one user all survive.
    let h = Arc::new(h);
    let user = Principal::User("batch.two".into());
    let (a, b, c) = tokio::join!(
        h.add_member("data_team", &user),
        h.add_member("readers", &user),
        h.add_member("administrators", &user),
    );
    a.and(b).expect("added");
    // `administrators` is privileged: nothing is ever added to it.
    let refused = c.expect_err("privileged group");
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    let err = h
        .grant(&Grant {
            role: "administrators".into(),
            principal: user.clone(),
            scope: Scope::Global,
        })
        .await
        .expect_err("the administrators role is the privileged group");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let mut groups =
        idbridge_dataiku::wire::user_groups(&state.get_user("batch.two").expect("exists"), "state")
            .expect("groups");
    groups.sort();
    assert_eq!(groups, ["data_team", "readers"]);

    // Revoking a global role from the connecting admin is refused.
    let err = h
        .revoke(&Grant {
            role: "administrators".into(),
            principal: Principal::User("admin".into()),
            scope: Scope::Global,
        })
        .await
        .expect_err("protected");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);

    // A project role on the seeded project, granted then replaced by a stronger one.
    let reader = Grant {
        role: "reader".into(),
        principal: Principal::User("batch.two".into()),
        scope: Scope::Project(DEFAULT_PROJECT_KEY.into()),
    };
    h.grant(&reader).await.expect("granted");
    let contributor = Grant {
        role: format!("{DEFAULT_PROJECT_KEY}:contributor"),
        ..reader.clone()
    };
    h.grant(&contributor).await.expect("granted");
    let held = h
        .all_grants(&GrantFilter {
            principal: Some(Principal::User("batch.two".into())),
            scope: Some(Scope::Project(DEFAULT_PROJECT_KEY.into())),
            ..GrantFilter::default()
        })
        .await
        .expect("grants");
    assert_eq!(
        held,
        vec![contributor.clone()],
        "only the strongest role is reported"
    );
    h.revoke(&contributor).await.expect("revoked");
    assert!(
        h.all_grants(&GrantFilter {
            principal: Some(Principal::User("batch.two".into())),
            ..GrantFilter::default()
        })
        .await
        .expect("grants")
        .iter()
        .all(|g| g.scope.is_global()),
        "no project grant left"
    );

    // Renaming is refused, the update of other fields works.
    let err = h
        .update_user(
            "batch.two",
            &UserChanges {
                login: Some("other".into()),
                ..UserChanges::default()
            },
        )
        .await
        .expect_err("logins are fixed");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let activity = h.user_activity("admin").await.expect("activity");
    assert!(
        activity.last_login.is_some(),
        "the seeded admin has logged in"
    );
}

/// Under faults that mangle answers after serving them (HTML pages, retyped or dropped
/// fields, cut bodies) and transient errors, a run of updates either succeeds or fails
/// cleanly, and never writes a mangled document back: afterwards every settings document
/// still holds every field the adapter does not own.
#[tokio::test]
async fn mangled_answers_are_never_written_back() {
    use idbridge_testkit::emulator::FaultSpec;
    let (e, state) = start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("dataiku", e.adapter_config("dss"))
        .await
        .expect("connects");
    let logins: Vec<String> = (0..6).map(|i| format!("mangled.{i}")).collect();
    for l in &logins {
        h.create_user(&NewUser::new(l.as_str()))
            .await
            .expect("created");
        let mut doc = state.get_user(l).expect("exists");
        doc.insert(
            "someFieldFromANewerDss".into(),
            json!({"deep": [1, {"x": "y"}]}),
        );
        state.replace_user(l, doc).expect("saved");
    }
    let before: Vec<_> = logins
        .iter()
        .map(|l| state.get_user(l).expect("exists"))
        .collect();
    e.server.set_faults(
        FaultSpec::parse(
            "wrongtype=0.15,missing=0.15,html=0.05,garbage=0.05,503=0.05,retry_after=0,seed=11",
        )
        .expect("spec"),
    );
    let mut failures = 0;
    for (i, l) in logins.iter().enumerate() {
        let user = Principal::User(l.clone());
        let outcomes = [
            h.add_member("data_team", &user).await.err(),
            h.update_user(
                l,
                &UserChanges {
                    display_name: Some(Some(format!("Name {i}"))),
                    ..UserChanges::default()
                },
            )
            .await
            .err(),
            h.set_user_enabled(l, i % 2 == 0).await.err(),
        ];
        failures += outcomes.iter().flatten().count();
    }
    e.server.set_faults(FaultSpec::none());
    assert!(e.server.log().faults() > 0, "faults were injected");
    for (l, old) in logins.iter().zip(&before) {
        let now = state.get_user(l).expect("exists");
        for (k, v) in old {
            if ["groups", "displayName", "enabled"].contains(&k.as_str()) {
                continue;
            }
            assert_eq!(now.get(k), Some(v), "{l}: `{k}` changed or lost");
        }
        let groups = idbridge_dataiku::wire::user_groups(&now, "state").expect("groups");
        assert!(groups.iter().all(|g| g == "data_team"), "{l}: {groups:?}");
    }
    // Whatever failed converges once the faults stop.
    for (i, l) in logins.iter().enumerate() {
        h.add_member("data_team", &Principal::User(l.clone()))
            .await
            .expect("added");
        let u = h.set_user_enabled(l, i % 2 == 0).await.expect("set");
        assert_eq!(u.enabled, i % 2 == 0);
    }
    eprintln!("{failures} operations failed cleanly under faults");
}

/// A base URL that is not the DSS address (here with an extra path) finds no public API:
/// connecting fails with the URL that answered 404 and asks whether base_url is the DSS
/// address, instead of carrying on with every later read "not found".
#[tokio::test]
async fn a_wrong_base_url_says_404_where_and_asks_for_the_dss_address() {
    let e = start(EmulatorOptions::default()).await.expect("starts");
    let mut cfg = e.adapter_config("dss");
    let good = cfg.settings["base_url"]
        .as_str()
        .expect("base_url")
        .to_string();
    let wrong = format!("{}/studio", good.trim_end_matches('/'));
    cfg.settings
        .insert("base_url".into(), serde_json::Value::from(wrong.clone()));
    let err = registry::build_adapter("dataiku", cfg)
        .await
        .expect_err("no API there");
    let text = err.to_string();
    assert!(
        text.contains(&format!("404 at {wrong}/dip/publicapi/auth/info"))
            && text.contains("is base_url the DSS address"),
        "{text}"
    );
}

#[tokio::test]
async fn the_identity_check_is_a_login_and_foreign_credentials_are_refused() {
    use idbridge_dataiku::emulator::classify;
    use idbridge_testkit::emulator::RequestClass;
    assert_eq!(
        classify("GET", "/public/api/auth/info"),
        RequestClass::Login
    );
    assert_eq!(
        classify("GET", "/dip/publicapi/admin/users/"),
        RequestClass::Read
    );
    assert_eq!(
        classify("PUT", "/public/api/admin/users/bob"),
        RequestClass::Write
    );
    let err = start(EmulatorOptions::default().with_credential("refresh_token", "t"))
        .await
        .expect_err("not a Dataiku credential")
        .to_string();
    assert!(
        err.contains("`refresh_token`") && err.contains("api_key"),
        "{err}"
    );
    let custom = start(EmulatorOptions::default().with_credential("api_key", "k-123"))
        .await
        .expect("start");
    assert_eq!(custom.config["api_key"], "k-123");
}
