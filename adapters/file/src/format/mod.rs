//! The directory document: users, groups, roles and grants in one YAML or JSON file.
//!
//! ```yaml
//! users:
//!   - id: u-0001                 # stable id, never reused
//!     login: ada.lovelace
//!     email: ada.lovelace@example.com
//!     display_name: Ada Lovelace
//!     enabled: true              # optional, default true
//!     groups: [engineering]      # group names
//!     attributes: {department: R&D}
//! groups:
//!   - id: g-eng
//!     name: engineering
//!     description: Engineering
//!     groups: [all-staff]        # nested: engineering is a member of all-staff
//! roles:
//!   - id: r-analyst
//!     name: analyst
//!     scope: {project: Sales Analytics}   # omitted = global
//! grants:
//!   - {role: analyst, group: engineering}
//! complete: {users: 1, groups: 1, roles: 1, grants: 1}   # written last
//! ```
//!
//! The `complete` trailer, written after every record, counts the records of each section.
//! A file cut off while being written has lost it (or holds counts its records do not
//! match), so a reader can tell a whole file from a truncated one; see [`Complete`].
//!
//! References between records use names (group names, logins, role names) so that the file
//! stays readable by hand; the neutral accessors ([`Directory::to_neutral`]) resolve them
//! to ids.
//!
//! The module's parts: the records and their neutral forms (here), the trailer
//! ([`trailer`]), reading and writing text (`parse`), the document's checks (`validate`)
//! and the atomic save (`save`).

use std::collections::{BTreeMap, HashMap};

use idbridge_core::{Grant, Group, Membership, Principal, Role, Scope, Snapshot, User};
use serde::{Deserialize, Serialize};

mod chunked;
mod packed;
mod parse;
mod save;
pub mod trailer;
mod validate;

#[cfg(test)]
mod tests;

pub(crate) use packed::{PackedUsers, Row};
pub use parse::Format;
pub(crate) use save::{SaveStep, io_error, save_document_with};
pub(crate) use trailer::Parsed;
pub use trailer::{COMPLETE_KEY, Complete};
pub(crate) use validate::{UserRecords, problems_with};

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A whole directory document.
///
/// Every section is optional in the file and defaults to empty; unknown keys are rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// User accounts, in file order.
    #[serde(default)]
    pub users: Vec<DirUser>,
    /// Groups, in file order.
    #[serde(default)]
    pub groups: Vec<DirGroup>,
    /// Roles. Optional section.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<DirRole>,
    /// Who holds which role. Optional section.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<DirGrant>,
}

/// A user record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirUser {
    /// Stable id, unique among users and never reused.
    pub id: String,
    /// Login name, unique among users ignoring case.
    pub login: String,
    /// Email address; must look like `local@domain.tld` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether the account may log in. Default `true`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Names of the groups the user is a direct member of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Free-form attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// A group record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGroup {
    /// Stable id, unique among groups.
    pub id: String,
    /// Name, unique among groups ignoring case; what other records refer to.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Names of the groups this group is a direct member of (nesting; no cycles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// A role record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirRole {
    /// Stable id, unique among roles.
    pub id: String,
    /// Name, unique among roles; what grants refer to.
    pub name: String,
    /// `{project: NAME}` for a project role; omitted (or `global`) for a global one.
    #[serde(default, skip_serializing_if = "Scope::is_global", with = "scope_repr")]
    pub scope: Scope,
    /// Privileges the role carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub privileges: Vec<String>,
}

/// A grant: a user (by login) or a group (by name) holding a role (by name).
///
/// Exactly one of `user` and `group` is given. `scope` defaults to the role's scope; a
/// global role may be granted in a project scope, a project role only in its own project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    /// The role's name.
    pub role: String,
    /// The holder's login, for a grant to a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The holder's group name, for a grant to a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Where the role is held, if not the role's own scope.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "scope_repr::option"
    )]
    pub scope: Option<Scope>,
}

/// The directory resolved to neutral records (ids instead of names): core's
/// [`Snapshot`].
pub type NeutralDirectory = Snapshot;

impl DirUser {
    /// The neutral record.
    pub fn to_user(&self) -> User {
        User {
            id: self.id.clone(),
            login: self.login.clone(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            enabled: self.enabled,
            attributes: self.attributes.clone(),
        }
    }
}

impl DirGroup {
    /// The neutral record.
    pub fn to_group(&self) -> Group {
        Group {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
        }
    }

    fn describe(&self, index: usize) -> String {
        format!("groups[{index}] (id {}, name {})", self.id, self.name)
    }
}

impl DirRole {
    /// The neutral record.
    pub fn to_role(&self) -> Role {
        Role {
            id: self.id.clone(),
            name: self.name.clone(),
            scope: self.scope.clone(),
            privileges: self.privileges.clone(),
        }
    }

    fn describe(&self, index: usize) -> String {
        format!("roles[{index}] (id {}, name {})", self.id, self.name)
    }
}

impl DirGrant {
    fn describe(&self, index: usize) -> String {
        let holder = match (&self.user, &self.group) {
            (Some(u), None) => format!("user {u}"),
            (None, Some(g)) => format!("group {g}"),
            (Some(u), Some(g)) => format!("user {u}, group {g}"),
            (None, None) => "no holder".to_string(),
        };
        format!("grants[{index}] (role {}, {holder})", self.role)
    }

    /// The effective scope given the role's own scope.
    pub fn effective_scope(&self, role_scope: &Scope) -> Scope {
        self.scope.clone().unwrap_or_else(|| role_scope.clone())
    }
}

/// The file's spelling of a [`Scope`]: omitted or `global` for the global scope,
/// `{project: NAME}` for a project. (The YAML library would otherwise use tags.)
mod scope_repr {
    use std::fmt;

    use idbridge_core::Scope;
    use serde::de::{self, MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(scope: &Scope, s: S) -> Result<S::Ok, S::Error> {
        match scope {
            Scope::Global => s.serialize_str("global"),
            Scope::Project(p) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("project", p)?;
                m.end()
            }
        }
    }

    struct ScopeVisitor;

    impl<'de> Visitor<'de> for ScopeVisitor {
        type Value = Scope;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("`global` or `{project: NAME}`")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Scope, E> {
            if v == "global" {
                Ok(Scope::Global)
            } else {
                Err(E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scope, A::Error> {
            let mut project: Option<String> = None;
            while let Some(key) = map.next_key::<String>()? {
                if key != "project" {
                    return Err(de::Error::unknown_field(&key, &["project"]));
                }
                if project.is_some() {
                    return Err(de::Error::duplicate_field("project"));
                }
                project = Some(map.next_value()?);
            }
            project
                .map(Scope::Project)
                .ok_or_else(|| de::Error::missing_field("project"))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scope, D::Error> {
        d.deserialize_any(ScopeVisitor)
    }

    pub mod option {
        use idbridge_core::Scope;
        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(scope: &Option<Scope>, s: S) -> Result<S::Ok, S::Error> {
            match scope {
                Some(scope) => super::serialize(scope, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Scope>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

/// Whether `email` looks like a deliverable address: one `@`, a non-empty local part, a
/// dotted domain of non-empty labels, no whitespace or control characters.
pub fn is_valid_email(email: &str) -> bool {
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if local.is_empty() || local.starts_with('.') || local.ends_with('.') || local.len() > 64 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// The key logins and group names are compared by.
pub fn fold(name: &str) -> String {
    #[cfg(test)]
    FOLDS.with(|n| n.set(n.get() + 1));
    name.to_lowercase()
}

/// [`fold`], borrowing a name that is already its own key (ASCII without capitals, the
/// usual login): validating a million users then folds without a million allocations.
pub(crate) fn fold_key(name: &str) -> std::borrow::Cow<'_, str> {
    if name
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        std::borrow::Cow::Borrowed(name)
    } else {
        std::borrow::Cow::Owned(fold(name))
    }
}

#[cfg(test)]
thread_local! {
    /// How many names this thread has folded: tests count the work of a write with it.
    static FOLDS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many names this thread has folded so far (tests).
#[cfg(test)]
pub(crate) fn folds() -> u64 {
    FOLDS.with(std::cell::Cell::get)
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Self {
        Directory::default()
    }
    /// The user with this id.
    pub fn user(&self, id: &str) -> Option<&DirUser> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user with this login (exact).
    pub fn user_by_login(&self, login: &str) -> Option<&DirUser> {
        self.users.iter().find(|u| u.login == login)
    }

    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&DirGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The group with this name (exact).
    pub fn group_by_name(&self, name: &str) -> Option<&DirGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The role with this id.
    pub fn role(&self, id: &str) -> Option<&DirRole> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// The role with this name.
    pub fn role_by_name(&self, name: &str) -> Option<&DirRole> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// Every user as a neutral record, in file order.
    pub fn neutral_users(&self) -> Vec<User> {
        self.users.iter().map(DirUser::to_user).collect()
    }

    /// Every group as a neutral record, in file order.
    pub fn neutral_groups(&self) -> Vec<Group> {
        self.groups.iter().map(DirGroup::to_group).collect()
    }

    /// Every role as a neutral record, in file order.
    pub fn neutral_roles(&self) -> Vec<Role> {
        self.roles.iter().map(DirRole::to_role).collect()
    }

    /// Every direct membership by id: users in groups (in user order), then groups in
    /// groups. References to unknown groups are skipped (a validated document has none).
    pub fn neutral_memberships(&self) -> Vec<Membership> {
        let ids: HashMap<&str, &str> = self
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g.id.as_str()))
            .collect();
        let users = self.users.iter().flat_map(|u| {
            u.groups.iter().filter_map(|n| {
                ids.get(n.as_str()).map(|gid| Membership {
                    group: (*gid).to_string(),
                    member: Principal::User(u.id.clone()),
                })
            })
        });
        let groups = self.groups.iter().flat_map(|g| {
            g.groups.iter().filter_map(|n| {
                ids.get(n.as_str()).map(|pid| Membership {
                    group: (*pid).to_string(),
                    member: Principal::Group(g.id.clone()),
                })
            })
        });
        users.chain(groups).collect()
    }

    /// The direct members of the group with id `group_id`: users first, then groups.
    pub fn members_of(&self, group_id: &str) -> Vec<Principal> {
        let Some(name) = self.group(group_id).map(|g| g.name.as_str()) else {
            return Vec::new();
        };
        let users = self
            .users
            .iter()
            .filter(|u| u.groups.iter().any(|n| n == name))
            .map(|u| Principal::User(u.id.clone()));
        let groups = self
            .groups
            .iter()
            .filter(|g| g.groups.iter().any(|n| n == name))
            .map(|g| Principal::Group(g.id.clone()));
        users.chain(groups).collect()
    }

    /// The grant at `index` resolved to ids, or `None` if a reference is unknown.
    pub fn neutral_grant(&self, grant: &DirGrant) -> Option<Grant> {
        let role = self.role_by_name(&grant.role)?;
        let principal = match (&grant.user, &grant.group) {
            (Some(login), None) => Principal::User(self.user_by_login(login)?.id.clone()),
            (None, Some(name)) => Principal::Group(self.group_by_name(name)?.id.clone()),
            _ => return None,
        };
        Some(Grant {
            role: role.id.clone(),
            principal,
            scope: grant.effective_scope(&role.scope),
        })
    }

    /// Every grant by id with its effective scope, in file order. Grants with unknown
    /// references are skipped (a validated document has none).
    pub fn neutral_grants(&self) -> Vec<Grant> {
        self.grants
            .iter()
            .filter_map(|g| self.neutral_grant(g))
            .collect()
    }

    /// The whole directory as neutral records (the same as [`Directory::to_snapshot`]).
    pub fn to_neutral(&self) -> NeutralDirectory {
        self.to_snapshot()
    }

    /// The whole directory as a neutral [`Snapshot`]: names resolved to ids, each grant
    /// with its effective scope.
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            users: self.neutral_users(),
            groups: self.neutral_groups(),
            memberships: self.neutral_memberships(),
            roles: self.neutral_roles(),
            grants: self.neutral_grants(),
        }
    }

    /// The directory a [`Snapshot`] holds: ids resolved to names (memberships and grants
    /// naming an unknown id are left out), a grant's scope kept only where it differs
    /// from its role's. `Directory::from_snapshot(&d.to_snapshot()) == d` for a valid
    /// directory whose grants name their scope only when it differs.
    pub fn from_snapshot(s: &Snapshot) -> Directory {
        let group_name = |id: &str| s.group(id).map(|g| g.name.clone());
        let parents = |member: &Principal| -> Vec<String> {
            s.memberships
                .iter()
                .filter(|m| &m.member == member)
                .filter_map(|m| group_name(&m.group))
                .collect()
        };
        let users = s
            .users
            .iter()
            .map(|u| DirUser {
                id: u.id.clone(),
                login: u.login.clone(),
                email: u.email.clone(),
                display_name: u.display_name.clone(),
                enabled: u.enabled,
                groups: parents(&Principal::User(u.id.clone())),
                attributes: u.attributes.clone(),
            })
            .collect();
        let groups = s
            .groups
            .iter()
            .map(|g| DirGroup {
                id: g.id.clone(),
                name: g.name.clone(),
                description: g.description.clone(),
                groups: parents(&Principal::Group(g.id.clone())),
            })
            .collect();
        let roles = s
            .roles
            .iter()
            .map(|r| DirRole {
                id: r.id.clone(),
                name: r.name.clone(),
                scope: r.scope.clone(),
                privileges: r.privileges.clone(),
            })
            .collect();
        let grants = s
            .grants
            .iter()
            .filter_map(|g| {
                let role = s.role(&g.role)?;
                let (user, group) = match &g.principal {
                    Principal::User(id) => (Some(s.user(id)?.login.clone()), None),
                    Principal::Group(id) => (None, Some(group_name(id)?)),
                };
                Some(DirGrant {
                    role: role.name.clone(),
                    user,
                    group,
                    scope: (g.scope != role.scope).then(|| g.scope.clone()),
                })
            })
            .collect();
        Directory {
            users,
            groups,
            roles,
            grants,
        }
    }
}
