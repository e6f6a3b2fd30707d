//! A stateful in-memory Squirro: the token exchange, the user API (users, password policy,
//! grants, sessions, groups and their members, project members) and the topic API's
//! project endpoints, faithful enough for the official `squirroclient`.
//!
//! It serves `{base}/api/user/...` and `{base}/api/topic/...`, so both the adapter and
//! `SquirroClient(None, None, cluster=base)` connect with the base URL alone. It starts
//! with one tenant, an administrator holding a refresh token, and one project; a seed
//! snapshot adds users, groups, server roles and project
//! memberships.
//!
//! Credentials ([`CREDENTIALS`]): `refresh_token` (the administrator's token, default
//! [`DEFAULT_REFRESH_TOKEN`]), `admin_user` (its e-mail, default [`DEFAULT_ADMIN_EMAIL`]),
//! `admin_password` (for the password grant, default [`DEFAULT_ADMIN_PASSWORD`]). The
//! token exchange is a login ([`classify`]). Switches in [`EmulatorOptions`]'s `extra`: `tenant` (default [`DEFAULT_TENANT`]),
//! `project` (the seeded project's title, default [`DEFAULT_PROJECT`]) and
//! `access_token_ttl_secs` (default 600, as the server's `access_token_validity`).

mod answers;
mod contract;
mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use idbridge_core::{Error, Principal, Result, Scope, Snapshot};
use idbridge_testkit::emulator::{
    CredentialSpec, EmulatorOptions, RequestClass, RunningEmulator, serve,
};
use serde_json::{Map, Value, json};

pub use contract::CONTRACT;
pub use routes::{parse_fields, query_bool, router};
pub use state::{EUser, Settings, State};

use crate::config::{PROJECT_ROLES, SERVER_ROLES};
use crate::users::is_email;

/// The tenant the emulator serves unless told otherwise.
pub const DEFAULT_TENANT: &str = "squirro";

/// The administrator's refresh token unless told otherwise (a development secret).
pub const DEFAULT_REFRESH_TOKEN: &str = "squirro-emulator-dev-refresh-token";

/// The administrator's e-mail (its login) unless told otherwise.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@squirro.example";

/// The administrator's password unless told otherwise (a development secret).
pub const DEFAULT_ADMIN_PASSWORD: &str = "squirro-emulator-dev-password";

/// The seeded project's title unless told otherwise.
pub const DEFAULT_PROJECT: &str = "Default Project";

/// The seeded administrator's id.
pub const ADMIN_ID: &str = "sqEmulatorAdmin0000001";

/// The seeded administrator's grant (session) id.
pub const ADMIN_SESSION_ID: &str = "sqEmulatorAdminGrant01";

/// The seeded project's id.
pub const PROJECT_ID: &str = "sqEmulatorProject00001";

/// The default access-token validity.
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(600);

/// The credentials the emulator takes at start.
pub const CREDENTIALS: &[CredentialSpec] = &[
    CredentialSpec {
        name: "admin_user",
        description: "the administrator's e-mail, its login (default `admin@squirro.example`)",
        secret: false,
    },
    CredentialSpec {
        name: "admin_password",
        description: "the administrator's password for the password grant (default a fixed development password)",
        secret: true,
    },
    CredentialSpec {
        name: "refresh_token",
        description: "the administrator's refresh token (default a fixed development token)",
        secret: true,
    },
];

/// The token exchange (`/api/user/oauth2/token`) is a login; the rest by method.
pub fn classify(method: &str, path: &str) -> RequestClass {
    if path.contains("/oauth2/") || path.ends_with("/token") {
        RequestClass::Login
    } else {
        RequestClass::by_method(method)
    }
}

/// Builds the seeded state for `options`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] for a credential not in [`CREDENTIALS`];
/// [`idbridge_core::ErrorKind::InvalidInput`] for an unreadable `access_token_ttl_secs`,
/// an administrator login that is not an e-mail address, or an empty tenant.
pub fn seeded_state(options: &EmulatorOptions) -> Result<Arc<State>> {
    options.check_credentials(crate::ADAPTER_NAME, CREDENTIALS)?;
    let tenant = options
        .extra
        .get("tenant")
        .cloned()
        .unwrap_or_else(|| DEFAULT_TENANT.to_string());
    if tenant.trim().is_empty() || tenant.contains('/') {
        return Err(Error::invalid_input(format!(
            "emulator tenant `{tenant}` is not a domain"
        )));
    }
    let ttl = match options.extra.get("access_token_ttl_secs") {
        None => DEFAULT_ACCESS_TOKEN_TTL,
        Some(v) => Duration::from_secs(v.parse().map_err(|_| {
            Error::invalid_input(format!("access_token_ttl_secs `{v}` is not a whole number"))
        })?),
    };
    let admin_email = options.credential_or("admin_user", DEFAULT_ADMIN_EMAIL);
    if !is_email(&admin_email) {
        return Err(Error::invalid_input(format!(
            "the Squirro emulator's administrator login must be an e-mail address, not `{admin_email}`"
        )));
    }
    let state = Arc::new(State::new(Settings {
        tenant,
        access_token_ttl: ttl,
        min_password_length: 8,
    }));
    state.seed_user(EUser {
        id: ADMIN_ID.to_string(),
        email: admin_email,
        full_name: Some("Administrator".to_string()),
        role: "admin".to_string(),
        password: Some(options.credential_or("admin_password", DEFAULT_ADMIN_PASSWORD)),
        custom: Map::new(),
    });
    let refresh = options.credential_or("refresh_token", DEFAULT_REFRESH_TOKEN);
    state.seed_grant(ADMIN_ID, ADMIN_SESSION_ID, &refresh);
    let project = options
        .extra
        .get("project")
        .cloned()
        .unwrap_or_else(|| DEFAULT_PROJECT.to_string());
    state.seed_project(PROJECT_ID, &project);
    if let Some(snap) = &options.seed {
        seed_snapshot(&state, snap);
    }
    Ok(state)
}

/// Loads a snapshot: users (those whose login or email is an e-mail address), groups with
/// their direct user members (nesting is flattened away: Squirro groups hold users only),
/// global grants of server roles, and project grants of project roles (creating the
/// projects). What Squirro cannot hold is skipped with a warning.
pub fn seed_snapshot(state: &State, snap: &Snapshot) {
    let mut ids_by_user = std::collections::HashMap::new();
    for u in &snap.users {
        let email = match (&u.email, is_email(&u.login)) {
            (_, true) => u.login.clone(),
            (Some(e), false) if is_email(e) => e.clone(),
            _ => {
                tracing::warn!(login = %u.login, "seed user skipped: Squirro logins are e-mail addresses");
                continue;
            }
        };
        let mut role = "user".to_string();
        for (g, r) in snap.grants_of(&Principal::User(u.id.clone())) {
            let name = r.name.to_ascii_lowercase();
            if g.scope.is_global() && SERVER_ROLES.contains(&name.as_str()) {
                role = name;
            }
        }
        let id = state::new_id();
        ids_by_user.insert(u.id.clone(), id.clone());
        state.seed_user(EUser {
            id,
            email,
            full_name: u.display_name.clone(),
            role,
            password: None,
            custom: u
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        });
    }
    let mut ids_by_group = std::collections::HashMap::new();
    for g in &snap.groups {
        let members = snap
            .members_of(&g.id)
            .into_iter()
            .filter_map(|m| match m {
                Principal::User(id) => ids_by_user.get(id).cloned(),
                Principal::Group(_) => None,
            })
            .collect();
        ids_by_group.insert(g.id.clone(), state.seed_group(&g.name, members));
    }
    for g in &snap.grants {
        let Scope::Project(project) = &g.scope else {
            continue;
        };
        let name = snap.role(&g.role).map_or_else(
            || g.role.to_ascii_lowercase(),
            |r| r.name.to_ascii_lowercase(),
        );
        if !PROJECT_ROLES.contains(&name.as_str()) {
            tracing::warn!(role = %name, %project, "seed grant skipped: not a Squirro project role");
            continue;
        }
        let member = match &g.principal {
            Principal::User(id) => ids_by_user.get(id).map(|id| (id.clone(), false)),
            Principal::Group(id) => ids_by_group.get(id).map(|id| (id.clone(), true)),
        };
        if let Some((id, is_group)) = member {
            state.seed_project_member(project, &id, is_group, &name);
        }
    }
}

/// The adapter configuration that connects to an emulator at `base_url`.
pub fn adapter_settings(base_url: &str, tenant: &str, refresh_token: &str) -> Value {
    json!({
        "adapter": crate::ADAPTER_NAME,
        "cluster_url": base_url,
        "tenant": tenant,
        "refresh_token": refresh_token,
    })
}

/// Starts the emulator and also returns its state (for tests that inspect or age it).
///
/// # Errors
/// Invalid options (see [`seeded_state`]) or an address that cannot be bound.
pub async fn start_with_state(options: EmulatorOptions) -> Result<(RunningEmulator, Arc<State>)> {
    let state = seeded_state(&options)?;
    let refresh = options.credential_or("refresh_token", DEFAULT_REFRESH_TOKEN);
    let server = serve(router(state.clone()), classify, options).await?;
    let base_url = server.url();
    let running = RunningEmulator {
        vendor: crate::ADAPTER_NAME,
        config: adapter_settings(&base_url, state.tenant(), &refresh),
        base_url,
        target_settings: json!({}),
        contract: &CONTRACT,
        server,
    };
    Ok((running, state))
}

/// Starts the emulator (the registered start function).
///
/// # Errors
/// As [`start_with_state`].
pub async fn start(options: EmulatorOptions) -> Result<RunningEmulator> {
    start_with_state(options).await.map(|(running, _)| running)
}
