//! Wire tests of discovery and bulk writes for what scim2-server cannot show: a server
//! that stops a bulk request at an error, refuses a large one with 413, answers some
//! operations with errors, publishes `/ResourceTypes` as a bare array, or lacks an
//! attribute the configuration maps.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idbridge_core::{Adapter, AdapterConfig, ErrorKind, NewUser, UserWrite, Users};
use idbridge_scim::ScimAdapter;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "canary-bulk-token-3f9";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn spc(bulk: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": bulk,
        "filter": {"supported": true, "maxResults": 50},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
    })
}

async fn server(bulk: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(spc(bulk)))
        .mount(&server)
        .await;
    server
}

async fn adapter(server: &MockServer, extra: Value) -> ScimAdapter {
    let mut config = json!({"base_url": server.uri(), "token": TOKEN});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        config[k] = v;
    }
    ScimAdapter::connect(&AdapterConfig::new("wire", config))
        .await
        .expect("connects")
}

fn create(login: &str) -> UserWrite {
    UserWrite::Create {
        user: NewUser {
            email: Some(format!("{login}@example.com")),
            display_name: Some(login.to_uppercase()),
            ..NewUser::new(login)
        },
    }
}

/// A `/Bulk` endpoint: refuses with 413 a request of more than `max_ops` operations;
/// answers a user named `taken` with a 409 and, like a server with an error limit of one,
/// runs nothing after it; creates the rest with an id made of the `bulkId`.
struct BulkEndpoint {
    max_ops: usize,
    calls: Arc<AtomicUsize>,
}

impl Respond for BulkEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&request.body).expect("a JSON bulk request");
        let ops = body["Operations"].as_array().cloned().unwrap_or_default();
        if ops.len() > self.max_ops {
            return ResponseTemplate::new(413).set_body_json(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "413", "detail": "too many operations"}));
        }
        let mut answers = Vec::new();
        for op in ops {
            let id = op["bulkId"].as_str().unwrap_or_default().to_string();
            match (op["method"].as_str(), op["data"]["userName"].as_str()) {
                (Some("POST"), Some("taken")) => {
                    answers.push(json!({"method": "POST", "bulkId": id, "status": "409",
                        "response": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                            "status": "409", "scimType": "uniqueness", "detail": "userName taken"}}));
                    break;
                }
                (Some("POST"), _) => answers.push(json!({"method": "POST", "bulkId": id,
                    "status": "201", "version": "W/\"1\"",
                    "location": format!("http://h/v2/Users/id-{id}")})),
                // A DELETE answered without its bulkId, matched by its location.
                (Some("DELETE"), _) => {
                    answers.push(json!({"method": "DELETE", "status": 204,
                    "location": format!("http://h/v2{}", op["path"].as_str().unwrap_or_default())}))
                }
                _ => {}
            }
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
            "Operations": answers}))
    }
}

/// `POST /Users` of one user, as a server creates it.
struct CreateEndpoint(Arc<AtomicUsize>);

impl Respond for CreateEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut body: Value = serde_json::from_slice(&request.body).expect("a JSON user");
        body["id"] = json!(format!(
            "single-{}",
            body["userName"].as_str().unwrap_or("")
        ));
        ResponseTemplate::new(201).set_body_json(body)
    }
}

async fn mount(server: &MockServer, max_ops: usize) -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let bulk = Arc::new(AtomicUsize::new(0));
    let single = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/Bulk"))
        .respond_with(BulkEndpoint {
            max_ops,
            calls: bulk.clone(),
        })
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(CreateEndpoint(single.clone()))
        .mount(server)
        .await;
    (bulk, single)
}

#[tokio::test]
async fn a_batch_goes_to_bulk_in_requests_within_max_operations_and_each_write_gets_its_outcome() {
    let server =
        server(json!({"supported": true, "maxOperations": 2, "maxPayloadSize": 1_048_576})).await;
    let (bulk, single) = mount(&server, 2).await;
    let a = adapter(&server, json!({})).await;
    assert_eq!(a.capabilities().users_batch_max, Some(2));
    let results = a
        .write_users(vec![
            create("ann"),
            create("bob"),
            create("cyd"),
            UserWrite::Delete { id: "old 1".into() },
            create("dan"),
        ])
        .await;
    assert_eq!(
        bulk.load(Ordering::SeqCst),
        3,
        "5 operations, 2 per request"
    );
    assert_eq!(single.load(Ordering::SeqCst), 0, "nothing went alone");
    let ids: Vec<Option<String>> = results
        .iter()
        .map(|r| {
            r.as_ref()
                .expect("every write succeeded")
                .as_ref()
                .map(|u| u.id.clone())
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            Some("id-w0".to_string()),
            Some("id-w1".to_string()),
            Some("id-w2".to_string()),
            None,
            Some("id-w4".to_string())
        ]
    );
    let ann = results[0].as_ref().expect("ok").as_ref().expect("a user");
    assert_eq!(ann.login, "ann");
    assert_eq!(ann.email.as_deref(), Some("ann@example.com"));
    assert_eq!(ann.display_name.as_deref(), Some("ANN"));
}

#[tokio::test]
async fn a_413_splits_the_request_a_failed_operation_fails_only_its_write_and_what_did_not_run_goes_alone()
 {
    let server =
        server(json!({"supported": true, "maxOperations": 10, "maxPayloadSize": 1500})).await;
    let (bulk, single) = mount(&server, 2).await;
    let a = adapter(&server, json!({})).await;
    let mut big = create("big");
    if let UserWrite::Create { user } = &mut big {
        user.display_name = Some("x".repeat(2000));
    }
    let results = a
        .write_users(vec![
            create("taken"),
            create("eve"),
            create("fay"),
            create("gus"),
            big,
        ])
        .await;
    // 4 fit the payload limit: refused as too many (413), then 2 and 2; `big` alone is
    // larger than maxPayloadSize and goes to /Users, as does `eve`, which the server did
    // not run after the error before it.
    assert_eq!(bulk.load(Ordering::SeqCst), 3);
    assert_eq!(single.load(Ordering::SeqCst), 2);
    let err = results[0].as_ref().expect_err("taken fails");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.to_string().contains("userName taken"), "{err}");
    let id = |i: usize| {
        results[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("write {i}: {e}"))
            .as_ref()
            .map(|u| u.id.clone())
    };
    assert_eq!(id(1).as_deref(), Some("single-eve"));
    assert_eq!(id(2).as_deref(), Some("id-w2"));
    assert_eq!(id(3).as_deref(), Some("id-w3"));
    assert_eq!(id(4).as_deref(), Some("single-big"));
}

#[tokio::test]
async fn without_bulk_advertised_or_allowed_writes_go_one_by_one() {
    for (bulk_config, extra) in [
        (json!({"supported": false}), json!({})),
        (
            json!({"supported": true, "maxOperations": 100, "maxPayloadSize": 1_048_576}),
            json!({"bulk": false}),
        ),
        // maxPayloadSize left out: not trusted with batches.
        (json!({"supported": true, "maxOperations": 100}), json!({})),
    ] {
        let server = server(bulk_config.clone()).await;
        let (bulk, single) = mount(&server, 100).await;
        let a = adapter(&server, extra).await;
        assert_eq!(a.capabilities().users_batch_max, None, "{bulk_config}");
        let results = a.write_users(vec![create("ann"), create("bob")]).await;
        assert!(results.iter().all(Result::is_ok), "{bulk_config}");
        assert_eq!(bulk.load(Ordering::SeqCst), 0, "{bulk_config}");
        assert_eq!(single.load(Ordering::SeqCst), 2, "{bulk_config}");
    }
}

#[tokio::test]
async fn a_bulk_endpoint_that_is_not_there_after_all_turns_bulk_off() {
    let server =
        server(json!({"supported": true, "maxOperations": 100, "maxPayloadSize": 1_048_576})).await;
    let single = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/Bulk"))
        .respond_with(ResponseTemplate::new(501))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(CreateEndpoint(single.clone()))
        .mount(&server)
        .await;
    let a = adapter(&server, json!({})).await;
    for round in 0..2 {
        let results = a
            .write_users(vec![
                create(&format!("a{round}")),
                create(&format!("b{round}")),
            ])
            .await;
        assert!(results.iter().all(Result::is_ok));
    }
    assert_eq!(single.load(Ordering::SeqCst), 4);
}

/// Discovery documents: resource types as a bare array (no Group), schemas as a list
/// answer whose Enterprise extension has no `department`.
async fn discovery_server() -> MockServer {
    let server = server(json!({"supported": false})).await;
    Mock::given(method("GET"))
        .and(path("/ResourceTypes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "User",
             "name": "User", "endpoint": "/Users",
             "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
             "schemaExtensions": [{"schema": ENTERPRISE, "required": false}]}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/Schemas"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 2, "Resources": [
                {"id": "urn:ietf:params:scim:schemas:core:2.0:User", "name": "User", "attributes": [
                    {"name": "userName", "type": "string"},
                    {"name": "title", "type": "string"},
                    {"name": "name", "type": "complex", "subAttributes": [{"name": "givenName", "type": "string"}]}
                ]},
                {"id": ENTERPRISE, "attributes": [{"name": "costCenter", "type": "string"}]}
            ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "Resources": []})))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn discovery_reports_what_the_server_has_and_check_names_paths_it_lacks() {
    let server = discovery_server().await;
    let paths = |extra: Value| {
        let mut p =
            json!({"externalId": "externalId", "title": "TITLE", "given": "name.givenName"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            p[k] = v;
        }
        json!({"attribute_paths": p})
    };
    let good = adapter(
        &server,
        paths(json!({"cost": format!("{ENTERPRISE}:costCenter")})),
    )
    .await;
    good.check().await.expect("every path exists");
    let facts: std::collections::BTreeMap<String, String> = good.facts().into_iter().collect();
    assert_eq!(facts["groups"], "no");
    assert_eq!(facts["enterpriseUser"], "yes");
    assert_eq!(facts["bulk"], "no");
    assert_eq!(facts["filter"], "yes (maxResults 50)");
    assert_eq!(facts["resourceTypes"], "User (/Users)");
    assert_eq!(facts["userAttributes"], "userName, title, name");

    let bad = adapter(
        &server,
        paths(json!({"department": format!("{ENTERPRISE}:department"), "nick": "name.nickName"})),
    )
    .await;
    let err = bad.check().await.expect_err("two paths are missing");
    assert_eq!(err.kind(), ErrorKind::Config);
    let text = err.to_string();
    assert!(
        text.contains("attribute_paths.department") && text.contains("attribute_paths.nick"),
        "{text}"
    );
    assert!(!text.contains("attribute_paths.title"), "{text}");
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn without_discovery_documents_nothing_is_assumed_and_check_passes() {
    let server = server(json!({"supported": false})).await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalResults": 0})))
        .mount(&server)
        .await;
    let a = adapter(
        &server,
        json!({"attribute_paths": {"d": format!("{ENTERPRISE}:department")}}),
    )
    .await;
    a.check().await.expect("unknown paths are not refused");
    let facts: std::collections::BTreeMap<String, String> = a.facts().into_iter().collect();
    assert_eq!(facts["groups"], "unknown (no /ResourceTypes)");
    assert_eq!(facts["userAttributes"], "unknown (no /Schemas)");
}
