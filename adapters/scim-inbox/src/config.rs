//! The `[source]` keys of the `scim-inbox` adapter: which state database holds the SCIM
//! directory, and the free-form attribute mapping.

use std::collections::BTreeMap;
use std::path::PathBuf;

use idbridge_core::config::{DEFAULT_TENANT, is_postgres_state, postgres_locator, url_tenant};
use idbridge_core::{AdapterConfig, Config, Result};
use idbridge_scim::config::MANAGED_PATHS;
use serde::Deserialize;

/// What `idbridge adapters --examples` prints for this adapter.
pub const EXAMPLE_CONFIG: &str = "# state = \"idbridge.db\"  # default: this configuration's own `state`\n# attribute_paths = { externalId = \"externalId\", department = \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department\" }";

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInboxConfig {
    #[serde(default)]
    state: Option<PathBuf>,
    #[serde(default = "default_attributes")]
    attribute_paths: BTreeMap<String, String>,
}

fn default_attributes() -> BTreeMap<String, String> {
    [("externalId".to_string(), "externalId".to_string())].into()
}

/// The validated section.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxConfig {
    /// The state database holding the SCIM directory: a SQLite file (relative to the
    /// configuration file) or a PostgreSQL URL. Default: the configuration's own `state`
    /// (so `idbridge serve` and its fan-out share one database without saying so twice);
    /// for a configuration built in memory, `idbridge.db` in its base directory.
    pub state: PathBuf,
    /// Free-form user attributes: idbridge attribute name to SCIM attribute path, as the
    /// `scim` adapter's `attribute_paths` (`title`, `name.givenName`, or a schema URN then
    /// `:` and the attribute). Default `{ externalId = "externalId" }`.
    pub attribute_paths: BTreeMap<String, String>,
}

impl InboxConfig {
    /// Parses and checks a section.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the key: an unknown key, an empty or
    /// managed attribute path, or the configuration file's own errors when its `state` is
    /// read.
    pub fn from_adapter_config(cfg: &AdapterConfig) -> Result<Self> {
        let raw: RawInboxConfig = cfg.parse()?;
        for (name, path) in &raw.attribute_paths {
            if name.is_empty() || path.trim().is_empty() {
                return Err(cfg.error("attribute_paths", "names and paths must not be empty"));
            }
            let (_, attr) = idbridge_scim::mapping::split_path(path);
            if MANAGED_PATHS.iter().any(|m| attr.eq_ignore_ascii_case(m)) {
                return Err(cfg.error(
                    "attribute_paths",
                    format!("`{path}` is mapped by idbridge itself; map another attribute"),
                ));
            }
        }
        let state = match raw.state {
            Some(state) if is_postgres_state(&state) => {
                let url = state.to_string_lossy().into_owned();
                let tenant = url_tenant(&url).unwrap_or(DEFAULT_TENANT).to_string();
                postgres_locator(&url, &tenant).map_err(|e| cfg.error("state", e))?
            }
            Some(state) => cfg.resolve_path(&state),
            None => own_state(cfg)?,
        };
        Ok(InboxConfig {
            state,
            attribute_paths: raw.attribute_paths,
        })
    }
}

/// The `state` of the configuration file the section came from: an adapter receives only
/// its own section, so the file is read again for its top-level key. A configuration
/// built in memory has no file: the configuration's own default then applies
/// (`idbridge.db` in its base directory).
fn own_state(cfg: &AdapterConfig) -> Result<PathBuf> {
    match &cfg.origin.file {
        Some(file) => Ok(Config::load(file)?.state),
        None => Ok(cfg.origin.base_dir.join(DEFAULT_STATE)),
    }
}

/// The configuration's own default `state`.
const DEFAULT_STATE: &str = "idbridge.db";

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::config::ConfigOrigin;
    use serde_json::json;

    fn section(dir: &std::path::Path, settings: serde_json::Value) -> AdapterConfig {
        let mut c = AdapterConfig::new("source", settings);
        c.origin = ConfigOrigin::in_memory(dir);
        c
    }

    #[test]
    fn the_state_defaults_to_the_configuration_files_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("idbridge.toml");
        std::fs::write(
            &file,
            "state = \"shared.db\"\n[source]\nadapter = \"scim-inbox\"\n",
        )
        .expect("write");
        let mut cfg = section(dir.path(), json!({}));
        cfg.origin.file = Some(file);
        let parsed = InboxConfig::from_adapter_config(&cfg).expect("parses");
        assert_eq!(parsed.state, dir.path().join("shared.db"));
        assert_eq!(parsed.attribute_paths, default_attributes());
    }

    #[test]
    fn a_given_state_is_relative_to_the_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = section(dir.path(), json!({"state": "inbox.db"}));
        let parsed = InboxConfig::from_adapter_config(&cfg).expect("parses");
        assert_eq!(parsed.state, dir.path().join("inbox.db"));
    }

    #[test]
    fn bad_sections_are_refused_naming_the_key_and_memory_has_the_default_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let no_file = section(dir.path(), json!({}));
        let parsed = InboxConfig::from_adapter_config(&no_file).expect("the default state");
        assert_eq!(parsed.state, dir.path().join("idbridge.db"));
        let managed = section(
            dir.path(),
            json!({"state": "x.db", "attribute_paths": {"a": "active"}}),
        );
        let e = InboxConfig::from_adapter_config(&managed).expect_err("managed");
        assert!(e.to_string().contains("attribute_paths"), "{e}");
        let unknown = section(dir.path(), json!({"state": "x.db", "colour": "red"}));
        let e = InboxConfig::from_adapter_config(&unknown).expect_err("unknown");
        assert!(e.to_string().contains("colour"), "{e}");
    }
}
