//! The operations of a plan: what each does ([`Action`]), with the records it addresses
//! ([`Ref`]: an existing record's id, or the record an earlier operation creates).

use std::sync::Arc;

use idbridge_core::{Group, GroupChanges, NewGroup, Scope, User, UserChanges};
use serde::{Deserialize, Serialize};

use super::Reason;
pub use super::create::CreateUser;
use super::deps::Deps;

/// A record that exists in the target, or one an earlier operation of the plan creates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ref {
    /// An existing record's id.
    Id(Arc<str>),
    /// The record created by operation number `n` of the same target plan.
    Created(usize),
}

/// A group, by reference and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupRef {
    /// Which group.
    #[serde(rename = "ref")]
    pub at: Ref,
    /// Its name, for display.
    pub name: Arc<str>,
}

/// Whether a principal is a user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A user.
    User,
    /// A group.
    Group,
}

/// A user or group, by reference and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrincipalRef {
    /// User or group.
    pub kind: PrincipalKind,
    /// Which one.
    #[serde(rename = "ref")]
    pub at: Ref,
    /// Its login or name, for display.
    pub name: Arc<str>,
}

/// One operation. Its number is its index in the target plan: not stored (a first sync of
/// a million users plans 18 million operations), and saved as `step`, because the
/// operation's own fields include the target record's `id`. What it depends on is read
/// through its plan's operations ([`super::Ops::depends_on`]); two operations are equal
/// when their actions are and their dependencies are kept alike, so compare whole
/// [`super::Ops`] to compare what operations depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Operations that must succeed first (always lower numbers), or where the plan's
    /// operations keep them.
    pub(crate) depends_on: Deps,
    /// What it does.
    pub action: Action,
}

/// An operation with its number, in its saved form: `step`, `depends_on` (when it has
/// any), then the action's name as `op` and its fields.
#[derive(Serialize)]
pub(crate) struct Numbered<'a> {
    /// Its index in the target plan.
    pub(crate) step: usize,
    #[serde(skip_serializing_if = "no_deps")]
    pub(crate) depends_on: &'a [u32],
    #[serde(flatten)]
    pub(crate) action: &'a Action,
}

fn no_deps(deps: &&[u32]) -> bool {
    deps.is_empty()
}

/// What an operation does: a small value (24 bytes) whatever the operation, because a
/// large plan holds millions. A membership change refers to its group and member through
/// shared references (one per group and one per member for a whole target plan); every
/// other operation keeps its fields in one allocation of its own ([`CreateUser`] packed).
///
/// Serialized with its name as `op` and its fields beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Action {
    /// Create a user and link it to its source user.
    CreateUser(CreateUser),
    /// Change a user's fields (a rename is an update, never delete and create).
    UpdateUser(Box<UpdateUser>),
    /// Re-enable a returning user.
    EnableUser(Box<EnableUser>),
    /// Disable a user.
    DisableUser(Box<DisableUser>),
    /// Delete a user.
    DeleteUser(Box<DeleteUser>),
    /// End every session of a user.
    RevokeSessions(Box<RevokeSessions>),
    /// Record the link to an existing account that already matches (no target write).
    LinkUser(Box<LinkUser>),
    /// Create a group and link it.
    CreateGroup(Box<CreateGroup>),
    /// Rename a group or change its description.
    UpdateGroup(Box<UpdateGroup>),
    /// Delete a group whose source group is gone (deletion = "delete").
    DeleteGroup(Box<DeleteGroup>),
    /// Record the link to an existing group that already matches.
    LinkGroup(Box<LinkGroup>),
    /// Add a member to a group.
    AddMember {
        /// The group.
        group: Arc<GroupRef>,
        /// The member.
        member: Arc<PrincipalRef>,
    },
    /// Remove a member from a group.
    RemoveMember {
        /// The group.
        group: Arc<GroupRef>,
        /// The member.
        member: Arc<PrincipalRef>,
    },
    /// Grant a role.
    Grant(Box<RoleChange>),
    /// Revoke a role.
    Revoke(Box<RoleChange>),
}

/// See [`Action::UpdateUser`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateUser {
    /// The source user's id.
    pub source_id: String,
    /// The target account's id.
    pub id: String,
    /// Its state when planned.
    pub before: User,
    /// What changes.
    pub changes: UserChanges,
    /// The fingerprint of the desired state.
    pub fingerprint: String,
}

/// See [`Action::EnableUser`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnableUser {
    /// The source user's id.
    pub source_id: String,
    /// The target account's id.
    pub id: String,
    /// Its state when planned.
    pub before: User,
    /// The fingerprint of the desired state.
    pub fingerprint: String,
}

/// See [`Action::DisableUser`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisableUser {
    /// The source user's id, when it is linked or still in the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The target account's id.
    pub id: String,
    /// Its state when planned (kept in the journal).
    pub before: User,
    /// Why.
    pub reason: Reason,
    /// The fingerprint of the desired state, for a user still in the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// See [`Action::DeleteUser`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteUser {
    /// The source user's id, when it was linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The target account's id.
    pub id: String,
    /// Its state when planned (kept in the journal).
    pub before: User,
    /// Why.
    pub reason: Reason,
}

/// See [`Action::RevokeSessions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevokeSessions {
    /// The target account's id.
    pub id: String,
    /// Its login, for display.
    pub login: String,
    /// Sessions seen when planning (the apply looks again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<String>,
}

/// See [`Action::LinkUser`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkUser {
    /// The source user's id.
    pub source_id: String,
    /// The target account's id.
    pub id: String,
    /// Its login, for display.
    pub login: String,
    /// The fingerprint of the desired state.
    pub fingerprint: String,
    /// Set when the account was not linked before: the source user adopts an existing
    /// account found by this correlation key (`login` or `email`). Counted by the
    /// adoption guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_by: Option<String>,
}

/// See [`Action::CreateGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateGroup {
    /// The source group's id.
    pub source_id: String,
    /// The group to create.
    pub group: NewGroup,
    /// The fingerprint of the desired state.
    pub fingerprint: String,
}

/// See [`Action::UpdateGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateGroup {
    /// The source group's id.
    pub source_id: String,
    /// The target group's id.
    pub id: String,
    /// Its state when planned.
    pub before: Group,
    /// What changes.
    pub changes: GroupChanges,
    /// The fingerprint of the desired state.
    pub fingerprint: String,
}

/// See [`Action::DeleteGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteGroup {
    /// The source group's id it was linked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The target group's id.
    pub id: String,
    /// Its state when planned.
    pub before: Group,
}

/// See [`Action::LinkGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkGroup {
    /// The source group's id.
    pub source_id: String,
    /// The target group's id.
    pub id: String,
    /// Its name, for display.
    pub name: String,
    /// The fingerprint of the desired state.
    pub fingerprint: String,
}

/// A role granted or revoked ([`Action::Grant`], [`Action::Revoke`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleChange {
    /// The target role's id.
    pub role: String,
    /// The target role's name, for display.
    pub role_name: String,
    /// Who gets or loses it.
    pub principal: PrincipalRef,
    /// Where.
    pub scope: Scope,
}

impl Action {
    /// The operation's name, as journaled (`create_user`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateUser(_) => "create_user",
            Action::UpdateUser(_) => "update_user",
            Action::EnableUser(_) => "enable_user",
            Action::DisableUser(_) => "disable_user",
            Action::DeleteUser(_) => "delete_user",
            Action::RevokeSessions(_) => "revoke_sessions",
            Action::LinkUser(_) => "link_user",
            Action::CreateGroup(_) => "create_group",
            Action::UpdateGroup(_) => "update_group",
            Action::DeleteGroup(_) => "delete_group",
            Action::LinkGroup(_) => "link_group",
            Action::AddMember { .. } => "add_member",
            Action::RemoveMember { .. } => "remove_member",
            Action::Grant(_) => "grant",
            Action::Revoke(_) => "revoke",
        }
    }

    /// Whether it sends a write to the target (links are recorded locally only).
    pub fn writes_target(&self) -> bool {
        !matches!(self, Action::LinkUser(_) | Action::LinkGroup(_))
    }

    /// Whether it disables or deletes a user (what the deletion guards count).
    pub fn is_deletion(&self) -> bool {
        matches!(self, Action::DisableUser(_) | Action::DeleteUser(_))
    }

    /// What it addresses, readably (a login, a group name, `group <- member`).
    pub fn resource(&self) -> String {
        match self {
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                format!("{} <- {}", group.name, member.name)
            }
            Action::Grant(r) | Action::Revoke(r) => {
                format!("{} ({}) -> {}", r.role_name, r.scope, r.principal.name)
            }
            _ => self.login().unwrap_or_default().to_string(),
        }
    }

    /// The login of the user (or the name of the group) a user or group operation
    /// addresses; `None` for memberships and roles.
    pub fn login(&self) -> Option<&str> {
        Some(match self {
            Action::CreateUser(c) => c.login(),
            Action::UpdateUser(u) => &u.before.login,
            Action::EnableUser(u) => &u.before.login,
            Action::DisableUser(u) => &u.before.login,
            Action::DeleteUser(u) => &u.before.login,
            Action::RevokeSessions(r) => &r.login,
            Action::LinkUser(l) => &l.login,
            Action::CreateGroup(c) => &c.group.name,
            Action::UpdateGroup(u) => &u.before.name,
            Action::DeleteGroup(d) => &d.before.name,
            Action::LinkGroup(l) => &l.name,
            _ => return None,
        })
    }

    /// The id of the existing target record a user or group operation addresses; `None`
    /// for creations, memberships and roles.
    pub fn target_id(&self) -> Option<&str> {
        Some(match self {
            Action::UpdateUser(u) => &u.id,
            Action::EnableUser(u) => &u.id,
            Action::DisableUser(u) => &u.id,
            Action::DeleteUser(u) => &u.id,
            Action::RevokeSessions(r) => &r.id,
            Action::LinkUser(l) => &l.id,
            Action::UpdateGroup(u) => &u.id,
            Action::DeleteGroup(d) => &d.id,
            Action::LinkGroup(l) => &l.id,
            _ => return None,
        })
    }

    /// The account's state when planned, for the operations that change an existing user.
    pub fn before_user(&self) -> Option<&User> {
        match self {
            Action::UpdateUser(u) => Some(&u.before),
            Action::EnableUser(u) => Some(&u.before),
            Action::DisableUser(u) => Some(&u.before),
            Action::DeleteUser(u) => Some(&u.before),
            _ => None,
        }
    }

    /// The group's state when planned, for the operations that change an existing group.
    pub fn before_group(&self) -> Option<&Group> {
        match self {
            Action::UpdateGroup(u) => Some(&u.before),
            Action::DeleteGroup(d) => Some(&d.before),
            _ => None,
        }
    }

    /// The fingerprint of the desired state it records with the link, when it records one.
    pub fn fingerprint(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow::Borrowed;
        match self {
            Action::CreateUser(c) => Some(c.fingerprint()),
            Action::UpdateUser(u) => Some(Borrowed(&u.fingerprint)),
            Action::EnableUser(u) => Some(Borrowed(&u.fingerprint)),
            Action::DisableUser(u) => u.fingerprint.as_deref().map(Borrowed),
            Action::LinkUser(l) => Some(Borrowed(&l.fingerprint)),
            Action::CreateGroup(c) => Some(Borrowed(&c.fingerprint)),
            Action::UpdateGroup(u) => Some(Borrowed(&u.fingerprint)),
            Action::LinkGroup(l) => Some(Borrowed(&l.fingerprint)),
            _ => None,
        }
    }

    /// Whether it adopts an existing account (what the adoption guard counts).
    pub fn is_adoption(&self) -> bool {
        matches!(self, Action::LinkUser(l) if l.adopted_by.is_some())
    }

    /// Whether it is a single-user write that can go into a batch
    /// ([`idbridge_core::Users::write_users`]).
    pub fn is_user_write(&self) -> bool {
        matches!(
            self,
            Action::CreateUser(_)
                | Action::UpdateUser(_)
                | Action::EnableUser(_)
                | Action::DisableUser(_)
                | Action::DeleteUser(_)
        )
    }

    /// Whether it is a single-group write that can go into a batch
    /// ([`idbridge_core::Groups::write_groups`]).
    pub(crate) fn is_group_write(&self) -> bool {
        matches!(
            self,
            Action::CreateGroup(_) | Action::UpdateGroup(_) | Action::DeleteGroup(_)
        )
    }

    /// The source record an operation carries out, when it names one (`source_id`).
    pub fn source_id(&self) -> Option<&str> {
        match self {
            Action::CreateUser(c) => Some(c.source_id()),
            Action::UpdateUser(u) => Some(&u.source_id),
            Action::EnableUser(u) => Some(&u.source_id),
            Action::LinkUser(l) => Some(&l.source_id),
            Action::CreateGroup(c) => Some(&c.source_id),
            Action::UpdateGroup(u) => Some(&u.source_id),
            Action::LinkGroup(l) => Some(&l.source_id),
            Action::DisableUser(u) => u.source_id.as_deref(),
            Action::DeleteUser(u) => u.source_id.as_deref(),
            Action::DeleteGroup(d) => d.source_id.as_deref(),
            _ => None,
        }
    }

    /// The group and member of a membership change.
    pub fn membership(&self) -> Option<(&Arc<GroupRef>, &Arc<PrincipalRef>)> {
        match self {
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                Some((group, member))
            }
            _ => None,
        }
    }

    /// The principal of a role grant or revocation.
    pub fn principal(&self) -> Option<&PrincipalRef> {
        match self {
            Action::Grant(r) | Action::Revoke(r) => Some(&r.principal),
            _ => None,
        }
    }

    /// The records it addresses by reference (memberships and roles), in order.
    pub(crate) fn refs(&self) -> Vec<&Ref> {
        match self {
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                vec![&group.at, &member.at]
            }
            Action::Grant(r) | Action::Revoke(r) => vec![&r.principal.at],
            _ => Vec::new(),
        }
    }
}
