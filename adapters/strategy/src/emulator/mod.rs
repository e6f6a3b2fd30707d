//! A stateful, in-memory Strategy One server: the REST endpoints this adapter uses and
//! those the official Python SDK (mstrio-py) needs to connect, manage users, user groups,
//! their members and security roles, and list and end user connections.
//!
//! Start it with [`start`] (what `idbridge emulate strategy` runs) or build the router
//! yourself with [`router`] over an [`EmulatorState`].
//!
//! What it reproduces:
//! - login form-encoded or JSON, answering 204 with `X-MSTR-AuthToken` and a `JSESSIONID`
//!   cookie; every later call needs the token **and** the cookie, else 401 `ERR009`;
//!   sessions expire after `session_timeout_secs` idle (401 `ERR009`);
//! - a login opens a configuration-level user connection on the one cluster node, and a
//!   request naming a project (`X-MSTR-ProjectID`) opens a project connection; both show
//!   in the sessions monitor and can be disconnected (the bulk endpoint answers 200, 207
//!   or 403 with per-connection statuses; the caller's own connection is refused);
//! - `X-MSTR-Total-Count` on every paged listing, the Everyone group listing every user,
//!   PATCH `operationList` with case-insensitive `op`, the `/api/objects/{id}` routes;
//! - duplicates answer 409 `ERR015`, missing records 404 `ERR004`, unknown routes 404
//!   `ERR004` `HTTP 404 Not Found`, missing objects on `/api/objects` 500 `ERR001`.
//!
//! Credentials ([`CREDENTIALS`]): `admin_user` and `admin_password`. Requests under
//! `/api/auth/` are logins ([`classify`]); [`sign_in_as`] is its sign-in hook.
//!
//! Vendor switches (`EmulatorOptions::extra`): `session_timeout_secs` (default 600),
//! `version` (default `11.5.0700.0045`; below `11.3.0100` the devices answer as unknown
//! routes, below `11.6.0400` the role-members route does),
//! `bulk_disconnect` (`false` imitates a server before 11.3.1, which has no bulk
//! disconnect).

mod answers;
mod contract;
mod routes;
mod state;

use std::sync::Arc;

use idbridge_core::{Error, Group, Result, Role, Scope, Snapshot, User};
use idbridge_testkit::emulator::{
    CredentialSpec, EmulatorOptions, RequestClass, RunningEmulator, SeedGrant, SeedMember,
    SeedStep, SeedTarget, Seeded, SignInFuture, serve,
};
use serde_json::{Value, json};

pub use contract::CONTRACT;
pub use routes::{PREFIX, router};
pub use state::{
    AddressApi, AddressRec, ApiError, EmulatorState, GENERIC_EMAIL_DEVICE_ID,
    GENERIC_EMAIL_DEVICE_NAME, Inner, MstrError, MstrErrors, NODE_NAME, ProjectRec, Settings,
    TUTORIAL_PROJECT_ID, TUTORIAL_PROJECT_NAME, new_object_id,
};

use crate::wire::format_timestamp;

/// The administrator's login when the options name none.
pub const DEFAULT_ADMIN_USER: &str = "administrator";
/// The administrator's password when the options give none (a development secret).
pub const DEFAULT_ADMIN_PASSWORD: &str = "idbridge-dev-Str4tegy";

/// The credentials the emulator takes at start.
pub const CREDENTIALS: &[CredentialSpec] = &[
    CredentialSpec {
        name: "admin_user",
        description: "the administrator's login (default `administrator`)",
        secret: false,
    },
    CredentialSpec {
        name: "admin_password",
        description: "the administrator's password (default a fixed development password)",
        secret: true,
    },
];

/// Logins, logouts and token requests (`/api/auth/...`) are logins; the rest by method.
pub fn classify(method: &str, path: &str) -> RequestClass {
    if path.contains("/api/auth/") {
        RequestClass::Login
    } else {
        RequestClass::by_method(method)
    }
}

fn sign_in_hook<'a>(emulator: &'a RunningEmulator, login: &'a str) -> SignInFuture<'a> {
    Box::pin(sign_in_as(emulator, login))
}

/// Opens a user connection as `login` on a running Strategy emulator, as a person signing
/// in would: the administrator (from the emulator's adapter configuration) first gives the
/// account a known password through the REST API, since accounts the adapter creates have
/// a random one nobody knows; then `login` signs in with it.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Unavailable`] naming the step that failed (the
/// administrator's login, the user search, the password change, the user's login), or
/// [`idbridge_core::ErrorKind::NotFound`] when no user has that login.
pub async fn sign_in_as(emulator: &RunningEmulator, login: &str) -> Result<()> {
    const PASSWORD: &str = "Emulator-session-pw-7";
    let base = &emulator.base_url;
    let cfg = emulator.adapter_config("admin");
    let text = |k: &str| {
        cfg.settings
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let failed = |step: &str, e: &dyn std::fmt::Display| {
        Error::unavailable(format!("signing in as {login}: {step}: {e}"))
    };
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .map_err(|e| failed("client", &e))?;
    let resp = admin
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": text("username"), "password": text("password"), "loginMode": 1}))
        .send()
        .await
        .map_err(|e| failed("administrator login", &e))?;
    let token = resp
        .headers()
        .get(crate::client::AUTH_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| failed("administrator login", &resp.status()))?
        .to_string();
    let found: Vec<Value> = admin
        .get(format!("{base}/api/users"))
        .query(&[("abbreviationBegins", login)])
        .header(crate::client::AUTH_TOKEN_HEADER, &token)
        .send()
        .await
        .map_err(|e| failed("user search", &e))?
        .json()
        .await
        .map_err(|e| failed("user search", &e))?;
    let id = found
        .iter()
        .find(|u| u["abbreviation"] == login)
        .and_then(|u| u["id"].as_str())
        .ok_or_else(|| Error::not_found(format!("no user `{login}` on the emulator")))?;
    let resp = admin
        .patch(format!("{base}/api/users/{id}"))
        .header(crate::client::AUTH_TOKEN_HEADER, &token)
        .json(
            &json!({"operationList": [{"op": "replace", "path": "/password", "value": PASSWORD}]}),
        )
        .send()
        .await
        .map_err(|e| failed("password change", &e))?;
    if !resp.status().is_success() {
        return Err(failed("password change", &resp.status()));
    }
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": login, "password": PASSWORD, "loginMode": 1}))
        .send()
        .await
        .map_err(|e| failed("login", &e))?;
    if !resp.status().is_success() {
        return Err(failed("login", &resp.status()));
    }
    Ok(())
}

/// Reads the vendor switches from `options.extra`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] naming a switch whose value does not parse.
pub fn settings_from(options: &EmulatorOptions) -> Result<Settings> {
    let mut s = Settings::default();
    for (key, value) in &options.extra {
        match key.as_str() {
            "session_timeout_secs" => {
                s.session_timeout_secs = value.parse().map_err(|_| {
                    Error::config(format!(
                        "emulator option session_timeout_secs: `{value}` is not a number of seconds"
                    ))
                })?;
            }
            "version" => s.version = value.clone(),
            "bulk_disconnect" => {
                s.bulk_disconnect = value.parse().map_err(|_| {
                    Error::config(format!(
                        "emulator option bulk_disconnect: `{value}` is not true or false"
                    ))
                })?;
            }
            other => {
                return Err(Error::config(format!(
                    "unknown strategy emulator option `{other}`; known: session_timeout_secs, version, bulk_disconnect"
                )));
            }
        }
    }
    Ok(s)
}

/// Builds the state the options describe: built-ins, the administrator's credentials, the
/// seed snapshot.
///
/// # Errors
/// As [`settings_from`] and [`seed`]; [`idbridge_core::ErrorKind::Config`] for a
/// credential not in [`CREDENTIALS`].
pub fn state_from(options: &EmulatorOptions) -> Result<Arc<EmulatorState>> {
    options.check_credentials("strategy", CREDENTIALS)?;
    let admin_user = options.credential_or("admin_user", DEFAULT_ADMIN_USER);
    let admin_password = options.credential_or("admin_password", DEFAULT_ADMIN_PASSWORD);
    let state = Arc::new(EmulatorState::new(
        &admin_user,
        &admin_password,
        settings_from(options)?,
    ));
    if let Some(dir) = &options.seed {
        seed(&state, dir)?;
    }
    Ok(state)
}

/// Starts the emulator on `options.listen` and returns it with the target configuration
/// that connects to it (the administrator's credentials, the Tutorial project).
///
/// # Errors
/// A bad option or seed, or an address that cannot be bound.
pub async fn start(options: EmulatorOptions) -> Result<RunningEmulator> {
    start_with_state(options).await.map(|(r, _)| r)
}

/// Like [`start`], also returning the state (for tests that look inside).
///
/// # Errors
/// As [`start`].
pub async fn start_with_state(
    options: EmulatorOptions,
) -> Result<(RunningEmulator, Arc<EmulatorState>)> {
    let state = state_from(&options)?;
    let (admin_user, admin_password) = {
        let i = state.lock();
        let admin = i
            .users
            .get(crate::wire::ADMINISTRATOR_USER_ID)
            .ok_or_else(|| Error::protocol("the emulator lost its administrator"))?;
        (
            admin.username.clone(),
            admin.password.clone().unwrap_or_default(),
        )
    };
    let server = serve(router(state.clone()), classify, options).await?;
    let base_url = format!("{}/MicroStrategyLibrary", server.url());
    let config = json!({
        "adapter": "strategy",
        "base_url": base_url,
        "username": admin_user,
        "password": admin_password,
        "login_mode": "standard",
        "project": TUTORIAL_PROJECT_NAME,
    });
    Ok((
        RunningEmulator {
            vendor: "strategy",
            base_url,
            config,
            target_settings: json!({
                "roles": {"analyst": {"role": "Normal Users", "project": TUTORIAL_PROJECT_NAME}}
            }),
            contract: &CONTRACT,
            server,
        },
        state,
    ))
}

/// Loads a snapshot into the state through [`idbridge_testkit::emulator::seed`]: users
/// (no password: they log in with an empty one), groups, their members and nesting, roles
/// (matched to existing security roles by name, else created), and grants. A project
/// scope names a project, which is created when missing; a global grant goes to the
/// Tutorial project. The snapshot's own ids are not kept: Strategy assigns its own.
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] when a reference cannot be resolved or the
/// emulator refuses a record (a duplicate name, a nesting cycle).
pub fn seed(state: &EmulatorState, snap: &Snapshot) -> Result<()> {
    idbridge_testkit::emulator::seed(snap, &mut *state.lock())
}

impl SeedTarget for Inner {
    fn add_user(&mut self, _: &Snapshot, u: &User) -> SeedStep<String> {
        let mut body = json!({
            "username": u.login,
            "fullName": u.display_name.clone().unwrap_or_else(|| u.login.clone()),
            "enabled": u.enabled,
        });
        if let Some(e) = &u.email {
            body["defaultEmailAddress"] = Value::from(e.as_str());
        }
        if let Some(d) = u.attributes.get(crate::DESCRIPTION_ATTRIBUTE) {
            body["description"] = Value::from(d.as_str());
        }
        self.create_user(&body).map(Seeded::Added).map_err(refusal)
    }

    fn add_group(&mut self, _: &Snapshot, g: &Group) -> SeedStep<String> {
        let mut body = json!({"name": g.name});
        if let Some(d) = &g.description {
            body["description"] = Value::from(d.as_str());
        }
        self.create_group(&body).map(Seeded::Added).map_err(refusal)
    }

    fn add_member(&mut self, group: &str, member: SeedMember<'_>) -> SeedStep<()> {
        self.add_member(group, member.handle())
            .map(Seeded::Added)
            .map_err(refusal)
    }

    fn add_role(&mut self, _: &Snapshot, r: &Role) -> SeedStep<String> {
        let existing = self
            .roles
            .values()
            .find(|x| x.name.eq_ignore_ascii_case(&r.name))
            .map(|x| x.id.clone());
        let id = match existing {
            Some(id) => id,
            None => self
                .create_role(&json!({"name": r.name, "description": ""}))
                .map_err(refusal)?,
        };
        if let Scope::Project(p) = &r.scope {
            ensure_project(self, p);
        }
        Ok(Seeded::Added(id))
    }

    fn add_grant(&mut self, g: SeedGrant<'_>) -> SeedStep<()> {
        let project = match &g.grant.scope {
            Scope::Project(p) => ensure_project(self, p),
            Scope::Global => TUTORIAL_PROJECT_ID.to_string(),
        };
        let ops = state::parse_operations(&json!({"operationList": [{
            "op": "add", "path": "/members",
            "value": {"projectId": project, "memberIds": [g.holder.handle()]}
        }]}))
        .map_err(refusal)?;
        self.patch_role(g.role_handle, &ops)
            .map(Seeded::Added)
            .map_err(refusal)
    }
}

/// The emulator's refusal, as the seed reports it.
fn refusal(e: ApiError) -> String {
    e.message
}

/// The id of the project named (or with id) `key`, created when missing.
fn ensure_project(i: &mut Inner, key: &str) -> String {
    if let Some(p) = i.project(key) {
        return p.id.clone();
    }
    let id = new_object_id();
    i.projects.push(ProjectRec {
        id: id.clone(),
        name: key.to_string(),
        description: format!(
            "Created by the emulator's seed on {}",
            format_timestamp(chrono::Utc::now())
        ),
    });
    id
}
