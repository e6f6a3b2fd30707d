//! Membership writes in batches against the emulator: one write per user, not per
//! membership — one bulk edit for every user of the batch on servers with the bulk
//! endpoints, one read-modify-write per user on older ones — and the group check once per
//! batch.

use idbridge_core::{
    AdapterHandle, ErrorKind, MemberWrite, NewGroup, NewUser, Principal, registry,
};
use idbridge_dataiku::emulator::start;
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};

async fn connect(bulk: bool) -> (RunningEmulator, AdapterHandle) {
    let mut options = EmulatorOptions::default();
    if !bulk {
        options.extra.insert("bulk".into(), "false".into());
    }
    let running = start(options).await.expect("starts");
    let h = registry::build_adapter("dataiku", running.adapter_config("dss"))
        .await
        .expect("connects");
    (running, h)
}

async fn setup(h: &AdapterHandle) {
    for u in ["ann", "bob"] {
        h.create_user(&NewUser::new(u)).await.expect("user");
    }
    for g in ["red", "blue", "green"] {
        h.create_group(&NewGroup {
            name: g.into(),
            description: None,
        })
        .await
        .expect("group");
    }
    h.add_member("green", &Principal::User("ann".into()))
        .await
        .expect("seed");
}

fn add(g: &str, u: &str) -> MemberWrite {
    MemberWrite::Add {
        group: g.into(),
        member: Principal::User(u.into()),
    }
}

fn remove(g: &str, u: &str) -> MemberWrite {
    MemberWrite::Remove {
        group: g.into(),
        member: Principal::User(u.into()),
    }
}

fn batch() -> Vec<MemberWrite> {
    vec![
        add("red", "ann"),
        add("blue", "ann"),
        remove("green", "ann"),
        add("red", "bob"),
        add("nowhere", "bob"),
        add("blue", "bob"),
    ]
}

fn sent(running: &RunningEmulator, from: usize) -> Vec<String> {
    running.server.log().entries()[from..]
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

async fn check_state(h: &AdapterHandle) {
    let mut all = h.list_all_members().await.expect("memberships");
    all.sort();
    let got: Vec<(String, String)> = all
        .into_iter()
        .map(|m| (m.group, m.member.id().to_string()))
        .filter(|(_, u)| u == "ann" || u == "bob")
        .collect();
    let want: Vec<(String, String)> = [
        ("blue", "ann"),
        ("blue", "bob"),
        ("red", "ann"),
        ("red", "bob"),
    ]
    .iter()
    .map(|(g, u)| (g.to_string(), u.to_string()))
    .collect();
    assert_eq!(got, want);
    // The rest of the users' settings went through untouched.
    assert_eq!(h.get_user("ann").await.expect("ann").login, "ann");
}

fn check_results(results: &[idbridge_core::MemberWriteResult]) {
    assert_eq!(results.len(), 6);
    for (i, r) in results.iter().enumerate() {
        if i == 4 {
            let e = r.as_ref().expect_err("a missing group");
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        } else {
            assert!(r.is_ok(), "write {i}: {r:?}");
        }
    }
}

#[tokio::test]
async fn with_bulk_endpoints_a_batch_is_one_group_listing_one_user_listing_and_one_bulk_edit() {
    let (running, h) = connect(true).await;
    setup(&h).await;
    let before = running.server.log().entries().len();
    let results = h.write_members(batch()).await;
    check_results(&results);
    let requests = sent(&running, before);
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(requests[0].starts_with("GET ") && requests[0].ends_with("/admin/groups/"));
    assert!(requests[1].starts_with("GET ") && requests[1].ends_with("/admin/users/"));
    assert!(
        requests[2].starts_with("PUT ") && requests[2].ends_with("/admin/users/actions/bulk"),
        "{requests:?}"
    );
    check_state(&h).await;
}

#[tokio::test]
async fn without_bulk_endpoints_each_user_is_written_once() {
    let (running, h) = connect(false).await;
    setup(&h).await;
    let before = running.server.log().entries().len();
    let results = h.write_members(batch()).await;
    check_results(&results);
    let requests = sent(&running, before);
    // The first bulk edit is refused (404: no endpoint) and changes nothing; from then on
    // the adapter writes user by user.
    let refused = requests
        .iter()
        .filter(|r| r.ends_with("/actions/bulk"))
        .count();
    assert_eq!(refused, 1, "{requests:?}");
    let puts: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("PUT ") && !r.ends_with("/actions/bulk"))
        .collect();
    assert_eq!(puts.len(), 2, "one write per user: {requests:?}");
    assert!(puts[0].ends_with("/admin/users/ann") && puts[1].ends_with("/admin/users/bob"));
    let group_checks = requests
        .iter()
        .filter(|r| r.contains("/admin/groups"))
        .count();
    assert_eq!(group_checks, 1, "the groups checked once: {requests:?}");
    check_state(&h).await;
}

#[tokio::test]
async fn a_batch_with_nothing_to_do_writes_nothing() {
    let (running, h) = connect(true).await;
    setup(&h).await;
    let before = running.server.log().entries().len();
    let results = h
        .write_members(vec![add("green", "ann"), remove("red", "bob")])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let requests = sent(&running, before);
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn one_request_carries_any_users_changes_with_bulk_endpoints_and_one_users_without() {
    use idbridge_core::MemberBatchKey;
    let (_bulk_server, bulk) = connect(true).await;
    let (_plain_server, plain) = connect(false).await;
    // Bulk support is learnt from the first bulk request: until a server has refused one,
    // the adapter keys as if it had the endpoints.
    for w in batch() {
        assert_eq!(bulk.member_batch_key(&w), MemberBatchKey::Any, "{w:?}");
        assert_eq!(plain.member_batch_key(&w), MemberBatchKey::Any, "{w:?}");
    }
    setup(&plain).await;
    // The batch's one write to a missing group fails; the others land per user.
    let results = plain.write_members(batch()).await;
    assert_eq!(
        results.iter().filter(|r| r.is_err()).count(),
        1,
        "{results:?}"
    );
    for w in batch() {
        assert_eq!(
            plain.member_batch_key(&w),
            MemberBatchKey::Shared(w.member().id().to_string()),
            "{w:?}"
        );
    }
    let nested = MemberWrite::Add {
        group: "red".into(),
        member: Principal::Group("blue".into()),
    };
    assert_eq!(bulk.member_batch_key(&nested), MemberBatchKey::Alone);
}
