//! [`AdapterHandle`]: what callers hold. The one place that enforces capabilities, protects
//! built-in accounts and adds context to errors.
//!
//! Adapters implement the concept traits ([`crate::Users`], ...); callers (the sync engine,
//! the CLI, the conformance suite, embedding programs) call the handle's inherent methods,
//! which have the same names. The handle does not implement the traits, so a caller cannot
//! reach an adapter around its checks, and a wrapper of an adapter builds on
//! [`crate::Forward`] instead of re-implementing the handle.

use std::future::Future;
use std::sync::Arc;

use crate::http::RequestCounts;
use crate::model::{
    Grant, GrantFilter, Group, GroupChanges, Membership, NewGroup, NewUser, PositionedMembers,
    Principal, Role, Session, User, UserActivity, UserChanges,
};
use crate::traits::{Page, PageRequest};
use crate::{Adapter, Capabilities, Error, ErrorKind, Operation, Protected, Result, collect_pages};

mod batch;
#[cfg(test)]
mod tests;

/// A named, checked adapter instance: what the CLI, the sync engine and the conformance
/// suite hold.
///
/// # Behavior
/// - Every call is checked against the adapter's [`Capabilities`] first: an undeclared
///   operation, or an argument the platform does not take (an initial password without
///   `users_create_password`, a group description without `groups_description`, a group as
///   a member without `members_nested`, a grant scope or principal the grant flags leave
///   out), fails with [`ErrorKind::Unsupported`] naming instance and flag, without touching
///   the adapter.
/// - A declared operation the adapter left at the trait's default body fails with
///   [`ErrorKind::Unimplemented`] naming the adapter and the method: a bug in the adapter,
///   not a limit of its platform.
/// - Writes to [`Protected`] accounts and additions to privileged groups fail with
///   [`ErrorKind::PermissionDenied`].
/// - Every error leaves with the instance name, the operation and the resource attached.
///
/// Cheap to clone.
#[derive(Clone)]
pub struct AdapterHandle {
    name: Arc<str>,
    inner: Arc<dyn Adapter>,
    caps: Capabilities,
    protected: Arc<Protected>,
}

impl std::fmt::Debug for AdapterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterHandle")
            .field("name", &self.name)
            .field("kind", &self.inner.kind())
            .finish()
    }
}

impl AdapterHandle {
    /// Wraps an adapter under an instance name (`source`, or a target name such as `bi`).
    /// Reads the adapter's capabilities and protected accounts once.
    pub fn new(name: impl Into<String>, adapter: Arc<dyn Adapter>) -> Self {
        let caps = adapter.capabilities();
        let protected = Arc::new(adapter.protected());
        AdapterHandle {
            name: Arc::from(name.into()),
            inner: adapter,
            caps,
            protected,
        }
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The adapter kind (registered name).
    pub fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    /// The declared capabilities.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// The protected accounts and groups.
    pub fn protected(&self) -> &Protected {
        &self.protected
    }

    /// Requests sent so far, if the adapter counts them.
    pub fn request_counts(&self) -> Option<RequestCounts> {
        self.inner.request_counts()
    }

    /// What the adapter found out about its platform ([`Adapter::facts`]), for
    /// `idbridge check`.
    pub fn facts(&self) -> Vec<(String, String)> {
        self.inner.facts()
    }

    /// The wrapped adapter, unchecked: for adapter-specific extensions and for the
    /// conformance suite's check that undeclared operations are not implemented.
    pub fn inner(&self) -> &Arc<dyn Adapter> {
        &self.inner
    }

    /// Checks connectivity (see [`Adapter::check`]).
    ///
    /// # Errors
    /// Whatever the adapter's check returns, with the instance name attached.
    pub async fn check(&self) -> Result<()> {
        self.inner
            .check()
            .await
            .map_err(|e| e.with_adapter(self.name.as_ref()).with_operation("check"))
    }

    /// Logs out / releases resources (see [`Adapter::close`]).
    ///
    /// # Errors
    /// Whatever the adapter's close returns, with the instance name attached.
    pub async fn close(&self) -> Result<()> {
        self.inner
            .close()
            .await
            .map_err(|e| e.with_adapter(self.name.as_ref()).with_operation("close"))
    }

    fn gate(&self, op: Operation) -> Result<()> {
        if self.caps.supports(op) {
            Ok(())
        } else {
            Err(Error::unsupported(self.name.as_ref(), op.as_str()))
        }
    }

    /// Refuses an argument the platform does not take: `flag` names the capability.
    fn qualifier(&self, declared: bool, flag: &str, op: Operation, resource: &str) -> Result<()> {
        if declared {
            return Ok(());
        }
        Err(Error::unsupported(self.name.as_ref(), flag)
            .with_operation(op.as_str())
            .with_resource(resource))
    }

    fn protect_user(&self, op: Operation, id: &str) -> Result<()> {
        if self.protected.user(id) {
            return Err(Error::permission_denied(format!(
                "user `{id}` is protected (a built-in or the connecting account) and is never modified"
            ))
            .with_adapter(self.name.as_ref())
            .with_operation(op.as_str())
            .with_resource(id));
        }
        Ok(())
    }

    fn protect_group(&self, op: Operation, id: &str) -> Result<()> {
        if self.protected.group(id) {
            return Err(Error::permission_denied(format!(
                "group `{id}` is protected (a built-in) and is never modified"
            ))
            .with_adapter(self.name.as_ref())
            .with_operation(op.as_str())
            .with_resource(id));
        }
        Ok(())
    }

    /// Refuses any addition to a privileged group, whatever a plan says: membership there
    /// is administration of the platform, which idbridge never hands out.
    fn protect_privileged(&self, op: Operation, group: &str) -> Result<()> {
        if self.protected.privileged_group(group) {
            return Err(Error::permission_denied(format!(
                "group `{group}` is privileged (its members administer the platform); idbridge never adds members to it"
            ))
            .with_adapter(self.name.as_ref())
            .with_operation(op.as_str())
            .with_resource(group));
        }
        Ok(())
    }

    /// Adds context to an adapter's error. A declared operation answered by the trait's
    /// default body becomes an error naming the adapter kind and the method.
    fn context(&self, op: Operation, resource: Option<&str>, e: Error) -> Error {
        let e = if e.kind() == ErrorKind::Unimplemented {
            Error::new(
                ErrorKind::Unimplemented,
                format!(
                    "adapter `{}` declares `{op}` in its capabilities but does not implement it (the trait's default body answered)",
                    self.inner.kind()
                ),
            )
            .with_retryable(false)
        } else {
            e
        };
        let e = e
            .with_adapter(self.name.as_ref())
            .with_operation(op.as_str());
        match resource {
            Some(r) => e.with_resource(r),
            None => e,
        }
    }

    async fn run<T, F>(&self, op: Operation, resource: Option<&str>, fut: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        self.gate(op)?;
        fut.await.map_err(|e| self.context(op, resource, e))
    }

    fn check_user(&self, user: &NewUser) -> Result<()> {
        self.qualifier(
            user.password.is_none() || self.caps.users_create_password,
            "users_create_password",
            Operation::UsersCreate,
            &user.login,
        )
    }

    /// Refuses a login change where the platform keeps logins (`users_login_immutable`).
    /// A login equal to the id is no change where the id is the login.
    fn check_user_changes(&self, id: &str, changes: &UserChanges) -> Result<()> {
        match &changes.login {
            Some(login) if self.caps.users_login_immutable && login != id => {
                Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "adapter `{}` declares `users_login_immutable`: the login of `{id}` cannot change to `{login}`",
                        self.name
                    ),
                )
                .with_adapter(self.name.as_ref())
                .with_operation(Operation::UsersUpdate.as_str())
                .with_resource(id))
            }
            _ => Ok(()),
        }
    }

    fn check_new_group(&self, group: &NewGroup) -> Result<()> {
        self.qualifier(
            group.description.is_none() || self.caps.groups_description,
            "groups_description",
            Operation::GroupsCreate,
            &group.name,
        )
    }

    fn check_group_changes(&self, id: &str, changes: &GroupChanges) -> Result<()> {
        self.qualifier(
            changes.description.is_none() || self.caps.groups_description,
            "groups_description",
            Operation::GroupsUpdate,
            id,
        )
    }

    fn check_member(&self, op: Operation, group: &str, member: &Principal) -> Result<()> {
        self.qualifier(
            !member.is_group() || self.caps.members_nested,
            "members_nested",
            op,
            &format!("{member} in group {group}"),
        )
    }

    fn check_grant_shape(&self, op: Operation, grant: &Grant) -> Result<()> {
        let c = &self.caps;
        let global = grant.scope.is_global();
        let to_group = grant.principal.is_group();
        self.qualifier(!global || c.grants_global, "grants_global", op, &grant.role)?;
        self.qualifier(
            global || c.grants_project,
            "grants_project",
            op,
            &grant.role,
        )?;
        self.qualifier(
            !to_group || c.grants_to_groups,
            "grants_to_groups",
            op,
            &grant.role,
        )?;
        self.qualifier(
            !(to_group && global) || c.grants_global_to_groups,
            "grants_global_to_groups",
            op,
            &grant.role,
        )
    }

    // ---- users ----

    /// One page of users ([`crate::Users::list_users`]).
    ///
    /// # Errors
    /// Unsupported without `users_list`; the adapter's error otherwise.
    pub async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.run(Operation::UsersList, None, self.inner.list_users(page))
            .await
    }

    /// One user by id ([`crate::Users::get_user`]).
    ///
    /// # Errors
    /// Unsupported without `users_get`; NotFound for a missing id.
    pub async fn get_user(&self, id: &str) -> Result<User> {
        self.run(Operation::UsersGet, Some(id), self.inner.get_user(id))
            .await
    }

    /// Creates a user ([`crate::Users::create_user`]).
    ///
    /// # Errors
    /// Unsupported without `users_create`, or with a password without
    /// `users_create_password`; AlreadyExists for a taken login.
    pub async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.gate(Operation::UsersCreate)?;
        self.check_user(user)?;
        self.run(
            Operation::UsersCreate,
            Some(&user.login),
            self.inner.create_user(user),
        )
        .await
    }

    /// Changes a user's fields ([`crate::Users::update_user`]).
    ///
    /// # Errors
    /// PermissionDenied for a protected user; Unsupported without `users_update`, or for a
    /// login change where the adapter declares `users_login_immutable`.
    pub async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        self.protect_user(Operation::UsersUpdate, id)?;
        self.gate(Operation::UsersUpdate)?;
        self.check_user_changes(id, changes)?;
        self.run(
            Operation::UsersUpdate,
            Some(id),
            self.inner.update_user(id, changes),
        )
        .await
    }

    /// Enables or disables a user ([`crate::Users::set_user_enabled`]).
    ///
    /// # Errors
    /// PermissionDenied for a protected user; Unsupported without `users_set_enabled`.
    pub async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        self.protect_user(Operation::UsersSetEnabled, id)?;
        self.run(
            Operation::UsersSetEnabled,
            Some(id),
            self.inner.set_user_enabled(id, enabled),
        )
        .await
    }

    /// Deletes a user ([`crate::Users::delete_user`]).
    ///
    /// # Errors
    /// PermissionDenied for a protected user; Unsupported without `users_delete`.
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        self.protect_user(Operation::UsersDelete, id)?;
        self.run(Operation::UsersDelete, Some(id), self.inner.delete_user(id))
            .await
    }

    /// A user's last login and activity ([`crate::Users::user_activity`]).
    ///
    /// # Errors
    /// Unsupported without `users_activity`.
    pub async fn user_activity(&self, id: &str) -> Result<UserActivity> {
        self.run(
            Operation::UsersActivity,
            Some(id),
            self.inner.user_activity(id),
        )
        .await
    }

    // ---- groups ----

    /// One page of groups ([`crate::Groups::list_groups`]).
    ///
    /// # Errors
    /// Unsupported without `groups_list`.
    pub async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        self.run(Operation::GroupsList, None, self.inner.list_groups(page))
            .await
    }

    /// One group by id ([`crate::Groups::get_group`]).
    ///
    /// # Errors
    /// Unsupported without `groups_get`; NotFound for a missing id.
    pub async fn get_group(&self, id: &str) -> Result<Group> {
        self.run(Operation::GroupsGet, Some(id), self.inner.get_group(id))
            .await
    }

    /// Creates a group ([`crate::Groups::create_group`]).
    ///
    /// # Errors
    /// Unsupported without `groups_create`, or with a description without
    /// `groups_description`; AlreadyExists for a taken name.
    pub async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        self.gate(Operation::GroupsCreate)?;
        self.check_new_group(group)?;
        self.run(
            Operation::GroupsCreate,
            Some(&group.name),
            self.inner.create_group(group),
        )
        .await
    }

    /// Renames a group or changes its description ([`crate::Groups::update_group`]).
    ///
    /// # Errors
    /// PermissionDenied for a protected group; Unsupported without `groups_update`, or for
    /// a description change without `groups_description`.
    pub async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        self.protect_group(Operation::GroupsUpdate, id)?;
        self.gate(Operation::GroupsUpdate)?;
        self.check_group_changes(id, changes)?;
        self.run(
            Operation::GroupsUpdate,
            Some(id),
            self.inner.update_group(id, changes),
        )
        .await
    }

    /// Deletes a group ([`crate::Groups::delete_group`]).
    ///
    /// # Errors
    /// PermissionDenied for a protected group; Unsupported without `groups_delete`.
    pub async fn delete_group(&self, id: &str) -> Result<()> {
        self.protect_group(Operation::GroupsDelete, id)?;
        self.run(
            Operation::GroupsDelete,
            Some(id),
            self.inner.delete_group(id),
        )
        .await
    }

    // ---- memberships ----

    /// One page of a group's direct members ([`crate::Memberships::list_members`]).
    ///
    /// # Errors
    /// Unsupported without `members_list`.
    pub async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.run(
            Operation::MembersList,
            Some(group),
            self.inner.list_members(group, page),
        )
        .await
    }

    /// Adds a member ([`crate::Memberships::add_member`]).
    ///
    /// # Errors
    /// Unsupported without `members_add`, or for a group member without `members_nested`;
    /// PermissionDenied for a privileged group.
    pub async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.gate(Operation::MembersAdd)?;
        self.check_member(Operation::MembersAdd, group, member)?;
        self.protect_privileged(Operation::MembersAdd, group)?;
        self.run(
            Operation::MembersAdd,
            Some(group),
            self.inner.add_member(group, member),
        )
        .await
    }

    /// Removes a member ([`crate::Memberships::remove_member`]).
    ///
    /// # Errors
    /// PermissionDenied for a protected user; Unsupported without `members_remove`.
    pub async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        if let Principal::User(id) = member {
            self.protect_user(Operation::MembersRemove, id)?;
        }
        self.run(
            Operation::MembersRemove,
            Some(group),
            self.inner.remove_member(group, member),
        )
        .await
    }

    /// Every direct membership of every group ([`crate::Memberships::list_all_members`]).
    ///
    /// # Errors
    /// Unsupported without `members_list_all`.
    pub async fn list_all_members(&self) -> Result<Vec<Membership>> {
        self.run(
            Operation::MembersListAll,
            None,
            self.inner.list_all_members(),
        )
        .await
    }

    /// The version of the directory listings are served from now
    /// ([`crate::Memberships::listing_version`]).
    ///
    /// # Errors
    /// Unsupported without `members_by_position`.
    pub async fn listing_version(&self) -> Result<u64> {
        self.run(
            Operation::MembersByPosition,
            None,
            self.inner.listing_version(),
        )
        .await
    }

    /// A group's direct members in one version of the directory, the users as positions in
    /// that version's user listing ([`crate::Memberships::members_by_position`]); `None`
    /// when the adapter no longer holds that version.
    ///
    /// # Errors
    /// Unsupported without `members_by_position`; NotFound for a missing group.
    pub async fn members_by_position(
        &self,
        group: &str,
        version: u64,
    ) -> Result<Option<PositionedMembers>> {
        self.run(
            Operation::MembersByPosition,
            Some(group),
            self.inner.members_by_position(group, version),
        )
        .await
    }

    // ---- roles ----

    /// One page of roles ([`crate::Roles::list_roles`]).
    ///
    /// # Errors
    /// Unsupported without `roles_list`.
    pub async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        self.run(Operation::RolesList, None, self.inner.list_roles(page))
            .await
    }

    /// One page of grants matching `filter` ([`crate::Roles::list_grants`]).
    ///
    /// # Errors
    /// Unsupported without `grants_list`.
    pub async fn list_grants(
        &self,
        filter: &GrantFilter,
        page: PageRequest,
    ) -> Result<Page<Grant>> {
        self.run(
            Operation::GrantsList,
            None,
            self.inner.list_grants(filter, page),
        )
        .await
    }

    /// Grants a role ([`crate::Roles::grant`]).
    ///
    /// # Errors
    /// Unsupported without `grants_grant` or for a scope or principal the grant flags
    /// leave out; PermissionDenied for a global role that is a privileged group.
    pub async fn grant(&self, grant: &Grant) -> Result<()> {
        self.gate(Operation::GrantsGrant)?;
        self.check_grant_shape(Operation::GrantsGrant, grant)?;
        if grant.scope.is_global() {
            // A platform whose global roles are groups: granting the role is joining the group.
            self.protect_privileged(Operation::GrantsGrant, &grant.role)?;
        }
        self.run(
            Operation::GrantsGrant,
            Some(&grant.role),
            self.inner.grant(grant),
        )
        .await
    }

    /// Revokes a role ([`crate::Roles::revoke`]).
    ///
    /// # Errors
    /// Unsupported without `grants_revoke` or for a scope or principal the grant flags
    /// leave out.
    pub async fn revoke(&self, grant: &Grant) -> Result<()> {
        self.gate(Operation::GrantsRevoke)?;
        self.check_grant_shape(Operation::GrantsRevoke, grant)?;
        self.run(
            Operation::GrantsRevoke,
            Some(&grant.role),
            self.inner.revoke(grant),
        )
        .await
    }

    // ---- sessions ----

    /// One page of sessions, of one user or of everyone ([`crate::Sessions::list_sessions`]).
    ///
    /// # Errors
    /// Unsupported without `sessions_list`.
    pub async fn list_sessions(
        &self,
        user: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Session>> {
        self.run(
            Operation::SessionsList,
            user,
            self.inner.list_sessions(user, page),
        )
        .await
    }

    /// Ends one session ([`crate::Sessions::revoke_session`]).
    ///
    /// # Errors
    /// Unsupported without `sessions_revoke`.
    pub async fn revoke_session(&self, id: &str) -> Result<()> {
        self.run(
            Operation::SessionsRevoke,
            Some(id),
            self.inner.revoke_session(id),
        )
        .await
    }

    /// Ends every session of a user ([`crate::Sessions::revoke_user_sessions`]).
    ///
    /// # Errors
    /// Unsupported without `sessions_revoke_user`.
    pub async fn revoke_user_sessions(&self, user: &str) -> Result<u64> {
        self.run(
            Operation::SessionsRevokeUser,
            Some(user),
            self.inner.revoke_user_sessions(user),
        )
        .await
    }

    // ---- every page ----

    /// Every user, following every page.
    ///
    /// # Errors
    /// As [`AdapterHandle::list_users`]; Protocol when the server repeats a cursor.
    pub async fn all_users(&self) -> Result<Vec<User>> {
        collect_pages(|p| self.list_users(p)).await
    }

    /// Every group, following every page.
    ///
    /// # Errors
    /// As [`AdapterHandle::list_groups`]; Protocol when the server repeats a cursor.
    pub async fn all_groups(&self) -> Result<Vec<Group>> {
        collect_pages(|p| self.list_groups(p)).await
    }

    /// Every direct member of a group, following every page.
    ///
    /// # Errors
    /// As [`AdapterHandle::list_members`]; Protocol when the server repeats a cursor.
    pub async fn all_members(&self, group: &str) -> Result<Vec<Principal>> {
        collect_pages(|p| self.list_members(group, p)).await
    }

    /// Every role, following every page.
    ///
    /// # Errors
    /// As [`AdapterHandle::list_roles`]; Protocol when the server repeats a cursor.
    pub async fn all_roles(&self) -> Result<Vec<Role>> {
        collect_pages(|p| self.list_roles(p)).await
    }

    /// Every grant matching `filter`, following every page.
    ///
    /// # Errors
    /// As [`AdapterHandle::list_grants`]; Protocol when the server repeats a cursor.
    pub async fn all_grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>> {
        collect_pages(|p| self.list_grants(filter, p)).await
    }

    /// Every session, of one user or of everyone, following every page.
    ///
    /// # Errors
    /// As [`AdapterHandle::list_sessions`]; Protocol when the server repeats a cursor.
    pub async fn all_sessions(&self, user: Option<&str>) -> Result<Vec<Session>> {
        collect_pages(|p| self.list_sessions(user, p)).await
    }
}
