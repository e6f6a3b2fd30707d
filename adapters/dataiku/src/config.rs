//! The adapter's configuration section, its defaults and validation.
//!
//! ```toml
//! adapter = "dataiku"
//! base_url = "https://dss.example.com:11200"
//! api_key_file = "/run/secrets/dss-api-key"
//! # api_path = "/dip/publicapi"     # or "/public/api"
//! # verify_tls = true
//! # ca_file = "corp-ca.pem"
//! # source_type = "LOCAL"
//! # user_profile = "READER"
//! # admin_login = "admin"
//! # bulk = "auto"                   # auto | on | off
//! # bulk_max = 100
//! # members_bulk_max = 1000
//! # attributes_field = "adminProperties"
//! # [targets.dss.project_roles]
//! # reader = ["readProjectContent", "readDashboards"]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use idbridge_core::http::HttpSettings;
use idbridge_core::{AdapterConfig, Result, Secret};
use serde::Deserialize;

/// The API root the official Python client uses; `/public/api` (the documented one) reaches
/// the same API.
pub const DEFAULT_API_PATH: &str = "/dip/publicapi";

/// The other API root DSS serves.
pub const DOCUMENTED_API_PATH: &str = "/public/api";

/// The source type given to created users unless configured.
pub const DEFAULT_SOURCE_TYPE: &str = "LOCAL";

/// The profile given to created users unless configured: the lowest licence profile.
pub const DEFAULT_USER_PROFILE: &str = "READER";

/// The most users sent in one bulk request unless configured.
pub const DEFAULT_BULK_MAX: usize = 100;

/// The default most membership changes in one batch.
pub const DEFAULT_MEMBERS_BULK_MAX: usize = 1000;

/// The default project roles: name and the flags an entry of the project's permissions
/// carries for it.
///
/// Each set already contains the flags DSS documents as implied by its strongest flag
/// (`writeProjectContent` implies reading content and dashboards, writing dashboards and
/// running scenarios), so a role reads back the same whether DSS stores implied flags or
/// only evaluates them. The sets are nested, so an entry holding a stronger role is reported
/// with that role only.
pub const DEFAULT_PROJECT_ROLES: &[(&str, &[&str])] = &[
    ("viewer", &["readDashboards"]),
    ("reader", &["readProjectContent", "readDashboards"]),
    (
        "contributor",
        &[
            "readProjectContent",
            "writeProjectContent",
            "readDashboards",
            "writeDashboards",
            "runScenarios",
        ],
    ),
    (
        "admin",
        &[
            "admin",
            "readProjectContent",
            "writeProjectContent",
            "readDashboards",
            "writeDashboards",
            "runScenarios",
        ],
    ),
];

/// The default project roles as a map.
pub fn default_project_roles() -> BTreeMap<String, Vec<String>> {
    DEFAULT_PROJECT_ROLES
        .iter()
        .map(|(name, flags)| {
            (
                (*name).to_string(),
                flags.iter().map(|f| (*f).to_string()).collect(),
            )
        })
        .collect()
}

/// How the adapter decides whether to use the bulk user endpoints (DSS 14.2 and later).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkMode {
    /// Use them until the first bulk request answers 404 or 405 (a server older than
    /// 14.2), then write one user at a time for the rest of the connection. Nothing is
    /// sent to find out. The default.
    #[default]
    Auto,
    /// Always use them (the server is known to be 14.2 or later): a 404 is an error.
    On,
    /// Never use them: one request per user.
    Off,
}

/// Which settings object holds the neutral user attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum AttributesField {
    /// `adminProperties`: visible and editable by administrators only. The default.
    #[default]
    #[serde(rename = "adminProperties")]
    AdminProperties,
    /// `userProperties`: visible and editable by the user too.
    #[serde(rename = "userProperties")]
    UserProperties,
}

impl AttributesField {
    /// The settings key.
    pub fn key(self) -> &'static str {
        match self {
            AttributesField::AdminProperties => "adminProperties",
            AttributesField::UserProperties => "userProperties",
        }
    }
}

fn yes() -> bool {
    true
}

fn default_api_path() -> String {
    DEFAULT_API_PATH.to_string()
}

fn default_source_type() -> String {
    DEFAULT_SOURCE_TYPE.to_string()
}

fn default_user_profile() -> String {
    DEFAULT_USER_PROFILE.to_string()
}

fn default_bulk_max() -> usize {
    DEFAULT_BULK_MAX
}

fn default_members_bulk_max() -> usize {
    DEFAULT_MEMBERS_BULK_MAX
}

fn default_connect_timeout() -> u64 {
    10
}

fn default_request_timeout() -> u64 {
    60
}

/// The `dataiku` adapter's keys.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataikuConfig {
    /// The DSS URL (`https://dss.example.com:11200`), without the API root.
    pub base_url: String,
    /// The API key (secret): a personal key of an administrator or a global admin key.
    /// Sent as the HTTP Basic user with an empty password. May be given as `api_key_file`.
    pub api_key: Secret,
    /// The API root. Default `/dip/publicapi` (the official client's); `/public/api` works too.
    #[serde(default = "default_api_path")]
    pub api_path: String,
    /// Verify the server's TLS certificate. Default `true`.
    #[serde(default = "yes")]
    pub verify_tls: bool,
    /// An extra PEM bundle of CA certificates to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// `sourceType` of created users. Default `LOCAL`.
    #[serde(default = "default_source_type")]
    pub source_type: String,
    /// `userProfile` of created users. Default `READER`.
    #[serde(default = "default_user_profile")]
    pub user_profile: String,
    /// A login that is never modified besides the key's own user (which the adapter asks
    /// the server for). Set it when the key is a global key not bound to a user.
    #[serde(default)]
    pub admin_login: Option<String>,
    /// Whether to use the bulk user endpoints: `auto` (until a bulk request finds none;
    /// default), `on`, `off`.
    #[serde(default)]
    pub bulk: BulkMode,
    /// The most users in one bulk request. Default 100.
    #[serde(default = "default_bulk_max")]
    pub bulk_max: usize,
    /// The most membership changes in one batch (the batch size the adapter declares for
    /// memberships). On bulk servers a batch costs one user listing and one bulk edit of
    /// the users it touches, so larger batches read the user list less often. Default
    /// 1000.
    #[serde(default = "default_members_bulk_max")]
    pub members_bulk_max: usize,
    /// Where user attributes live: `adminProperties` (default) or `userProperties`.
    #[serde(default)]
    pub attributes_field: AttributesField,
    /// Read a document twice before changing it and require both reads to agree, so that
    /// an answer mangled on the way is never written back. Default `true`; `false` saves one
    /// request per update.
    #[serde(default = "yes")]
    pub verify_reads: bool,
    /// Project roles: name -> permission flags set on the project's permission entry.
    /// Default: `viewer`, `reader`, `contributor`, `admin` (see the adapter's docs).
    #[serde(default = "default_project_roles")]
    pub project_roles: BTreeMap<String, Vec<String>>,
    /// Seconds to establish a connection. Default 10.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Seconds for one request and its response. Default 60.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// The most MiB of one response body read: a larger answer is refused, which keeps
    /// a broken or hostile server from exhausting memory. Default 64; 1 to 65536.
    #[serde(default = "idbridge_core::http::default_max_response_mib")]
    pub max_response_mib: u64,
}

impl std::fmt::Debug for DataikuConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataikuConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("api_path", &self.api_path)
            .field("verify_tls", &self.verify_tls)
            .field("ca_file", &self.ca_file)
            .field("source_type", &self.source_type)
            .field("user_profile", &self.user_profile)
            .field("admin_login", &self.admin_login)
            .field("bulk", &self.bulk)
            .field("bulk_max", &self.bulk_max)
            .field("members_bulk_max", &self.members_bulk_max)
            .field("attributes_field", &self.attributes_field)
            .field("verify_reads", &self.verify_reads)
            .field("project_roles", &self.project_roles)
            .field("max_response_mib", &self.max_response_mib)
            .finish()
    }
}

impl DataikuConfig {
    /// Parses and validates a configuration section.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the key: unknown keys, a base URL that is
    /// not http(s), an API root not starting with `/`, an empty key, a zero `bulk_max` or `members_bulk_max`, or
    /// a project role with no flag or a name containing `:`.
    pub fn from_adapter_config(cfg: &AdapterConfig) -> Result<Self> {
        let mut c: DataikuConfig = cfg.parse()?;
        let url = url::Url::parse(c.base_url.trim())
            .map_err(|e| cfg.error("base_url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(cfg.error("base_url", "expected an http:// or https:// URL"));
        }
        c.base_url = c.base_url.trim().trim_end_matches('/').to_string();
        let path = c.api_path.trim().trim_end_matches('/').to_string();
        if !path.starts_with('/') {
            return Err(cfg.error(
                "api_path",
                format!("expected a path starting with `/` such as `{DEFAULT_API_PATH}`"),
            ));
        }
        c.api_path = path;
        if c.api_key.is_empty() {
            return Err(cfg.error("api_key", "the API key is empty"));
        }
        idbridge_core::http::check_max_response_mib(cfg, c.max_response_mib)?;
        if c.bulk_max == 0 {
            return Err(cfg.error("bulk_max", "must be at least 1"));
        }
        if c.members_bulk_max == 0 {
            return Err(cfg.error("members_bulk_max", "must be at least 1"));
        }
        if c.source_type.trim().is_empty() {
            return Err(cfg.error("source_type", "must not be empty"));
        }
        if c.user_profile.trim().is_empty() {
            return Err(cfg.error("user_profile", "must not be empty"));
        }
        for (name, flags) in &c.project_roles {
            if name.is_empty() || name.contains(':') {
                return Err(cfg.error(
                    &format!("project_roles.{name}"),
                    "a project role name must be non-empty and contain no `:`",
                ));
            }
            if flags.is_empty() || flags.iter().any(|f| f.trim().is_empty()) {
                return Err(cfg.error(
                    &format!("project_roles.{name}"),
                    "a project role needs at least one permission flag, none of them empty",
                ));
            }
        }
        if let Some(ca) = &c.ca_file {
            c.ca_file = Some(cfg.resolve_path(ca));
        }
        Ok(c)
    }

    /// The HTTP client settings.
    pub fn http_settings(&self) -> HttpSettings {
        HttpSettings {
            verify_tls: self.verify_tls,
            ca_file: self.ca_file.clone(),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            ..HttpSettings::default()
        }
        .with_max_response_mib(self.max_response_mib)
    }
}

/// The example section `idbridge adapters` shows.
pub const EXAMPLE_CONFIG: &str = r#"base_url = "https://dss.example.com:11200"
api_key_file = "/run/secrets/dss-api-key"   # or api_key = "..." (a personal key of an admin)
# api_path = "/dip/publicapi"               # the official client's root; "/public/api" also works
# source_type = "LOCAL"                     # sourceType of created users
# user_profile = "READER"                   # userProfile of created users (licence-dependent)
# admin_login = "admin"                     # never modified (the key's own user always is)
# bulk = "auto"                             # bulk user endpoints (DSS 14.2+): auto | on | off
# members_bulk_max = 1000                   # membership changes per batch (one user listing each)
# attributes_field = "adminProperties"      # or "userProperties"
# verify_reads = true                       # read twice before each read-modify-write
# project_roles = { reader = ["readProjectContent", "readDashboards"] }"#;

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::ErrorKind;
    use serde_json::json;

    #[test]
    fn defaults_follow_the_official_client() {
        let c = DataikuConfig::from_adapter_config(&AdapterConfig::new(
            "dss",
            json!({"base_url": "http://h:11200/", "api_key": "k"}),
        ))
        .expect("valid");
        assert_eq!(c.base_url, "http://h:11200");
        assert_eq!(c.api_path, "/dip/publicapi");
        assert_eq!(c.source_type, "LOCAL");
        assert_eq!(c.user_profile, "READER");
        assert_eq!(c.bulk, BulkMode::Auto);
        assert_eq!((c.bulk_max, c.members_bulk_max), (100, 1000));
        assert_eq!(c.attributes_field, AttributesField::AdminProperties);
        assert_eq!(
            c.project_roles["reader"],
            ["readProjectContent", "readDashboards"]
        );
    }

    #[test]
    fn debug_redacts_the_key() {
        let c = DataikuConfig::from_adapter_config(&AdapterConfig::new(
            "dss",
            json!({"base_url": "http://h", "api_key": "canary-key-123"}),
        ))
        .expect("valid");
        assert!(!format!("{c:?}").contains("canary-key-123"));
    }

    #[test]
    fn rejects_bad_values_naming_the_key() {
        for (settings, key) in [
            (json!({"base_url": "ftp://h", "api_key": "k"}), "base_url"),
            (
                json!({"base_url": "http://h", "api_key": "k", "api_path": "x"}),
                "api_path",
            ),
            (json!({"base_url": "http://h", "api_key": ""}), "api_key"),
            (
                json!({"base_url": "http://h", "api_key": "k", "bulk": "maybe"}),
                "bulk",
            ),
            (
                json!({"base_url": "http://h", "api_key": "k", "members_bulk_max": 0}),
                "members_bulk_max",
            ),
            (
                json!({"base_url": "http://h", "api_key": "k", "apikey": "k"}),
                "apikey",
            ),
            (
                json!({"base_url": "http://h", "api_key": "k", "project_roles": {"a:b": ["admin"]}}),
                "project_roles",
            ),
            (
                json!({"base_url": "http://h", "api_key": "k", "project_roles": {"x": []}}),
                "project_roles",
            ),
        ] {
            let err = DataikuConfig::from_adapter_config(&AdapterConfig::new("dss", settings))
                .expect_err("invalid");
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn accepts_the_documented_root() {
        let c = DataikuConfig::from_adapter_config(&AdapterConfig::new(
            "dss",
            json!({"base_url": "http://h", "api_key": "k", "api_path": "/public/api/"}),
        ))
        .expect("valid");
        assert_eq!(c.api_path, DOCUMENTED_API_PATH);
    }

    #[test]
    fn max_response_mib_is_read_defaulted_and_checked() {
        idbridge_testkit::http_config::assert_max_response_mib(
            json!({"base_url": "http://h:11200/", "api_key": "k"}),
            |c| DataikuConfig::from_adapter_config(c).map(|c| c.http_settings().max_body_bytes),
        );
    }
}
