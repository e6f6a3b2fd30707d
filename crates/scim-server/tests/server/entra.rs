//! The requests Microsoft Entra ID sends, with the exact bodies and queries of its
//! published guides: "Tutorial: Develop and plan provisioning for a SCIM endpoint"
//! (learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
//! its "User Operations" and "Group Operations" requests) and "Known issues and
//! resolutions with SCIM 2.0 protocol compliance" (learn.microsoft.com/entra/identity/
//! app-provisioning/application-provisioning-config-problem-scim-compatibility, the
//! requests "Without feature flag" and "With feature flag").

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Server, id_of};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// "Create User".
fn entra_user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
        }],
        "meta": {
            "resourceType": "User"
        },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        },
        "roles": []
    })
}

/// "Create Group" (with Entra's extra schema URN).
fn entra_group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {
            "resourceType": "Group"
        }
    })
}

async fn created(s: &Server, path: &str, body: Value) -> String {
    let a = s.post(path, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    id_of(&a.body)
}

#[tokio::test]
async fn entra_creates_a_user_and_finds_it_by_user_name_and_external_id() {
    let s = Server::start().await;
    let none = s
        .get(r#"/Users?filter=userName eq "non-existent user""#)
        .await;
    assert_eq!(
        (none.status, none.body["totalResults"].clone()),
        (StatusCode::OK, json!(0))
    );
    let id = created(&s, "/Users", entra_user()).await;
    let by_name = s
        .get(r#"/Users?filter=userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1""#)
        .await;
    assert_eq!(by_name.body["Resources"][0]["id"], json!(id));
    let by_external = s
        .get(r#"/Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#)
        .await;
    assert_eq!(by_external.status, StatusCode::OK, "{:?}", by_external.body);
    assert_eq!(by_external.body["totalResults"], 1);
    assert_eq!(by_external.body["Resources"][0]["id"], json!(id));
}

#[tokio::test]
async fn entra_replaces_with_a_capitalised_op_and_value_filter_paths() {
    let s = Server::start().await;
    let id = created(&s, "/Users", entra_user()).await;
    // "Update User [Multi-valued properties]".
    let a = s
        .patch(
            &format!("/Users/{id}"),
            json!({
                "schemas": [PATCH_OP],
                "Operations": [
                    {
                        "op": "Replace",
                        "path": "emails[type eq \"work\"].value",
                        "value": "updatedEmail@microsoft.com"
                    },
                    {
                        "op": "Replace",
                        "path": "name.familyName",
                        "value": "updatedFamilyName"
                    }
                ]
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(a.body["emails"][0]["type"], "work");
    assert_eq!(a.body["name"]["familyName"], "updatedFamilyName");
    assert_eq!(a.body["name"]["givenName"], "givenName");
}

#[tokio::test]
async fn entra_disables_with_the_string_false_and_the_user_stays_readable() {
    let s = Server::start().await;
    let id = created(&s, "/Users", entra_user()).await;
    // "Requests made to disable users", without the feature flag.
    let a = s
        .patch(
            &format!("/Users/{id}"),
            json!({
                "schemas": [PATCH_OP],
                "Operations": [
                    {
                        "op": "Replace",
                        "path": "active",
                        "value": "False"
                    }
                ]
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["active"], json!(false), "stored as a boolean");
    let read = s.get(&format!("/Users/{id}")).await;
    assert_eq!(read.body["active"], json!(false));
    let found = s.get(r#"/Users?filter=active eq false"#).await;
    assert_eq!(found.body["totalResults"], 1);
}

#[tokio::test]
async fn entra_replaces_several_attributes_with_a_path_less_replace() {
    let s = Server::start().await;
    let id = created(&s, "/Users", entra_user()).await;
    // "Requests to replace multiple attributes", with the feature flag.
    let a = s
        .patch(
            &format!("/Users/{id}"),
            json!({
                "schemas": [PATCH_OP],
                "Operations": [
                    {
                        "op": "replace",
                        "path": "emails[type eq \"work\"].value",
                        "value": "TestMhvaes@test.microsoft.com"
                    },
                    {
                        "op": "replace",
                        "value": {
                            "displayName": "Bjfe",
                            "name.givenName": "Kkom",
                            "name.familyName": "Unua",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
                        }
                    }
                ]
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let b = &a.body;
    assert_eq!(b["displayName"], "Bjfe");
    assert_eq!(b["name"]["givenName"], "Kkom");
    assert_eq!(b["name"]["familyName"], "Unua");
    assert_eq!(b["emails"][0]["value"], "TestMhvaes@test.microsoft.com");
    assert_eq!(
        b["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "Aklq"
    );
    assert!(b["schemas"].as_array().is_some_and(|s| s.contains(&json!(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ))));
}

#[tokio::test]
async fn entra_reads_groups_without_members_and_filters_on_display_name() {
    let s = Server::start().await;
    let user = created(&s, "/Users", entra_user()).await;
    let gid = created(&s, "/Groups", entra_group()).await;
    let add = s
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"$ref": null, "value": user}]}]}),
        )
        .await;
    assert_eq!(add.status, StatusCode::NO_CONTENT, "{:?}", add.body);
    // "Get Group".
    let one = s
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body.get("members").is_none(), "{:?}", one.body);
    assert_eq!(one.body["displayName"], "displayName");
    // "Get Group by displayName".
    let list = s
        .get(r#"/Groups?excludedAttributes=members&filter=displayName eq "displayName""#)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(list.body["totalResults"], 1);
    assert_eq!(list.body["Resources"][0]["id"], json!(gid));
    assert!(list.body["Resources"][0].get("members").is_none());
    let members = s.get(&format!("/Groups/{gid}")).await.body["members"].clone();
    assert_eq!(members[0]["value"], json!(user));
}

#[tokio::test]
async fn entra_adds_and_removes_members_with_a_value_array() {
    let s = Server::start().await;
    let user = created(&s, "/Users", entra_user()).await;
    let gid = created(&s, "/Groups", entra_group()).await;
    // "Update Group [Add Members]".
    let add = s
        .patch(
            &format!("/Groups/{gid}"),
            json!({
                "schemas": [PATCH_OP],
                "Operations": [{
                    "op": "Add",
                    "path": "members",
                    "value": [{
                        "$ref": null,
                        "value": user
                    }]
                }]
            }),
        )
        .await;
    // The guide's answer to a group PATCH: 204, no member list.
    assert_eq!(add.status, StatusCode::NO_CONTENT, "{:?}", add.body);
    assert!(add.header("etag").is_some());
    let members = s.get(&format!("/Groups/{gid}")).await.body["members"].clone();
    assert_eq!(members[0]["value"], json!(user));
    // "Requests made to remove a group member", without the feature flag.
    let remove = s
        .patch(
            &format!("/Groups/{gid}"),
            json!({
                "schemas": [PATCH_OP],
                "Operations": [
                    {
                        "op": "Remove",
                        "path": "members",
                        "value": [
                            {
                                "value": user
                            }
                        ]
                    }
                ]
            }),
        )
        .await;
    assert_eq!(remove.status, StatusCode::NO_CONTENT, "{:?}", remove.body);
    let members = s.get(&format!("/Groups/{gid}")).await.body["members"].clone();
    assert!(members.is_null() || members == json!([]), "{members}");
    // The same removal again (a retry) changes nothing and succeeds.
    let again = s
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": user}]}]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "{:?}", again.body);
    // "Update Group [Non-member attributes]".
    let renamed = s
        .patch(
            &format!("/Groups/{gid}"),
            json!({
                "schemas": [PATCH_OP],
                "Operations": [{
                    "op": "Replace",
                    "path": "displayName",
                    "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
                }]
            }),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get(&format!("/Groups/{gid}?attributes=displayName"))
            .await
            .body["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    // Asked for attributes, a group PATCH answers the group.
    let asked = s
        .patch(
            &format!("/Groups/{gid}?excludedAttributes=members"),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "externalId", "value": "x1"}]}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert_eq!(asked.body["externalId"], "x1");
    assert!(asked.body.get("members").is_none());
    // Adding someone who does not exist is refused.
    let ghost = s
        .patch(
            &format!("/Groups/{gid}"),
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"value": "f648f8d5ea4e4cd38e9c"}]}]}),
        )
        .await;
    assert_eq!(ghost.status, StatusCode::BAD_REQUEST);
    assert_eq!(ghost.body["scimType"], "invalidValue");
    // "Delete User", then "Delete Group".
    assert_eq!(
        s.delete(&format!("/Users/{user}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.delete(&format!("/Groups/{gid}")).await.status,
        StatusCode::NO_CONTENT
    );
}
