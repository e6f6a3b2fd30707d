//! The adapter's configuration section, its defaults and the HTTP settings derived from it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use idbridge_core::http::HttpSettings;
use idbridge_core::{AdapterConfig, Result, Secret};
use serde::Deserialize;

/// Records asked for per listing page unless configured.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// Members changed per PATCH unless configured (the server's bulk and payload limits
/// still apply to the request's size).
pub const DEFAULT_MEMBERS_PER_PATCH: usize = 100;

/// Seconds one request may take unless configured.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// The user attributes idbridge maps itself; a free-form attribute may not claim them.
pub const MANAGED_PATHS: [&str; 10] = [
    "id",
    "meta",
    "schemas",
    "userName",
    "name.formatted",
    "displayName",
    "emails",
    "active",
    "groups",
    "password",
];

/// The `[targets.<name>]` (or `[source]`) keys of a SCIM service provider.
///
/// Exactly one way to authenticate: `token` (a bearer token), `username` and `password`
/// (HTTP basic), or `token_url`, `client_id` and `client_secret` (OAuth 2.0 client
/// credentials). Secrets may also come from `<key>_file`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimConfig {
    /// The SCIM base URL, e.g. `https://app.example.com/scim/v2`: `/Users` and `/Groups` are
    /// under it.
    pub base_url: String,
    /// A bearer token (RFC 6750); `api_key` is accepted as another name for it, as many
    /// applications call their SCIM token an API key.
    #[serde(default, alias = "api_key")]
    pub token: Option<Secret>,
    /// The user of HTTP basic authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// The password of HTTP basic authentication.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The OAuth 2.0 token endpoint (client credentials grant, RFC 6749 §4.4).
    #[serde(default)]
    pub token_url: Option<String>,
    /// The OAuth 2.0 client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The OAuth 2.0 client secret.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// The OAuth 2.0 scope asked for. Default none.
    #[serde(default)]
    pub scope: Option<String>,
    /// Free-form user attributes: idbridge attribute name to SCIM attribute path
    /// (`title`, `name.givenName`, or a schema URN then `:` and the attribute, as
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`). Default
    /// `{ externalId = "externalId" }`.
    #[serde(default = "default_attributes")]
    pub attribute_paths: BTreeMap<String, String>,
    /// Records asked for per listing page (the server's `maxResults` caps it). Default 100.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Members changed in one PATCH of a group. Default 100.
    #[serde(default = "default_members_per_patch")]
    pub members_per_patch: usize,
    /// Send batches of user creates and deletes to `/Bulk` where the server advertises it
    /// (RFC 7644 §3.7). Default `true`; `false` sends every write on its own.
    #[serde(default = "yes")]
    pub bulk: bool,
    /// The most operations in one bulk request, below the server's `maxOperations`.
    /// Default: the server's `maxOperations`.
    #[serde(default)]
    pub bulk_max_operations: Option<usize>,
    /// Verify the server's TLS certificate. Default `true`.
    #[serde(default = "yes")]
    pub verify_tls: bool,
    /// An extra PEM bundle of CA certificates to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds one request may take. Default 60.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// The most MiB of one response body read: a larger answer is refused, which keeps
    /// a broken or hostile server from exhausting memory. Default 64; 1 to 65536.
    #[serde(default = "idbridge_core::http::default_max_response_mib")]
    pub max_response_mib: u64,
}

impl std::fmt::Debug for ScimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimConfig")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .field("attribute_paths", &self.attribute_paths)
            .field("page_size", &self.page_size)
            .field("members_per_patch", &self.members_per_patch)
            .field("bulk", &self.bulk)
            .field("bulk_max_operations", &self.bulk_max_operations)
            .field("max_response_mib", &self.max_response_mib)
            .finish()
    }
}

fn yes() -> bool {
    true
}

fn default_attributes() -> BTreeMap<String, String> {
    [("externalId".to_string(), "externalId".to_string())].into()
}

fn default_page_size() -> usize {
    DEFAULT_PAGE_SIZE
}

fn default_members_per_patch() -> usize {
    DEFAULT_MEMBERS_PER_PATCH
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

/// How the adapter authenticates, as configured.
#[derive(Debug, Clone)]
pub enum AuthMethod {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic ...`.
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: Secret,
    },
    /// A token from the client credentials grant, sent as a bearer token.
    ClientCredentials {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: Secret,
        /// The scope asked for.
        scope: Option<String>,
    },
}

impl ScimConfig {
    /// Parses and validates a configuration section.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the key: unknown keys, a base URL that
    /// does not parse, no or more than one authentication, an incomplete one, an attribute
    /// path that is empty or claims an attribute idbridge maps itself, a zero page size,
    /// batch size or timeout.
    pub fn from_adapter_config(cfg: &AdapterConfig) -> Result<Self> {
        let mut parsed: ScimConfig = cfg.parse()?;
        parsed.validate(cfg)?;
        parsed.base_url = parsed.base_url.trim_end_matches('/').to_string();
        parsed.ca_file = parsed.ca_file.map(|ca| cfg.resolve_path(&ca));
        Ok(parsed)
    }

    fn validate(&self, cfg: &AdapterConfig) -> Result<()> {
        for (key, url) in [
            ("base_url", Some(&self.base_url)),
            ("token_url", self.token_url.as_ref()),
        ] {
            if let Some(url) = url {
                match url::Url::parse(url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => return Err(cfg.error(key, format!("`{url}` is not an http(s) URL"))),
                }
            }
        }
        self.auth_method()
            .map_err(|(key, msg)| cfg.error(key, msg))?;
        for (name, path) in &self.attribute_paths {
            if name.is_empty() || path.trim().is_empty() {
                return Err(cfg.error("attribute_paths", "names and paths must not be empty"));
            }
            let (_, attr) = crate::mapping::split_path(path);
            if MANAGED_PATHS.iter().any(|m| {
                attr.eq_ignore_ascii_case(m)
                    || attr
                        .to_ascii_lowercase()
                        .starts_with(&format!("{}.", m.to_ascii_lowercase()))
            }) {
                return Err(cfg.error(
                    &format!("attribute_paths.{name}"),
                    format!("`{path}` is mapped by idbridge itself (login, name, e-mail, active)"),
                ));
            }
        }
        idbridge_core::http::check_max_response_mib(cfg, self.max_response_mib)?;
        for (key, v) in [
            ("page_size", self.page_size as u64),
            ("members_per_patch", self.members_per_patch as u64),
            ("timeout_secs", self.timeout_secs),
            (
                "bulk_max_operations",
                self.bulk_max_operations.map_or(1, |m| m as u64),
            ),
        ] {
            if v == 0 {
                return Err(cfg.error(key, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// The one configured way to authenticate.
    ///
    /// # Errors
    /// The key at fault and what is wrong with it.
    pub fn auth_method(&self) -> std::result::Result<AuthMethod, (&'static str, String)> {
        let bearer = self.token.is_some();
        let basic = self.username.is_some() || self.password.is_some();
        let oauth =
            self.token_url.is_some() || self.client_id.is_some() || self.client_secret.is_some();
        if [bearer, basic, oauth].iter().filter(|b| **b).count() != 1 {
            return Err((
                "token",
                "give exactly one authentication: `token`, or `username` and `password`, or `token_url`, `client_id` and `client_secret`".into(),
            ));
        }
        if self.scope.is_some() && !oauth {
            return Err(("scope", "is only used with `token_url`".into()));
        }
        if let Some(token) = &self.token {
            if token.is_empty() {
                return Err(("token", "must not be empty".into()));
            }
            return Ok(AuthMethod::Bearer(token.clone()));
        }
        if basic {
            let (Some(username), Some(password)) = (&self.username, &self.password) else {
                return Err((
                    "username",
                    "basic authentication needs `username` and `password`".into(),
                ));
            };
            if username.is_empty() || username.contains(':') {
                return Err(("username", "must be non-empty and hold no `:`".into()));
            }
            return Ok(AuthMethod::Basic {
                username: username.clone(),
                password: password.clone(),
            });
        }
        match (&self.token_url, &self.client_id, &self.client_secret) {
            (Some(url), Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Ok(AuthMethod::ClientCredentials {
                    token_url: url.clone(),
                    client_id: id.clone(),
                    client_secret: secret.clone(),
                    scope: self.scope.clone(),
                })
            }
            _ => Err((
                "token_url",
                "client credentials need `token_url`, `client_id` and `client_secret`".into(),
            )),
        }
    }

    /// The HTTP client's settings.
    pub fn http_settings(&self) -> HttpSettings {
        HttpSettings::for_connection(self.verify_tls, self.ca_file.clone(), self.timeout_secs)
            .with_max_response_mib(self.max_response_mib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::ErrorKind;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<ScimConfig> {
        ScimConfig::from_adapter_config(&AdapterConfig::new("scim", v))
    }

    #[test]
    fn one_authentication_is_required_and_defaults_apply() {
        let c = parse(json!({"base_url": "https://x/scim/v2/", "token": "t"})).expect("valid");
        assert_eq!(c.base_url, "https://x/scim/v2");
        assert_eq!(c.page_size, DEFAULT_PAGE_SIZE);
        assert_eq!(
            c.attribute_paths.get("externalId").map(String::as_str),
            Some("externalId")
        );
        for bad in [
            json!({"base_url": "https://x"}),
            json!({"base_url": "https://x", "token": "t", "username": "u", "password": "p"}),
            json!({"base_url": "https://x", "username": "u"}),
            json!({"base_url": "https://x", "token_url": "https://x/t", "client_id": "c"}),
            json!({"base_url": "ftp://x", "token": "t"}),
            json!({"base_url": "https://x", "token": "t", "page_size": 0}),
            json!({"base_url": "https://x", "token": "t", "attribute_paths": {"e": "emails"}}),
            json!({"base_url": "https://x", "token": "t", "nope": 1}),
        ] {
            let err = parse(bad.clone()).expect_err(&bad.to_string());
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
        }
        let oauth = parse(json!({"base_url": "https://x", "token_url": "https://x/t",
            "client_id": "c", "client_secret": "s", "scope": "scim"}))
        .expect("valid");
        assert!(matches!(
            oauth.auth_method(),
            Ok(AuthMethod::ClientCredentials { .. })
        ));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let c = parse(json!({"base_url": "https://x", "username": "u", "password": "canary-pw"}))
            .expect("valid");
        assert!(!format!("{c:?}").contains("canary"));
    }

    #[test]
    fn max_response_mib_is_read_defaulted_and_checked() {
        idbridge_testkit::http_config::assert_max_response_mib(
            json!({"base_url": "https://x/scim/v2/", "token": "t"}),
            |c| ScimConfig::from_adapter_config(c).map(|c| c.http_settings().max_body_bytes),
        );
    }
}
