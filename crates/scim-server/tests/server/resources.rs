//! Reading and writing users and groups: create, replace, delete, uniqueness, member
//! references, versions and preconditions.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Server, TOKEN, answer, id_of};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[tokio::test]
async fn a_created_user_reads_back_with_meta_etag_and_location() {
    let s = Server::start().await;
    let a = s
        .post(
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "userName": "Ada@Example.com",
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "emails": [{"value": "ada@example.com", "type": "work", "primary": "True"}],
                ENTERPRISE: {"department": "Engineering"},
                "id": "chosen-by-client",
                "meta": {"resourceType": "Whatever"}
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let id = id_of(&a.body);
    assert_ne!(id, "chosen-by-client", "the server assigns ids");
    let location = a.body["meta"]["location"].as_str().expect("a location");
    assert_eq!(location, s.url(&format!("/Users/{id}")));
    assert_eq!(a.header("location"), Some(location));
    assert_eq!(a.body["meta"]["resourceType"], "User");
    let version = a.body["meta"]["version"].as_str().expect("a version");
    assert!(version.starts_with("W/\""), "{version}");
    assert_eq!(a.header("etag"), Some(version));
    assert_eq!(a.body["meta"]["created"], a.body["meta"]["lastModified"]);
    assert_eq!(a.body["emails"][0]["primary"], json!(true));
    assert_eq!(a.body["schemas"], json!([USER, ENTERPRISE]));
    let read = s.get(&format!("/Users/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, a.body);
    assert_eq!(read.body[ENTERPRISE]["department"], "Engineering");
}

#[tokio::test]
async fn user_names_are_unique_without_regard_to_case() {
    let s = Server::start().await;
    let first = s.user("kim@example.com").await;
    let dup = s
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "KIM@example.com"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["scimType"], "uniqueness");
    assert_eq!(dup.body["status"], "409");
    // A rename onto another user's name is refused too, and a user keeps its own.
    let other = s.user("lee@example.com").await;
    let clash = s
        .put(
            &format!("/Users/{other}"),
            json!({"schemas": [USER], "userName": "Kim@Example.com"}),
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    let same = s
        .put(
            &format!("/Users/{first}"),
            json!({"schemas": [USER], "userName": "KIM@EXAMPLE.COM"}),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{:?}", same.body);
}

#[tokio::test]
async fn required_attributes_and_types_are_checked() {
    let s = Server::start().await;
    for body in [
        json!({"schemas": [USER]}),
        json!({"schemas": [USER], "userName": ""}),
        json!({"schemas": [USER], "userName": 7}),
        json!({"schemas": [USER], "userName": "x", "active": "maybe"}),
        json!({"schemas": [USER], "userName": "x", "emails": "not-a-list"}),
        json!({"schemas": [USER], "userName": "x", ENTERPRISE: "not-an-object"}),
    ] {
        let a = s.post("/Users", body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(a.body["scimType"], "invalidValue", "{body}");
    }
    let a = s.post("/Groups", json!({"schemas": [GROUP]})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // Attributes no schema defines are ignored: identity providers send attributes mapped
    // for other applications.
    let a = s
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "x", "urn:example:unknown": {"a": 1}, "shoeSize": 44}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert!(a.body.get("shoeSize").is_none() && a.body.get("urn:example:unknown").is_none());
    assert_eq!(
        s.delete(&format!("/Users/{}", a.body["id"].as_str().unwrap_or("")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let a = s.post("/Users", json!(["not", "an", "object"])).await;
    assert_eq!(a.body["scimType"], "invalidSyntax");
    assert_eq!(s.get("/Users").await.body["totalResults"], 0);
}

#[tokio::test]
async fn put_replaces_everything_but_id_and_creation_time() {
    let s = Server::start().await;
    let created = s
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "joe", "title": "Engineer", "nickName": "J"}),
        )
        .await
        .body;
    let id = id_of(&created);
    let a = s
        .put(
            &format!("/Users/{id}"),
            json!({"schemas": [USER], "id": "other", "userName": "joe", "title": "Manager"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["id"], json!(id));
    assert_eq!(a.body["title"], "Manager");
    assert!(
        a.body.get("nickName").is_none(),
        "PUT drops what it leaves out"
    );
    assert_eq!(a.body["meta"]["created"], created["meta"]["created"]);
    assert_ne!(a.body["meta"]["version"], created["meta"]["version"]);
    let missing = s
        .put(
            "/Users/missing",
            json!({"schemas": [USER], "userName": "x"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn if_match_with_a_stale_version_gets_412_and_changes_nothing() {
    let s = Server::start().await;
    let created = s
        .post("/Users", json!({"schemas": [USER], "userName": "eve"}))
        .await;
    let id = id_of(&created.body);
    let v1 = created.header("etag").expect("etag").to_string();
    let ok = answer(
        s.http
            .put(s.url(&format!("/Users/{id}")))
            .bearer_auth(TOKEN)
            .header("if-match", &v1)
            .json(&json!({"schemas": [USER], "userName": "eve", "title": "A"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let v2 = ok.header("etag").expect("etag").to_string();
    assert_ne!(v1, v2);
    for method in [Method::PUT, Method::DELETE] {
        let mut req = s
            .http
            .request(method.clone(), s.url(&format!("/Users/{id}")))
            .bearer_auth(TOKEN)
            .header("if-match", &v1);
        if method == Method::PUT {
            req = req.json(&json!({"schemas": [USER], "userName": "eve", "title": "B"}));
        }
        let stale = answer(req).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{method}");
        assert_eq!(stale.body["status"], "412");
    }
    let now = s.get(&format!("/Users/{id}")).await;
    assert_eq!(now.body["title"], "A");
    // If-None-Match with the current version: not modified.
    let same = answer(
        s.http
            .get(s.url(&format!("/Users/{id}")))
            .bearer_auth(TOKEN)
            .header("if-none-match", &v2),
    )
    .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    let any = answer(
        s.http
            .delete(s.url(&format!("/Users/{id}")))
            .bearer_auth(TOKEN)
            .header("if-match", "*"),
    )
    .await;
    assert_eq!(any.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_password_is_accepted_and_never_stored_or_returned() {
    let s = Server::start().await;
    let a = s
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "pat", "password": "Throwaway-Pw-91x"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a.body.get("password").is_none());
    let id = id_of(&a.body);
    let listed = s.get("/Users?attributes=password,userName").await;
    assert!(!listed.body.to_string().contains("Throwaway-Pw-91x"));
    assert!(
        s.get(&format!("/Users/{id}"))
            .await
            .body
            .get("password")
            .is_none()
    );
    drop(s);
    // Nowhere in the state file either.
}

#[tokio::test]
async fn the_state_file_never_holds_a_password() {
    let mut s = Server::start().await;
    s.post(
        "/Users",
        json!({"schemas": [USER], "userName": "pw", "password": "Secret-In-Body-42"}),
    )
    .await;
    s.stop().await;
    let store = idbridge_store::Store::open(&s.state).expect("reopens");
    let users = store
        .inbox_list(idbridge_store::InboxKind::User)
        .expect("lists");
    assert_eq!(users.len(), 1);
    assert!(!users[0].resource.to_string().contains("Secret-In-Body-42"));
}

#[tokio::test]
async fn group_members_must_exist_and_deleting_a_user_leaves_its_groups() {
    let s = Server::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let bad = s
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "ops", "members": [{"value": "nobody"}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["scimType"], "invalidValue");
    let g = s
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "ops",
                   "members": [{"value": ann}, {"value": bob}, {"value": ann}]}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{:?}", g.body);
    let gid = id_of(&g.body);
    let members: Vec<&Value> = g.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .collect();
    assert_eq!(members.len(), 2, "a member listed twice is kept once");
    assert_eq!(members[0]["type"], "User");
    assert_eq!(members[0]["$ref"], json!(s.url(&format!("/Users/{ann}"))));
    // A user shows its groups (read-only).
    let a = s.get(&format!("/Users/{ann}")).await;
    assert_eq!(a.body["groups"][0]["value"], json!(gid));
    assert_eq!(a.body["groups"][0]["display"], "ops");
    // A nested group is a member too.
    let outer = s
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "all", "members": [{"value": gid}]}),
        )
        .await;
    assert_eq!(outer.body["members"][0]["type"], "Group");
    let del = s.delete(&format!("/Users/{ann}")).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get(&format!("/Users/{ann}")).await.status,
        StatusCode::NOT_FOUND
    );
    let g = s.get(&format!("/Groups/{gid}")).await;
    assert_eq!(
        g.body["members"],
        json!([{"value": bob, "type": "User", "$ref": s.url(&format!("/Users/{bob}"))}])
    );
    assert_eq!(
        s.delete(&format!("/Groups/{gid}")).await.status,
        StatusCode::NO_CONTENT
    );
    let outer = s.get(&format!("/Groups/{}", id_of(&outer.body))).await;
    assert_eq!(outer.body["members"], json!([]));
    assert_eq!(
        s.delete(&format!("/Users/{ann}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_patch_of_a_whole_extension_may_carry_the_extension_schemas() {
    let s = Server::start().await;
    let id = s.user("ext").await;
    let a = s
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "add", "path": ENTERPRISE,
                                   "value": {"schemas": [ENTERPRISE], "department": "Ops"}}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body[ENTERPRISE], json!({"department": "Ops"}));
    assert_eq!(a.body["schemas"], json!([USER, ENTERPRISE]));
    let bad = s
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "id", "value": "mine"}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["scimType"], "mutability");
    let bad = s
        .patch(
            &format!("/Users/{id}"),
            json!({"Operations": [{"op": "frobnicate", "path": "title"}]}),
        )
        .await;
    assert_eq!(bad.body["scimType"], "invalidSyntax");
    assert_eq!(s.get(&format!("/Users/{id}")).await.body["id"], json!(id));
}
