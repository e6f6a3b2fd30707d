//! Membership writes in batches against the emulator: one PATCH per group carrying every
//! add and remove of that group, no read before it, and failures kept to the writes at
//! fault.

use idbridge_core::{
    AdapterHandle, ErrorKind, MemberWrite, NewGroup, NewUser, Principal, registry,
};
use idbridge_strategy::emulator;
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator};

async fn connect() -> (RunningEmulator, AdapterHandle) {
    let running = emulator::start(EmulatorOptions::default())
        .await
        .expect("starts");
    let h = registry::build_adapter("strategy", running.adapter_config("bi"))
        .await
        .expect("connects");
    (running, h)
}

async fn users(h: &AdapterHandle, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let u = h
            .create_user(&NewUser::new(format!("batch.user.{i}")))
            .await
            .expect("user");
        out.push(u.id);
    }
    out
}

async fn group(h: &AdapterHandle, name: &str) -> String {
    h.create_group(&NewGroup {
        name: name.into(),
        description: None,
    })
    .await
    .expect("group")
    .id
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

/// The requests sent since `from`, as `METHOD path`.
fn sent(running: &RunningEmulator, from: usize) -> Vec<String> {
    running.server.log().entries()[from..]
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

async fn member_ids(h: &AdapterHandle, g: &str) -> Vec<String> {
    let mut ids: Vec<String> = h
        .all_members(g)
        .await
        .expect("members")
        .into_iter()
        .map(|p| p.id().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_batch_is_one_patch_per_group_with_no_read_first() {
    let (running, h) = connect().await;
    let u = users(&h, 4).await;
    let (g1, g2) = (group(&h, "batch-one").await, group(&h, "batch-two").await);
    h.add_member(&g1, &Principal::User(u[3].clone()))
        .await
        .expect("seed member");
    let before = running.server.log().entries().len();
    let results = h
        .write_members(vec![
            add(&g1, &u[0]),
            add(&g2, &u[0]),
            add(&g1, &u[1]),
            remove(&g1, &u[3]),
            add(&g2, &u[2]),
        ])
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        sent(&running, before),
        vec![
            format!("PATCH /MicroStrategyLibrary/api/usergroups/{g1}"),
            format!("PATCH /MicroStrategyLibrary/api/usergroups/{g2}"),
        ]
    );
    let mut want1 = vec![u[0].clone(), u[1].clone()];
    want1.sort();
    let mut want2 = vec![u[0].clone(), u[2].clone()];
    want2.sort();
    assert_eq!(member_ids(&h, &g1).await, want1);
    assert_eq!(member_ids(&h, &g2).await, want2);
}

#[tokio::test]
async fn a_missing_group_fails_its_writes_only() {
    let (_running, h) = connect().await;
    let u = users(&h, 2).await;
    let g = group(&h, "batch-present").await;
    let missing = "0123456789ABCDEF0123456789ABCDEF";
    let results = h
        .write_members(vec![
            add(missing, &u[0]),
            add(&g, &u[0]),
            add(missing, &u[1]),
        ])
        .await;
    assert!(results[1].is_ok(), "{results:?}");
    for i in [0, 2] {
        let e = results[i].as_ref().expect_err("missing group");
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    }
    assert_eq!(member_ids(&h, &g).await, vec![u[0].clone()]);
}

#[tokio::test]
async fn a_refused_patch_is_retold_write_by_write_so_only_the_culprit_fails() {
    let (_running, h) = connect().await;
    let u = users(&h, 2).await;
    let g = group(&h, "batch-culprit").await;
    let ghost = "FEDCBA9876543210FEDCBA9876543210";
    let results = h
        .write_members(vec![add(&g, &u[0]), add(&g, ghost), add(&g, &u[1])])
        .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    let e = results[1].as_ref().expect_err("unknown user");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let mut want = u.clone();
    want.sort();
    assert_eq!(member_ids(&h, &g).await, want);
}

#[tokio::test]
async fn impossible_writes_are_answered_without_a_request() {
    let (running, h) = connect().await;
    let g = group(&h, "batch-self").await;
    let before = running.server.log().entries().len();
    let results = h
        .write_members(vec![MemberWrite::Add {
            group: g.clone(),
            member: Principal::Group(g.clone()),
        }])
        .await;
    let e = results[0].as_ref().expect_err("a group in itself");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(sent(&running, before).is_empty());
}
