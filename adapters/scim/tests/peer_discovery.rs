//! Discovery and bulk writes against scim2-server, an implementation nobody here wrote:
//! what it advertises reaches `idbridge check`'s facts and the capabilities, a batch of
//! user writes goes through its `/Bulk` with each write's own outcome, and a configured
//! attribute its `/Schemas` lacks fails the check by name.

mod support;

use std::collections::BTreeMap;

use idbridge_core::{Adapter, AdapterConfig, ErrorKind, NewUser, UserWrite, Users};
use idbridge_scim::ScimAdapter;
use serde_json::json;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn create(login: &str, department: &str) -> UserWrite {
    let mut user = NewUser {
        email: Some(format!("{login}@example.com")),
        display_name: Some(format!("{login} display")),
        ..NewUser::new(login)
    };
    user.attributes
        .insert("department".into(), department.to_string());
    UserWrite::Create { user }
}

#[tokio::test]
async fn discovery_and_bulk_against_scim2_server() {
    let Some(peer) = support::Peer::start("scim2-server discovery and bulk") else {
        return;
    };
    let config = AdapterConfig::new(
        "peer",
        json!({"base_url": peer.fresh_base_url(), "token": support::TOKEN,
            "attribute_paths": {"externalId": "externalId", "department": format!("{ENTERPRISE}:department")}}),
    );
    let a = ScimAdapter::connect(&config).await.expect("connects");
    a.check().await.expect("every configured path exists");
    let facts: BTreeMap<String, String> = a.facts().into_iter().collect();
    assert_eq!(facts["patch"], "yes");
    assert_eq!(
        facts["bulk"],
        "yes (maxOperations 1000, maxPayloadSize 1048576)"
    );
    assert_eq!(facts["groups"], "yes");
    assert_eq!(facts["enterpriseUser"], "yes");
    assert!(
        facts["resourceTypes"].contains("Group (/Groups)"),
        "{facts:?}"
    );
    assert!(facts["userAttributes"].contains("userName"), "{facts:?}");
    assert_eq!(a.capabilities().users_batch_max, Some(1000));

    let before = a.client().counts();
    let results = a
        .write_users(vec![
            create("ann", "sales"),
            create("bob", "ops"),
            create("ann", "dup"),
            create("cyd", "it"),
        ])
        .await;
    let after = a.client().counts();
    assert_eq!(
        after.total() - before.total(),
        1,
        "one bulk request: {before:?} -> {after:?}"
    );
    let err = results[2].as_ref().expect_err("a second ann is refused");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    for i in [0, 1, 3] {
        let made = results[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("write {i}: {e}"))
            .clone()
            .expect("a user");
        let read = a.get_user(&made.id).await.expect("the created user reads");
        assert_eq!(read.login, made.login);
        assert_eq!(read.email, made.email);
        assert_eq!(read.display_name, made.display_name);
        assert_eq!(
            read.attributes.get("department"),
            made.attributes.get("department")
        );
    }
    let ann = results[0].as_ref().expect("ok").clone().expect("ann");
    let deleted = a
        .write_users(vec![
            UserWrite::Delete { id: ann.id.clone() },
            UserWrite::Delete {
                id: "no-such-user".into(),
            },
        ])
        .await;
    assert!(matches!(deleted[0], Ok(None)), "{:?}", deleted[0]);
    assert_eq!(
        deleted[1].as_ref().expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        a.get_user(&ann.id).await.expect_err("gone").kind(),
        ErrorKind::NotFound
    );

    let bad = ScimAdapter::connect(&AdapterConfig::new(
        "peer",
        json!({"base_url": peer.fresh_base_url(), "token": support::TOKEN,
            "attribute_paths": {"floor": format!("{ENTERPRISE}:floor")}}),
    ))
    .await
    .expect("connects");
    let err = bad.check().await.expect_err("floor is not in the schema");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("attribute_paths.floor"), "{err}");
}
