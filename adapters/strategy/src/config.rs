//! The adapter's configuration keys, their defaults and their checks.

use std::path::PathBuf;
use std::time::Duration;

use idbridge_core::account::UserTemplate;
use idbridge_core::http::HttpSettings;
use idbridge_core::{AdapterConfig, Result, Secret};
use serde::Deserialize;

/// How the adapter logs in (`login_mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMode {
    /// Standard (metadata) authentication, login mode 1. The default.
    #[default]
    Standard,
    /// LDAP authentication, login mode 16.
    Ldap,
    /// An API token, login mode 4096 (the token goes in `api_token`).
    ApiToken,
}

impl LoginMode {
    /// The numeric `loginMode` the server expects.
    pub fn code(self) -> u32 {
        match self {
            LoginMode::Standard => 1,
            LoginMode::Ldap => 16,
            LoginMode::ApiToken => 4096,
        }
    }
}

/// Which endpoint lists users (`user_listing`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserListing {
    /// The members of the built-in Everyone group, which every user belongs to: the
    /// endpoint the official SDK pages through, whose entries carry login, full name and
    /// enabled flag, and which always sends `X-MSTR-Total-Count`. The default.
    #[default]
    EveryoneMembers,
    /// `GET /api/users`, the user search endpoint.
    UsersEndpoint,
}

fn yes() -> bool {
    true
}

fn default_page_size() -> usize {
    DEFAULT_PAGE_SIZE
}

fn default_list_details_concurrency() -> usize {
    DEFAULT_LIST_DETAILS_CONCURRENCY
}

fn default_application_type() -> u32 {
    DEFAULT_APPLICATION_TYPE
}

fn default_timeout_secs() -> u64 {
    60
}

/// The page size used when a caller does not ask for one: the chunk the official SDK uses.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// How many reads of single users a listing keeps in flight when `list_details` is on and
/// `list_details_concurrency` is not set: the official SDK's number of parallel requests.
pub const DEFAULT_LIST_DETAILS_CONCURRENCY: usize = 8;

/// The most `list_details_concurrency` accepts: each read in flight holds a connection to
/// the Library, whose request threads the platform's own users share.
pub const MAX_LIST_DETAILS_CONCURRENCY: usize = 64;

/// The `applicationType` sent at login: 35, the generic REST client type every server
/// version accepts (the SDK's own type 76 needs server 11.5.0600 or later).
pub const DEFAULT_APPLICATION_TYPE: u32 = 35;

/// The `[source]` or `[targets.<name>]` keys of a `strategy` system.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// The Library URL, ending in `/MicroStrategyLibrary` (a trailing `/` or `/api` is
    /// accepted and removed).
    pub base_url: String,
    /// The login name for `standard` and `ldap` login.
    #[serde(default)]
    pub username: Option<String>,
    /// The password for `standard` and `ldap` login. Secret.
    #[serde(default)]
    pub password: Option<Secret>,
    /// `standard` (default), `ldap` or `api_token`.
    #[serde(default)]
    pub login_mode: LoginMode,
    /// The API token for `api_token` login. Secret.
    #[serde(default)]
    pub api_token: Option<Secret>,
    /// The project (name or id) that project-scoped grants use when a grant names none.
    #[serde(default)]
    pub project: Option<String>,
    /// Verify the server's TLS certificate. Default `true`.
    #[serde(default = "yes")]
    pub verify_tls: bool,
    /// An extra PEM bundle of CA certificates to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Records per request when paging. Default 1000.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Which endpoint lists users. Default `everyone_members`.
    #[serde(default)]
    pub user_listing: UserListing,
    /// Read every listed user in full (`GET /api/users/{id}`) so listings carry the email
    /// address, which the listing endpoints leave out. Default `true`; `false` lists with
    /// one request per page and no emails.
    #[serde(default = "yes")]
    pub list_details: bool,
    /// How many of those reads of single users a listing keeps in flight. Default 8 (the
    /// official SDK's); 1 to [`MAX_LIST_DETAILS_CONCURRENCY`].
    #[serde(default = "default_list_details_concurrency")]
    pub list_details_concurrency: usize,
    /// The `applicationType` sent at login. Default 35.
    #[serde(default = "default_application_type")]
    pub application_type: u32,
    /// Seconds one request may take. Default 60.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// The most MiB of one response body read: a larger answer is refused, which keeps
    /// a broken or hostile server from exhausting memory. Default 64; 1 to 65536.
    #[serde(default = "idbridge_core::http::default_max_response_mib")]
    pub max_response_mib: u64,
    /// The LDAP distinguished name of created users, as a template of the new user
    /// (`uid={login},ou=people,dc=example,dc=com`): binds each account to the directory
    /// the Intelligence Server authenticates against. Default none.
    #[serde(default)]
    pub new_user_ldapdn: Option<UserTemplate>,
    /// The trusted-authentication id of created users (`trustId`), as a template
    /// (`{email|lower}`): binds each account to the single sign-on the Library trusts.
    /// Default none.
    #[serde(default)]
    pub new_user_trust_id: Option<UserTemplate>,
}

impl std::fmt::Debug for StrategyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyConfig")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("login_mode", &self.login_mode)
            .field("api_token", &self.api_token)
            .field("project", &self.project)
            .field("verify_tls", &self.verify_tls)
            .field("ca_file", &self.ca_file)
            .field("page_size", &self.page_size)
            .field("user_listing", &self.user_listing)
            .field("list_details", &self.list_details)
            .field("list_details_concurrency", &self.list_details_concurrency)
            .field("application_type", &self.application_type)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_response_mib", &self.max_response_mib)
            .field("new_user_ldapdn", &self.new_user_ldapdn)
            .field("new_user_trust_id", &self.new_user_trust_id)
            .finish()
    }
}

impl StrategyConfig {
    /// Parses and checks a section.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the key: unknown keys, a `base_url`
    /// that is not an http(s) URL, missing credentials for the login mode, a zero page size,
    /// a `list_details_concurrency` outside 1 to [`MAX_LIST_DETAILS_CONCURRENCY`].
    pub fn from_adapter_config(cfg: &AdapterConfig) -> Result<StrategyConfig> {
        let mut c: StrategyConfig = cfg.parse()?;
        c.base_url = normalise_base_url(&c.base_url).map_err(|p| cfg.error("base_url", p))?;
        match c.login_mode {
            LoginMode::Standard | LoginMode::Ldap => {
                if c.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
                    return Err(
                        cfg.error("username", "required for login_mode `standard` and `ldap`")
                    );
                }
                if c.password.is_none() {
                    return Err(cfg.error(
                        "password",
                        "required for login_mode `standard` and `ldap` (or give `password_file`)",
                    ));
                }
            }
            LoginMode::ApiToken => {
                if c.api_token.as_ref().is_none_or(Secret::is_empty) {
                    return Err(cfg.error(
                        "api_token",
                        "required for login_mode `api_token` (or give `api_token_file`)",
                    ));
                }
            }
        }
        if c.page_size == 0 {
            return Err(cfg.error("page_size", "must be at least 1"));
        }
        if !(1..=MAX_LIST_DETAILS_CONCURRENCY).contains(&c.list_details_concurrency) {
            return Err(cfg.error(
                "list_details_concurrency",
                format!(
                    "is {}; it must be 1 to {MAX_LIST_DETAILS_CONCURRENCY}",
                    c.list_details_concurrency
                ),
            ));
        }
        if c.timeout_secs == 0 {
            return Err(cfg.error("timeout_secs", "must be at least 1"));
        }
        idbridge_core::http::check_max_response_mib(cfg, c.max_response_mib)?;
        if let Some(p) = &c.project {
            if p.trim().is_empty() {
                return Err(cfg.error("project", "must not be empty when given"));
            }
        }
        if let Some(ca) = &c.ca_file {
            c.ca_file = Some(cfg.resolve_path(ca));
        }
        Ok(c)
    }

    /// The HTTP client settings: TLS as configured, cookies kept (the REST tier ties the
    /// token to its HTTP session cookie), the configured request timeout.
    pub fn http_settings(&self) -> HttpSettings {
        HttpSettings {
            verify_tls: self.verify_tls,
            ca_file: self.ca_file.clone(),
            request_timeout: Duration::from_secs(self.timeout_secs),
            cookie_store: true,
            ..HttpSettings::default()
        }
        .with_max_response_mib(self.max_response_mib)
    }
}

/// Checks a base URL and removes a trailing `/` or `/api`.
fn normalise_base_url(raw: &str) -> std::result::Result<String, String> {
    let mut s = raw.trim().trim_end_matches('/').to_string();
    if let Some(stripped) = s.strip_suffix("/api") {
        s = stripped.trim_end_matches('/').to_string();
    }
    let url = url::Url::parse(&s).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{raw}` must start with http:// or https://"));
    }
    if url.host_str().is_none() {
        return Err(format!("`{raw}` has no host"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::ErrorKind;
    use serde_json::{Value, json};

    #[test]
    fn defaults_and_normalised_url() {
        let cfg = AdapterConfig::new(
            "bi",
            json!({"base_url": "https://bi.example.com/MicroStrategyLibrary/api/",
                   "username": "administrator", "password": "pw"}),
        );
        let c = StrategyConfig::from_adapter_config(&cfg).expect("valid");
        assert_eq!(c.base_url, "https://bi.example.com/MicroStrategyLibrary");
        assert_eq!(c.login_mode, LoginMode::Standard);
        assert_eq!(c.page_size, DEFAULT_PAGE_SIZE);
        assert_eq!(c.user_listing, UserListing::EveryoneMembers);
        assert!(c.list_details);
        assert_eq!(c.list_details_concurrency, DEFAULT_LIST_DETAILS_CONCURRENCY);
        assert!(c.verify_tls);
        assert!(c.http_settings().cookie_store);
    }

    #[test]
    fn rejects_misspelt_keys_and_missing_credentials() {
        let err = StrategyConfig::from_adapter_config(&AdapterConfig::new(
            "bi",
            json!({"base_url": "https://h/MicroStrategyLibrary", "usrname": "x"}),
        ))
        .expect_err("misspelt");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("usrname"), "{err}");

        let err = StrategyConfig::from_adapter_config(&AdapterConfig::new(
            "bi",
            json!({"base_url": "https://h/MicroStrategyLibrary", "username": "x"}),
        ))
        .expect_err("no password");
        assert!(err.to_string().contains("bi.password"), "{err}");

        let err = StrategyConfig::from_adapter_config(&AdapterConfig::new(
            "bi",
            json!({"base_url": "https://h/MicroStrategyLibrary", "login_mode": "api_token"}),
        ))
        .expect_err("no token");
        assert!(err.to_string().contains("api_token"), "{err}");

        let err = StrategyConfig::from_adapter_config(&AdapterConfig::new(
            "bi",
            json!({"base_url": "ftp://h", "username": "x", "password": "y"}),
        ))
        .expect_err("bad scheme");
        assert!(err.to_string().contains("base_url"), "{err}");
    }

    #[test]
    fn list_details_concurrency_is_read_and_bounded() {
        let section = |n: Value| {
            AdapterConfig::new(
                "bi",
                json!({"base_url": "https://h/MicroStrategyLibrary", "username": "u",
                       "password": "p", "list_details_concurrency": n}),
            )
        };
        let c = StrategyConfig::from_adapter_config(&section(json!(32))).expect("valid");
        assert_eq!(c.list_details_concurrency, 32);
        for bad in [json!(0), json!(MAX_LIST_DETAILS_CONCURRENCY + 1)] {
            let err = StrategyConfig::from_adapter_config(&section(bad.clone()))
                .expect_err("out of range");
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(
                err.to_string().contains("bi.list_details_concurrency")
                    && err.to_string().contains(&format!("is {bad}")),
                "{err}"
            );
        }
        let err =
            StrategyConfig::from_adapter_config(&section(json!("many"))).expect_err("not a number");
        assert!(
            err.to_string().contains("list_details_concurrency"),
            "{err}"
        );
    }

    #[test]
    fn sign_in_templates_are_checked() {
        let cfg = AdapterConfig::new(
            "bi",
            json!({"base_url": "https://h/MicroStrategyLibrary", "username": "u", "password": "p",
                   "new_user_ldapdn": "uid={login},dc=x", "new_user_trust_id": "{email|lower}"}),
        );
        let c = StrategyConfig::from_adapter_config(&cfg).expect("valid");
        assert_eq!(
            c.new_user_ldapdn.as_ref().map(UserTemplate::as_str),
            Some("uid={login},dc=x")
        );
        let err = StrategyConfig::from_adapter_config(&AdapterConfig::new(
            "bi",
            json!({"base_url": "https://h/MicroStrategyLibrary", "username": "u", "password": "p",
                   "new_user_trust_id": "{mail}"}),
        ))
        .expect_err("unknown placeholder");
        assert!(err.to_string().contains("new_user_trust_id"), "{err}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let cfg = AdapterConfig::new(
            "bi",
            json!({"base_url": "https://h/MicroStrategyLibrary", "username": "u",
                   "password": "canary-pw-1", "api_token": "canary-tok-2"}),
        );
        let c = StrategyConfig::from_adapter_config(&cfg).expect("valid");
        let text = format!("{c:?}");
        assert!(!text.contains("canary"), "{text}");
    }

    #[test]
    fn max_response_mib_is_read_defaulted_and_checked() {
        idbridge_testkit::http_config::assert_max_response_mib(
            json!({"base_url": "https://h/MicroStrategyLibrary", "username": "administrator", "password": "pw"}),
            |c| StrategyConfig::from_adapter_config(c).map(|c| c.http_settings().max_body_bytes),
        );
    }
}
