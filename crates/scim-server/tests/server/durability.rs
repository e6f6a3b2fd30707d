//! A write answered 2xx is in the state database: it survives the server going away and
//! the store being opened again, and it is counted in the change sequence the fan-out
//! follows.

use idbridge_store::{InboxKind, Store};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Server, config, id_of};

#[tokio::test]
async fn answered_writes_survive_dropping_the_server_and_reopening_the_store() {
    let mut s = Server::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let g = s
        .post(
            "/Groups",
            json!({"displayName": "ops", "members": [{"value": ann}, {"value": bob}]}),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED);
    let gid = id_of(&g.body);
    let p = s
        .patch(
            &format!("/Users/{bob}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "active", "value": false}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(
        s.delete(&format!("/Users/{ann}")).await.status,
        StatusCode::NO_CONTENT
    );
    let state = s.state.clone();
    let dir = s.dir.take();
    s.stop().await;
    drop(s);

    let store = Store::open(&state).expect("reopens");
    let users = store.inbox_list(InboxKind::User).expect("lists");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].id, bob);
    assert_eq!(users[0].resource["active"], json!(false));
    let group = store
        .inbox_get(InboxKind::Group, &gid)
        .expect("reads")
        .expect("present");
    assert_eq!(
        group.resource["members"],
        json!([{"value": bob, "type": "User"}])
    );
    // Three creates, a patch, and the delete (which also rewrote the group): 6 changes.
    assert_eq!(store.inbox_sequence().expect("sequence"), 6);
    drop(store);

    // A new server over the same file answers with what was stored.
    let s = Server::start_on(state, config()).await;
    let read = s.get(&format!("/Users/{bob}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["active"], false);
    assert_eq!(
        s.get(&format!("/Users/{ann}")).await.status,
        StatusCode::NOT_FOUND
    );
    drop(dir);
}

#[tokio::test]
async fn a_write_by_another_handle_on_the_state_is_seen_at_once() {
    let s = Server::start().await;
    let ann = s.user("ann").await;
    assert_eq!(s.get("/Users").await.body["totalResults"], 1);
    // Another writer (another process, or a tool) changes the inbox behind the server.
    let other = Store::open(&s.state).expect("opens");
    other
        .inbox_write(&[idbridge_store::InboxWrite::Put {
            kind: InboxKind::User,
            id: "from-elsewhere".into(),
            resource: json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                             "id": "from-elsewhere", "userName": "zoe",
                             "meta": {"resourceType": "User"}}),
            if_version: Some(0),
        }])
        .expect("writes");
    let list = s.get("/Users?filter=userName%20eq%20%22zoe%22").await;
    assert_eq!(list.body["totalResults"], 1, "{:?}", list.body);
    let dup = s.post("/Users", json!({"userName": "ZOE"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    // And the server's own writes after that are seen by the other handle.
    assert_eq!(
        s.delete(&format!("/Users/{ann}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(
        other
            .inbox_get(InboxKind::User, &ann)
            .expect("reads")
            .is_none()
    );
    assert_eq!(s.get("/Users").await.body["totalResults"], 1);
}
