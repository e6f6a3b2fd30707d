//! The server over a PostgreSQL state (a private server, as the store's own tests start
//! it; skipped with a printed reason when PostgreSQL is not installed, unless
//! `IDBRIDGE_REQUIRE_POSTGRES=1`): the same writes, durable in the tenant's inbox.

#[path = "../../store/tests/support/mod.rs"]
mod pg;

use std::path::PathBuf;

use idbridge_core::Secret;
use idbridge_scim_server::{ServeConfig, serve};
use idbridge_store::{InboxKind, Store};
use serde_json::{Value, json};

const TOKEN: &str = "scim-pg-test-token-91";

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_land_in_the_tenants_inbox() {
    let Some(server) = pg::server() else {
        return;
    };
    let locator = PathBuf::from(format!("{}?tenant=acme", server.new_database()));
    let open = || Store::open_postgres(&locator, Some(Secret::new(pg::PASSWORD))).expect("opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let base = format!("http://{}/scim/v2", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        ServeConfig::new(vec![Secret::new(TOKEN)]),
        open(),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::new();
    use reqwest::Method as M;
    let (s, ann) = call(
        &http,
        M::POST,
        format!("{base}/Users"),
        Some(json!({"userName": "ann", "password": "pw-5"})),
    )
    .await;
    assert_eq!(s, 201, "{ann}");
    let ann = ann["id"].as_str().expect("id").to_string();
    let (s, _) = call(
        &http,
        M::POST,
        format!("{base}/Users"),
        Some(json!({"userName": "ANN"})),
    )
    .await;
    assert_eq!(s, 409);
    let (s, g) = call(
        &http,
        M::POST,
        format!("{base}/Groups"),
        Some(json!({"displayName": "ops", "members": [{"value": ann}]})),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().expect("id").to_string();
    let (s, _) = call(
        &http,
        M::PATCH,
        format!("{base}/Users/{ann}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        ),
    )
    .await;
    assert_eq!(s, 200);
    let (s, list) = call(
        &http,
        M::GET,
        format!("{base}/Users?filter=active%20eq%20false"),
        None,
    )
    .await;
    assert_eq!((s, list["totalResults"].clone()), (200, json!(1)));
    let _ = stop.send(());
    task.await.expect("joins").expect("serves");

    let store = open();
    let user = store
        .inbox_get(InboxKind::User, &ann)
        .expect("reads")
        .expect("stored");
    assert_eq!(user.resource["active"], json!(false));
    assert!(user.resource.get("password").is_none());
    let group = store
        .inbox_get(InboxKind::Group, &gid)
        .expect("reads")
        .expect("stored");
    assert_eq!(group.resource["members"][0]["value"], json!(ann));
    assert_eq!(store.inbox_sequence().expect("sequence"), 3);
}
