//! Wire-level tests against canned responses, for what the emulator cannot prove: the
//! exact login encodings, that the token and every cookie travel together, the one-time
//! re-login on `ERR009`, paging by `X-MSTR-Total-Count`, error mapping over HTTP, and the
//! partial (207) and missing bulk disconnect, and the e-mail checks a real server could
//! fail (an added address not made the default, no generic e-mail device).

use idbridge_core::{AdapterConfig, AdapterExt, ErrorKind, NewUser, PageRequest, Sessions, Users};
use idbridge_strategy::StrategyAdapter;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const API: &str = "/MicroStrategyLibrary/api";
const ME: &str = "1111111111111111111111111111111A";
const ADA: &str = "2222222222222222222222222222222B";

/// Matches requests whose `Cookie` header carries every given `name=value`.
struct CookieHas(Vec<&'static str>);

impl Match for CookieHas {
    fn matches(&self, request: &Request) -> bool {
        let cookies: Vec<String> = request
            .headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| {
                v.split(';')
                    .map(|c| c.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        self.0.iter().all(|want| cookies.iter().any(|c| c == want))
    }
}

fn login_ok(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(204)
        .insert_header("X-MSTR-AuthToken", token)
        .append_header(
            "Set-Cookie",
            "JSESSIONID=JS1; Path=/MicroStrategyLibrary; HttpOnly",
        )
        .append_header("Set-Cookie", "AWSALB=LB1; Path=/")
}

fn config(server: &MockServer, extra: Value) -> AdapterConfig {
    let mut settings = json!({
        "base_url": format!("{}/MicroStrategyLibrary", server.uri()),
        "username": "administrator",
        "password": "canary-password-9",
    });
    if let (Value::Object(s), Value::Object(e)) = (&mut settings, extra) {
        s.extend(e);
    }
    AdapterConfig::new("bi", settings)
}

async fn mount_user_info(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("{API}/sessions/userInfo")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": ME, "fullName": "Administrator"})),
        )
        .mount(server)
        .await;
}

fn member(id: &str, login: &str) -> Value {
    json!({"id": id, "name": format!("Name {login}"), "abbreviation": login, "username": login,
           "fullName": format!("Name {login}"), "enabled": true, "type": 34, "subtype": 8704})
}

#[tokio::test]
async fn standard_login_is_form_encoded_and_token_and_cookies_travel_together() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("loginMode=1"))
        .and(body_string_contains("applicationType=35"))
        .and(body_string_contains("username=administrator"))
        .and(body_string_contains("password=canary-password-9"))
        .respond_with(login_ok("tok-1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/sessions/userInfo")))
        .and(header("X-MSTR-AuthToken", "tok-1"))
        .and(CookieHas(vec!["JSESSIONID=JS1", "AWSALB=LB1"]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": ME})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{API}/usergroups/C82C6B1011D2894CC0009D9F29718E4F/members"
        )))
        .and(header("X-MSTR-AuthToken", "tok-1"))
        .and(CookieHas(vec!["JSESSIONID=JS1", "AWSALB=LB1"]))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-MSTR-Total-Count", "1")
                .set_body_json(json!([member(ADA, "ada")])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/logout")))
        .and(header("X-MSTR-AuthToken", "tok-1"))
        .and(CookieHas(vec!["JSESSIONID=JS1"]))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let adapter = StrategyAdapter::connect(config(&server, json!({"list_details": false})))
        .await
        .expect("connects");
    let users = adapter.all_users().await.expect("lists");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].login, "ada");
    assert_eq!(users[0].display_name.as_deref(), Some("Name ada"));
    idbridge_core::Adapter::close(&adapter)
        .await
        .expect("logs out");
    // The connecting account is protected.
    assert!(idbridge_core::Adapter::protected(&adapter).user(ME));
}

#[tokio::test]
async fn api_token_login_is_json_with_the_token_as_username() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"loginMode": 4096, "applicationType": 35, "username": "canary-token-7"}),
        ))
        .respond_with(login_ok("tok-api"))
        .expect(1)
        .mount(&server)
        .await;
    mount_user_info(&server).await;
    let cfg = AdapterConfig::new(
        "bi",
        json!({"base_url": format!("{}/MicroStrategyLibrary", server.uri()),
               "login_mode": "api_token", "api_token": "canary-token-7"}),
    );
    StrategyAdapter::connect(cfg).await.expect("connects");
}

#[tokio::test]
async fn failed_login_is_unauthenticated_and_does_not_leak_the_password() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"code": "ERR003", "message": "Login failed", "ticketId": "abc"}),
            ),
        )
        .mount(&server)
        .await;
    let err = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect_err("rejected");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.vendor_code(), Some("ERR003"));
    let text = format!("{err} {err:?}");
    assert!(!text.contains("canary-password-9"), "{text}");
}

#[tokio::test]
async fn expired_session_logs_in_once_more_and_repeats_the_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("tok-1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("tok-2"))
        .expect(1)
        .mount(&server)
        .await;
    mount_user_info(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/users/{ADA}")))
        .and(header("X-MSTR-AuthToken", "tok-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "code": "ERR009", "message": "The user's session has expired, please reauthenticate", "ticketId": "t"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/users/{ADA}")))
        .and(header("X-MSTR-AuthToken", "tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(member(ADA, "ada")))
        .expect(1)
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    let user = adapter.get_user(ADA).await.expect("re-login made it work");
    assert_eq!(user.login, "ada");
}

#[tokio::test]
async fn a_second_expiry_is_not_retried_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("tok"))
        .expect(2)
        .mount(&server)
        .await;
    mount_user_info(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/users/{ADA}")))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"code": "ERR009", "message": "expired"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    let err = adapter.get_user(ADA).await.expect_err("still expired");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.vendor_code(), Some("ERR009"));
}

#[tokio::test]
async fn paging_reads_every_page_up_to_the_total_count() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("tok"))
        .mount(&server)
        .await;
    mount_user_info(&server).await;
    let everyone = format!("{API}/usergroups/C82C6B1011D2894CC0009D9F29718E4F/members");
    let all: Vec<Value> = (0..5)
        .map(|i| member(&format!("{:0>32}", format!("{i}A")), &format!("user{i}")))
        .collect();
    for (offset, slice) in [(0usize, &all[0..2]), (2, &all[2..4]), (4, &all[4..5])] {
        Mock::given(method("GET"))
            .and(path(everyone.clone()))
            .and(query_param("offset", offset.to_string()))
            .and(query_param("limit", "2"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("X-MSTR-Total-Count", "5")
                    .set_body_json(Value::from(slice.to_vec())),
            )
            // The first page is read once more by the single-page check below.
            .expect(if offset == 0 { 2 } else { 1 })
            .mount(&server)
            .await;
    }
    let adapter = StrategyAdapter::connect(config(
        &server,
        json!({"page_size": 2, "list_details": false}),
    ))
    .await
    .expect("connects");
    let users = adapter.all_users().await.expect("lists");
    let logins: Vec<&str> = users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(logins, ["user0", "user1", "user2", "user3", "user4"]);
    let first = adapter
        .list_users(PageRequest::with_size(2))
        .await
        .expect("page");
    assert_eq!(first.next.as_deref(), Some("2"));
}

#[tokio::test]
async fn the_users_endpoint_can_be_chosen_and_a_missing_total_ends_on_a_short_page() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("tok"))
        .mount(&server)
        .await;
    mount_user_info(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/users")))
        .and(query_param("offset", "0"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([member(ADA, "ada"), member(ME, "me")])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/users")))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(
        &server,
        json!({"page_size": 2, "user_listing": "users_endpoint", "list_details": false}),
    ))
    .await
    .expect("connects");
    assert_eq!(adapter.all_users().await.expect("lists").len(), 2);
}

#[tokio::test]
async fn vendor_errors_map_to_kinds_over_http() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("tok"))
        .mount(&server)
        .await;
    mount_user_info(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/users")))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "code": "ERR015", "message": "User 'ada' already exists", "ticketId": "t1"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/users/{ADA}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "code": "ERR004", "message": "User not found", "ticketId": "t2"
        })))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{API}/users/{ADA}")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "code": "ERR014", "message": "You do not have the privilege", "ticketId": "t3"
        })))
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    let dup = adapter
        .create_user(&NewUser::new("ada"))
        .await
        .expect_err("duplicate");
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists);
    assert_eq!(dup.http_status(), Some(409));
    let missing = adapter.get_user(ADA).await.expect_err("missing");
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let denied = adapter.delete_user(ADA).await.expect_err("denied");
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert_eq!(denied.vendor_code(), Some("ERR014"));
    // An id that cannot be a Strategy id never reaches the server.
    assert_eq!(
        adapter
            .get_user("not-an-id")
            .await
            .expect_err("bad id")
            .kind(),
        ErrorKind::NotFound
    );
}

async fn mount_connections(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("tok"))
        .mount(server)
        .await;
    mount_user_info(server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/users/{ADA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(member(ADA, "ada")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/monitors/iServer/nodes")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"nodes": [
            {"name": "node-a", "status": "running"},
            {"name": "node-b", "status": "stopped"}
        ]})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/monitors/userConnections")))
        .and(query_param("clusterNode", "node-a"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-MSTR-Total-Count", "3")
                .set_body_json(json!({"userConnections": [
                    {"id": "S1:-1:bm9kZS1h", "username": "ada", "dateConnectionCreated": "2024-05-01T10:00:00.000+0000"},
                    {"id": "S1:0:bm9kZS1h", "username": "ada"},
                    {"id": "S2:-1:bm9kZS1h", "username": "bob"}
                ]})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn sessions_are_listed_on_running_nodes_only() {
    let server = MockServer::start().await;
    mount_connections(&server).await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    let sessions = adapter.all_sessions(Some(ADA)).await.expect("lists");
    assert_eq!(sessions.len(), 2);
    assert!(
        sessions
            .iter()
            .all(|s| s.user == ADA && s.node.as_deref() == Some("node-a"))
    );
    assert_eq!(
        sessions[0].started.map(|t| t.to_rfc3339()),
        Some("2024-05-01T10:00:00+00:00".to_string())
    );
}

#[tokio::test]
async fn a_partial_bulk_disconnect_reports_what_was_refused() {
    let server = MockServer::start().await;
    mount_connections(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/monitors/deleteUserConnections")))
        .and(body_json(
            json!({"userConnectionIds": ["S1:-1:bm9kZS1h", "S1:0:bm9kZS1h"]}),
        ))
        .respond_with(ResponseTemplate::new(207).set_body_json(
            json!({"deleteUserConnectionsStatus": [
                {"id": "S1:-1:bm9kZS1h", "status": 200, "message": "ok"},
                {"id": "S1:0:bm9kZS1h", "status": 403, "message": "cannot"}
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    let err = adapter
        .revoke_user_sessions(ADA)
        .await
        .expect_err("partial");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.message().contains("ended 1 of 2"), "{err}");
    assert!(err.message().contains("S1:0:bm9kZS1h"), "{err}");
}

#[tokio::test]
async fn a_full_bulk_disconnect_counts_and_403_without_code_means_none() {
    let server = MockServer::start().await;
    mount_connections(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/monitors/deleteUserConnections")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"deleteUserConnectionsStatus": [
                {"id": "S1:-1:bm9kZS1h", "status": 200},
                {"id": "S1:0:bm9kZS1h", "status": 200}
            ]}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/monitors/deleteUserConnections")))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"deleteUserConnectionsStatus": [
                {"id": "S2:-1:bm9kZS1h", "status": 403, "message": "own connection"}
            ]}),
        ))
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    assert_eq!(
        adapter.revoke_user_sessions(ADA).await.expect("all ended"),
        2
    );
    let err = adapter
        .revoke_session("S2:-1:bm9kZS1h")
        .await
        .expect_err("none ended");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn without_bulk_disconnect_connections_are_ended_one_by_one() {
    let server = MockServer::start().await;
    mount_connections(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/monitors/deleteUserConnections")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "code": "ERR004", "message": "HTTP 404 Not Found", "ticketId": "x"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "{API}/monitors/userConnections/S1:-1:bm9kZS1h"
        )))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!(
            "{API}/monitors/userConnections/S1:0:bm9kZS1h"
        )))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"code": "ERR004", "message": "gone"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    assert_eq!(adapter.revoke_user_sessions(ADA).await.expect("ended"), 1);
}

/// A connection whose owner cannot be read (its `username` missing or not text) might be
/// the leaver's: revoking the user's sessions fails, naming it, and disconnects nothing,
/// rather than reporting every session ended past it.
#[tokio::test]
async fn revoking_fails_on_a_connection_whose_owner_cannot_be_read() {
    for garbled in [
        json!({"id": "S9:-1"}),
        json!({"id": "S9:-1", "username": 3}),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("{API}/auth/login")))
            .respond_with(login_ok("tok"))
            .mount(&server)
            .await;
        mount_user_info(&server).await;
        Mock::given(method("GET"))
            .and(path(format!("{API}/users/{ADA}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(member(ADA, "ada")))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{API}/monitors/iServer/nodes")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"nodes": [
                {"name": "node-a", "status": "running"}
            ]})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{API}/monitors/userConnections")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("X-MSTR-Total-Count", "2")
                    .set_body_json(json!({"userConnections": [
                        {"id": "S1:-1", "username": "ada"},
                        garbled.clone()
                    ]})),
            )
            .mount(&server)
            .await;
        let adapter = StrategyAdapter::connect(config(&server, json!({})))
            .await
            .expect("connects");
        let err = adapter
            .revoke_user_sessions(ADA)
            .await
            .expect_err(&garbled.to_string());
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(
            err.message().contains("user connection `S9:-1`")
                && err.message().contains("`username`"),
            "{}",
            err.message()
        );
        let received = server.received_requests().await.expect("recorded");
        assert!(
            received
                .iter()
                .all(|r| r.method.as_str() == "GET" || r.url.path().ends_with("/auth/login")),
            "nothing disconnected"
        );
    }
}

/// A server answering a login, the caller and a user creation; e-mail devices as given.
async fn server_creating_ada(devices: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("T1"))
        .mount(&server)
        .await;
    mount_user_info(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/users")))
        .respond_with(ResponseTemplate::new(201).set_body_json(member(ADA, "ada")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/v2/devices")))
        .and(query_param("deviceType", "email"))
        .respond_with(ResponseTemplate::new(200).set_body_json(devices))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn an_added_email_the_server_does_not_make_the_default_fails_the_create() {
    let server = server_creating_ada(json!({"devices": [
        {"id": "DEV", "name": "Generic email", "deviceType": "email"}
    ]}))
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/v2/users/{ADA}/addresses")))
        .and(body_json(
            json!({"name": "Default Email", "physicalAddress": "ada@example.com",
                              "deliveryType": "email", "deviceId": "DEV", "isDefault": true}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"addresses": [
                {"id": "A1", "name": "Default Email", "physicalAddress": "ada@example.com",
                 "deliveryType": "email", "deviceId": "DEV", "isDefault": false}
            ]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    let mut ada = NewUser::new("ada");
    ada.email = Some("ada@example.com".into());
    let err = adapter
        .create_user(&ada)
        .await
        .expect_err("not the default");
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(
        err.message().contains(
            "accepted the added e-mail address but does not list it as the user's default"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_without_the_generic_email_device_names_the_devices_it_has() {
    let server = server_creating_ada(json!({"devices": [
        {"id": "DEV", "name": "Corporate mail", "deviceType": "email"}
    ]}))
    .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    let mut ada = NewUser::new("ada");
    ada.email = Some("ada@example.com".into());
    let err = adapter.create_user(&ada).await.expect_err("no device");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    for needle in ["Generic email", "Corporate mail"] {
        assert!(err.message().contains(needle), "{needle}: {err}");
    }
}

#[tokio::test]
async fn a_server_of_unknown_version_without_devices_gets_the_v1_address() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/auth/login")))
        .respond_with(login_ok("T1"))
        .mount(&server)
        .await;
    mount_user_info(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/users")))
        .respond_with(ResponseTemplate::new(201).set_body_json(member(ADA, "ada")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/v2/devices")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": "ERR004", "message": "HTTP 404 Not Found"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/users/{ADA}/addresses")))
        .and(body_json(
            json!({"name": "Default Email", "deliveryMode": "EMAIL",
                              "device": "GENERIC_EMAIL", "value": "ada@example.com",
                              "default": true}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "A1"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/v2/users/{ADA}/addresses")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"addresses": [
                {"id": "A1", "name": "Default Email", "physicalAddress": "ada@example.com",
                 "deliveryType": "email", "deviceId": "DEV", "isDefault": true}
            ]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let adapter = StrategyAdapter::connect(config(&server, json!({})))
        .await
        .expect("connects");
    let mut ada = NewUser::new("ada");
    ada.email = Some("ada@example.com".into());
    let created = adapter.create_user(&ada).await.expect("created");
    assert_eq!(created.email.as_deref(), Some("ada@example.com"));
}
