//! Loading the configuration file: TOML, YAML or JSON, overridable from the environment.
//!
//! ```toml
//! state = "idbridge.db"
//! [source]
//! adapter = "file"
//! path = "examples/directory.yaml"
//! [targets.bi]
//! adapter = "portal"
//! base_url = "http://127.0.0.1:8081/portal"
//! username = "administrator"
//! password_file = "/run/secrets/bi-password"
//! ```
//!
//! Environment variables `IDBRIDGE__<KEY>__<KEY>...` override keys (`IDBRIDGE__TARGETS__BI__PASSWORD`
//! sets `targets.bi.password`); the double underscore separates levels because key names
//! contain single ones. An override is kept as the text it is: a string key (every secret
//! among them) gets it exactly as given (`007` stays `007`), and a number or boolean key
//! reads its number or boolean from the text. Unknown keys are rejected. Every error names the file, the key path
//! and what was expected.
//!
//! This module reads the shape shared by all parts: `state`, `source`, `targets`. Each
//! system section's keys other than `adapter` belong to its adapter (and, for targets, to
//! the sync engine), which validate them against their own typed structs through
//! [`AdapterConfig::parse`].
//!
//! The submodules: `adapter` (one instance's section as its adapter receives it), `urls`
//! (the plain-HTTP guard on server URLs) and `secrets` (`<key>_file` secrets, bounded
//! reads).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Error, Result};

mod adapter;
mod secrets;
mod state;
mod urls;

pub use adapter::AdapterConfig;
pub use secrets::MAX_SECRET_FILE_BYTES;
pub(crate) use secrets::read_bounded;
pub use state::{
    DEFAULT_TENANT, check_tenant, is_postgres_state, postgres_locator, remember_state_ca_file,
    remember_state_password, state_ca_file, state_password, url_tenant,
};
pub use urls::{ALLOW_PLAIN_HTTP_KEY, is_loopback};

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "IDBRIDGE";

/// The separator between key levels in environment overrides.
pub const ENV_SEPARATOR: &str = "__";

/// Where a configuration came from, for error messages and relative paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOrigin {
    /// The file, or `None` for a configuration built in memory.
    pub file: Option<PathBuf>,
    /// The directory relative paths in the configuration are resolved against: the file's
    /// directory, or the working directory.
    pub base_dir: PathBuf,
}

impl ConfigOrigin {
    /// An in-memory origin whose relative paths resolve against `base_dir`.
    pub fn in_memory(base_dir: impl Into<PathBuf>) -> Self {
        ConfigOrigin {
            file: None,
            base_dir: base_dir.into(),
        }
    }

    fn describe(&self) -> String {
        match &self.file {
            Some(f) => format!("config file `{}`", f.display()),
            None => "configuration".to_string(),
        }
    }

    /// A [`crate::ErrorKind::Config`] error naming this origin, a key path and the problem.
    pub fn error(&self, key_path: &str, problem: impl std::fmt::Display) -> Error {
        if key_path.is_empty() {
            Error::config(format!("{}: {problem}", self.describe()))
        } else {
            Error::config(format!("{}: key `{key_path}`: {problem}", self.describe()))
        }
    }
}

/// One system's section: which adapter, and the rest of its keys.
///
/// `Debug` shows no secret: see [`crate::config_debug`].
#[derive(Clone, PartialEq)]
pub struct SystemSection {
    /// The instance name: `source`, or the target's table name.
    pub name: String,
    /// The key path of the section (`source`, `targets.bi`).
    pub key_path: String,
    /// The registered adapter name.
    pub adapter: String,
    /// Every other key of the section.
    pub settings: Map<String, Value>,
}

impl std::fmt::Debug for SystemSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret_keys = crate::registry::find(&self.adapter)
            .map(|d| d.secret_keys)
            .unwrap_or_default();
        f.debug_struct("SystemSection")
            .field("name", &self.name)
            .field("key_path", &self.key_path)
            .field("adapter", &self.adapter)
            .field(
                "settings",
                &crate::config_debug::Redacted {
                    settings: &self.settings,
                    secret_keys,
                },
            )
            .finish()
    }
}

impl SystemSection {
    /// Removes and returns the keys in `keys` (for the sync engine's own per-target keys),
    /// leaving the adapter's keys behind.
    pub fn split_off(&mut self, keys: &[&str]) -> Map<String, Value> {
        let mut taken = Map::new();
        for key in keys {
            if let Some(v) = self.settings.remove(*key) {
                taken.insert((*key).to_string(), v);
            }
        }
        taken
    }
}

/// The loaded configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the links and the journal live. Default `idbridge.db`, relative to the file;
    /// or a PostgreSQL URL (`postgres://user@host:5432/db`), kept as the URL with
    /// `tenant=<tenant>` added (see [`postgres_locator`]).
    pub state: PathBuf,
    /// `tenant`: whose state this is, in a state database several configurations share.
    /// Default [`DEFAULT_TENANT`].
    pub tenant: String,
    /// `state_password` (or `state_password_file`): the PostgreSQL password. Only with a
    /// PostgreSQL `state`.
    pub state_password: Option<crate::Secret>,
    /// `state_ca_file`: a PEM bundle of the CA certificates a PostgreSQL state's server
    /// certificate must chain to (relative to the file). Setting it asks for TLS with the
    /// certificate and host name verified (`sslmode=verify-full`) unless the URL's
    /// `sslmode` says otherwise. Default none: the system's roots when TLS is asked.
    pub state_ca_file: Option<PathBuf>,
    /// The source of truth.
    pub source: SystemSection,
    /// The systems made to match the source, by name, in name order.
    pub targets: BTreeMap<String, SystemSection>,
    /// `require_approval`: whether `apply` takes a saved plan only once a user other than
    /// the one who made it approved it (`idbridge approve`); `sync` and `apply` without a
    /// saved plan are then refused. Default false.
    pub require_approval: bool,
    /// `alert_webhook` (or `alert_webhook_file`): the `http(s)` URL that `sync` posts a
    /// run's JSON report to when the run failed, a guard refused changes or a target was
    /// down. A secret (such URLs carry their token): never logged nor shown.
    /// Default none.
    pub alert_webhook: Option<crate::Secret>,
    /// `[serve]`: the keys of `idbridge serve` (its SCIM server and fan-out), which that
    /// command reads; the other commands leave them alone. Default none.
    pub serve: Option<ServeSection>,
    /// Where the configuration came from.
    pub origin: ConfigOrigin,
}

/// The `[serve]` section as written, for `idbridge serve` to parse. `Debug` shows only its
/// key names: it holds bearer tokens.
#[derive(Clone, PartialEq, Default)]
pub struct ServeSection(pub Map<String, Value>);

impl std::fmt::Debug for ServeSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    state: Option<PathBuf>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    state_password: Option<crate::Secret>,
    #[serde(default)]
    state_password_file: Option<PathBuf>,
    #[serde(default)]
    state_ca_file: Option<PathBuf>,
    #[serde(default)]
    require_approval: bool,
    #[serde(default)]
    alert_webhook: Option<crate::Secret>,
    #[serde(default)]
    alert_webhook_file: Option<PathBuf>,
    #[serde(default)]
    serve: Option<Map<String, Value>>,
    source: Map<String, Value>,
    #[serde(default)]
    targets: BTreeMap<String, Map<String, Value>>,
}

/// The secret `key` given inline or in `KEY_file` (a file relative to the configuration,
/// its final line break dropped), not both.
fn secret_or_file(
    inline: Option<crate::Secret>,
    file: Option<PathBuf>,
    key: &str,
    origin: &ConfigOrigin,
) -> Result<Option<crate::Secret>> {
    let file_key = format!("{key}_file");
    match (inline, file) {
        (Some(_), Some(_)) => Err(origin.error(
            &file_key,
            format!("give either `{key}` or `{file_key}`, not both"),
        )),
        (Some(p), None) => Ok(Some(p)),
        (None, Some(file)) => {
            let full = origin.base_dir.join(file);
            let text = secrets::read_secret_file(&full).map_err(|problem| {
                origin.error(
                    &file_key,
                    format!("secret file `{}`: {problem}", full.display()),
                )
            })?;
            Ok(Some(crate::Secret::configured(
                text.trim_end_matches(['\r', '\n']),
            )))
        }
        (None, None) => Ok(None),
    }
}

/// Checks that a webhook is an absolute `http` or `https` URL, saying what is wrong
/// without repeating the URL (it is a secret).
fn check_webhook(hook: &crate::Secret) -> std::result::Result<(), String> {
    let url = url::Url::parse(hook.expose())
        .map_err(|e| format!("not a URL ({e}); the value is not shown, it is a secret"))?;
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(()),
        "http" | "https" => Err("the URL has no host".into()),
        other => Err(format!("the URL must be http or https, not `{other}`")),
    }
}

impl Config {
    /// Loads a file (format by extension: `.toml`, `.yaml`/`.yml`, `.json`) and applies
    /// `IDBRIDGE__...` environment overrides.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the file (and key path where there is one) when the
    /// file is missing, unparsable, has unknown keys or lacks required ones.
    pub fn load(path: &Path) -> Result<Config> {
        Self::load_with_env(path, std::env::vars())
    }

    /// Like [`Config::load`], with the environment given explicitly (for tests).
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config> {
        let origin = ConfigOrigin {
            file: Some(path.to_path_buf()),
            base_dir: path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => config::FileFormat::Toml,
            Some("yaml" | "yml") => config::FileFormat::Yaml,
            Some("json") => config::FileFormat::Json,
            _ => {
                return Err(origin.error(
                    "",
                    "unknown format: the file name must end in .toml, .yaml, .yml or .json",
                ));
            }
        };
        if !path.exists() {
            return Err(origin.error("", "file not found"));
        }
        let env_map: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}{ENV_SEPARATOR}")))
            .collect();
        let built = config::Config::builder()
            .add_source(config::File::from(path).format(format))
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator(ENV_SEPARATOR)
                    .separator(ENV_SEPARATOR)
                    .source(Some(env_map)),
            )
            .build()
            .map_err(|e| origin.error("", e))?;
        let tree: Value = built.try_deserialize().map_err(|e| origin.error("", e))?;
        Self::from_value(tree, origin)
    }

    /// Builds a configuration from an already-parsed tree (used by `idbridge demo` and tests).
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn from_value(tree: Value, origin: ConfigOrigin) -> Result<Config> {
        let raw: RawConfig = deserialize_at(tree, "", &origin)?;
        let source = section("source", "source", raw.source, &origin)?;
        let mut targets = BTreeMap::new();
        for (name, body) in raw.targets {
            if name == "source" {
                return Err(origin.error(
                    &format!("targets.{name}"),
                    "`source` is reserved for the source system; choose another target name",
                ));
            }
            let key_path = format!("targets.{name}");
            targets.insert(name.clone(), section(&name, &key_path, body, &origin)?);
        }
        let tenant = raw.tenant.unwrap_or_else(|| DEFAULT_TENANT.to_string());
        check_tenant(&tenant).map_err(|e| origin.error("tenant", e))?;
        let state = raw.state.unwrap_or_else(|| PathBuf::from("idbridge.db"));
        let state_password = secret_or_file(
            raw.state_password,
            raw.state_password_file,
            "state_password",
            &origin,
        )?;
        let state_ca_file = raw.state_ca_file.map(|p| origin.base_dir.join(p));
        let alert_webhook = secret_or_file(
            raw.alert_webhook,
            raw.alert_webhook_file,
            "alert_webhook",
            &origin,
        )?;
        if let Some(hook) = &alert_webhook {
            check_webhook(hook).map_err(|e| origin.error("alert_webhook", e))?;
        }
        let state = if is_postgres_state(&state) {
            let url = state.to_string_lossy().into_owned();
            let locator = postgres_locator(&url, &tenant).map_err(|e| origin.error("state", e))?;
            if let Some(p) = &state_password {
                remember_state_password(&locator, p.clone());
            }
            if let Some(ca) = &state_ca_file {
                remember_state_ca_file(&locator, ca.clone());
            }
            locator
        } else if state_password.is_some() {
            return Err(origin.error(
                "state_password",
                "only a PostgreSQL `state` (postgres://...) takes a password",
            ));
        } else if state_ca_file.is_some() {
            return Err(origin.error(
                "state_ca_file",
                "only a PostgreSQL `state` (postgres://...) takes a CA bundle",
            ));
        } else if state.is_absolute() {
            state
        } else {
            origin.base_dir.join(state)
        };
        Ok(Config {
            state,
            tenant,
            state_password,
            state_ca_file,
            require_approval: raw.require_approval,
            alert_webhook,
            serve: raw.serve.map(ServeSection),
            source,
            targets,
            origin,
        })
    }

    /// Every system, source first: `(name, section)`.
    pub fn systems(&self) -> impl Iterator<Item = &SystemSection> {
        std::iter::once(&self.source).chain(self.targets.values())
    }

    /// The system called `name` (`source` or a target name).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] listing the configured names when there is none.
    pub fn system(&self, name: &str) -> Result<&SystemSection> {
        self.systems().find(|s| s.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.systems().map(|s| s.name.as_str()).collect();
            self.origin.error(
                "",
                format!("no system named `{name}`; configured: {}", names.join(", ")),
            )
        })
    }

    /// The [`AdapterConfig`] for one system section.
    pub fn adapter_config(&self, section: &SystemSection) -> AdapterConfig {
        AdapterConfig {
            instance: section.name.clone(),
            key_path: section.key_path.clone(),
            settings: section.settings.clone(),
            origin: self.origin.clone(),
            read_only: false,
        }
    }
}

fn section(
    name: &str,
    key_path: &str,
    mut body: Map<String, Value>,
    origin: &ConfigOrigin,
) -> Result<SystemSection> {
    let adapter = match body.remove("adapter") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(other) => {
            return Err(origin.error(
                &format!("{key_path}.adapter"),
                format!("expected an adapter name (a string), found {other}"),
            ));
        }
        None => {
            return Err(origin.error(
                key_path,
                "missing key `adapter` (which adapter serves this system, e.g. \"file\")",
            ));
        }
    };
    Ok(SystemSection {
        name: name.to_string(),
        key_path: key_path.to_string(),
        adapter,
        settings: body,
    })
}

/// Deserializes `value` into `T`, naming the full key path of any mismatch.
fn deserialize_at<T: DeserializeOwned>(
    value: Value,
    prefix: &str,
    origin: &ConfigOrigin,
) -> Result<T> {
    serde_path_to_error::deserialize::<_, T>(crate::config_value::Textual(value)).map_err(|err| {
        let inner_path = err.path().to_string();
        let path = match (prefix.is_empty(), inner_path.as_str()) {
            (true, ".") => String::new(),
            (true, p) => p.to_string(),
            (false, ".") => prefix.to_string(),
            (false, p) => format!("{prefix}.{p}"),
        };
        origin.error(&path, err.into_inner())
    })
}

#[cfg(test)]
mod tests;
