//! The emulator's in-memory DSS: users (whole settings documents), groups (whole
//! definitions), projects (with their permissions documents), API keys and activity.
//!
//! Every operation runs under one lock, so each request is atomic; a PUT replaces a whole
//! document (last write wins, as on a real DSS), keeping every key the client sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use idbridge_testkit::emulator::ErrorBody;
use serde_json::{Map, Value, json};

use crate::wire::Doc;

mod auth;
mod bulk;
mod groups;
mod licence;
mod matrix;
mod projects;
mod users;

pub use licence::{DEFAULT_PROFILES, Licence};

/// The group names of a stored user document (the emulator's own data, always well formed).
pub(crate) fn groups_of(doc: &Doc) -> Vec<String> {
    match doc.get("groups") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `com.dataiku.dip.server.controllers.NotFoundException`: unknown user or group.
pub const NOT_FOUND: &str = "com.dataiku.dip.server.controllers.NotFoundException";
/// Unknown or missing API key.
pub const NOT_AUTHENTICATED: &str = "com.dataiku.dip.exceptions.NotAuthenticatedException";
/// A valid key without the rights.
pub const UNAUTHORIZED: &str = "com.dataiku.dip.exceptions.UnauthorizedException";
/// A bad value or a duplicate.
pub const ILLEGAL_ARGUMENT: &str = "com.dataiku.dip.exceptions.DSSIllegalArgumentException";

/// The global permission flags a new group carries (all false).
pub const GROUP_FLAGS: &[&str] = &[
    "admin",
    "mayCreateProjects",
    "mayCreateProjectsFromMacros",
    "mayCreateProjectsFromTemplates",
    "mayCreateProjectsFromDataikuApps",
    "mayWriteInRootProjectFolder",
    "mayCreateWorkspaces",
    "mayShareToWorkspaces",
    "mayCreateDataCollections",
    "mayPublishToDataCollections",
    "mayWriteSafeCode",
    "mayWriteUnsafeCode",
    "mayCreateActiveWebContent",
    "mayCreateCodeEnvs",
    "mayManageCodeEnvs",
    "mayCreateClusters",
    "mayManageClusters",
    "mayCreateCodeStudioTemplates",
    "mayManageCodeStudioTemplates",
    "mayCreateAuthenticatedConnections",
    "mayCreatePublishedAPIServices",
    "mayCreatePublishedProjects",
    "mayDevelopPlugins",
    "mayEditLibFolders",
    "mayManageUDM",
    "mayManageFeatureStore",
    "mayViewIndexedHiveConnections",
];

const EXTERNAL_GROUP_KEYS: &[&str] = &[
    "ldapGroupNames",
    "ssoGroupNames",
    "azureADGroupNames",
    "customGroupNames",
];

const SOURCE_TYPES: &[&str] = &[
    "LOCAL",
    "LDAP",
    "LOCAL_NO_AUTH",
    "AZURE_AD",
    "CUSTOM",
    "SAAS",
];

const PREFERENCE_FLAGS: &[&str] = &[
    "mentionEmails",
    "discussionEmails",
    "accessRequestEmails",
    "grantedAccessEmails",
    "grantedPluginRequestEmails",
    "pluginRequestEmails",
    "instanceAccessRequestsEmails",
    "profileUpgradeRequestsEmails",
    "codeEnvCreationRequestEmails",
    "grantedCodeEnvCreationRequestEmails",
    "dailyDigestsEmails",
    "offlineActivityEmails",
    "rememberPositionFlow",
    "loginLogoutNotifications",
    "watchedObjectsEditionsNotifications",
    "objectOnCurrentProjectCreatedDeletedNotifications",
    "anyObjectOnCurrentProjectEditedNotifications",
    "watchStarOnCurrentProjectNotifications",
    "otherUsersJobsTasksNotifications",
    "requestAccessNotifications",
    "scenarioRunNotifications",
];

/// What DSS's errors carry beyond status and message: the Java exception type. The body
/// is `{errorType, message, detailedMessage}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DssError(pub &'static str);

impl ErrorBody for DssError {
    fn body(&self, message: &str) -> Value {
        json!({
            "errorType": self.0,
            "message": message,
            "detailedMessage": format!("{}: {}", self.0, message),
        })
    }
}

/// An error answer: status, Java exception type and message.
pub type ApiError = idbridge_testkit::emulator::ApiError<DssError>;

/// Result of a state operation.
pub type ApiResult<T> = idbridge_testkit::emulator::ApiResult<T, DssError>;

/// The errors DSS answers most.
pub trait DssErrors {
    /// 404 for an unknown user, group or path.
    fn not_found(message: impl Into<String>) -> Self;
    /// 400 for a bad value.
    fn illegal(message: impl Into<String>) -> Self;
    /// 403 for a caller without the rights.
    fn unauthorized(message: impl Into<String>) -> Self;
}

impl DssErrors for ApiError {
    fn not_found(message: impl Into<String>) -> Self {
        ApiError::with(404, DssError(NOT_FOUND), message)
    }

    fn illegal(message: impl Into<String>) -> Self {
        ApiError::with(400, DssError(ILLEGAL_ARGUMENT), message)
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::with(403, DssError(UNAUTHORIZED), message)
    }
}

/// An API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id (what `/auth/info` names for a global key).
    pub id: String,
    /// The user a personal key acts as.
    pub user: Option<String>,
    /// Whether a global key has administrator rights.
    pub admin: bool,
}

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's id.
    pub key_id: String,
    /// The user, for a personal key or an impersonation.
    pub login: Option<String>,
    /// Whether the caller has administrator rights.
    pub admin: bool,
}

#[derive(Debug, Clone, Default)]
struct ActivityRec {
    last_successful_login: i64,
    last_failed_login: i64,
    last_session_activity: i64,
}

#[derive(Debug, Clone)]
struct Project {
    summary: Doc,
    permissions: Doc,
}

#[derive(Debug, Default)]
struct Inner {
    users: BTreeMap<String, Doc>,
    passwords: HashMap<String, String>,
    activity: HashMap<String, ActivityRec>,
    groups: BTreeMap<String, Doc>,
    projects: BTreeMap<String, Project>,
    keys: HashMap<String, ApiKey>,
    next_job: u64,
}

/// Switches that make the emulator imitate a particular server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Serve the bulk user endpoints and `includeSettings` (DSS 14.2+). Default true.
    pub bulk: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { bulk: true }
    }
}

/// The whole emulated instance.
#[derive(Debug)]
pub struct State {
    inner: Mutex<Inner>,
    settings: Settings,
    licence: Licence,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn obj(v: Value) -> Doc {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn str_list(v: Option<&Value>, what: &str) -> ApiResult<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::illegal(format!("`{what}` must hold strings")))
            })
            .collect(),
        Some(_) => Err(ApiError::illegal(format!("`{what}` must be a list"))),
    }
}

fn default_preferences() -> Value {
    let mut p = Map::new();
    p.insert("uiLanguage".into(), Value::String("en".into()));
    for f in PREFERENCE_FLAGS {
        p.insert((*f).into(), Value::Bool(true));
    }
    Value::Object(p)
}

/// Fills what a settings document always carries, so clients that index these keys work.
fn complete_user(doc: &mut Doc) {
    let defaults: [(&str, Value); 10] = [
        ("displayName", Value::String(String::new())),
        ("email", Value::Null),
        ("sourceType", Value::String("LOCAL".into())),
        ("userProfile", Value::String("DATA_SCIENTIST".into())),
        ("enabled", Value::Bool(true)),
        ("groups", Value::Array(Vec::new())),
        ("userProperties", json!({})),
        ("adminProperties", json!({})),
        ("secrets", json!([])),
        ("credentials", json!({})),
    ];
    for (k, v) in defaults {
        if doc.get(k).is_none_or(Value::is_null) && !(k == "email" && doc.contains_key(k)) {
            doc.insert(k.into(), v);
        }
    }
    if !doc.get("preferences").is_some_and(Value::is_object) {
        doc.insert("preferences".into(), default_preferences());
    }
    if !doc.contains_key("trialStatus") {
        doc.insert(
            "trialStatus".into(),
            json!({"exists": false, "expired": false, "valid": false, "expiresOn": 0, "grantedOn": 0}),
        );
    }
}

fn new_group(name: &str, description: Option<String>, source_type: &str) -> Doc {
    let mut g = Map::new();
    g.insert("name".into(), Value::String(name.into()));
    g.insert(
        "description".into(),
        description.map_or(Value::Null, Value::String),
    );
    g.insert("sourceType".into(), Value::String(source_type.into()));
    for f in GROUP_FLAGS {
        g.insert((*f).into(), Value::Bool(false));
    }
    for k in EXTERNAL_GROUP_KEYS {
        g.insert((*k).into(), json!([]));
    }
    g.insert(
        "canObtainAPITicketFromCookiesForGroupsRegex".into(),
        Value::String(String::new()),
    );
    g
}

/// External group mappings: arrays now, comma-separated strings on older DSS; both are
/// accepted and stored as arrays.
fn normalize_external_names(doc: &mut Doc) -> ApiResult<()> {
    for k in EXTERNAL_GROUP_KEYS {
        let list = match doc.get(*k) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
            Some(Value::Array(items)) => {
                if items.iter().any(|i| !i.is_string()) {
                    return Err(ApiError::illegal(format!("`{k}` must hold strings")));
                }
                items.clone()
            }
            Some(_) => return Err(ApiError::illegal(format!("`{k}` must be a list"))),
        };
        doc.insert((*k).into(), Value::Array(list));
    }
    Ok(())
}

fn check_flags(doc: &Doc, what: &str) -> ApiResult<()> {
    for (k, v) in doc {
        if crate::wire::is_global_flag(k) && !v.is_boolean() {
            return Err(ApiError::illegal(format!(
                "`{k}` of {what} must be a boolean"
            )));
        }
    }
    Ok(())
}

impl State {
    /// An empty instance (no key, user, group or project).
    pub fn new(settings: Settings) -> Self {
        State {
            inner: Mutex::new(Inner::default()),
            settings,
            licence: Licence::default(),
        }
    }

    /// The switches it was started with.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ----- seeding -------------------------------------------------------------------

    /// Adds an API key.
    pub fn seed_key(&self, key: &str, api_key: ApiKey) {
        self.lock().keys.insert(key.to_string(), api_key);
    }

    /// Adds (or replaces) a group with the given flags set to true.
    pub fn seed_group(&self, name: &str, description: Option<&str>, flags: &[&str]) {
        let mut g = new_group(name, description.map(str::to_string), "LOCAL");
        for f in flags {
            g.insert((*f).into(), Value::Bool(true));
        }
        self.lock().groups.insert(name.to_string(), g);
    }

    /// Sets global flags on an existing group (seeding).
    pub fn seed_group_flags(&self, name: &str, flags: &[String]) {
        if let Some(g) = self.lock().groups.get_mut(name) {
            for f in flags {
                g.insert(f.clone(), Value::Bool(true));
            }
        }
    }

    /// Adds (or replaces) a user from a partial settings document (defaults filled in).
    pub fn seed_user(&self, mut doc: Doc, last_login: i64) {
        complete_user(&mut doc);
        doc.entry("creationDate").or_insert(json!(now_ms()));
        let Some(login) = doc.get("login").and_then(Value::as_str).map(str::to_string) else {
            return;
        };
        let mut inner = self.lock();
        inner.activity.insert(
            login.clone(),
            ActivityRec {
                last_successful_login: last_login,
                last_failed_login: 0,
                last_session_activity: last_login,
            },
        );
        inner.users.insert(login, doc);
    }

    /// Adds `group` to the groups of the user `login` (seeding): in name order when
    /// `sorted`, else last; a group it has already is not added again.
    pub fn seed_user_group(&self, login: &str, group: &str, sorted: bool) {
        let mut inner = self.lock();
        let Some(doc) = inner.users.get_mut(login) else {
            return;
        };
        let mut groups = groups_of(doc);
        if groups.iter().any(|g| g == group) {
            return;
        }
        let at = if sorted {
            groups.partition_point(|g| g.as_str() < group)
        } else {
            groups.len()
        };
        groups.insert(at, group.to_string());
        crate::wire::set_user_groups(doc, &groups);
    }

    /// Adds (or replaces) a project with an owner and permission entries.
    pub fn seed_project(&self, key: &str, name: &str, owner: &str, entries: Vec<Value>) {
        let summary = obj(json!({"projectKey": key, "name": name, "owner": owner, "tags": []}));
        let permissions = obj(json!({
            "owner": owner,
            "permissions": entries,
            "additionalDashboardUsers": {"users": []},
            "dashboardAuthorizations": {"allAuthorized": false, "authorizations": []},
        }));
        self.lock().projects.insert(
            key.to_string(),
            Project {
                summary,
                permissions,
            },
        );
    }

    /// Whether a project exists.
    pub fn has_project(&self, key: &str) -> bool {
        self.lock().projects.contains_key(key)
    }

    /// Whether a group exists.
    pub fn has_group(&self, name: &str) -> bool {
        self.lock().groups.contains_key(name)
    }

    /// Sets flags on a project permission entry of a principal (seeding), adding it.
    pub fn seed_project_entry(&self, key: &str, principal: (&str, &str), flags: &[String]) {
        let mut inner = self.lock();
        let Some(p) = inner.projects.get_mut(key) else {
            return;
        };
        let list = p
            .permissions
            .entry("permissions")
            .or_insert_with(|| json!([]));
        let Value::Array(items) = list else {
            return;
        };
        let pos = items
            .iter()
            .position(|e| e.get(principal.0).and_then(Value::as_str) == Some(principal.1));
        let entry = match pos {
            Some(i) => &mut items[i],
            None => {
                items.push(json!({ principal.0: principal.1 }));
                let last = items.len() - 1;
                &mut items[last]
            }
        };
        if let Value::Object(e) = entry {
            for f in flags {
                e.insert(f.clone(), Value::Bool(true));
            }
        }
    }
}
