//! The emulator's in-memory DSS: users (whole settings documents), groups (whole
//! definitions), projects (with their permissions documents), API keys and activity.
//!
//! Every operation runs under one lock, so each request is atomic; a PUT replaces a whole
//! document (last write wins, as on a real DSS), keeping every key the client sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::wire::Doc;

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

/// An error answer: status, Java exception type and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The `errorType`.
    pub error_type: &'static str,
    /// The `message`.
    pub message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(status: u16, error_type: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error_type,
            message: message.into(),
        }
    }

    /// 404 for an unknown user, group or path.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, NOT_FOUND, message)
    }

    /// 400 for a bad value.
    pub fn illegal(message: impl Into<String>) -> Self {
        Self::new(400, ILLEGAL_ARGUMENT, message)
    }

    /// 403 for a caller without the rights.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(403, UNAUTHORIZED, message)
    }

    /// The JSON body DSS sends.
    pub fn body(&self) -> Value {
        json!({
            "errorType": self.error_type,
            "message": self.message,
            "detailedMessage": format!("{}: {}", self.error_type, self.message),
        })
    }
}

/// Result of a state operation.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

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

    // ----- authentication ----------------------------------------------------------------

    fn user_is_admin(inner: &Inner, login: &str) -> bool {
        inner.users.get(login).is_some_and(|u| {
            u.get("enabled").and_then(Value::as_bool) != Some(false)
                && crate::emulator::state::groups_of(u).iter().any(|g| {
                    inner
                        .groups
                        .get(g)
                        .and_then(|d| d.get("admin"))
                        .and_then(Value::as_bool)
                        == Some(true)
                })
        })
    }

    /// Resolves a key (and an optional impersonated user) to a caller.
    ///
    /// # Errors
    /// 401 for an unknown key or a key whose user is gone or disabled; 403 when a
    /// non-administrator impersonates; 404 for an unknown impersonated user.
    pub fn authenticate(&self, key: &str, proxy_user: Option<&str>) -> ApiResult<Caller> {
        let inner = self.lock();
        let Some(k) = inner.keys.get(key) else {
            return Err(ApiError::new(401, NOT_AUTHENTICATED, "Unknown API Key"));
        };
        let mut caller = match &k.user {
            Some(login) => {
                let Some(u) = inner.users.get(login) else {
                    return Err(ApiError::new(
                        401,
                        NOT_AUTHENTICATED,
                        "The user of this API key does not exist any more",
                    ));
                };
                if u.get("enabled").and_then(Value::as_bool) == Some(false) {
                    return Err(ApiError::new(
                        401,
                        NOT_AUTHENTICATED,
                        "The user of this API key is disabled",
                    ));
                }
                Caller {
                    key_id: k.id.clone(),
                    login: Some(login.clone()),
                    admin: Self::user_is_admin(&inner, login),
                }
            }
            None => Caller {
                key_id: k.id.clone(),
                login: None,
                admin: k.admin,
            },
        };
        if let Some(proxy) = proxy_user.filter(|p| !p.is_empty()) {
            if !caller.admin {
                return Err(ApiError::unauthorized(
                    "Only administrators may impersonate other users",
                ));
            }
            if !inner.users.contains_key(proxy) {
                return Err(ApiError::not_found(format!("User {proxy} not found")));
            }
            caller = Caller {
                key_id: caller.key_id,
                login: Some(proxy.to_string()),
                admin: Self::user_is_admin(&inner, proxy),
            };
        }
        Ok(caller)
    }

    /// `GET /auth/info`.
    pub fn auth_info(&self, caller: &Caller) -> Value {
        let inner = self.lock();
        match &caller.login {
            Some(login) => {
                let groups = inner
                    .users
                    .get(login)
                    .map(crate::emulator::state::groups_of)
                    .unwrap_or_default();
                json!({
                    "authIdentifier": login,
                    "groups": groups,
                    "userProfile": inner.users.get(login).and_then(|u| u.get("userProfile")).cloned(),
                    "secrets": [],
                })
            }
            None => json!({"authIdentifier": caller.key_id}),
        }
    }

    // ----- users ---------------------------------------------------------------------

    fn user_summary(inner: &Inner, doc: &Doc) -> Value {
        let login = doc.get("login").cloned().unwrap_or(Value::Null);
        json!({
            "login": login,
            "displayName": doc.get("displayName").cloned().unwrap_or(Value::Null),
            "email": doc.get("email").cloned().unwrap_or(Value::Null),
            "groups": doc.get("groups").cloned().unwrap_or(json!([])),
            "sourceType": doc.get("sourceType").cloned().unwrap_or(Value::Null),
            "userProfile": doc.get("userProfile").cloned().unwrap_or(Value::Null),
            "enabled": doc.get("enabled").cloned().unwrap_or(Value::Bool(true)),
            "codeAllowed": login.as_str().is_some_and(|l| Self::user_is_admin(inner, l)),
            "objectImgHash": 0,
            "activeWebSocketSesssions": 0,
            "trialStatus": doc.get("trialStatus").cloned().unwrap_or(Value::Null),
        })
    }

    /// `GET /admin/users/`: list items, or whole settings with `includeSettings` on a
    /// server that has it.
    pub fn list_users(&self, include_settings: bool) -> Vec<Value> {
        let inner = self.lock();
        inner
            .users
            .values()
            .map(|d| {
                if include_settings && self.settings.bulk {
                    Value::Object(d.clone())
                } else {
                    Self::user_summary(&inner, d)
                }
            })
            .collect()
    }

    /// `GET /admin/users/{login}`.
    ///
    /// # Errors
    /// 404 for an unknown login.
    pub fn get_user(&self, login: &str) -> ApiResult<Doc> {
        self.lock()
            .users
            .get(login)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("User {login} not found")))
    }

    /// `GET /users/{login}` (basic info).
    ///
    /// # Errors
    /// 404 for an unknown login.
    pub fn user_info(&self, login: &str) -> ApiResult<Value> {
        let d = self.get_user(login)?;
        Ok(json!({
            "login": d.get("login"),
            "displayName": d.get("displayName"),
            "groups": d.get("groups"),
            "email": d.get("email"),
            "enabled": d.get("enabled"),
        }))
    }

    /// `GET /users`.
    pub fn users_info(&self) -> Vec<Value> {
        let logins: Vec<String> = self.lock().users.keys().cloned().collect();
        logins
            .iter()
            .filter_map(|l| self.user_info(l).ok())
            .collect()
    }

    fn check_groups_exist(inner: &Inner, groups: &[String]) -> ApiResult<()> {
        for g in groups {
            if !inner.groups.contains_key(g) {
                return Err(ApiError::illegal(format!("Group {g} does not exist")));
            }
        }
        Ok(())
    }

    fn create_user_locked(inner: &mut Inner, body: &Doc) -> ApiResult<String> {
        let login = body
            .get("login")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| ApiError::illegal("A login is required"))?
            .to_string();
        if inner.users.contains_key(&login) {
            return Err(ApiError::illegal(format!("User {login} already exists")));
        }
        let source_type = body
            .get("sourceType")
            .and_then(Value::as_str)
            .unwrap_or("LOCAL")
            .to_string();
        if !SOURCE_TYPES.contains(&source_type.as_str()) {
            return Err(ApiError::illegal(format!(
                "Invalid sourceType: {source_type}"
            )));
        }
        let profile = body
            .get("userProfile")
            .and_then(Value::as_str)
            .unwrap_or("DATA_SCIENTIST")
            .to_string();
        if profile.trim().is_empty() {
            return Err(ApiError::illegal("Invalid userProfile"));
        }
        let groups = str_list(body.get("groups"), "groups")?;
        Self::check_groups_exist(inner, &groups)?;
        let email = match body.get("email") {
            None | Some(Value::Null) => Value::Null,
            Some(Value::String(s)) => Value::String(s.clone()),
            Some(_) => return Err(ApiError::illegal("`email` must be a string")),
        };
        let mut doc = obj(json!({
            "login": login,
            "displayName": body.get("displayName").and_then(Value::as_str).unwrap_or(""),
            "email": email,
            "sourceType": source_type,
            "userProfile": profile,
            "enabled": true,
            "groups": groups,
            "creationDate": now_ms(),
        }));
        complete_user(&mut doc);
        if let Some(Value::String(pw)) = body.get("password") {
            inner.passwords.insert(login.clone(), pw.clone());
        }
        inner.activity.insert(login.clone(), ActivityRec::default());
        inner.users.insert(login.clone(), doc);
        Ok(login)
    }

    /// `POST /admin/users/`.
    ///
    /// # Errors
    /// 400 for a missing login, a duplicate, a bad source type or an unknown group.
    pub fn create_user(&self, body: &Doc) -> ApiResult<String> {
        Self::create_user_locked(&mut self.lock(), body)
    }

    fn replace_user_locked(inner: &mut Inner, login: &str, mut body: Doc) -> ApiResult<()> {
        if !inner.users.contains_key(login) {
            return Err(ApiError::not_found(format!("User {login} not found")));
        }
        match body.get("login") {
            None => {
                body.insert("login".into(), Value::String(login.into()));
            }
            Some(Value::String(l)) if l == login => {}
            Some(_) => return Err(ApiError::illegal("The login of a user cannot be changed")),
        }
        if body.get("enabled").is_some_and(|v| !v.is_boolean()) {
            return Err(ApiError::illegal("`enabled` must be a boolean"));
        }
        let groups = str_list(body.get("groups"), "groups")?;
        Self::check_groups_exist(inner, &groups)?;
        if let Some(st) = body.get("sourceType").and_then(Value::as_str)
            && !SOURCE_TYPES.contains(&st)
        {
            return Err(ApiError::illegal(format!("Invalid sourceType: {st}")));
        }
        match body.remove("password") {
            Some(Value::String(pw)) if !pw.is_empty() => {
                inner.passwords.insert(login.to_string(), pw);
            }
            _ => {}
        }
        let created = inner
            .users
            .get(login)
            .and_then(|u| u.get("creationDate").cloned());
        complete_user(&mut body);
        if let Some(c) = created {
            body.entry("creationDate").or_insert(c);
        }
        inner.users.insert(login.to_string(), body);
        Ok(())
    }

    /// `PUT /admin/users/{login}`: whole-document replace, unknown keys kept, `password`
    /// taken out.
    ///
    /// # Errors
    /// 404 for an unknown login; 400 for a changed login, bad types or an unknown group.
    pub fn replace_user(&self, login: &str, body: Doc) -> ApiResult<()> {
        Self::replace_user_locked(&mut self.lock(), login, body)
    }

    /// `PUT /current-user`: the caller changes what a user may change on itself.
    ///
    /// # Errors
    /// 404 when the caller is not a user.
    pub fn save_own_settings(&self, login: &str, body: &Doc) -> ApiResult<()> {
        let mut inner = self.lock();
        let user = inner
            .users
            .get_mut(login)
            .ok_or_else(|| ApiError::not_found(format!("User {login} not found")))?;
        for k in [
            "userProperties",
            "secrets",
            "credentials",
            "preferences",
            "displayName",
        ] {
            if let Some(v) = body.get(k) {
                user.insert(k.into(), v.clone());
            }
        }
        Ok(())
    }

    fn delete_user_locked(
        inner: &mut Inner,
        caller: &Caller,
        login: &str,
        allow_self: bool,
    ) -> ApiResult<()> {
        if !inner.users.contains_key(login) {
            return Err(ApiError::not_found(format!("User {login} not found")));
        }
        if caller.login.as_deref() == Some(login) && !allow_self {
            return Err(ApiError::unauthorized(
                "Refusing to delete the user this API key acts as (allowSelfDeletion is false)",
            ));
        }
        inner.users.remove(login);
        inner.passwords.remove(login);
        inner.activity.remove(login);
        inner.keys.retain(|_, k| k.user.as_deref() != Some(login));
        Ok(())
    }

    /// `DELETE /admin/users/{login}`.
    ///
    /// # Errors
    /// 404 for an unknown login; 403 when deleting the caller itself without
    /// `allowSelfDeletion`.
    pub fn delete_user(&self, caller: &Caller, login: &str, allow_self: bool) -> ApiResult<()> {
        Self::delete_user_locked(&mut self.lock(), caller, login, allow_self)
    }

    /// A stored password, for tests.
    pub fn password_of(&self, login: &str) -> Option<String> {
        self.lock().passwords.get(login).cloned()
    }

    /// Whether a sign-in to the DSS login page as `login` with `password` succeeds, as DSS
    /// decides it: only for an enabled `LOCAL` account with a password, and only with that
    /// password (never an empty one). Accounts of another source type sign in through
    /// their directory or single sign-on, never with a DSS password.
    pub fn can_sign_in(&self, login: &str, password: &str) -> bool {
        let inner = self.lock();
        let Some(doc) = inner.users.get(login) else {
            return false;
        };
        let local = doc.get("sourceType").and_then(Value::as_str) == Some("LOCAL");
        let enabled = doc.get("enabled").and_then(Value::as_bool) == Some(true);
        local
            && enabled
            && !password.is_empty()
            && inner.passwords.get(login).is_some_and(|p| p == password)
    }

    fn activity_json(login: &str, a: &ActivityRec) -> Value {
        json!({
            "login": login,
            "lastSuccessfulLogin": a.last_successful_login,
            "lastFailedLogin": a.last_failed_login,
            "lastSessionActivity": a.last_session_activity,
        })
    }

    /// `GET /admin/users/{login}/activity`.
    ///
    /// # Errors
    /// 404 for an unknown login.
    pub fn activity(&self, login: &str) -> ApiResult<Value> {
        let inner = self.lock();
        if !inner.users.contains_key(login) {
            return Err(ApiError::not_found(format!("User {login} not found")));
        }
        let a = inner.activity.get(login).cloned().unwrap_or_default();
        Ok(Self::activity_json(login, &a))
    }

    /// `GET /admin/users-activity`.
    pub fn all_activity(&self, enabled_only: bool) -> Vec<Value> {
        let inner = self.lock();
        inner
            .users
            .iter()
            .filter(|(_, u)| {
                !enabled_only || u.get("enabled").and_then(Value::as_bool) != Some(false)
            })
            .map(|(l, _)| {
                Self::activity_json(l, &inner.activity.get(l).cloned().unwrap_or_default())
            })
            .collect()
    }

    // ----- bulk (14.2+) ----------------------------------------------------------------

    fn bulk_item(login: &str, outcome: ApiResult<()>) -> Value {
        match outcome {
            Ok(()) => json!({"login": login, "status": "SUCCESS", "error": ""}),
            Err(e) => json!({"login": login, "status": "FAILURE", "error": e.message}),
        }
    }

    fn login_of(v: &Value) -> String {
        v.get("login")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// `POST /admin/users/actions/bulk`.
    pub fn bulk_create(&self, items: &[Value]) -> Vec<Value> {
        let mut inner = self.lock();
        items
            .iter()
            .map(|item| {
                let login = Self::login_of(item);
                let outcome = match item {
                    Value::Object(body) => Self::create_user_locked(&mut inner, body).map(drop),
                    _ => Err(ApiError::illegal("each item must be an object")),
                };
                Self::bulk_item(&login, outcome)
            })
            .collect()
    }

    /// `PUT /admin/users/actions/bulk`: each item is merged into the user's settings.
    pub fn bulk_edit(&self, items: &[Value]) -> Vec<Value> {
        let mut inner = self.lock();
        items
            .iter()
            .map(|item| {
                let login = Self::login_of(item);
                let outcome = match (item, inner.users.get(&login).cloned()) {
                    (Value::Object(_), None) => {
                        Err(ApiError::not_found(format!("User {login} does not exist")))
                    }
                    (Value::Object(changes), Some(mut doc)) => {
                        for (k, v) in changes {
                            doc.insert(k.clone(), v.clone());
                        }
                        Self::replace_user_locked(&mut inner, &login, doc)
                    }
                    _ => Err(ApiError::illegal("each item must be an object")),
                };
                Self::bulk_item(&login, outcome)
            })
            .collect()
    }

    /// `DELETE /admin/users/actions/bulk`.
    pub fn bulk_delete(&self, caller: &Caller, items: &[Value], allow_self: bool) -> Vec<Value> {
        let mut inner = self.lock();
        items
            .iter()
            .map(|item| {
                let login = item.as_str().unwrap_or_default().to_string();
                let outcome = match Self::delete_user_locked(&mut inner, caller, &login, allow_self)
                {
                    Err(e) if e.status == 404 => {
                        Err(ApiError::not_found(format!("User {login} does not exist")))
                    }
                    other => other,
                };
                Self::bulk_item(&login, outcome)
            })
            .collect()
    }

    // ----- groups --------------------------------------------------------------------

    /// `GET /admin/groups/`: whole definitions.
    pub fn list_groups(&self) -> Vec<Value> {
        self.lock()
            .groups
            .values()
            .map(|g| Value::Object(g.clone()))
            .collect()
    }

    /// `GET /groups`.
    pub fn groups_info(&self) -> Vec<Value> {
        self.lock()
            .groups
            .values()
            .map(|g| json!({"name": g.get("name"), "description": g.get("description")}))
            .collect()
    }

    /// `GET /admin/groups/{name}`.
    ///
    /// # Errors
    /// 404 for an unknown group.
    pub fn get_group(&self, name: &str) -> ApiResult<Doc> {
        self.lock()
            .groups
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Group {name} not found")))
    }

    /// `POST /admin/groups/` with `{name, description, sourceType}`.
    ///
    /// # Errors
    /// 400 for a missing name, a duplicate or a bad source type.
    pub fn create_group(&self, body: &Doc) -> ApiResult<String> {
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::illegal("A group name is required"))?
            .to_string();
        let source = body
            .get("sourceType")
            .and_then(Value::as_str)
            .unwrap_or("LOCAL");
        if !SOURCE_TYPES.contains(&source) {
            return Err(ApiError::illegal(format!("Invalid sourceType: {source}")));
        }
        let description = match body.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ApiError::illegal("`description` must be a string")),
        };
        let mut inner = self.lock();
        if inner.groups.contains_key(&name) {
            return Err(ApiError::illegal(format!("Group {name} already exists")));
        }
        inner
            .groups
            .insert(name.clone(), new_group(&name, description, source));
        Ok(name)
    }

    /// `PUT /admin/groups/{name}`: whole-definition replace, unknown keys kept.
    ///
    /// # Errors
    /// 404 for an unknown group; 400 for a rename or bad flag types.
    pub fn replace_group(&self, name: &str, mut body: Doc) -> ApiResult<()> {
        let mut inner = self.lock();
        if !inner.groups.contains_key(name) {
            return Err(ApiError::not_found(format!("Group {name} not found")));
        }
        match body.get("name") {
            None => {
                body.insert("name".into(), Value::String(name.into()));
            }
            Some(Value::String(n)) if n == name => {}
            Some(_) => return Err(ApiError::illegal("A group cannot be renamed")),
        }
        check_flags(&body, "a group")?;
        normalize_external_names(&mut body)?;
        inner.groups.insert(name.to_string(), body);
        Ok(())
    }

    /// `DELETE /admin/groups/{name}`: also removes the name from users and project
    /// permissions.
    ///
    /// # Errors
    /// 404 for an unknown group.
    pub fn delete_group(&self, name: &str) -> ApiResult<()> {
        let mut inner = self.lock();
        if inner.groups.remove(name).is_none() {
            return Err(ApiError::not_found(format!("Group {name} not found")));
        }
        for user in inner.users.values_mut() {
            let groups: Vec<String> = crate::emulator::state::groups_of(user)
                .into_iter()
                .filter(|g| g != name)
                .collect();
            crate::wire::set_user_groups(user, &groups);
        }
        for p in inner.projects.values_mut() {
            if let Some(Value::Array(items)) = p.permissions.get_mut("permissions") {
                items.retain(|e| e.get("group").and_then(Value::as_str) != Some(name));
            }
        }
        Ok(())
    }

    // ----- projects ------------------------------------------------------------------

    /// `GET /projects/`.
    pub fn list_projects(&self) -> Vec<Value> {
        self.lock()
            .projects
            .values()
            .map(|p| Value::Object(p.summary.clone()))
            .collect()
    }

    /// `POST /projects/`.
    ///
    /// # Errors
    /// 400 for a missing or taken key.
    pub fn create_project(&self, body: &Doc, caller: &Caller) -> ApiResult<String> {
        let key = body
            .get("projectKey")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ApiError::illegal("A projectKey is required"))?
            .to_string();
        if self.has_project(&key) {
            return Err(ApiError::illegal(format!("Project {key} already exists")));
        }
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&key)
            .to_string();
        let owner = body
            .get("owner")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| caller.login.clone())
            .unwrap_or_default();
        let entries = match body.get("permissions") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        self.seed_project(&key, &name, &owner, entries);
        Ok(key)
    }

    fn project_missing(key: &str) -> ApiError {
        // What DSS is reported to answer for an unknown (or inaccessible) project.
        ApiError::unauthorized(format!(
            "Failed to read project permissions: no project {key}"
        ))
    }

    /// `GET /projects/{key}/permissions`.
    ///
    /// # Errors
    /// 403 (`UnauthorizedException`) for an unknown project.
    pub fn permissions(&self, key: &str) -> ApiResult<Doc> {
        self.lock()
            .projects
            .get(key)
            .map(|p| p.permissions.clone())
            .ok_or_else(|| Self::project_missing(key))
    }

    /// `PUT /projects/{key}/permissions`: whole-document replace, unknown keys kept.
    ///
    /// # Errors
    /// 403 for an unknown project; 400 for entries without exactly one of `group` and
    /// `user`, or flags that are not booleans.
    pub fn replace_permissions(&self, key: &str, body: Doc) -> ApiResult<()> {
        let mut inner = self.lock();
        let Some(p) = inner.projects.get_mut(key) else {
            return Err(Self::project_missing(key));
        };
        match body.get("permissions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for e in items {
                    let Value::Object(e) = e else {
                        return Err(ApiError::illegal("each permission must be an object"));
                    };
                    let g = e
                        .get("group")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty());
                    let u = e
                        .get("user")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty());
                    if g.is_some() == u.is_some() {
                        return Err(ApiError::illegal(
                            "each permission names exactly one of `group` and `user`",
                        ));
                    }
                    for (k, v) in e {
                        if k != "group" && k != "user" && !v.is_boolean() && !v.is_null() {
                            return Err(ApiError::illegal(format!(
                                "permission flag `{k}` must be a boolean"
                            )));
                        }
                    }
                }
            }
            Some(_) => return Err(ApiError::illegal("`permissions` must be a list")),
        }
        if let Some(owner) = body.get("owner").and_then(Value::as_str) {
            p.summary
                .insert("owner".into(), Value::String(owner.into()));
        }
        p.permissions = body;
        Ok(())
    }

    // ----- authorization matrix, futures ------------------------------------------------

    /// `GET /admin/authorization-matrix`: per enabled user and per group, the effective
    /// global flags and the project flags.
    pub fn authorization_matrix(&self) -> Value {
        let inner = self.lock();
        let global_of = |doc: &Doc| -> Map<String, Value> {
            GROUP_FLAGS
                .iter()
                .map(|f| {
                    (
                        (*f).to_string(),
                        Value::Bool(doc.get(*f).and_then(Value::as_bool) == Some(true)),
                    )
                })
                .collect()
        };
        let project_of = |principal: (&str, &str)| -> Map<String, Value> {
            inner
                .projects
                .iter()
                .filter_map(|(k, p)| {
                    let items = p.permissions.get("permissions")?.as_array()?;
                    let e = items.iter().find(|e| {
                        e.get(principal.0).and_then(Value::as_str) == Some(principal.1)
                    })?;
                    Some((k.clone(), e.clone()))
                })
                .collect()
        };
        let mut per_group = Map::new();
        for (name, g) in &inner.groups {
            per_group.insert(
                name.clone(),
                json!({
                    "globalPermissions": global_of(g),
                    "projectPermissions": project_of(("group", name)),
                }),
            );
        }
        let mut per_user = Map::new();
        for (login, u) in &inner.users {
            if u.get("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let mut global: Map<String, Value> = GROUP_FLAGS
                .iter()
                .map(|f| ((*f).to_string(), Value::Bool(false)))
                .collect();
            for g in crate::emulator::state::groups_of(u) {
                if let Some(gd) = inner.groups.get(&g) {
                    for (f, v) in global_of(gd) {
                        if v == Value::Bool(true) {
                            global.insert(f, v);
                        }
                    }
                }
            }
            per_user.insert(
                login.clone(),
                json!({
                    "groups": u.get("groups"),
                    "globalPermissions": global,
                    "projectPermissions": project_of(("user", login)),
                }),
            );
        }
        json!({"perUser": per_user, "perGroup": per_group})
    }

    /// A future that has already finished with `result`.
    pub fn finished_future(&self, result: Value) -> Value {
        let mut inner = self.lock();
        inner.next_job += 1;
        json!({
            "jobId": format!("emulated-{}", inner.next_job),
            "hasResult": true,
            "alive": false,
            "result": result,
            "progress": {"states": []},
        })
    }
}
