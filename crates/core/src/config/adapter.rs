//! One adapter instance's section, as its constructor receives it.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{ConfigOrigin, deserialize_at};
use crate::{Error, Result};

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
}
