//! The adapter against the emulator, for behaviour the shared suite does not cover: the
//! expired-session re-login, logout on close, the role-members endpoint of newer servers,
//! seeding from a directory file, and retries through injected faults.

use idbridge_core::{Grant, GrantFilter, Principal, Scope, registry};
use idbridge_file::{Directory, Format};
use idbridge_strategy::emulator::{self, TUTORIAL_PROJECT_NAME};
use idbridge_testkit::emulator::{EmulatorOptions, FaultSpec};

#[tokio::test]
async fn an_expired_session_is_renewed_without_the_caller_noticing() {
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    // The server forgets every session, as after an idle timeout or a restart.
    state.lock().sessions.clear();
    let users = h.all_users().await.expect("re-login and repeat");
    assert!(
        users
            .iter()
            .any(|u| u.login == emulator::DEFAULT_ADMIN_USER)
    );
    let logins = running
        .server
        .log()
        .entries()
        .iter()
        .filter(|e| e.path.ends_with("/api/auth/login"))
        .count();
    assert_eq!(logins, 2);
}

#[tokio::test]
async fn close_logs_out_of_the_server() {
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    assert_eq!(state.lock().sessions.len(), 1);
    h.close().await.expect("logs out");
    assert!(state.lock().sessions.is_empty());
}

#[tokio::test]
async fn newer_servers_get_grants_through_the_role_members_endpoint() {
    let mut options = EmulatorOptions::default();
    options
        .extra
        .insert("version".to_string(), "11.6.0400.0101".to_string());
    let running = emulator::start(options).await.expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    let role = h.all_roles().await.expect("roles").remove(0);
    let user = h
        .create_user(&idbridge_core::NewUser::new("grantee"))
        .await
        .expect("user");
    let grant = Grant {
        role: role.id.clone(),
        principal: Principal::User(user.id.clone()),
        scope: Scope::Project(TUTORIAL_PROJECT_NAME.to_string()),
    };
    h.grant(&grant).await.expect("granted");
    let held = h
        .all_grants(&GrantFilter {
            principal: Some(grant.principal.clone()),
            ..GrantFilter::default()
        })
        .await
        .expect("grants");
    assert_eq!(held, vec![grant.clone()]);
    h.revoke(&grant).await.expect("revoked");
    assert!(
        h.all_grants(&GrantFilter {
            principal: Some(grant.principal.clone()),
            ..GrantFilter::default()
        })
        .await
        .expect("grants")
        .is_empty()
    );
    let member_patches = running
        .server
        .log()
        .entries()
        .iter()
        .filter(|e| {
            e.method == "PATCH"
                && e.path
                    .ends_with(&format!("/securityRoles/{}/members", role.id))
        })
        .count();
    assert_eq!(member_patches, 2);
}

const SEED: &str = r#"
users:
  - id: u1
    login: ada
    email: ada@example.com
    display_name: Ada Lovelace
    groups: [engineering]
  - id: u2
    login: bob
    enabled: false
groups:
  - id: g1
    name: engineering
    description: Engineers
    groups: [staff]
  - id: g2
    name: staff
roles:
  - id: r1
    name: Normal Users
    scope: {project: Sales}
grants:
  - {role: Normal Users, group: engineering}
"#;

#[tokio::test]
async fn a_seed_directory_is_loaded_with_nesting_and_grants() {
    let dir = Directory::parse(SEED, Format::Yaml, "seed.yaml").expect("parses");
    let options = EmulatorOptions {
        seed: Some(dir.to_snapshot()),
        ..EmulatorOptions::default()
    };
    let running = emulator::start(options).await.expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    let users = h.all_users().await.expect("users");
    let ada = users.iter().find(|u| u.login == "ada").expect("ada seeded");
    assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
    assert_eq!(ada.display_name.as_deref(), Some("Ada Lovelace"));
    assert!(
        !users
            .iter()
            .find(|u| u.login == "bob")
            .expect("bob")
            .enabled
    );
    let groups = h.all_groups().await.expect("groups");
    let eng = groups
        .iter()
        .find(|g| g.name == "engineering")
        .expect("group");
    let staff = groups.iter().find(|g| g.name == "staff").expect("group");
    assert_eq!(
        h.all_members(&staff.id).await.expect("members"),
        vec![Principal::Group(eng.id.clone())]
    );
    assert_eq!(
        h.all_members(&eng.id).await.expect("members"),
        vec![Principal::User(ada.id.clone())]
    );
    let grants = h
        .all_grants(&GrantFilter {
            principal: Some(Principal::Group(eng.id.clone())),
            ..GrantFilter::default()
        })
        .await
        .expect("grants");
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].scope, Scope::Project("Sales".to_string()));
}

#[tokio::test]
async fn injected_throttling_and_outages_are_retried() {
    let options = EmulatorOptions {
        faults: FaultSpec::parse("429=0.1,503=0.1,retry_after=0,seed=7").expect("spec"),
        ..EmulatorOptions::default()
    };
    let running = emulator::start(options).await.expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects through faults");
    for _ in 0..5 {
        h.all_users().await.expect("lists through faults");
    }
    assert!(running.server.log().faults() > 0, "no fault was injected");
}

#[tokio::test]
async fn cut_short_answers_and_dropped_connections_are_survived() {
    let options = EmulatorOptions {
        faults: FaultSpec::parse("garbage=0.1,reset=0.05,seed=11").expect("spec"),
        ..EmulatorOptions::default()
    };
    let running = emulator::start(options).await.expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects through faults");
    for _ in 0..5 {
        let users = h.all_users().await.expect("lists through faults");
        assert!(
            users
                .iter()
                .any(|u| u.login == emulator::DEFAULT_ADMIN_USER)
        );
    }
    assert!(running.server.log().faults() > 0, "no fault was injected");
}

/// A base URL without the Library path reaches a server that has no REST API there: the
/// error says 404 at which URL and asks whether it is the Library URL, instead of "this
/// server version does not offer the endpoint".
#[tokio::test]
async fn a_base_url_without_the_library_path_asks_for_it() {
    let running = emulator::start(EmulatorOptions::default())
        .await
        .expect("starts");
    let mut cfg = running.adapter_config("bi");
    let full = cfg.settings["base_url"]
        .as_str()
        .expect("base_url")
        .to_string();
    let root = full
        .strip_suffix("/MicroStrategyLibrary")
        .expect("the emulator serves the Library path")
        .to_string();
    cfg.settings
        .insert("base_url".into(), serde_json::Value::from(root.clone()));
    let err = registry::build_adapter("strategy", cfg)
        .await
        .expect_err("no REST API at the root");
    let text = err.to_string();
    assert!(
        text.contains(&format!("404 at {root}/api/auth/login"))
            && text.contains("is this the Library URL (ending in /MicroStrategyLibrary)?"),
        "{text}"
    );
    assert!(!text.contains("does not offer the endpoint"), "{text}");
}

/// Connection failures through the adapter name the host and the cause: an `https://`
/// URL for the plain-HTTP emulator, a closed loopback port, a host name that does not
/// resolve (`.invalid` never does, and sends nothing off the machine).
#[tokio::test]
async fn connection_errors_name_the_host_and_the_cause() {
    let running = emulator::start(EmulatorOptions::default())
        .await
        .expect("starts");
    let good = running.adapter_config("bi").settings["base_url"]
        .as_str()
        .expect("base_url")
        .to_string();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let cases = [
        (
            good.replace("http://", "https://"),
            "answers plain HTTP, not HTTPS",
        ),
        (
            format!("http://{closed}/MicroStrategyLibrary"),
            "connection refused: nothing listens on",
        ),
        (
            "https://bi.example.invalid/MicroStrategyLibrary".to_string(),
            "the host name `bi.example.invalid` does not resolve (DNS)",
        ),
    ];
    for (url, needle) in cases {
        let mut cfg = running.adapter_config("bi");
        cfg.settings
            .insert("base_url".into(), serde_json::Value::from(url.clone()));
        let err = registry::build_adapter("strategy", cfg)
            .await
            .expect_err(&url);
        let text = err.to_string();
        let host = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .expect("a host");
        assert!(text.contains(needle), "{url}: {text}");
        assert!(text.contains(host), "{url}: names the host: {text}");
        assert!(!text.contains(emulator::DEFAULT_ADMIN_PASSWORD), "{text}");
    }
}

#[tokio::test]
async fn nobody_is_added_to_system_administrators_whatever_a_plan_says() {
    use idbridge_core::{ErrorKind, NewUser};
    use idbridge_strategy::wire::{SYSTEM_ADMINISTRATORS_GROUP_ID, SYSTEM_MONITORS_GROUP_ID};
    let (running, state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    let mut new = NewUser::new("evil.admin");
    new.password = Some(idbridge_core::Secret::new("Initial-1234"));
    let evil = h.create_user(&new).await.expect("created");
    let before = running.server.log().entries().len();
    for group in [SYSTEM_ADMINISTRATORS_GROUP_ID, SYSTEM_MONITORS_GROUP_ID] {
        let err = h
            .add_member(group, &Principal::User(evil.id.clone()))
            .await
            .expect_err("privileged");
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("privileged"), "{err}");
        assert!(!state.lock().members_of(group).contains(&evil.id));
    }
    assert_eq!(
        running.server.log().entries().len(),
        before,
        "no request reached the server"
    );
}

#[tokio::test]
async fn logins_are_classed_apart_and_foreign_credentials_are_refused() {
    use idbridge_testkit::emulator::RequestClass;
    let (emu, _state) = emulator::start_with_state(EmulatorOptions::default())
        .await
        .expect("start");
    let h = registry::build_adapter("strategy", emu.adapter_config("bi"))
        .await
        .expect("connect");
    h.all_users().await.expect("users");
    let entries = emu.server.log().entries();
    assert!(
        entries
            .iter()
            .any(|e| e.path.ends_with("/api/auth/login") && e.class == RequestClass::Login),
        "{entries:?}"
    );
    assert!(
        entries
            .iter()
            .all(|e| e.class != RequestClass::Write || e.path.contains("/auth/")),
        "listing writes nothing: {entries:?}"
    );
    assert!(emu.server.log().served_writes().is_empty());
    let err = emulator::start(EmulatorOptions::default().with_credential("api_key", "k"))
        .await
        .expect_err("not a Strategy credential")
        .to_string();
    assert!(
        err.contains("`api_key`") && err.contains("admin_password"),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_routes_answer_the_rest_tiers_404_after_the_session_check() {
    let running = emulator::start(EmulatorOptions::default())
        .await
        .expect("starts");
    let base = &running.base_url;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let code = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.expect("JSON error body");
        (
            status,
            body["code"].as_str().unwrap_or_default().to_string(),
        )
    };
    let anonymous = client
        .get(format!("{base}/api/no-such-thing"))
        .send()
        .await
        .expect("answer");
    assert_eq!(code(anonymous).await, (401, "ERR009".to_string()));
    let login = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({
            "username": emulator::DEFAULT_ADMIN_USER,
            "password": emulator::DEFAULT_ADMIN_PASSWORD,
            "loginMode": 1,
        }))
        .send()
        .await
        .expect("login");
    let token = login
        .headers()
        .get("X-MSTR-AuthToken")
        .and_then(|v| v.to_str().ok())
        .expect("token")
        .to_string();
    let get = |path: &str| {
        client
            .get(format!("{base}/api/{path}"))
            .header("X-MSTR-AuthToken", &token)
            .send()
    };
    let unknown = get("no-such-thing").await.expect("answer");
    assert_eq!(code(unknown).await, (404, "ERR004".to_string()));
    let wrong_method = client
        .delete(format!("{base}/api/status"))
        .header("X-MSTR-AuthToken", &token)
        .send()
        .await
        .expect("answer");
    assert_eq!(code(wrong_method).await, (404, "ERR004".to_string()));
    let slash = get("users/").await.expect("answer");
    assert_eq!(slash.status(), 200, "the trailing slash the SDK sends");
    let outside = client
        .get(format!("{}/elsewhere", running.server.url()))
        .send()
        .await
        .expect("answer");
    assert_eq!(code(outside).await, (404, "ERR004".to_string()));
}
