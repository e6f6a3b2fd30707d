//! The adapter's configuration section, its defaults, and the URLs and HTTP settings
//! derived from it.

use std::path::PathBuf;

use idbridge_core::http::HttpSettings;
use idbridge_core::{AdapterConfig, Result, Secret};
use serde::Deserialize;

/// The API version used for most user-API and topic-API paths (the client's default).
pub const DEFAULT_API_VERSION: &str = "v0";

/// The API version of the user-data endpoints (get and update one user), where the
/// official client defaults to `v1` and sends JSON.
pub const DEFAULT_USER_DATA_API_VERSION: &str = "v1";

/// The server role given to created users when the configuration names none.
pub const DEFAULT_ROLE: &str = "user";

/// The official client's per-request timeout.
pub const DEFAULT_TIMEOUT_SECS: u64 = 55;

/// The server roles a Squirro user can hold.
pub const SERVER_ROLES: [&str; 4] = ["admin", "user", "demo", "reader"];

/// The roles a user or group can hold in a project.
pub const PROJECT_ROLES: [&str; 3] = ["reader", "member", "admin"];

/// The `[targets.<name>]` (or `[source]`) keys of a Squirro system.
///
/// Either `cluster_url` or both `user_api_url` and `topic_api_url` must be given.
/// Secrets (`refresh_token`, `client_secret`) may also come from `<key>_file`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SquirroConfig {
    /// The cluster's base URL, e.g. `https://squirro.example.com`. The user API is then
    /// `<cluster_url>/api/user` and the topic API `<cluster_url>/api/topic`.
    #[serde(default)]
    pub cluster_url: Option<String>,
    /// Overrides the user API base URL (default derived from `cluster_url`).
    #[serde(default)]
    pub user_api_url: Option<String>,
    /// Overrides the topic API base URL (default derived from `cluster_url`).
    #[serde(default)]
    pub topic_api_url: Option<String>,
    /// The tenant (workspace domain). Default: the tenant the token exchange reports.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The connecting user's refresh token (the "API token" of the Squirro UI).
    pub refresh_token: Secret,
    /// An OAuth2 application id registered on the server (`user.ini` `[clients]`); sent
    /// only on the token exchange and the grant listing, and only when set.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The secret of `client_id`; sent only where `client_id` is.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// The server role given to users idbridge creates. Default `user`.
    #[serde(default = "default_role")]
    pub default_role: String,
    /// Custom user-data keys idbridge manages as user attributes. Default none: the
    /// server's custom values are then neither read nor written.
    #[serde(default)]
    pub attribute_keys: Vec<String>,
    /// The API version of most paths. Default `v0`.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The API version of get/update of one user. Default `v1` (JSON bodies); any other
    /// value sends updates form-encoded, as the official client does.
    #[serde(default = "default_user_data_api_version")]
    pub user_data_api_version: String,
    /// Verify the server's TLS certificate. Default `true`.
    #[serde(default = "yes")]
    pub verify_tls: bool,
    /// An extra PEM bundle of CA certificates to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds one request may take. Default 55, as the official client.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The most MiB of one response body read: a larger answer is refused, which keeps
    /// a broken or hostile server from exhausting memory. Default 64; 1 to 65536.
    #[serde(default = "idbridge_core::http::default_max_response_mib")]
    pub max_response_mib: u64,
}

impl std::fmt::Debug for SquirroConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SquirroConfig")
            .field("cluster_url", &self.cluster_url)
            .field("user_api_url", &self.user_api_url)
            .field("topic_api_url", &self.topic_api_url)
            .field("tenant", &self.tenant)
            .field("refresh_token", &self.refresh_token)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("default_role", &self.default_role)
            .field("attribute_keys", &self.attribute_keys)
            .field("api_version", &self.api_version)
            .field("user_data_api_version", &self.user_data_api_version)
            .field("verify_tls", &self.verify_tls)
            .field("ca_file", &self.ca_file)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_response_mib", &self.max_response_mib)
            .finish()
    }
}

fn yes() -> bool {
    true
}

fn default_role() -> String {
    DEFAULT_ROLE.to_string()
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_string()
}

fn default_user_data_api_version() -> String {
    DEFAULT_USER_DATA_API_VERSION.to_string()
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

/// The two base URLs, without trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrls {
    /// The user API (`U` in the vendor documentation).
    pub user: String,
    /// The topic API (`T`).
    pub topic: String,
}

impl SquirroConfig {
    /// Parses and validates a configuration section.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the key: unknown keys, a missing
    /// `refresh_token`, no base URL, a URL that does not parse, an unknown `default_role`,
    /// `client_secret` without `client_id`, an empty tenant or a zero timeout.
    pub fn from_adapter_config(cfg: &AdapterConfig) -> Result<Self> {
        let mut parsed: SquirroConfig = cfg.parse()?;
        parsed.validate(cfg)?;
        parsed.ca_file = parsed.ca_file.map(|ca| cfg.resolve_path(&ca));
        Ok(parsed)
    }

    fn validate(&self, cfg: &AdapterConfig) -> Result<()> {
        self.base_urls().map_err(|(key, msg)| cfg.error(key, msg))?;
        if self.refresh_token.is_empty() {
            return Err(cfg.error("refresh_token", "must not be empty"));
        }
        if !SERVER_ROLES.contains(&self.default_role.as_str()) {
            return Err(cfg.error(
                "default_role",
                format!(
                    "`{}` is not a Squirro server role; expected one of {}",
                    self.default_role,
                    SERVER_ROLES.join(", ")
                ),
            ));
        }
        if self.client_secret.is_some() && self.client_id.is_none() {
            return Err(cfg.error("client_secret", "given without `client_id`"));
        }
        if let Some(t) = &self.tenant
            && t.trim().is_empty()
        {
            return Err(cfg.error(
                "tenant",
                "must not be empty (leave it out to use the token's tenant)",
            ));
        }
        for (key, v) in [
            ("api_version", &self.api_version),
            ("user_data_api_version", &self.user_data_api_version),
        ] {
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(cfg.error(key, format!("`{v}` is not an API version such as v0")));
            }
        }
        for key in &self.attribute_keys {
            if crate::users::BUILT_IN_USER_KEYS.contains(&key.as_str()) || key.is_empty() {
                return Err(cfg.error(
                    "attribute_keys",
                    format!("`{key}` is a built-in user field, not a custom attribute"),
                ));
            }
        }
        if self.timeout_secs == 0 {
            return Err(cfg.error("timeout_secs", "must be at least 1"));
        }
        idbridge_core::http::check_max_response_mib(cfg, self.max_response_mib)?;
        Ok(())
    }

    /// The user and topic API base URLs: the explicit overrides, else derived from
    /// `cluster_url`.
    ///
    /// # Errors
    /// The key and the problem, when neither form is given or a URL does not parse.
    pub fn base_urls(&self) -> std::result::Result<BaseUrls, (&'static str, String)> {
        let cluster = self
            .cluster_url
            .as_deref()
            .map(|c| check_url("cluster_url", c))
            .transpose()?;
        let pick =
            |key: &'static str, explicit: &Option<String>, api: &str| match (explicit, &cluster) {
                (Some(u), _) => check_url(key, u),
                (None, Some(c)) => Ok(format!("{c}/api/{api}")),
                (None, None) => Err((
                    key,
                    "no base URL: give `cluster_url` (or both `user_api_url` and `topic_api_url`)"
                        .to_string(),
                )),
            };
        Ok(BaseUrls {
            user: pick("user_api_url", &self.user_api_url, "user")?,
            topic: pick("topic_api_url", &self.topic_api_url, "topic")?,
        })
    }

    /// The HTTP settings: TLS options and the request timeout.
    pub fn http_settings(&self) -> HttpSettings {
        HttpSettings::for_connection(self.verify_tls, self.ca_file.clone(), self.timeout_secs)
            .with_max_response_mib(self.max_response_mib)
    }
}

fn check_url(key: &'static str, raw: &str) -> std::result::Result<String, (&'static str, String)> {
    let trimmed = raw.trim().trim_end_matches('/');
    let parsed =
        url::Url::parse(trimmed).map_err(|e| (key, format!("`{raw}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err((key, format!("`{raw}` is not an http(s) URL")));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::ErrorKind;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<SquirroConfig> {
        SquirroConfig::from_adapter_config(&AdapterConfig::new("sq", v))
    }

    #[test]
    fn cluster_url_derives_both_bases_and_defaults_apply() {
        let c = parse(json!({"cluster_url": "https://sq.example.com/", "refresh_token": "t"}))
            .expect("valid");
        let urls = c.base_urls().expect("urls");
        assert_eq!(urls.user, "https://sq.example.com/api/user");
        assert_eq!(urls.topic, "https://sq.example.com/api/topic");
        assert_eq!(c.default_role, "user");
        assert_eq!(c.api_version, "v0");
        assert_eq!(c.user_data_api_version, "v1");
        assert_eq!(c.timeout_secs, 55);
        assert!(c.verify_tls);
    }

    #[test]
    fn explicit_api_urls_override_the_cluster() {
        let c = parse(json!({
            "cluster_url": "https://sq.example.com",
            "user_api_url": "https://user.example.com/",
            "refresh_token": "t"
        }))
        .expect("valid");
        let urls = c.base_urls().expect("urls");
        assert_eq!(urls.user, "https://user.example.com");
        assert_eq!(urls.topic, "https://sq.example.com/api/topic");
    }

    #[test]
    fn rejects_bad_sections_naming_the_key() {
        for (v, key) in [
            (json!({"refresh_token": "t"}), "user_api_url"),
            (
                json!({"cluster_url": "x", "refresh_token": "t"}),
                "cluster_url",
            ),
            (json!({"cluster_url": "http://h"}), "refresh_token"),
            (
                json!({"cluster_url": "http://h", "refresh_token": ""}),
                "refresh_token",
            ),
            (
                json!({"cluster_url": "http://h", "refresh_token": "t", "default_role": "owner"}),
                "default_role",
            ),
            (
                json!({"cluster_url": "http://h", "refresh_token": "t", "client_secret": "s"}),
                "client_secret",
            ),
            (
                json!({"cluster_url": "http://h", "refresh_token": "t", "tenat": "x"}),
                "tenat",
            ),
        ] {
            let err = parse(v.clone()).expect_err(&v.to_string());
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(key), "{v}: {err}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = parse(json!({
            "cluster_url": "http://h",
            "refresh_token": "canary-refresh",
            "client_id": "app",
            "client_secret": "canary-secret"
        }))
        .expect("valid");
        let text = format!("{c:?}");
        assert!(!text.contains("canary"), "{text}");
        assert!(text.contains("app"));
    }

    #[test]
    fn max_response_mib_is_read_defaulted_and_checked() {
        idbridge_testkit::http_config::assert_max_response_mib(
            json!({"cluster_url": "https://sq.example.com/", "refresh_token": "t"}),
            |c| SquirroConfig::from_adapter_config(c).map(|c| c.http_settings().max_body_bytes),
        );
    }
}
