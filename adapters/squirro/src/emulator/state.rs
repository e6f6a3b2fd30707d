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
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::config::{PROJECT_ROLES, SERVER_ROLES};
use crate::roles::{project_role_privileges, server_role_privileges};
use crate::users::is_email;

/// An error answer: status and the `error` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The `error` text.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

/// Shorthand for results of state operations.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

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
    groups: Vec<EGroup>,
    projects: Vec<EProject>,
    sessions: Vec<ESession>,
    tokens: HashMap<String, AccessToken>,
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
        self.users.push(user);
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
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
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
        self.lock().groups.push(EGroup {
            id: id.clone(),
            name: name.to_string(),
            members,
        });
        id
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
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map(|u| u.id.clone())
    }

    // ----- tokens --------------------------------------------------------------------

    /// The token exchange (`POST /oauth2/token`).
    ///
    /// # Errors
    /// 400 for a missing or unknown grant type or missing fields; 403 for a wrong
    /// password, another tenant or an unknown access token; 404 for an unknown refresh
    /// token; 410 for an expired or revoked one.
    pub fn token_exchange(&self, fields: &Map<String, Value>) -> ApiResult<Value> {
        let get = |k: &str| fields.get(k).and_then(value_text);
        if let Some(t) = get("tenant")
            && t != self.settings.tenant
        {
            return Err(ApiError::new(403, format!("Unknown tenant {t}")));
        }
        let mut inner = self.lock();
        let now = Utc::now();
        let session_idx = match get("grant_type").as_deref() {
            Some("refresh_token") => {
                let token = get("refresh_token")
                    .ok_or_else(|| ApiError::new(400, "Missing refresh_token"))?;
                let idx = inner
                    .sessions
                    .iter()
                    .position(|s| s.refresh_token == token)
                    .ok_or_else(|| ApiError::new(404, "Invalid refresh token"))?;
                if inner.sessions[idx].revoked {
                    return Err(ApiError::new(410, "Refresh token revoked"));
                }
                if inner.sessions[idx].valid_to <= now {
                    return Err(ApiError::new(410, "Refresh token expired"));
                }
                idx
            }
            Some("password") => {
                let (Some(username), Some(password)) = (get("username"), get("password")) else {
                    return Err(ApiError::new(400, "Missing username or password"));
                };
                let user = inner
                    .users
                    .iter()
                    .find(|u| {
                        u.email.eq_ignore_ascii_case(&username)
                            && u.password.as_deref() == Some(password.as_str())
                    })
                    .ok_or_else(|| ApiError::new(403, "Invalid username or password"))?;
                let session = ESession {
                    id: new_id(),
                    user_id: user.id.clone(),
                    kind: "login".into(),
                    refresh_token: new_hex(64),
                    created_at: now,
                    valid_to: now + chrono::Duration::days(365),
                    last_used: None,
                    for_client_id: None,
                    project_permissions: vec!["*".into()],
                    revoked: false,
                };
                inner.sessions.push(session);
                inner.sessions.len() - 1
            }
            Some("access_token") => {
                let token = get("access_token")
                    .ok_or_else(|| ApiError::new(400, "Missing access_token"))?;
                let at = inner
                    .tokens
                    .get(&token)
                    .filter(|t| t.expires > Instant::now())
                    .cloned()
                    .ok_or_else(|| ApiError::new(403, "Invalid access token"))?;
                inner
                    .sessions
                    .iter()
                    .position(|s| s.id == at.session_id && !s.revoked)
                    .ok_or_else(|| ApiError::new(410, "Session revoked"))?
            }
            Some(other) => {
                return Err(ApiError::new(
                    400,
                    format!("Unsupported grant_type {other}"),
                ));
            }
            None => return Err(ApiError::new(400, "Missing grant_type")),
        };
        let session = inner.sessions[session_idx].clone();
        let Some(user) = inner.user(&session.user_id).cloned() else {
            return Err(ApiError::new(410, "The token's user no longer exists"));
        };
        inner.sessions[session_idx].last_used = Some(now);
        let access = new_hex(40);
        // Expired tokens are answered 401 either way; dropping them keeps a long-running
        // emulator's memory flat.
        let now_instant = Instant::now();
        inner.tokens.retain(|_, t| t.expires > now_instant);
        inner.tokens.insert(
            access.clone(),
            AccessToken {
                session_id: session.id.clone(),
                user_id: user.id.clone(),
                expires: Instant::now() + self.settings.access_token_ttl,
            },
        );
        let user_information = get("user_information")
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or_else(|| json!({}));
        Ok(json!({
            "access_token": access,
            // The same refresh token every time: a shared development token must keep
            // working for every client that holds it.
            "refresh_token": session.refresh_token,
            "session_id": session.id,
            "user_id": user.id,
            "tenant": self.settings.tenant,
            "role": user.role,
            "role_permissions": server_role_privileges(&user.role),
            "project_permissions": session.project_permissions,
            "user_information": user_information,
        }))
    }

    /// The caller behind a bearer token.
    ///
    /// # Errors
    /// 401 for a missing, unknown or expired token, or a user that no longer exists.
    pub fn authenticate(&self, bearer: Option<&str>) -> ApiResult<Caller> {
        let token = bearer.ok_or_else(|| ApiError::new(401, "Authentication missing"))?;
        let inner = self.lock();
        let at = inner
            .tokens
            .get(token)
            .ok_or_else(|| ApiError::new(401, "Invalid access token"))?;
        if at.expires <= Instant::now() {
            return Err(ApiError::new(401, "Access token expired"));
        }
        let user = inner
            .user(&at.user_id)
            .ok_or_else(|| ApiError::new(401, "Invalid access token"))?;
        Ok(Caller {
            user_id: user.id.clone(),
            session_id: at.session_id.clone(),
            role: user.role.clone(),
        })
    }

    // ----- users ---------------------------------------------------------------------

    fn user_json(
        inner: &Inner,
        u: &EUser,
        tenant: &str,
        include_projects: bool,
        include_config: bool,
    ) -> Value {
        let mut obj = Map::new();
        for (k, v) in &u.custom {
            obj.insert(k.clone(), v.clone());
        }
        obj.insert("id".into(), json!(u.id));
        obj.insert("email".into(), json!(u.email));
        obj.insert("full_name".into(), json!(u.full_name));
        obj.insert("role".into(), json!(u.role));
        obj.insert(
            "role_permissions".into(),
            json!(server_role_privileges(&u.role)),
        );
        obj.insert("tenant".into(), json!(tenant));
        let groups: Vec<Value> = inner
            .groups
            .iter()
            .filter(|g| g.members.contains(&u.id))
            .map(|g| json!({"id": g.id, "name": g.name}))
            .collect();
        obj.insert("groups".into(), Value::Array(groups));
        if include_projects {
            let projects: Vec<Value> = inner
                .projects
                .iter()
                .filter_map(|p| {
                    p.members
                        .iter()
                        .find(|m| !m.is_group && m.member_id == u.id)
                        .map(|m| json!({"id": p.id, "title": p.title, "project_role": m.role}))
                })
                .collect();
            obj.insert("projects".into(), Value::Array(projects));
        }
        if include_config {
            obj.insert("config".into(), json!({}));
        }
        Value::Object(obj)
    }

    fn user_summary(u: &EUser, tenant: &str) -> Value {
        json!({
            "email": u.email,
            "full_name": u.full_name,
            "id": u.id,
            "role": u.role,
            "role_permissions": server_role_privileges(&u.role),
            "tenant": tenant,
        })
    }

    /// `GET /users`.
    ///
    /// # Errors
    /// 403 for non-administrators.
    pub fn list_users(&self, caller: &Caller, include_config: bool) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let inner = self.lock();
        let users: Vec<Value> = inner
            .users
            .iter()
            .map(|u| Self::user_json(&inner, u, &self.settings.tenant, false, include_config))
            .collect();
        Ok(json!({ "users": users }))
    }

    /// `GET /users/{id}`: administrators, or the user itself.
    ///
    /// # Errors
    /// 403, 404.
    pub fn get_user(&self, caller: &Caller, id: &str, include_projects: bool) -> ApiResult<Value> {
        if !caller.is_admin() && caller.user_id != id {
            return Err(forbidden());
        }
        let inner = self.lock();
        let u = inner.user(id).ok_or_else(|| not_found("User", id))?;
        Ok(Self::user_json(
            &inner,
            u,
            &self.settings.tenant,
            include_projects,
            false,
        ))
    }

    /// `POST /users`.
    ///
    /// # Errors
    /// 400 for a missing or malformed e-mail, an unknown role or a short password; 403;
    /// 409 for a taken e-mail.
    pub fn create_user(&self, caller: &Caller, fields: &Map<String, Value>) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let email = fields
            .get("email")
            .and_then(value_text)
            .ok_or_else(|| ApiError::new(400, "A valid email address is required"))?;
        if !is_email(&email) {
            return Err(ApiError::new(400, format!("Invalid email address {email}")));
        }
        let role = fields
            .get("role")
            .and_then(value_text)
            .unwrap_or_else(|| "user".to_string());
        if !SERVER_ROLES.contains(&role.as_str()) {
            return Err(ApiError::new(400, format!("Invalid role {role}")));
        }
        let password = fields.get("password").and_then(value_text);
        if let Some(pw) = &password {
            self.check_password(pw)?;
        }
        let full_name = fields.get("full_name").and_then(value_text);
        let mut inner = self.lock();
        if inner
            .users
            .iter()
            .any(|u| u.email.eq_ignore_ascii_case(&email))
        {
            return Err(ApiError::new(
                409,
                format!("A user with email {email} already exists"),
            ));
        }
        let user = EUser {
            id: new_id(),
            email,
            full_name,
            role,
            password,
            custom: Map::new(),
        };
        let out = Self::user_json(&inner, &user, &self.settings.tenant, false, false);
        inner.push_user(user);
        Ok(out)
    }

    /// `PUT /users/{id}`: `email`, `full_name`, `role` and `password` are fields; any
    /// other key is a custom value (`null` removes it).
    ///
    /// # Errors
    /// 400 for a malformed e-mail or unknown role; 403 (also for a non-administrator
    /// changing its own role); 404; 409 for a taken e-mail.
    pub fn update_user(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        if !caller.is_admin() && (caller.user_id != id || fields.contains_key("role")) {
            return Err(forbidden());
        }
        if let Some(pw) = fields.get("password").and_then(value_text) {
            self.check_password(&pw)?;
        }
        let mut inner = self.lock();
        let idx = inner
            .user_position(id)
            .ok_or_else(|| not_found("User", id))?;
        if let Some(v) = fields.get("email") {
            let email = value_text(v).unwrap_or_default();
            if !is_email(&email) {
                return Err(ApiError::new(400, format!("Invalid email address {email}")));
            }
            if inner
                .users
                .iter()
                .any(|u| u.id != id && u.email.eq_ignore_ascii_case(&email))
            {
                return Err(ApiError::new(
                    409,
                    format!("A user with email {email} already exists"),
                ));
            }
        }
        if let Some(v) = fields.get("role") {
            let role = value_text(v).unwrap_or_default();
            if !SERVER_ROLES.contains(&role.as_str()) {
                return Err(ApiError::new(400, format!("Invalid role {role}")));
            }
        }
        let user = &mut inner.users[idx];
        for (k, v) in fields {
            match k.as_str() {
                "email" => user.email = value_text(v).unwrap_or_default(),
                "full_name" => user.full_name = value_text(v).filter(|s| !s.is_empty()),
                "role" => user.role = value_text(v).unwrap_or_default(),
                "password" => user.password = value_text(v),
                "id" | "tenant" | "role_permissions" | "groups" | "projects" | "config" => {}
                _ if v.is_null() || v.as_str() == Some("") => {
                    user.custom.remove(k);
                }
                _ => {
                    user.custom.insert(k.clone(), v.clone());
                }
            }
        }
        let user = inner.users[idx].clone();
        Ok(Self::user_json(
            &inner,
            &user,
            &self.settings.tenant,
            false,
            false,
        ))
    }

    /// `DELETE /users/{id}`: also removes the user from groups and projects and ends its
    /// sessions.
    ///
    /// # Errors
    /// 400 for deleting oneself; 403; 404.
    pub fn delete_user(&self, caller: &Caller, id: &str) -> ApiResult<()> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        if caller.user_id == id {
            return Err(ApiError::new(400, "You cannot delete your own user"));
        }
        let mut inner = self.lock();
        let before = inner.users.len();
        inner.users.retain(|u| u.id != id);
        inner.reindex_users();
        if inner.users.len() == before {
            return Err(not_found("User", id));
        }
        for g in &mut inner.groups {
            g.members.retain(|m| m != id);
        }
        for p in &mut inner.projects {
            p.members.retain(|m| m.is_group || m.member_id != id);
        }
        inner.sessions.retain(|s| s.user_id != id);
        inner.tokens.retain(|_, t| t.user_id != id);
        Ok(())
    }

    fn check_password(&self, pw: &str) -> ApiResult<()> {
        if pw.chars().count() < self.settings.min_password_length {
            return Err(ApiError::new(
                400,
                format!(
                    "Password must be at least {} characters long",
                    self.settings.min_password_length
                ),
            ));
        }
        Ok(())
    }

    /// `PUT /users/{id}/password`.
    ///
    /// # Errors
    /// 400 for a wrong current password, a mismatched confirmation or a short password;
    /// 403; 404.
    pub fn change_password(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        if !caller.is_admin() && caller.user_id != id {
            return Err(forbidden());
        }
        let get = |k: &str| fields.get(k).and_then(value_text).unwrap_or_default();
        let (current, new, confirm) = (
            get("current_password"),
            get("new_password"),
            get("new_password_confirm"),
        );
        if new != confirm {
            return Err(ApiError::new(
                400,
                "New password and confirmation do not match",
            ));
        }
        self.check_password(&new)?;
        let mut inner = self.lock();
        let user = inner.user_mut(id).ok_or_else(|| not_found("User", id))?;
        if caller.user_id == id
            && user.password.is_some()
            && user.password.as_deref() != Some(current.as_str())
        {
            return Err(ApiError::new(400, "Current password is wrong"));
        }
        user.password = Some(new);
        Ok(json!({}))
    }

    /// `GET /users/password_policy`.
    pub fn password_policy(&self) -> Value {
        json!({
            "min_length": self.settings.min_password_length,
            "require_lowercase": false,
            "require_uppercase": false,
            "require_digits": false,
            "require_special": false,
        })
    }

    // ----- grants and sessions -------------------------------------------------------

    fn may_see_sessions(caller: &Caller, user_id: &str) -> ApiResult<()> {
        if caller.is_admin() || caller.user_id == user_id {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    /// `POST /users/{id}/grants`.
    ///
    /// # Errors
    /// 400 for an unknown type or a service grant without `for_client_id`; 403; 404.
    pub fn new_grant(
        &self,
        caller: &Caller,
        user_id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        Self::may_see_sessions(caller, user_id)?;
        let kind = fields
            .get("type")
            .and_then(value_text)
            .unwrap_or_else(|| "user".into());
        if kind != "user" && kind != "service" {
            return Err(ApiError::new(400, format!("Invalid grant type {kind}")));
        }
        let for_client_id = fields.get("for_client_id").and_then(value_text);
        if kind == "service" && for_client_id.is_none() {
            return Err(ApiError::new(400, "A service grant needs for_client_id"));
        }
        let project_permissions: Vec<String> = fields
            .get("project_permissions")
            .and_then(value_text)
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .filter(|v: &Vec<String>| !v.is_empty())
            .unwrap_or_else(|| vec!["*".into()]);
        let mut inner = self.lock();
        if inner.user(user_id).is_none() {
            return Err(not_found("User", user_id));
        }
        let now = Utc::now();
        let session = ESession {
            id: new_id(),
            user_id: user_id.to_string(),
            kind,
            refresh_token: new_hex(64),
            created_at: now,
            valid_to: now + chrono::Duration::days(3650),
            last_used: None,
            for_client_id,
            project_permissions,
            revoked: false,
        };
        let out = json!({"id": session.id, "refresh_token": session.refresh_token});
        inner.sessions.push(session);
        Ok(out)
    }

    /// `GET /users/{id}/grants`: the user's `user` and `service` grants.
    ///
    /// # Errors
    /// 403; 404.
    pub fn list_grants(&self, caller: &Caller, user_id: &str) -> ApiResult<Value> {
        Self::may_see_sessions(caller, user_id)?;
        let inner = self.lock();
        if inner.user(user_id).is_none() {
            return Err(not_found("User", user_id));
        }
        let grants: Vec<Value> = inner
            .sessions
            .iter()
            .filter(|s| s.user_id == user_id && s.kind != "login" && !s.revoked)
            .map(|s| {
                json!({
                    "id": s.id,
                    "type": s.kind,
                    "created_at": fmt_time(s.created_at),
                    "valid_to": fmt_time(s.valid_to),
                })
            })
            .collect();
        Ok(json!({ "grants": grants }))
    }

    /// `GET /users/{id}/sessions/{sid}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_session(
        &self,
        caller: &Caller,
        user_id: &str,
        session_id: &str,
    ) -> ApiResult<Value> {
        Self::may_see_sessions(caller, user_id)?;
        let inner = self.lock();
        let s = inner
            .sessions
            .iter()
            .find(|s| s.id == session_id && s.user_id == user_id && !s.revoked)
            .ok_or_else(|| not_found("Session", session_id))?;
        Ok(json!({
            "id": s.id,
            "user_id": s.user_id,
            "type": s.kind,
            "created_at": fmt_time(s.created_at),
            "valid_to": fmt_time(s.valid_to),
            "last_used": s.last_used.map(fmt_time),
            "client_id": s.for_client_id,
            "project_permissions": s.project_permissions,
        }))
    }

    /// `DELETE /users/{id}/sessions/{sid}`: revokes the refresh token and every access
    /// token of the session at once.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_session(
        &self,
        caller: &Caller,
        user_id: &str,
        session_id: &str,
    ) -> ApiResult<()> {
        Self::may_see_sessions(caller, user_id)?;
        let mut inner = self.lock();
        let session = inner
            .sessions
            .iter_mut()
            .find(|s| s.id == session_id && s.user_id == user_id && !s.revoked)
            .ok_or_else(|| not_found("Session", session_id))?;
        session.revoked = true;
        inner.tokens.retain(|_, t| t.session_id != session_id);
        Ok(())
    }

    // ----- groups --------------------------------------------------------------------

    fn group_json(inner: &Inner, g: &EGroup, tenant: &str, include_projects: bool) -> Value {
        let members: Vec<Value> = g
            .members
            .iter()
            .filter_map(|id| inner.user(id))
            .map(|u| Self::user_summary(u, tenant))
            .collect();
        let mut out = json!({"id": g.id, "name": g.name, "members": members});
        if include_projects {
            let projects: Vec<Value> = inner
                .projects
                .iter()
                .filter_map(|p| {
                    p.members
                        .iter()
                        .find(|m| m.is_group && m.member_id == g.id)
                        .map(|m| json!({"id": p.id, "title": p.title, "project_role": m.role}))
                })
                .collect();
            out["projects"] = Value::Array(projects);
        }
        out
    }

    /// `GET /groups`: a bare array.
    ///
    /// # Errors
    /// 403 for non-administrators.
    pub fn list_groups(&self, caller: &Caller) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let inner = self.lock();
        Ok(Value::Array(
            inner
                .groups
                .iter()
                .map(|g| Self::group_json(&inner, g, &self.settings.tenant, false))
                .collect(),
        ))
    }

    /// `GET /groups/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_group(&self, caller: &Caller, id: &str, include_projects: bool) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let inner = self.lock();
        let g = inner
            .groups
            .iter()
            .find(|g| g.id == id)
            .ok_or_else(|| not_found("Group", id))?;
        Ok(Self::group_json(
            &inner,
            g,
            &self.settings.tenant,
            include_projects,
        ))
    }

    /// Reads a `members` field: JSON text (form) or an array (JSON body) of `{"id"}`
    /// objects or ids; every id must be a user.
    fn member_ids(inner: &Inner, value: Option<&Value>) -> ApiResult<Vec<String>> {
        let ids = parse_id_list(value, "members")?;
        for id in &ids {
            if inner.user(id).is_none() {
                return Err(ApiError::new(400, format!("Unknown user {id} in members")));
            }
        }
        Ok(ids)
    }

    /// `POST /groups`: form `name` and optional `members` (JSON text).
    ///
    /// # Errors
    /// 400 for a missing name or bad members; 403; 409 for a taken name.
    pub fn create_group(&self, caller: &Caller, fields: &Map<String, Value>) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let name = fields
            .get("name")
            .and_then(value_text)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::new(400, "A group name is required"))?;
        let mut inner = self.lock();
        if inner
            .groups
            .iter()
            .any(|g| g.name.eq_ignore_ascii_case(&name))
        {
            return Err(ApiError::new(
                409,
                format!("A group named {name} already exists"),
            ));
        }
        let mut members = Vec::new();
        for id in Self::member_ids(&inner, fields.get("members"))? {
            if !members.contains(&id) {
                members.push(id);
            }
        }
        let group = EGroup {
            id: new_id(),
            name,
            members,
        };
        let out = Self::group_json(&inner, &group, &self.settings.tenant, false);
        inner.groups.push(group);
        Ok(out)
    }

    /// `PUT /groups/{id}`: form `name` (required), optional `members` (JSON text; the
    /// users are added) and `projects` (JSON text: project ids or `{"id", "role"}`
    /// objects; the group is added to each, as `reader` unless a role is given).
    ///
    /// # Errors
    /// 400 for a missing name or bad lists; 403; 404; 409 for a taken name.
    pub fn update_group(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let name = fields
            .get("name")
            .and_then(value_text)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::new(400, "A group name is required"))?;
        let mut inner = self.lock();
        let idx = inner
            .groups
            .iter()
            .position(|g| g.id == id)
            .ok_or_else(|| not_found("Group", id))?;
        if inner
            .groups
            .iter()
            .any(|g| g.id != id && g.name.eq_ignore_ascii_case(&name))
        {
            return Err(ApiError::new(
                409,
                format!("A group named {name} already exists"),
            ));
        }
        let new_members = Self::member_ids(&inner, fields.get("members"))?;
        let projects = parse_project_list(fields.get("projects"))?;
        for (pid, role) in &projects {
            if !inner.projects.iter().any(|p| &p.id == pid) {
                return Err(ApiError::new(
                    400,
                    format!("Unknown project {pid} in projects"),
                ));
            }
            if !PROJECT_ROLES.contains(&role.as_str()) {
                return Err(ApiError::new(400, format!("Invalid role {role}")));
            }
        }
        let group = &mut inner.groups[idx];
        group.name = name;
        for m in new_members {
            if !group.members.contains(&m) {
                group.members.push(m);
            }
        }
        for (pid, role) in projects {
            if let Some(p) = inner.projects.iter_mut().find(|p| p.id == pid) {
                p.members.retain(|m| !(m.is_group && m.member_id == id));
                p.members.push(EMember {
                    member_id: id.to_string(),
                    is_group: true,
                    role,
                });
            }
        }
        let group = inner.groups[idx].clone();
        Ok(Self::group_json(
            &inner,
            &group,
            &self.settings.tenant,
            false,
        ))
    }

    /// `DELETE /groups/{id}`: also removes the group from every project.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_group(&self, caller: &Caller, id: &str) -> ApiResult<()> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let mut inner = self.lock();
        let before = inner.groups.len();
        inner.groups.retain(|g| g.id != id);
        if inner.groups.len() == before {
            return Err(not_found("Group", id));
        }
        for p in &mut inner.projects {
            p.members.retain(|m| !(m.is_group && m.member_id == id));
        }
        Ok(())
    }

    /// `POST /groups/{id}`: form `user_id`; adding a present member changes nothing.
    ///
    /// # Errors
    /// 400 without `user_id`; 403; 404 for an unknown group or user.
    pub fn add_group_member(
        &self,
        caller: &Caller,
        group_id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let user_id = fields
            .get("user_id")
            .and_then(value_text)
            .ok_or_else(|| ApiError::new(400, "user_id is required"))?;
        let mut inner = self.lock();
        let user = inner
            .user(&user_id)
            .cloned()
            .ok_or_else(|| not_found("User", &user_id))?;
        let group = inner
            .groups
            .iter_mut()
            .find(|g| g.id == group_id)
            .ok_or_else(|| not_found("Group", group_id))?;
        if !group.members.contains(&user_id) {
            group.members.push(user_id);
        }
        Ok(Self::user_summary(&user, &self.settings.tenant))
    }

    /// `DELETE /groups/{id}/members/{user}`.
    ///
    /// # Errors
    /// 403; 404 for an unknown group or a user that is not a member.
    pub fn remove_group_member(
        &self,
        caller: &Caller,
        group_id: &str,
        user_id: &str,
    ) -> ApiResult<()> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let mut inner = self.lock();
        let group = inner
            .groups
            .iter_mut()
            .find(|g| g.id == group_id)
            .ok_or_else(|| not_found("Group", group_id))?;
        let before = group.members.len();
        group.members.retain(|m| m != user_id);
        if group.members.len() == before {
            return Err(ApiError::new(
                404,
                format!("User {user_id} is not a member of group {group_id}"),
            ));
        }
        Ok(())
    }

    // ----- projects and project members ---------------------------------------------

    fn project_json(p: &EProject) -> Value {
        json!({
            "id": p.id,
            "title": p.title,
            "description": p.description,
            "type": p.project_type,
            "project_type": p.project_type,
        })
    }

    fn member_json(inner: &Inner, p: &EProject, m: &EMember) -> Value {
        let mut out = json!({
            "member_id": m.member_id,
            "member_type": if m.is_group { "group" } else { "user" },
            "project_role": m.role,
            "project_id": p.id,
            "permissions": project_role_privileges(&m.role),
        });
        if m.is_group {
            if let Some(g) = inner.groups.iter().find(|g| g.id == m.member_id) {
                out["name"] = json!(g.name);
            }
            out["server_role"] = Value::Null;
        } else if let Some(u) = inner.user(&m.member_id) {
            out["email"] = json!(u.email);
            out["full_name"] = json!(u.full_name);
            out["server_role"] = json!(u.role);
        }
        out
    }

    fn may_manage_project(inner: &Inner, caller: &Caller, project: &EProject) -> bool {
        caller.is_admin()
            || project.members.iter().any(|m| {
                (m.role == "admin" || m.role == "owner")
                    && ((!m.is_group && m.member_id == caller.user_id)
                        || (m.is_group
                            && inner.groups.iter().any(|g| {
                                g.id == m.member_id && g.members.contains(&caller.user_id)
                            })))
            })
    }

    fn may_see_project(inner: &Inner, caller: &Caller, project: &EProject) -> bool {
        caller.is_admin()
            || project.members.iter().any(|m| {
                (!m.is_group && m.member_id == caller.user_id)
                    || (m.is_group
                        && inner
                            .groups
                            .iter()
                            .any(|g| g.id == m.member_id && g.members.contains(&caller.user_id)))
            })
    }

    /// `GET {T}/projects`: the projects the caller can see, as a bare array.
    pub fn list_projects(&self, caller: &Caller) -> Value {
        let inner = self.lock();
        Value::Array(
            inner
                .projects
                .iter()
                .filter(|p| Self::may_see_project(&inner, caller, p))
                .map(Self::project_json)
                .collect(),
        )
    }

    /// `GET {T}/projects/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_project(&self, caller: &Caller, id: &str) -> ApiResult<Value> {
        let inner = self.lock();
        let p = inner
            .projects
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found("Project", id))?;
        if !Self::may_see_project(&inner, caller, p) {
            return Err(forbidden());
        }
        Ok(Self::project_json(p))
    }

    /// `POST {T}/projects`: form `title` and optional `project_id`, `description`,
    /// `project_type`. The caller (or `owner_id`) becomes the project's owner.
    ///
    /// # Errors
    /// 400 for a missing title or a taken id; 403 for readers.
    pub fn create_project(&self, caller: &Caller, fields: &Map<String, Value>) -> ApiResult<Value> {
        if caller.role == "reader" {
            return Err(forbidden());
        }
        let title = fields
            .get("title")
            .and_then(value_text)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ApiError::new(400, "A project title is required"))?;
        let id = fields
            .get("project_id")
            .and_then(value_text)
            .unwrap_or_else(new_id);
        let owner = fields
            .get("owner_id")
            .and_then(value_text)
            .unwrap_or_else(|| caller.user_id.clone());
        let mut inner = self.lock();
        if inner.projects.iter().any(|p| p.id == id) {
            return Err(ApiError::new(400, format!("Project id {id} is taken")));
        }
        let project = EProject {
            id,
            title,
            description: fields.get("description").and_then(value_text),
            project_type: fields
                .get("project_type")
                .and_then(value_text)
                .unwrap_or_else(|| "normal".into()),
            members: vec![EMember {
                member_id: owner,
                is_group: false,
                role: "owner".into(),
            }],
        };
        let out = Self::project_json(&project);
        inner.projects.push(project);
        Ok(out)
    }

    /// `DELETE {T}/projects/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_project(&self, caller: &Caller, id: &str) -> ApiResult<()> {
        let mut inner = self.lock();
        let p = inner
            .projects
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found("Project", id))?;
        if !Self::may_manage_project(&inner, caller, p) {
            return Err(forbidden());
        }
        inner.projects.retain(|p| p.id != id);
        Ok(())
    }

    fn project_index(inner: &Inner, caller: &Caller, id: &str, manage: bool) -> ApiResult<usize> {
        let idx = inner
            .projects
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| not_found("Project", id))?;
        let p = &inner.projects[idx];
        let allowed = if manage {
            Self::may_manage_project(inner, caller, p)
        } else {
            Self::may_see_project(inner, caller, p)
        };
        if allowed { Ok(idx) } else { Err(forbidden()) }
    }

    /// `GET /projects/{id}/members`: `{"members": [...]}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn project_members(&self, caller: &Caller, id: &str) -> ApiResult<Value> {
        let inner = self.lock();
        let idx = Self::project_index(&inner, caller, id, false)?;
        let p = &inner.projects[idx];
        let members: Vec<Value> = p
            .members
            .iter()
            .map(|m| Self::member_json(&inner, p, m))
            .collect();
        Ok(json!({ "members": members }))
    }

    /// `POST /projects/{id}/members`: form `role` and exactly one of `user_id` and
    /// `group_id`.
    ///
    /// # Errors
    /// 400 for a bad role or not exactly one principal; 403; 404 for an unknown project,
    /// user or group; 409 when the principal is already a member.
    pub fn add_project_member(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        let role = fields
            .get("role")
            .and_then(value_text)
            .ok_or_else(|| ApiError::new(400, "role is required"))?;
        if !PROJECT_ROLES.contains(&role.as_str()) {
            return Err(ApiError::new(400, format!("Invalid role {role}")));
        }
        let user_id = fields.get("user_id").and_then(value_text);
        let group_id = fields.get("group_id").and_then(value_text);
        let (member_id, is_group) = match (user_id, group_id) {
            (Some(u), None) => (u, false),
            (None, Some(g)) => (g, true),
            _ => {
                return Err(ApiError::new(
                    400,
                    "Exactly one of user_id and group_id is required",
                ));
            }
        };
        let mut inner = self.lock();
        let idx = Self::project_index(&inner, caller, id, true)?;
        if is_group {
            if !inner.groups.iter().any(|g| g.id == member_id) {
                return Err(not_found("Group", &member_id));
            }
        } else if inner.user(&member_id).is_none() {
            return Err(not_found("User", &member_id));
        }
        if inner.projects[idx]
            .members
            .iter()
            .any(|m| m.member_id == member_id && m.is_group == is_group)
        {
            return Err(ApiError::new(
                409,
                format!("{member_id} is already a member of the project"),
            ));
        }
        let member = EMember {
            member_id,
            is_group,
            role,
        };
        inner.projects[idx].members.push(member.clone());
        let p = &inner.projects[idx];
        Ok(Self::member_json(&inner, p, &member))
    }

    /// `PUT /projects/{id}/members/{member}`: form `role`.
    ///
    /// # Errors
    /// 400 for a bad role; 403 (also for changing the owner); 404.
    pub fn update_project_member(
        &self,
        caller: &Caller,
        id: &str,
        member_id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        let role = fields
            .get("role")
            .and_then(value_text)
            .ok_or_else(|| ApiError::new(400, "role is required"))?;
        if !PROJECT_ROLES.contains(&role.as_str()) {
            return Err(ApiError::new(400, format!("Invalid role {role}")));
        }
        let mut inner = self.lock();
        let idx = Self::project_index(&inner, caller, id, true)?;
        let m = inner.projects[idx]
            .members
            .iter_mut()
            .find(|m| m.member_id == member_id)
            .ok_or_else(|| not_found("Member", member_id))?;
        if m.role == "owner" {
            return Err(ApiError::new(
                403,
                "The project owner's role cannot be changed",
            ));
        }
        m.role = role;
        let m = m.clone();
        let p = &inner.projects[idx];
        Ok(Self::member_json(&inner, p, &m))
    }

    /// `DELETE /projects/{id}/members/{member}`.
    ///
    /// # Errors
    /// 403 (also for removing the owner); 404.
    pub fn remove_project_member(
        &self,
        caller: &Caller,
        id: &str,
        member_id: &str,
    ) -> ApiResult<()> {
        let mut inner = self.lock();
        let idx = Self::project_index(&inner, caller, id, true)?;
        let members = &mut inner.projects[idx].members;
        let pos = members
            .iter()
            .position(|m| m.member_id == member_id)
            .ok_or_else(|| not_found("Member", member_id))?;
        if members[pos].role == "owner" {
            return Err(ApiError::new(403, "The project owner cannot be removed"));
        }
        members.remove(pos);
        Ok(())
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
