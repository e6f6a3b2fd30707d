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
//! `extra`: `bulk` (`false` imitates a server older than 14.2: no bulk endpoints, no
//! `includeSettings`) and `project` (the seeded project's key).

mod answers;
mod contract;
mod routes;
pub mod state;

use std::collections::BTreeSet;
use std::sync::Arc;

use idbridge_core::{Error, Principal, Result, Scope, Snapshot};
use idbridge_testkit::emulator::{
    CredentialSpec, EmulatorOptions, EmulatorServer, RequestClass, RunningEmulator, serve,
};
use serde_json::{Map, Value, json};

pub use contract::CONTRACT;
pub use routes::{ROOTS, query_bool, router};
pub use state::{ApiError, ApiKey, Settings, State};

use crate::config::{DEFAULT_PROJECT_ROLES, PROJECT_FLAGS};
use crate::wire::is_global_flag;

/// The administrator's API key unless told otherwise (a development secret).
pub const DEFAULT_API_KEY: &str = "dss-emulator-dev-admin-api-key";

/// The administrator's login unless told otherwise.
pub const DEFAULT_ADMIN_LOGIN: &str = "admin";

/// The seeded project's key unless told otherwise.
pub const DEFAULT_PROJECT_KEY: &str = "SANDBOX";

/// The id of the seeded administrator's API key.
pub const ADMIN_KEY_ID: &str = "emulator-admin-key";

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
/// [`idbridge_core::ErrorKind::InvalidInput`] for an unreadable `bulk` switch, an empty
/// API key or administrator login, or a project key that is not `A-Z0-9_`.
pub fn seeded_state(options: &EmulatorOptions) -> Result<Arc<State>> {
    options.check_credentials(crate::ADAPTER_NAME, CREDENTIALS)?;
    let bulk = match options.extra.get("bulk").map(|s| s.to_ascii_lowercase()) {
        None => true,
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
        seed_snapshot(&state, snap);
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

/// Loads a snapshot: groups, users (each with its groups and every group above them, since
/// DSS groups cannot nest; attributes as admin properties), global grants (the role becomes a
/// group carrying the role's `admin`/`may…` privileges; users join it, groups get its flags)
/// and project grants (a permission entry with the project role's flags, creating the
/// project). What DSS cannot hold is skipped with a warning.
pub fn seed_snapshot(state: &State, snap: &Snapshot) {
    for g in &snap.groups {
        if !state.has_group(&g.name) {
            state.seed_group(&g.name, g.description.as_deref(), &[]);
        }
    }
    for u in &snap.users {
        let all: BTreeSet<String> = snap
            .groups_above(&Principal::User(u.id.clone()))
            .into_iter()
            .map(|g| g.name.clone())
            .collect();
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
        doc.insert(
            "groups".into(),
            Value::Array(all.into_iter().map(Value::String).collect()),
        );
        doc.insert("adminProperties".into(), Value::Object(attrs));
        state.seed_user(doc, 0);
    }
    for grant in &snap.grants {
        let Some(role) = snap.role(&grant.role) else {
            tracing::warn!(role = %grant.role, "seed grant skipped: unknown role");
            continue;
        };
        let holder = match &grant.principal {
            Principal::User(id) => snap.user(id).map(|u| ("user", u.login.as_str())),
            Principal::Group(id) => snap.group(id).map(|g| ("group", g.name.as_str())),
        };
        let Some((kind, holder)) = holder else {
            tracing::warn!(role = %role.name, "seed grant skipped: unknown holder");
            continue;
        };
        match &grant.scope {
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
                    if let Ok(mut doc) = state.get_user(holder) {
                        let mut groups = crate::emulator::state::groups_of(&doc);
                        if !groups.contains(&role.name) {
                            groups.push(role.name.clone());
                        }
                        crate::wire::set_user_groups(&mut doc, &groups);
                        let _ = state.replace_user(holder, doc);
                    }
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
                    tracing::warn!(role = %role.name, project = %p, "seed grant skipped: not a project role DSS can express");
                    continue;
                }
                let key = project_key_for(p);
                if !state.has_project(&key) {
                    state.seed_project(&key, p, DEFAULT_ADMIN_LOGIN, Vec::new());
                }
                state.seed_project_entry(&key, (kind, holder), &flags);
            }
        }
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
