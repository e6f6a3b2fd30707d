//! Wire tests against wiremock, for what the emulator cannot prove: the exact Basic header,
//! that read-modify-write sends back every field the adapter does not own, that two
//! membership changes on one user both survive, that no bulk probe is sent, the fallback
//! when the first bulk request finds no endpoint, per-login results, and
//! error mapping of canned DSS answers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use idbridge_core::{
    Adapter, AdapterConfig, ErrorKind, Grant, GroupChanges, Groups, Memberships, NewGroup, NewUser,
    Principal, Roles, Scope, UserChanges, UserWrite, Users,
};
use idbridge_dataiku::DataikuAdapter;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "wire-test-key";
const ROOT: &str = "/dip/publicapi";

fn p(rest: &str) -> String {
    format!("{ROOT}{rest}")
}

async fn mount_auth_info(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(p("/auth/info")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"authIdentifier": "admin", "groups": ["administrators"]})),
        )
        .mount(server)
        .await;
}

async fn connect(server: &MockServer, extra: Value) -> DataikuAdapter {
    let mut settings = json!({"base_url": server.uri(), "api_key": KEY, "bulk": "off"});
    if let (Value::Object(s), Value::Object(e)) = (&mut settings, extra) {
        s.extend(e);
    }
    DataikuAdapter::connect(AdapterConfig::new("dss", settings))
        .await
        .expect("connects")
}

fn user_doc(login: &str, groups: &[&str]) -> Value {
    json!({
        "login": login,
        "displayName": "Ada",
        "email": "ada@example.com",
        "sourceType": "LDAP",
        "userProfile": "FULL_DESIGNER",
        "enabled": true,
        "groups": groups,
        "userProperties": {"shoe": "42"},
        "adminProperties": {"dept": "R&D", "nested": {"keep": [1, 2]}},
        "secrets": [{"name": "tok", "value": "v", "secret": true}],
        "credentials": {"conn": {"type": "BASIC", "user": "u", "password": "p", "lastUpdate": 1}},
        "preferences": {"uiLanguage": "ja", "mentionEmails": false},
        "creationDate": 1_700_000_000_000i64,
        "trialStatus": {"exists": false},
        "someFieldFromANewerDss": {"deep": ["x"]}
    })
}

#[tokio::test]
async fn basic_header_is_the_key_with_an_empty_password() {
    let server = MockServer::start().await;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"))
    );
    Mock::given(method("GET"))
        .and(path(p("/auth/info")))
        .and(header("authorization", expected.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"authIdentifier": "admin"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p("/admin/groups/")))
        .and(header("authorization", expected.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let a = connect(&server, json!({})).await;
    a.check().await.expect("check passes with the exact header");
    assert_eq!(a.identity(), Some("admin"));
    assert!(a.protected().user("admin"));
    assert!(a.protected().group("administrators"));
}

#[tokio::test]
async fn documented_root_and_encoded_segments() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/public/api/auth/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"authIdentifier": "k1"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/public/api/admin/users/ada%20lovelace@x.org"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_doc("ada lovelace@x.org", &[])))
        .expect(1)
        .mount(&server)
        .await;
    let a = connect(
        &server,
        json!({"api_path": "/public/api", "admin_login": "root"}),
    )
    .await;
    let u = a.get_user("ada lovelace@x.org").await.expect("found");
    assert_eq!(u.id, "ada lovelace@x.org");
    let raw = server.received_requests().await.expect("recorded");
    assert!(
        raw.iter()
            .any(|r| r.url.path() == "/public/api/admin/users/ada%20lovelace@x.org"),
        "the space is percent-encoded"
    );
    assert!(a.protected().user("root") && a.protected().user("k1"));
}

#[tokio::test]
async fn update_sends_back_every_field_it_does_not_own() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    let original = user_doc("ada", &["g1"]);
    Mock::given(method("GET"))
        .and(path(p("/admin/users/ada")))
        .respond_with(ResponseTemplate::new(200).set_body_json(original.clone()))
        .mount(&server)
        .await;
    let mut expected = original.clone();
    expected["displayName"] = json!("Ada L.");
    expected["email"] = Value::Null;
    expected["adminProperties"] = json!({"team": "core", "nested": {"keep": [1, 2]}});
    Mock::given(method("PUT"))
        .and(path(p("/admin/users/ada")))
        .and(body_json(expected.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"msg": "Edited user ada"})))
        .expect(1)
        .mount(&server)
        .await;
    let a = connect(&server, json!({})).await;
    let changes = UserChanges {
        display_name: Some(Some("Ada L.".into())),
        email: Some(None),
        attributes: Some(BTreeMap::from([("team".to_string(), "core".to_string())])),
        ..UserChanges::default()
    };
    let u = a.update_user("ada", &changes).await.expect("updated");
    assert_eq!(u.display_name.as_deref(), Some("Ada L."));
    assert_eq!(u.email, None);
    assert_eq!(u.attributes.get("team").map(String::as_str), Some("core"));

    // Disabling flips `enabled` only.
    let mut disabled = original.clone();
    disabled["enabled"] = json!(false);
    Mock::given(method("PUT"))
        .and(path(p("/admin/users/ada")))
        .and(body_json(disabled))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"msg": "ok"})))
        .expect(1)
        .mount(&server)
        .await;
    assert!(
        !a.set_user_enabled("ada", false)
            .await
            .expect("disabled")
            .enabled
    );
}

#[tokio::test]
async fn group_and_permission_updates_keep_unknown_fields() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    let group = json!({
        "name": "team", "description": "old", "sourceType": "LDAP", "admin": false,
        "mayCreateProjects": true, "ldapGroupNames": ["cn=team"], "mayDoSomethingNew": true,
        "canObtainAPITicketFromCookiesForGroupsRegex": ".*"
    });
    Mock::given(method("GET"))
        .and(path(p("/admin/groups/team")))
        .respond_with(ResponseTemplate::new(200).set_body_json(group.clone()))
        .mount(&server)
        .await;
    let mut described = group.clone();
    described["description"] = json!("new");
    Mock::given(method("PUT"))
        .and(path(p("/admin/groups/team")))
        .and(body_json(described))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"msg": "ok"})))
        .expect(1)
        .mount(&server)
        .await;
    let perms = json!({
        "owner": "admin",
        "permissions": [{"group": "other", "readDashboards": true, "futureFlag": true}],
        "additionalDashboardUsers": {"users": [{"login": "x"}]},
        "dashboardAuthorizations": {"allAuthorized": true, "authorizations": []},
        "somethingNewer": 3
    });
    Mock::given(method("GET"))
        .and(path(p("/projects/")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"projectKey": "P1", "name": "Sales"}])),
        )
        .mount(&server)
        .await;
    let captured: Arc<Mutex<Option<Value>>> = Arc::default();
    // Answers what was last written, so the read-back after the write sees it.
    Mock::given(method("GET"))
        .and(path(p("/projects/P1/permissions")))
        .respond_with(Latest(perms.clone(), captured.clone()))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(p("/projects/P1/permissions")))
        .respond_with(Capture(captured.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let a = connect(&server, json!({})).await;
    let g = a
        .update_group(
            "team",
            &GroupChanges {
                description: Some(Some("new".into())),
                ..GroupChanges::default()
            },
        )
        .await
        .expect("updated");
    assert_eq!(g.description.as_deref(), Some("new"));
    a.grant(&Grant {
        role: "reader".into(),
        principal: Principal::Group("team".into()),
        scope: Scope::Project("Sales".into()),
    })
    .await
    .expect("granted by project name");
    let sent = captured.lock().expect("lock").clone().expect("a PUT");
    for key in [
        "owner",
        "additionalDashboardUsers",
        "dashboardAuthorizations",
        "somethingNewer",
    ] {
        assert_eq!(sent[key], perms[key], "{key} kept");
    }
    let entries = sent["permissions"].as_array().expect("list");
    assert_eq!(
        entries[0], perms["permissions"][0],
        "other entries untouched"
    );
    assert_eq!(entries[1]["group"], "team");
    assert_eq!(entries[1]["readProjectContent"], true);
    assert_eq!(entries[1]["readDashboards"], true);
    assert_eq!(entries[1]["writeProjectContent"], false);
    // The new entry's flag names: the server's own (`futureFlag`) and documented ones.
    let mut names: Vec<&String> = entries[1].as_object().expect("entry").keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "admin",
            "futureFlag",
            "group",
            "readDashboards",
            "readProjectContent",
            "writeProjectContent"
        ]
    );
}

/// Answers the last captured body, or the initial document before any.
struct Latest(Value, Arc<Mutex<Option<Value>>>);

impl Respond for Latest {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        let latest = self.1.lock().ok().and_then(|slot| slot.clone());
        ResponseTemplate::new(200).set_body_json(latest.unwrap_or_else(|| self.0.clone()))
    }
}

/// Records the body of the request and answers `{"msg": "ok"}`.
struct Capture(Arc<Mutex<Option<Value>>>);

impl Respond for Capture {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if let Ok(mut slot) = self.0.lock() {
            *slot = serde_json::from_slice(&req.body).ok();
        }
        ResponseTemplate::new(200).set_body_json(json!({"msg": "ok"}))
    }
}

/// One user document on a fake server: GET answers the current document after a delay (so
/// two unserialized read-modify-writes would both read the old one), PUT replaces it.
struct OneUser {
    doc: Arc<Mutex<Value>>,
    puts: Arc<Mutex<u32>>,
}

impl Respond for OneUser {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        match req.method.as_str() {
            "PUT" => {
                if let (Ok(mut doc), Ok(body)) =
                    (self.doc.lock(), serde_json::from_slice::<Value>(&req.body))
                {
                    *doc = body;
                }
                if let Ok(mut n) = self.puts.lock() {
                    *n += 1;
                }
                ResponseTemplate::new(200).set_body_json(json!({"msg": "ok"}))
            }
            _ => {
                let doc = self.doc.lock().map(|d| d.clone()).unwrap_or(Value::Null);
                ResponseTemplate::new(200)
                    .set_body_json(doc)
                    .set_delay(Duration::from_millis(150))
            }
        }
    }
}

#[tokio::test]
async fn two_membership_changes_on_one_user_both_survive() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    let doc = Arc::new(Mutex::new(user_doc("ada", &["base"])));
    let puts = Arc::new(Mutex::new(0));
    Mock::given(path(p("/admin/users/ada")))
        .respond_with(OneUser {
            doc: doc.clone(),
            puts: puts.clone(),
        })
        .mount(&server)
        .await;
    for g in ["g1", "g2", "base"] {
        Mock::given(method("GET"))
            .and(path(p(&format!("/admin/groups/{g}"))))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": g})))
            .mount(&server)
            .await;
    }
    let a = Arc::new(connect(&server, json!({})).await);
    let user = Principal::User("ada".into());
    let (r1, r2, r3) = tokio::join!(
        a.add_member("g1", &user),
        a.add_member("g2", &user),
        a.remove_member("base", &user),
    );
    r1.expect("add g1");
    r2.expect("add g2");
    r3.expect("remove base");
    let final_doc = doc.lock().expect("lock").clone();
    let mut groups: Vec<String> =
        serde_json::from_value(final_doc["groups"].clone()).expect("list");
    groups.sort();
    assert_eq!(groups, ["g1", "g2"], "every change survived");
    assert_eq!(*puts.lock().expect("lock"), 3);
    assert_eq!(final_doc["someFieldFromANewerDss"], json!({"deep": ["x"]}));
    // Adding again changes nothing and writes nothing.
    a.add_member("g1", &user).await.expect("idempotent");
    assert_eq!(*puts.lock().expect("lock"), 3);
}

#[tokio::test]
async fn no_bulk_probe_and_per_login_results() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    // Connecting writes nothing: no empty bulk create to learn whether the endpoint exists.
    Mock::given(method("POST"))
        .and(path(p("/admin/users/actions/bulk")))
        .and(body_json(json!([])))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&server)
        .await;
    let listing = json!([user_doc("old", &[]), user_doc("gone", &[])]);
    Mock::given(method("GET"))
        .and(path(p("/admin/users/")))
        .and(query_param("includeSettings", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listing))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(p("/admin/users/actions/bulk")))
        .and(query_param("allowSelfDeletion", "false"))
        .and(body_json(json!(["old", "gone"])))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"login": "gone", "status": "SUCCESS", "error": ""},
            {"login": "old", "status": "FAILURE", "error": "User old cannot be deleted: it owns projects"},
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let a = connect(&server, json!({"bulk": "auto", "bulk_max": 50})).await;
    assert!(a.uses_bulk());
    assert_eq!(a.capabilities().users_batch_max, Some(50));
    let results = a
        .write_users(vec![
            UserWrite::Delete { id: "old".into() },
            UserWrite::Delete { id: "gone".into() },
            UserWrite::Delete {
                id: "never-existed".into(),
            },
            UserWrite::Create {
                user: NewUser::new("old"),
            },
        ])
        .await;
    assert_eq!(results.len(), 4);
    let e = results[0].clone().expect_err("refused by the server");
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("owns projects"), "{e}");
    assert!(matches!(results[1], Ok(None)));
    assert_eq!(
        results[2].clone().expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        results[3].clone().expect_err("duplicate").kind(),
        ErrorKind::AlreadyExists
    );
}

#[tokio::test]
async fn older_servers_fall_back_to_one_request_per_user() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    Mock::given(method("GET"))
        .and(path(p("/admin/users/")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([user_doc("u1", &[]), user_doc("u2", &[])])),
        )
        .mount(&server)
        .await;
    // The first bulk request finds no endpoint; the adapter never sends another.
    Mock::given(method("DELETE"))
        .and(path(p("/admin/users/actions/bulk")))
        .respond_with(ResponseTemplate::new(404).set_body_string("<html>Not Found</html>"))
        .expect(1)
        .mount(&server)
        .await;
    for login in ["u1", "u2"] {
        Mock::given(method("DELETE"))
            .and(path(p(&format!("/admin/users/{login}"))))
            .and(query_param("allowSelfDeletion", "false"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"msg": "deleted"})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let a = connect(&server, json!({"bulk": "auto"})).await;
    assert!(a.uses_bulk(), "assumed until a bulk request says otherwise");
    let results = a
        .write_users(vec![UserWrite::Delete { id: "u1".into() }])
        .await;
    assert!(matches!(results[0], Ok(None)), "{results:?}");
    assert!(!a.uses_bulk());
    assert_eq!(a.capabilities().users_batch_max, None);
    let results = a
        .write_users(vec![UserWrite::Delete { id: "u2".into() }])
        .await;
    assert!(matches!(results[0], Ok(None)), "{results:?}");
}

#[tokio::test]
async fn create_checks_the_login_then_posts_what_the_official_client_posts() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    Mock::given(method("GET"))
        .and(path(p("/admin/users/taken")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_doc("taken", &[])))
        .mount(&server)
        .await;
    let not_found = json!({
        "errorType": "com.dataiku.dip.server.controllers.NotFoundException",
        "message": "User new not found",
        "detailedMessage": "com.dataiku.dip.server.controllers.NotFoundException: User new not found"
    });
    Mock::given(method("GET"))
        .and(path(p("/admin/users/new")))
        .respond_with(ResponseTemplate::new(404).set_body_json(not_found))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p("/admin/users/new")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "login": "new", "displayName": "New", "email": null, "enabled": true,
            "groups": [], "adminProperties": {}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(p("/admin/users/")))
        .and(body_json(json!({
            "login": "new", "password": "pw", "displayName": "New", "sourceType": "LOCAL",
            "groups": [], "userProfile": "AI_CONSUMER", "email": null
        })))
        .respond_with(ResponseTemplate::new(200).set_body_string("Created"))
        .expect(1)
        .mount(&server)
        .await;
    let a = connect(&server, json!({"user_profile": "AI_CONSUMER"})).await;
    let dup = a
        .create_user(&NewUser::new("taken"))
        .await
        .expect_err("taken");
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists);
    let mut nu = NewUser::new("new");
    nu.display_name = Some("New".into());
    nu.password = Some(idbridge_core::Secret::new("pw"));
    let u = a.create_user(&nu).await.expect("created");
    assert_eq!(u.id, "new");
    assert!(u.enabled);
}

#[tokio::test]
async fn canned_errors_map_to_kinds() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    let cases = [
        (
            "/admin/users/missing",
            404,
            "com.dataiku.dip.server.controllers.NotFoundException",
            ErrorKind::NotFound,
        ),
        (
            "/admin/users/forbidden",
            403,
            "com.dataiku.dip.exceptions.UnauthorizedException",
            ErrorKind::PermissionDenied,
        ),
        (
            "/admin/users/badkey",
            401,
            "com.dataiku.dip.exceptions.NotAuthenticatedException",
            ErrorKind::Unauthenticated,
        ),
        (
            "/admin/users/bad",
            400,
            "com.dataiku.dip.exceptions.DSSIllegalArgumentException",
            ErrorKind::InvalidInput,
        ),
    ];
    for (route, status, error_type, _) in &cases {
        Mock::given(method("GET"))
            .and(path(p(route)))
            .respond_with(ResponseTemplate::new(*status).set_body_json(json!({
                "errorType": error_type, "message": "canned", "detailedMessage": "canned detail"
            })))
            .mount(&server)
            .await;
    }
    let a = connect(&server, json!({})).await;
    for (route, status, _, kind) in cases {
        let login = route.rsplit('/').next().expect("login");
        let e = a.get_user(login).await.expect_err("error");
        assert_eq!(e.kind(), kind, "{route}");
        assert_eq!(e.http_status(), Some(status));
        assert_eq!(e.vendor_message(), Some("canned"));
        assert!(!e.to_string().contains(KEY), "the key never appears: {e}");
    }
}

#[tokio::test]
async fn a_rejected_key_fails_the_connection() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(p("/auth/info")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "errorType": "com.dataiku.dip.exceptions.NotAuthenticatedException",
            "message": "Unknown API Key"
        })))
        .mount(&server)
        .await;
    let err = DataikuAdapter::connect(AdapterConfig::new(
        "dss",
        json!({"base_url": server.uri(), "api_key": KEY}),
    ))
    .await
    .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn old_list_items_are_completed_one_by_one() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    Mock::given(method("GET"))
        .and(path(p("/admin/users/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"login": "a", "displayName": "A", "groups": []},
            user_doc("b", &[]),
        ])))
        .mount(&server)
        .await;
    let mut a_doc = user_doc("a", &[]);
    a_doc["enabled"] = json!(false);
    Mock::given(method("GET"))
        .and(path(p("/admin/users/a")))
        .respond_with(ResponseTemplate::new(200).set_body_json(a_doc))
        .expect(1)
        .mount(&server)
        .await;
    let a = connect(&server, json!({})).await;
    let users = a
        .list_users(idbridge_core::PageRequest::first())
        .await
        .expect("listed");
    let ids: Vec<(&str, bool)> = users
        .items
        .iter()
        .map(|u| (u.id.as_str(), u.enabled))
        .collect();
    assert_eq!(ids, [("a", false), ("b", true)]);
    assert_eq!(
        users.items[1].attributes.get("dept").map(String::as_str),
        Some("R&D")
    );
}

#[tokio::test]
async fn a_group_create_checks_the_name_then_posts_and_reads_nothing_back() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    Mock::given(method("GET"))
        .and(path(p("/admin/groups/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"name": "administrators"}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(p("/admin/groups/")))
        .and(body_json(json!({
            "name": "analysts", "description": "Data people", "sourceType": "LOCAL"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"msg": "Created"})))
        .expect(1)
        .mount(&server)
        .await;
    let a = connect(&server, json!({})).await;
    let g = a
        .create_group(&NewGroup {
            name: "analysts".into(),
            description: Some("Data people".into()),
        })
        .await
        .expect("created");
    assert_eq!(
        (g.id.as_str(), g.name.as_str(), g.description.as_deref()),
        ("analysts", "analysts", Some("Data people"))
    );
    // The name check and the create only: the mocks' `expect(1)` hold on drop.
}

#[tokio::test]
async fn concurrent_group_creates_share_the_name_check_and_a_taken_name_is_refused() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    // A slow listing: the creates that arrive while the first one is on the way wait for
    // it and share the next; none is answered by a listing sent before it asked.
    Mock::given(method("GET"))
        .and(path(p("/admin/groups/")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"name": "taken"}]))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1..=2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(p("/admin/groups/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"msg": "Created"})))
        .expect(8)
        .mount(&server)
        .await;
    let a = Arc::new(connect(&server, json!({})).await);
    let names: Vec<String> = (0..8)
        .map(|i| format!("g{i}"))
        .chain(["taken".to_string()])
        .collect();
    let tasks: Vec<_> = names
        .into_iter()
        .map(|name| {
            let a = a.clone();
            tokio::spawn(async move {
                let created = a
                    .create_group(&NewGroup {
                        name: name.clone(),
                        description: None,
                    })
                    .await;
                (name, created)
            })
        })
        .collect();
    for t in tasks {
        let (name, created) = t.await.expect("task");
        match name.as_str() {
            "taken" => assert_eq!(
                created.expect_err("the name is taken").kind(),
                ErrorKind::AlreadyExists
            ),
            _ => assert_eq!(created.expect("created").name, name),
        }
    }
}

#[tokio::test]
async fn a_listing_above_max_response_mib_names_the_setting_and_raising_it_reads_it() {
    let server = MockServer::start().await;
    mount_auth_info(&server).await;
    // One unpaged listing of about 1.5 MiB: above a 1 MiB limit, within 2 MiB.
    let docs: Vec<Value> = (0..2500)
        .map(|i| user_doc(&format!("u{i:04}"), &[]))
        .collect();
    let body = serde_json::to_vec(&docs).expect("json");
    assert!((1024 * 1024..2 * 1024 * 1024).contains(&body.len()));
    Mock::given(method("GET"))
        .and(path(p("/admin/users/")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let small =
        idbridge_core::http::in_system("bi", connect(&server, json!({"max_response_mib": 1})))
            .await;
    let err = small
        .list_users(idbridge_core::PageRequest::first())
        .await
        .expect_err("above the limit");
    assert_eq!(err.kind(), ErrorKind::Protocol);
    let text = err.to_string();
    assert!(
        text.contains("exceeds the limit of 1048576 bytes (1 MiB)")
            && text.contains("raise the connection setting `max_response_mib` of target `bi`"),
        "{text}"
    );
    let raised = connect(&server, json!({"max_response_mib": 2})).await;
    let users = raised
        .list_users(idbridge_core::PageRequest::first())
        .await
        .expect("read within the raised limit");
    assert_eq!(users.items.len(), 2500);
    assert_eq!(users.items[0].id, "u0000");
}
