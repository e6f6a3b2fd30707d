//! The emulated Squirro's in-memory state and its rules: one tenant with users, groups,
//! projects and their members, sessions (grants and logins) and access tokens.
//!
//! Every operation returns the JSON the real server would, or an [`ApiError`] with the
//! status and `error` message the routes send back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use idbridge_testkit::emulator::ErrorBody;
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::config::{PROJECT_ROLES, SERVER_ROLES};
use crate::roles::{project_role_privileges, server_role_privileges};
use crate::users::is_email;

mod groups;
mod index;
mod projects;
pub mod role_updates;
mod sessions;
mod tokens;
mod users;

/// What Squirro's errors carry beyond status and message: nothing; the body is
/// `{"error": message}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SquirroError;

impl ErrorBody for SquirroError {
    fn body(&self, message: &str) -> Value {
        json!({ "error": message })
    }
}

/// An error answer: status and the `error` message.
pub type ApiError = idbridge_testkit::emulator::ApiError<SquirroError>;

/// Shorthand for results of state operations.
pub type ApiResult<T> = idbridge_testkit::emulator::ApiResult<T, SquirroError>;

/// Who is calling, from a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's id.
    pub user_id: String,
    /// The session the token belongs to.
    pub session_id: String,
    /// The user's server role.
    pub role: String,
}

impl Caller {
    /// Whether the caller is a tenant administrator.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// A user record. `Debug` leaves the password out.
#[derive(Clone)]
pub struct EUser {
    /// The 22-character id.
    pub id: String,
    /// The e-mail address (the login).
    pub email: String,
    /// The display name.
    pub full_name: Option<String>,
    /// The server role.
    pub role: String,
    /// The password, for the password grant.
    pub password: Option<String>,
    /// Custom values set through the user-data update.
    pub custom: Map<String, Value>,
}

impl std::fmt::Debug for EUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("full_name", &self.full_name)
            .field("role", &self.role)
            .field("custom", &self.custom)
            .finish_non_exhaustive()
    }
}

/// A group record.
#[derive(Debug, Clone)]
pub struct EGroup {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// Member user ids, in insertion order.
    pub members: Vec<String>,
}

/// A project member.
#[derive(Debug, Clone)]
pub struct EMember {
    /// The user or group id.
    pub member_id: String,
    /// Whether the member is a group.
    pub is_group: bool,
    /// `reader`, `member`, `admin` or `owner`.
    pub role: String,
}

/// A project (topic API) and its members (user API).
#[derive(Debug, Clone)]
pub struct EProject {
    /// The id.
    pub id: String,
    /// The title (its name).
    pub title: String,
    /// The description.
    pub description: Option<String>,
    /// `normal` or `monitoring`.
    pub project_type: String,
    /// Members with their project roles.
    pub members: Vec<EMember>,
}

/// A session: a grant (`user` or `service`) or a password login (`login`). `Debug` leaves
/// the refresh token out.
#[derive(Clone)]
pub struct ESession {
    /// The id (also the grant id).
    pub id: String,
    /// The user's id.
    pub user_id: String,
    /// `user`, `service` or `login`.
    pub kind: String,
    /// The refresh token.
    pub refresh_token: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Until when the refresh token is valid.
    pub valid_to: DateTime<Utc>,
    /// When it was last used by a token exchange.
    pub last_used: Option<DateTime<Utc>>,
    /// The client id of the service the token is for.
    pub for_client_id: Option<String>,
    /// The token scope (`*` when unrestricted).
    pub project_permissions: Vec<String>,
    /// Deleted: its refresh token now gets 410 and the session is no longer shown.
    pub revoked: bool,
}

impl std::fmt::Debug for ESession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ESession")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("created_at", &self.created_at)
            .field("valid_to", &self.valid_to)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct AccessToken {
    session_id: String,
    user_id: String,
    expires: Instant,
}

/// The emulator's fixed knobs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The tenant domain.
    pub tenant: String,
    /// How long an access token is valid.
    pub access_token_ttl: Duration,
    /// The minimum password length the password policy demands.
    pub min_password_length: usize,
}

#[derive(Default)]
struct Inner {
    users: Vec<EUser>,
    /// Positions in `users` by id: every request looks a user up at least once, and a
    /// scan per request would make the emulator, not the latency, the bottleneck of a
    /// large run.
    user_positions: HashMap<String, usize>,
    /// User ids by e-mail address.
    emails: index::Names,
    groups: Vec<EGroup>,
    /// Positions in `groups` by id.
    group_positions: HashMap<String, usize>,
    /// Group ids by name.
    group_names: index::Names,
    /// The groups each user is in: a user's answer lists its groups, and a scan of every
    /// group's members per user would make listing users quadratic.
    groups_of: index::GroupsOf,
    projects: Vec<EProject>,
    sessions: Vec<ESession>,
    tokens: HashMap<String, AccessToken>,
    role_updates: role_updates::RoleUpdates,
}

impl Inner {
    fn user_position(&self, id: &str) -> Option<usize> {
        self.user_positions.get(id).copied()
    }

    fn user(&self, id: &str) -> Option<&EUser> {
        self.user_position(id).and_then(|i| self.users.get(i))
    }

    fn user_mut(&mut self, id: &str) -> Option<&mut EUser> {
        self.user_position(id).and_then(|i| self.users.get_mut(i))
    }

    fn push_user(&mut self, user: EUser) {
        self.user_positions
            .insert(user.id.clone(), self.users.len());
        self.emails.add(&user.email, &user.id);
        self.users.push(user);
    }

    /// The first user (in listing order) with this e-mail address, in any ASCII case, that
    /// also passes `also`.
    fn user_by_email(&self, email: &str, also: impl Fn(&EUser) -> bool) -> Option<&EUser> {
        let mut found: Vec<usize> = self
            .emails
            .ids(email)
            .iter()
            .filter_map(|id| self.user_position(id))
            .collect();
        found.sort_unstable();
        found
            .into_iter()
            .filter_map(|i| self.users.get(i))
            .find(|u| also(u))
    }

    fn group_position(&self, id: &str) -> Option<usize> {
        self.group_positions.get(id).copied()
    }

    fn group(&self, id: &str) -> Option<&EGroup> {
        self.group_position(id).and_then(|i| self.groups.get(i))
    }

    /// Adds a group, its members as they are.
    fn push_group(&mut self, group: EGroup) {
        self.group_positions
            .insert(group.id.clone(), self.groups.len());
        self.group_names.add(&group.name, &group.id);
        for m in &group.members {
            self.groups_of.add(&group.id, m);
        }
        self.groups.push(group);
    }

    /// Adds `user` to the group at `idx` unless it is there.
    fn add_to_group(&mut self, idx: usize, user: &str) {
        let Some(group) = self.groups.get_mut(idx) else {
            return;
        };
        if !self.groups_of.contains(&group.id, user) {
            group.members.push(user.to_string());
            self.groups_of.add(&group.id, user);
        }
    }

    /// Whether `user` is a member of the group `group`.
    fn in_group(&self, group: &str, user: &str) -> bool {
        self.groups_of.contains(group, user)
    }

    /// The groups `user` is in, in listing order.
    fn groups_of_user(&self, user: &str) -> Vec<&EGroup> {
        let mut at: Vec<usize> = self
            .groups_of
            .of(user)
            .filter_map(|g| self.group_position(g))
            .collect();
        at.sort_unstable();
        at.into_iter().filter_map(|i| self.groups.get(i)).collect()
    }

    fn reindex_groups(&mut self) {
        self.group_positions = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
    }

    /// The projects a user or group is a member of: `{id, title, project_role}` each.
    fn projects_of(&self, member_id: &str, is_group: bool) -> Vec<Value> {
        self.projects
            .iter()
            .filter_map(|p| {
                p.members
                    .iter()
                    .find(|m| m.is_group == is_group && m.member_id == member_id)
                    .map(|m| json!({"id": p.id, "title": p.title, "project_role": m.role}))
            })
            .collect()
    }

    fn reindex_users(&mut self) {
        self.user_positions = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i))
            .collect();
    }
}

/// The whole emulated tenant. Cheap operations under one lock.
pub struct State {
    settings: Settings,
    inner: Mutex<Inner>,
}

/// Counts only: the state holds tokens and passwords.
impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("State")
            .field("settings", &self.settings)
            .field("users", &inner.users.len())
            .field("groups", &inner.groups.len())
            .field("projects", &inner.projects.len())
            .field("sessions", &inner.sessions.len())
            .field("access_tokens", &inner.tokens.len())
            .finish()
    }
}

/// A new 22-character URL-safe id, like Squirro's.
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn new_hex(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::new(404, format!("{what} {id} not found"))
}

/// The text of field `key`, required and not blank (400 `missing` otherwise).
fn required(fields: &Map<String, Value>, key: &str, missing: &str) -> ApiResult<String> {
    fields
        .get(key)
        .and_then(value_text)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::new(400, missing))
}

fn forbidden() -> ApiError {
    ApiError::new(403, "Not authorized to perform this action")
}

impl State {
    /// An empty tenant.
    pub fn new(settings: Settings) -> Self {
        State {
            settings,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The tenant domain.
    pub fn tenant(&self) -> &str {
        &self.settings.tenant
    }

    /// The stored password of the user with this e-mail address, for tests.
    pub fn password_of(&self, email: &str) -> Option<String> {
        self.lock()
            .user_by_email(email, |_| true)
            .and_then(|u| u.password.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            // A handler that panicked mid-update leaves plain data behind; serving on is
            // better than failing every later request.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Checks the tenant segment of a path.
    ///
    /// # Errors
    /// 404 for another tenant.
    pub fn check_tenant(&self, tenant: &str) -> ApiResult<()> {
        if tenant == self.settings.tenant {
            Ok(())
        } else {
            Err(ApiError::new(404, format!("Tenant {tenant} not found")))
        }
    }

    // ----- seeding -------------------------------------------------------------------

    /// Adds a user with a fixed id (seeding).
    pub fn seed_user(&self, user: EUser) {
        self.lock().push_user(user);
    }

    /// Adds a grant session with a fixed refresh token (seeding).
    pub fn seed_grant(&self, user_id: &str, session_id: &str, refresh_token: &str) {
        let now = Utc::now();
        self.lock().sessions.push(ESession {
            id: session_id.to_string(),
            user_id: user_id.to_string(),
            kind: "user".into(),
            refresh_token: refresh_token.to_string(),
            created_at: now,
            valid_to: now + chrono::Duration::days(3650),
            last_used: None,
            for_client_id: None,
            project_permissions: vec!["*".into()],
            revoked: false,
        });
    }

    /// Adds a project with a fixed id (seeding).
    pub fn seed_project(&self, id: &str, title: &str) {
        self.lock().projects.push(EProject {
            id: id.to_string(),
            title: title.to_string(),
            description: None,
            project_type: "normal".into(),
            members: Vec::new(),
        });
    }

    /// Adds a group with members (seeding); returns its id.
    pub fn seed_group(&self, name: &str, members: Vec<String>) -> String {
        let id = new_id();
        self.lock().push_group(EGroup {
            id: id.clone(),
            name: name.to_string(),
            members,
        });
        id
    }

    /// Adds a user to a group (seeding).
    pub fn seed_group_member(&self, group_id: &str, user_id: &str) {
        let mut inner = self.lock();
        if let Some(idx) = inner.group_position(group_id) {
            inner.add_to_group(idx, user_id);
        }
    }

    /// Sets a project membership (seeding); creates the project when missing.
    pub fn seed_project_member(
        &self,
        project_title: &str,
        member_id: &str,
        is_group: bool,
        role: &str,
    ) {
        let mut inner = self.lock();
        let idx = match inner.projects.iter().position(|p| p.title == project_title) {
            Some(i) => i,
            None => {
                inner.projects.push(EProject {
                    id: new_id(),
                    title: project_title.to_string(),
                    description: None,
                    project_type: "normal".into(),
                    members: Vec::new(),
                });
                inner.projects.len() - 1
            }
        };
        let members = &mut inner.projects[idx].members;
        members.retain(|m| m.member_id != member_id);
        members.push(EMember {
            member_id: member_id.to_string(),
            is_group,
            role: role.to_string(),
        });
    }

    /// Makes every access token expired, so the next call gets a 401 (tests of the
    /// refresh).
    pub fn expire_access_tokens(&self) {
        let past = Instant::now();
        for t in self.lock().tokens.values_mut() {
            t.expires = past;
        }
    }

    /// The user id with this e-mail (case-insensitive), for tests.
    pub fn user_id_by_email(&self, email: &str) -> Option<String> {
        self.lock()
            .user_by_email(email, |_| true)
            .map(|u| u.id.clone())
    }
}

/// A field value as text: strings as they are, numbers and booleans printed; `null` and
/// containers give `None` (containers are read by their own parsers).
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
        _ => None,
    }
}

/// A list field that arrives as JSON text (form) or as an array (JSON body).
fn json_list(value: Option<&Value>, field: &str) -> ApiResult<Vec<Value>> {
    let parsed = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(Vec::new()),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .map_err(|_| ApiError::new(400, format!("{field} must be a JSON list")))?,
        Some(other) => other.clone(),
    };
    match parsed {
        Value::Array(items) => Ok(items),
        _ => Err(ApiError::new(400, format!("{field} must be a JSON list"))),
    }
}

/// Ids from a list of `{"id": ...}` objects or bare ids.
fn parse_id_list(value: Option<&Value>, field: &str) -> ApiResult<Vec<String>> {
    json_list(value, field)?
        .into_iter()
        .map(|item| match item {
            Value::String(id) => Ok(id),
            Value::Object(o) => o
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ApiError::new(400, format!("every {field} entry needs an id"))),
            _ => Err(ApiError::new(400, format!("bad {field} entry"))),
        })
        .collect()
}

/// `(project id, role)` pairs from a list of ids or `{"id", "role"}` objects.
fn parse_project_list(value: Option<&Value>) -> ApiResult<Vec<(String, String)>> {
    json_list(value, "projects")?
        .into_iter()
        .map(|item| match item {
            Value::String(id) => Ok((id, "reader".to_string())),
            Value::Object(o) => {
                let id = o
                    .get("id")
                    .or_else(|| o.get("project_id"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::new(400, "every projects entry needs an id"))?;
                let role = o
                    .get("role")
                    .or_else(|| o.get("project_role"))
                    .and_then(Value::as_str)
                    .unwrap_or("reader");
                Ok((id.to_string(), role.to_string()))
            }
            _ => Err(ApiError::new(400, "bad projects entry")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (State, Caller) {
        let s = State::new(Settings {
            tenant: "t".into(),
            access_token_ttl: Duration::from_secs(600),
            min_password_length: 8,
        });
        s.seed_user(EUser {
            id: "admin".into(),
            email: "admin@example.com".into(),
            full_name: None,
            role: "admin".into(),
            password: None,
            custom: Map::new(),
        });
        s.seed_grant("admin", "sess", "rt");
        let caller = Caller {
            user_id: "admin".into(),
            session_id: "sess".into(),
            role: "admin".into(),
        };
        (s, caller)
    }

    fn fields(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn every_exchange_mints_a_new_access_token_and_echoes_the_refresh_token() {
        let (s, _) = state();
        let f = fields(json!({"grant_type": "refresh_token", "refresh_token": "rt"}));
        let a = s.token_exchange(&f).expect("first");
        let b = s.token_exchange(&f).expect("second");
        assert_ne!(a["access_token"], b["access_token"]);
        assert_eq!(a["refresh_token"], "rt");
        assert_eq!(b["refresh_token"], "rt");
        for key in [
            "tenant",
            "user_id",
            "session_id",
            "role",
            "role_permissions",
            "project_permissions",
        ] {
            assert!(!a[key].is_null(), "{key}");
        }
        let unknown = fields(json!({"grant_type": "refresh_token", "refresh_token": "nope"}));
        assert_eq!(s.token_exchange(&unknown).expect_err("unknown").status, 404);
    }

    #[test]
    fn group_members_arrive_as_json_text() {
        let (s, admin) = state();
        let g = s
            .create_group(
                &admin,
                &fields(json!({"name": "G", "members": "[{\"id\": \"admin\"}]"})),
            )
            .expect("created");
        assert_eq!(g["members"][0]["id"], "admin");
        let err = s
            .create_group(
                &admin,
                &fields(json!({"name": "H", "members": "[{\"id\": \"ghost\"}]"})),
            )
            .expect_err("unknown member");
        assert_eq!(err.status, 400);
        let dup = s
            .create_group(&admin, &fields(json!({"name": "g"})))
            .expect_err("taken");
        assert_eq!(dup.status, 409);
    }

    #[test]
    fn deleting_a_session_revokes_its_tokens() {
        let (s, admin) = state();
        let user = s
            .create_user(&admin, &fields(json!({"email": "a@b.cd"})))
            .expect("user");
        let uid = user["id"].as_str().expect("id").to_string();
        let grant = s
            .new_grant(&admin, &uid, &fields(json!({"type": "user"})))
            .expect("grant");
        let rt = grant["refresh_token"].as_str().expect("rt").to_string();
        let sid = grant["id"].as_str().expect("id").to_string();
        let tok = s
            .token_exchange(&fields(
                json!({"grant_type": "refresh_token", "refresh_token": rt}),
            ))
            .expect("exchange");
        let access = tok["access_token"].as_str().expect("at").to_string();
        assert!(s.authenticate(Some(&access)).is_ok());
        s.delete_session(&admin, &uid, &sid).expect("deleted");
        assert_eq!(
            s.authenticate(Some(&access)).expect_err("revoked").status,
            401
        );
        let again = s
            .token_exchange(&fields(
                json!({"grant_type": "refresh_token", "refresh_token": rt}),
            ))
            .expect_err("revoked");
        assert_eq!(again.status, 410);
        assert_eq!(
            s.get_session(&admin, &uid, &sid)
                .expect_err("no longer shown")
                .status,
            404
        );
    }

    #[test]
    fn debug_shows_no_tokens_or_passwords() {
        let (s, _) = state();
        s.seed_user(EUser {
            id: "u".into(),
            email: "u@example.com".into(),
            full_name: None,
            role: "user".into(),
            password: Some("canary-password".into()),
            custom: Map::new(),
        });
        s.seed_grant("u", "g", "canary-refresh");
        let text = format!("{s:?}");
        assert!(!text.contains("canary"), "{text}");
        let inner = s.lock();
        let all = format!("{:?} {:?}", inner.users, inner.sessions);
        assert!(!all.contains("canary"), "{all}");
    }

    /// The groups of each user as the index answers them and as a scan of every group's
    /// members finds them, side by side.
    fn groups_both_ways(s: &State) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
        let inner = s.lock();
        let indexed = inner
            .users
            .iter()
            .map(|u| {
                inner
                    .groups_of_user(&u.id)
                    .iter()
                    .map(|g| g.id.clone())
                    .collect()
            })
            .collect();
        let scanned = inner
            .users
            .iter()
            .map(|u| {
                inner
                    .groups
                    .iter()
                    .filter(|g| g.members.contains(&u.id))
                    .map(|g| g.id.clone())
                    .collect()
            })
            .collect();
        (indexed, scanned)
    }

    #[test]
    fn the_indexes_follow_renames_deletes_and_recreations() {
        let (s, admin) = state();
        let id = |v: Value| v["id"].as_str().expect("id").to_string();
        let ada = id(s
            .create_user(&admin, &fields(json!({"email": "Ada@b.cd"})))
            .expect("ada"));
        let g = id(s
            .create_group(
                &admin,
                &fields(json!({"name": "G", "members": [ada.clone()]})),
            )
            .expect("g"));
        let h = id(s
            .create_group(&admin, &fields(json!({"name": "H"})))
            .expect("h"));
        s.add_group_member(&admin, &h, &fields(json!({"user_id": ada.clone()})))
            .expect("in h");
        let groups = |u: &str| {
            s.get_user(&admin, u, false).expect("user")["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| g["name"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(groups(&ada), ["G", "H"]);

        s.update_group(&admin, &g, &fields(json!({"name": "K"})))
            .expect("renamed");
        s.create_group(&admin, &fields(json!({"name": "g"})))
            .expect("the old name is free");
        let taken = s
            .create_group(&admin, &fields(json!({"name": "k"})))
            .expect_err("the new name is taken");
        assert_eq!(taken.status, 409);
        s.update_user(&admin, &ada, &fields(json!({"email": "grace@b.cd"})))
            .expect("new address");
        let again = id(s
            .create_user(&admin, &fields(json!({"email": "ada@B.cd"})))
            .expect("the old address again"));
        assert_eq!(
            s.user_id_by_email("ADA@b.cd").as_deref(),
            Some(again.as_str())
        );
        assert_eq!(
            s.user_id_by_email("Grace@b.cd").as_deref(),
            Some(ada.as_str())
        );

        s.delete_group(&admin, &g).expect("deleted");
        assert_eq!(groups(&ada), ["H"]);
        let g2 = id(s
            .create_group(
                &admin,
                &fields(json!({"name": "K", "members": [again.clone()]})),
            )
            .expect("the name again"));
        s.update_group(
            &admin,
            &g2,
            &fields(json!({"name": "K", "members": [ada.clone()]})),
        )
        .expect("ada in k");
        assert_eq!(groups(&ada), ["H", "K"]);
        s.remove_group_member(&admin, &h, &ada).expect("out of h");
        s.delete_user(&admin, &again).expect("deleted");
        assert_eq!(groups(&ada), ["K"]);
        let group = s.get_group(&admin, &g2, false).expect("k");
        assert_eq!(group["members"].as_array().map(Vec::len), Some(1));
        let (indexed, scanned) = groups_both_ways(&s);
        assert_eq!(indexed, scanned);
    }

    #[test]
    fn non_admins_get_403() {
        let (s, admin) = state();
        s.create_user(
            &admin,
            &fields(json!({"email": "r@b.cd", "role": "reader"})),
        )
        .expect("user");
        let reader = Caller {
            user_id: s.user_id_by_email("r@b.cd").expect("id"),
            session_id: "x".into(),
            role: "reader".into(),
        };
        assert_eq!(s.list_users(&reader, false).expect_err("403").status, 403);
        assert_eq!(
            s.create_group(&reader, &fields(json!({"name": "x"})))
                .expect_err("403")
                .status,
            403
        );
    }
}
