//! The SCIM inbox: versions, preconditions, creation order, the change sequence.

use idbridge_core::ErrorKind;
use idbridge_store::{InboxKind, InboxWrite};
use serde_json::{Value, json};

use super::Fixture;

on_both_backends!(
    inbox_writes_read_back_in_creation_order_with_growing_versions,
    inbox_stale_versions_and_missing_deletes_fail_the_whole_batch,
    inbox_writes_survive_reopening_and_tenants_keep_their_own,
);

fn put(kind: InboxKind, id: &str, resource: Value, if_version: Option<i64>) -> InboxWrite {
    InboxWrite::Put {
        kind,
        id: id.into(),
        resource,
        if_version,
    }
}

fn inbox_writes_read_back_in_creation_order_with_growing_versions(f: &Fixture) {
    let store = &f.store;
    assert_eq!(store.inbox_sequence().expect("sequence"), 0);
    assert_eq!(store.inbox_applied().expect("applied"), 0);
    let v = store
        .inbox_write(&[
            put(InboxKind::User, "b", json!({"userName": "bob"}), Some(0)),
            put(InboxKind::User, "a", json!({"userName": "ada"}), None),
            put(InboxKind::Group, "g", json!({"displayName": "ops"}), None),
        ])
        .expect("writes");
    assert_eq!(v, vec![1, 2, 3]);
    assert_eq!(store.inbox_sequence().expect("sequence"), 3);
    // An update keeps the creation order and takes a new version.
    let v = store
        .inbox_write(&[put(
            InboxKind::User,
            "b",
            json!({"userName": "bobby"}),
            Some(1),
        )])
        .expect("updates");
    assert_eq!(v, vec![4]);
    let users = store.inbox_list(InboxKind::User).expect("lists");
    let ids: Vec<(&str, i64)> = users.iter().map(|e| (e.id.as_str(), e.version)).collect();
    assert_eq!(ids, vec![("b", 4), ("a", 2)]);
    assert_eq!(users[0].resource, json!({"userName": "bobby"}));
    let group = store
        .inbox_get(InboxKind::Group, "g")
        .expect("reads")
        .expect("present");
    assert_eq!(group.version, 3);
    assert_eq!(group.kind, InboxKind::Group);
    assert!(
        store
            .inbox_get(InboxKind::Group, "a")
            .expect("reads")
            .is_none()
    );
    let v = store
        .inbox_write(&[InboxWrite::Delete {
            kind: InboxKind::User,
            id: "b".into(),
            if_version: Some(4),
        }])
        .expect("deletes");
    assert_eq!(v, vec![0]);
    assert!(
        store
            .inbox_get(InboxKind::User, "b")
            .expect("reads")
            .is_none()
    );
    // Created again, it comes last and never reuses an old version.
    let v = store
        .inbox_write(&[put(
            InboxKind::User,
            "b",
            json!({"userName": "bob"}),
            Some(0),
        )])
        .expect("recreates");
    assert_eq!(v, vec![6]);
    let ids: Vec<String> = store
        .inbox_list(InboxKind::User)
        .expect("lists")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, vec!["a", "b"]);
    store.inbox_set_applied(5).expect("records");
    assert_eq!(store.inbox_applied().expect("applied"), 5);
    assert_eq!(store.inbox_sequence().expect("sequence"), 6);
}

fn inbox_stale_versions_and_missing_deletes_fail_the_whole_batch(f: &Fixture) {
    let store = &f.store;
    store
        .inbox_write(&[put(InboxKind::User, "a", json!({"n": 1}), None)])
        .expect("writes");
    let err = store
        .inbox_write(&[
            put(InboxKind::User, "z", json!({"n": 9}), None),
            put(InboxKind::User, "a", json!({"n": 2}), Some(7)),
        ])
        .expect_err("a stale version is refused");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    // The create that came first in the batch did not happen either.
    assert!(
        store
            .inbox_get(InboxKind::User, "z")
            .expect("reads")
            .is_none()
    );
    assert_eq!(store.inbox_sequence().expect("sequence"), 1);
    let err = store
        .inbox_write(&[put(InboxKind::User, "a", json!({"n": 2}), Some(0))])
        .expect_err("an existing resource is not created again");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let err = store
        .inbox_write(&[InboxWrite::Delete {
            kind: InboxKind::Group,
            id: "a".into(),
            if_version: None,
        }])
        .expect_err("a missing resource cannot be deleted");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let a = store
        .inbox_get(InboxKind::User, "a")
        .expect("reads")
        .expect("present");
    assert_eq!((a.version, a.resource), (1, json!({"n": 1})));
}

fn inbox_writes_survive_reopening_and_tenants_keep_their_own(f: &Fixture) {
    f.store
        .inbox_write(&[put(InboxKind::User, "a", json!({"userName": "ada"}), None)])
        .expect("writes");
    f.store.inbox_set_applied(1).expect("records");
    let again = f.reopen();
    let a = again
        .inbox_get(InboxKind::User, "a")
        .expect("reads")
        .expect("present after reopening");
    assert_eq!(a.resource, json!({"userName": "ada"}));
    assert_eq!(again.inbox_sequence().expect("sequence"), 1);
    assert_eq!(again.inbox_applied().expect("applied"), 1);
    let other = f.other();
    assert!(other.inbox_list(InboxKind::User).expect("lists").is_empty());
    assert_eq!(other.inbox_sequence().expect("sequence"), 0);
    let v = other
        .inbox_write(&[put(InboxKind::User, "a", json!({"userName": "x"}), None)])
        .expect("writes");
    assert_eq!(v, vec![1]);
    assert_eq!(
        f.store
            .inbox_get(InboxKind::User, "a")
            .expect("reads")
            .expect("present")
            .resource,
        json!({"userName": "ada"})
    );
}
