//! `state::read_members`: one all-memberships read where the system declares
//! `members_list_all`, one listing per group otherwise, and the same result either way.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idbridge_core::{
    Adapter, AdapterHandle, Capabilities, Error, Groups, Membership, Memberships, Page,
    PageRequest, Principal, Result, Roles, Sessions, Users, async_trait,
};
use idbridge_sync::state::read_members;

/// A system whose memberships are a fixed list, counting how it is read.
struct Fake {
    all: Vec<Membership>,
    list_all: bool,
    per_group_reads: AtomicUsize,
    all_reads: AtomicUsize,
}

impl Fake {
    fn new(list_all: bool) -> Arc<Self> {
        let m = |g: &str, p: Principal| Membership {
            group: g.to_string(),
            member: p,
        };
        let u = |id: &str| Principal::User(id.to_string());
        Arc::new(Fake {
            all: vec![
                m("g1", u("ada")),
                m("g1", u("bob")),
                m("g2", u("bob")),
                m("g2", Principal::Group("g3".to_string())),
                // Listed twice by the platform: kept once.
                m("g1", u("ada")),
                // A group nobody asks about (deleted, or not synced).
                m("gone", u("ada")),
            ],
            list_all,
            per_group_reads: AtomicUsize::new(0),
            all_reads: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl Users for Fake {}
#[async_trait]
impl Groups for Fake {}
#[async_trait]
impl Roles for Fake {}
#[async_trait]
impl Sessions for Fake {}

#[async_trait]
impl Memberships for Fake {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.per_group_reads.fetch_add(1, Ordering::SeqCst);
        let mut members: Vec<Principal> = Vec::new();
        for m in self.all.iter().filter(|m| m.group == group) {
            if !members.contains(&m.member) {
                members.push(m.member.clone());
            }
        }
        Page::slice(members, &page, 10)
    }

    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        if !self.list_all {
            return Err(Error::protocol("not declared, must not be called"));
        }
        self.all_reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.all.clone())
    }
}

#[async_trait]
impl Adapter for Fake {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            members_list: true,
            members_list_all: self.list_all,
            members_nested: true,
            ..Capabilities::default()
        }
    }
}

fn groups(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn sorted(mut m: HashMap<String, Vec<Principal>>) -> HashMap<String, Vec<Principal>> {
    for v in m.values_mut() {
        v.sort();
    }
    m
}

#[tokio::test]
async fn declared_all_memberships_read_is_one_call_and_agrees_with_per_group_reads() {
    let with = Fake::new(true);
    let without = Fake::new(false);
    let asked = groups(&["g1", "g2", "g3", "g4"]);
    let one = read_members(&AdapterHandle::new("t", with.clone()), asked.clone(), 4)
        .await
        .expect("read with list_all");
    let per_group = read_members(&AdapterHandle::new("t", without.clone()), asked, 4)
        .await
        .expect("read per group");

    assert_eq!(with.all_reads.load(Ordering::SeqCst), 1);
    assert_eq!(with.per_group_reads.load(Ordering::SeqCst), 0);
    assert_eq!(without.all_reads.load(Ordering::SeqCst), 0);
    assert_eq!(without.per_group_reads.load(Ordering::SeqCst), 4);

    let one = sorted(one);
    assert_eq!(one, sorted(per_group));
    // Every group asked for has an entry, empty when it has no members; others are left out.
    assert_eq!(one.len(), 4);
    assert_eq!(one["g3"], Vec::<Principal>::new());
    assert_eq!(one["g4"], Vec::<Principal>::new());
    assert!(!one.contains_key("gone"));
    assert_eq!(
        one["g1"],
        vec![Principal::User("ada".into()), Principal::User("bob".into())]
    );
    assert_eq!(
        one["g2"],
        vec![Principal::User("bob".into()), Principal::Group("g3".into())]
    );
}

#[tokio::test]
async fn no_groups_means_no_read() {
    let with = Fake::new(true);
    let out = read_members(&AdapterHandle::new("t", with.clone()), Vec::new(), 4)
        .await
        .expect("nothing to read");
    assert!(out.is_empty());
    assert_eq!(with.all_reads.load(Ordering::SeqCst), 0);
    assert_eq!(with.per_group_reads.load(Ordering::SeqCst), 0);
}
