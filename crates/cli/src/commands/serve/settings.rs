//! The `[serve]` section: the SCIM server's keys (`idbridge_scim_server::ServeConfig`:
//! `listen`, `base_path`, `public_url`, `tls`, `allow_plain_http`, `tokens`,
//! `max_body_bytes`, `max_bulk_operations`, `max_results`), and the fan-out's own:
//! `tokens_file`, `debounce_secs`, `reconcile_interval_secs`.

use std::time::Duration;

use idbridge_core::config::MAX_SECRET_FILE_BYTES;
use idbridge_core::{Config, ConfigOrigin, Result, Secret};
use idbridge_scim_server::ServeConfig;
use serde_json::Value;

/// `debounce_secs` unless configured.
pub(crate) const DEFAULT_DEBOUNCE_SECS: f64 = 3.0;
/// `reconcile_interval_secs` unless configured.
pub(crate) const DEFAULT_RECONCILE_SECS: u64 = 600;
/// The longest `debounce_secs`.
const MAX_DEBOUNCE_SECS: f64 = 3600.0;

/// The validated `[serve]` section.
#[derive(Debug, Clone)]
pub(crate) struct ServeSettings {
    /// The SCIM server's configuration, its TLS files resolved against the configuration
    /// file's directory and the tokens of `tokens_file` added to `tokens`.
    pub(crate) server: ServeConfig,
    /// `debounce_secs`: the quiet time after a burst of writes before the fan-out runs
    /// (fractions allowed, 0 to 3600). Default [`DEFAULT_DEBOUNCE_SECS`].
    pub(crate) debounce: Duration,
    /// `reconcile_interval_secs`: a full sync runs this long after the last run. Default
    /// [`DEFAULT_RECONCILE_SECS`]; at least the `sync --interval` minimum.
    pub(crate) reconcile: Duration,
}

impl ServeSettings {
    /// Reads the `[serve]` section of `config`.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the file and the key: no section, an
    /// unknown key or a value of the wrong type, an unreadable tokens file, no token, plain
    /// HTTP off loopback, a debounce or interval out of range.
    pub(crate) fn from_config(config: &Config) -> Result<Self> {
        let origin = &config.origin;
        let Some(section) = &config.serve else {
            return Err(origin.error(
                "serve",
                "`idbridge serve` needs a [serve] section (at least `tokens` or `tokens_file`); see docs/scim.md",
            ));
        };
        let mut keys = section.0.clone();
        let debounce = match keys.remove("debounce_secs") {
            None => DEFAULT_DEBOUNCE_SECS,
            Some(v) => v
                .as_f64()
                .filter(|d| (0.0..=MAX_DEBOUNCE_SECS).contains(d))
                .ok_or_else(|| {
                    origin.error(
                        "serve.debounce_secs",
                        format!("must be a number of seconds from 0 to {MAX_DEBOUNCE_SECS}"),
                    )
                })?,
        };
        let min = crate::commands::sync::MIN_INTERVAL.as_secs();
        let reconcile = match keys.remove("reconcile_interval_secs") {
            None => DEFAULT_RECONCILE_SECS,
            Some(v) => v.as_u64().filter(|s| *s >= min).ok_or_else(|| {
                origin.error(
                    "serve.reconcile_interval_secs",
                    format!("must be a whole number of seconds, at least {min}"),
                )
            })?,
        };
        let tokens_file = keys.remove("tokens_file");
        if let Some(Value::Object(tls)) = keys.get_mut("tls") {
            for key in ["cert", "key"] {
                if let Some(Value::String(p)) = tls.get_mut(key) {
                    *p = resolve(origin, p);
                }
            }
        }
        keys.entry("tokens")
            .or_insert_with(|| Value::Array(Vec::new()));
        let mut server: ServeConfig =
            serde_json::from_value(Value::Object(keys)).map_err(|e| origin.error("serve", e))?;
        match tokens_file {
            None => {}
            Some(Value::String(file)) => {
                let path = resolve(origin, &file);
                let read = read_tokens(std::path::Path::new(&path)).map_err(|e| {
                    origin.error("serve.tokens_file", format!("secret file `{path}`: {e}"))
                })?;
                server.tokens.extend(read);
            }
            Some(_) => return Err(origin.error("serve.tokens_file", "must be a file path")),
        }
        server
            .validate(server.listen)
            .map_err(|e| origin.error("serve", e))?;
        Ok(ServeSettings {
            server,
            debounce: Duration::from_secs_f64(debounce),
            reconcile: Duration::from_secs(reconcile),
        })
    }
}

fn resolve(origin: &ConfigOrigin, path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        origin.base_dir.join(p).to_string_lossy().into_owned()
    }
}

/// The tokens of a file, one per line (blank lines skipped).
fn read_tokens(path: &std::path::Path) -> std::result::Result<Vec<Secret>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read it: {e}"))?
        .len();
    if len > MAX_SECRET_FILE_BYTES {
        return Err(format!("larger than {MAX_SECRET_FILE_BYTES} bytes"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(Secret::configured)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn load(dir: &std::path::Path, serve: Value) -> Result<ServeSettings> {
        let mut tree = json!({"source": {"adapter": "scim-inbox"}});
        if !serve.is_null() {
            tree["serve"] = serve;
        }
        let config = Config::from_value(tree, ConfigOrigin::in_memory(dir)).expect("loads");
        ServeSettings::from_config(&config)
    }

    #[test]
    fn defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = load(dir.path(), json!({"tokens": ["t-0123456789abcdef"]})).expect("parses");
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(s.server.base_path, "/scim/v2");
        assert!(s.server.tls.is_none());
        assert_eq!(s.server.tokens.len(), 1);
        assert_eq!(s.debounce, Duration::from_secs(3));
        assert_eq!(s.reconcile, Duration::from_secs(600));
    }

    #[test]
    fn every_key_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("tokens"),
            "a-0123456789abcdef\n\nb-0123456789abcdef\n",
        )
        .expect("write");
        let s = load(
            dir.path(),
            json!({"listen": "0.0.0.0:9000", "base_path": "/scim", "tls": {"cert": "c.pem", "key": "/k.pem"},
                   "tokens": ["t-0123456789abcdef"], "tokens_file": "tokens", "max_body_bytes": 4096,
                   "debounce_secs": 0.5, "reconcile_interval_secs": 60}),
        )
        .expect("parses");
        assert_eq!(s.server.listen.port(), 9000);
        assert_eq!(s.server.base_path, "/scim");
        let tls = s.server.tls.expect("tls");
        assert_eq!(tls.cert, dir.path().join("c.pem"));
        assert_eq!(tls.key, PathBuf::from("/k.pem"));
        assert_eq!(s.server.tokens.len(), 3);
        assert_eq!(s.server.max_body_bytes, 4096);
        assert_eq!(s.debounce, Duration::from_millis(500));
        assert_eq!(s.reconcile, Duration::from_secs(60));
    }

    #[test]
    fn bad_sections_are_refused_naming_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = json!(["t-0123456789abcdef"]);
        for (serve, key) in [
            (Value::Null, "serve"),
            (json!({}), "token"),
            (json!({"tokens": t, "colour": 1}), "colour"),
            (json!({"tokens": t, "listen": "nowhere"}), "serve"),
            (json!({"tokens": t, "listen": "0.0.0.0:80"}), "loopback"),
            (
                json!({"tokens": t, "debounce_secs": -1}),
                "serve.debounce_secs",
            ),
            (
                json!({"tokens": t, "reconcile_interval_secs": 1}),
                "serve.reconcile_interval_secs",
            ),
            (
                json!({"tokens": t, "tokens_file": "missing"}),
                "serve.tokens_file",
            ),
        ] {
            let e = load(dir.path(), serve.clone()).expect_err(&serve.to_string());
            assert!(e.to_string().contains(key), "{serve}: {e}");
            assert!(!e.to_string().contains("t-0123456789abcdef"), "{e}");
        }
    }
}
