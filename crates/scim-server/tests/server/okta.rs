//! The requests Okta sends, with the exact bodies and queries of Okta's SCIM 2.0
//! reference ("Okta and SCIM Version 2.0",
//! developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Server, id_of};

/// "Create the User": Okta's POST body, with its placeholder password.
fn okta_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {
            "givenName": "Test",
            "familyName": "User"
        },
        "emails": [{
            "primary": true,
            "value": "test.user@okta.local",
            "type": "work"
        }],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

/// Okta's lookup before a create: "GET
/// /scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100".
const LOOKUP: &str =
    "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100";

#[tokio::test]
async fn okta_looks_up_by_user_name_with_count_100_then_creates_with_a_password() {
    let s = Server::start().await;
    let none = s.get(LOOKUP).await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(
        none.body,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": []
        }),
        "Okta reads the counts as integers"
    );
    let created = s.post("/Users", okta_user()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert!(created.body.get("password").is_none());
    assert_eq!(created.body["userName"], "test.user@okta.local");
    assert_eq!(created.body["externalId"], "00ujl29u0le5T6Aj10h7");
    let found = s.get(LOOKUP).await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], created.body["id"]);
    // Okta's duplicate create gets 409, which stops its provisioning job.
    let again = s.post("/Users", okta_user()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn okta_pages_through_users_with_start_index_and_count() {
    let s = Server::start().await;
    for i in 0..5 {
        s.user(&format!("user{i}@okta.local")).await;
    }
    // "GET /scim/v2/Users?startIndex=1&count=100" and the connection test's count=2.
    let all = s.get("/Users?startIndex=1&count=100").await.body;
    assert_eq!(
        (all["totalResults"].clone(), all["itemsPerPage"].clone()),
        (json!(5), json!(5))
    );
    let first = s.get("/Users?startIndex=1&count=2").await.body;
    let third = s.get("/Users?startIndex=5&count=2").await.body;
    assert_eq!(first["Resources"][0]["userName"], "user0@okta.local");
    assert_eq!(third["Resources"][0]["userName"], "user4@okta.local");
    assert_eq!(third["itemsPerPage"], 1);
}

#[tokio::test]
async fn okta_updates_a_profile_with_put() {
    let s = Server::start().await;
    let id = id_of(&s.post("/Users", okta_user()).await.body);
    // "Update the User": the whole user, as read, with the changed name.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": "test.user@okta.local",
        "name": {
            "givenName": "Another",
            "middleName": "Excited",
            "familyName": "User"
        },
        "emails": [{
            "primary": true,
            "value": "test.user@okta.local",
            "type": "work",
            "display": "test.user@okta.local"
        }],
        "active": true,
        "groups": [],
        "meta": {
            "resourceType": "User"
        }
    });
    let a = s.put(&format!("/Users/{id}"), body).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["name"]["givenName"], "Another");
    assert_eq!(a.body["name"]["middleName"], "Excited");
    assert_eq!(a.body["id"], json!(id));
    assert_eq!(s.get(&format!("/Users/{id}")).await.body, a.body);
}

#[tokio::test]
async fn okta_deactivates_with_patch_and_the_user_stays_readable() {
    let s = Server::start().await;
    let id = id_of(&s.post("/Users", okta_user()).await.body);
    // "Update a specific User (PATCH)": a replace without a path.
    let a = s
        .patch(
            &format!("/Users/{id}"),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{
                    "op": "replace",
                    "value": {
                        "active": false
                    }
                }]
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["active"], false);
    let read = s.get(&format!("/Users/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["active"], false);
    assert_eq!(read.body["userName"], "test.user@okta.local");
    assert_eq!(s.get(LOOKUP).await.body["totalResults"], 1);
}

#[tokio::test]
async fn okta_deactivates_with_put_and_the_user_stays_readable() {
    let s = Server::start().await;
    let created = s.post("/Users", okta_user()).await.body;
    let id = id_of(&created);
    // App Integration Wizard apps send every update, deactivation included, as PUT.
    let mut body = okta_user();
    body["id"] = json!(id);
    body["active"] = json!(false);
    if let Some(o) = body.as_object_mut() {
        o.remove("password");
    }
    let a = s.put(&format!("/Users/{id}"), body).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let read = s.get(&format!("/Users/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["active"], false);
    assert_eq!(read.body["name"], created["name"]);
}
