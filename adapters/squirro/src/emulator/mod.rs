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
//! `project` (the seeded project's title, default [`DEFAULT_PROJECT`]),
//! `access_token_ttl_secs` (default 600, as the server's `access_token_validity`) and
//! `user_data_role` (`applied`, the default; `stored` or `echoed`: a server that keeps
//! `role` in a user-data update as free-form data, see [`state::role_updates`]).

mod answers;
mod contract;
mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use idbridge_core::{Error, Group, Principal, Result, Role, Scope, Snapshot, User};
use idbridge_testkit::emulator::{
    CredentialSpec, EmulatorOptions, Nesting, RequestClass, RunningEmulator, SeedGrant, SeedMember,
    SeedStep, SeedTarget, Seeded, seed, serve,
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
/// [`idbridge_core::ErrorKind::InvalidInput`] for an unreadable `access_token_ttl_secs`
/// or `user_data_role`,
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
    if let Some(mode) = options.extra.get(state::role_updates::OPTION) {
        state.set_role_updates(mode.parse().map_err(Error::invalid_input)?);
    }
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
        seed_snapshot(&state, snap)?;
    }
    Ok(state)
}

/// Loads a snapshot through [`idbridge_testkit::emulator::seed`]: users (those whose
/// login or email is an e-mail address, each with the server role of its global grants),
/// groups with their direct user members (Squirro groups hold users only, so nesting is
/// dropped), and project grants of project roles (creating the projects). What Squirro
/// cannot hold is skipped with a warning.
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] for a snapshot that names a user, group or
/// role it lacks.
pub fn seed_snapshot(state: &State, snap: &Snapshot) -> Result<()> {
    seed(snap, &mut Seeding(state))
}

/// The emulated tenant as the seed fills it.
struct Seeding<'a>(&'a State);

impl SeedTarget for Seeding<'_> {
    fn nesting(&self) -> Nesting {
        Nesting::Drop
    }

    fn add_user(&mut self, snap: &Snapshot, u: &User) -> SeedStep<String> {
        let email = match (&u.email, is_email(&u.login)) {
            (_, true) => u.login.clone(),
            (Some(e), false) if is_email(e) => e.clone(),
            _ => {
                return Ok(Seeded::Skipped(
                    "Squirro logins are e-mail addresses".into(),
                ));
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
        self.0.seed_user(EUser {
            id: id.clone(),
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
        Ok(Seeded::Added(id))
    }

    fn add_group(&mut self, _: &Snapshot, g: &Group) -> SeedStep<String> {
        Ok(Seeded::Added(self.0.seed_group(&g.name, Vec::new())))
    }

    fn add_member(&mut self, group: &str, member: SeedMember<'_>) -> SeedStep<()> {
        match member {
            SeedMember::User(id) => {
                self.0.seed_group_member(group, id);
                Ok(Seeded::Added(()))
            }
            SeedMember::Group(_) => Ok(Seeded::Skipped("Squirro groups hold users only".into())),
        }
    }

    fn add_role(&mut self, _: &Snapshot, r: &Role) -> SeedStep<String> {
        Ok(Seeded::Added(r.name.to_ascii_lowercase()))
    }

    fn add_grant(&mut self, g: SeedGrant<'_>) -> SeedStep<()> {
        let role = g.role_handle;
        match (&g.grant.scope, g.holder) {
            // Set on the user as it was added.
            (Scope::Global, SeedMember::User(_)) if SERVER_ROLES.contains(&role) => {
                Ok(Seeded::Added(()))
            }
            (Scope::Global, _) => Ok(Seeded::Skipped(
                "Squirro holds server roles on users only".into(),
            )),
            (Scope::Project(_), _) if !PROJECT_ROLES.contains(&role) => {
                Ok(Seeded::Skipped("not a Squirro project role".into()))
            }
            (Scope::Project(project), holder) => {
                let is_group = matches!(holder, SeedMember::Group(_));
                self.0
                    .seed_project_member(project, holder.handle(), is_group, role);
                Ok(Seeded::Added(()))
            }
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
