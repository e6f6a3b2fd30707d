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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use idbridge_core::{
    Error, ErrorKind, Grant, Group, Membership, Principal, Result, Role, Scope, Snapshot, User,
};
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The most problems one validation error lists before summarising the rest.
const MAX_REPORTED_PROBLEMS: usize = 20;

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

/// The trailer that proves a directory file was written to its end: the number of records
/// in each section, under the key `complete`, which must be the document's last key.
///
/// Every file this crate writes ends with it. A reader that requires it
/// ([`Directory::parse_checked`] with `require_complete`) refuses a file without it or
/// whose counts do not match its records; every reader refuses a trailer that does not
/// match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Complete {
    /// How many records the `users` section holds.
    pub users: usize,
    /// How many records the `groups` section holds.
    pub groups: usize,
    /// How many records the `roles` section holds.
    pub roles: usize,
    /// How many records the `grants` section holds.
    pub grants: usize,
}

impl Complete {
    /// The counts of a directory.
    pub fn of(dir: &Directory) -> Complete {
        Complete {
            users: dir.users.len(),
            groups: dir.groups.len(),
            roles: dir.roles.len(),
            grants: dir.grants.len(),
        }
    }
}

/// The key of the [`Complete`] trailer.
pub const COMPLETE_KEY: &str = "complete";

/// A parsed file: its records and its trailer, if it has one.
struct Parsed {
    directory: Directory,
    complete: Option<Complete>,
}

const TOP_LEVEL_KEYS: &[&str] = &["users", "groups", "roles", "grants", COMPLETE_KEY];

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Parsed, D::Error> {
        struct ParsedVisitor;

        impl<'de> serde::de::Visitor<'de> for ParsedVisitor {
            type Value = Parsed;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping with the keys users, groups, roles, grants and complete")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Parsed, A::Error> {
                use serde::de::Error as _;
                let mut directory = Directory::default();
                let mut seen: Vec<String> = Vec::new();
                let mut complete = None;
                while let Some(key) = map.next_key::<String>()? {
                    if complete.is_some() {
                        // The trailer is written last; anything after it means the file
                        // was not written the way the trailer promises.
                        return Err(A::Error::custom(format!(
                            "`{key}` comes after `{COMPLETE_KEY}`, which must be the last key \
                             of the file"
                        )));
                    }
                    if seen.contains(&key) {
                        return Err(A::Error::custom(format!("duplicate key `{key}`")));
                    }
                    match key.as_str() {
                        "users" => directory.users = map.next_value()?,
                        "groups" => directory.groups = map.next_value()?,
                        "roles" => directory.roles = map.next_value()?,
                        "grants" => directory.grants = map.next_value()?,
                        COMPLETE_KEY => complete = Some(map.next_value::<Complete>()?),
                        other => return Err(A::Error::unknown_field(other, TOP_LEVEL_KEYS)),
                    }
                    seen.push(key);
                }
                Ok(Parsed {
                    directory,
                    complete,
                })
            }
        }

        d.deserialize_map(ParsedVisitor)
    }
}

/// What a file is written as: the records, then the trailer.
#[derive(Serialize)]
struct Written<'a> {
    users: &'a [DirUser],
    groups: &'a [DirGroup],
    #[serde(skip_serializing_if = "<[DirRole]>::is_empty")]
    roles: &'a [DirRole],
    #[serde(skip_serializing_if = "<[DirGrant]>::is_empty")]
    grants: &'a [DirGrant],
    complete: Complete,
}

/// The serialization of a directory file, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yaml` or `.yml`.
    Yaml,
    /// `.json`.
    Json,
}

impl Format {
    /// The format a file name implies, or `None` for an unknown extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("yaml" | "yml") => Some(Format::Yaml),
            Some("json") => Some(Format::Json),
            _ => None,
        }
    }

    fn for_path(path: &Path) -> Result<Format> {
        Format::from_path(path).ok_or_else(|| {
            Error::config(format!(
                "directory file `{}`: unknown format: the name must end in .yaml, .yml or .json",
                path.display()
            ))
        })
    }
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

    fn describe(&self, index: usize) -> String {
        format!("users[{index}] (id {}, login {})", self.id, self.login)
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
    name.to_lowercase()
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Self {
        Directory::default()
    }

    /// Reads and validates a file; the format follows the extension (`.yaml`, `.yml`,
    /// `.json`). A [`Complete`] trailer is checked when the file has one, not required;
    /// see [`Directory::load_checked`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the file when it is missing, unreadable, has an unknown
    /// extension, cannot be parsed (with the key path and line/column), passes a nesting or
    /// alias limit, has a trailer its records do not match, or fails
    /// [`Directory::validate`] (naming each offending record).
    pub fn load(path: &Path) -> Result<Directory> {
        Directory::load_checked(path, false)
    }

    /// [`Directory::load`], refusing with `require_complete` a file that lacks the
    /// [`Complete`] trailer.
    ///
    /// # Errors
    /// As [`Directory::load`], and [`ErrorKind::Config`] for a missing trailer when it is
    /// required.
    pub fn load_checked(path: &Path, require_complete: bool) -> Result<Directory> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "directory file `{}`: cannot read: {e}",
                path.display()
            ))
            .with_source(e)
        })?;
        Directory::from_file_text(path, &text, require_complete)
    }

    /// Parses (checking the trailer) and validates the text read from `path`.
    pub(crate) fn from_file_text(
        path: &Path,
        text: &str,
        require_complete: bool,
    ) -> Result<Directory> {
        let format = Format::for_path(path)?;
        let origin = format!("directory file `{}`", path.display());
        let dir = Directory::parse_checked(text, format, &origin, require_complete)?;
        dir.validate()
            .map_err(|e| Error::config(format!("{origin}: {}", e.message())))?;
        Ok(dir)
    }

    /// Parses a document without validating it. `origin_name` (a file name or
    /// `seed directory`) starts every error message. A [`Complete`] trailer is checked
    /// when present.
    ///
    /// An empty or whitespace-only text is an empty directory.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the origin, the key path (`users[3].emial`) and, where
    /// the parser knows it, the line and column; or naming the nesting or alias limit a
    /// YAML text passes ([`crate::limits`]), or the trailer counts that do not match.
    pub fn parse(text: &str, format: Format, origin_name: &str) -> Result<Directory> {
        Directory::parse_checked(text, format, origin_name, false)
    }

    /// [`Directory::parse`], refusing with `require_complete` a text without the
    /// [`Complete`] trailer (an empty text included): a file cut off while it was being
    /// written must not be read as a directory that lost its last records.
    ///
    /// # Errors
    /// As [`Directory::parse`], and [`ErrorKind::Config`] for a missing trailer when it is
    /// required.
    pub fn parse_checked(
        text: &str,
        format: Format,
        origin_name: &str,
        require_complete: bool,
    ) -> Result<Directory> {
        let parsed = if text.trim().is_empty() {
            Parsed {
                directory: Directory::default(),
                complete: None,
            }
        } else {
            Directory::parse_document(text, format, origin_name)?
        };
        match parsed.complete {
            Some(promised) => {
                let found = Complete::of(&parsed.directory);
                if promised != found {
                    let mut wrong = Vec::new();
                    for (what, p, f) in [
                        ("users", promised.users, found.users),
                        ("groups", promised.groups, found.groups),
                        ("roles", promised.roles, found.roles),
                        ("grants", promised.grants, found.grants),
                    ] {
                        if p != f {
                            wrong.push(format!("{p} {what} but the file holds {f}"));
                        }
                    }
                    return Err(Error::config(format!(
                        "{origin_name}: incomplete or altered: its `{COMPLETE_KEY}` trailer \
                         counts {}; refusing to read it",
                        wrong.join(", ")
                    )));
                }
            }
            None if require_complete => {
                let found = Complete::of(&parsed.directory);
                return Err(Error::config(format!(
                    "{origin_name}: incomplete: the file does not end with the \
                     `{COMPLETE_KEY}` trailer (`{COMPLETE_KEY}: {{users: N, groups: N, roles: N, \
                     grants: N}}`), so it may have been cut off while being written; refusing \
                     to read it (as read it holds {} users, {} groups, {} roles and {} grants; \
                     an exporter writes the trailer last; `require_complete = false` reads \
                     files without one)",
                    found.users, found.groups, found.roles, found.grants
                )));
            }
            None => {}
        }
        Ok(parsed.directory)
    }

    fn parse_document(text: &str, format: Format, origin_name: &str) -> Result<Parsed> {
        let describe = |path: &serde_path_to_error::Path, inner: &dyn fmt::Display| {
            let path = path.to_string();
            let mut inner = inner.to_string();
            // The YAML parser starts its message with (part of) the path; say it once.
            if let Some((head, rest)) = inner.split_once(": ")
                && !head.contains(' ')
                && path.starts_with(head)
            {
                inner = rest.to_string();
            }
            if path == "." || path.is_empty() {
                format!("{origin_name}: {inner}")
            } else {
                format!("{origin_name}: at `{path}`: {inner}")
            }
        };
        match format {
            Format::Yaml => {
                crate::limits::check_yaml(text)
                    .map_err(|e| Error::config(format!("{origin_name}: {e}")))?;
                let de = serde_norway::Deserializer::from_str(text);
                serde_path_to_error::deserialize(de).map_err(|err| {
                    let msg = describe(err.path(), err.inner());
                    let msg = explain_parser_limit(msg);
                    let msg = match err.inner().location() {
                        // The parser's own text usually carries the position already.
                        Some(loc) if !msg.contains("line ") => {
                            format!("{msg} (line {}, column {})", loc.line(), loc.column())
                        }
                        _ => msg,
                    };
                    Error::config(msg)
                })
            }
            Format::Json => {
                let mut de = serde_json::Deserializer::from_str(text);
                let dir: Parsed = serde_path_to_error::deserialize(&mut de).map_err(|err| {
                    let msg = describe(err.path(), err.inner());
                    Error::config(explain_parser_limit(msg))
                })?;
                de.end()
                    .map_err(|e| Error::config(format!("{origin_name}: trailing content: {e}")))?;
                Ok(dir)
            }
        }
    }

    /// Serializes the document in `format`.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] if the serializer fails (it does not for valid documents).
    /// The text ends with the [`Complete`] trailer.
    pub fn to_text(&self, format: Format) -> Result<String> {
        let written = Written {
            users: &self.users,
            groups: &self.groups,
            roles: &self.roles,
            grants: &self.grants,
            complete: Complete::of(self),
        };
        match format {
            Format::Yaml => serde_norway::to_string(&written)
                .map_err(|e| Error::protocol(format!("cannot serialize the directory: {e}"))),
            Format::Json => serde_json::to_string_pretty(&written)
                .map(|mut s| {
                    s.push('\n');
                    s
                })
                .map_err(|e| Error::protocol(format!("cannot serialize the directory: {e}"))),
        }
    }

    /// Every problem with the document, each naming its record; empty when valid.
    ///
    /// Checks: empty or duplicate ids (per kind), logins (ignoring case), group and role
    /// names; malformed emails; references to unknown groups, users and roles; duplicate
    /// entries in a list; group nesting cycles; grants with no or two holders, or a project
    /// role granted outside its project; duplicate grants.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();

        let mut user_ids = HashMap::new();
        let mut logins = HashMap::new();
        for (i, u) in self.users.iter().enumerate() {
            let me = u.describe(i);
            if u.id.trim().is_empty() {
                out.push(format!("{me}: empty id"));
            } else if let Some(first) = user_ids.insert(u.id.as_str(), i) {
                out.push(format!(
                    "{me}: duplicate id, already used by users[{first}]"
                ));
            }
            if u.login.trim().is_empty() {
                out.push(format!("{me}: empty login"));
            } else if u.login.trim() != u.login {
                out.push(format!("{me}: login has leading or trailing spaces"));
            } else if let Some(first) = logins.insert(fold(&u.login), i) {
                out.push(format!(
                    "{me}: duplicate login (ignoring case), already used by users[{first}] ({})",
                    self.users[first].login
                ));
            }
            if let Some(email) = &u.email
                && !is_valid_email(email)
            {
                out.push(format!("{me}: malformed email `{email}`"));
            }
        }

        let mut group_ids = HashMap::new();
        let mut group_names: HashMap<String, usize> = HashMap::new();
        for (i, g) in self.groups.iter().enumerate() {
            let me = g.describe(i);
            if g.id.trim().is_empty() {
                out.push(format!("{me}: empty id"));
            } else if let Some(first) = group_ids.insert(g.id.as_str(), i) {
                out.push(format!(
                    "{me}: duplicate id, already used by groups[{first}]"
                ));
            }
            if g.name.trim().is_empty() {
                out.push(format!("{me}: empty name"));
            } else if let Some(first) = group_names.insert(fold(&g.name), i) {
                out.push(format!(
                    "{me}: duplicate name (ignoring case), already used by groups[{first}] ({})",
                    self.groups[first].name
                ));
            }
        }
        let exact_group_names: HashSet<&str> =
            self.groups.iter().map(|g| g.name.as_str()).collect();

        for (i, u) in self.users.iter().enumerate() {
            let mut seen = HashSet::new();
            for name in &u.groups {
                if !exact_group_names.contains(name.as_str()) {
                    out.push(format!("{}: unknown group `{name}`", u.describe(i)));
                } else if !seen.insert(name.as_str()) {
                    out.push(format!("{}: lists group `{name}` twice", u.describe(i)));
                }
            }
        }
        for (i, g) in self.groups.iter().enumerate() {
            let mut seen = HashSet::new();
            for name in &g.groups {
                if !exact_group_names.contains(name.as_str()) {
                    out.push(format!("{}: unknown parent group `{name}`", g.describe(i)));
                } else if !seen.insert(name.as_str()) {
                    out.push(format!(
                        "{}: lists parent group `{name}` twice",
                        g.describe(i)
                    ));
                }
            }
        }
        for cycle in self.nesting_cycles() {
            let i = cycle[0];
            let names: Vec<&str> = cycle
                .iter()
                .chain(std::iter::once(&i))
                .map(|&j| self.groups[j].name.as_str())
                .collect();
            out.push(format!(
                "{}: group nesting cycle {}",
                self.groups[i].describe(i),
                names.join(" -> ")
            ));
        }

        let mut role_ids = HashMap::new();
        let mut role_names = HashMap::new();
        for (i, r) in self.roles.iter().enumerate() {
            let me = r.describe(i);
            if r.id.trim().is_empty() {
                out.push(format!("{me}: empty id"));
            } else if let Some(first) = role_ids.insert(r.id.as_str(), i) {
                out.push(format!(
                    "{me}: duplicate id, already used by roles[{first}]"
                ));
            }
            if r.name.trim().is_empty() {
                out.push(format!("{me}: empty name"));
            } else if let Some(first) = role_names.insert(r.name.as_str(), i) {
                out.push(format!(
                    "{me}: duplicate name, already used by roles[{first}]"
                ));
            }
            if let Scope::Project(p) = &r.scope
                && p.trim().is_empty()
            {
                out.push(format!("{me}: empty project name in scope"));
            }
        }

        let exact_logins: HashSet<&str> = self.users.iter().map(|u| u.login.as_str()).collect();
        let mut seen_grants = HashMap::new();
        for (i, g) in self.grants.iter().enumerate() {
            let me = g.describe(i);
            let role = self.roles.iter().find(|r| r.name == g.role);
            if role.is_none() {
                out.push(format!("{me}: unknown role `{}`", g.role));
            }
            match (&g.user, &g.group) {
                (Some(u), None) => {
                    if !exact_logins.contains(u.as_str()) {
                        out.push(format!("{me}: unknown user `{u}`"));
                    }
                }
                (None, Some(n)) => {
                    if !exact_group_names.contains(n.as_str()) {
                        out.push(format!("{me}: unknown group `{n}`"));
                    }
                }
                _ => out.push(format!("{me}: give exactly one of `user` and `group`")),
            }
            if let Some(Scope::Project(p)) = &g.scope
                && p.trim().is_empty()
            {
                out.push(format!("{me}: empty project name in scope"));
            }
            if let Some(role) = role {
                if let (Scope::Project(own), Some(scope)) = (&role.scope, &g.scope)
                    && scope != &role.scope
                {
                    out.push(format!(
                        "{me}: role `{}` belongs to project `{own}` and cannot be granted in {scope}",
                        role.name
                    ));
                }
                let key = (
                    g.role.as_str(),
                    g.user.as_deref(),
                    g.group.as_deref(),
                    g.effective_scope(&role.scope),
                );
                if let Some(first) = seen_grants.insert(key, i) {
                    out.push(format!("{me}: duplicate of grants[{first}]"));
                }
            }
        }
        out
    }

    /// Checks the document (see [`Directory::problems`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] listing every problem, each naming its record, e.g.
    /// `users[3] (id u-0004, login bob): malformed email `bob@``.
    pub fn validate(&self) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        let total = problems.len();
        let mut msg = if total == 1 {
            "invalid directory: ".to_string()
        } else {
            format!("invalid directory ({total} problems): ")
        };
        msg.push_str(
            &problems
                .iter()
                .take(MAX_REPORTED_PROBLEMS)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        );
        if total > MAX_REPORTED_PROBLEMS {
            msg.push_str(&format!("; and {} more", total - MAX_REPORTED_PROBLEMS));
        }
        Err(Error::invalid_input(msg))
    }

    /// Group indices forming nesting cycles, one list per cycle found (each cycle once).
    fn nesting_cycles(&self) -> Vec<Vec<usize>> {
        let by_name: HashMap<&str, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.as_str(), i))
            .collect();
        // 0 = unvisited, 1 = on the current path, 2 = done.
        let mut state = vec![0u8; self.groups.len()];
        let mut cycles = Vec::new();
        for start in 0..self.groups.len() {
            if state[start] != 0 {
                continue;
            }
            // Iterative DFS: (node, next parent index to look at).
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let parents = &self.groups[node].groups;
                if *next < parents.len() {
                    let parent = parents[*next].as_str();
                    *next += 1;
                    let Some(&p) = by_name.get(parent) else {
                        continue;
                    };
                    match state[p] {
                        0 => {
                            state[p] = 1;
                            stack.push((p, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|&(n, _)| n == p).unwrap_or(0);
                            cycles.push(stack[from..].iter().map(|&(n, _)| n).collect());
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
        cycles
    }

    /// Whether making group `child` a member of group `parent` (by name) would close a
    /// nesting cycle (including `child == parent`).
    pub fn would_cycle(&self, child: &str, parent: &str) -> bool {
        // A cycle appears iff `child` is already reachable upwards from `parent`.
        let mut todo = vec![parent];
        let mut seen = HashSet::new();
        while let Some(name) = todo.pop() {
            if name == child {
                return true;
            }
            if !seen.insert(name) {
                continue;
            }
            if let Some(g) = self.group_by_name(name) {
                todo.extend(g.groups.iter().map(String::as_str));
            }
        }
        false
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

    /// Validates the document and writes it to `path` atomically, in the format the
    /// extension implies: a temporary file in the same directory is written and fsynced,
    /// renamed over `path`, and the directory is fsynced. Readers see the old file or the
    /// new one, never a mix; after a crash at any point the old file is intact. An existing
    /// file's permissions are kept.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the document is invalid (nothing is written);
    /// [`ErrorKind::Config`] for an unknown extension; [`ErrorKind::PermissionDenied`] or
    /// [`ErrorKind::Unavailable`] when the file system refuses (the old file is intact and
    /// no temporary file is left behind).
    pub fn save_atomic(&self, path: &Path) -> Result<()> {
        self.save_atomic_with(path, &mut |_| Ok(())).map(|_| ())
    }

    /// [`Directory::save_atomic`], returning the text written.
    pub(crate) fn save_atomic_text(&self, path: &Path) -> Result<String> {
        self.save_atomic_with(path, &mut |_| Ok(()))
    }

    /// [`Directory::save_atomic`] with a hook called at each step, so tests can simulate a
    /// failure at any point.
    pub(crate) fn save_atomic_with(
        &self,
        path: &Path,
        hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
    ) -> Result<String> {
        let format = Format::for_path(path)?;
        self.validate()?;
        let text = self.to_text(format)?;
        write_atomic(path, text.as_bytes(), hook).map_err(|e| io_error(path, "cannot save", e))?;
        Ok(text)
    }
}

/// Adds what the parsers' own limits mean to their terse messages.
fn explain_parser_limit(msg: String) -> String {
    if msg.contains("recursion limit exceeded") {
        format!(
            "{msg} (the document nests deeper than the parser's recursion limit of 128 \
             levels; a directory file needs only a few)"
        )
    } else if msg.contains("repetition limit exceeded") {
        format!("{msg} (the YAML aliases expand past the parser's repetition limit)")
    } else {
        msg
    }
}

/// Points in an atomic save at which a test hook may inject a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveStep {
    /// The temporary file has been created and half the bytes written.
    PartlyWritten,
    /// The temporary file is complete and fsynced, not yet renamed.
    BeforeRename,
}

/// Maps an I/O error to an idbridge error naming the file.
pub(crate) fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        _ => ErrorKind::Unavailable,
    };
    Error::new(
        kind,
        format!("directory file `{}`: {what}: {e}", path.display()),
    )
    .with_retryable(false)
    .with_source(e)
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "directory".to_string());
    let unique = uuid::Uuid::new_v4().simple();
    path.with_file_name(format!(".{name}.{unique}.tmp"))
}

fn write_atomic(
    path: &Path,
    bytes: &[u8],
    hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the mode of the file being replaced; a failure here is not fatal.
            let _ = file.set_permissions(meta.permissions());
        }
        let half = bytes.len() / 2;
        file.write_all(&bytes[..half])?;
        hook(SaveStep::PartlyWritten)?;
        file.write_all(&bytes[half..])?;
        file.sync_all()?;
        drop(file);
        hook(SaveStep::BeforeRename)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // The temporary file is garbage now; the target was never touched.
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    sync_parent(path)
}

#[cfg(unix)]
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> std::io::Result<()> {
    // Directories cannot be opened for fsync on this platform; the rename is still atomic.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
users:
  - id: u-0001
    login: ada.lovelace
    email: ada.lovelace@example.com
    display_name: Ada Lovelace
    groups: [engineering]
    attributes: {department: R&D}
  - id: u-0002
    login: zoe
    enabled: false
groups:
  - id: g-all
    name: all-staff
  - id: g-eng
    name: engineering
    description: Engineering
    groups: [all-staff]
roles:
  - id: r-analyst
    name: analyst
    scope: {project: Sales Analytics}
  - id: r-admin
    name: admin
grants:
  - {role: analyst, group: engineering}
  - {role: admin, user: zoe}
  - {role: admin, user: ada.lovelace, scope: {project: Finance}}
"#;

    fn sample() -> Directory {
        let d = Directory::parse(SAMPLE, Format::Yaml, "sample").expect("sample parses");
        d.validate().expect("sample is valid");
        d
    }

    fn problems_of(yaml: &str) -> String {
        let d = Directory::parse(yaml, Format::Yaml, "t").expect("parses");
        let err = d.validate().expect_err("must be invalid");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        err.message().to_string()
    }

    #[test]
    fn sample_resolves_to_neutral_records() {
        let n = sample().to_neutral();
        assert_eq!(n.users.len(), 2);
        assert!(n.users[0].enabled);
        assert!(!n.users[1].enabled);
        assert_eq!(n.users[0].attributes["department"], "R&D");
        assert_eq!(
            n.memberships,
            vec![
                Membership {
                    group: "g-eng".into(),
                    member: Principal::User("u-0001".into())
                },
                Membership {
                    group: "g-all".into(),
                    member: Principal::Group("g-eng".into())
                },
            ]
        );
        assert_eq!(n.roles[0].scope, Scope::Project("Sales Analytics".into()));
        assert_eq!(n.roles[1].scope, Scope::Global);
        assert_eq!(
            n.grants,
            vec![
                Grant {
                    role: "r-analyst".into(),
                    principal: Principal::Group("g-eng".into()),
                    scope: Scope::Project("Sales Analytics".into())
                },
                Grant {
                    role: "r-admin".into(),
                    principal: Principal::User("u-0002".into()),
                    scope: Scope::Global
                },
                Grant {
                    role: "r-admin".into(),
                    principal: Principal::User("u-0001".into()),
                    scope: Scope::Project("Finance".into())
                },
            ]
        );
    }

    #[test]
    fn yaml_and_json_round_trip() {
        let d = sample();
        for format in [Format::Yaml, Format::Json] {
            let text = d.to_text(format).expect("serializes");
            let back = Directory::parse(&text, format, "round trip").expect("parses back");
            assert_eq!(back, d, "{format:?}:\n{text}");
        }
    }

    #[test]
    fn empty_text_is_an_empty_directory() {
        let d = Directory::parse("  \n", Format::Yaml, "t").expect("empty is fine");
        assert_eq!(d, Directory::default());
        d.validate().expect("empty is valid");
    }

    #[test]
    fn yaml_unknown_key_names_origin_path_and_line() {
        let text = "users:\n  - id: u1\n    login: a\n  - id: u2\n    login: b\n    emial: b@example.com\n";
        let err = Directory::parse(text, Format::Yaml, "directory file `d.yaml`")
            .expect_err("misspelt key");
        assert_eq!(err.kind(), ErrorKind::Config);
        let msg = err.message();
        assert!(msg.contains("d.yaml"), "{msg}");
        assert!(msg.contains("users[1]"), "{msg}");
        assert!(msg.contains("emial"), "{msg}");
        assert!(msg.contains("line 6"), "{msg}");
        assert_eq!(msg.matches("users[1]").count(), 1, "path said once: {msg}");
    }

    #[test]
    fn yaml_wrong_type_names_key_path() {
        let text = "users:\n  - id: u1\n    login: a\n    enabled: maybe\n";
        let err = Directory::parse(text, Format::Yaml, "f.yaml").expect_err("bad bool");
        assert!(
            err.message().contains("users[0].enabled"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn json_error_names_path_and_line() {
        let text = "{\"users\": [\n {\"id\": \"u1\", \"login\": 5}\n]}";
        let err = Directory::parse(text, Format::Json, "f.json").expect_err("bad login");
        let msg = err.message();
        assert!(msg.contains("f.json"), "{msg}");
        assert!(msg.contains("users[0].login"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn duplicate_user_id_names_both_records() {
        let msg = problems_of("users:\n  - {id: u1, login: a}\n  - {id: u1, login: b}\n");
        assert!(msg.contains("users[1] (id u1, login b)"), "{msg}");
        assert!(msg.contains("users[0]"), "{msg}");
    }

    #[test]
    fn duplicate_login_ignores_case() {
        let msg = problems_of("users:\n  - {id: u1, login: Bob}\n  - {id: u2, login: bob}\n");
        assert!(msg.contains("users[1] (id u2, login bob)"), "{msg}");
        assert!(msg.contains("duplicate login"), "{msg}");
    }

    #[test]
    fn malformed_email_names_the_record() {
        for bad in [
            "bob@",
            "bob",
            "@example.com",
            "bob@example",
            "b ob@example.com",
            "a@b@c.de",
        ] {
            let msg = problems_of(&format!(
                "users:\n  - {{id: u-0004, login: bob, email: \"{bad}\"}}\n"
            ));
            assert!(msg.contains("users[0] (id u-0004, login bob)"), "{msg}");
            assert!(msg.contains("malformed email"), "{msg}");
        }
        assert!(is_valid_email("zoë.müller@example.co.uk"));
        assert!(is_valid_email("first+tag@sub.example.com"));
    }

    #[test]
    fn duplicate_group_name_and_unknown_group_reference() {
        let msg = problems_of(
            "users:\n  - {id: u1, login: a, groups: [nope]}\ngroups:\n  - {id: g1, name: eng}\n  - {id: g2, name: ENG}\n",
        );
        assert!(
            msg.contains("groups[1] (id g2, name ENG): duplicate name"),
            "{msg}"
        );
        assert!(
            msg.contains("users[0] (id u1, login a): unknown group `nope`"),
            "{msg}"
        );
    }

    #[test]
    fn nesting_cycle_is_rejected() {
        let msg = problems_of(
            "groups:\n  - {id: g1, name: a, groups: [b]}\n  - {id: g2, name: b, groups: [c]}\n  - {id: g3, name: c, groups: [a]}\n",
        );
        assert!(msg.contains("nesting cycle"), "{msg}");
        assert!(msg.contains("a -> b -> c -> a"), "{msg}");
        let msg = problems_of("groups:\n  - {id: g1, name: a, groups: [a]}\n");
        assert!(
            msg.contains("groups[0] (id g1, name a): group nesting cycle a -> a"),
            "{msg}"
        );
    }

    #[test]
    fn grant_problems_name_the_grant() {
        let msg = problems_of(
            "users:\n  - {id: u1, login: a}\nroles:\n  - {id: r1, name: analyst, scope: {project: P}}\ngrants:\n  - {role: ghost, user: a}\n  - {role: analyst, user: nobody}\n  - {role: analyst}\n  - {role: analyst, user: a, scope: {project: Q}}\n",
        );
        assert!(
            msg.contains("grants[0] (role ghost, user a): unknown role"),
            "{msg}"
        );
        assert!(
            msg.contains("grants[1] (role analyst, user nobody): unknown user"),
            "{msg}"
        );
        assert!(msg.contains("grants[2] (role analyst, no holder)"), "{msg}");
        assert!(
            msg.contains("grants[3] (role analyst, user a): role `analyst` belongs to project `P`"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_role_and_duplicate_grant() {
        let msg = problems_of(
            "groups:\n  - {id: g1, name: x}\nroles:\n  - {id: r1, name: a}\n  - {id: r1, name: a}\ngrants:\n  - {role: a, group: x}\n  - {role: a, group: x, scope: global}\n",
        );
        assert!(
            msg.contains("roles[1] (id r1, name a): duplicate id"),
            "{msg}"
        );
        assert!(
            msg.contains("roles[1] (id r1, name a): duplicate name"),
            "{msg}"
        );
        assert!(
            msg.contains("grants[1] (role a, group x): duplicate of grants[0]"),
            "{msg}"
        );
    }

    #[test]
    fn would_cycle_sees_indirect_paths() {
        let d = sample();
        assert!(d.would_cycle("all-staff", "engineering"));
        assert!(d.would_cycle("engineering", "engineering"));
        assert!(!d.would_cycle("engineering", "all-staff"));
    }

    #[test]
    fn load_names_the_file_on_validation_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("d.yaml");
        std::fs::write(&p, "users:\n  - {id: u1, login: a, email: nope}\n").expect("write");
        let err = Directory::load(&p).expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("d.yaml"), "{}", err.message());
        assert!(
            err.message().contains("users[0] (id u1, login a)"),
            "{}",
            err.message()
        );

        let err = Directory::load(&dir.path().join("d.txt")).expect_err("extension");
        assert_eq!(err.kind(), ErrorKind::Config);
        let err = Directory::load(&dir.path().join("missing.yaml")).expect_err("missing");
        assert!(err.message().contains("missing.yaml"), "{}", err.message());
    }

    #[test]
    fn written_files_end_with_the_trailer_and_read_back_complete() {
        for format in [Format::Yaml, Format::Json] {
            let text = sample().to_text(format).expect("serializes");
            let back = Directory::parse_checked(&text, format, "t", true).expect("complete");
            assert_eq!(back, sample());
        }
        let text = sample().to_text(Format::Yaml).expect("serializes");
        assert!(
            text.trim_end()
                .ends_with("complete:\n  users: 2\n  groups: 2\n  roles: 2\n  grants: 3"),
            "{text}"
        );
    }

    #[test]
    fn every_truncation_of_a_written_file_is_refused() {
        for format in [Format::Yaml, Format::Json] {
            let text = sample().to_text(format).expect("serializes");
            let whole = text.trim_end().len();
            for cut in 0..whole {
                if !text.is_char_boundary(cut) {
                    continue;
                }
                let result = Directory::parse_checked(&text[..cut], format, "d.yaml", true);
                assert!(
                    result.is_err(),
                    "{format:?} cut at byte {cut} of {whole} was accepted:\n{}",
                    &text[..cut]
                );
            }
        }
    }

    #[test]
    fn a_file_cut_inside_a_login_is_refused_naming_the_file_and_the_trailer() {
        // Cut off mid-write: the last login reads `hen` and the trailer never came.
        let text = "users:\n  - {id: u1, login: ada}\n  - id: u2\n    login: hen";
        let err = Directory::parse_checked(text, Format::Yaml, "directory file `d.yaml`", true)
            .expect_err("incomplete");
        assert_eq!(err.kind(), ErrorKind::Config);
        let msg = err.message();
        assert!(msg.contains("d.yaml"), "{msg}");
        assert!(msg.contains("incomplete"), "{msg}");
        assert!(msg.contains("`complete` trailer"), "{msg}");
        // Without the requirement the same text still parses (for hand-made seeds).
        Directory::parse(text, Format::Yaml, "t").expect("lenient parse");
        // An empty file is no more complete than a cut one.
        assert!(Directory::parse_checked("", Format::Yaml, "t", true).is_err());
    }

    #[test]
    fn a_trailer_that_does_not_match_is_refused_even_when_not_required() {
        let text = "users:\n  - {id: u1, login: ada}\ncomplete: {users: 3, groups: 0, roles: 0, grants: 0}\n";
        let err = Directory::parse(text, Format::Yaml, "directory file `d.yaml`")
            .expect_err("count mismatch");
        let msg = err.message();
        assert!(msg.contains("d.yaml"), "{msg}");
        assert!(msg.contains("3 users but the file holds 1"), "{msg}");

        let text = "complete: {users: 0, groups: 0, roles: 0, grants: 0}\nusers: []\n";
        let err = Directory::parse(text, Format::Yaml, "t").expect_err("key after trailer");
        assert!(
            err.message().contains("must be the last key"),
            "{}",
            err.message()
        );

        let text = "users: []\ncomplete: {users: 0, groups: 0}\n";
        let err = Directory::parse(text, Format::Yaml, "t").expect_err("partial trailer");
        assert!(err.message().contains("roles"), "{}", err.message());

        let text = "{\"users\": [], \"complete\": {\"users\": 0, \"groups\": 1, \"roles\": 0, \"grants\": 0}}";
        let err = Directory::parse(text, Format::Json, "t").expect_err("json mismatch");
        assert!(
            err.message().contains("1 groups but the file holds 0"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn deeply_nested_yaml_is_refused_naming_the_nesting_limit() {
        // About 200 KB of brackets: the YAML scanner alone would take most of a minute.
        let text = format!("users: {}", "[".repeat(200 * 1024));
        let err =
            Directory::parse(&text, Format::Yaml, "directory file `d.yaml`").expect_err("too deep");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("d.yaml"), "{}", err.message());
        assert!(err.message().contains("nesting limit"), "{}", err.message());

        // JSON nesting stops at the first value of the wrong type, or at the JSON
        // parser's own recursion limit.
        let text = format!("{{\"users\": {}", "[".repeat(200 * 1024));
        Directory::parse(&text, Format::Json, "t").expect_err("too deep");

        // Block nesting stays within the parser's own recursion limit.
        let mut text = String::from("users:\n");
        for depth in 1..300 {
            text.push_str(&format!("{}- \n", "  ".repeat(depth)));
        }
        let err = Directory::parse(&text, Format::Yaml, "t").expect_err("too deep");
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn a_billion_laughs_is_refused_naming_the_alias_expansion_limit() {
        let mut text = String::from(
            "users:\n  - id: u1\n    login: a\n    groups: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        let mut prev = 'a';
        for (i, name) in ('b'..='j').enumerate() {
            text.push_str(&format!(
                "  - id: u{}\n    login: l{}\n    groups: &{name} [{}]\n",
                i + 2,
                i + 2,
                vec![format!("*{prev}"); 10].join(", ")
            ));
            prev = name;
        }
        let err = Directory::parse(&text, Format::Yaml, "directory file `d.yaml`")
            .expect_err("billion laughs");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("d.yaml"), "{}", err.message());
        assert!(
            err.message().contains("alias expansion limit"),
            "{}",
            err.message()
        );

        // An exporter sharing one small list between records stays well inside it.
        let mut text = String::from(
            "groups:\n  - {id: g1, name: staff}\nusers:\n  - id: u0\n    login: l0\n    groups: &id001\n    - staff\n",
        );
        for i in 1..2000 {
            text.push_str(&format!(
                "  - id: u{i}\n    login: l{i}\n    groups: *id001\n"
            ));
        }
        let dir = Directory::parse(&text, Format::Yaml, "t").expect("shared list");
        assert_eq!(dir.users.len(), 2000);
        dir.validate().expect("valid");
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn save_atomic_writes_a_loadable_file_in_both_formats() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["d.yaml", "d.json"] {
            let p = dir.path().join(name);
            sample().save_atomic(&p).expect("saves");
            assert_eq!(Directory::load(&p).expect("loads"), sample());
        }
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn save_atomic_refuses_an_invalid_document_without_touching_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("d.yaml");
        sample().save_atomic(&p).expect("saves");
        let before = std::fs::read(&p).expect("read");
        let mut bad = sample();
        bad.users[0].email = Some("not-an-email".into());
        let err = bad.save_atomic(&p).expect_err("invalid");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(std::fs::read(&p).expect("read"), before);
    }

    #[test]
    fn a_failure_at_any_step_leaves_the_old_file_intact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("d.yaml");
        sample().save_atomic(&p).expect("saves");
        let before = std::fs::read(&p).expect("read");
        let mut changed = sample();
        changed.users[0].display_name = Some("Augusta Ada King".into());
        for step in [SaveStep::PartlyWritten, SaveStep::BeforeRename] {
            let err = changed
                .save_atomic_with(&p, &mut |s| {
                    if s == step {
                        Err(std::io::Error::other("simulated crash"))
                    } else {
                        Ok(())
                    }
                })
                .expect_err("injected failure");
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{step:?}");
            assert!(err.message().contains("d.yaml"), "{}", err.message());
            assert_eq!(std::fs::read(&p).expect("read"), before, "{step:?}");
            assert!(leftovers(dir.path()).is_empty(), "{step:?}");
        }
        changed.save_atomic(&p).expect("then a clean save works");
        assert_eq!(Directory::load(&p).expect("loads"), changed);
    }

    #[test]
    fn save_into_a_missing_directory_fails_and_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("no-such-dir").join("d.yaml");
        let err = sample().save_atomic(&p).expect_err("no directory");
        assert!(err.message().contains("d.yaml"), "{}", err.message());
        assert!(!p.exists());
    }

    #[cfg(unix)]
    #[test]
    fn save_keeps_the_file_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("d.yaml");
        sample().save_atomic(&p).expect("saves");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        sample().save_atomic(&p).expect("saves again");
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
