//! `/Bulk`: bulkId references, failOnErrors and the advertised limits.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Server, config};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

#[tokio::test]
async fn bulk_ids_resolve_in_any_order_and_each_operation_answers() {
    let s = Server::start().await;
    let a = s
        .post(
            "/Bulk",
            json!({
                "schemas": [BULK],
                "Operations": [
                    // The group comes first and refers to a user created after it.
                    {"method": "POST", "path": "/Groups", "bulkId": "g1",
                     "data": {"schemas": [GROUP], "displayName": "Tour Guides",
                              "members": [{"type": "User", "value": "bulkId:u1"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "u1",
                     "data": {"schemas": [USER], "userName": "alice"}},
                    {"method": "PATCH", "path": "/Users/bulkId:u1",
                     "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                              "Operations": [{"op": "replace", "path": "title", "value": "Guide"}]}}
                ]
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let ops = a.body["Operations"].as_array().expect("Operations");
    assert_eq!(ops.len(), 3);
    assert_eq!(
        a.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    assert!(
        ops.iter()
            .all(|o| o["status"] == "201" || o["status"] == "200"),
        "{ops:?}"
    );
    let user_loc = ops[1]["location"].as_str().expect("location");
    let user_id = user_loc.rsplit('/').next().expect("id");
    assert_eq!(ops[1]["bulkId"], "u1");
    assert!(
        ops[1]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("W/"))
    );
    let group = s
        .get(&format!(
            "/Groups/{}",
            ops[0]["location"]
                .as_str()
                .expect("loc")
                .rsplit('/')
                .next()
                .expect("id")
        ))
        .await;
    assert_eq!(group.body["members"][0]["value"], json!(user_id));
    assert_eq!(
        s.get(&format!("/Users/{user_id}")).await.body["title"],
        "Guide"
    );
}

#[tokio::test]
async fn fail_on_errors_stops_after_that_many_errors() {
    let s = Server::start().await;
    s.user("taken").await;
    let a = s
        .post(
            "/Bulk",
            json!({
                "schemas": [BULK],
                "failOnErrors": 1,
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "taken"}},
                    {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "fresh"}}
                ]
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let ops = a.body["Operations"].as_array().expect("Operations");
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0]["status"], "409");
    assert_eq!(ops[0]["response"]["scimType"], "uniqueness");
    assert_eq!(
        s.get("/Users").await.body["totalResults"],
        1,
        "the second never ran"
    );
    // Without failOnErrors every operation runs.
    let a = s
        .post(
            "/Bulk",
            json!({"schemas": [BULK], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "taken"}},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "fresh"}},
                {"method": "DELETE", "path": "/Users/missing"},
                {"method": "POST", "path": "/Groups", "bulkId": "c",
                 "data": {"displayName": "g", "members": [{"value": "bulkId:nowhere"}]}}
            ]}),
        )
        .await;
    let statuses: Vec<&str> = a.body["Operations"]
        .as_array()
        .expect("Operations")
        .iter()
        .map(|o| o["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["409", "201", "404", "409"]);
}

#[tokio::test]
async fn circular_bulk_ids_are_refused_without_writing() {
    let s = Server::start().await;
    let a = s
        .post(
            "/Bulk",
            json!({"schemas": [BULK], "Operations": [
                {"method": "POST", "path": "/Groups", "bulkId": "x",
                 "data": {"displayName": "x", "members": [{"value": "bulkId:y"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "y",
                 "data": {"displayName": "y", "members": [{"value": "bulkId:x"}]}}
            ]}),
        )
        .await;
    let ops = a.body["Operations"].as_array().expect("Operations");
    assert!(ops.iter().all(|o| o["status"] == "409"), "{ops:?}");
    assert_eq!(s.get("/Groups").await.body["totalResults"], 0);
}

#[tokio::test]
async fn more_operations_than_advertised_get_413() {
    let mut c = config();
    c.max_bulk_operations = 2;
    let s = Server::start_with(c).await;
    assert_eq!(
        s.get("/ServiceProviderConfig").await.body["bulk"]["maxOperations"],
        2
    );
    let op = json!({"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a"}});
    let a = s
        .post(
            "/Bulk",
            json!({"schemas": [BULK], "Operations": [op.clone(), op.clone(), op]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(s.get("/Users").await.body["totalResults"], 0);
}
