//! Members by position: a system that declares `members_by_position` and was listed under
//! one version gives its members as positions in that listing, with no member listing by
//! id; when the version moved (a reload or a write while its users were listed, or since),
//! the members are read by id, and either way the table is the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use idbridge_core::{
    Adapter, AdapterHandle, Capabilities, ErrorKind, Forward, Group, Groups, Memberships, Page,
    PageRequest, PositionedMembers, Principal, Result, Roles, Sessions, User, Users, async_trait,
};
use idbridge_sync::state::{read_member_table, read_source};
use idbridge_sync::table::{Members, UserTable};

/// A directory held in memory: users `u0`..`u4`, group `g1` with `u3`, `u1` and `u3` again
/// (kept once), group `g2` with `u4` and group `g1`, group `g3` empty.
struct Fake {
    users: Vec<User>,
    members: Vec<(&'static str, Principal)>,
    version: AtomicU64,
    /// The version moves when the first page of users is served, as a reload would.
    reload_on_listing: bool,
    /// Added to every position given, to stand for an adapter that gives a wrong one.
    shift: u32,
    per_group_reads: AtomicUsize,
    position_reads: AtomicUsize,
}

impl Fake {
    fn new() -> Fake {
        let user = |i: usize| User {
            id: format!("u{i}"),
            login: format!("login{i}"),
            email: None,
            display_name: None,
            enabled: true,
            attributes: Default::default(),
        };
        let u = |id: &str| Principal::User(id.to_string());
        Fake {
            users: (0..5).map(user).collect(),
            members: vec![
                ("g1", u("u3")),
                ("g1", u("u1")),
                ("g1", u("u3")),
                ("g2", u("u4")),
                ("g2", Principal::Group("g1".to_string())),
            ],
            version: AtomicU64::new(7),
            reload_on_listing: false,
            shift: 0,
            per_group_reads: AtomicUsize::new(0),
            position_reads: AtomicUsize::new(0),
        }
    }

    fn members_of(&self, group: &str) -> Vec<Principal> {
        let mut out: Vec<Principal> = Vec::new();
        for (_, p) in self.members.iter().filter(|(g, _)| *g == group) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }
}

#[async_trait]
impl Users for Fake {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        if page.cursor.is_none() && self.reload_on_listing {
            self.version.fetch_add(1, Ordering::SeqCst);
        }
        Page::slice(self.users.clone(), &page, 2)
    }
}

#[async_trait]
impl Groups for Fake {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        let group = |id: &str| Group {
            id: id.to_string(),
            name: id.to_string(),
            description: None,
        };
        Page::slice(vec![group("g1"), group("g2"), group("g3")], &page, 10)
    }
}

#[async_trait]
impl Roles for Fake {}
#[async_trait]
impl Sessions for Fake {}

#[async_trait]
impl Memberships for Fake {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.per_group_reads.fetch_add(1, Ordering::SeqCst);
        Page::slice(self.members_of(group), &page, 10)
    }

    async fn listing_version(&self) -> Result<u64> {
        Ok(self.version.load(Ordering::SeqCst))
    }

    async fn members_by_position(
        &self,
        group: &str,
        version: u64,
    ) -> Result<Option<PositionedMembers>> {
        self.position_reads.fetch_add(1, Ordering::SeqCst);
        if version != self.version.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let mut out = PositionedMembers::default();
        for p in self.members_of(group) {
            match &p {
                Principal::User(id) => {
                    let at = self.users.iter().position(|u| &u.id == id).unwrap_or(0);
                    out.users.push(at as u32 + self.shift);
                }
                Principal::Group(_) => out.others.push(p),
            }
        }
        Ok(Some(out))
    }
}

#[async_trait]
impl Adapter for Fake {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users_list: true,
            groups_list: true,
            members_list: true,
            members_nested: true,
            members_by_position: true,
            ..Capabilities::default()
        }
    }
}

fn groups() -> Vec<String> {
    ["g1", "g2", "g3"].iter().map(|s| s.to_string()).collect()
}

/// The members of `g1`, `g2` and `g3` read by id: what every read must equal.
async fn by_id(users: &UserTable) -> Members {
    let fake = Arc::new(Fake::new());
    let handle = AdapterHandle::new("t", fake.clone());
    let members = read_member_table(&handle, groups(), 4, users, None)
        .await
        .expect("members by id");
    assert_eq!(fake.position_reads.load(Ordering::SeqCst), 0);
    assert_eq!(fake.per_group_reads.load(Ordering::SeqCst), 3);
    members
}

#[tokio::test]
async fn members_of_the_listed_version_are_taken_as_positions_and_agree_with_their_ids() {
    let fake = Arc::new(Fake::new());
    let handle = AdapterHandle::new("t", fake.clone());
    let users = UserTable::from_users(fake.users.clone()).expect("users");
    let at = read_member_table(&handle, groups(), 4, &users, Some(7))
        .await
        .expect("members by position");
    assert_eq!(fake.position_reads.load(Ordering::SeqCst), 3);
    assert_eq!(fake.per_group_reads.load(Ordering::SeqCst), 0);
    assert_eq!(at, by_id(&users).await);
    let g1 = at.get("g1").expect("g1 read");
    assert_eq!(g1.users, vec![1, 3], "sorted, the repeat kept once");
    assert_eq!(
        at.get("g2").expect("g2").others,
        vec![Principal::Group("g1".into())]
    );
    assert!(at.get("g3").expect("g3 read").is_empty());
}

#[tokio::test]
async fn a_version_no_longer_held_reads_the_members_by_id() {
    let fake = Arc::new(Fake::new());
    let handle = AdapterHandle::new("t", fake.clone());
    let users = UserTable::from_users(fake.users.clone()).expect("users");
    // Written (or reloaded) since the users were listed under version 6.
    let read = read_member_table(&handle, groups(), 4, &users, Some(6))
        .await
        .expect("members by id");
    assert_eq!(fake.position_reads.load(Ordering::SeqCst), 1);
    assert_eq!(fake.per_group_reads.load(Ordering::SeqCst), 3);
    assert_eq!(read, by_id(&users).await);
}

#[tokio::test]
async fn a_position_past_the_listing_is_a_protocol_error_naming_the_group() {
    let fake = Arc::new(Fake {
        shift: 1,
        ..Fake::new()
    });
    let handle = AdapterHandle::new("t", fake.clone());
    let users = UserTable::from_users(fake.users.clone()).expect("users");
    let err = read_member_table(&handle, groups(), 4, &users, Some(7))
        .await
        .expect_err("u4 shifted past the five users");
    assert_eq!(err.kind(), ErrorKind::Protocol);
    let text = err.to_string();
    assert!(
        text.contains("position 5") && text.contains("`g2`"),
        "{text}"
    );
}

#[tokio::test]
async fn a_source_listed_under_one_version_gives_its_members_by_position() {
    let fake = Arc::new(Fake::new());
    let source = read_source(&AdapterHandle::new("s", fake.clone()))
        .await
        .expect("source read");
    assert_eq!(fake.per_group_reads.load(Ordering::SeqCst), 0);
    assert_eq!(fake.position_reads.load(Ordering::SeqCst), 3);
    assert_eq!(source.members, by_id(&source.users).await);
}

#[tokio::test]
async fn a_source_reloaded_while_its_users_were_listed_gives_its_members_by_id() {
    let fake = Arc::new(Fake {
        reload_on_listing: true,
        ..Fake::new()
    });
    let source = read_source(&AdapterHandle::new("s", fake.clone()))
        .await
        .expect("source read");
    // The listing may mix two versions, so no position is taken from either.
    assert_eq!(fake.position_reads.load(Ordering::SeqCst), 0);
    assert_eq!(fake.per_group_reads.load(Ordering::SeqCst), 3);
    assert_eq!(source.members, by_id(&source.users).await);
}

/// A wrapper that lists the users in another order than the adapter it wraps, and leaves
/// the rest to `Forward`'s defaults.
struct Reversing(Arc<Fake>);

#[async_trait]
impl Forward for Reversing {
    fn forward_to(&self) -> &dyn Adapter {
        self.0.as_ref()
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        let mut users = self.0.users.clone();
        users.reverse();
        Page::slice(users, &page, 2)
    }
}

#[tokio::test]
async fn a_wrapper_that_does_not_forward_positions_gives_its_members_by_id() {
    let fake = Arc::new(Fake::new());
    // It keeps the inner adapter's capabilities, `members_by_position` included.
    let wrapper = AdapterHandle::new("s", Arc::new(Reversing(fake.clone())));
    assert!(wrapper.capabilities().members_by_position);
    let source = read_source(&wrapper).await.expect("source read");
    assert_eq!(fake.position_reads.load(Ordering::SeqCst), 0);
    assert_eq!(fake.per_group_reads.load(Ordering::SeqCst), 3);
    // Positions 1 and 3 of the inner listing are u3 and u1 in the reversed one.
    let g1: Vec<&str> = source
        .members
        .get("g1")
        .expect("g1")
        .users
        .iter()
        .map(|&p| source.users.id(p as usize))
        .collect();
    assert_eq!(g1, ["u3", "u1"]);
}
