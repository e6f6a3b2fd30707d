//! Group commit: concurrent writes share rewrites (counted, not timed), every acknowledged
//! write is on disk, and a failed rewrite fails the writes it carried and loses nothing
//! acknowledged before it.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use idbridge_core::{
    ErrorKind, GroupChanges, GroupWrite, Groups, MemberBatchKey, MemberWrite, Memberships,
    NewGroup, NewUser, PageRequest, Principal, Result, Users,
};

use super::Fault;
use crate::FileAdapter;
use crate::format::{DirGroup, DirUser, Directory, SaveStep};

/// A directory of `users` users `u<i>` and `groups` groups `g<i>`, no memberships.
fn seed(path: &Path, users: usize, groups: usize) {
    let mut dir = Directory::new();
    dir.groups = (0..groups)
        .map(|i| DirGroup {
            id: format!("g{i}"),
            name: format!("group-{i}"),
            description: None,
            groups: Vec::new(),
        })
        .collect();
    dir.users = (0..users)
        .map(|i| DirUser {
            id: format!("u{i}"),
            login: format!("user{i}"),
            email: None,
            display_name: None,
            enabled: true,
            groups: Vec::new(),
            attributes: Default::default(),
        })
        .collect();
    dir.save_atomic(path).expect("seed saves");
}

fn open(path: &Path) -> Arc<FileAdapter> {
    Arc::new(FileAdapter::open(path, false).expect("opens"))
}

/// The file as a fresh adapter would read it.
fn on_disk(path: &Path) -> Directory {
    Directory::load(path).expect("the file loads")
}

/// Every user's groups, as `(login, group)` pairs, sorted.
fn memberships(dir: &Directory) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = dir
        .users
        .iter()
        .flat_map(|u| u.groups.iter().map(|g| (u.login.clone(), g.clone())))
        .collect();
    out.sort();
    out
}

/// A fault failing every save at `at` while `on` is set.
fn fault_at(at: SaveStep, on: Arc<AtomicBool>) -> Fault {
    Arc::new(move |step| {
        if step == at && on.load(Ordering::SeqCst) {
            Err(std::io::Error::other("injected failure"))
        } else {
            Ok(())
        }
    })
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("lists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_membership_writes_share_few_rewrites_and_all_land() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 250, 4);
    let adapter = open(&path);
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let a = adapter.clone();
        tasks.push(tokio::spawn(async move {
            let (user, group) = (format!("u{}", i % 250), format!("g{}", i / 250));
            a.add_member(&group, &Principal::User(user)).await
        }));
    }
    for t in tasks {
        t.await.expect("joins").expect("every add is acknowledged");
    }
    let rewrites = adapter.rewrites();
    println!("1000 concurrent membership adds: {rewrites} rewrites of the file");
    assert!(rewrites >= 1);
    assert!(
        rewrites <= 100,
        "{rewrites} rewrites for 1000 concurrent writes: they did not share rewrites"
    );
    let disk = on_disk(&path);
    assert_eq!(memberships(&disk).len(), 1000);
    assert_eq!(
        disk,
        adapter.snapshot().await,
        "memory holds what the file holds"
    );
}

/// A client like the apply engine: `clients` tasks each send `batches` membership batches
/// one after another, each waiting for its answer. With every save slowed down, the
/// batches that arrive during one rewrite share the next: what counts the rewrites here
/// is how many batches wait together, not a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_kept_in_flight_by_a_bounded_client_share_rewrites() {
    let (clients, batches, per_batch) = (8usize, 6usize, 20usize);
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    let users = clients * batches * per_batch;
    seed(&path, users, 1);
    let adapter = open(&path);
    adapter.set_fault(Some(Arc::new(|step| {
        if step == SaveStep::BeforeRename {
            std::thread::sleep(Duration::from_millis(30));
        }
        Ok(())
    })));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let a = adapter.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..batches {
                let batch = (0..per_batch)
                    .map(|i| MemberWrite::Add {
                        group: "g0".into(),
                        member: Principal::User(format!("u{}", (c * batches + b) * per_batch + i)),
                    })
                    .collect();
                for result in a.write_members(batch).await {
                    result.expect("every add is acknowledged");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("joins");
    }
    let rewrites = adapter.rewrites() as usize;
    let sent = clients * batches;
    println!("{sent} batches from {clients} clients: {rewrites} rewrites");
    // Eight in flight, each rewrite carries the batches that arrived during the one
    // before: about seven after the first. One or two a rewrite is what a caller
    // waiting its turn behind the next rewrite made of it.
    assert!(
        rewrites * 3 <= sent,
        "{rewrites} rewrites for {sent} batches kept {clients} in flight: they did not share"
    );
    assert_eq!(memberships(&on_disk(&path)).len(), users);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_end_in_one_file_and_are_read_back_after_their_ack() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 0, 0);
    let adapter = open(&path);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let a = adapter.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let user = a.create_user(&NewUser::new(format!("user{i}"))).await?;
                // Read-your-writes: acknowledged means visible.
                let read = a.get_user(&user.id).await?;
                assert_eq!(read.login, user.login);
                Ok::<_, idbridge_core::Error>(user.id)
            } else {
                let group = a
                    .create_group(&NewGroup {
                        name: format!("group{i}"),
                        description: None,
                    })
                    .await?;
                let read = a.get_group(&group.id).await?;
                assert_eq!(read.name, group.name);
                Ok(group.id)
            }
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(
            t.await
                .expect("joins")
                .expect("every create is acknowledged"),
        );
    }
    println!("200 concurrent creates: {} rewrites", adapter.rewrites());
    assert!(adapter.rewrites() < 200);
    let disk = on_disk(&path);
    assert_eq!(disk.users.len(), 100);
    assert_eq!(disk.groups.len(), 100);
    for id in &ids {
        assert!(
            disk.user(id).is_some() || disk.group(id).is_some(),
            "{id} is on disk"
        );
    }
    let listed = adapter
        .list_users(PageRequest {
            cursor: None,
            size: Some(1000),
        })
        .await
        .expect("lists");
    assert_eq!(listed.items.len(), 100);
}

#[tokio::test]
async fn a_membership_batch_is_one_rewrite_and_its_writes_fail_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 1000, 3);
    let adapter = open(&path);
    let mut batch: Vec<MemberWrite> = (0..1000)
        .map(|i| MemberWrite::Add {
            group: format!("g{}", i % 3),
            member: Principal::User(format!("u{i}")),
        })
        .collect();
    assert_eq!(adapter.member_batch_key(&batch[0]), MemberBatchKey::Any);
    batch[500] = MemberWrite::Add {
        group: "g-missing".into(),
        member: Principal::User("u1".into()),
    };
    let results = adapter.write_members(batch).await;
    assert_eq!(adapter.rewrites(), 1);
    assert_eq!(
        results[500].as_ref().expect_err("missing group").kind(),
        ErrorKind::NotFound
    );
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 999);
    assert_eq!(memberships(&on_disk(&path)).len(), 999);
}

#[tokio::test]
async fn a_group_batch_is_one_rewrite_and_its_writes_fail_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 10, 3);
    let adapter = open(&path);
    let new = |name: String| GroupWrite::Create {
        group: NewGroup {
            name,
            description: None,
        },
    };
    let mut batch: Vec<GroupWrite> = (0..500).map(|i| new(format!("team-{i}"))).collect();
    // A name already taken (ignoring case), a rename, a delete of a missing group and a
    // delete of an existing one share the rewrite; the failing two fail alone.
    batch[100] = new("GROUP-1".into());
    batch.push(GroupWrite::Update {
        id: "g0".into(),
        changes: GroupChanges {
            name: Some("renamed".into()),
            ..GroupChanges::default()
        },
    });
    batch.push(GroupWrite::Delete {
        id: "g-missing".into(),
    });
    batch.push(GroupWrite::Delete { id: "g2".into() });
    let results = adapter.write_groups(batch).await;
    assert_eq!(adapter.rewrites(), 1, "one rewrite for the whole batch");
    assert_eq!(results.len(), 503);
    assert_eq!(
        results[100].as_ref().expect_err("taken").kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        results[501].as_ref().expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    assert!(matches!(&results[502], Ok(None)), "{:?}", results[502]);
    let created = results[0]
        .as_ref()
        .expect("created")
        .clone()
        .expect("a record");
    assert_eq!(created.name, "team-0");
    let disk = on_disk(&path);
    assert_eq!(
        disk.group(&created.id).map(|g| g.name.as_str()),
        Some("team-0")
    );
    assert_eq!(disk.group("g0").map(|g| g.name.as_str()), Some("renamed"));
    assert!(disk.group("g2").is_none());
    // 3 seeded, 499 created, 1 deleted.
    assert_eq!(disk.groups.len(), 501);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_rewrite_fails_its_writes_and_loses_nothing_acknowledged() {
    for step in [SaveStep::PartlyWritten, SaveStep::BeforeRename] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("d.yaml");
        seed(&path, 100, 2);
        let adapter = open(&path);
        let failing = Arc::new(AtomicBool::new(false));
        adapter.set_fault(Some(fault_at(step, failing.clone())));

        for i in 0..50 {
            adapter
                .add_member("g0", &Principal::User(format!("u{i}")))
                .await
                .expect("acknowledged");
        }
        let acked = on_disk(&path);
        assert_eq!(memberships(&acked).len(), 50);

        failing.store(true, Ordering::SeqCst);
        let mut tasks = Vec::new();
        for i in 0..50 {
            let a = adapter.clone();
            tasks.push(tokio::spawn(async move {
                a.add_member("g1", &Principal::User(format!("u{i}"))).await
            }));
        }
        for t in tasks {
            let err = t.await.expect("joins").expect_err("the rewrite failed");
            assert!(err.to_string().contains("injected failure"), "{err}");
        }
        assert_eq!(
            on_disk(&path),
            acked,
            "{step:?}: the file is as acknowledged"
        );
        assert_eq!(
            adapter.snapshot().await,
            acked,
            "{step:?}: memory was rolled back"
        );
        let members = adapter
            .list_members("g1", PageRequest::default())
            .await
            .expect("lists");
        assert!(
            members.items.is_empty(),
            "{step:?}: no failed write is listed"
        );
        assert!(temp_files(tmp.path()).is_empty(), "{step:?}: no temp file");

        // The next rewrite works and carries only what was acknowledged since.
        failing.store(false, Ordering::SeqCst);
        adapter
            .add_member("g1", &Principal::User("u0".into()))
            .await
            .expect("acknowledged");
        let disk = on_disk(&path);
        assert_eq!(memberships(&disk).len(), 51);
        assert_eq!(disk, adapter.snapshot().await);
    }
}

/// The writes change the document held in place: a rewrite cut short by a panic, after
/// its writes changed it, leaves the document as the file holds it, for readers and for
/// the writes after it.
#[tokio::test]
async fn a_rewrite_that_panics_midway_leaves_memory_as_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 3, 1);
    let adapter = open(&path);
    adapter
        .add_member("g0", &Principal::User("u0".into()))
        .await
        .expect("acknowledged");
    let acked = on_disk(&path);
    type Write = Box<dyn FnMut(&mut crate::draft::Draft) -> Result<()> + Send>;
    let join: Write = Box::new(|d: &mut crate::draft::Draft| {
        crate::ops::add_member(d, "g0", &Principal::User("u1".into()))
    });
    let panics: Write = Box::new(|d: &mut crate::draft::Draft| {
        crate::ops::set_enabled(d, "u2", false)?;
        panic!("a write that fails halfway");
    });
    let results = adapter
        .committer
        .submit(&adapter.state, vec![join, panics])
        .await;
    for result in &results {
        let err = result.as_ref().expect_err("the rewrite stopped");
        assert!(
            err.to_string().contains("stopped before it answered"),
            "{err}"
        );
    }
    assert_eq!(on_disk(&path), acked);
    assert_eq!(adapter.snapshot().await, acked, "memory was rolled back");
    adapter
        .add_member("g0", &Principal::User("u2".into()))
        .await
        .expect("the next write works");
    let disk = on_disk(&path);
    assert_eq!(memberships(&disk).len(), 2);
    assert!(disk.users.iter().all(|u| u.enabled), "{disk:?}");
    assert_eq!(disk, adapter.snapshot().await);
}

#[tokio::test]
async fn a_write_given_up_before_its_rewrite_is_never_applied() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 0, 0);
    let adapter = open(&path);
    {
        // Hold the document so the write queues and waits; then give up on it.
        let _held = adapter.state.lock().await;
        let gone = NewUser::new("gone");
        let write = adapter.create_user(&gone);
        let waited = tokio::time::timeout(Duration::from_millis(50), write).await;
        assert!(
            waited.is_err(),
            "the write waits while the document is held"
        );
    }
    adapter
        .create_user(&NewUser::new("kept"))
        .await
        .expect("acknowledged");
    let logins: Vec<String> = on_disk(&path).users.into_iter().map(|u| u.login).collect();
    assert_eq!(logins, vec!["kept".to_string()]);
}

#[tokio::test]
async fn a_write_that_would_invalidate_the_document_fails_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 3, 1);
    let adapter = open(&path);
    type Write = Box<dyn FnMut(&mut crate::draft::Draft) -> Result<()> + Send>;
    let join = |user: &'static str| -> Write {
        Box::new(move |d: &mut crate::draft::Draft| {
            crate::ops::add_member(d, "g0", &Principal::User(user.into()))
        })
    };
    // Passes its own checks but leaves a dangling group name: validation catches it.
    let dangling: Write = Box::new(|d: &mut crate::draft::Draft| {
        d.change_user(1, |u| u.groups.push("no-such-group".into()))?;
        Ok(())
    });
    let results = adapter
        .committer
        .submit(&adapter.state, vec![join("u0"), dangling, join("u2")])
        .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert_eq!(
        results[1].as_ref().expect_err("invalid").kind(),
        ErrorKind::InvalidInput
    );
    let disk = on_disk(&path);
    assert_eq!(
        memberships(&disk),
        vec![
            ("user0".to_string(), "group-0".to_string()),
            ("user2".to_string(), "group-0".to_string())
        ]
    );
}

#[tokio::test]
async fn bad_writes_among_many_fail_alone_and_the_rest_land() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 300, 1);
    let adapter = open(&path);
    type Write = Box<dyn FnMut(&mut crate::draft::Draft) -> Result<()> + Send>;
    let bad = [7usize, 8, 150, 299];
    let writes: Vec<Write> = (0..300usize)
        .map(|i| -> Write {
            if bad.contains(&i) {
                // Passes its own checks but leaves a dangling group name.
                Box::new(move |d: &mut crate::draft::Draft| {
                    d.change_user(i, |u| u.groups.push(format!("no-such-group-{i}")))?;
                    Ok(())
                })
            } else {
                Box::new(move |d: &mut crate::draft::Draft| {
                    crate::ops::add_member(d, "g0", &Principal::User(format!("u{i}")))
                })
            }
        })
        .collect();
    let results = adapter.committer.submit(&adapter.state, writes).await;
    for (i, result) in results.iter().enumerate() {
        match result {
            Err(e) if bad.contains(&i) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
            Ok(()) if !bad.contains(&i) => {}
            other => panic!("write {i}: {other:?}"),
        }
    }
    assert_eq!(adapter.rewrites(), 1);
    let disk = on_disk(&path);
    assert_eq!(memberships(&disk).len(), 296);
    assert_eq!(disk, adapter.snapshot().await);
}

/// A drainer dropped with its runtime, even before it ran once, leaves no mark that one is
/// running: the next write, on another runtime, starts its own and lands, and the write
/// queued on the dropped runtime was never applied.
#[test]
fn a_drainer_dropped_with_its_runtime_leaves_later_writes_working() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("d.yaml");
    seed(&path, 2, 1);
    let adapter = open(&path);
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    first.block_on(async {
        let member = Principal::User("u0".into());
        let mut write = Box::pin(adapter.add_member("g0", &member));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        // Polled once: the write is queued and its drainer spawned, not yet run.
        assert!(write.as_mut().poll(&mut cx).is_pending());
    });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    second.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(30),
            adapter.add_member("g0", &Principal::User("u1".into())),
        )
        .await
        .expect("a later write is not left waiting for a drainer that is gone")
        .expect("acknowledged");
    });
    assert_eq!(
        memberships(&on_disk(&path)),
        vec![("user1".to_string(), "group-0".to_string())]
    );
}
