//! The adapter's configuration section, the presets and validation.
//!
//! ```toml
//! adapter = "ldap"
//! url = "ldaps://ldap.example.com"
//! bind_dn = "cn=idbridge,ou=services,dc=example,dc=com"
//! password_file = "/run/secrets/ldap"
//! preset = "openldap"
//! user_base_dns = ["ou=people,dc=example,dc=com"]
//! group_base_dns = ["ou=groups,dc=example,dc=com"]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use idbridge_core::{AdapterConfig, Result, Secret};
use serde::Deserialize;

/// The entries asked for per page of a paged search unless configured (RFC 2696).
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Seconds to establish a connection (TCP and TLS) unless configured.
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;

/// Seconds one operation (a bind, one page of a search) may take unless configured.
pub const DEFAULT_OPERATION_TIMEOUT_SECS: u64 = 60;

/// Attempts of one read in all, the first included, unless configured (`retry_attempts`).
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 5;

/// Seconds all attempts of one read and the waits between them may take unless configured
/// (`retry_budget_secs`).
pub const DEFAULT_RETRY_BUDGET_SECS: u64 = 120;

/// The `userAccountControl` bit of a disabled Active Directory account (`ACCOUNTDISABLE`).
pub const AD_ACCOUNT_DISABLE: u64 = 0x2;

/// Which directory's schema the attribute defaults follow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// OpenLDAP (and most RFC 4519 directories): `entryUUID` as the stable id, `uid` as the
    /// login, `groupOfNames`, `groupOfUniqueNames` and `posixGroup` groups. The default.
    #[default]
    OpenLdap,
    /// Active Directory (and Samba AD): `objectGUID` as the stable id (rendered as a GUID
    /// string), `sAMAccountName` as the login, the `ACCOUNTDISABLE` bit of
    /// `userAccountControl` as disabled, `group` entries with ranged `member` retrieval.
    Ad,
}

/// How the id attribute's value becomes the neutral id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdFormat {
    /// The value as text (`entryUUID`). The OpenLDAP preset's default.
    Text,
    /// A 16-byte binary GUID (`objectGUID`) in its usual string form: lower-case
    /// `8-4-4-4-12` hex digits, the first three fields little-endian as Windows stores
    /// them. The AD preset's default.
    Guid,
}

impl Preset {
    fn defaults(self) -> PresetDefaults {
        match self {
            Preset::OpenLdap => PresetDefaults {
                id_attribute: "entryUUID",
                login_attribute: "uid",
                email_attribute: "mail",
                display_name_attributes: &["displayName", "cn"],
                user_filter: "(|(objectClass=inetOrgPerson)(objectClass=posixAccount))",
                group_filter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))",
                group_name_attribute: "cn",
                group_description_attribute: "description",
                member_attributes: &["member", "uniqueMember"],
                member_uid_attribute: "memberUid",
                disabled_filter: "(pwdAccountLockedTime=*)",
                id_format: IdFormat::Text,
                disabled_flag_attribute: "",
                disabled_flag_mask: 0,
            },
            Preset::Ad => PresetDefaults {
                id_attribute: "objectGUID",
                login_attribute: "sAMAccountName",
                email_attribute: "mail",
                display_name_attributes: &["displayName", "cn"],
                user_filter: "(&(objectCategory=person)(objectClass=user))",
                group_filter: "(objectClass=group)",
                group_name_attribute: "cn",
                group_description_attribute: "description",
                member_attributes: &["member"],
                member_uid_attribute: "",
                disabled_filter: "",
                id_format: IdFormat::Guid,
                disabled_flag_attribute: "userAccountControl",
                disabled_flag_mask: AD_ACCOUNT_DISABLE,
            },
        }
    }
}

struct PresetDefaults {
    id_attribute: &'static str,
    login_attribute: &'static str,
    email_attribute: &'static str,
    display_name_attributes: &'static [&'static str],
    user_filter: &'static str,
    group_filter: &'static str,
    group_name_attribute: &'static str,
    group_description_attribute: &'static str,
    member_attributes: &'static [&'static str],
    member_uid_attribute: &'static str,
    disabled_filter: &'static str,
    id_format: IdFormat,
    disabled_flag_attribute: &'static str,
    disabled_flag_mask: u64,
}

fn yes() -> bool {
    true
}

fn default_page_size() -> usize {
    DEFAULT_PAGE_SIZE
}

fn default_connect_timeout() -> u64 {
    DEFAULT_CONNECT_TIMEOUT_SECS
}

fn default_operation_timeout() -> u64 {
    DEFAULT_OPERATION_TIMEOUT_SECS
}

fn default_retry_attempts() -> u32 {
    DEFAULT_RETRY_ATTEMPTS
}

fn default_retry_budget() -> u64 {
    DEFAULT_RETRY_BUDGET_SECS
}

/// The `ldap` adapter's keys, as written in the configuration. Keys left out take the
/// preset's value; [`LdapConfig::from_adapter_config`] fills them in.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    url: String,
    #[serde(default)]
    starttls: bool,
    bind_dn: String,
    password: Secret,
    #[serde(default = "yes")]
    verify_tls: bool,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    allow_plain_ldap: bool,
    #[serde(default = "default_connect_timeout")]
    connect_timeout_secs: u64,
    #[serde(default = "default_operation_timeout")]
    operation_timeout_secs: u64,
    #[serde(default = "default_page_size")]
    page_size: usize,
    #[serde(default)]
    preset: Preset,
    user_base_dns: Vec<String>,
    group_base_dns: Vec<String>,
    #[serde(default)]
    user_filter: Option<String>,
    #[serde(default)]
    group_filter: Option<String>,
    #[serde(default)]
    id_attribute: Option<String>,
    #[serde(default)]
    login_attribute: Option<String>,
    #[serde(default)]
    email_attribute: Option<String>,
    #[serde(default)]
    display_name_attributes: Option<Vec<String>>,
    #[serde(default)]
    group_name_attribute: Option<String>,
    #[serde(default)]
    group_description_attribute: Option<String>,
    #[serde(default)]
    member_attributes: Option<Vec<String>>,
    #[serde(default)]
    member_uid_attribute: Option<String>,
    #[serde(default)]
    disabled_filter: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    id_format: Option<IdFormat>,
    #[serde(default)]
    disabled_flag_attribute: Option<String>,
    #[serde(default)]
    disabled_flag_mask: Option<u64>,
    #[serde(default)]
    member_range_step: Option<usize>,
    #[serde(default = "default_retry_attempts")]
    retry_attempts: u32,
    #[serde(default = "default_retry_budget")]
    retry_budget_secs: u64,
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ldap://` without StartTLS: plain text.
    Plain,
    /// `ldap://` upgraded with the StartTLS operation before the bind.
    StartTls,
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
}

/// The `ldap` adapter's validated configuration, the preset's defaults filled in.
#[derive(Clone)]
pub struct LdapConfig {
    /// The server: `ldap://host[:389]` or `ldaps://host[:636]`.
    pub url: String,
    /// How the connection is secured (from the URL scheme and `starttls`).
    pub transport: Transport,
    /// The DN the adapter binds as (simple bind).
    pub bind_dn: String,
    /// The bind password (secret; may be given as `password_file`).
    pub password: Secret,
    /// Verify the server's certificate and name. Default `true`.
    pub verify_tls: bool,
    /// An extra PEM bundle of CA certificates to trust, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Time to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time one operation (bind, one page) may take. Default 60 s.
    pub operation_timeout: Duration,
    /// Entries per page of the paged searches. Default 1000.
    pub page_size: usize,
    /// The preset the defaults came from.
    pub preset: Preset,
    /// Where users are searched (subtree), at least one.
    pub user_base_dns: Vec<String>,
    /// Where groups are searched (subtree), at least one.
    pub group_base_dns: Vec<String>,
    /// Which entries under the user bases are users.
    pub user_filter: String,
    /// Which entries under the group bases are groups.
    pub group_filter: String,
    /// The attribute holding the stable id (`entryUUID`).
    pub id_attribute: String,
    /// The attribute holding the login (`uid`).
    pub login_attribute: String,
    /// The attribute holding the e-mail address (`mail`).
    pub email_attribute: String,
    /// Attributes tried in order for the display name (`displayName`, then `cn`).
    pub display_name_attributes: Vec<String>,
    /// The attribute holding a group's name (`cn`).
    pub group_name_attribute: String,
    /// The attribute holding a group's description (`description`).
    pub group_description_attribute: String,
    /// Group attributes holding member DNs (`member`, `uniqueMember`).
    pub member_attributes: Vec<String>,
    /// The group attribute holding member logins (`memberUid` of a posixGroup).
    pub member_uid_attribute: String,
    /// Users matching this filter are disabled (`(pwdAccountLockedTime=*)`); empty: none.
    pub disabled_filter: String,
    /// Neutral attribute name -> directory attribute (`department = "departmentNumber"`).
    pub attributes: BTreeMap<String, String>,
    /// How the id attribute's value becomes the id (`text`; `guid` for the AD preset).
    pub id_format: IdFormat,
    /// An integer attribute of flags; a user with any bit of [`Self::disabled_flag_mask`]
    /// set is disabled (`userAccountControl` for the AD preset; empty: none).
    pub disabled_flag_attribute: String,
    /// The bits of [`Self::disabled_flag_attribute`] that mean disabled (`2` for AD).
    pub disabled_flag_mask: u64,
    /// Member values asked for in explicit ranges of this many (`member;range=0-499`),
    /// for servers that return every value of a large group at once; `None` (the default)
    /// lets the server cut ranges (Active Directory cuts at its `MaxValRange`, 1500). A
    /// ranged answer is followed to its end either way.
    pub member_range_step: Option<usize>,
    /// Attempts of one read in all, the first included (default 5; 1: no retries).
    pub retry_attempts: u32,
    /// Time all attempts of one read and the waits between them may take (default 120 s).
    pub retry_budget: Duration,
}

impl std::fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url)
            .field("transport", &self.transport)
            .field("bind_dn", &self.bind_dn)
            .field("password", &self.password)
            .field("verify_tls", &self.verify_tls)
            .field("ca_file", &self.ca_file)
            .field("page_size", &self.page_size)
            .field("preset", &self.preset)
            .field("user_base_dns", &self.user_base_dns)
            .field("group_base_dns", &self.group_base_dns)
            .field("id_format", &self.id_format)
            .field("retry_attempts", &self.retry_attempts)
            .finish_non_exhaustive()
    }
}

fn check_filter(cfg: &AdapterConfig, key: &str, filter: &str) -> Result<()> {
    let f = filter.trim();
    let balanced = f.chars().fold(0i64, |depth, c| match c {
        '(' => depth + 1,
        ')' => depth - 1,
        _ => depth,
    }) == 0;
    if !(f.starts_with('(') && f.ends_with(')') && balanced) {
        return Err(cfg.error(
            key,
            format!("`{f}` is not an LDAP filter (expected one in parentheses, such as `(objectClass=person)`)"),
        ));
    }
    Ok(())
}

fn check_attribute(cfg: &AdapterConfig, key: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';' || c == '.');
    if !ok {
        return Err(cfg.error(key, format!("`{name}` is not an attribute name")));
    }
    Ok(())
}

impl LdapConfig {
    /// Parses and validates a configuration section.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the key: unknown keys, a URL that is not
    /// `ldap://` or `ldaps://`, StartTLS on `ldaps://`, plain `ldap://` to another machine
    /// without `allow_plain_ldap = true`, an empty bind DN or password, no base DN, a zero
    /// page size or timeout, a filter not in parentheses, a bad attribute name.
    pub fn from_adapter_config(cfg: &AdapterConfig) -> Result<Self> {
        let raw: RawConfig = cfg.parse()?;
        let d = raw.preset.defaults();
        let url_text = raw.url.trim().trim_end_matches('/').to_string();
        let url = url::Url::parse(&url_text)
            .map_err(|e| cfg.error("url", format!("`{url_text}` is not a URL: {e}")))?;
        let transport = match (url.scheme(), raw.starttls) {
            ("ldap", false) => Transport::Plain,
            ("ldap", true) => Transport::StartTls,
            ("ldaps", false) => Transport::Ldaps,
            ("ldaps", true) => {
                return Err(cfg.error(
                    "starttls",
                    "an ldaps:// URL is already TLS; StartTLS is for ldap:// URLs",
                ));
            }
            (other, _) => {
                return Err(cfg.error(
                    "url",
                    format!("expected an ldap:// or ldaps:// URL, found `{other}://`"),
                ));
            }
        };
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(cfg.error("url", format!("`{url_text}` names no host")));
        };
        // `ldap:` is not a special scheme to the URL parser, so an IP address stays text.
        let host = match host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => url::Host::Ipv4(ip),
            Ok(std::net::IpAddr::V6(ip)) => url::Host::Ipv6(ip),
            Err(_) => url::Host::Domain(host),
        };
        if transport == Transport::Plain
            && !idbridge_core::config::is_loopback(&host)
            && !raw.allow_plain_ldap
        {
            return Err(cfg.error(
                "url",
                format!(
                    "`{url_text}` is plain LDAP to another machine: the bind password would \
                     cross the network unencrypted. Use ldaps://, or `starttls = true`, or set \
                     `allow_plain_ldap = true` if the network path is trusted"
                ),
            ));
        }
        if raw.bind_dn.trim().is_empty() {
            return Err(cfg.error("bind_dn", "must not be empty"));
        }
        if raw.password.is_empty() {
            return Err(cfg.error("password", "the bind password is empty"));
        }
        if raw.page_size == 0 || raw.page_size > i32::MAX as usize {
            return Err(cfg.error("page_size", "must be between 1 and 2147483647"));
        }
        if raw.connect_timeout_secs == 0 {
            return Err(cfg.error("connect_timeout_secs", "must be at least 1"));
        }
        if raw.operation_timeout_secs == 0 {
            return Err(cfg.error("operation_timeout_secs", "must be at least 1"));
        }
        if raw.retry_attempts == 0 {
            return Err(cfg.error(
                "retry_attempts",
                "must be at least 1 (the first attempt; 1 turns retries off)",
            ));
        }
        if raw.retry_budget_secs == 0 {
            return Err(cfg.error("retry_budget_secs", "must be at least 1"));
        }
        if raw.member_range_step == Some(0) {
            return Err(cfg.error("member_range_step", "must be at least 1"));
        }
        for (key, bases) in [
            ("user_base_dns", &raw.user_base_dns),
            ("group_base_dns", &raw.group_base_dns),
        ] {
            if bases.is_empty() || bases.iter().any(|b| b.trim().is_empty()) {
                return Err(cfg.error(key, "give at least one base DN, none of them empty"));
            }
        }
        let owned = |v: Option<String>, default: &str| v.unwrap_or_else(|| default.to_string());
        let list = |v: Option<Vec<String>>, default: &[&str]| {
            v.unwrap_or_else(|| default.iter().map(|s| (*s).to_string()).collect())
        };
        let c = LdapConfig {
            url: url_text,
            transport,
            bind_dn: raw.bind_dn.trim().to_string(),
            password: raw.password,
            verify_tls: raw.verify_tls,
            ca_file: raw.ca_file.map(|p| cfg.resolve_path(&p)),
            connect_timeout: Duration::from_secs(raw.connect_timeout_secs),
            operation_timeout: Duration::from_secs(raw.operation_timeout_secs),
            page_size: raw.page_size,
            preset: raw.preset,
            user_base_dns: raw
                .user_base_dns
                .iter()
                .map(|b| b.trim().to_string())
                .collect(),
            group_base_dns: raw
                .group_base_dns
                .iter()
                .map(|b| b.trim().to_string())
                .collect(),
            user_filter: owned(raw.user_filter, d.user_filter),
            group_filter: owned(raw.group_filter, d.group_filter),
            id_attribute: owned(raw.id_attribute, d.id_attribute),
            login_attribute: owned(raw.login_attribute, d.login_attribute),
            email_attribute: owned(raw.email_attribute, d.email_attribute),
            display_name_attributes: list(raw.display_name_attributes, d.display_name_attributes),
            group_name_attribute: owned(raw.group_name_attribute, d.group_name_attribute),
            group_description_attribute: owned(
                raw.group_description_attribute,
                d.group_description_attribute,
            ),
            member_attributes: list(raw.member_attributes, d.member_attributes),
            member_uid_attribute: owned(raw.member_uid_attribute, d.member_uid_attribute),
            disabled_filter: owned(raw.disabled_filter, d.disabled_filter),
            attributes: raw.attributes,
            id_format: raw.id_format.unwrap_or(d.id_format),
            disabled_flag_attribute: owned(raw.disabled_flag_attribute, d.disabled_flag_attribute),
            disabled_flag_mask: raw.disabled_flag_mask.unwrap_or(d.disabled_flag_mask),
            member_range_step: raw.member_range_step,
            retry_attempts: raw.retry_attempts,
            retry_budget: Duration::from_secs(raw.retry_budget_secs),
        };
        check_filter(cfg, "user_filter", &c.user_filter)?;
        check_filter(cfg, "group_filter", &c.group_filter)?;
        if !c.disabled_filter.trim().is_empty() {
            check_filter(cfg, "disabled_filter", &c.disabled_filter)?;
        }
        for (key, name) in [
            ("id_attribute", &c.id_attribute),
            ("login_attribute", &c.login_attribute),
            ("email_attribute", &c.email_attribute),
            ("group_name_attribute", &c.group_name_attribute),
            (
                "group_description_attribute",
                &c.group_description_attribute,
            ),
        ] {
            check_attribute(cfg, key, name)?;
        }
        // Empty turns these off.
        for (key, name) in [
            ("member_uid_attribute", &c.member_uid_attribute),
            ("disabled_flag_attribute", &c.disabled_flag_attribute),
        ] {
            if !name.is_empty() {
                check_attribute(cfg, key, name)?;
            }
        }
        if !c.disabled_flag_attribute.is_empty() && c.disabled_flag_mask == 0 {
            return Err(cfg.error(
                "disabled_flag_mask",
                "must name at least one bit when disabled_flag_attribute is set",
            ));
        }
        for name in c.display_name_attributes.iter().chain(&c.member_attributes) {
            check_attribute(cfg, "", name)?;
        }
        for (neutral, name) in &c.attributes {
            check_attribute(cfg, &format!("attributes.{neutral}"), name)?;
        }
        Ok(c)
    }

    /// The directory attributes a user search asks for.
    pub fn user_attributes(&self) -> Vec<String> {
        let mut attrs = vec![
            self.id_attribute.clone(),
            self.login_attribute.clone(),
            self.email_attribute.clone(),
        ];
        attrs.extend(self.display_name_attributes.iter().cloned());
        attrs.extend(self.attributes.values().cloned());
        if !self.disabled_flag_attribute.is_empty() {
            attrs.push(self.disabled_flag_attribute.clone());
        }
        attrs.sort();
        attrs.dedup();
        attrs
    }

    /// The directory attributes a group search asks for.
    pub fn group_attributes(&self) -> Vec<String> {
        let mut attrs = vec![
            self.id_attribute.clone(),
            self.group_name_attribute.clone(),
            self.group_description_attribute.clone(),
        ];
        if !self.member_uid_attribute.is_empty() {
            attrs.push(self.member_uid_attribute.clone());
        }
        match self.member_range_step {
            Some(step) => attrs.extend(
                self.member_attributes
                    .iter()
                    .map(|a| format!("{a};range=0-{}", step - 1)),
            ),
            None => attrs.extend(self.member_attributes.iter().cloned()),
        }
        attrs.sort();
        attrs.dedup();
        attrs
    }
}

/// The example section `idbridge adapters --examples` shows.
pub const EXAMPLE_CONFIG: &str = r#"url = "ldaps://ldap.example.com"           # or ldap://...:389 with starttls = true
bind_dn = "cn=idbridge,ou=services,dc=example,dc=com"
password_file = "/run/secrets/ldap"           # or password = "..."
preset = "openldap"
user_base_dns = ["ou=people,dc=example,dc=com"]
group_base_dns = ["ou=groups,dc=example,dc=com"]
# ca_file = "corp-ca.pem"                     # extra CA certificates to trust
# page_size = 1000                            # entries per page (Simple Paged Results)
# user_filter = "(objectClass=inetOrgPerson)"
# disabled_filter = "(pwdAccountLockedTime=*)"
# attributes = { department = "departmentNumber" }
# retry_attempts = 5                          # attempts per read; 1 turns retries off
# retry_budget_secs = 120
# Active Directory: preset = "ad" (objectGUID ids, sAMAccountName logins,
# userAccountControl disabled bit, ranged member retrieval); see the adapter's page."#;

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::ErrorKind;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "url": "ldaps://ldap.example.com",
            "bind_dn": "cn=reader,dc=example,dc=com",
            "password": "pw",
            "user_base_dns": ["ou=people,dc=example,dc=com"],
            "group_base_dns": ["ou=groups,dc=example,dc=com"],
        })
    }

    fn with(key: &str, value: serde_json::Value) -> serde_json::Value {
        let mut v = base();
        v[key] = value;
        v
    }

    #[test]
    fn the_openldap_preset_fills_the_defaults() {
        let c = LdapConfig::from_adapter_config(&AdapterConfig::new("dir", base())).expect("ok");
        assert_eq!(c.transport, Transport::Ldaps);
        assert_eq!(c.id_attribute, "entryUUID");
        assert_eq!(c.login_attribute, "uid");
        assert_eq!(c.display_name_attributes, ["displayName", "cn"]);
        assert_eq!(c.member_attributes, ["member", "uniqueMember"]);
        assert_eq!(c.page_size, 1000);
        assert_eq!(c.disabled_filter, "(pwdAccountLockedTime=*)");
        assert!(c.verify_tls);
    }

    #[test]
    fn the_ad_preset_fills_the_defaults() {
        let c = LdapConfig::from_adapter_config(&AdapterConfig::new(
            "dir",
            with("preset", json!("ad")),
        ))
        .expect("ok");
        assert_eq!(c.id_attribute, "objectGUID");
        assert_eq!(c.id_format, IdFormat::Guid);
        assert_eq!(c.login_attribute, "sAMAccountName");
        assert_eq!(
            c.user_filter,
            "(&(objectCategory=person)(objectClass=user))"
        );
        assert_eq!(c.group_filter, "(objectClass=group)");
        assert_eq!(c.member_attributes, ["member"]);
        assert_eq!(c.member_uid_attribute, "");
        assert_eq!(c.disabled_filter, "");
        assert_eq!(c.disabled_flag_attribute, "userAccountControl");
        assert_eq!(c.disabled_flag_mask, 2);
        assert!(
            c.user_attributes()
                .contains(&"userAccountControl".to_string())
        );
        assert!(!c.group_attributes().iter().any(String::is_empty));
        assert!(c.group_attributes().contains(&"member".to_string()));

        let mut v = with("preset", json!("ad"));
        v["login_attribute"] = json!("userPrincipalName");
        v["member_range_step"] = json!(500);
        let c = LdapConfig::from_adapter_config(&AdapterConfig::new("dir", v)).expect("ok");
        assert_eq!(c.login_attribute, "userPrincipalName");
        assert!(
            c.group_attributes()
                .contains(&"member;range=0-499".to_string()),
            "{:?}",
            c.group_attributes()
        );
    }

    #[test]
    fn retry_keys_have_defaults_and_can_be_set() {
        let c = LdapConfig::from_adapter_config(&AdapterConfig::new("dir", base())).expect("ok");
        assert_eq!(c.retry_attempts, DEFAULT_RETRY_ATTEMPTS);
        assert_eq!(
            c.retry_budget,
            Duration::from_secs(DEFAULT_RETRY_BUDGET_SECS)
        );
        let mut v = with("retry_attempts", json!(1));
        v["retry_budget_secs"] = json!(7);
        let c = LdapConfig::from_adapter_config(&AdapterConfig::new("dir", v)).expect("ok");
        assert_eq!(c.retry_attempts, 1);
        assert_eq!(c.retry_budget, Duration::from_secs(7));
    }

    #[test]
    fn debug_hides_the_password() {
        let c = LdapConfig::from_adapter_config(&AdapterConfig::new(
            "dir",
            with("password", json!("canary-pw-77")),
        ))
        .expect("ok");
        assert!(!format!("{c:?}").contains("canary-pw-77"));
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (settings, key) in [
            (with("url", json!("https://h")), "url"),
            (with("url", json!("ldap://ldap.example.com")), "url"),
            (with("starttls", json!(true)), "starttls"),
            (with("bind_dn", json!(" ")), "bind_dn"),
            (with("password", json!("")), "password"),
            (with("page_size", json!(0)), "page_size"),
            (with("user_base_dns", json!([])), "user_base_dns"),
            (with("group_filter", json!("objectClass=x")), "group_filter"),
            (with("login_attribute", json!("u id")), "login_attribute"),
            (with("preset", json!("novell")), "preset"),
            (with("bind_pw", json!("x")), "bind_pw"),
            (with("retry_attempts", json!(0)), "retry_attempts"),
            (with("retry_budget_secs", json!(0)), "retry_budget_secs"),
            (with("member_range_step", json!(0)), "member_range_step"),
            (with("id_format", json!("binary")), "id_format"),
            (
                {
                    let mut v = with("preset", json!("ad"));
                    v["disabled_flag_mask"] = json!(0);
                    v
                },
                "disabled_flag_mask",
            ),
        ] {
            let err = LdapConfig::from_adapter_config(&AdapterConfig::new("dir", settings))
                .expect_err("invalid");
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn plain_ldap_is_allowed_to_loopback_with_starttls_or_when_allowed() {
        for settings in [
            with("url", json!("ldap://127.0.0.1:3890")),
            {
                let mut v = with("url", json!("ldap://ldap.example.com"));
                v["starttls"] = json!(true);
                v
            },
            {
                let mut v = with("url", json!("ldap://ldap.example.com"));
                v["allow_plain_ldap"] = json!(true);
                v
            },
        ] {
            LdapConfig::from_adapter_config(&AdapterConfig::new("dir", settings)).expect("ok");
        }
    }
}
