//! The work of listing grows with the records listed: counted, not timed.

use idbridge_core::{GrantFilter, Groups, Memberships, PageRequest, Roles, Users};

use crate::format::{DirGrant, DirGroup, DirRole, DirUser, Directory};
use crate::{DEFAULT_PAGE_SIZE, FileAdapter};

const USERS: usize = 100_000;
const GROUPS: usize = 10;

/// 100,000 users, each in one of ten groups and in `everyone`; one grant per group.
fn big_directory() -> Directory {
    let mut dir = Directory::new();
    dir.groups = (0..GROUPS)
        .map(|g| format!("team-{g}"))
        .chain(["everyone".to_string()])
        .enumerate()
        .map(|(i, name)| DirGroup {
            id: format!("g{i}"),
            name,
            description: None,
            groups: Vec::new(),
        })
        .collect();
    dir.users = (0..USERS)
        .map(|i| DirUser {
            id: format!("u{i}"),
            login: format!("user{i}"),
            email: None,
            display_name: None,
            enabled: true,
            groups: vec![format!("team-{}", i % GROUPS), "everyone".to_string()],
            attributes: Default::default(),
        })
        .collect();
    dir.roles = vec![DirRole {
        id: "r1".into(),
        name: "reader".into(),
        scope: Default::default(),
        privileges: Vec::new(),
    }];
    dir.grants = (0..GROUPS)
        .map(|g| DirGrant {
            role: "reader".into(),
            user: None,
            group: Some(format!("team-{g}")),
            scope: None,
        })
        .collect();
    dir
}

/// Pages through a listing with `next`, returning how many records it listed.
macro_rules! count_pages {
    ($list:expr) => {{
        let mut req = PageRequest::first();
        let mut n = 0usize;
        loop {
            let page = $list(req.clone()).await.expect("page");
            n += page.items.len();
            match page.next {
                Some(c) => req.cursor = Some(c),
                None => break n,
            }
        }
    }};
}

#[tokio::test]
async fn listing_100k_users_converts_each_record_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("big.json");
    big_directory().save_atomic(&path).expect("save");
    let adapter = FileAdapter::open(&path, false).expect("open");
    assert_eq!(DEFAULT_PAGE_SIZE, 100, "a thousand pages");

    let before = adapter.listing_work();
    let n = count_pages!(|p| adapter.list_users(p));
    assert_eq!(n, USERS);
    let users_work = adapter.listing_work() - before;
    // Converting the whole directory for each of the 1,000 pages would be 100 million.
    assert!(
        users_work <= USERS as u64,
        "listing {USERS} users did {users_work} record conversions"
    );

    let before = adapter.listing_work();
    let n = count_pages!(|p| adapter.list_members("g10", p));
    assert_eq!(n, USERS);
    let n = count_pages!(|p| adapter.list_members("g3", p));
    assert_eq!(n, USERS / GROUPS);
    let groups = count_pages!(|p| adapter.list_groups(p));
    assert_eq!(groups, GROUPS + 1);
    let all = GrantFilter::default();
    let grants = count_pages!(|p| adapter.list_grants(&all, p));
    assert_eq!(grants, GROUPS);
    let members_work = adapter.listing_work() - before;
    // Computing each group's members once (3 memberships and a user visited per user)
    // and converting each listed record once; a scan of every user per page would be
    // over a hundred million.
    let bound = (4 * USERS + 2 * USERS) as u64;
    assert!(
        members_work <= bound,
        "listing members did {members_work} record visits (bound {bound})"
    );
}

#[tokio::test]
async fn pages_are_the_same_as_slicing_every_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("small.yaml");
    let mut dir = big_directory();
    dir.users.truncate(250);
    dir.save_atomic(&path).expect("save");
    let adapter = FileAdapter::open(&path, false).expect("open");
    for (cursor, size) in [
        (None, None),
        (Some("0"), Some(7)),
        (Some("249"), Some(5)),
        (Some("250"), None),
        (Some("900"), Some(3)),
    ] {
        let req = PageRequest {
            cursor: cursor.map(str::to_string),
            size,
        };
        let got = adapter.list_users(req.clone()).await.expect("users");
        let want = idbridge_core::Page::slice(dir.neutral_users(), &req, DEFAULT_PAGE_SIZE)
            .expect("slice");
        assert_eq!(got, want, "{req:?}");
        let got = adapter
            .list_members("g2", req.clone())
            .await
            .expect("members");
        let want = idbridge_core::Page::slice(dir.members_of("g2"), &req, DEFAULT_PAGE_SIZE)
            .expect("slice");
        assert_eq!(got, want, "{req:?}");
    }
    let bad = PageRequest {
        cursor: Some("x".into()),
        size: None,
    };
    assert!(adapter.list_users(bad.clone()).await.is_err());
    assert!(adapter.list_members("g2", bad).await.is_err());
}
