//! The operations of a plan: what each does ([`Action`]), with the records it addresses
//! ([`Ref`]: an existing record's id, or the record an earlier operation creates).

use std::sync::Arc;

use idbridge_core::{Group, GroupChanges, NewGroup, NewUser, Scope, User, UserChanges};
use serde::{Deserialize, Serialize};

use super::Reason;

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

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Its number in the target plan (its index). Serialized as `step`, because the
    /// operation's own fields include the target record's `id`.
    #[serde(rename = "step")]
    pub id: usize,
    /// Operations that must succeed first (always lower numbers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<usize>,
    /// What it does.
    #[serde(flatten)]
    pub action: Action,
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Action {
    /// Create a user and link it to its source user.
    CreateUser {
        /// The source user's id.
        source_id: String,
        /// The account to create.
        user: Box<NewUser>,
        /// The fingerprint of the desired state, stored with the link.
        fingerprint: String,
    },
    /// Change a user's fields (a rename is an update, never delete and create).
    UpdateUser {
        /// The source user's id.
        source_id: String,
        /// The target account's id.
        id: String,
        /// Its state when planned.
        before: Box<User>,
        /// What changes.
        changes: Box<UserChanges>,
        /// The fingerprint of the desired state.
        fingerprint: String,
    },
    /// Re-enable a returning user.
    EnableUser {
        /// The source user's id.
        source_id: String,
        /// The target account's id.
        id: String,
        /// Its state when planned.
        before: Box<User>,
        /// The fingerprint of the desired state.
        fingerprint: String,
    },
    /// Disable a user.
    DisableUser {
        /// The source user's id, when it is linked or still in the source.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_id: Option<String>,
        /// The target account's id.
        id: String,
        /// Its state when planned (kept in the journal).
        before: Box<User>,
        /// Why.
        reason: Reason,
        /// The fingerprint of the desired state, for a user still in the source.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
    /// Delete a user.
    DeleteUser {
        /// The source user's id, when it was linked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_id: Option<String>,
        /// The target account's id.
        id: String,
        /// Its state when planned (kept in the journal).
        before: Box<User>,
        /// Why.
        reason: Reason,
    },
    /// End every session of a user.
    RevokeSessions {
        /// The target account's id.
        id: String,
        /// Its login, for display.
        login: String,
        /// Sessions seen when planning (the apply looks again).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sessions: Vec<String>,
    },
    /// Record the link to an existing account that already matches (no target write).
    LinkUser {
        /// The source user's id.
        source_id: String,
        /// The target account's id.
        id: String,
        /// Its login, for display.
        login: String,
        /// The fingerprint of the desired state.
        fingerprint: String,
        /// Set when the account was not linked before: the source user adopts an existing
        /// account found by this correlation key (`login` or `email`). Counted by the
        /// adoption guard.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        adopted_by: Option<String>,
    },
    /// Create a group and link it.
    CreateGroup {
        /// The source group's id.
        source_id: String,
        /// The group to create.
        group: NewGroup,
        /// The fingerprint of the desired state.
        fingerprint: String,
    },
    /// Rename a group or change its description.
    UpdateGroup {
        /// The source group's id.
        source_id: String,
        /// The target group's id.
        id: String,
        /// Its state when planned.
        before: Box<Group>,
        /// What changes.
        changes: Box<GroupChanges>,
        /// The fingerprint of the desired state.
        fingerprint: String,
    },
    /// Delete a group whose source group is gone (deletion = "delete").
    DeleteGroup {
        /// The source group's id it was linked to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_id: Option<String>,
        /// The target group's id.
        id: String,
        /// Its state when planned.
        before: Box<Group>,
    },
    /// Record the link to an existing group that already matches.
    LinkGroup {
        /// The source group's id.
        source_id: String,
        /// The target group's id.
        id: String,
        /// Its name, for display.
        name: String,
        /// The fingerprint of the desired state.
        fingerprint: String,
    },
    /// Add a member to a group.
    AddMember {
        /// The group.
        group: GroupRef,
        /// The member.
        member: PrincipalRef,
    },
    /// Remove a member from a group.
    RemoveMember {
        /// The group.
        group: GroupRef,
        /// The member.
        member: PrincipalRef,
    },
    /// Grant a role.
    Grant {
        /// The target role's id.
        role: String,
        /// The target role's name, for display.
        role_name: String,
        /// Who gets it.
        principal: PrincipalRef,
        /// Where.
        scope: Scope,
    },
    /// Revoke a role.
    Revoke {
        /// The target role's id.
        role: String,
        /// The target role's name, for display.
        role_name: String,
        /// Who loses it.
        principal: PrincipalRef,
        /// Where.
        scope: Scope,
    },
}

impl Action {
    /// The operation's name, as journaled (`create_user`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateUser { .. } => "create_user",
            Action::UpdateUser { .. } => "update_user",
            Action::EnableUser { .. } => "enable_user",
            Action::DisableUser { .. } => "disable_user",
            Action::DeleteUser { .. } => "delete_user",
            Action::RevokeSessions { .. } => "revoke_sessions",
            Action::LinkUser { .. } => "link_user",
            Action::CreateGroup { .. } => "create_group",
            Action::UpdateGroup { .. } => "update_group",
            Action::DeleteGroup { .. } => "delete_group",
            Action::LinkGroup { .. } => "link_group",
            Action::AddMember { .. } => "add_member",
            Action::RemoveMember { .. } => "remove_member",
            Action::Grant { .. } => "grant",
            Action::Revoke { .. } => "revoke",
        }
    }

    /// Whether it sends a write to the target (links are recorded locally only).
    pub fn writes_target(&self) -> bool {
        !matches!(self, Action::LinkUser { .. } | Action::LinkGroup { .. })
    }

    /// Whether it disables or deletes a user (what the deletion guards count).
    pub fn is_deletion(&self) -> bool {
        matches!(self, Action::DisableUser { .. } | Action::DeleteUser { .. })
    }

    /// What it addresses, readably (a login, a group name, `group <- member`).
    pub fn resource(&self) -> String {
        match self {
            Action::CreateUser { user, .. } => user.login.clone(),
            Action::UpdateUser { before, .. }
            | Action::EnableUser { before, .. }
            | Action::DisableUser { before, .. }
            | Action::DeleteUser { before, .. } => before.login.clone(),
            Action::RevokeSessions { login, .. } | Action::LinkUser { login, .. } => login.clone(),
            Action::CreateGroup { group, .. } => group.name.clone(),
            Action::UpdateGroup { before, .. } | Action::DeleteGroup { before, .. } => {
                before.name.clone()
            }
            Action::LinkGroup { name, .. } => name.clone(),
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                format!("{} <- {}", group.name, member.name)
            }
            Action::Grant {
                role_name,
                principal,
                scope,
                ..
            }
            | Action::Revoke {
                role_name,
                principal,
                scope,
                ..
            } => format!("{role_name} ({scope}) -> {}", principal.name),
        }
    }

    /// Whether it adopts an existing account (what the adoption guard counts).
    pub fn is_adoption(&self) -> bool {
        matches!(
            self,
            Action::LinkUser {
                adopted_by: Some(_),
                ..
            }
        )
    }

    /// Whether it is a single-user write that can go into a batch
    /// ([`idbridge_core::Users::write_users`]).
    pub fn is_user_write(&self) -> bool {
        matches!(
            self,
            Action::CreateUser { .. }
                | Action::UpdateUser { .. }
                | Action::EnableUser { .. }
                | Action::DisableUser { .. }
                | Action::DeleteUser { .. }
        )
    }

    pub(super) fn refs_mut(&mut self) -> Vec<&mut Ref> {
        match self {
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                vec![&mut group.at, &mut member.at]
            }
            Action::Grant { principal, .. } | Action::Revoke { principal, .. } => {
                vec![&mut principal.at]
            }
            _ => Vec::new(),
        }
    }

    /// The source record an operation carries out, when it names one (`source_id`).
    pub fn source_id(&self) -> Option<&str> {
        match self {
            Action::CreateUser { source_id, .. }
            | Action::UpdateUser { source_id, .. }
            | Action::EnableUser { source_id, .. }
            | Action::LinkUser { source_id, .. }
            | Action::CreateGroup { source_id, .. }
            | Action::UpdateGroup { source_id, .. }
            | Action::LinkGroup { source_id, .. } => Some(source_id),
            Action::DisableUser { source_id, .. }
            | Action::DeleteUser { source_id, .. }
            | Action::DeleteGroup { source_id, .. } => source_id.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn refs(&self) -> Vec<&Ref> {
        match self {
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                vec![&group.at, &member.at]
            }
            Action::Grant { principal, .. } | Action::Revoke { principal, .. } => {
                vec![&principal.at]
            }
            _ => Vec::new(),
        }
    }
}
