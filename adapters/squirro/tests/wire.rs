//! Wire-level tests against canned responses: what the emulator cannot prove by itself.
//! The token exchange's exact encoding, keeping a rotated refresh token, the one refresh
//! on 401 (and none on 403), form bodies (group members, project members), client
//! credentials only where they belong, and error mapping.

use idbridge_core::{
    AdapterConfig, AdapterExt, ErrorKind, Grant, GrantFilter, Groups, Memberships, NewGroup,
    NewUser, PageRequest, Principal, Roles, Scope, Sessions, Users, collect_pages,
};
use idbridge_squirro::SquirroAdapter;
use serde_json::{Value, json};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TENANT: &str = "acme";
const U: &str = "/api/user/v0/acme";

fn token_body(access: &str, refresh: &str) -> Value {
    json!({
        "access_token": access,
        "refresh_token": refresh,
        "session_id": "S0000000000000000000001",
        "user_id": "ADMIN00000000000000001",
        "tenant": TENANT,
        "role": "admin",
        "role_permissions": ["admin"],
        "project_permissions": ["*"],
    })
}

fn settings(server: &MockServer, extra: Value) -> AdapterConfig {
    let mut v = json!({
        "cluster_url": server.uri(),
        "tenant": TENANT,
        "refresh_token": "rt-1",
    });
    if let (Value::Object(base), Value::Object(more)) = (&mut v, extra) {
        base.extend(more);
    }
    AdapterConfig::new("sq", v)
}

/// Mounts a token endpoint that accepts `rt-1` (answering `at-1`, `rt-1`).
async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=rt-1&tenant=acme",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at-1", "rt-1")))
        .mount(server)
        .await;
}

async fn connect(server: &MockServer) -> SquirroAdapter {
    SquirroAdapter::connect(&settings(server, json!({})))
        .await
        .expect("connects")
}

fn user(id: &str, email: &str, role: &str) -> Value {
    json!({"id": id, "email": email, "full_name": null, "role": role,
           "role_permissions": [role], "tenant": TENANT})
}

fn requests_to(reqs: &[Request], p: &str) -> usize {
    reqs.iter().filter(|r| r.url.path() == p).count()
}

#[tokio::test]
async fn token_exchange_is_a_form_without_authorization_and_calls_carry_the_bearer() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{U}/users")))
        .and(header("authorization", "Bearer at-1"))
        .and(header("accept", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"users": [user("A", "a@x.io", "admin")]})),
        )
        .mount(&server)
        .await;
    let sq = connect(&server).await;
    assert_eq!(
        sq.connecting_user().as_deref(),
        Some("ADMIN00000000000000001")
    );
    let users = sq.all_users().await.expect("users");
    assert_eq!(users[0].login, "a@x.io");
    let reqs = server.received_requests().await.expect("recorded");
    let token = reqs
        .iter()
        .find(|r| r.url.path() == "/api/user/oauth2/token")
        .expect("token exchange");
    assert!(token.headers.get("authorization").is_none());
    assert_eq!(
        token
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        token.headers.get("accept").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
}

#[tokio::test]
async fn refreshes_once_on_401_with_the_refresh_token_the_server_returned() {
    let server = MockServer::start().await;
    // rt-1 -> at-1 and a rotated rt-2; rt-2 -> at-2.
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=rt-1&tenant=acme",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at-1", "rt-2")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=rt-2&tenant=acme",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at-2", "rt-2")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{U}/groups")))
        .and(header("authorization", "Bearer at-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "expired"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{U}/groups")))
        .and(header("authorization", "Bearer at-2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": "G", "name": "Team", "members": []}])),
        )
        .mount(&server)
        .await;
    let sq = connect(&server).await;
    let groups = sq.all_groups().await.expect("groups after one refresh");
    assert_eq!(groups[0].name, "Team");
    let reqs = server.received_requests().await.expect("recorded");
    assert_eq!(requests_to(&reqs, "/api/user/oauth2/token"), 2);
    assert_eq!(requests_to(&reqs, &format!("{U}/groups")), 2);
}

#[tokio::test]
async fn a_second_401_is_unauthenticated_and_not_retried_again() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{U}/groups")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Invalid access token"})),
        )
        .mount(&server)
        .await;
    let sq = connect(&server).await;
    let err = sq.list_groups(PageRequest::first()).await.expect_err("401");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.vendor_message(), Some("Invalid access token"));
    let reqs = server.received_requests().await.expect("recorded");
    assert_eq!(
        requests_to(&reqs, "/api/user/oauth2/token"),
        2,
        "connect + one refresh"
    );
    assert_eq!(
        requests_to(&reqs, &format!("{U}/groups")),
        2,
        "the call and one repeat"
    );
}

#[tokio::test]
async fn forbidden_is_permission_denied_without_a_refresh() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("DELETE"))
        .and(path(format!("{U}/groups/G")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": "Not authorized"})))
        .mount(&server)
        .await;
    let sq = connect(&server).await;
    let err = sq.delete_group("G").await.expect_err("403");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.http_status(), Some(403));
    let reqs = server.received_requests().await.expect("recorded");
    assert_eq!(requests_to(&reqs, "/api/user/oauth2/token"), 1);
    assert_eq!(requests_to(&reqs, &format!("{U}/groups/G")), 1);
}

#[tokio::test]
async fn refused_refresh_tokens_fail_the_connection_as_unauthenticated() {
    for (status, body) in [
        (404, json!({"error": "Invalid refresh token"})),
        (410, json!({})),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/user/oauth2/token"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
        let err = SquirroAdapter::connect(&settings(&server, json!({})))
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{status}");
        assert!(!err.to_string().contains("rt-1"), "no secret in {err}");
    }
}

#[tokio::test]
async fn client_credentials_go_only_to_the_token_exchange_and_the_grant_listing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=rt-1&client_id=app&client_secret=s3&tenant=acme",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("at-1", "rt-1")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{U}/users/B/grants")))
        .and(query_param("client_id", "app"))
        .and(query_param("client_secret", "s3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"grants": [
            {"id": "G1", "type": "user", "created_at": "2024-01-02 03:04:05", "valid_to": "2034-01-02 03:04:05"},
            {"id": "G2", "type": "service"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{U}/users/B/sessions/G1")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{U}/users/B/sessions/G2")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "gone"})))
        .mount(&server)
        .await;
    let sq = SquirroAdapter::connect(&settings(
        &server,
        json!({"client_id": "app", "client_secret": "s3"}),
    ))
    .await
    .expect("connects with client credentials");
    assert_eq!(sq.revoke_user_sessions("B").await.expect("revoked"), 1);
    let reqs = server.received_requests().await.expect("recorded");
    for r in &reqs {
        let on_wire = format!("{}?{}", r.url.path(), r.url.query().unwrap_or(""));
        let body = String::from_utf8_lossy(&r.body);
        let allowed = r.url.path().ends_with("/oauth2/token") || r.url.path().ends_with("/grants");
        if !allowed {
            assert!(
                !on_wire.contains("s3") && !body.contains("s3"),
                "{on_wire} {body}"
            );
        }
    }
    let err = sq
        .revoke_user_sessions("ADMIN00000000000000001")
        .await
        .expect_err("own");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn group_writes_are_forms_with_members_as_json_text() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let created = json!({"id": "G", "name": "Team East", "members": []});
    Mock::given(method("POST"))
        .and(path(format!("{U}/groups")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("name=Team+East"))
        .respond_with(ResponseTemplate::new(201).set_body_json(created.clone()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{U}/groups")))
        .and(body_string(
            "name=Team+West&members=%5B%7B%22id%22%3A%22U1%22%7D%2C%7B%22id%22%3A%22U2%22%7D%5D",
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "W", "name": "Team West", "members": []})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{U}/groups/G")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("user_id=U1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("U1", "u1@x.io", "user")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{U}/groups/G")))
        .and(body_string("name=Team+North"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "G", "name": "Team North", "members": []})),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{U}/groups/G/members/U9")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "not a member"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{U}/groups/G")))
        .and(query_param("include_projects", "False"))
        .respond_with(ResponseTemplate::new(200).set_body_json(created))
        .mount(&server)
        .await;
    let sq = connect(&server).await;
    let g = sq
        .create_group(&NewGroup {
            name: "Team East".into(),
            description: None,
        })
        .await
        .expect("created");
    assert_eq!(g.id, "G");
    let w = sq
        .create_group_with_members("Team West", &["U1", "U2"])
        .await
        .expect("created with members");
    assert_eq!(w.id, "W");
    sq.add_member("G", &Principal::User("U1".into()))
        .await
        .expect("added");
    let renamed = sq
        .update_group(
            "G",
            &idbridge_core::GroupChanges {
                name: Some("Team North".into()),
                description: None,
            },
        )
        .await
        .expect("renamed");
    assert_eq!(renamed.name, "Team North");
    sq.remove_member("G", &Principal::User("U9".into()))
        .await
        .expect("removing a non-member succeeds when the group exists");
    let err = sq
        .update_group(
            "G",
            &idbridge_core::GroupChanges {
                name: None,
                description: Some(Some("has one".into())),
            },
        )
        .await
        .expect_err("no descriptions");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn users_are_created_with_json_and_the_default_role_then_named() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/user/v0/acme/users"))
        .and(header("content-type", "application/json"))
        .and(|r: &Request| {
            serde_json::from_slice::<Value>(&r.body).ok()
                == Some(json!({"email": "ada@x.io", "role": "reader", "password": "pw-123456"}))
        })
        .respond_with(ResponseTemplate::new(201).set_body_json(user("N", "ada@x.io", "reader")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/user/v1/acme/users/N"))
        .and(header("content-type", "application/json"))
        .and(|r: &Request| {
            serde_json::from_slice::<Value>(&r.body).ok() == Some(json!({"full_name": "Ada L"}))
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "N", "email": "ada@x.io", "full_name": "Ada L", "role": "reader"})))
        .mount(&server)
        .await;
    // The display name is read back once, to check the server applied it.
    Mock::given(method("GET"))
        .and(path("/api/user/v1/acme/users/N"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "N", "email": "ada@x.io", "full_name": "Ada L", "role": "reader"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/user/v0/acme/users"))
        .and(|r: &Request| String::from_utf8_lossy(&r.body).contains("dup@x.io"))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(json!({"error": "User already exists"})),
        )
        .mount(&server)
        .await;
    let sq = SquirroAdapter::connect(&settings(&server, json!({"default_role": "reader"})))
        .await
        .expect("connects");
    let mut new = NewUser::new("ada@x.io");
    new.display_name = Some("Ada L".into());
    new.password = Some(idbridge_core::Secret::new("pw-123456"));
    let u = sq.create_user(&new).await.expect("created");
    assert_eq!(u.id, "N");
    assert_eq!(u.display_name.as_deref(), Some("Ada L"));
    let err = sq
        .create_user(&NewUser::new("dup@x.io"))
        .await
        .expect_err("duplicate");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let err = sq
        .create_user(&NewUser::new("not-an-email"))
        .await
        .expect_err("login");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn project_grants_use_form_bodies_on_the_user_api() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/topic/v0/acme/projects"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": "P1", "title": "Sales"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{U}/projects/P1/members")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"members": [
            {"member_id": "U1", "member_type": "user", "project_role": "reader"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{U}/projects/P1/members")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("role=reader&group_id=G1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "member_id": "G1", "member_type": "group", "project_role": "reader"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{U}/projects/P1/members/U1")))
        .and(body_string("role=member"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "member_id": "U1", "member_type": "user", "project_role": "member"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{U}/projects/P1/members/U1")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let sq = connect(&server).await;
    let scope = Scope::Project("sales".into());
    sq.grant(&Grant {
        role: "reader".into(),
        principal: Principal::Group("G1".into()),
        scope: scope.clone(),
    })
    .await
    .expect("added");
    sq.grant(&Grant {
        role: "member".into(),
        principal: Principal::User("U1".into()),
        scope: scope.clone(),
    })
    .await
    .expect("changed");
    sq.grant(&Grant {
        role: "reader".into(),
        principal: Principal::User("U1".into()),
        scope: scope.clone(),
    })
    .await
    .expect("U1 holds reader in the canned listing: nothing to send");
    sq.revoke(&Grant {
        role: "reader".into(),
        principal: Principal::User("U1".into()),
        scope: scope.clone(),
    })
    .await
    .expect("revoked");
    let listed = sq
        .list_grants(
            &GrantFilter {
                scope: Some(scope.clone()),
                ..GrantFilter::default()
            },
            PageRequest::first(),
        )
        .await
        .expect("listed");
    assert_eq!(
        listed.items,
        vec![Grant {
            role: "reader@sales".into(),
            principal: Principal::User("U1".into()),
            scope,
        }]
    );
    let err = sq
        .grant(&Grant {
            role: "member".into(),
            principal: Principal::User("U1".into()),
            scope: Scope::Project("Nowhere".into()),
        })
        .await
        .expect_err("unknown project");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn user_listing_pages_through_everything() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{U}/users")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            user("A", "a@x.io", "user"), user("B", "b@x.io", "user"), user("C", "c@x.io", "admin")
        ]})))
        .mount(&server)
        .await;
    let sq = connect(&server).await;
    let first = sq
        .list_users(PageRequest::with_size(2))
        .await
        .expect("page");
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.next.as_deref(), Some("2"));
    let all = collect_pages(|p| {
        let sq = &sq;
        async move { sq.list_users(PageRequest { size: Some(1), ..p }).await }
    })
    .await
    .expect("all pages");
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn error_bodies_map_to_kinds() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    for (id, status, body) in [
        ("N404", 404, json!({"error": "User not found"})),
        ("N400", 400, json!({"error": "Invalid id"})),
        ("N409", 409, json!({"error": "Email already taken"})),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/api/user/v1/acme/users/{id}")))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
    }
    let sq = connect(&server).await;
    for (id, kind, vendor) in [
        ("N404", ErrorKind::NotFound, "User not found"),
        ("N400", ErrorKind::InvalidInput, "Invalid id"),
        ("N409", ErrorKind::AlreadyExists, "Email already taken"),
    ] {
        let err = sq.get_user(id).await.expect_err(id);
        assert_eq!(err.kind(), kind, "{id}");
        assert_eq!(err.vendor_message(), Some(vendor), "{id}");
    }
}

#[tokio::test]
async fn a_group_listing_above_max_response_mib_names_the_setting_and_raising_it_reads_it() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    // One unpaged listing of about 1.6 MiB: above a 1 MiB limit, within 2 MiB.
    let groups: Vec<Value> = (0..2000)
        .map(|g| {
            let members: Vec<Value> = (0..30)
                .map(|m| json!({"id": format!("U{:021}", g * 30 + m)}))
                .collect();
            json!({"id": format!("G{g:05}"), "name": format!("Team {g}"), "members": members})
        })
        .collect();
    let body = serde_json::to_vec(&groups).expect("json");
    assert!((1024 * 1024..2 * 1024 * 1024).contains(&body.len()));
    Mock::given(method("GET"))
        .and(path(format!("{U}/groups")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let small = idbridge_core::http::in_system(
        "source",
        SquirroAdapter::connect(&settings(&server, json!({"max_response_mib": 1}))),
    )
    .await
    .expect("connects");
    let err = small.all_groups().await.expect_err("above the limit");
    assert_eq!(err.kind(), ErrorKind::Protocol);
    let text = err.to_string();
    assert!(
        text.contains("exceeds the limit of 1048576 bytes (1 MiB)")
            && text.contains("raise the connection setting `max_response_mib` of the source"),
        "{text}"
    );
    let raised = SquirroAdapter::connect(&settings(&server, json!({"max_response_mib": 2})))
        .await
        .expect("connects");
    let read = raised
        .all_groups()
        .await
        .expect("read within the raised limit");
    assert_eq!(read.len(), 2000);
}
