//! The neutral identity model: plain serde records every adapter reads and writes.
//!
//! Ids are always the platform's own stable ids (an object id, a login where the platform
//! keys users by login, the `id` field of a file-adapter record). Records carry no secrets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Secret;

fn yes() -> bool {
    true
}

/// A user account as a platform sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The platform's own stable id.
    pub id: String,
    /// The login name (for some platforms this is the email).
    pub login: String,
    /// The email address, if the platform keeps one.
    #[serde(default)]
    pub email: Option<String>,
    /// The human-readable name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Whether the account may log in. Defaults to `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Free-form attributes (department, cost centre, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// What is needed to create a user. The platform assigns the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    /// The login name.
    pub login: String,
    /// The email address.
    #[serde(default)]
    pub email: Option<String>,
    /// The human-readable name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Whether the account starts enabled. Defaults to `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Free-form attributes, where the platform stores any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// An initial password, where the platform takes one. Serializes redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

impl NewUser {
    /// A new enabled user with only a login.
    pub fn new(login: impl Into<String>) -> Self {
        NewUser {
            login: login.into(),
            email: None,
            display_name: None,
            enabled: true,
            attributes: BTreeMap::new(),
            password: None,
        }
    }
}

/// A partial update of a user: `None` leaves a field alone.
///
/// For the optional fields, `Some(None)` clears the value and `Some(Some(v))` sets it.
/// Enabling and disabling has its own operation ([`crate::Users::set_user_enabled`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChanges {
    /// A new login (a rename).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// A new email, or `Some(None)` to clear it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::model::double_option"
    )]
    pub email: Option<Option<String>>,
    /// A new display name, or `Some(None)` to clear it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::model::double_option"
    )]
    pub display_name: Option<Option<String>>,
    /// The full new attribute map (replaces the old one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
}

impl UserChanges {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.login.is_none()
            && self.email.is_none()
            && self.display_name.is_none()
            && self.attributes.is_none()
    }

    /// Applies the changes to a record, as a platform that stores every field would.
    pub fn apply_to(&self, user: &mut User) {
        if let Some(login) = &self.login {
            user.login = login.clone();
        }
        if let Some(email) = &self.email {
            user.email = email.clone();
        }
        if let Some(name) = &self.display_name {
            user.display_name = name.clone();
        }
        if let Some(attrs) = &self.attributes {
            user.attributes = attrs.clone();
        }
    }
}

/// A group of users (and, where the platform allows, of other groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The platform's own stable id.
    pub id: String,
    /// The group's name, unique on the platform.
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
}

/// What is needed to create a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewGroup {
    /// The group's name.
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A partial update of a group: `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChanges {
    /// A new name (a rename).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new description, or `Some(None)` to clear it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::model::double_option"
    )]
    pub description: Option<Option<String>>,
}

impl GroupChanges {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none()
    }

    /// Applies the changes to a record.
    pub fn apply_to(&self, group: &mut Group) {
        if let Some(name) = &self.name {
            group.name = name.clone();
        }
        if let Some(d) = &self.description {
            group.description = d.clone();
        }
    }
}

/// A user or a group, by the platform's id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Principal {
    /// A user, by id.
    User(String),
    /// A group, by id.
    Group(String),
}

impl Principal {
    /// The id, whatever the kind.
    pub fn id(&self) -> &str {
        match self {
            Principal::User(id) | Principal::Group(id) => id,
        }
    }

    /// Whether this is a group.
    pub fn is_group(&self) -> bool {
        matches!(self, Principal::Group(_))
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(id) => write!(f, "user {id}"),
            Principal::Group(id) => write!(f, "group {id}"),
        }
    }
}

/// A principal's membership in a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Membership {
    /// The group's id.
    pub group: String,
    /// The member.
    pub member: Principal,
}

/// A group's direct members as [`crate::Memberships::members_by_position`] gives them:
/// the users by their positions in the user listing of one version of the directory, the
/// other members (groups) by reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionedMembers {
    /// Positions in the user listing (0 is the first user of its first page), in any
    /// order.
    pub users: Vec<u32>,
    /// The members that are not users.
    pub others: Vec<Principal>,
}

/// Where a role applies: everywhere, or in one named project.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole platform. The default.
    #[default]
    Global,
    /// One project, by the platform's project name or id.
    Project(String),
}

impl Scope {
    /// Whether this is the global scope.
    pub fn is_global(&self) -> bool {
        matches!(self, Scope::Global)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Project(p) => write!(f, "project {p}"),
        }
    }
}

/// A role: a named bundle of privileges, global or for a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// The platform's own stable id.
    pub id: String,
    /// The role's name.
    pub name: String,
    /// Where the role applies. Defaults to global.
    #[serde(default)]
    pub scope: Scope,
    /// The privileges the role carries, by the platform's names or ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub privileges: Vec<String>,
}

/// A principal holding a role in a scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    /// The role's id.
    pub role: String,
    /// Who holds it.
    pub principal: Principal,
    /// Where it is held.
    #[serde(default)]
    pub scope: Scope,
}

/// Filters for [`crate::Roles::list_grants`]; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantFilter {
    /// Only grants of this role id.
    #[serde(default)]
    pub role: Option<String>,
    /// Only grants held by this principal.
    #[serde(default)]
    pub principal: Option<Principal>,
    /// Only grants in this scope.
    #[serde(default)]
    pub scope: Option<Scope>,
}

impl GrantFilter {
    /// Whether `grant` passes the filter.
    pub fn matches(&self, grant: &Grant) -> bool {
        self.role.as_ref().is_none_or(|r| r == &grant.role)
            && self
                .principal
                .as_ref()
                .is_none_or(|p| p == &grant.principal)
            && self.scope.as_ref().is_none_or(|s| s == &grant.scope)
    }
}

/// A live login session of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The platform's id for the session (what revocation takes).
    pub id: String,
    /// The user's id.
    pub user: String,
    /// The user's login, where the platform reports it.
    #[serde(default)]
    pub login: Option<String>,
    /// When the session started.
    #[serde(default)]
    pub started: Option<DateTime<Utc>>,
    /// When it was last used.
    #[serde(default)]
    pub last_activity: Option<DateTime<Utc>>,
    /// The client (application, address) it came from.
    #[serde(default)]
    pub client: Option<String>,
    /// The cluster node it lives on.
    #[serde(default)]
    pub node: Option<String>,
}

/// Read-only activity information for platforms that do not expose sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserActivity {
    /// The user's id.
    pub user: String,
    /// The last successful login.
    #[serde(default)]
    pub last_login: Option<DateTime<Utc>>,
    /// The last activity in any session.
    #[serde(default)]
    pub last_session_activity: Option<DateTime<Utc>>,
}

/// One user write in a batch handed to [`crate::Users::write_users`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum UserWrite {
    /// Create a user.
    Create {
        /// The new user.
        user: NewUser,
    },
    /// Update a user's fields.
    Update {
        /// The user's id.
        id: String,
        /// What changes.
        changes: UserChanges,
    },
    /// Enable or disable a user.
    SetEnabled {
        /// The user's id.
        id: String,
        /// The new state.
        enabled: bool,
    },
    /// Delete a user.
    Delete {
        /// The user's id.
        id: String,
    },
}

impl UserWrite {
    /// The operation this write performs.
    pub fn operation(&self) -> crate::Operation {
        use crate::Operation;
        match self {
            UserWrite::Create { .. } => Operation::UsersCreate,
            UserWrite::Update { .. } => Operation::UsersUpdate,
            UserWrite::SetEnabled { .. } => Operation::UsersSetEnabled,
            UserWrite::Delete { .. } => Operation::UsersDelete,
        }
    }

    /// The resource the write addresses (an id, or the login for a create).
    pub fn resource(&self) -> &str {
        match self {
            UserWrite::Create { user } => &user.login,
            UserWrite::Update { id, .. }
            | UserWrite::SetEnabled { id, .. }
            | UserWrite::Delete { id } => id,
        }
    }
}

/// What a successful [`UserWrite`] produced: the platform's record, or nothing for a delete.
pub type UserWriteResult = crate::Result<Option<User>>;

/// One group write in a batch handed to [`crate::Groups::write_groups`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GroupWrite {
    /// Create a group.
    Create {
        /// The new group.
        group: NewGroup,
    },
    /// Rename a group or change its description.
    Update {
        /// The group's id.
        id: String,
        /// What changes.
        changes: GroupChanges,
    },
    /// Delete a group.
    Delete {
        /// The group's id.
        id: String,
    },
}

impl GroupWrite {
    /// The operation this write performs.
    pub fn operation(&self) -> crate::Operation {
        use crate::Operation;
        match self {
            GroupWrite::Create { .. } => Operation::GroupsCreate,
            GroupWrite::Update { .. } => Operation::GroupsUpdate,
            GroupWrite::Delete { .. } => Operation::GroupsDelete,
        }
    }

    /// The resource the write addresses (an id, or the name for a create).
    pub fn resource(&self) -> &str {
        match self {
            GroupWrite::Create { group } => &group.name,
            GroupWrite::Update { id, .. } | GroupWrite::Delete { id } => id,
        }
    }
}

/// What a successful [`GroupWrite`] produced: the platform's record, or nothing for a
/// delete.
pub type GroupWriteResult = crate::Result<Option<Group>>;

/// One membership write in a batch handed to [`crate::Memberships::write_members`]: one
/// principal added to or removed from one group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MemberWrite {
    /// Add `member` to `group` (succeeds without change when it is one already).
    Add {
        /// The group's id.
        group: String,
        /// The member to add.
        member: Principal,
    },
    /// Remove `member` from `group` (succeeds without change when it is not one).
    Remove {
        /// The group's id.
        group: String,
        /// The member to remove.
        member: Principal,
    },
}

impl MemberWrite {
    /// The operation this write performs.
    pub fn operation(&self) -> crate::Operation {
        match self {
            MemberWrite::Add { .. } => crate::Operation::MembersAdd,
            MemberWrite::Remove { .. } => crate::Operation::MembersRemove,
        }
    }

    /// Whether it adds (else it removes).
    pub fn is_add(&self) -> bool {
        matches!(self, MemberWrite::Add { .. })
    }

    /// The group's id.
    pub fn group(&self) -> &str {
        match self {
            MemberWrite::Add { group, .. } | MemberWrite::Remove { group, .. } => group,
        }
    }

    /// The member.
    pub fn member(&self) -> &Principal {
        match self {
            MemberWrite::Add { member, .. } | MemberWrite::Remove { member, .. } => member,
        }
    }
}

/// What a [`MemberWrite`] came to: done (or nothing to do), or why not.
pub type MemberWriteResult = crate::Result<()>;

/// Which membership writes one request of a platform carries together: the adapter's
/// answer to [`crate::Memberships::member_batch_key`]. The sync engine fills each
/// [`crate::Memberships::write_members`] batch with writes of one key, at most
/// [`crate::Capabilities::members_batch_max`] of them, so that a batch costs the adapter
/// as few requests as it can.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemberBatchKey {
    /// The write is a request of its own: it is never batched.
    Alone,
    /// Writes with the same key share one request (for example one group's member list,
    /// or one user's list of groups, whatever the platform keeps).
    Shared(String),
    /// One request carries any writes of a batch, whatever groups and members they name
    /// (a bulk endpoint).
    Any,
}

/// Serde helper for `Option<Option<T>>` fields: absent = `None`, `null` = `Some(None)`.
pub mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serializes the inner option (the outer `None` is skipped by the field attribute).
    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes a present field (value or `null`) as `Some(..)`.
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_changes_round_trip_keeps_clear_apart_from_absent() {
        let c = UserChanges {
            email: Some(None),
            display_name: Some(Some("Ada".into())),
            ..Default::default()
        };
        let json = serde_json::to_string(&c).expect("serializable");
        assert_eq!(json, r#"{"email":null,"display_name":"Ada"}"#);
        let back: UserChanges = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, c);
    }

    #[test]
    fn scope_serializes_as_in_the_file_format() {
        assert_eq!(
            serde_json::to_string(&Scope::Project("Sales".into())).expect("ok"),
            r#"{"project":"Sales"}"#
        );
        assert_eq!(
            serde_json::to_string(&Scope::Global).expect("ok"),
            r#""global""#
        );
    }

    #[test]
    fn new_user_password_is_redacted_in_json() {
        let mut u = NewUser::new("ada");
        u.password = Some(Secret::new("canary-pw"));
        let json = serde_json::to_string(&u).expect("ok");
        assert!(!json.contains("canary-pw"));
    }
}
