//! The emulated server's state: users, user groups, security roles, projects, HTTP
//! sessions and the user connections they open.
//!
//! Everything sits behind one mutex held only for the duration of a synchronous
//! operation, so concurrent requests (the official SDK pages with 8 threads) see a
//! consistent server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::wire::{
    ADMINISTRATOR_USER_ID, EVERYONE_GROUP_ID, PUBLIC_GROUP_ID, SUBTYPE_GROUP, SUBTYPE_USER,
    SYSTEM_ADMINISTRATORS_GROUP_ID, SYSTEM_MONITORS_GROUP_ID, TYPE_SECURITY_ROLE,
    TYPE_USER_OR_GROUP, format_timestamp,
};

mod addresses;
mod directory;
mod errors;
mod index;
mod patch;
mod sessions;
mod views;

pub use addresses::{
    AddressApi, AddressRec, DEVICES, DEVICES_SINCE, GENERIC_EMAIL_DEVICE_ID,
    GENERIC_EMAIL_DEVICE_NAME, device_json,
};
pub use errors::{ApiError, ApiResult, MstrError, MstrErrors};
pub use index::DirectoryIndex;
pub use patch::{PatchOp, ids_of, parse_operations};
use patch::{as_bool_value, as_str_value, optional_ids, required_text};
mod roles;

/// The id of the seeded project.
pub const TUTORIAL_PROJECT_ID: &str = "B19DEDCC11D4E0EFC000EB9495D0F44F";
/// The name of the seeded project.
pub const TUTORIAL_PROJECT_NAME: &str = "MicroStrategy Tutorial";
/// The name of the one cluster node.
pub const NODE_NAME: &str = "strategy-emulator";
/// The version the emulator reports (modern enough for every SDK feature).
pub const DEFAULT_VERSION: &str = "11.5.0700.0045";

/// The object subtype of a security role.
pub const SUBTYPE_ROLE: i64 = 11264;

/// The default security roles of a fresh server, with stable ids.
const DEFAULT_ROLES: [(&str, &str, &str); 6] = [
    (
        "E1A3C5D711D4A8B26000A28E67019608",
        "Normal Users",
        "Browse and run reports",
    ),
    (
        "E1A3C5D811D4A8B26000A28E67019608",
        "Power Users",
        "Create and share content",
    ),
    (
        "E1A3C5D911D4A8B26000A28E67019608",
        "Developers",
        "Design schema and application objects",
    ),
    (
        "2A5D4DE24B3CD6BEC2E5F7B6B8AAA1E0",
        "Web Reporter",
        "View dashboards and reports in Library",
    ),
    (
        "2A5D4DE34B3CD6BEC2E5F7B6B8AAA1E0",
        "Web Analyst",
        "Analyse data in Library",
    ),
    (
        "2A5D4DE44B3CD6BEC2E5F7B6B8AAA1E0",
        "Mobile User",
        "Use the mobile apps",
    ),
];

/// The privilege catalogue: `(id, name, project level)`.
pub const PRIVILEGES: [(&str, &str, bool); 8] = [
    ("1", "Create application objects", true),
    ("2", "Schedule request", true),
    ("12", "Web run document", true),
    ("19", "Web user", true),
    ("49", "Use Developer", true),
    ("160", "Use User Manager", false),
    ("161", "Use Security Role Manager", false),
    ("205", "Administer user connections", false),
];

/// A privilege inside a role, serialized `name` first: the server writes it so and one
/// helper of the official SDK reads the two values by position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PrivilegeOut {
    /// The privilege name.
    pub name: String,
    /// The numeric privilege id, as a string.
    pub id: String,
}

/// A full security role, serialized with the key order of [`PrivilegeOut`] intact (a
/// `serde_json::Value` would sort the keys).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleBody {
    /// The common object fields.
    #[serde(flatten)]
    pub common: Map<String, Value>,
    /// The privileges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileges: Option<Vec<PrivilegeOut>>,
    /// Members per project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projects: Option<Vec<Value>>,
}

impl RoleBody {
    /// Keeps only the requested top-level fields.
    pub fn select(mut self, fields: &Option<Vec<String>>) -> Self {
        if let Some(fields) = fields {
            let wanted = |k: &str| fields.iter().any(|f| f == k);
            self.common.retain(|k, _| wanted(k));
            if !wanted("privileges") {
                self.privileges = None;
            }
            if !wanted("projects") {
                self.projects = None;
            }
        }
        self
    }
}

/// A user account.
#[derive(Debug, Clone)]
pub struct UserRec {
    /// Object id.
    pub id: String,
    /// Login.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Description.
    pub description: String,
    /// Whether the user may log in.
    pub enabled: bool,
    /// The password (`None`: an empty password is accepted).
    pub password: Option<String>,
    /// Whether the next login must change the password (login is refused until then).
    pub require_new_password: bool,
    /// Other stored fields (`initials`, `ldapdn`, `trustId`, ...), echoed back.
    pub extra: Map<String, Value>,
    /// Direct privileges.
    pub privileges: BTreeSet<String>,
    /// Contact addresses; the default one is `defaultEmailAddress`.
    pub addresses: Vec<AddressRec>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last change.
    pub modified: DateTime<Utc>,
}

/// A user group.
#[derive(Debug, Clone)]
pub struct GroupRec {
    /// Object id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Direct members (users and groups), in the order they were added.
    pub members: Vec<String>,
    /// Other stored fields, echoed back.
    pub extra: Map<String, Value>,
    /// Direct privileges.
    pub privileges: BTreeSet<String>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last change.
    pub modified: DateTime<Utc>,
}

/// A security role.
#[derive(Debug, Clone)]
pub struct RoleRec {
    /// Object id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Privilege ids.
    pub privileges: BTreeSet<String>,
    /// Members per project id.
    pub members: BTreeMap<String, Vec<String>>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last change.
    pub modified: DateTime<Utc>,
}

/// A project.
#[derive(Debug, Clone)]
pub struct ProjectRec {
    /// Object id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
}

/// One user connection of a session: the configuration-level one or one per project.
#[derive(Debug, Clone)]
pub struct ConnectionRec {
    /// The connection id (`<sessionId>:<projectIndex>:<base64(node)>`).
    pub id: String,
    /// The project, `None` for the configuration-level connection.
    pub project_id: Option<String>,
    /// When it opened.
    pub created: DateTime<Utc>,
    /// When it was last used.
    pub last_used: DateTime<Utc>,
}

/// One HTTP session (what a login opens).
#[derive(Debug, Clone)]
pub struct SessionRec {
    /// The `X-MSTR-AuthToken`.
    pub token: String,
    /// The `JSESSIONID` cookie the session is bound to.
    pub cookie: String,
    /// The Intelligence Server session id (32 hex).
    pub session_id: String,
    /// The user.
    pub user_id: String,
    /// The `applicationType` of the login.
    pub application_type: i64,
    /// The client address.
    pub client: String,
    /// Last use, for the idle timeout.
    pub last_used: DateTime<Utc>,
    /// The connections: the configuration-level one first.
    pub connections: Vec<ConnectionRec>,
}

/// Everything the server holds.
#[derive(Debug)]
pub struct Inner {
    /// Users by id.
    pub users: BTreeMap<String, UserRec>,
    /// Users' creation order (Everyone's member order).
    pub user_order: Vec<String>,
    /// Groups by id.
    pub groups: BTreeMap<String, GroupRec>,
    /// Group creation order (listing order).
    pub group_order: Vec<String>,
    /// Roles by id.
    pub roles: BTreeMap<String, RoleRec>,
    /// Projects, in listing order.
    pub projects: Vec<ProjectRec>,
    /// Sessions by token.
    pub sessions: HashMap<String, SessionRec>,
    /// API tokens to user ids.
    pub api_tokens: HashMap<String, String>,
    /// Identity tokens to user ids.
    pub identity_tokens: HashMap<String, String>,
    /// Logins, group names and memberships indexed; every change to `users`, `groups` and
    /// their members goes through the methods that keep it in step.
    pub(crate) index: DirectoryIndex,
}

/// Server-wide settings that do not change while it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The idle timeout of a session, in seconds.
    pub session_timeout_secs: i64,
    /// The version reported by `/api/status`.
    pub version: String,
    /// Whether the bulk-disconnect endpoint exists (server 11.3.1 and later).
    pub bulk_disconnect: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_timeout_secs: 600,
            version: DEFAULT_VERSION.to_string(),
            bulk_disconnect: true,
        }
    }
}

/// The emulated server.
#[derive(Debug)]
pub struct EmulatorState {
    inner: Mutex<Inner>,
    /// Fixed settings.
    pub settings: Settings,
}

/// A new object id: 32 upper-case hex characters.
pub fn new_object_id() -> String {
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase()
}

/// A ticket id: 32 lower-case hex characters.
pub fn new_ticket_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A session token shaped like the real ones: 26 lower-case alphanumerics.
fn new_token() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..26)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn ts(t: DateTime<Utc>) -> Value {
    Value::from(format_timestamp(t))
}

fn version_of(t: DateTime<Utc>) -> Value {
    Value::from(format!("{:032X}", t.timestamp_micros()))
}

fn owner() -> Value {
    json!({"name": "Administrator", "id": ADMINISTRATOR_USER_ID})
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Case-insensitive prefix match with `*` (any run) and `?` (one character) wildcards.
pub fn begins_with(value: &str, pattern: &str) -> bool {
    fn matches(v: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => true,
            Some(('*', rest)) => (0..=v.len()).any(|i| matches(&v[i..], rest)),
            Some(('?', rest)) => !v.is_empty() && matches(&v[1..], rest),
            Some((c, rest)) => v.first().is_some_and(|x| x == c) && matches(&v[1..], rest),
        }
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    matches(&v, &p)
}

impl EmulatorState {
    /// A server with the built-ins: the Administrator (with `admin_login` /
    /// `admin_password`), Everyone and the system groups, the default security roles, the
    /// Tutorial project and one node.
    pub fn new(admin_login: &str, admin_password: &str, settings: Settings) -> Self {
        let t = now();
        let mut inner = Inner {
            users: BTreeMap::new(),
            user_order: Vec::new(),
            groups: BTreeMap::new(),
            group_order: Vec::new(),
            roles: BTreeMap::new(),
            projects: vec![ProjectRec {
                id: TUTORIAL_PROJECT_ID.to_string(),
                name: TUTORIAL_PROJECT_NAME.to_string(),
                description: "MicroStrategy Tutorial project and application set designed to illustrate the platform's rich functionality".to_string(),
            }],
            sessions: HashMap::new(),
            api_tokens: HashMap::new(),
            identity_tokens: HashMap::new(),
            index: DirectoryIndex::default(),
        };
        inner.users.insert(
            ADMINISTRATOR_USER_ID.to_string(),
            UserRec {
                id: ADMINISTRATOR_USER_ID.to_string(),
                username: admin_login.to_string(),
                full_name: "Administrator".to_string(),
                description: String::new(),
                enabled: true,
                password: Some(admin_password.to_string()),
                require_new_password: false,
                extra: Map::new(),
                privileges: BTreeSet::new(),
                addresses: Vec::new(),
                created: t,
                modified: t,
            },
        );
        inner.user_order.push(ADMINISTRATOR_USER_ID.to_string());
        for (id, name, description, members) in [
            (
                EVERYONE_GROUP_ID,
                "Everyone",
                "Every user of the server",
                vec![],
            ),
            (
                SYSTEM_ADMINISTRATORS_GROUP_ID,
                "System Administrators",
                "Administrators of the whole server",
                vec![ADMINISTRATOR_USER_ID.to_string()],
            ),
            (
                SYSTEM_MONITORS_GROUP_ID,
                "System Monitors",
                "Users who monitor the server",
                vec![],
            ),
            (
                PUBLIC_GROUP_ID,
                "Public / Guest",
                "Anonymous access",
                vec![],
            ),
        ] {
            inner.groups.insert(
                id.to_string(),
                GroupRec {
                    id: id.to_string(),
                    name: name.to_string(),
                    description: description.to_string(),
                    members,
                    extra: Map::new(),
                    privileges: BTreeSet::new(),
                    created: t,
                    modified: t,
                },
            );
            inner.group_order.push(id.to_string());
        }
        for (id, name, description) in DEFAULT_ROLES {
            inner.roles.insert(
                id.to_string(),
                RoleRec {
                    id: id.to_string(),
                    name: name.to_string(),
                    description: description.to_string(),
                    privileges: ["12", "19"].iter().map(|s| s.to_string()).collect(),
                    members: BTreeMap::new(),
                    created: t,
                    modified: t,
                },
            );
        }
        inner.index = DirectoryIndex::of(&inner);
        EmulatorState {
            inner: Mutex::new(inner),
            settings,
        }
    }

    /// The state, locked.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in one handler must not take the whole emulator down with it.
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> EmulatorState {
        EmulatorState::new("administrator", "pw", Settings::default())
    }

    #[test]
    fn role_privileges_are_written_name_first() {
        let s = state();
        let i = s.lock();
        let role = i.roles.values().next().expect("a default role");
        let text = serde_json::to_string(&i.role_json(role)).expect("serializes");
        let at = text.find("\"privileges\":[{").expect("privileges present");
        assert!(
            text[at..].starts_with("\"privileges\":[{\"name\":"),
            "{text}"
        );
    }

    #[test]
    fn wildcard_prefixes() {
        assert!(begins_with("John Smith", "john"));
        assert!(begins_with("John Smith", "j?hn"));
        assert!(begins_with("John Smith", "*smith"));
        assert!(!begins_with("John Smith", "smith"));
    }

    #[test]
    fn login_needs_password_cookie_and_enabled_account() {
        let s = state();
        let mut i = s.lock();
        assert_eq!(
            i.login(1, "administrator", "wrong", 35, "t")
                .expect_err("bad")
                .detail
                .code,
            "ERR003"
        );
        let (token, cookie) = i.login(1, "Administrator", "pw", 35, "t").expect("login");
        assert!(
            i.authenticate(Some(&token), Some(&cookie), None, 600)
                .is_ok()
        );
        assert_eq!(
            i.authenticate(Some(&token), None, None, 600)
                .expect_err("no cookie")
                .detail
                .code,
            "ERR009"
        );
        assert_eq!(i.connections().len(), 1);
        i.authenticate(Some(&token), Some(&cookie), Some(TUTORIAL_PROJECT_ID), 600)
            .expect("project");
        assert_eq!(i.connections().len(), 2);
    }

    #[test]
    fn duplicate_login_and_nested_cycle_are_refused() {
        let s = state();
        let mut i = s.lock();
        let body = json!({"username": "ada", "fullName": "Ada"});
        i.create_user(&body).expect("created");
        assert_eq!(
            i.create_user(&json!({"username": "ADA", "fullName": "x"}))
                .expect_err("dup")
                .status,
            409
        );
        let a = i.create_group(&json!({"name": "a"})).expect("a");
        let b = i
            .create_group(&json!({"name": "b", "memberships": [a.clone()]}))
            .expect("b");
        assert_eq!(i.add_member(&b, &a).expect_err("cycle").status, 400);
    }

    #[test]
    fn deleting_a_user_ends_its_sessions_and_memberships() {
        let s = state();
        let mut i = s.lock();
        let u = i
            .create_user(&json!({"username": "bob", "fullName": "Bob", "password": "x"}))
            .expect("created");
        let g = i
            .create_group(&json!({"name": "g", "members": [u.clone()]}))
            .expect("g");
        i.login(1, "bob", "x", 35, "t").expect("login");
        assert_eq!(i.connections().len(), 1);
        i.delete_user(&u).expect("deleted");
        assert!(i.connections().is_empty());
        assert!(i.members_of(&g).is_empty());
    }
}
