//! A stateful in-memory SCIM 2.0 service provider (RFC 7643, RFC 7644): users, groups
//! with nested members, `startIndex`/`count` paging capped at `maxResults`, `eq` filters
//! on `userName` and `displayName`, PATCH, whole-resource replace, versions with
//! `If-Match`, and SCIM error bodies. It starts empty (or with a seed snapshot) and takes
//! one credential, `token` (the bearer token, default [`DEFAULT_TOKEN`]). Switch in
//! [`EmulatorOptions`]'s `extra`: `max_results` (default [`DEFAULT_MAX_RESULTS`]).

mod answers;
mod contract;
mod index;
mod routes;
pub mod state;

use std::sync::Arc;

use idbridge_core::{Error, Group, Result, Role, Snapshot, User};
use idbridge_testkit::emulator::{
    CredentialSpec, EmulatorOptions, EmulatorServer, Nesting, RunningEmulator, SeedGrant,
    SeedMember, SeedStep, SeedTarget, Seeded, seed, serve,
};
use serde_json::{Value, json};

pub use contract::CONTRACT;
pub use routes::router;
pub use state::{Kind, Settings, State};

use crate::mapping::write_path;
use crate::wire::{GROUP_SCHEMA, USER_SCHEMA};

/// The bearer token unless told otherwise (a development secret).
pub const DEFAULT_TOKEN: &str = "scim-emulator-dev-bearer-token";

/// The most results one list answer holds unless told otherwise.
pub const DEFAULT_MAX_RESULTS: usize = 200;

/// The credentials the emulator takes at start.
pub const CREDENTIALS: &[CredentialSpec] = &[CredentialSpec {
    name: "token",
    description: "the bearer token clients must send (default a fixed development token)",
    secret: true,
}];

/// Builds the seeded state for `options`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] for an unknown credential;
/// [`idbridge_core::ErrorKind::InvalidInput`] for an empty token or a `max_results` that is
/// not a positive number, or a snapshot naming what it lacks.
pub fn seeded_state(options: &EmulatorOptions) -> Result<Arc<State>> {
    options.check_credentials(crate::ADAPTER_NAME, CREDENTIALS)?;
    let token = options.credential_or("token", DEFAULT_TOKEN);
    if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::invalid_input(
            "the emulator's token must be non-empty and hold no space",
        ));
    }
    let max_results = match options.extra.get("max_results") {
        None => DEFAULT_MAX_RESULTS,
        Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::invalid_input(format!(
                "emulator switch max_results=`{v}`: expected a positive number"
            ))
        })?,
    };
    let state = Arc::new(State::new(token, Settings { max_results }));
    if let Some(snap) = &options.seed {
        seed(snap, &mut Seeding { state: &state })?;
    }
    Ok(state)
}

/// The emulated server as the seed fills it.
struct Seeding<'a> {
    state: &'a State,
}

impl SeedTarget for Seeding<'_> {
    fn nesting(&self) -> Nesting {
        Nesting::Keep
    }

    fn add_user(&mut self, _: &Snapshot, u: &User) -> SeedStep<String> {
        let mut doc = serde_json::Map::new();
        doc.insert("schemas".into(), json!([USER_SCHEMA]));
        doc.insert("userName".into(), json!(u.login));
        doc.insert("active".into(), json!(u.enabled));
        if let Some(d) = &u.display_name {
            doc.insert("displayName".into(), json!(d));
            doc.insert("name".into(), json!({"formatted": d}));
        }
        if let Some(e) = &u.email {
            doc.insert(
                "emails".into(),
                json!([{"value": e, "type": "work", "primary": true}]),
            );
        }
        for (k, v) in &u.attributes {
            write_path(&mut doc, k, Some(v));
        }
        match self.state.seed(Kind::Users, Value::Object(doc)) {
            Some(id) => Ok(Seeded::Added(id)),
            None => Ok(Seeded::Skipped(format!("userName `{}` is taken", u.login))),
        }
    }

    fn add_group(&mut self, _: &Snapshot, g: &Group) -> SeedStep<String> {
        let doc = json!({"schemas": [GROUP_SCHEMA], "displayName": g.name});
        match self.state.seed(Kind::Groups, doc) {
            Some(id) => Ok(Seeded::Added(id)),
            None => Ok(Seeded::Skipped(format!(
                "displayName `{}` is taken",
                g.name
            ))),
        }
    }

    fn add_member(&mut self, group: &str, member: SeedMember<'_>) -> SeedStep<()> {
        let (id, kind) = match member {
            SeedMember::User(id) => (id, "User"),
            SeedMember::Group(id) => (id, "Group"),
        };
        self.state
            .seed_member(group, json!({"value": id, "type": kind}))
            .map_err(|e| e.to_string())?;
        Ok(Seeded::Added(()))
    }

    fn add_role(&mut self, _: &Snapshot, _: &Role) -> SeedStep<String> {
        Ok(Seeded::Skipped("SCIM has no roles".into()))
    }

    fn add_grant(&mut self, _: SeedGrant<'_>) -> SeedStep<()> {
        Ok(Seeded::Skipped("SCIM has no grants".into()))
    }
}

/// Starts the emulator and returns its state too (for tests that look inside).
///
/// # Errors
/// As [`seeded_state`]; [`idbridge_core::ErrorKind::Unavailable`] when it cannot listen.
pub async fn start_with_state(options: EmulatorOptions) -> Result<(RunningEmulator, Arc<State>)> {
    let state = seeded_state(&options)?;
    let token = options.credential_or("token", DEFAULT_TOKEN);
    let server: EmulatorServer = serve(router(state.clone()), CONTRACT.classify, options).await?;
    let base_url = server.url();
    let config = json!({
        "adapter": crate::ADAPTER_NAME,
        "base_url": base_url,
        "api_key": token,
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

/// Starts the emulator (the registered start function of `idbridge emulate scim`).
///
/// # Errors
/// As [`start_with_state`].
pub async fn start(options: EmulatorOptions) -> Result<RunningEmulator> {
    start_with_state(options).await.map(|(e, _)| e)
}
