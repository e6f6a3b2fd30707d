//! Wire tests for what scim2-server cannot show: servers without PATCH, without
//! filtering, with a small `maxResults`, with 412 conflicts, with malformed answers, rate
//! limits, and OAuth 2.0 client credentials.

use idbridge_core::{
    AdapterConfig, ErrorKind, Groups, Memberships, NewGroup, PageRequest, Principal, UserChanges,
    Users,
};
use idbridge_scim::ScimAdapter;
use serde_json::{Value, json};
use wiremock::matchers::{
    body_partial_json, body_string_contains, header, method, path, query_param,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "canary-wire-token-7d1";

fn spc(patch: bool, filter: bool, max_results: Option<u64>, etag: bool) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": patch},
        "bulk": {"supported": false},
        "filter": {"supported": filter, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": etag},
    })
}

fn user(id: &str, login: &str, version: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id, "userName": login, "displayName": login, "active": true,
        "emails": [{"value": format!("{login}@x"), "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "version": version}
    })
}

fn list(resources: Vec<Value>, total: usize, start: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total, "startIndex": start, "itemsPerPage": resources.len(),
        "Resources": resources
    })
}

async fn server(config: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(config))
        .mount(&server)
        .await;
    server
}

async fn adapter(server: &MockServer) -> ScimAdapter {
    ScimAdapter::connect(&AdapterConfig::new(
        "wire",
        json!({"base_url": server.uri(), "token": TOKEN}),
    ))
    .await
    .expect("connects")
}

fn sent(requests: &[Request], m: &str) -> Vec<Request> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == m)
        .cloned()
        .collect()
}

#[tokio::test]
async fn without_patch_an_update_replaces_the_whole_resource_read_just_before() {
    let s = server(spc(false, true, None, false)).await;
    let mut current = user("u1", "ann", "W/\"1\"");
    current["title"] = json!("Keeper");
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(current))
        .mount(&s)
        .await;
    Mock::given(method("PUT"))
        .and(path("/Users/u1"))
        .and(header("content-type", "application/scim+json"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(|r: &Request| {
            ResponseTemplate::new(200).set_body_json(r.body_json::<Value>().expect("json"))
        })
        .expect(1)
        .mount(&s)
        .await;
    let a = adapter(&s).await;
    let changes = UserChanges {
        display_name: Some(Some("Ann Lee".into())),
        ..UserChanges::default()
    };
    let u = a.update_user("u1", &changes).await.expect("updated");
    assert_eq!(u.display_name.as_deref(), Some("Ann Lee"));
    let puts = sent(&s.received_requests().await.expect("log"), "PUT");
    let body: Value = puts[0].body_json().expect("json");
    // What the server had and idbridge does not manage goes back unchanged.
    assert_eq!(body["title"], "Keeper");
    assert_eq!(body["userName"], "ann");
    assert_eq!(body["name"]["formatted"], "Ann Lee");
    assert!(body.get("meta").is_none(), "{body}");
    assert!(
        puts[0].headers.get("if-match").is_none(),
        "no ETag support: no If-Match"
    );
}

#[tokio::test]
async fn without_filtering_lookups_list_everything_and_group_names_are_still_unique() {
    let s = server(spc(true, false, None, false)).await;
    Mock::given(method("GET"))
        .and(path("/Groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            vec![json!({"id": "g1", "displayName": "Ops"})],
            1,
            1,
        )))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            vec![user("u1", "ann", "W/\"1\"")],
            1,
            1,
        )))
        .mount(&s)
        .await;
    let a = adapter(&s).await;
    let err = a
        .create_group(&NewGroup {
            name: "ops".into(),
            description: None,
        })
        .await
        .expect_err("taken");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let found = idbridge_scim::users::find_by_login(&a, "ANN")
        .await
        .expect("read");
    assert_eq!(found.map(|u| u.id).as_deref(), Some("u1"));
    let requests = s.received_requests().await.expect("log");
    assert!(
        requests
            .iter()
            .all(|r| !r.url.query().unwrap_or_default().contains("filter")),
        "a server without filtering was sent a filter"
    );
    assert!(sent(&requests, "POST").is_empty());
}

#[tokio::test]
async fn a_small_max_results_caps_the_page_and_every_user_is_read_once() {
    let s = server(spc(true, true, Some(2), true)).await;
    let all: Vec<Value> = (1..=5)
        .map(|i| user(&format!("u{i}"), &format!("user{i}"), "W/\"1\""))
        .collect();
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(move |r: &Request| {
            let q: std::collections::HashMap<String, String> =
                r.url.query_pairs().into_owned().collect();
            let start: usize = q
                .get("startIndex")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let count: usize = q.get("count").and_then(|v| v.parse().ok()).unwrap_or(100);
            assert!(count <= 2, "asked for {count} above maxResults");
            let page: Vec<Value> = all.iter().skip(start - 1).take(count).cloned().collect();
            ResponseTemplate::new(200).set_body_json(list(page, 5, start))
        })
        .mount(&s)
        .await;
    let a = adapter(&s).await;
    let mut seen = Vec::new();
    let mut page = PageRequest::with_size(50);
    loop {
        let got = a.list_users(page.clone()).await.expect("a page");
        seen.extend(got.items.into_iter().map(|u| u.login));
        match got.next {
            Some(n) => page.cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, ["user1", "user2", "user3", "user4", "user5"]);
}

#[tokio::test]
async fn a_412_reads_again_and_retries_once_then_reports_a_conflict() {
    let s = server(spc(true, true, None, true)).await;
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u1", "ann", "W/\"7\"")))
        .mount(&s)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/Users/u1"))
        .and(header("if-match", "W/\"7\""))
        .and(body_partial_json(
            json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
        ))
        .respond_with(ResponseTemplate::new(412).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "412", "detail": "Resource has changed"})))
        .mount(&s)
        .await;
    let a = adapter(&s).await;
    let err = a.set_user_enabled("u1", false).await.expect_err("conflict");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("u1"), "{}", err.message());
    let requests = s.received_requests().await.expect("log");
    assert_eq!(
        sent(&requests, "PATCH").len(),
        2,
        "one retry after a fresh read"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.method.as_str() == "GET" && r.url.path() == "/Users/u1")
            .count(),
        2
    );

    // Once the second attempt goes through, the update succeeds (204: read back).
    s.reset().await;
    Mock::given(method("GET"))
        .and(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(spc(true, true, None, true)))
        .mount(&s)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(412))
        .up_to_n_times(1)
        .mount(&s)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u1", "ann", "W/\"8\"")))
        .mount(&s)
        .await;
    a.set_user_enabled("u1", false)
        .await
        .expect("second attempt goes through");
}

#[tokio::test]
async fn malformed_answers_are_protocol_errors_naming_what_did_not_match() {
    let s = server(spc(true, true, None, false)).await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Resources": []})))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"userName": "ann"})))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Groups/g1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"id\": \"g1\", \"members\": [{"),
        )
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Groups/g2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "g2", "members": [{"type": "User"}]})),
        )
        .mount(&s)
        .await;
    let a = adapter(&s).await;
    let e = a
        .list_users(PageRequest::first())
        .await
        .expect_err("no totalResults");
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.message().contains("totalResults"), "{}", e.message());
    let e = a.get_user("u1").await.expect_err("no id");
    assert_eq!(e.kind(), ErrorKind::Protocol);
    for g in ["g1", "g2"] {
        let e = a
            .list_members(g, PageRequest::first())
            .await
            .expect_err("broken members");
        assert_eq!(e.kind(), ErrorKind::Protocol, "{g}: {e}");
    }
    assert!(!format!("{e:?}").contains(TOKEN));
}

#[tokio::test]
async fn errors_map_scim_bodies_and_429_honours_retry_after() {
    let s = server(spc(true, true, None, false)).await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "409", "scimType": "uniqueness", "detail": "userName taken"})))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/u9"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/u9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u9", "zed", "W/\"1\"")))
        .mount(&s)
        .await;
    let a = adapter(&s).await;
    let e = a
        .create_user(&idbridge_core::NewUser::new("ann"))
        .await
        .expect_err("taken");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(e.vendor_code(), Some("uniqueness"));
    assert_eq!(a.get_user("u9").await.expect("retried").login, "zed");
    assert!(a.client().counts().retries >= 1);
}

#[tokio::test]
async fn many_members_go_in_one_patch_and_nested_groups_are_typed() {
    let s = server(spc(true, true, None, false)).await;
    Mock::given(method("PATCH"))
        .and(path("/Groups/g1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&s)
        .await;
    let a = adapter(&s).await;
    let writes = vec![
        idbridge_core::MemberWrite::Add {
            group: "g1".into(),
            member: Principal::User("u1".into()),
        },
        idbridge_core::MemberWrite::Add {
            group: "g1".into(),
            member: Principal::Group("g2".into()),
        },
        idbridge_core::MemberWrite::Remove {
            group: "g1".into(),
            member: Principal::User("u3".into()),
        },
    ];
    let results = a.write_members(writes).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let patch = &sent(&s.received_requests().await.expect("log"), "PATCH")[0];
    let body: Value = patch.body_json().expect("json");
    assert_eq!(
        body["Operations"],
        json!([
            {"op": "add", "path": "members", "value": [
                {"value": "u1", "type": "User"}, {"value": "g2", "type": "Group"}]},
            {"op": "remove", "path": "members[value eq \"u3\"]"}
        ])
    );
}

#[tokio::test]
async fn client_credentials_get_a_token_and_the_secret_never_shows() {
    let s = server(spc(true, true, None, false)).await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("scope=scim.write"))
        // base64("app:canary-client-secret")
        .and(header(
            "authorization",
            "Basic YXBwOmNhbmFyeS1jbGllbnQtc2VjcmV0",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "canary-access-token", "token_type": "Bearer", "expires_in": 3600})))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(header("authorization", "Bearer canary-access-token"))
        .and(query_param("startIndex", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(vec![], 0, 1)))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/x"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string("bad canary-access-token canary-client-secret"),
        )
        .mount(&s)
        .await;
    let a = ScimAdapter::connect(&AdapterConfig::new(
        "wire",
        json!({"base_url": s.uri(), "token_url": format!("{}/oauth/token", s.uri()),
               "client_id": "app", "client_secret": "canary-client-secret", "scope": "scim.write"}),
    ))
    .await
    .expect("connects");
    assert!(
        a.list_users(PageRequest::first())
            .await
            .expect("listed")
            .items
            .is_empty()
    );
    let e = a.get_user("x").await.expect_err("refused");
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("canary"), "{shown}");
}
