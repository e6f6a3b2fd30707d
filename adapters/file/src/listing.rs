//! Listing pages from the held document in time linear in the listing.
//!
//! A listing of n records in pages of k is n/k calls; if each call converted the whole
//! collection (or scanned every user for a group's members), listing 100,000 users would
//! convert ten million records. Here a page converts only its own records, and what has to
//! be computed over the whole document (each group's members, the grants with names
//! resolved to ids) is computed once per version of the document and kept ([`Derived`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use idbridge_core::{Grant, Page, PageRequest, Principal, Result};

use crate::format::Directory;

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
    let offset = req.offset()?;
    let size = req.size.unwrap_or(default_size).max(1);
    let total = all.len();
    let items: Vec<T> = all.iter().skip(offset).take(size).map(to).collect();
    work.fetch_add(items.len() as u64, Ordering::Relaxed);
    let end = offset + items.len();
    let next = (end < total && !items.is_empty()).then(|| end.to_string());
    Ok(Page { items, next })
}

/// What listings compute over the whole document, for one version of it.
#[derive(Debug)]
pub(crate) struct Derived {
    /// The version it was computed from (see [`Derived::is_for`]).
    version: Option<u64>,
    /// The direct members of each group, by group name: users first (in file order), then
    /// groups (in file order); what [`Directory::members_of`] returns, as positions in the
    /// document's user and group lists (a few bytes each, not a copy of every id).
    members: HashMap<String, Vec<Member>>,
    /// Every grant with names resolved to ids; what [`Directory::neutral_grants`] returns.
    pub(crate) grants: Vec<Grant>,
}

impl Derived {
    /// Computes the members and grants of `dir`, visiting each record once; counts the
    /// records visited in `work`. `version` names the document's content (the hash of the
    /// file's bytes as last read or written, `None` for the empty directory a read-only
    /// adapter stands in for a missing file).
    pub(crate) fn of(dir: &Directory, version: Option<u64>, work: &AtomicU64) -> Derived {
        let mut members: HashMap<String, Vec<Member>> = HashMap::new();
        let mut visited = 0u64;
        for (at, u) in dir.users.iter().enumerate() {
            for (i, name) in u.groups.iter().enumerate() {
                visited += 1;
                // A name listed twice makes one membership.
                if !u.groups[..i].contains(name) {
                    members
                        .entry(name.clone())
                        .or_default()
                        .push(Member::User(at));
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
                        .push(Member::Group(at));
                }
            }
        }
        let grants = neutral_grants(dir);
        visited += (dir.users.len() + dir.groups.len() + dir.grants.len()) as u64;
        work.fetch_add(visited, Ordering::Relaxed);
        Derived {
            version,
            members,
            grants,
        }
    }

    /// Whether this was computed from the document version `version`. The hash of the
    /// file's bytes names the document: every reload and every save replaces it, and the
    /// same bytes always parse to the same document.
    pub(crate) fn is_for(&self, version: Option<u64>) -> bool {
        self.version == version
    }

    /// The direct members of the group named `name` (empty when it has none).
    pub(crate) fn members(&self, name: &str) -> &[Member] {
        self.members.get(name).map_or(&[], Vec::as_slice)
    }
}

/// A member by its position in the document it was computed from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Member {
    /// `dir.users[_]`.
    User(usize),
    /// `dir.groups[_]`.
    Group(usize),
}

impl Member {
    /// The member as a principal of `dir`, the document version it was computed from
    /// (where every position exists).
    pub(crate) fn principal(self, dir: &Directory) -> Principal {
        match self {
            Member::User(at) => {
                Principal::User(dir.users.get(at).map(|u| u.id.clone()).unwrap_or_default())
            }
            Member::Group(at) => {
                Principal::Group(dir.groups.get(at).map(|g| g.id.clone()).unwrap_or_default())
            }
        }
    }
}

/// [`Directory::neutral_grants`], resolving names through maps instead of a scan of the
/// users, groups and roles per grant. The first record with a name wins, as there.
fn neutral_grants(dir: &Directory) -> Vec<Grant> {
    let mut roles = HashMap::new();
    for r in &dir.roles {
        roles.entry(r.name.as_str()).or_insert(r);
    }
    let mut users = HashMap::new();
    for u in &dir.users {
        users.entry(u.login.as_str()).or_insert(u.id.as_str());
    }
    let mut groups = HashMap::new();
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
