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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Error, Result};

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
    /// Where the links and the journal live. Default `idbridge.db`, relative to the file.
    pub state: PathBuf,
    /// The source of truth.
    pub source: SystemSection,
    /// The systems made to match the source, by name, in name order.
    pub targets: BTreeMap<String, SystemSection>,
    /// `require_approval`: whether `apply` takes a saved plan only once a user other than
    /// the one who made it approved it (`idbridge approve`); `sync` and `apply` without a
    /// saved plan are then refused. Default false.
    pub require_approval: bool,
    /// Where the configuration came from.
    pub origin: ConfigOrigin,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    state: Option<PathBuf>,
    #[serde(default)]
    require_approval: bool,
    source: Map<String, Value>,
    #[serde(default)]
    targets: BTreeMap<String, Map<String, Value>>,
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
        let state = raw.state.unwrap_or_else(|| PathBuf::from("idbridge.db"));
        let state = if state.is_absolute() {
            state
        } else {
            origin.base_dir.join(state)
        };
        Ok(Config {
            state,
            require_approval: raw.require_approval,
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

/// The per-system key that lets the section's server URLs use plain `http://` to a host
/// other than this machine. Default `false`.
pub const ALLOW_PLAIN_HTTP_KEY: &str = "allow_plain_http";

/// Whether a URL's host is this machine: `localhost`, 127.0.0.0/8 or `::1` (an
/// IPv4-mapped loopback address included). Plain HTTP to it never crosses a network.
pub fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether a configuration key names a server URL: `url` or `<something>_url`.
fn is_url_key(key: &str) -> bool {
    key == "url" || key.ends_with("_url")
}

/// The largest secret file read: 64 KiB, far more than any password, key or token, and
/// small enough that a wrong path (`/dev/zero`, a log file) cannot exhaust memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Reads a secret file of at most [`MAX_SECRET_FILE_BYTES`] bytes; the error says what is
/// wrong without showing any of the contents.
fn read_secret_file(path: &Path) -> std::result::Result<String, String> {
    let bytes = read_bounded(path, MAX_SECRET_FILE_BYTES)?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Reads at most `limit` bytes of a file named by the configuration, never more (so a
/// device such as `/dev/zero` is refused at once); the error says what is wrong without
/// showing any of the contents.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "larger than {} KiB; is it the right file?",
            limit / 1024
        ));
    }
    Ok(bytes)
}

/// One adapter instance's configuration, as its constructor receives it.
///
/// `Debug` shows no secret: see [`crate::config_debug`].
#[derive(Clone, PartialEq)]
pub struct AdapterConfig {
    /// The instance name (`source`, `bi`).
    pub instance: String,
    /// The section's key path (`source`, `targets.bi`).
    pub key_path: String,
    /// The adapter's keys (`adapter` and the sync engine's keys removed; `<secret>_file`
    /// keys already replaced by the file's contents).
    pub settings: Map<String, Value>,
    /// Where the configuration came from.
    pub origin: ConfigOrigin,
    /// Whether the instance is built only to be checked (`idbridge check`): building and
    /// checking it must create or change nothing, not even what a setting such as the
    /// file adapter's `create = true` would create on a real run. Default false.
    pub read_only: bool,
}

impl std::fmt::Debug for AdapterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterConfig")
            .field("instance", &self.instance)
            .field("key_path", &self.key_path)
            .field(
                "settings",
                &crate::config_debug::Redacted {
                    settings: &self.settings,
                    secret_keys: &[],
                },
            )
            .field("origin", &self.origin)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl AdapterConfig {
    /// An in-memory configuration (for tests, the demo and emulators).
    ///
    /// `settings` must be a JSON object; anything else yields an empty section.
    pub fn new(instance: impl Into<String>, settings: Value) -> Self {
        let instance = instance.into();
        AdapterConfig {
            key_path: instance.clone(),
            instance,
            settings: match settings {
                Value::Object(m) => m,
                _ => Map::new(),
            },
            origin: ConfigOrigin::in_memory(std::env::current_dir().unwrap_or_default()),
            read_only: false,
        }
    }

    /// Deserializes the settings into the adapter's typed config. Use
    /// `#[serde(deny_unknown_fields)]` on `T` so misspelt keys are rejected.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the file, the key path (`targets.bi.base_url`) and
    /// what was expected.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        deserialize_at(
            Value::Object(self.settings.clone()),
            &self.key_path,
            &self.origin,
        )
    }

    /// A path from the configuration, resolved against the configuration's directory.
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.origin.base_dir.join(path)
        }
    }

    /// A [`crate::ErrorKind::Config`] error for key `key` of this section.
    pub fn error(&self, key: &str, problem: impl std::fmt::Display) -> Error {
        let path = if key.is_empty() {
            self.key_path.clone()
        } else {
            format!("{}.{key}", self.key_path)
        };
        self.origin.error(&path, problem)
    }

    /// Refuses plain `http://` server URLs to hosts other than this machine, unless the
    /// section sets [`ALLOW_PLAIN_HTTP_KEY`] (`allow_plain_http = true`), and takes that key
    /// out of the settings so that the adapter never sees it.
    ///
    /// Every key named `url` or ending in `_url` is a server URL; credentials go to those
    /// servers, and over plain HTTP anyone on the path reads them. `localhost`, 127.0.0.0/8
    /// and `::1` are allowed (emulators and local tunnels listen there). A value that does not
    /// parse as a URL is left for the adapter to report. When the key allows plain HTTP, each
    /// such URL is named in a warning.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the key path and the URL (without credentials or
    /// query) of a refused URL, or naming `allow_plain_http` when it is not a boolean.
    pub fn check_server_urls(&mut self) -> Result<()> {
        let allow = match self.settings.remove(ALLOW_PLAIN_HTTP_KEY) {
            None => false,
            Some(Value::Bool(b)) => b,
            // Environment overrides arrive as text.
            Some(Value::String(s)) if s.trim() == "true" => true,
            Some(Value::String(s)) if s.trim() == "false" => false,
            Some(other) => {
                return Err(self.error(
                    ALLOW_PLAIN_HTTP_KEY,
                    format!("expected true or false, found {other}"),
                ));
            }
        };
        for (key, value) in &self.settings {
            let Value::String(raw) = value else {
                continue;
            };
            if !is_url_key(key) {
                continue;
            }
            let Ok(url) = url::Url::parse(raw.trim()) else {
                continue;
            };
            if url.scheme() != "http" || url.host().is_none_or(|h| is_loopback(&h)) {
                continue;
            }
            let shown = crate::http::display_url(raw.trim());
            if allow {
                tracing::warn!(
                    system = %self.instance,
                    "{}.{key} is plain HTTP ({shown}): credentials cross the network unencrypted \
                     ({ALLOW_PLAIN_HTTP_KEY} = true)",
                    self.key_path
                );
                continue;
            }
            return Err(self.error(
                key,
                format!(
                    "`{shown}` is plain HTTP to another machine: the credentials would cross \
                     the network unencrypted. Use https://, or set `{ALLOW_PLAIN_HTTP_KEY} = true` \
                     in this system's section if the network path is trusted"
                ),
            ));
        }
        Ok(())
    }

    /// Replaces each `<key>_file` for the secret keys in `secret_keys` by `<key>` holding
    /// the file's contents (trailing newline removed).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the key and the file when both `<key>` and
    /// `<key>_file` are given, the file cannot be read, is larger than
    /// [`MAX_SECRET_FILE_BYTES`] (never read further, so `/dev/zero` is refused at once) or
    /// is not UTF-8 text, or the value is not a path.
    pub fn resolve_secret_files(&mut self, secret_keys: &[&str]) -> Result<()> {
        for key in secret_keys {
            let file_key = format!("{key}_file");
            let Some(value) = self.settings.remove(&file_key) else {
                continue;
            };
            if self.settings.contains_key(*key) {
                return Err(self.error(
                    &file_key,
                    format!("give either `{key}` or `{file_key}`, not both"),
                ));
            }
            let Value::String(path) = value else {
                return Err(self.error(&file_key, "expected a file path (a string)"));
            };
            let full = self.resolve_path(Path::new(&path));
            let text = read_secret_file(&full).map_err(|problem| {
                self.error(
                    &file_key,
                    format!("secret file `{}`: {problem}", full.display()),
                )
            })?;
            let text = text.trim_end_matches(['\r', '\n']).to_string();
            self.settings
                .insert((*key).to_string(), Value::String(text));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write test file");
        p
    }

    #[test]
    fn loads_toml_with_env_override() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(
            dir.path(),
            "c.toml",
            r#"
state = "s.db"
[source]
adapter = "file"
path = "dir.yaml"
[targets.bi]
adapter = "portal"
password = "from-file"
"#,
        );
        let cfg = Config::load_with_env(
            &p,
            [(
                "IDBRIDGE__TARGETS__BI__PASSWORD".to_string(),
                "from-env".to_string(),
            )],
        )
        .expect("loads");
        assert_eq!(cfg.state, dir.path().join("s.db"));
        assert_eq!(cfg.source.adapter, "file");
        let bi = &cfg.targets["bi"];
        assert_eq!(bi.key_path, "targets.bi");
        assert_eq!(bi.settings["password"], Value::String("from-env".into()));
    }

    #[test]
    fn unknown_top_level_key_names_file_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(dir.path(), "c.yaml", "stat: x\nsource:\n  adapter: file\n");
        let err = Config::load_with_env(&p, []).expect_err("misspelt");
        assert_eq!(err.kind(), ErrorKind::Config);
        let text = err.to_string();
        assert!(text.contains("c.yaml"), "{text}");
        assert!(text.contains("stat"), "{text}");
    }

    #[test]
    fn adapter_parse_names_full_key_path() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct C {
            base_url: String,
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(
            dir.path(),
            "c.toml",
            "[source]\nadapter = \"file\"\n[targets.bi]\nadapter = \"x\"\nbase_url = \"u\"\nbase_ulr = \"v\"\n",
        );
        let cfg = Config::load_with_env(&p, []).expect("loads");
        let err = cfg
            .adapter_config(&cfg.targets["bi"])
            .parse::<C>()
            .expect_err("misspelt");
        let text = err.to_string();
        assert!(text.contains("targets.bi"), "{text}");
        assert!(text.contains("base_ulr"), "{text}");
        assert!(text.contains("c.toml"), "{text}");
    }

    #[test]
    fn missing_adapter_key_is_named() {
        let err = Config::from_value(
            serde_json::json!({"source": {"path": "x"}}),
            ConfigOrigin::in_memory("."),
        )
        .expect_err("no adapter");
        assert!(err.to_string().contains("`source`"), "{err}");
        assert!(err.to_string().contains("adapter"), "{err}");
    }

    #[test]
    fn secret_file_is_read_and_both_forms_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "pw", "s3cret\n");
        let mut cfg = AdapterConfig::new("bi", serde_json::json!({"password_file": "pw"}));
        cfg.origin = ConfigOrigin::in_memory(dir.path());
        cfg.resolve_secret_files(&["password"]).expect("reads");
        assert_eq!(cfg.settings["password"], Value::String("s3cret".into()));

        let mut both = AdapterConfig::new(
            "bi",
            serde_json::json!({"password": "a", "password_file": "pw"}),
        );
        both.origin = ConfigOrigin::in_memory(dir.path());
        let err = both
            .resolve_secret_files(&["password"])
            .expect_err("both given");
        assert!(err.to_string().contains("password_file"), "{err}");
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Typed {
        password: crate::Secret,
        username: String,
        #[serde(default)]
        concurrency: Option<usize>,
        #[serde(default)]
        verify_tls: Option<bool>,
    }

    fn typed(cfg: &Config) -> Result<Typed> {
        cfg.adapter_config(&cfg.targets["bi"]).parse::<Typed>()
    }

    #[test]
    fn environment_overrides_are_kept_verbatim() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(
            dir.path(),
            "c.toml",
            "[source]\nadapter = \"file\"\n[targets.bi]\nadapter = \"x\"\npassword = \"p\"\nusername = \"u\"\n",
        );
        for (password, username) in [
            ("007", "1e3"),
            ("1e3", "0x10"),
            ("true", "-0"),
            (" 42 ", "7.50"),
        ] {
            let env = [
                (
                    "IDBRIDGE__TARGETS__BI__PASSWORD".to_string(),
                    password.to_string(),
                ),
                (
                    "IDBRIDGE__TARGETS__BI__USERNAME".to_string(),
                    username.to_string(),
                ),
                (
                    "IDBRIDGE__TARGETS__BI__CONCURRENCY".to_string(),
                    "3".to_string(),
                ),
                (
                    "IDBRIDGE__TARGETS__BI__VERIFY_TLS".to_string(),
                    "false".to_string(),
                ),
            ];
            let cfg = Config::load_with_env(&p, env).expect("loads");
            let t = typed(&cfg).expect("parses");
            assert_eq!(t.password.expose(), password);
            assert_eq!(t.username, username);
            assert_eq!(t.concurrency, Some(3));
            assert_eq!(t.verify_tls, Some(false));
        }
        let env = [(
            "IDBRIDGE__TARGETS__BI__CONCURRENCY".to_string(),
            "three".to_string(),
        )];
        let cfg = Config::load_with_env(&p, env).expect("loads");
        let err = typed(&cfg).expect_err("not a number");
        assert!(err.to_string().contains("targets.bi.concurrency"), "{err}");
    }

    #[test]
    fn a_secret_written_as_a_number_in_a_file_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(
            dir.path(),
            "c.yaml",
            "source:\n  adapter: file\ntargets:\n  bi:\n    adapter: x\n    username: u\n    password: 0074321\n",
        );
        let cfg = Config::load_with_env(&p, []).expect("loads");
        let err = typed(&cfg).expect_err("a number");
        let text = err.to_string();
        assert!(text.contains("targets.bi.password"), "{text}");
        assert!(text.contains("quote"), "{text}");
        assert!(!text.contains("74321"), "{text}");
    }

    #[test]
    fn secret_files_are_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = "x".repeat(usize::try_from(MAX_SECRET_FILE_BYTES).expect("small") + 1);
        write(dir.path(), "big", &big);
        write(dir.path(), "edge", &big[1..]);
        std::fs::write(dir.path().join("binary"), [0xff, 0xfe, 0x00]).expect("write");
        let attempt = |file: &str| {
            let mut cfg =
                AdapterConfig::new("targets.bi", serde_json::json!({"api_key_file": file}));
            cfg.origin = ConfigOrigin::in_memory(dir.path());
            cfg.resolve_secret_files(&["api_key"]).map(|()| cfg)
        };
        for (file, problem) in [
            ("/dev/zero", "larger than 64 KiB"),
            ("big", "larger than 64 KiB"),
            ("binary", "not UTF-8"),
        ] {
            let err = attempt(file).expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::Config);
            let text = err.to_string();
            assert!(text.contains("targets.bi.api_key_file"), "{text}");
            assert!(text.contains(file), "{text}");
            assert!(text.contains(problem), "{text}");
            assert!(!text.contains("xxxx"), "{text}");
        }
        let cfg = attempt("edge").expect("64 KiB exactly is read");
        assert_eq!(
            cfg.settings["api_key"].as_str().map(str::len),
            Some(big.len() - 1)
        );
    }

    fn urls(settings: Value) -> Result<AdapterConfig> {
        let mut cfg = AdapterConfig::new("bi", settings);
        cfg.key_path = "targets.bi".into();
        cfg.check_server_urls().map(|()| cfg)
    }

    #[test]
    fn plain_http_to_another_machine_is_refused_unless_allowed() {
        for url in [
            "http://example.invalid/portal",
            "http://10.0.0.7:8080",
            "HTTP://bi.example.com",
            "http://user:pw@[2001:db8::1]/x?token=t",
            "http://localhost.example.com",
        ] {
            let err = urls(serde_json::json!({"base_url": url})).expect_err(url);
            assert_eq!(err.kind(), ErrorKind::Config);
            let text = err.to_string();
            assert!(text.contains("targets.bi.base_url"), "{text}");
            assert!(text.contains("plain HTTP"), "{text}");
            assert!(text.contains("allow_plain_http"), "{text}");
            assert!(!text.contains("pw@") && !text.contains("token=t"), "{text}");
            for allow in [serde_json::json!(true), serde_json::json!("true")] {
                let cfg = urls(serde_json::json!({"base_url": url, "allow_plain_http": allow}))
                    .expect("allowed");
                assert!(!cfg.settings.contains_key("allow_plain_http"));
            }
        }
        let err = urls(
            serde_json::json!({"cluster_url": "http://cluster.example.com",
                                          "base_url": "https://x"}),
        )
        .expect_err("every *_url key is checked");
        assert!(err.to_string().contains("targets.bi.cluster_url"), "{err}");
        let err = urls(serde_json::json!({"base_url": "http://h", "allow_plain_http": "yes"}))
            .expect_err("not a boolean");
        assert!(
            err.to_string().contains("targets.bi.allow_plain_http"),
            "{err}"
        );
    }

    #[test]
    fn loopback_https_and_non_urls_are_accepted() {
        for url in [
            "http://127.0.0.1:8081/portal",
            "http://127.1.2.3",
            "http://localhost:11200",
            "http://LOCALHOST./x",
            "http://[::1]:9000",
            "http://[::ffff:127.0.0.1]/",
            "https://bi.example.com",
            "not a url",
        ] {
            urls(serde_json::json!({"base_url": url})).expect(url);
        }
        // Keys that are not URLs are not looked at.
        urls(serde_json::json!({"path": "http://example.com", "homepage": "http://x"}))
            .expect("not URL keys");
    }
}
