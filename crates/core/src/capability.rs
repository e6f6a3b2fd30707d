//! What an adapter can do, as data.
//!
//! [`Capabilities`] is a flat `Copy + Default` struct with one flag per [`Operation`] and a
//! few limits. Everything defaults to "not supported", so an adapter declares exactly what
//! it offers with `..Capabilities::default()`. The [`crate::AdapterHandle`] checks every
//! call against these flags before the adapter sees it, so an undeclared operation always
//! fails with [`crate::ErrorKind::Unsupported`] naming the adapter and the operation.
//!
//! Naming grammar: `<concept>_<operation>` for operations, `<concept>_<qualifier>` for
//! what an operation accepts (`members_nested`, `grants_project`), `*_max_*` for limits.

use serde::Serialize;

/// Every operation of the five adapter traits, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// [`crate::Users::list_users`]
    UsersList,
    /// [`crate::Users::get_user`]
    UsersGet,
    /// [`crate::Users::create_user`]
    UsersCreate,
    /// [`crate::Users::update_user`]
    UsersUpdate,
    /// [`crate::Users::set_user_enabled`]
    UsersSetEnabled,
    /// [`crate::Users::delete_user`]
    UsersDelete,
    /// [`crate::Users::user_activity`]
    UsersActivity,
    /// [`crate::Groups::list_groups`]
    GroupsList,
    /// [`crate::Groups::get_group`]
    GroupsGet,
    /// [`crate::Groups::create_group`]
    GroupsCreate,
    /// [`crate::Groups::update_group`]
    GroupsUpdate,
    /// [`crate::Groups::delete_group`]
    GroupsDelete,
    /// [`crate::Memberships::list_members`]
    MembersList,
    /// [`crate::Memberships::add_member`]
    MembersAdd,
    /// [`crate::Memberships::remove_member`]
    MembersRemove,
    /// [`crate::Memberships::list_all_members`]
    MembersListAll,
    /// [`crate::Memberships::listing_version`] and
    /// [`crate::Memberships::members_by_position`]
    MembersByPosition,
    /// [`crate::Roles::list_roles`]
    RolesList,
    /// [`crate::Roles::list_grants`]
    GrantsList,
    /// [`crate::Roles::grant`]
    GrantsGrant,
    /// [`crate::Roles::revoke`]
    GrantsRevoke,
    /// [`crate::Sessions::list_sessions`]
    SessionsList,
    /// [`crate::Sessions::revoke_session`]
    SessionsRevoke,
    /// [`crate::Sessions::revoke_user_sessions`]
    SessionsRevokeUser,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 24] = [
        Operation::UsersList,
        Operation::UsersGet,
        Operation::UsersCreate,
        Operation::UsersUpdate,
        Operation::UsersSetEnabled,
        Operation::UsersDelete,
        Operation::UsersActivity,
        Operation::GroupsList,
        Operation::GroupsGet,
        Operation::GroupsCreate,
        Operation::GroupsUpdate,
        Operation::GroupsDelete,
        Operation::MembersList,
        Operation::MembersAdd,
        Operation::MembersRemove,
        Operation::MembersListAll,
        Operation::MembersByPosition,
        Operation::RolesList,
        Operation::GrantsList,
        Operation::GrantsGrant,
        Operation::GrantsRevoke,
        Operation::SessionsList,
        Operation::SessionsRevoke,
        Operation::SessionsRevokeUser,
    ];

    /// The snake_case name, identical to the capability flag's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::UsersList => "users_list",
            Operation::UsersGet => "users_get",
            Operation::UsersCreate => "users_create",
            Operation::UsersUpdate => "users_update",
            Operation::UsersSetEnabled => "users_set_enabled",
            Operation::UsersDelete => "users_delete",
            Operation::UsersActivity => "users_activity",
            Operation::GroupsList => "groups_list",
            Operation::GroupsGet => "groups_get",
            Operation::GroupsCreate => "groups_create",
            Operation::GroupsUpdate => "groups_update",
            Operation::GroupsDelete => "groups_delete",
            Operation::MembersList => "members_list",
            Operation::MembersAdd => "members_add",
            Operation::MembersRemove => "members_remove",
            Operation::MembersListAll => "members_list_all",
            Operation::MembersByPosition => "members_by_position",
            Operation::RolesList => "roles_list",
            Operation::GrantsList => "grants_list",
            Operation::GrantsGrant => "grants_grant",
            Operation::GrantsRevoke => "grants_revoke",
            Operation::SessionsList => "sessions_list",
            Operation::SessionsRevoke => "sessions_revoke",
            Operation::SessionsRevokeUser => "sessions_revoke_user",
        }
    }

    /// Whether the operation changes state on the platform.
    pub fn is_write(self) -> bool {
        !matches!(
            self,
            Operation::UsersList
                | Operation::UsersGet
                | Operation::UsersActivity
                | Operation::GroupsList
                | Operation::GroupsGet
                | Operation::MembersList
                | Operation::MembersListAll
                | Operation::MembersByPosition
                | Operation::RolesList
                | Operation::GrantsList
                | Operation::SessionsList
        )
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operations and limits an adapter declares. Everything defaults to unsupported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// List users, paged.
    pub users_list: bool,
    /// Get one user by id.
    pub users_get: bool,
    /// Create a user.
    pub users_create: bool,
    /// Creating a user can set an initial password.
    pub users_create_password: bool,
    /// Update a user's login, email, display name or attributes.
    pub users_update: bool,
    /// The platform's login is the email address: setting one sets the other. The sync
    /// engine then maps the login from the email.
    pub users_login_is_email: bool,
    /// The login cannot change once the account exists (it is the platform's key);
    /// `users_update` changes the other fields only. The sync engine then keeps a renamed
    /// user's existing login instead of planning a rename the platform refuses.
    pub users_login_immutable: bool,
    /// Enable or disable a user. Without it the sync engine falls back to the deletion policy.
    pub users_set_enabled: bool,
    /// Delete a user.
    pub users_delete: bool,
    /// Read a user's last login and activity (for platforms without session listing).
    pub users_activity: bool,
    /// The platform takes many user writes in one request; the largest batch it accepts.
    /// `None` means writes go one by one (the default batch implementation).
    pub users_batch_max: Option<usize>,
    /// List groups, paged.
    pub groups_list: bool,
    /// Get one group by id.
    pub groups_get: bool,
    /// Create a group.
    pub groups_create: bool,
    /// Rename a group or change its description.
    pub groups_update: bool,
    /// Groups carry a description (stored on create, changeable with `groups_update`).
    /// Without it the sync engine leaves descriptions alone.
    pub groups_description: bool,
    /// Delete a group.
    pub groups_delete: bool,
    /// The platform takes many group writes (creates, updates, deletes) in one request;
    /// the most writes in one [`crate::Groups::write_groups`] call. `None` (the default)
    /// means writes go one by one (the default batch implementation).
    pub groups_batch_max: Option<usize>,
    /// List a group's members, paged.
    pub members_list: bool,
    /// Add a member (idempotent).
    pub members_add: bool,
    /// Remove a member (idempotent).
    pub members_remove: bool,
    /// List every group's direct members at once, with fewer requests than one member
    /// listing per group (the platform keeps memberships on its user records, or its group
    /// listing carries the members). The sync engine then reads a target's memberships
    /// with this one call instead of one listing per group.
    pub members_list_all: bool,
    /// The adapter holds its directory in memory and gives a group's users as their
    /// positions in its user listing ([`crate::Memberships::members_by_position`]), under
    /// a version that says which listing they index
    /// ([`crate::Memberships::listing_version`]). The sync engine then takes the members
    /// of a system it listed under one version as those positions, without resolving an id
    /// per member.
    pub members_by_position: bool,
    /// Groups can be members of groups. Without it, the sync engine flattens nesting.
    pub members_nested: bool,
    /// The platform takes several membership writes in one request; the most writes (adds
    /// and removes) in one [`crate::Memberships::write_members`] call. Which writes share a
    /// request is the adapter's to say ([`crate::Memberships::member_batch_key`]). `None`
    /// means writes go one by one (the default batch implementation).
    pub members_batch_max: Option<usize>,
    /// List roles.
    pub roles_list: bool,
    /// List who holds which role.
    pub grants_list: bool,
    /// Grant a role.
    pub grants_grant: bool,
    /// Revoke a role.
    pub grants_revoke: bool,
    /// Roles can be granted in the global scope.
    pub grants_global: bool,
    /// Roles can be granted in a project scope.
    pub grants_project: bool,
    /// Roles can be granted to groups (not only to users) in the scopes declared above,
    /// except the global scope, which also needs `grants_global_to_groups`.
    pub grants_to_groups: bool,
    /// Global roles can be granted to groups (some platforms give groups project roles only).
    pub grants_global_to_groups: bool,
    /// Every user holds exactly one global role, and this one (by id) is the least:
    /// revoking another gives the user a lesser role rather than none, and this one cannot
    /// be revoked. When the sync engine must take an account's global roles away (an
    /// account that should lose access on a target that cannot disable it), it grants this
    /// one instead of revoking. `None` (the default): global roles are revoked.
    pub grants_global_floor: Option<&'static str>,
    /// List sessions (all, or one user's).
    pub sessions_list: bool,
    /// Revoke one session by id.
    pub sessions_revoke: bool,
    /// Revoke every session of a user.
    pub sessions_revoke_user: bool,
}

impl Capabilities {
    /// Whether `op` is declared.
    pub fn supports(&self, op: Operation) -> bool {
        match op {
            Operation::UsersList => self.users_list,
            Operation::UsersGet => self.users_get,
            Operation::UsersCreate => self.users_create,
            Operation::UsersUpdate => self.users_update,
            Operation::UsersSetEnabled => self.users_set_enabled,
            Operation::UsersDelete => self.users_delete,
            Operation::UsersActivity => self.users_activity,
            Operation::GroupsList => self.groups_list,
            Operation::GroupsGet => self.groups_get,
            Operation::GroupsCreate => self.groups_create,
            Operation::GroupsUpdate => self.groups_update,
            Operation::GroupsDelete => self.groups_delete,
            Operation::MembersList => self.members_list,
            Operation::MembersAdd => self.members_add,
            Operation::MembersRemove => self.members_remove,
            Operation::MembersListAll => self.members_list_all,
            Operation::MembersByPosition => self.members_by_position,
            Operation::RolesList => self.roles_list,
            Operation::GrantsList => self.grants_list,
            Operation::GrantsGrant => self.grants_grant,
            Operation::GrantsRevoke => self.grants_revoke,
            Operation::SessionsList => self.sessions_list,
            Operation::SessionsRevoke => self.sessions_revoke,
            Operation::SessionsRevokeUser => self.sessions_revoke_user,
        }
    }

    /// The declared operations, in declaration order.
    pub fn supported(&self) -> Vec<Operation> {
        Operation::ALL
            .into_iter()
            .filter(|op| self.supports(*op))
            .collect()
    }

    /// The undeclared operations, in declaration order.
    pub fn unsupported(&self) -> Vec<Operation> {
        Operation::ALL
            .into_iter()
            .filter(|op| !self.supports(*op))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_supports_nothing() {
        assert!(Capabilities::default().supported().is_empty());
    }

    #[test]
    fn operation_names_are_unique() {
        let mut names: Vec<_> = Operation::ALL.iter().map(|o| o.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Operation::ALL.len());
    }
}
