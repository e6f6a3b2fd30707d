//! `Debug` for configuration sections without their secrets: a section's settings are
//! shown with the value of every secret key replaced by [`REDACTED`], so that a `{:?}` in
//! a log line, a panic message or a test failure cannot carry a password.
//!
//! A key is secret when its adapter declares it so (the registry's `secret_keys`, with
//! their `<key>_file` forms), or when its name says it is: it contains `password`,
//! `passwd`, `passphrase`, `token`, `secret`, `key` or `credential` (any case, at any
//! depth). Every other string value is also cleaned of the registered secret values
//! ([`crate::redact`]).

use std::fmt;

use serde_json::{Map, Value};

use crate::secret::REDACTED;

/// The words that make a key secret by its name alone.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "key",
    "credential",
];

/// Whether a key's name says it holds a secret (see the module documentation).
pub fn is_secret_name(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// A section's settings, shown with secret values redacted.
pub(crate) struct Redacted<'a> {
    /// The settings.
    pub(crate) settings: &'a Map<String, Value>,
    /// The adapter's declared secret keys, when the adapter is known.
    pub(crate) secret_keys: &'a [&'a str],
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let declared = |key: &str| {
            self.secret_keys
                .iter()
                .any(|s| key == *s || key.strip_suffix("_file") == Some(*s))
        };
        let shown: Map<String, Value> = self
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), redacted(v, declared(k) || is_secret_name(k))))
            .collect();
        fmt::Debug::fmt(&shown, f)
    }
}

/// `value` with every secret in it replaced: all of it when `secret`, else its secret
/// keys at any depth and the registered secret values inside its strings.
fn redacted(value: &Value, secret: bool) -> Value {
    if secret {
        return Value::String(REDACTED.to_string());
    }
    match value {
        Value::String(s) => Value::String(crate::redact(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(|v| redacted(v, false)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), redacted(v, is_secret_name(k))))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AdapterConfig, Config};

    /// Every secret value the configuration below holds.
    const SECRETS: &[&str] = &[
        "pw-4f1d9c2e",
        "key-8a7b6c5d",
        "tok-1e2f3a4b",
        "cs-9d8c7b6a",
        "pk-5a4b3c2d",
        "rt-0f9e8d7c",
        "pp-7e6d5c4b",
        "bearer-3c2b1a0f",
    ];

    const CONFIG: &str = r#"
[source]
adapter = "file"
path = "source.yaml"

[targets.bi]
adapter = "portal"
base_url = "https://bi.example.com"
username = "svc-idbridge"
password = "pw-4f1d9c2e"
api_key = "key-8a7b6c5d"
access_token = "tok-1e2f3a4b"
client_secret = "cs-9d8c7b6a"
Refresh_Token = "rt-0f9e8d7c"
headers = { Authorization = "bearer-3c2b1a0f" }

[targets.bi.credentials]
private_key = "pk-5a4b3c2d"
nested = [{ passphrase = "pp-7e6d5c4b" }]
"#;

    fn loaded() -> Config {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("idbridge.toml");
        std::fs::write(&path, CONFIG).expect("write");
        Config::load_with_env(&path, std::iter::empty()).expect("loads")
    }

    fn assert_clean(text: &str) {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
        assert!(text.contains(REDACTED), "{text}");
    }

    #[test]
    fn debug_of_a_configuration_shows_no_secret() {
        let config = loaded();
        // The header's value is secret by registration, not by its key's name.
        crate::register_secret("bearer-3c2b1a0f");
        for text in [format!("{config:?}"), format!("{config:#?}")] {
            assert_clean(&text);
            // What is not secret is still shown.
            assert!(text.contains("svc-idbridge"), "{text}");
            assert!(text.contains("https://bi.example.com"), "{text}");
        }
        let section = &config.targets["bi"];
        assert_clean(&format!("{section:?}"));
        assert_clean(&format!("{section:#?}"));
        let adapter = AdapterConfig::new("targets.bi", Value::Object(section.settings.clone()));
        for text in [format!("{adapter:?}"), format!("{adapter:#?}")] {
            assert_clean(&text);
            assert!(text.contains("svc-idbridge"), "{text}");
        }
    }

    #[test]
    fn secret_names_are_recognised_in_any_case() {
        for key in [
            "password",
            "API_KEY",
            "clientSecret",
            "refresh_token",
            "credentials",
        ] {
            assert!(is_secret_name(key), "{key}");
        }
        for key in ["username", "base_url", "path", "concurrency"] {
            assert!(!is_secret_name(key), "{key}");
        }
    }

    #[test]
    fn declared_secret_keys_are_redacted_whatever_their_name() {
        let settings: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"pin": "2468-1357", "pin_file": "/p"}))
                .expect("map");
        let text = format!(
            "{:?}",
            Redacted {
                settings: &settings,
                secret_keys: &["pin"],
            }
        );
        assert!(!text.contains("2468-1357"), "{text}");
        assert!(!text.contains("/p"), "{text}");
    }
}
