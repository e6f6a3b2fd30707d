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

/// A failed operation, as the REST tier would answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `ERRnnn`.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The Intelligence Server code, where the REST tier passes one on.
    pub iserver_code: Option<i64>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            iserver_code: None,
        }
    }

    /// 400 `ERR006`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "ERR006", message)
    }

    /// 400 `ERR007`.
    pub fn missing(field: &str) -> Self {
        Self::new(400, "ERR007", format!("Missing required field '{field}'"))
    }

    /// 404 `ERR004` for a record.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            404,
            "ERR004",
            format!("{what} with ID '{id}' could not be found"),
        )
    }

    /// 409 `ERR015`: the emulator's answer to a duplicate login or group name.
    pub fn exists(what: &str, name: &str) -> Self {
        Self::new(
            409,
            "ERR015",
            format!("{what} with the name '{name}' already exists"),
        )
    }

    /// 401 `ERR009`.
    pub fn session_expired() -> Self {
        Self::new(
            401,
            "ERR009",
            "The user's session has expired, please reauthenticate",
        )
    }

    /// 401 `ERR003`.
    pub fn login_failed(message: impl Into<String>) -> Self {
        Self::new(401, "ERR003", message)
    }

    /// 403 `ERR017`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "ERR017", message)
    }

    /// 404 `ERR004` `HTTP 404 Not Found`: no such endpoint.
    pub fn no_route() -> Self {
        Self::new(404, "ERR004", "HTTP 404 Not Found")
    }

    /// 405 `ERR001` `HTTP 405 Method Not Allowed`.
    pub fn no_method() -> Self {
        Self::new(405, "ERR001", "HTTP 405 Method Not Allowed")
    }

    /// 500 `ERR001` "object not found" from the Intelligence Server (the generic objects
    /// endpoint answers missing objects this way).
    pub fn iserver_not_found(id: &str, object_type: i64) -> Self {
        ApiError {
            status: 500,
            code: "ERR001",
            message: format!(
                "Object with ID '{id}' and type {object_type} is not found in metadata."
            ),
            iserver_code: Some(-2_147_216_373),
        }
    }
}

/// The result of a state operation.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

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

/// A contact address of a user (the v1 addresses API: email addresses on the generic
/// email device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRec {
    /// Address id (32 hex).
    pub id: String,
    /// The user-chosen name.
    pub name: String,
    /// The email address.
    pub value: String,
    /// Whether it is the user's default address.
    pub is_default: bool,
}

impl AddressRec {
    /// The v1 JSON shape.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "deliveryMode": "EMAIL",
            "device": "GENERIC_EMAIL",
            "value": self.value,
            "isDefault": self.is_default,
        })
    }
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

// ----- sessions -----------------------------------------------------------------------

impl Inner {
    /// Checks credentials and opens a session: returns `(token, cookie)`.
    pub fn login(
        &mut self,
        mode: i64,
        username: &str,
        password: &str,
        application_type: i64,
        client: &str,
    ) -> ApiResult<(String, String)> {
        let user_id = match mode {
            1 | 16 => {
                let user = self
                    .users
                    .values()
                    .find(|u| u.username.eq_ignore_ascii_case(username))
                    .ok_or_else(|| ApiError::login_failed("Login failed"))?;
                // Standard login of an account bound to LDAP or trusted authentication
                // (`standardAuth: false`) is refused whatever the password.
                if mode == 1 && user.extra.get("standardAuth") == Some(&Value::Bool(false)) {
                    return Err(ApiError::login_failed(
                        "Login failed: standard authentication is not allowed for this user",
                    ));
                }
                // A user created without a password logs in with an empty one, as on a
                // server whose minimum password length is 0 (the vendor's default).
                let ok = match &user.password {
                    Some(p) => p == password,
                    None => password.is_empty(),
                };
                if !ok {
                    return Err(ApiError::login_failed("Login failed"));
                }
                if !user.enabled {
                    return Err(ApiError::login_failed(
                        "Login failed: the user account is disabled",
                    ));
                }
                if user.require_new_password {
                    return Err(ApiError::login_failed(
                        "Login failed: the password must be changed before the first login",
                    ));
                }
                user.id.clone()
            }
            4096 => {
                let id = self
                    .api_tokens
                    .get(username)
                    .cloned()
                    .ok_or_else(|| ApiError::login_failed("Login failed: invalid API token"))?;
                match self.users.get(&id) {
                    Some(u) if u.enabled => id,
                    _ => return Err(ApiError::login_failed("Login failed")),
                }
            }
            8 => {
                return Err(ApiError::login_failed(
                    "Login failed: anonymous authentication is not enabled",
                ));
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "Login mode {other} is not supported by this server"
                )));
            }
        };
        Ok(self.open_session(&user_id, application_type, client))
    }

    /// Opens a session for a user (after a login or a delegation).
    pub fn open_session(
        &mut self,
        user_id: &str,
        application_type: i64,
        client: &str,
    ) -> (String, String) {
        let t = now();
        let token = new_token();
        let cookie = new_object_id();
        let session_id = new_object_id();
        let config_connection = ConnectionRec {
            id: format!("{session_id}:-1:{}", base64_of(NODE_NAME)),
            project_id: None,
            created: t,
            last_used: t,
        };
        self.sessions.insert(
            token.clone(),
            SessionRec {
                token: token.clone(),
                cookie: cookie.clone(),
                session_id,
                user_id: user_id.to_string(),
                application_type,
                client: client.to_string(),
                last_used: t,
                connections: vec![config_connection],
            },
        );
        (token, cookie)
    }

    /// The session of a request: the token must be known, not idle past the timeout, and
    /// presented with its cookie. Touches it and opens a project connection when the
    /// request names a project.
    pub fn authenticate(
        &mut self,
        token: Option<&str>,
        cookie: Option<&str>,
        project: Option<&str>,
        timeout_secs: i64,
    ) -> ApiResult<SessionRec> {
        let token = token.ok_or_else(ApiError::session_expired)?;
        let t = now();
        let expired = match self.sessions.get(token) {
            None => return Err(ApiError::session_expired()),
            Some(s) => (t - s.last_used).num_seconds() > timeout_secs,
        };
        if expired {
            self.sessions.remove(token);
            return Err(ApiError::session_expired());
        }
        let project_index = project.and_then(|p| {
            self.projects
                .iter()
                .position(|x| x.id.eq_ignore_ascii_case(p))
                .map(|i| (i, self.projects[i].id.clone()))
        });
        let Some(session) = self.sessions.get_mut(token) else {
            return Err(ApiError::session_expired());
        };
        // The REST tier keeps the token inside its HTTP session: without the cookie the
        // token is unknown to it.
        if cookie != Some(session.cookie.as_str()) {
            return Err(ApiError::session_expired());
        }
        session.last_used = t;
        if let Some(first) = session.connections.first_mut() {
            first.last_used = t;
        }
        if let Some((index, pid)) = project_index {
            match session
                .connections
                .iter_mut()
                .find(|c| c.project_id.as_deref() == Some(pid.as_str()))
            {
                Some(c) => c.last_used = t,
                None => {
                    let id = format!("{}:{index}:{}", session.session_id, base64_of(NODE_NAME));
                    session.connections.push(ConnectionRec {
                        id,
                        project_id: Some(pid),
                        created: t,
                        last_used: t,
                    });
                }
            }
        }
        Ok(session.clone())
    }

    /// Ends a session (logout).
    pub fn logout(&mut self, token: &str) {
        self.sessions.remove(token);
    }

    /// Every user connection, oldest session first.
    pub fn connections(&self) -> Vec<Value> {
        let mut sessions: Vec<&SessionRec> = self.sessions.values().collect();
        sessions.sort_by(|a, b| {
            let a0 = a.connections.first().map(|c| c.created);
            let b0 = b.connections.first().map(|c| c.created);
            a0.cmp(&b0).then_with(|| a.session_id.cmp(&b.session_id))
        });
        let t = now();
        let mut out = Vec::new();
        for s in sessions {
            let (username, full_name) = self
                .users
                .get(&s.user_id)
                .map(|u| (u.username.clone(), u.full_name.clone()))
                .unwrap_or_default();
            let config_id = s
                .connections
                .first()
                .map(|c| c.id.clone())
                .unwrap_or_default();
            for (i, c) in s.connections.iter().enumerate() {
                let project = c.project_id.as_ref().and_then(|p| {
                    self.projects
                        .iter()
                        .position(|x| &x.id == p)
                        .map(|i| (i, &self.projects[i]))
                });
                out.push(json!({
                    "id": c.id,
                    "parentId": if i == 0 { String::new() } else { config_id.clone() },
                    "username": username,
                    "userFullName": full_name,
                    "projectIndex": project.map_or(-1, |(i, _)| i as i64),
                    "projectId": project.map_or(String::new(), |(_, p)| p.id.clone()),
                    "projectName": project.map_or(String::new(), |(_, p)| p.name.clone()),
                    "projectType": if project.is_some() { "Project" } else { "" },
                    "openJobsCount": 0,
                    "applicationType": application_name(s.application_type),
                    "dateConnectionCreated": ts(c.created),
                    "dateFirstJobSubmitted": ts(c.created),
                    "dateLastJobSubmitted": ts(c.last_used),
                    "lastAction": "",
                    "duration": (t - c.created).num_seconds(),
                    "sessionId": s.session_id,
                    "client": s.client,
                    "configLevel": project.is_none(),
                }));
            }
        }
        out
    }

    /// Ends one connection: a project connection closes alone, the configuration-level
    /// one ends its whole session. The caller's own session cannot be ended this way.
    /// Returns the per-connection HTTP-like status.
    pub fn disconnect(&mut self, connection_id: &str, caller_token: &str) -> (u16, String) {
        let Some((token, index)) = self.sessions.iter().find_map(|(tok, s)| {
            s.connections
                .iter()
                .position(|c| c.id == connection_id)
                .map(|i| (tok.clone(), i))
        }) else {
            return (
                404,
                format!("User connection '{connection_id}' does not exist"),
            );
        };
        if token == caller_token {
            return (
                403,
                "The connection of the current session cannot be disconnected".to_string(),
            );
        }
        if index == 0 {
            self.sessions.remove(&token);
        } else if let Some(s) = self.sessions.get_mut(&token) {
            s.connections.remove(index);
        }
        (200, "Disconnected".to_string())
    }

    /// Ends every session of a user (after the user was deleted or disabled).
    fn end_sessions_of(&mut self, user_id: &str) {
        self.sessions.retain(|_, s| s.user_id != user_id);
    }
}

fn application_name(application_type: i64) -> &'static str {
    match application_type {
        76 => "Python",
        35 => "Library",
        6 => "DSSScheduler",
        _ => "Library",
    }
}

// ----- users and groups ---------------------------------------------------------------

/// A value that may be one id or an array of ids, as PATCH `value`s arrive.
pub fn ids_of(value: &Value) -> ApiResult<Vec<String>> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Object(o) => o
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::invalid("Expected an id in the value list")),
                _ => Err(ApiError::invalid("Expected an id in the value list")),
            })
            .collect(),
        _ => Err(ApiError::invalid(
            "Expected an id or a list of ids as value",
        )),
    }
}

fn as_str_value(value: &Value, path: &str) -> ApiResult<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        _ => Err(ApiError::invalid(format!(
            "Expected a string value for '{path}'"
        ))),
    }
}

fn as_bool_value(value: &Value, path: &str) -> ApiResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ApiError::invalid(format!(
            "Expected a boolean value for '{path}'"
        ))),
    }
}

fn parse_address(body: &Value, id: String) -> ApiResult<AddressRec> {
    let value = body
        .get("value")
        .or_else(|| body.get("physicalAddress"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing("value"))?;
    if !value.contains('@') {
        return Err(ApiError::invalid(format!(
            "'{value}' is not an email address"
        )));
    }
    let is_default = body
        .get("isDefault")
        .or_else(|| body.get("default"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(AddressRec {
        id,
        name: body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Email")
            .to_string(),
        value: value.to_string(),
        is_default,
    })
}

/// One parsed PATCH operation.
#[derive(Debug, Clone)]
pub struct PatchOp {
    /// Lower-cased `op`.
    pub op: String,
    /// `path` without the leading `/`.
    pub path: String,
    /// `value`.
    pub value: Value,
}

/// Reads `{"operationList": [...]}`, comparing `op` case-insensitively.
pub fn parse_operations(body: &Value) -> ApiResult<Vec<PatchOp>> {
    let list = body
        .get("operationList")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::missing("operationList"))?;
    list.iter()
        .map(|o| {
            let op = o
                .get("op")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::missing("op"))?
                .to_ascii_lowercase();
            let path = o
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::missing("path"))?
                .trim_start_matches('/')
                .to_string();
            Ok(PatchOp {
                op,
                path,
                value: o.get("value").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

impl Inner {
    fn login_taken(&self, login: &str, except: Option<&str>) -> bool {
        self.users
            .values()
            .any(|u| Some(u.id.as_str()) != except && u.username.eq_ignore_ascii_case(login))
    }

    fn group_name_taken(&self, name: &str, except: Option<&str>) -> bool {
        self.groups
            .values()
            .any(|g| Some(g.id.as_str()) != except && g.name.eq_ignore_ascii_case(name))
    }

    /// Whether `id` is a user or a group.
    pub fn principal_exists(&self, id: &str) -> bool {
        self.users.contains_key(id) || self.groups.contains_key(id)
    }

    /// The direct parent groups of a user or group (Everyone included for users).
    pub fn parents_of(&self, id: &str) -> Vec<&GroupRec> {
        let is_user = self.users.contains_key(id);
        self.group_order
            .iter()
            .filter_map(|g| self.groups.get(g))
            .filter(|g| {
                if g.id == EVERYONE_GROUP_ID {
                    is_user
                } else {
                    g.members.iter().any(|m| m == id)
                }
            })
            .collect()
    }

    /// A group's direct members, in order (Everyone: every user).
    pub fn members_of(&self, group_id: &str) -> Vec<String> {
        if group_id == EVERYONE_GROUP_ID {
            return self.user_order.clone();
        }
        self.groups
            .get(group_id)
            .map(|g| g.members.clone())
            .unwrap_or_default()
    }

    /// Whether `group` is `ancestor` or nested (at any depth) inside it.
    fn is_within(&self, group: &str, ancestor: &str) -> bool {
        let mut stack = vec![group.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(g) = stack.pop() {
            if g == ancestor {
                return true;
            }
            if !seen.insert(g.clone()) {
                continue;
            }
            for parent in self.parents_of(&g) {
                stack.push(parent.id.clone());
            }
        }
        false
    }

    /// Adds `member` to `group`; a present member is left alone.
    pub fn add_member(&mut self, group: &str, member: &str) -> ApiResult<()> {
        if !self.groups.contains_key(group) {
            return Err(ApiError::not_found("User group", group));
        }
        if !self.principal_exists(member) {
            return Err(ApiError::not_found("User or user group", member));
        }
        if group == EVERYONE_GROUP_ID {
            if self.users.contains_key(member) {
                return Ok(());
            }
            return Err(ApiError::invalid("Only users are members of Everyone"));
        }
        if self.groups.contains_key(member) && self.is_within(group, member) {
            return Err(ApiError::invalid(format!(
                "Adding group '{member}' to group '{group}' would create a cycle"
            )));
        }
        let t = now();
        if let Some(g) = self.groups.get_mut(group) {
            if !g.members.iter().any(|m| m == member) {
                g.members.push(member.to_string());
                g.modified = t;
            }
        }
        Ok(())
    }

    /// Removes `member` from `group`; an absent member is left alone.
    pub fn remove_member(&mut self, group: &str, member: &str) -> ApiResult<()> {
        if group == EVERYONE_GROUP_ID {
            return Err(ApiError::invalid("Users cannot be removed from Everyone"));
        }
        let t = now();
        let g = self
            .groups
            .get_mut(group)
            .ok_or_else(|| ApiError::not_found("User group", group))?;
        let before = g.members.len();
        g.members.retain(|m| m != member);
        if g.members.len() != before {
            g.modified = t;
        }
        Ok(())
    }

    /// Creates a user from a U3 body.
    pub fn create_user(&mut self, body: &Value) -> ApiResult<String> {
        let username = body
            .get("username")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing("username"))?
            .to_string();
        let full_name = body
            .get("fullName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing("fullName"))?
            .to_string();
        if self.login_taken(&username, None) {
            return Err(ApiError::exists("User", &username));
        }
        let memberships = match body.get("memberships") {
            Some(Value::Null) | None => Vec::new(),
            Some(v) => ids_of(v)?,
        };
        for g in &memberships {
            if !self.groups.contains_key(g) {
                return Err(ApiError::not_found("User group", g));
            }
        }
        let t = now();
        let id = new_object_id();
        let mut extra = Map::new();
        for key in [
            "initials",
            "ldapdn",
            "trustId",
            "databaseAuthLogin",
            "passwordExpirationDate",
            "passwordExpirationFrequency",
            "passwordAutoExpire",
            "passwordModifiable",
            "standardAuth",
        ] {
            if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
                extra.insert(key.to_string(), v.clone());
            }
        }
        let user = UserRec {
            id: id.clone(),
            username,
            full_name,
            description: body
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            enabled: body.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            password: body
                .get("password")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            require_new_password: body
                .get("requireNewPassword")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            extra,
            privileges: BTreeSet::new(),
            addresses: body
                .get("defaultEmailAddress")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
                .map(|e| AddressRec {
                    id: new_object_id(),
                    name: "Default Email".to_string(),
                    value: e.to_string(),
                    is_default: true,
                })
                .into_iter()
                .collect(),
            created: t,
            modified: t,
        };
        self.users.insert(id.clone(), user);
        self.user_order.push(id.clone());
        for g in memberships {
            self.add_member(&g, &id)?;
        }
        Ok(id)
    }

    /// Applies a U4 `operationList`.
    pub fn patch_user(&mut self, id: &str, ops: &[PatchOp]) -> ApiResult<()> {
        if !self.users.contains_key(id) {
            return Err(ApiError::not_found("User", id));
        }
        // Validate everything first so a failing operation leaves the user unchanged.
        let mut staged = self
            .users
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("User", id))?;
        let mut member_changes: Vec<(bool, String)> = Vec::new();
        for op in ops {
            match (op.op.as_str(), op.path.as_str()) {
                (_, p) if p.starts_with("changeJournal") => {}
                ("replace", "username" | "abbreviation") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    let v = v.trim().to_string();
                    if v.is_empty() {
                        return Err(ApiError::invalid("The username cannot be empty"));
                    }
                    if self.login_taken(&v, Some(id)) {
                        return Err(ApiError::exists("User", &v));
                    }
                    staged.username = v;
                }
                ("replace", "fullName" | "name") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    if v.trim().is_empty() {
                        return Err(ApiError::invalid("The full name cannot be empty"));
                    }
                    staged.full_name = v;
                }
                ("replace", "description") => {
                    staged.description = as_str_value(&op.value, &op.path)?;
                }
                ("replace", "password") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    staged.password = (!v.is_empty()).then_some(v);
                }
                ("replace", "enabled") => staged.enabled = as_bool_value(&op.value, &op.path)?,
                ("replace", "requireNewPassword") => {
                    staged.require_new_password = as_bool_value(&op.value, &op.path)?;
                }
                (
                    "replace",
                    p @ ("initials"
                    | "ldapdn"
                    | "trustId"
                    | "passwordExpirationDate"
                    | "passwordModifiable"
                    | "passwordAutoExpire"
                    | "standardAuth"
                    | "passwordExpirationFrequency"
                    | "defaultTimezone"),
                ) => {
                    staged.extra.insert(p.to_string(), op.value.clone());
                }
                (o @ ("add" | "remove"), "memberships") => {
                    for g in ids_of(&op.value)? {
                        if !self.groups.contains_key(&g) {
                            return Err(ApiError::not_found("User group", &g));
                        }
                        member_changes.push((o == "add", g));
                    }
                }
                (o @ ("add" | "remove"), "privileges") => {
                    for p in ids_of(&op.value)? {
                        if o == "add" {
                            staged.privileges.insert(p);
                        } else {
                            staged.privileges.remove(&p);
                        }
                    }
                }
                (o, p) => {
                    return Err(ApiError::invalid(format!(
                        "Operation '{o}' on path '/{p}' is not supported for users"
                    )));
                }
            }
        }
        let disabled = !staged.enabled;
        staged.modified = now();
        self.users.insert(id.to_string(), staged);
        for (add, g) in member_changes {
            if add {
                self.add_member(&g, id)?;
            } else if g != EVERYONE_GROUP_ID {
                self.remove_member(&g, id)?;
            }
        }
        if disabled {
            self.end_sessions_of(id);
        }
        Ok(())
    }

    /// Adds a v1 address (`{name, deliveryMode, device, value, default|isDefault}`).
    pub fn add_address(&mut self, user: &str, body: &Value) -> ApiResult<()> {
        let address = parse_address(body, new_object_id())?;
        let u = self
            .users
            .get_mut(user)
            .ok_or_else(|| ApiError::not_found("User", user))?;
        if address.is_default {
            for a in &mut u.addresses {
                a.is_default = false;
            }
        }
        u.addresses.push(address);
        u.modified = now();
        Ok(())
    }

    /// Replaces a v1 address.
    pub fn update_address(&mut self, user: &str, id: &str, body: &Value) -> ApiResult<()> {
        let address = parse_address(body, id.to_string())?;
        let u = self
            .users
            .get_mut(user)
            .ok_or_else(|| ApiError::not_found("User", user))?;
        if !u.addresses.iter().any(|a| a.id == id) {
            return Err(ApiError::not_found("Address", id));
        }
        if address.is_default {
            for a in &mut u.addresses {
                a.is_default = false;
            }
        }
        for a in &mut u.addresses {
            if a.id == id {
                *a = address.clone();
            }
        }
        u.modified = now();
        Ok(())
    }

    /// Deletes a v1 address.
    pub fn delete_address(&mut self, user: &str, id: &str) -> ApiResult<()> {
        let u = self
            .users
            .get_mut(user)
            .ok_or_else(|| ApiError::not_found("User", user))?;
        let before = u.addresses.len();
        u.addresses.retain(|a| a.id != id);
        if u.addresses.len() == before {
            return Err(ApiError::not_found("Address", id));
        }
        u.modified = now();
        Ok(())
    }

    /// Deletes a user and every reference to it.
    pub fn delete_user(&mut self, id: &str) -> ApiResult<()> {
        if id == ADMINISTRATOR_USER_ID {
            return Err(ApiError::forbidden(
                "The built-in Administrator cannot be deleted",
            ));
        }
        if self.users.remove(id).is_none() {
            return Err(ApiError::not_found("User", id));
        }
        self.user_order.retain(|u| u != id);
        self.forget_principal(id);
        self.end_sessions_of(id);
        Ok(())
    }

    fn forget_principal(&mut self, id: &str) {
        for g in self.groups.values_mut() {
            g.members.retain(|m| m != id);
        }
        for r in self.roles.values_mut() {
            for members in r.members.values_mut() {
                members.retain(|m| m != id);
            }
        }
        self.api_tokens.retain(|_, u| u != id);
        self.identity_tokens.retain(|_, u| u != id);
    }

    /// Creates a group from a G3 body.
    pub fn create_group(&mut self, body: &Value) -> ApiResult<String> {
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing("name"))?
            .to_string();
        if self.group_name_taken(&name, None) {
            return Err(ApiError::exists("User group", &name));
        }
        let members = match body.get("members") {
            Some(Value::Null) | None => Vec::new(),
            Some(v) => ids_of(v)?,
        };
        let parents = match body.get("memberships").or_else(|| body.get("membership")) {
            Some(Value::Null) | None => Vec::new(),
            Some(v) => ids_of(v)?,
        };
        for m in &members {
            if !self.principal_exists(m) {
                return Err(ApiError::not_found("User or user group", m));
            }
        }
        for p in &parents {
            if !self.groups.contains_key(p) {
                return Err(ApiError::not_found("User group", p));
            }
        }
        let t = now();
        let id = new_object_id();
        let mut extra = Map::new();
        if let Some(v) = body.get("ldapdn").filter(|v| !v.is_null()) {
            extra.insert("ldapdn".to_string(), v.clone());
        }
        self.groups.insert(
            id.clone(),
            GroupRec {
                id: id.clone(),
                name,
                description: body
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                members: Vec::new(),
                extra,
                privileges: BTreeSet::new(),
                created: t,
                modified: t,
            },
        );
        self.group_order.push(id.clone());
        for m in members {
            self.add_member(&id, &m)?;
        }
        for p in parents {
            self.add_member(&p, &id)?;
        }
        Ok(id)
    }

    /// Applies a G4 `operationList`.
    pub fn patch_group(&mut self, id: &str, ops: &[PatchOp]) -> ApiResult<()> {
        let mut staged = self
            .groups
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("User group", id))?;
        let mut member_ops: Vec<(bool, String)> = Vec::new();
        let mut parent_ops: Vec<(bool, String)> = Vec::new();
        for op in ops {
            match (op.op.as_str(), op.path.as_str()) {
                (_, p) if p.starts_with("changeJournal") => {}
                ("replace", "name") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    let v = v.trim().to_string();
                    if v.is_empty() {
                        return Err(ApiError::invalid("The name cannot be empty"));
                    }
                    if self.group_name_taken(&v, Some(id)) {
                        return Err(ApiError::exists("User group", &v));
                    }
                    staged.name = v;
                }
                ("replace", "description") => {
                    staged.description = as_str_value(&op.value, &op.path)?;
                }
                ("replace", p @ ("ldapdn" | "abbreviation")) => {
                    staged.extra.insert(p.to_string(), op.value.clone());
                }
                (o @ ("add" | "remove"), "members") => {
                    for m in ids_of(&op.value)? {
                        if o == "add" && !self.principal_exists(&m) {
                            return Err(ApiError::not_found("User or user group", &m));
                        }
                        member_ops.push((o == "add", m));
                    }
                }
                (o @ ("add" | "remove"), "memberships" | "membership") => {
                    for p in ids_of(&op.value)? {
                        if !self.groups.contains_key(&p) {
                            return Err(ApiError::not_found("User group", &p));
                        }
                        parent_ops.push((o == "add", p));
                    }
                }
                (o @ ("add" | "remove"), "privileges") => {
                    for p in ids_of(&op.value)? {
                        if o == "add" {
                            staged.privileges.insert(p);
                        } else {
                            staged.privileges.remove(&p);
                        }
                    }
                }
                (o, p) => {
                    return Err(ApiError::invalid(format!(
                        "Operation '{o}' on path '/{p}' is not supported for user groups"
                    )));
                }
            }
        }
        staged.modified = now();
        self.groups.insert(id.to_string(), staged);
        for (add, m) in member_ops {
            if add {
                self.add_member(id, &m)?;
            } else {
                self.remove_member(id, &m)?;
            }
        }
        for (add, p) in parent_ops {
            if add {
                self.add_member(&p, id)?;
            } else {
                self.remove_member(&p, id)?;
            }
        }
        Ok(())
    }

    /// Deletes a group and every reference to it. Built-in groups cannot be deleted.
    pub fn delete_group(&mut self, id: &str) -> ApiResult<()> {
        if [
            EVERYONE_GROUP_ID,
            SYSTEM_ADMINISTRATORS_GROUP_ID,
            SYSTEM_MONITORS_GROUP_ID,
            PUBLIC_GROUP_ID,
        ]
        .contains(&id)
        {
            return Err(ApiError::forbidden(
                "Built-in user groups cannot be deleted",
            ));
        }
        if self.groups.remove(id).is_none() {
            return Err(ApiError::not_found("User group", id));
        }
        self.group_order.retain(|g| g != id);
        self.forget_principal(id);
        Ok(())
    }
}

// ----- JSON views ---------------------------------------------------------------------

impl Inner {
    /// The summary of a user as listings show it.
    pub fn user_summary(&self, u: &UserRec) -> Value {
        json!({
            "name": u.full_name,
            "id": u.id,
            "type": TYPE_USER_OR_GROUP,
            "subtype": SUBTYPE_USER,
            "abbreviation": u.username,
            "description": u.description,
            "dateCreated": ts(u.created),
            "dateModified": ts(u.modified),
            "version": version_of(u.modified),
            "acg": 255,
            "owner": owner(),
            "extType": 0,
            "username": u.username,
            "fullName": u.full_name,
            "enabled": u.enabled,
        })
    }

    /// The full user (U2).
    pub fn user_json(&self, u: &UserRec) -> Value {
        let mut v = self.user_summary(u);
        let memberships: Vec<Value> = self
            .parents_of(&u.id)
            .iter()
            .map(|g| json!({"name": g.name, "id": g.id}))
            .collect();
        if let Value::Object(map) = &mut v {
            map.insert(
                "ancestors".into(),
                json!([{"name": "Users", "id": "73F7482111D3596C60001B8F67019608", "level": 1}]),
            );
            map.insert("acl".into(), json!([]));
            map.insert("initials".into(), Value::from(initials(&u.full_name)));
            map.insert("passwordModifiable".into(), Value::from(true));
            map.insert(
                "requireNewPassword".into(),
                Value::from(u.require_new_password),
            );
            map.insert("standardAuth".into(), Value::from(true));
            map.insert("passwordAutoExpire".into(), Value::from(false));
            map.insert("passwordExpirationFrequency".into(), Value::from(0));
            map.insert("ldapdn".into(), Value::from(""));
            map.insert("trustId".into(), Value::from(""));
            map.insert("memberships".into(), Value::from(memberships));
            for (k, val) in &u.extra {
                map.insert(k.clone(), val.clone());
            }
            if let Some(a) = u.addresses.iter().find(|a| a.is_default) {
                map.insert("defaultEmailAddress".into(), Value::from(a.value.as_str()));
            }
        }
        v
    }

    /// The summary of a group as listings show it.
    pub fn group_summary(&self, g: &GroupRec) -> Value {
        json!({
            "name": g.name,
            "id": g.id,
            "type": TYPE_USER_OR_GROUP,
            "subtype": SUBTYPE_GROUP,
            "abbreviation": g.extra.get("abbreviation").cloned().unwrap_or(Value::from("")),
            "description": g.description,
            "dateCreated": ts(g.created),
            "dateModified": ts(g.modified),
            "version": version_of(g.modified),
            "acg": 255,
            "owner": owner(),
            "extType": 0,
        })
    }

    /// The full group (G2), members and parent groups included.
    pub fn group_json(&self, g: &GroupRec) -> Value {
        let mut v = self.group_summary(g);
        let members: Vec<Value> = self
            .members_of(&g.id)
            .iter()
            .filter_map(|m| self.principal_ref(m))
            .collect();
        let memberships: Vec<Value> = self
            .parents_of(&g.id)
            .iter()
            .map(|p| json!({"name": p.name, "id": p.id}))
            .collect();
        if let Value::Object(map) = &mut v {
            map.insert("ancestors".into(), json!([{"name": "User Groups", "id": "73F7482211D3596C60001B8F67019608", "level": 1}]));
            map.insert("acl".into(), json!([]));
            map.insert(
                "ldapdn".into(),
                g.extra.get("ldapdn").cloned().unwrap_or(Value::from("")),
            );
            map.insert("members".into(), Value::from(members));
            map.insert("memberships".into(), Value::from(memberships));
        }
        v
    }

    /// A user or group as a member entry (G6): the summary, users with login fields.
    pub fn member_entry(&self, id: &str) -> Option<Value> {
        if let Some(u) = self.users.get(id) {
            return Some(self.user_summary(u));
        }
        self.groups.get(id).map(|g| self.group_summary(g))
    }

    /// `{id, name, subType}` of a user or group, as role members and group members show.
    pub fn principal_ref(&self, id: &str) -> Option<Value> {
        if let Some(u) = self.users.get(id) {
            return Some(
                json!({"id": u.id, "name": u.full_name, "type": TYPE_USER_OR_GROUP, "subType": SUBTYPE_USER}),
            );
        }
        self.groups.get(id).map(
            |g| json!({"id": g.id, "name": g.name, "type": TYPE_USER_OR_GROUP, "subType": SUBTYPE_GROUP}),
        )
    }

    /// The summary of a security role (S1).
    pub fn role_summary(&self, r: &RoleRec) -> Value {
        json!({
            "name": r.name,
            "id": r.id,
            "type": TYPE_SECURITY_ROLE,
            "subtype": SUBTYPE_ROLE,
            "description": r.description,
            "dateCreated": ts(r.created),
            "dateModified": ts(r.modified),
            "version": version_of(r.modified),
            "acg": 255,
            "owner": owner(),
            "extType": 0,
        })
    }

    /// The full security role (S2): privileges (`name` before `id`, as the server writes
    /// them) and members per project, one entry per project.
    pub fn role_json(&self, r: &RoleRec) -> RoleBody {
        let mut common = match self.role_summary(r) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        common.insert("acl".into(), json!([]));
        let privileges = r
            .privileges
            .iter()
            .map(|p| PrivilegeOut {
                name: PRIVILEGES
                    .iter()
                    .find(|(id, _, _)| id == p)
                    .map_or("Privilege", |(_, n, _)| n)
                    .to_string(),
                id: p.clone(),
            })
            .collect();
        let projects = self
            .projects
            .iter()
            .map(|p| {
                let members: Vec<Value> = r
                    .members
                    .get(&p.id)
                    .map(|ms| ms.iter().filter_map(|m| self.principal_ref(m)).collect())
                    .unwrap_or_default();
                json!({"id": p.id, "name": p.name, "members": members})
            })
            .collect();
        RoleBody {
            common,
            privileges: Some(privileges),
            projects: Some(projects),
        }
    }

    /// A project (P1).
    pub fn project_json(&self, p: &ProjectRec) -> Value {
        json!({
            "id": p.id,
            "name": p.name,
            "alias": "",
            "description": p.description,
            "status": 0,
            "dateCreated": "2001-01-02T20:48:05.000+0000",
            "dateModified": ts(now()),
            "owner": owner(),
        })
    }

    /// Finds a project by id or name.
    pub fn project(&self, key: &str) -> Option<&ProjectRec> {
        self.projects
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(key) || p.name == key)
    }
}

fn initials(full_name: &str) -> String {
    full_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(3)
        .collect::<String>()
        .to_uppercase()
}

// ----- security roles -----------------------------------------------------------------

impl Inner {
    /// Creates a role from an S3 body.
    pub fn create_role(&mut self, body: &Value) -> ApiResult<String> {
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing("name"))?
            .to_string();
        if self
            .roles
            .values()
            .any(|r| r.name.eq_ignore_ascii_case(&name))
        {
            return Err(ApiError::exists("Security role", &name));
        }
        let privileges = match body.get("privileges") {
            Some(Value::Null) | None => Vec::new(),
            Some(v) => ids_of(v)?,
        };
        let t = now();
        let id = new_object_id();
        self.roles.insert(
            id.clone(),
            RoleRec {
                id: id.clone(),
                name,
                description: body
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                privileges: privileges.into_iter().collect(),
                members: BTreeMap::new(),
                created: t,
                modified: t,
            },
        );
        Ok(id)
    }

    /// Applies an S4 `operationList`.
    pub fn patch_role(&mut self, id: &str, ops: &[PatchOp]) -> ApiResult<()> {
        let mut staged = self
            .roles
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Security role", id))?;
        for op in ops {
            match (op.op.as_str(), op.path.as_str()) {
                (_, p) if p.starts_with("changeJournal") => {}
                ("replace", "name") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    if v.trim().is_empty() {
                        return Err(ApiError::invalid("The name cannot be empty"));
                    }
                    if self
                        .roles
                        .values()
                        .any(|r| r.id != id && r.name.eq_ignore_ascii_case(v.trim()))
                    {
                        return Err(ApiError::exists("Security role", &v));
                    }
                    staged.name = v.trim().to_string();
                }
                ("replace", "description") => {
                    staged.description = as_str_value(&op.value, &op.path)?;
                }
                (
                    o @ ("addelement" | "addelements" | "add" | "removeelement" | "removeelements"
                    | "remove" | "replace"),
                    "privileges",
                ) => {
                    let ids = ids_of(&op.value)?;
                    if o == "replace" {
                        staged.privileges = ids.into_iter().collect();
                    } else if o.starts_with("add") {
                        staged.privileges.extend(ids);
                    } else {
                        for p in ids {
                            staged.privileges.remove(&p);
                        }
                    }
                }
                (
                    o @ ("add" | "remove" | "replace" | "addelement" | "addelements"
                    | "removeelement" | "removeelements"),
                    "members",
                ) => {
                    let project = op
                        .value
                        .get("projectId")
                        .and_then(Value::as_str)
                        .ok_or_else(|| ApiError::missing("projectId"))?;
                    let project = self
                        .projects
                        .iter()
                        .find(|p| p.id.eq_ignore_ascii_case(project))
                        .map(|p| p.id.clone())
                        .ok_or_else(|| ApiError::not_found("Project", project))?;
                    let member_ids = ids_of(
                        op.value
                            .get("memberIds")
                            .ok_or_else(|| ApiError::missing("memberIds"))?,
                    )?;
                    for m in &member_ids {
                        if !self.principal_exists(m) {
                            return Err(ApiError::not_found("User or user group", m));
                        }
                    }
                    let list = staged.members.entry(project).or_default();
                    match o {
                        "add" | "addelement" | "addelements" => {
                            for m in member_ids {
                                if !list.contains(&m) {
                                    list.push(m);
                                }
                            }
                        }
                        "remove" | "removeelement" | "removeelements" => {
                            list.retain(|m| !member_ids.contains(m))
                        }
                        _ => *list = member_ids,
                    }
                }
                (o, p) => {
                    return Err(ApiError::invalid(format!(
                        "Operation '{o}' on path '/{p}' is not supported for security roles"
                    )));
                }
            }
        }
        staged.members.retain(|_, m| !m.is_empty());
        staged.modified = now();
        self.roles.insert(id.to_string(), staged);
        Ok(())
    }

    /// Deletes a role.
    pub fn delete_role(&mut self, id: &str) -> ApiResult<()> {
        self.roles
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found("Security role", id))
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
