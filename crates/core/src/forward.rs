//! [`Forward`]: the base of adapter wrappers (recorders, fault injectors, test doubles).
//!
//! A wrapper implements [`Forward`], naming its inner adapter, and overrides only the
//! methods it observes; every other method forwards to the inner adapter. Blanket impls
//! make every [`Forward`] type an [`Adapter`], so the wrapper goes into an
//! [`crate::AdapterHandle`] like any adapter. A wrapper that implemented the concept traits
//! directly would answer a forgotten method with the trait's default (`Unimplemented`)
//! instead of the inner adapter's answer.

use async_trait::async_trait;

use crate::http::RequestCounts;
use crate::model::{
    Grant, GrantFilter, Group, GroupChanges, GroupWrite, GroupWriteResult, MemberBatchKey,
    MemberWrite, MemberWriteResult, Membership, NewGroup, NewUser, PositionedMembers, Principal,
    Role, Session, User, UserActivity, UserChanges, UserWrite, UserWriteResult,
};
use crate::traits::not_implemented;
use crate::traits::{Groups, Memberships, Page, PageRequest, Roles, Sessions, Users};
use crate::{Adapter, Capabilities, Operation, Protected, Result};

/// A wrapper around an adapter: every method defaults to forwarding to
/// [`Forward::forward_to`]. Implement this instead of the concept traits and [`Adapter`];
/// the blanket impls provide those.
///
/// Two methods are the exception: [`Memberships::listing_version`] and
/// [`Memberships::members_by_position`] answer `Unimplemented` unless the wrapper
/// overrides them. Their positions index the inner adapter's user listing, which a
/// wrapper may filter, reorder or cache, and a position taken against another listing
/// names another user. A wrapper that passes `list_users` through unchanged forwards both
/// itself; one that does not should leave
/// [`Capabilities::members_by_position`](crate::Capabilities::members_by_position) out of
/// its capabilities (declared but left at this default, the sync engine reads the members
/// by id, as the handle reports them `Unimplemented`).
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use idbridge_core::{Adapter, Forward, Page, PageRequest, Result, User, Users, async_trait};
///
/// /// Counts user listings; everything else reaches `inner` unchanged.
/// struct Counting {
///     inner: Arc<dyn Adapter>,
///     lists: AtomicUsize,
/// }
///
/// #[async_trait]
/// impl Forward for Counting {
///     fn forward_to(&self) -> &dyn Adapter {
///         self.inner.as_ref()
///     }
///     async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
///         self.lists.fetch_add(1, Ordering::SeqCst);
///         self.inner.list_users(page).await
///     }
/// }
/// ```
#[async_trait]
#[allow(missing_docs)] // each method is documented on the concept trait it forwards
pub trait Forward: Send + Sync + 'static {
    /// The wrapped adapter every method not overridden forwards to.
    fn forward_to(&self) -> &dyn Adapter;

    // ---- Adapter ----
    fn kind(&self) -> &'static str {
        self.forward_to().kind()
    }
    fn capabilities(&self) -> Capabilities {
        self.forward_to().capabilities()
    }
    fn protected(&self) -> Protected {
        self.forward_to().protected()
    }
    async fn check(&self) -> Result<()> {
        self.forward_to().check().await
    }
    async fn close(&self) -> Result<()> {
        self.forward_to().close().await
    }
    fn request_counts(&self) -> Option<RequestCounts> {
        self.forward_to().request_counts()
    }
    fn facts(&self) -> Vec<(String, String)> {
        self.forward_to().facts()
    }

    // ---- Users ----
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.forward_to().list_users(page).await
    }
    async fn get_user(&self, id: &str) -> Result<User> {
        self.forward_to().get_user(id).await
    }
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.forward_to().create_user(user).await
    }
    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        self.forward_to().update_user(id, changes).await
    }
    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        self.forward_to().set_user_enabled(id, enabled).await
    }
    async fn delete_user(&self, id: &str) -> Result<()> {
        self.forward_to().delete_user(id).await
    }
    async fn user_activity(&self, id: &str) -> Result<UserActivity> {
        self.forward_to().user_activity(id).await
    }
    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        self.forward_to().write_users(batch).await
    }

    // ---- Groups ----
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        self.forward_to().list_groups(page).await
    }
    async fn get_group(&self, id: &str) -> Result<Group> {
        self.forward_to().get_group(id).await
    }
    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        self.forward_to().create_group(group).await
    }
    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        self.forward_to().update_group(id, changes).await
    }
    async fn delete_group(&self, id: &str) -> Result<()> {
        self.forward_to().delete_group(id).await
    }
    async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<GroupWriteResult> {
        self.forward_to().write_groups(batch).await
    }

    // ---- Memberships ----
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.forward_to().list_members(group, page).await
    }
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.forward_to().add_member(group, member).await
    }
    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.forward_to().remove_member(group, member).await
    }
    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        self.forward_to().list_all_members().await
    }
    /// Not forwarded: see the trait's documentation.
    async fn listing_version(&self) -> Result<u64> {
        Err(not_implemented(Operation::MembersByPosition))
    }
    /// Not forwarded: see the trait's documentation.
    async fn members_by_position(
        &self,
        _group: &str,
        _version: u64,
    ) -> Result<Option<PositionedMembers>> {
        Err(not_implemented(Operation::MembersByPosition))
    }
    fn member_batch_key(&self, write: &MemberWrite) -> MemberBatchKey {
        self.forward_to().member_batch_key(write)
    }
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        self.forward_to().write_members(batch).await
    }

    // ---- Roles ----
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        self.forward_to().list_roles(page).await
    }
    async fn list_grants(&self, filter: &GrantFilter, page: PageRequest) -> Result<Page<Grant>> {
        self.forward_to().list_grants(filter, page).await
    }
    async fn grant(&self, grant: &Grant) -> Result<()> {
        self.forward_to().grant(grant).await
    }
    async fn revoke(&self, grant: &Grant) -> Result<()> {
        self.forward_to().revoke(grant).await
    }

    // ---- Sessions ----
    async fn list_sessions(&self, user: Option<&str>, page: PageRequest) -> Result<Page<Session>> {
        self.forward_to().list_sessions(user, page).await
    }
    async fn revoke_session(&self, id: &str) -> Result<()> {
        self.forward_to().revoke_session(id).await
    }
    async fn revoke_user_sessions(&self, user: &str) -> Result<u64> {
        self.forward_to().revoke_user_sessions(user).await
    }
}

#[async_trait]
impl<T: Forward> Adapter for T {
    fn kind(&self) -> &'static str {
        Forward::kind(self)
    }
    fn capabilities(&self) -> Capabilities {
        Forward::capabilities(self)
    }
    fn protected(&self) -> Protected {
        Forward::protected(self)
    }
    async fn check(&self) -> Result<()> {
        Forward::check(self).await
    }
    async fn close(&self) -> Result<()> {
        Forward::close(self).await
    }
    fn request_counts(&self) -> Option<RequestCounts> {
        Forward::request_counts(self)
    }
    fn facts(&self) -> Vec<(String, String)> {
        Forward::facts(self)
    }
}

#[async_trait]
impl<T: Forward> Users for T {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        Forward::list_users(self, page).await
    }
    async fn get_user(&self, id: &str) -> Result<User> {
        Forward::get_user(self, id).await
    }
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        Forward::create_user(self, user).await
    }
    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        Forward::update_user(self, id, changes).await
    }
    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        Forward::set_user_enabled(self, id, enabled).await
    }
    async fn delete_user(&self, id: &str) -> Result<()> {
        Forward::delete_user(self, id).await
    }
    async fn user_activity(&self, id: &str) -> Result<UserActivity> {
        Forward::user_activity(self, id).await
    }
    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        Forward::write_users(self, batch).await
    }
}

#[async_trait]
impl<T: Forward> Groups for T {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        Forward::list_groups(self, page).await
    }
    async fn get_group(&self, id: &str) -> Result<Group> {
        Forward::get_group(self, id).await
    }
    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        Forward::create_group(self, group).await
    }
    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        Forward::update_group(self, id, changes).await
    }
    async fn delete_group(&self, id: &str) -> Result<()> {
        Forward::delete_group(self, id).await
    }
    async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<GroupWriteResult> {
        Forward::write_groups(self, batch).await
    }
}

#[async_trait]
impl<T: Forward> Memberships for T {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        Forward::list_members(self, group, page).await
    }
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        Forward::add_member(self, group, member).await
    }
    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        Forward::remove_member(self, group, member).await
    }
    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        Forward::list_all_members(self).await
    }
    async fn listing_version(&self) -> Result<u64> {
        Forward::listing_version(self).await
    }
    async fn members_by_position(
        &self,
        group: &str,
        version: u64,
    ) -> Result<Option<PositionedMembers>> {
        Forward::members_by_position(self, group, version).await
    }
    fn member_batch_key(&self, write: &MemberWrite) -> MemberBatchKey {
        Forward::member_batch_key(self, write)
    }
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        Forward::write_members(self, batch).await
    }
}

#[async_trait]
impl<T: Forward> Roles for T {
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        Forward::list_roles(self, page).await
    }
    async fn list_grants(&self, filter: &GrantFilter, page: PageRequest) -> Result<Page<Grant>> {
        Forward::list_grants(self, filter, page).await
    }
    async fn grant(&self, grant: &Grant) -> Result<()> {
        Forward::grant(self, grant).await
    }
    async fn revoke(&self, grant: &Grant) -> Result<()> {
        Forward::revoke(self, grant).await
    }
}

#[async_trait]
impl<T: Forward> Sessions for T {
    async fn list_sessions(&self, user: Option<&str>, page: PageRequest) -> Result<Page<Session>> {
        Forward::list_sessions(self, user, page).await
    }
    async fn revoke_session(&self, id: &str) -> Result<()> {
        Forward::revoke_session(self, id).await
    }
    async fn revoke_user_sessions(&self, user: &str) -> Result<u64> {
        Forward::revoke_user_sessions(self, user).await
    }
}
