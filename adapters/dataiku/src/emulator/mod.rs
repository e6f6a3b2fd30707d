//! A stateful in-memory Dataiku DSS public API, faithful enough for the official
//! `dataiku-api-client` and for the adapter: users (whole settings documents, activity,
//! bulk endpoints), groups (whole definitions with permission flags), memberships on users,
//! the authorization matrix, projects with their permissions documents, `/auth/info`,
//! `/current-user` and immediately finished futures.
//!
//! It serves both API roots (`/dip/publicapi` and `/public/api`) and starts with:
//! an administrator `admin` (in `administrators`) whose personal API key is
//! [`DEFAULT_API_KEY`]; the groups DSS installs (`administrators` with `admin`, `data_team`
//! with project-creation and code flags, `readers` with none); and one project
//! ([`DEFAULT_PROJECT_KEY`]) where `data_team` holds contributor rights. A seed snapshot
//! adds users, groups (nesting flattened into each user's
//! groups, as DSS has no nested groups), global roles (as groups carrying the role's
//! `admin`/`may…` privileges) and project roles (as permission entries).
//!
//! Credentials ([`CREDENTIALS`]): `api_key` (default [`DEFAULT_API_KEY`]) and
//! `admin_user` (the administrator's login, default [`DEFAULT_ADMIN_LOGIN`]). Identity
//! checks (`/auth/info`) are logins ([`classify`]). Switches in [`EmulatorOptions`]'s
//! `extra`: `version` (the DSS version imitated, see [`server`]), `bulk` (`false`
//! imitates a server older than 14.2 whatever the version: no bulk endpoints, no
//! `includeSettings`), `profiles` (the user profiles the licence offers) and `project`
//! (the seeded project's key).

mod answers;
mod contract;
mod routes;
pub mod server;
pub mod state;

use std::sync::Arc;

use idbridge_core::{Error, Group, Result, Role, Scope, Snapshot, User};
use idbridge_testkit::emulator::{
    CredentialSpec, EmulatorOptions, EmulatorServer, Nesting, RequestClass, RunningEmulator,
    SeedGrant, SeedMember, SeedStep, SeedTarget, Seeded, seed, serve,
};
use serde_json::{Map, Value, json};

pub use contract::CONTRACT;
pub use routes::{ROOTS, query_bool, router};
pub use state::{ApiError, ApiKey, Settings, State};

use crate::config::DEFAULT_PROJECT_ROLES;
use crate::wire::is_global_flag;

/// The administrator's API key unless told otherwise (a development secret).
pub const DEFAULT_API_KEY: &str = "dss-emulator-dev-admin-api-key";

/// The administrator's login unless told otherwise.
pub const DEFAULT_ADMIN_LOGIN: &str = "admin";

/// The seeded project's key unless told otherwise.
pub const DEFAULT_PROJECT_KEY: &str = "SANDBOX";

/// The id of the seeded administrator's API key.
pub const ADMIN_KEY_ID: &str = "emulator-admin-key";

/// The flags the emulator's project permission entries carry: those the official client's
/// documented models name, and those the default project roles use. No other name is
/// emulated, as none has evidence of what a server stores.
pub const PROJECT_FLAGS: &[&str] = &[
    "admin",
    "readProjectContent",
    "writeProjectContent",
    "readDashboards",
    "writeDashboards",
    "runScenarios",
];

/// The flags of the seeded `data_team` group.
pub const DATA_TEAM_FLAGS: &[&str] = &[
    "mayCreateProjects",
    "mayWriteSafeCode",
    "mayCreateActiveWebContent",
];

/// The credentials the emulator takes at start.
pub const CREDENTIALS: &[CredentialSpec] = &[
    CredentialSpec {
        name: "admin_user",
        description: "the administrator's login (default `admin`)",
        secret: false,
    },
    CredentialSpec {
        name: "api_key",
        description: "the administrator's personal API key (default a fixed development key)",
        secret: true,
    },
];

/// The identity check (`/auth/info`, under either API root) is a login; the rest by
/// method.
pub fn classify(method: &str, path: &str) -> RequestClass {
    if path.ends_with("/auth/info") {
        RequestClass::Login
    } else {
        RequestClass::by_method(method)
    }
}

fn flags_of(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

fn project_role_flags(role: &str) -> Option<Vec<String>> {
    DEFAULT_PROJECT_ROLES
        .iter()
        .find(|(n, _)| *n == role)
        .map(|(_, f)| flags_of(f))
}

/// Builds the seeded state for `options`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] for a credential not in [`CREDENTIALS`];
/// [`idbridge_core::ErrorKind::InvalidInput`] for an unreadable `bulk`, `version` or
/// `profiles` switch ([`server`]), an empty
/// API key or administrator login, or a project key that is not `A-Z0-9_`.
pub fn seeded_state(options: &EmulatorOptions) -> Result<Arc<State>> {
    options.check_credentials(crate::ADAPTER_NAME, CREDENTIALS)?;
    let bulk = match options.extra.get("bulk").map(|s| s.to_ascii_lowercase()) {
        None => server::bulk_by_version(options)?,
        Some(v) if matches!(v.as_str(), "true" | "on" | "yes" | "1") => true,
        Some(v) if matches!(v.as_str(), "false" | "off" | "no" | "0") => false,
        Some(v) => {
            return Err(Error::invalid_input(format!(
                "emulator switch bulk=`{v}`: expected true or false"
            )));
        }
    };
    let key = options.credential_or("api_key", DEFAULT_API_KEY);
    if key.is_empty() || key.contains(':') {
        return Err(Error::invalid_input(
            "the emulator's API key must be non-empty and contain no `:`",
        ));
    }
    let admin = options.credential_or("admin_user", DEFAULT_ADMIN_LOGIN);
    if admin.trim().is_empty() || admin.contains('/') {
        return Err(Error::invalid_input(format!(
            "`{admin}` is not a usable administrator login"
        )));
    }
    let project = options
        .extra
        .get("project")
        .cloned()
        .unwrap_or_else(|| DEFAULT_PROJECT_KEY.to_string());
    if project.is_empty()
        || !project
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::invalid_input(format!(
            "project key `{project}`: expected capital letters, digits and `_`"
        )));
    }
    let state = Arc::new(State::new(Settings { bulk }));
    if let Some(profiles) = server::licence_profiles(options)? {
        state.licence().restrict(profiles);
    }
    state.seed_group(
        crate::ADMINISTRATORS_GROUP,
        Some("DSS administrators"),
        &["admin"],
    );
    state.seed_group("data_team", Some("Data team"), DATA_TEAM_FLAGS);
    state.seed_group("readers", Some("Read-only users"), &[]);
    let mut doc = Map::new();
    doc.insert("login".into(), Value::String(admin.clone()));
    doc.insert("displayName".into(), Value::String("Administrator".into()));
    doc.insert("email".into(), Value::String("admin@dss.example".into()));
    doc.insert("userProfile".into(), Value::String("DESIGNER".into()));
    doc.insert("groups".into(), json!([crate::ADMINISTRATORS_GROUP]));
    state.seed_user(doc, state::now_ms());
    state.seed_key(
        &key,
        ApiKey {
            id: ADMIN_KEY_ID.to_string(),
            user: Some(admin.clone()),
            admin: true,
        },
    );
    let mut contributor = Map::new();
    contributor.insert("group".into(), Value::String("data_team".into()));
    for f in PROJECT_FLAGS {
        contributor.insert((*f).into(), Value::Bool(false));
    }
    for f in project_role_flags("contributor").unwrap_or_default() {
        contributor.insert(f, Value::Bool(true));
    }
    state.seed_project(
        &project,
        "Sandbox",
        &admin,
        vec![Value::Object(contributor)],
    );
    if let Some(snap) = &options.seed {
        seed_snapshot(&state, snap)?;
    }
    Ok(state)
}

/// A project key for a scope name: the name itself when it is a key, else the name in
/// capitals with every other character turned into `_`.
pub fn project_key_for(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return name.to_string();
    }
    let key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() {
        "PROJECT".to_string()
    } else {
        key
    }
}

/// Loads a snapshot through [`idbridge_testkit::emulator::seed`]: users (attributes as
/// admin properties), groups, memberships (each user in every group above it, since DSS
/// groups cannot nest), global grants (the role becomes a group carrying the role's
/// `admin`/`may…` privileges; users join it, groups get its flags) and project grants (a
/// permission entry with the project role's flags, creating the project). What DSS cannot
/// hold is skipped with a warning.
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] for a snapshot that names a user, group or
/// role it lacks.
pub fn seed_snapshot(state: &State, snap: &Snapshot) -> Result<()> {
    seed(snap, &mut Seeding(state))
}

/// The emulated instance as the seed fills it.
struct Seeding<'a>(&'a State);

impl SeedTarget for Seeding<'_> {
    fn nesting(&self) -> Nesting {
        Nesting::Flatten
    }

    fn add_user(&mut self, _: &Snapshot, u: &User) -> SeedStep<String> {
        let attrs: Map<String, Value> = u
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut doc = Map::new();
        doc.insert("login".into(), Value::String(u.login.clone()));
        doc.insert(
            "displayName".into(),
            Value::String(u.display_name.clone().unwrap_or_default()),
        );
        doc.insert(
            "email".into(),
            u.email.clone().map_or(Value::Null, Value::String),
        );
        doc.insert("enabled".into(), Value::Bool(u.enabled));
        doc.insert("groups".into(), Value::Array(Vec::new()));
        doc.insert("adminProperties".into(), Value::Object(attrs));
        self.0.seed_user(doc, 0);
        Ok(Seeded::Added(u.login.clone()))
    }

    fn add_group(&mut self, _: &Snapshot, g: &Group) -> SeedStep<String> {
        if !self.0.has_group(&g.name) {
            self.0.seed_group(&g.name, g.description.as_deref(), &[]);
        }
        Ok(Seeded::Added(g.name.clone()))
    }

    fn add_member(&mut self, group: &str, member: SeedMember<'_>) -> SeedStep<()> {
        match member {
            SeedMember::User(login) => {
                self.0.seed_user_group(login, group, true);
                Ok(Seeded::Added(()))
            }
            SeedMember::Group(_) => Ok(Seeded::Skipped("DSS groups cannot nest".into())),
        }
    }

    fn add_role(&mut self, _: &Snapshot, r: &Role) -> SeedStep<String> {
        Ok(Seeded::Added(r.name.clone()))
    }

    fn add_grant(&mut self, g: SeedGrant<'_>) -> SeedStep<()> {
        let (role, state) = (g.role, self.0);
        let (kind, holder) = match g.holder {
            SeedMember::User(login) => ("user", login),
            SeedMember::Group(name) => ("group", name),
        };
        match &g.grant.scope {
            Scope::Global => {
                let flags: Vec<String> = role
                    .privileges
                    .iter()
                    .filter(|p| is_global_flag(p))
                    .cloned()
                    .collect();
                if !state.has_group(&role.name) {
                    state.seed_group(&role.name, Some("role"), &[]);
                }
                state.seed_group_flags(&role.name, &flags);
                if flags.is_empty() {
                    tracing::warn!(role = %role.name, "seeded global role has no admin/may… privilege, so its group is a plain group");
                }
                if kind == "user" {
                    state.seed_user_group(holder, &role.name, false);
                } else {
                    state.seed_group_flags(holder, &flags);
                }
            }
            Scope::Project(p) => {
                let flags = project_role_flags(&role.name).unwrap_or_else(|| {
                    role.privileges
                        .iter()
                        .filter(|f| PROJECT_FLAGS.contains(&f.as_str()))
                        .cloned()
                        .collect()
                });
                if flags.is_empty() {
                    return Ok(Seeded::Skipped(format!(
                        "not a project role DSS can express (project `{p}`)"
                    )));
                }
                let key = project_key_for(p);
                if !state.has_project(&key) {
                    state.seed_project(&key, p, DEFAULT_ADMIN_LOGIN, Vec::new());
                }
                state.seed_project_entry(&key, (kind, holder), &flags);
            }
        }
        Ok(Seeded::Added(()))
    }
}

/// Starts the emulator and also returns its state (for tests that inspect it).
///
/// # Errors
/// As [`seeded_state`]; [`idbridge_core::ErrorKind::Unavailable`] when the address cannot
/// be bound.
pub async fn start_with_state(options: EmulatorOptions) -> Result<(RunningEmulator, Arc<State>)> {
    let state = seeded_state(&options)?;
    let key = options.credential_or("api_key", DEFAULT_API_KEY);
    let server: EmulatorServer = serve(router(state.clone()), classify, options).await?;
    let base_url = server.url();
    let config = json!({
        "adapter": crate::ADAPTER_NAME,
        "base_url": base_url,
        "api_key": key,
    });
    Ok((
        RunningEmulator {
            vendor: crate::ADAPTER_NAME,
            base_url,
            config,
            target_settings: json!({}),
            contract: &CONTRACT,
            server,
        },
        state,
    ))
}

/// Starts the emulator (the registered start function of `idbridge emulate dataiku`).
///
/// # Errors
/// As [`start_with_state`].
pub async fn start(options: EmulatorOptions) -> Result<RunningEmulator> {
    start_with_state(options).await.map(|(e, _)| e)
}
