//! Listing pages from the held document in time linear in the listing.
//!
//! A listing of n records in pages of k is n/k calls; if each call converted the whole
//! collection (or scanned every user for a group's members), listing 100,000 users would
//! convert ten million records. Here a page converts only its own records, and what has to
//! be computed over the whole document (each group's members, the grants with names
//! resolved to ids) is computed once per version of the document and kept ([`Derived`]).

use std::sync::atomic::{AtomicU64, Ordering};

use idbridge_core::{Grant, Page, PageRequest, Principal, Result};

use crate::format::{DirGroup, Directory, UserRecords};
use crate::held::{Held, WithUsers};
use crate::ops::group_not_found;

/// The page `req` asks for out of `all`, converting only that page's records with `to`:
/// the same page as [`Page::slice`] over every record converted. Counts the records it
/// converts in `work`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] when the cursor is not an offset.
pub(crate) fn page_of<S, T>(
    all: &[S],
    req: &PageRequest,
    default_size: usize,
    work: &AtomicU64,
    to: impl Fn(&S) -> T,
) -> Result<Page<T>> {
    page_by(all.len(), req, default_size, work, |i| all.get(i).map(&to))
}

/// [`page_of`] over `total` records that `to` converts by position.
///
/// # Errors
/// As [`page_of`].
pub(crate) fn page_by<T>(
    total: usize,
    req: &PageRequest,
    default_size: usize,
    work: &AtomicU64,
    to: impl Fn(usize) -> Option<T>,
) -> Result<Page<T>> {
    let offset = req.offset()?;
    let size = req.size.unwrap_or(default_size).max(1);
    let end = offset.saturating_add(size).min(total);
    let items: Vec<T> = (offset.min(end)..end).filter_map(to).collect();
    work.fetch_add(items.len() as u64, Ordering::Relaxed);
    let end = offset + items.len();
    let next = (end < total && !items.is_empty()).then(|| end.to_string());
    Ok(Page { items, next })
}

/// The maps listings build from the file's names: seeded (names come from the file), and
/// fast on short keys.
type HashMap<K, V> = hashbrown::HashMap<K, V, hashbrown::DefaultHashBuilder>;

/// What listings compute over the whole document, for one version of it.
#[derive(Debug)]
pub(crate) struct Derived {
    /// The version it was computed from (see [`Derived::is_for`]).
    version: Option<u64>,
    /// The direct members of each group, by group name: what [`Directory::members_of`]
    /// returns, as positions in the document's user and group lists (4 bytes each, not a
    /// copy of every id).
    members: HashMap<String, GroupMembers>,
    /// Every grant with names resolved to ids; what [`Directory::neutral_grants`] returns.
    pub(crate) grants: Vec<Grant>,
    /// The position of the first group with each id: a listing of members finds its group
    /// once per page, which a scan of the groups would make quadratic in the groups.
    groups_by_id: HashMap<String, usize>,
}

impl Derived {
    /// Computes the members and grants of `dir`, visiting each record once; counts the
    /// records visited in `work`. `version` names the document's content (the hash of the
    /// file's bytes as last read or written, `None` for the empty directory a read-only
    /// adapter stands in for a missing file).
    pub(crate) fn of(held: &Held, version: Option<u64>, work: &AtomicU64) -> Derived {
        held.with_users(Compute {
            rest: held.rest(),
            version,
            work,
        })
    }

    /// Whether this was computed from the document version `version`. The hash of the
    /// file's bytes names the document: every reload and every save replaces it, and the
    /// same bytes always parse to the same document.
    pub(crate) fn is_for(&self, version: Option<u64>) -> bool {
        self.version == version
    }

    /// The group with id `id` in `dir`, the document this was computed from: what
    /// [`Directory::group`] returns.
    pub(crate) fn group<'d>(&self, dir: &'d Directory, id: &str) -> Option<&'d DirGroup> {
        self.groups_by_id.get(id).and_then(|&at| dir.groups.get(at))
    }

    /// The direct members of the group with id `id` in `dir`, the document this was
    /// computed from.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::NotFound`] when `dir` has no such group.
    pub(crate) fn members_of_group(&self, dir: &Directory, id: &str) -> Result<&GroupMembers> {
        let g = self.group(dir, id).ok_or_else(|| group_not_found(id))?;
        Ok(self.members(&g.name))
    }

    /// The direct members of the group named `name` (empty when it has none).
    pub(crate) fn members(&self, name: &str) -> &GroupMembers {
        static NONE: GroupMembers = GroupMembers {
            users: Vec::new(),
            groups: Vec::new(),
        };
        self.members.get(name).unwrap_or(&NONE)
    }
}

/// The direct members of one group, as positions in the document they were computed
/// from: 4 bytes a member, as a million users' five memberships each are 20 MB of them per
/// document. Listed users first (in file order), then groups (in file order).
#[derive(Debug, Default)]
pub(crate) struct GroupMembers {
    /// Positions in the document's users, ascending.
    pub(crate) users: Vec<u32>,
    /// Positions in the document's groups, ascending.
    pub(crate) groups: Vec<u32>,
}

impl GroupMembers {
    /// How many members.
    pub(crate) fn len(&self) -> usize {
        self.users.len() + self.groups.len()
    }

    /// Member `i` in listing order (users, then groups).
    pub(crate) fn get(&self, i: usize) -> Option<Member> {
        match i.checked_sub(self.users.len()) {
            None => self.users.get(i).map(|&at| Member::User(at)),
            Some(g) => self.groups.get(g).map(|&at| Member::Group(at)),
        }
    }
}

/// [`Derived::of`] over the users as they are held.
struct Compute<'a> {
    rest: &'a Directory,
    version: Option<u64>,
    work: &'a AtomicU64,
}

impl WithUsers<Derived> for Compute<'_> {
    fn call<U: UserRecords + ?Sized>(self, users: &U) -> Derived {
        let dir = self.rest;
        let mut members: HashMap<String, GroupMembers> = HashMap::default();
        let mut visited = 0u64;
        let mut listed: Vec<&str> = Vec::new();
        for at in 0..users.count() {
            listed.clear();
            for name in users.groups(at) {
                visited += 1;
                // A name listed twice makes one membership.
                if !listed.contains(&name) {
                    listed.push(name);
                    match members.get_mut(name) {
                        Some(list) => list.users.push(position(at)),
                        None => {
                            let list = GroupMembers {
                                users: vec![position(at)],
                                groups: Vec::new(),
                            };
                            members.insert(name.to_string(), list);
                        }
                    }
                }
            }
        }
        for (at, g) in dir.groups.iter().enumerate() {
            for (i, name) in g.groups.iter().enumerate() {
                visited += 1;
                if !g.groups[..i].contains(name) {
                    members
                        .entry(name.clone())
                        .or_default()
                        .groups
                        .push(position(at));
                }
            }
        }
        let grants = neutral_grants(users, dir);
        visited += (users.count() + dir.groups.len() + dir.grants.len()) as u64;
        self.work.fetch_add(visited, Ordering::Relaxed);
        for list in members.values_mut() {
            list.users.shrink_to_fit();
            list.groups.shrink_to_fit();
        }
        let mut groups_by_id = HashMap::default();
        for (at, g) in dir.groups.iter().enumerate() {
            groups_by_id.entry(g.id.clone()).or_insert(at);
        }
        Derived {
            version: self.version,
            members,
            grants,
            groups_by_id,
        }
    }
}

/// A member by its position in the document it was computed from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Member {
    /// `dir.users[_]`.
    User(u32),
    /// `dir.groups[_]`.
    Group(u32),
}

/// A record's position as a [`Member`] holds it. A document's records are counted in
/// 32 bits: its user text is limited to 4 GiB (`format::packed`), and no document of
/// 2^32 groups fits in memory; past that the position names no record.
fn position(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

impl Member {
    /// The member as a principal of `held`, the document version it was computed from
    /// (where every position exists).
    pub(crate) fn principal(self, held: &Held) -> Principal {
        match self {
            Member::User(at) => Principal::User(held.user_id(at as usize).to_string()),
            Member::Group(at) => Principal::Group(
                held.rest()
                    .groups
                    .get(at as usize)
                    .map(|g| g.id.clone())
                    .unwrap_or_default(),
            ),
        }
    }
}

/// [`Directory::neutral_grants`], resolving names through maps instead of a scan of the
/// users, groups and roles per grant. The first record with a name wins, as there.
fn neutral_grants<U: UserRecords + ?Sized>(users_of: &U, dir: &Directory) -> Vec<Grant> {
    let mut roles = HashMap::default();
    for r in &dir.roles {
        roles.entry(r.name.as_str()).or_insert(r);
    }
    let mut users = HashMap::default();
    if !dir.grants.is_empty() {
        for i in 0..users_of.count() {
            users.entry(users_of.login(i)).or_insert(users_of.id(i));
        }
    }
    let mut groups = HashMap::default();
    for g in &dir.groups {
        groups.entry(g.name.as_str()).or_insert(g.id.as_str());
    }
    dir.grants
        .iter()
        .filter_map(|grant| {
            let role = roles.get(grant.role.as_str())?;
            let principal = match (&grant.user, &grant.group) {
                (Some(login), None) => Principal::User((*users.get(login.as_str())?).to_string()),
                (None, Some(name)) => Principal::Group((*groups.get(name.as_str())?).to_string()),
                _ => return None,
            };
            Some(Grant {
                role: role.id.clone(),
                principal,
                scope: grant.effective_scope(&role.scope),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
