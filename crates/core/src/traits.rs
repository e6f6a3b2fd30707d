//! The five traits adapters implement, one per concept, and paging.
//!
//! Every method has a default body that returns [`ErrorKind::Unimplemented`](crate::ErrorKind::Unimplemented), so an adapter
//! implements exactly what its platform offers and states it in its
//! [`Capabilities`](crate::Capabilities). Callers never call these traits: they call the
//! inherent methods of [`crate::AdapterHandle`], which refuses undeclared operations with
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) before the adapter runs, reports a declared operation the
//! adapter left at its default as [`ErrorKind::Unimplemented`](crate::ErrorKind::Unimplemented), and adds context to every
//! error. Wrappers of an adapter build on [`crate::Forward`], which forwards every method.
//!
//! # Behavior every adapter follows
//! - Ids are the platform's own stable ids.
//! - `create_*` returns the platform's view of the new record, with its id; a duplicate
//!   login or name fails with [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists).
//! - `get_*`, `update_*`, `delete_*` on a missing id fail with [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
//! - `add_member` and `remove_member` are idempotent: adding a present member or removing
//!   an absent one succeeds and changes nothing. `grant` and `revoke` likewise.
//! - Listing returns pages; [`crate::AdapterExt`] collects all pages.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::{
    Grant, GrantFilter, Group, GroupChanges, GroupWrite, GroupWriteResult, NewGroup, NewUser,
    Principal, Role, Session, User, UserActivity, UserChanges, UserWrite, UserWriteResult,
};
use crate::model::{MemberBatchKey, MemberWrite, MemberWriteResult, Membership, PositionedMembers};
use crate::{Error, Operation, Result};

/// Which page to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Where to continue: `None` for the first page, else the previous page's `next`.
    pub cursor: Option<String>,
    /// How many records the caller would like; the adapter may return fewer and picks its
    /// own default when `None`.
    pub size: Option<usize>,
}

impl PageRequest {
    /// The first page with the adapter's default size.
    pub fn first() -> Self {
        PageRequest::default()
    }

    /// The first page with a chosen size.
    pub fn with_size(size: usize) -> Self {
        PageRequest {
            cursor: None,
            size: Some(size),
        }
    }

    /// Reads the cursor as a numeric offset (for offset-paged APIs). A missing cursor is 0.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the cursor is not a number.
    pub fn offset(&self) -> Result<usize> {
        match &self.cursor {
            None => Ok(0),
            Some(c) => c
                .parse()
                .map_err(|_| Error::invalid_input(format!("page cursor `{c}` is not an offset"))),
        }
    }

    /// Reads a cursor of [`Page::slice_snapshot`], `<snapshot>:<offset>`: `None` for the
    /// first page.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the cursor is not of
    /// that form (or its snapshot not a `K`).
    pub fn snapshot_cursor<K: std::str::FromStr>(&self) -> Result<Option<(K, usize)>> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        cursor
            .split_once(':')
            .and_then(|(k, o)| Some((k.parse::<K>().ok()?, o.parse::<usize>().ok()?)))
            .map(Some)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "page cursor `{cursor}` is not one this adapter gave out"
                ))
            })
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The records on this page.
    pub items: Vec<T>,
    /// The cursor of the next page, or `None` on the last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page with no successor.
    pub fn last(items: Vec<T>) -> Self {
        Page { items, next: None }
    }

    /// Cuts `all` into the page `req` asks for, with offset cursors. For adapters that hold
    /// the whole collection in memory (files, emulators).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the cursor is not an offset.
    pub fn slice(all: Vec<T>, req: &PageRequest, default_size: usize) -> Result<Self> {
        let offset = req.offset()?;
        let size = req.size.unwrap_or(default_size).max(1);
        let total = all.len();
        let items: Vec<T> = all.into_iter().skip(offset).take(size).collect();
        let end = offset + items.len();
        let next = (end < total && !items.is_empty()).then(|| end.to_string());
        Ok(Page { items, next })
    }

    /// Cuts the page that starts at `offset` out of `all`, a listing read once and kept as
    /// snapshot `snapshot`, with `<snapshot>:<offset>` cursors (read back with
    /// [`PageRequest::snapshot_cursor`]): every page of a listing then comes from the same
    /// read, even when the directory changes meanwhile. For adapters that read the whole
    /// collection at the first page and keep the last few reads.
    pub fn slice_snapshot(
        all: &[T],
        snapshot: impl std::fmt::Display,
        offset: usize,
        req: &PageRequest,
        default_size: usize,
    ) -> Self
    where
        T: Clone,
    {
        let size = req.size.unwrap_or(default_size).max(1);
        let items: Vec<T> = all.iter().skip(offset).take(size).cloned().collect();
        let end = offset + items.len();
        let next = (end < all.len() && !items.is_empty()).then(|| format!("{snapshot}:{end}"));
        Page { items, next }
    }
}

pub(crate) fn not_implemented(op: Operation) -> Error {
    Error::unimplemented(op.as_str())
}

/// User accounts.
#[async_trait]
pub trait Users: Send + Sync {
    /// One page of users.
    async fn list_users(&self, _page: PageRequest) -> Result<Page<User>> {
        Err(not_implemented(Operation::UsersList))
    }

    /// One user by id.
    async fn get_user(&self, _id: &str) -> Result<User> {
        Err(not_implemented(Operation::UsersGet))
    }

    /// Creates a user and returns the platform's record.
    async fn create_user(&self, _user: &NewUser) -> Result<User> {
        Err(not_implemented(Operation::UsersCreate))
    }

    /// Changes a user's fields and returns the platform's record.
    async fn update_user(&self, _id: &str, _changes: &UserChanges) -> Result<User> {
        Err(not_implemented(Operation::UsersUpdate))
    }

    /// Enables or disables a user and returns the platform's record.
    async fn set_user_enabled(&self, _id: &str, _enabled: bool) -> Result<User> {
        Err(not_implemented(Operation::UsersSetEnabled))
    }

    /// Deletes a user.
    async fn delete_user(&self, _id: &str) -> Result<()> {
        Err(not_implemented(Operation::UsersDelete))
    }

    /// A user's last login and activity.
    async fn user_activity(&self, _id: &str) -> Result<UserActivity> {
        Err(not_implemented(Operation::UsersActivity))
    }

    /// Applies many user writes, returning one result per write in the same order.
    ///
    /// The default runs them one by one through the single-record methods. Adapters whose
    /// platform has bulk endpoints override it and declare
    /// [`Capabilities::users_batch_max`](crate::Capabilities::users_batch_max).
    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        let mut out = Vec::with_capacity(batch.len());
        for write in batch {
            out.push(match write {
                UserWrite::Create { user } => self.create_user(&user).await.map(Some),
                UserWrite::Update { id, changes } => {
                    self.update_user(&id, &changes).await.map(Some)
                }
                UserWrite::SetEnabled { id, enabled } => {
                    self.set_user_enabled(&id, enabled).await.map(Some)
                }
                UserWrite::Delete { id } => self.delete_user(&id).await.map(|()| None),
            });
        }
        out
    }
}

/// Groups.
#[async_trait]
pub trait Groups: Send + Sync {
    /// One page of groups.
    async fn list_groups(&self, _page: PageRequest) -> Result<Page<Group>> {
        Err(not_implemented(Operation::GroupsList))
    }

    /// One group by id.
    async fn get_group(&self, _id: &str) -> Result<Group> {
        Err(not_implemented(Operation::GroupsGet))
    }

    /// Creates a group and returns the platform's record.
    async fn create_group(&self, _group: &NewGroup) -> Result<Group> {
        Err(not_implemented(Operation::GroupsCreate))
    }

    /// Renames a group or changes its description; returns the platform's record.
    async fn update_group(&self, _id: &str, _changes: &GroupChanges) -> Result<Group> {
        Err(not_implemented(Operation::GroupsUpdate))
    }

    /// Deletes a group.
    async fn delete_group(&self, _id: &str) -> Result<()> {
        Err(not_implemented(Operation::GroupsDelete))
    }

    /// Applies many group writes, returning one result per write in the same order. Each
    /// write fails alone, with the error its single-record method would give (a duplicate
    /// name is [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists), a missing id
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound)); the others still happen.
    ///
    /// The default runs them one by one through the single-record methods. Adapters that
    /// write several groups in one request (or one save) override it and declare
    /// [`Capabilities::groups_batch_max`](crate::Capabilities::groups_batch_max).
    async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<GroupWriteResult> {
        let mut out = Vec::with_capacity(batch.len());
        for write in batch {
            out.push(match write {
                GroupWrite::Create { group } => self.create_group(&group).await.map(Some),
                GroupWrite::Update { id, changes } => {
                    self.update_group(&id, &changes).await.map(Some)
                }
                GroupWrite::Delete { id } => self.delete_group(&id).await.map(|()| None),
            });
        }
        out
    }
}

/// Group membership, including groups inside groups where the platform allows it.
#[async_trait]
pub trait Memberships: Send + Sync {
    /// One page of a group's direct members.
    async fn list_members(&self, _group: &str, _page: PageRequest) -> Result<Page<Principal>> {
        Err(not_implemented(Operation::MembersList))
    }

    /// Adds a member; succeeds without change when it is already one.
    async fn add_member(&self, _group: &str, _member: &Principal) -> Result<()> {
        Err(not_implemented(Operation::MembersAdd))
    }

    /// Removes a member; succeeds without change when it is not one.
    async fn remove_member(&self, _group: &str, _member: &Principal) -> Result<()> {
        Err(not_implemented(Operation::MembersRemove))
    }

    /// Every direct membership of every group, read with fewer requests than one
    /// [`Memberships::list_members`] per group: from one user listing where the platform
    /// keeps memberships on its users, or from a group listing that carries the members.
    ///
    /// Adapters implement it only where it is cheaper, and declare
    /// [`Capabilities::members_list_all`](crate::Capabilities::members_list_all). It must
    /// agree with `list_members` for every existing group. The order is unspecified. It may
    /// name groups the group listing does not show (a platform that stores group names on
    /// its users can keep the name of a deleted group); callers keep the groups they know.
    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        Err(not_implemented(Operation::MembersListAll))
    }

    /// The version of the directory the adapter's listings are served from now, for
    /// [`Memberships::members_by_position`]. It changes whenever what a listing gives could
    /// change (a reload, a write): a user listing read while it stayed the same, from
    /// before its first page to after its last, is the listing of that version.
    ///
    /// Adapters that hold their directory in memory implement it with
    /// `members_by_position` and declare
    /// [`Capabilities::members_by_position`](crate::Capabilities::members_by_position).
    /// Once replaced, a version is never given out again by the adapter.
    async fn listing_version(&self) -> Result<u64> {
        Err(not_implemented(Operation::MembersByPosition))
    }

    /// The direct members of `group` in version `version` of the directory
    /// ([`Memberships::listing_version`]): the users as their positions in the user
    /// listing of that version, the others (groups) by reference. The same members as
    /// [`Memberships::list_members`] of that version, each once; every member that is a
    /// user is in that version's user listing.
    ///
    /// `Ok(None)` when the adapter no longer holds that version (the caller then reads the
    /// members by id); it never answers from another version. It does not look for a newer
    /// version itself.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for a group that version does
    /// not have.
    async fn members_by_position(
        &self,
        _group: &str,
        _version: u64,
    ) -> Result<Option<PositionedMembers>> {
        Err(not_implemented(Operation::MembersByPosition))
    }

    /// Which writes one request of this adapter's [`Memberships::write_members`] carries
    /// together: the sync engine fills a batch with writes of one key, so that a batch
    /// costs as few requests as the platform allows, and the benchmarks count the fewest
    /// requests a plan needs with it. Writes of one [`MemberBatchKey::Shared`] key are one
    /// request per [`Capabilities::members_batch_max`](crate::Capabilities::members_batch_max)
    /// writes; [`MemberBatchKey::Any`] writes are, whatever their groups and members.
    ///
    /// The default, [`MemberBatchKey::Alone`], matches the default `write_members`, which
    /// sends every write alone.
    fn member_batch_key(&self, _write: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Alone
    }

    /// Applies many membership writes, returning one result per write in the same order.
    /// Each write is idempotent like [`Memberships::add_member`] and
    /// [`Memberships::remove_member`], and fails alone: a missing group or member fails
    /// the writes that name it, not the others.
    ///
    /// The default runs them one by one through the single-write methods. Adapters whose
    /// platform takes several membership changes in one request override it, declare
    /// [`Capabilities::members_batch_max`](crate::Capabilities::members_batch_max), and say
    /// with [`Memberships::member_batch_key`] which writes one request carries. A batch may
    /// still mix keys (a caller other than the sync engine); the adapter groups it itself.
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        let mut out = Vec::with_capacity(batch.len());
        for write in batch {
            out.push(match &write {
                MemberWrite::Add { group, member } => self.add_member(group, member).await,
                MemberWrite::Remove { group, member } => self.remove_member(group, member).await,
            });
        }
        out
    }
}

/// Roles and who holds them.
#[async_trait]
pub trait Roles: Send + Sync {
    /// One page of roles.
    async fn list_roles(&self, _page: PageRequest) -> Result<Page<Role>> {
        Err(not_implemented(Operation::RolesList))
    }

    /// One page of grants matching `filter`.
    async fn list_grants(&self, _filter: &GrantFilter, _page: PageRequest) -> Result<Page<Grant>> {
        Err(not_implemented(Operation::GrantsList))
    }

    /// Grants a role; succeeds without change when it is already held.
    async fn grant(&self, _grant: &Grant) -> Result<()> {
        Err(not_implemented(Operation::GrantsGrant))
    }

    /// Revokes a role; succeeds without change when it is not held.
    async fn revoke(&self, _grant: &Grant) -> Result<()> {
        Err(not_implemented(Operation::GrantsRevoke))
    }
}

/// Live login sessions.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// One page of sessions, of one user (by id) or of everyone.
    async fn list_sessions(
        &self,
        _user: Option<&str>,
        _page: PageRequest,
    ) -> Result<Page<Session>> {
        Err(not_implemented(Operation::SessionsList))
    }

    /// Ends one session; succeeds when it is already gone.
    async fn revoke_session(&self, _id: &str) -> Result<()> {
        Err(not_implemented(Operation::SessionsRevoke))
    }

    /// Ends every session of a user and returns how many were ended.
    async fn revoke_user_sessions(&self, _user: &str) -> Result<u64> {
        Err(not_implemented(Operation::SessionsRevokeUser))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(cursor: Option<&str>, size: Option<usize>) -> PageRequest {
        PageRequest {
            cursor: cursor.map(str::to_string),
            size,
        }
    }

    #[test]
    fn a_snapshot_listing_pages_through_with_cursors_that_name_the_snapshot() {
        let all = [1, 2, 3, 4, 5];
        let first = Page::slice_snapshot(&all, 7u64, 0, &at(None, Some(2)), 100);
        assert_eq!(
            first,
            Page {
                items: vec![1, 2],
                next: Some("7:2".into())
            }
        );
        let req = at(first.next.as_deref(), Some(2));
        assert_eq!(
            req.snapshot_cursor::<u64>().expect("its own cursor"),
            Some((7, 2))
        );
        let last = Page::slice_snapshot(&all, 7u64, 4, &at(Some("7:4"), Some(2)), 100);
        assert_eq!(last, Page::last(vec![5]));
        // The default size when the caller names none, and never a page of zero.
        assert_eq!(
            Page::slice_snapshot(&all, 1, 0, &at(None, None), 3).items,
            vec![1, 2, 3]
        );
        assert_eq!(
            Page::slice_snapshot(&all, 1, 0, &at(None, Some(0)), 3).items,
            vec![1]
        );
    }

    #[test]
    fn a_snapshot_cursor_is_none_on_the_first_page_and_refused_when_foreign() {
        assert_eq!(
            at(None, None).snapshot_cursor::<i64>().expect("first"),
            None
        );
        for foreign in ["12", "a:1", "1:b", "-1:2"] {
            let err = at(Some(foreign), None)
                .snapshot_cursor::<u64>()
                .expect_err(foreign);
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{foreign}");
            assert!(err.message().contains(foreign), "{err}");
        }
    }
}
