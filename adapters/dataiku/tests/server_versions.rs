//! Both sides of every version and licence switch the adapter depends on, against the
//! emulator started as each server: connecting writes nothing; the bulk user endpoints
//! (DSS 14.2+) are used on a newer server and, on an older one, the first bulk request's
//! 404 switches the connection to one request per user for good; a create refused for a
//! profile the licence does not offer names the `user_profile` key and the offer.

use idbridge_core::{
    Adapter, AdapterConfig, ErrorKind, Groups, MemberBatchKey, MemberWrite, Memberships, NewGroup,
    NewUser, Principal, UserWrite, Users,
};
use idbridge_dataiku::DataikuAdapter;
use idbridge_dataiku::emulator::start;
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};
use serde_json::{Value, json};

const OLD: &str = "14.1.4";
const NEW: &str = "14.2.0";
const BULK: &str = "/admin/users/actions/bulk";

async fn emulator(switches: &[(&str, &str)]) -> RunningEmulator {
    let mut options = EmulatorOptions::default();
    for (k, v) in switches {
        options.extra.insert((*k).into(), (*v).into());
    }
    start(options).await.expect("starts")
}

async fn connect(e: &RunningEmulator, extra: Value) -> DataikuAdapter {
    let mut config: AdapterConfig = e.adapter_config("dss");
    if let Value::Object(extra) = extra {
        config.settings.extend(extra);
    }
    DataikuAdapter::connect(config).await.expect("connects")
}

/// `(method, path)` of every request received, from the `n`th on.
fn requests_since(e: &RunningEmulator, n: usize) -> Vec<(String, String)> {
    e.server
        .log()
        .entries()
        .into_iter()
        .skip(n)
        .map(|r| (r.method, r.path))
        .collect()
}

fn bulk_requests(requests: &[(String, String)]) -> usize {
    requests.iter().filter(|(_, p)| p.ends_with(BULK)).count()
}

fn creates(logins: &[&str]) -> Vec<UserWrite> {
    logins
        .iter()
        .map(|l| UserWrite::Create {
            user: NewUser::new(*l),
        })
        .collect()
}

#[tokio::test]
async fn connecting_writes_nothing_on_either_version() {
    for version in [OLD, NEW] {
        let e = emulator(&[("version", version)]).await;
        let a = connect(&e, json!({})).await;
        // Assumed until a bulk request says otherwise.
        assert!(a.uses_bulk(), "{version}");
        let sent = requests_since(&e, 0);
        assert!(
            sent.iter().all(|(m, _)| m == "GET"),
            "{version}: connecting sent {sent:?}"
        );
    }
}

#[tokio::test]
async fn a_newer_server_gets_one_bulk_request_per_run() {
    let e = emulator(&[("version", NEW)]).await;
    let a = connect(&e, json!({})).await;
    let results = a.write_users(creates(&["ann", "bob"])).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let sent = requests_since(&e, 0);
    assert_eq!(bulk_requests(&sent), 1, "{sent:?}");
    assert!(
        !sent
            .iter()
            .any(|(m, p)| m == "POST" && p.ends_with("/admin/users/"))
    );
    assert!(a.uses_bulk());
    assert_eq!(a.capabilities().users_batch_max, Some(100));
}

#[tokio::test]
async fn an_older_server_falls_back_after_one_refused_bulk_request_and_remembers() {
    let e = emulator(&[("version", OLD)]).await;
    let a = connect(&e, json!({})).await;
    let results = a.write_users(creates(&["ann", "bob"])).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(a.get_user("bob").await.expect("created").id, "bob");
    let sent = requests_since(&e, 0);
    assert_eq!(
        bulk_requests(&sent),
        1,
        "one refused bulk request: {sent:?}"
    );
    let posts = sent
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/admin/users/"))
        .count();
    assert_eq!(posts, 2, "{sent:?}");
    assert!(!a.uses_bulk());
    assert_eq!(a.capabilities().users_batch_max, None);
    // Without the bulk endpoints each user's membership changes travel in their own request.
    let write = MemberWrite::Add {
        group: "analysts".into(),
        member: Principal::User("ann".into()),
    };
    assert_eq!(
        a.member_batch_key(&write),
        MemberBatchKey::Shared("ann".into())
    );

    // Remembered: later batches, of users or memberships, never try the bulk path again.
    let before = e.server.log().entries().len();
    let results = a.write_users(creates(&["cid"])).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let sent = requests_since(&e, before);
    assert_eq!(bulk_requests(&sent), 0, "{sent:?}");
}

#[tokio::test]
async fn membership_batches_on_an_older_server_fall_back_too() {
    let e = emulator(&[("version", OLD)]).await;
    let a = connect(&e, json!({})).await;
    a.create_user(&NewUser::new("ann")).await.expect("user");
    a.create_group(&NewGroup {
        name: "red".into(),
        description: None,
    })
    .await
    .expect("group");
    let before = e.server.log().entries().len();
    let results = a
        .write_members(vec![MemberWrite::Add {
            group: "red".into(),
            member: Principal::User("ann".into()),
        }])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let sent = requests_since(&e, before);
    assert_eq!(bulk_requests(&sent), 1, "{sent:?}");
    assert!(
        sent.iter()
            .any(|(m, p)| m == "PUT" && p.ends_with("/admin/users/ann")),
        "{sent:?}"
    );
    assert_eq!(a.get_user("ann").await.expect("user").id, "ann");
    let members = a.list_all_members().await.expect("members");
    assert!(
        members
            .iter()
            .any(|m| m.group == "red" && m.member == Principal::User("ann".into())),
        "{members:?}"
    );
}

#[tokio::test]
async fn bulk_on_never_falls_back_and_off_never_tries() {
    let e = emulator(&[("version", OLD)]).await;
    let on = connect(&e, json!({"bulk": "on"})).await;
    let results = on.write_users(creates(&["ann"])).await;
    assert_eq!(
        results[0].clone().expect_err("no endpoint").kind(),
        ErrorKind::NotFound
    );
    assert!(on.uses_bulk());

    let off = connect(&e, json!({"bulk": "off"})).await;
    let before = e.server.log().entries().len();
    let results = off.write_users(creates(&["ann"])).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(bulk_requests(&requests_since(&e, before)), 0);
}

#[tokio::test]
async fn a_profile_the_licence_lacks_is_named_with_the_key_and_the_offer() {
    for version in [OLD, NEW] {
        let e = emulator(&[
            ("version", version),
            ("profiles", "AI_CONSUMER,DATA_DESIGNER"),
        ])
        .await;
        let a = connect(&e, json!({})).await;
        let single = a
            .create_user(&NewUser::new("ann"))
            .await
            .expect_err("READER is not offered");
        let batch = a.write_users(creates(&["bob"])).await;
        let batch = batch[0].clone().expect_err("READER is not offered");
        for e in [single, batch] {
            assert_eq!(e.kind(), ErrorKind::Config, "{version}: {e}");
            let text = e.to_string();
            for part in ["`user_profile`", "`READER`", "AI_CONSUMER, DATA_DESIGNER"] {
                assert!(text.contains(part), "{version}: {part} in {text}");
            }
        }

        let fits = connect(&e, json!({"user_profile": "AI_CONSUMER"})).await;
        fits.create_user(&NewUser::new("ann"))
            .await
            .expect("offered");
        let batch = fits.write_users(creates(&["bob"])).await;
        assert!(batch.iter().all(Result::is_ok), "{version}: {batch:?}");
    }
}

#[tokio::test]
async fn other_refusals_are_left_as_they_are() {
    let e = emulator(&[("profiles", "READER")]).await;
    let a = connect(&e, json!({})).await;
    a.create_user(&NewUser::new("ann")).await.expect("offered");
    let e = a
        .create_user(&NewUser::new("ann"))
        .await
        .expect_err("duplicate");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}
