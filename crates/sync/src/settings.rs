//! The sync engine's per-target configuration keys.
//!
//! They live in each `[targets.<name>]` table next to the adapter's own keys; the engine
//! takes its keys out with [`idbridge_core::SystemSection::split_off`] ([`TARGET_KEYS`])
//! so that each side rejects keys it does not know. The reference is
//! `docs/configuration.md`.

use std::collections::BTreeMap;

use idbridge_core::{AdapterConfig, Config, ConfigOrigin, Result, SystemSection};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::template::{Field, Template};
use crate::util::Glob;

/// The keys of a target section that belong to the sync engine rather than the adapter.
pub const TARGET_KEYS: &[&str] = &[
    "sync",
    "fields",
    "attributes",
    "groups",
    "roles",
    "group_roles",
    "correlate",
    "adopt",
    "deletion",
    "max_deletions",
    "max_deletion_percent",
    "concurrency",
    "protected",
    "privileged_groups",
    "max_adoptions",
    "adopt_privileged",
    "adopt_renames_login",
    "max_membership_removals",
    "max_membership_removal_percent",
    "max_revocations",
    "max_revocation_percent",
];

/// Default for `max_deletions`.
pub const DEFAULT_MAX_DELETIONS: usize = 500;
/// Default for `max_deletion_percent`.
pub const DEFAULT_MAX_DELETION_PERCENT: f64 = 10.0;
/// Default for `max_adoptions`.
pub const DEFAULT_MAX_ADOPTIONS: usize = 10;
/// Default for `max_membership_removals` and `max_revocations`.
pub const DEFAULT_MAX_REMOVALS: usize = 500;
/// Default for `max_membership_removal_percent` and `max_revocation_percent`.
pub const DEFAULT_MAX_REMOVAL_PERCENT: f64 = 20.0;
/// Default for `concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// A concept the engine can keep in sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Concept {
    /// User accounts.
    Users,
    /// Groups.
    Groups,
    /// Group membership.
    Memberships,
    /// Role grants.
    Roles,
}

/// A correlation key: how a source user is matched to an existing, unlinked target account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationKey {
    /// The (mapped) login.
    Login,
    /// The (mapped) email.
    Email,
}

/// Which target accounts the engine manages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adopt {
    /// Only accounts it linked or that correlate with a source user (the default).
    /// Target-only accounts are reported as unmanaged and left alone.
    #[default]
    Matched,
    /// Every account that is not protected: target-only accounts are leavers and get the
    /// deletion policy.
    All,
}

/// What happens to a managed account whose source user left (or is disabled in the source).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionPolicy {
    /// Disable it and revoke its sessions (the default). Re-enabled if the user returns.
    #[default]
    Disable,
    /// Delete it (after revoking its sessions).
    Delete,
    /// Leave it alone.
    Ignore,
}

/// Where a mapped role is granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeRule {
    /// The scope of the source grant.
    Source,
    /// The global scope.
    Global,
    /// One named project.
    Project(String),
}

/// A target role a source role or group maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleTarget {
    /// The target role's name or id.
    pub role: String,
    /// Where to grant it.
    pub scope: ScopeRule,
    /// The key path, for messages.
    pub key_path: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoleTarget {
    role: String,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    global: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(RawRoleTarget),
    Many(Vec<RawRoleTarget>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroupRules {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    rename: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAttributes {
    Word(String),
    Map(BTreeMap<String, String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFields {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(default)]
    sync: Option<Vec<Concept>>,
    #[serde(default)]
    fields: RawFields,
    #[serde(default)]
    attributes: Option<RawAttributes>,
    #[serde(default)]
    groups: RawGroupRules,
    #[serde(default)]
    roles: BTreeMap<String, RawRoleTarget>,
    #[serde(default)]
    group_roles: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    correlate: Option<Vec<CorrelationKey>>,
    #[serde(default)]
    adopt: Adopt,
    #[serde(default)]
    deletion: DeletionPolicy,
    #[serde(default)]
    max_deletions: Option<usize>,
    #[serde(default)]
    max_deletion_percent: Option<f64>,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default)]
    protected: Vec<String>,
    #[serde(default)]
    privileged_groups: Vec<String>,
    #[serde(default)]
    max_adoptions: Option<usize>,
    #[serde(default)]
    adopt_privileged: Vec<String>,
    #[serde(default)]
    adopt_renames_login: bool,
    #[serde(default)]
    max_membership_removals: Option<usize>,
    #[serde(default)]
    max_membership_removal_percent: Option<f64>,
    #[serde(default)]
    max_revocations: Option<usize>,
    #[serde(default)]
    max_revocation_percent: Option<f64>,
}

/// How target attributes are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeRule {
    /// Attributes are not synced (the default: many platforms do not store them).
    None,
    /// Every source attribute is copied as is.
    All,
    /// Each target attribute from a template.
    Map(BTreeMap<String, Template>),
}

/// Group selection and renaming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRules {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
    rename: BTreeMap<String, String>,
}

impl Default for GroupRules {
    fn default() -> Self {
        GroupRules {
            include: vec![Glob::new("*")],
            exclude: Vec::new(),
            rename: BTreeMap::new(),
        }
    }
}

impl GroupRules {
    /// The target name of a source group, or `None` when the group is not synced.
    pub fn target_name(&self, source_name: &str) -> Option<String> {
        if !self.include.iter().any(|g| g.matches(source_name)) {
            return None;
        }
        if self.exclude.iter().any(|g| g.matches(source_name)) {
            return None;
        }
        Some(
            self.rename
                .get(source_name)
                .cloned()
                .unwrap_or_else(|| source_name.to_string()),
        )
    }

    /// The configured renames (source name -> target name), for checks.
    pub fn renames(&self) -> &BTreeMap<String, String> {
        &self.rename
    }
}

/// One target's sync settings, parsed and checked.
#[derive(Debug, Clone)]
pub struct TargetSettings {
    /// The target's name.
    pub name: String,
    /// The key path of its section (`targets.bi`), for messages.
    pub key_path: String,
    /// The concepts to sync; `None` = all the target can.
    pub concepts: Option<Vec<Concept>>,
    /// The target login's template. Default `{login}`, or the email template on targets
    /// whose login is the email.
    pub login: Template,
    /// Whether `fields.login` was configured (it then applies even where the login is the
    /// email).
    pub login_configured: bool,
    /// The target email's template. Default `{email}`.
    pub email: Template,
    /// The target display name's template. Default `{display_name}`.
    pub display_name: Template,
    /// The attribute rule. Default none.
    pub attributes: AttributeRule,
    /// Group include/exclude/rename.
    pub groups: GroupRules,
    /// Source role name -> target role.
    pub roles: BTreeMap<String, RoleTarget>,
    /// Source group name -> target roles its members hold.
    pub group_roles: BTreeMap<String, Vec<RoleTarget>>,
    /// Correlation keys in order. Default login, then email.
    pub correlate: Vec<CorrelationKey>,
    /// Which target accounts are managed. Default [`Adopt::Matched`].
    pub adopt: Adopt,
    /// The deletion policy. Default [`DeletionPolicy::Disable`].
    pub deletion: DeletionPolicy,
    /// The most disables and deletes one run may do. Default 500.
    pub max_deletions: usize,
    /// The largest share of managed users one run may disable or delete, in percent.
    /// Default 10.
    pub max_deletion_percent: f64,
    /// Operations in flight at once. Default 8.
    pub concurrency: usize,
    /// Target accounts and groups never touched, by login, email, name or id
    /// (case-insensitive), in addition to the adapter's own protected accounts.
    pub protected: Vec<String>,
    /// Target groups whose members administer the platform, by name or id
    /// (case-insensitive), in addition to the adapter's own privileged groups: the plan
    /// never adds a member to them and never adopts one of their members. Default none.
    pub privileged_groups: Vec<String>,
    /// The most existing accounts one run may adopt (link to a source user by a
    /// correlation key). Default 10.
    pub max_adoptions: usize,
    /// Logins (or emails, or ids; case-insensitive) of members of privileged groups that
    /// may still be adopted. Default none: such accounts are never adopted.
    pub adopt_privileged: Vec<String>,
    /// Whether adopting an account renames its login to the mapped source login.
    /// Default false: the adopted account keeps its login.
    pub adopt_renames_login: bool,
    /// The most group membership removals one run may do. Default 500.
    pub max_membership_removals: usize,
    /// The largest share of the managed groups' current memberships one run may remove, in
    /// percent. Default 20.
    pub max_membership_removal_percent: f64,
    /// The most role revocations one run may do. Default 500.
    pub max_revocations: usize,
    /// The largest share of the target's current grants one run may revoke, in percent.
    /// Default 20.
    pub max_revocation_percent: f64,
    origin: ConfigOrigin,
}

impl TargetSettings {
    /// Default settings for a target called `name` (for tests and the demo).
    pub fn defaults(name: &str) -> TargetSettings {
        TargetSettings {
            name: name.to_string(),
            key_path: format!("targets.{name}"),
            concepts: None,
            login: Template::field(Field::Login),
            login_configured: false,
            email: Template::field(Field::Email),
            display_name: Template::field(Field::DisplayName),
            attributes: AttributeRule::None,
            groups: GroupRules::default(),
            roles: BTreeMap::new(),
            group_roles: BTreeMap::new(),
            correlate: vec![CorrelationKey::Login, CorrelationKey::Email],
            adopt: Adopt::Matched,
            deletion: DeletionPolicy::Disable,
            max_deletions: DEFAULT_MAX_DELETIONS,
            max_deletion_percent: DEFAULT_MAX_DELETION_PERCENT,
            concurrency: DEFAULT_CONCURRENCY,
            protected: Vec::new(),
            privileged_groups: Vec::new(),
            max_adoptions: DEFAULT_MAX_ADOPTIONS,
            adopt_privileged: Vec::new(),
            adopt_renames_login: false,
            max_membership_removals: DEFAULT_MAX_REMOVALS,
            max_membership_removal_percent: DEFAULT_MAX_REMOVAL_PERCENT,
            max_revocations: DEFAULT_MAX_REMOVALS,
            max_revocation_percent: DEFAULT_MAX_REMOVAL_PERCENT,
            origin: ConfigOrigin::in_memory("."),
        }
    }

    /// Takes the engine's keys out of a target section (leaving the adapter's) and parses
    /// them.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the file and key path of an unknown key,
    /// a bad value, an invalid template or contradictory settings.
    pub fn take_from(config: &Config, section: &mut SystemSection) -> Result<TargetSettings> {
        let taken = section.split_off(TARGET_KEYS);
        Self::parse(&section.name, &section.key_path, taken, &config.origin)
    }

    /// Parses the engine's keys of one target from a JSON object (for tests and the demo).
    ///
    /// # Errors
    /// As [`TargetSettings::take_from`].
    pub fn from_json(name: &str, settings: Value) -> Result<TargetSettings> {
        let map = match settings {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Self::parse(
            name,
            &format!("targets.{name}"),
            map,
            &ConfigOrigin::in_memory("."),
        )
    }

    fn parse(
        name: &str,
        key_path: &str,
        taken: Map<String, Value>,
        origin: &ConfigOrigin,
    ) -> Result<TargetSettings> {
        let cfg = AdapterConfig {
            instance: name.to_string(),
            key_path: key_path.to_string(),
            settings: taken,
            origin: origin.clone(),
            read_only: false,
        };
        let raw: RawSettings = cfg.parse()?;
        let mut s = TargetSettings::defaults(name);
        s.key_path = key_path.to_string();
        s.origin = origin.clone();
        let template = |key: &str, text: &Option<String>, default: Template| match text {
            None => Ok(default),
            Some(t) => Template::parse(t).map_err(|e| cfg.error(&format!("fields.{key}"), e)),
        };
        s.login = template("login", &raw.fields.login, s.login.clone())?;
        s.login_configured = raw.fields.login.is_some();
        s.email = template("email", &raw.fields.email, s.email.clone())?;
        s.display_name = template("display_name", &raw.fields.display_name, s.display_name)?;
        s.attributes = match raw.attributes {
            None => AttributeRule::None,
            Some(RawAttributes::Word(w)) => match w.as_str() {
                "all" => AttributeRule::All,
                "none" => AttributeRule::None,
                other => {
                    return Err(cfg.error(
                        "attributes",
                        format!(
                            "expected \"all\", \"none\" or a table of name = template, found \"{other}\""
                        ),
                    ));
                }
            },
            Some(RawAttributes::Map(m)) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    let t = Template::parse(&v)
                        .map_err(|e| cfg.error(&format!("attributes.{k}"), e))?;
                    out.insert(k, t);
                }
                AttributeRule::Map(out)
            }
        };
        if let Some(concepts) = raw.sync {
            if concepts.contains(&Concept::Memberships) && !concepts.contains(&Concept::Groups) {
                return Err(cfg.error(
                    "sync",
                    "\"memberships\" needs \"groups\" (memberships are kept for synced groups)",
                ));
            }
            if !concepts.contains(&Concept::Users) && !concepts.is_empty() {
                return Err(cfg.error(
                    "sync",
                    "\"users\" is required (groups, memberships and roles refer to users)",
                ));
            }
            s.concepts = Some(concepts);
        }
        s.groups = GroupRules {
            include: if raw.groups.include.is_empty() {
                vec![Glob::new("*")]
            } else {
                raw.groups.include.iter().map(|p| Glob::new(p)).collect()
            },
            exclude: raw.groups.exclude.iter().map(|p| Glob::new(p)).collect(),
            rename: raw.groups.rename,
        };
        for (source, target) in &s.groups.rename {
            if target.trim().is_empty() {
                return Err(cfg.error(
                    &format!("groups.rename.{source}"),
                    "the new name must not be empty",
                ));
            }
        }
        let role_target = |path: String, raw: RawRoleTarget| -> Result<RoleTarget> {
            if raw.role.trim().is_empty() {
                return Err(cfg.error(&format!("{path}.role"), "the role must not be empty"));
            }
            let scope = match (raw.project, raw.global) {
                (Some(_), true) => {
                    return Err(cfg.error(&path, "give either `project` or `global`, not both"));
                }
                (Some(p), false) => ScopeRule::Project(p),
                (None, true) => ScopeRule::Global,
                (None, false) => ScopeRule::Source,
            };
            Ok(RoleTarget {
                role: raw.role,
                scope,
                key_path: format!("{key_path}.{path}"),
            })
        };
        for (source_role, raw_target) in raw.roles {
            let t = role_target(format!("roles.{source_role}"), raw_target)?;
            s.roles.insert(source_role, t);
        }
        for (group, raw_targets) in raw.group_roles {
            let list = match raw_targets {
                OneOrMany::One(r) => vec![r],
                OneOrMany::Many(v) => v,
            };
            let mut out = Vec::new();
            for (i, r) in list.into_iter().enumerate() {
                out.push(role_target(format!("group_roles.{group}[{i}]"), r)?);
            }
            s.group_roles.insert(group, out);
        }
        if let Some(keys) = raw.correlate {
            s.correlate = keys;
        }
        s.adopt = raw.adopt;
        s.deletion = raw.deletion;
        if let Some(n) = raw.max_deletions {
            s.max_deletions = n;
        }
        let percent = |key: &str, p: Option<f64>, default: f64| match p {
            None => Ok(default),
            Some(p) if (0.0..=100.0).contains(&p) => Ok(p),
            Some(p) => Err(cfg.error(
                key,
                format!("expected a percentage between 0 and 100, found {p}"),
            )),
        };
        s.max_deletion_percent = percent(
            "max_deletion_percent",
            raw.max_deletion_percent,
            s.max_deletion_percent,
        )?;
        s.max_membership_removal_percent = percent(
            "max_membership_removal_percent",
            raw.max_membership_removal_percent,
            s.max_membership_removal_percent,
        )?;
        s.max_revocation_percent = percent(
            "max_revocation_percent",
            raw.max_revocation_percent,
            s.max_revocation_percent,
        )?;
        s.max_adoptions = raw.max_adoptions.unwrap_or(s.max_adoptions);
        s.max_membership_removals = raw
            .max_membership_removals
            .unwrap_or(s.max_membership_removals);
        s.max_revocations = raw.max_revocations.unwrap_or(s.max_revocations);
        s.privileged_groups = raw.privileged_groups;
        s.adopt_privileged = raw.adopt_privileged;
        s.adopt_renames_login = raw.adopt_renames_login;
        if let Some(c) = raw.concurrency {
            if c == 0 {
                return Err(cfg.error("concurrency", "must be at least 1"));
            }
            s.concurrency = c;
        }
        s.protected = raw.protected;
        Ok(s)
    }

    /// Whether a concept is selected (before looking at the target's capabilities).
    pub fn wants(&self, concept: Concept) -> bool {
        self.concepts.as_ref().is_none_or(|c| c.contains(&concept))
    }

    /// A configuration error for a key path (absolute, e.g. `targets.bi.roles.analyst`).
    pub fn error_at(
        &self,
        key_path: &str,
        problem: impl std::fmt::Display,
    ) -> idbridge_core::Error {
        self.origin.error(key_path, problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idbridge_core::ErrorKind;
    use serde_json::json;

    #[test]
    fn debug_of_a_target_and_its_settings_shows_no_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("idbridge.toml");
        std::fs::write(
            &path,
            "[source]\nadapter = \"file\"\npath = \"s.yaml\"\n[targets.bi]\nadapter = \"x\"\n\
             password = \"pw-61c0ffee\"\napi_token = \"tk-0ddba11\"\nmax_deletions = 3\n\
             fields = { login = \"{login}\" }\n",
        )
        .expect("write");
        let config = Config::load_with_env(&path, std::iter::empty()).expect("loads");
        let mut section = config.targets["bi"].clone();
        let settings = TargetSettings::take_from(&config, &mut section).expect("parses");
        for text in [
            format!("{config:?}"),
            format!("{config:#?}"),
            format!("{section:?}"),
            format!("{section:#?}"),
            format!("{settings:?}"),
            format!("{settings:#?}"),
        ] {
            assert!(!text.contains("pw-61c0ffee"), "{text}");
            assert!(!text.contains("tk-0ddba11"), "{text}");
        }
        assert_eq!(settings.max_deletions, 3);
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = TargetSettings::from_json("bi", json!({})).expect("parses");
        assert_eq!(s.max_deletions, 500);
        assert_eq!(s.max_deletion_percent, 10.0);
        assert_eq!(s.concurrency, 8);
        assert_eq!(s.deletion, DeletionPolicy::Disable);
        assert_eq!(s.adopt, Adopt::Matched);
        assert_eq!(
            s.correlate,
            vec![CorrelationKey::Login, CorrelationKey::Email]
        );
        assert!(s.wants(Concept::Roles));
        assert_eq!(s.attributes, AttributeRule::None);
    }

    #[test]
    fn full_settings_parse() {
        let s = TargetSettings::from_json(
            "sq",
            json!({
                "sync": ["users", "groups", "memberships"],
                "fields": {"login": "{email|lower}"},
                "attributes": {"dept": "{attr.department}"},
                "groups": {"include": ["bi-*", "sales"], "exclude": ["bi-old"], "rename": {"sales": "Sales Team"}},
                "roles": {"analyst": {"role": "member", "project": "Sales"}},
                "group_roles": {"platform": [{"role": "admin", "global": true}]},
                "correlate": ["email"],
                "adopt": "all",
                "deletion": "delete",
                "max_deletions": 3,
                "max_deletion_percent": 50,
                "concurrency": 2,
                "protected": ["admin@example.com"]
            }),
        )
        .expect("parses");
        assert!(!s.wants(Concept::Roles));
        assert_eq!(s.groups.target_name("sales").as_deref(), Some("Sales Team"));
        assert_eq!(
            s.groups.target_name("bi-users").as_deref(),
            Some("bi-users")
        );
        assert_eq!(s.groups.target_name("bi-old"), None);
        assert_eq!(s.groups.target_name("hr"), None);
        assert_eq!(s.roles["analyst"].scope, ScopeRule::Project("Sales".into()));
        assert_eq!(s.roles["analyst"].key_path, "targets.sq.roles.analyst");
        assert_eq!(s.group_roles["platform"][0].scope, ScopeRule::Global);
        assert_eq!(s.adopt, Adopt::All);
        assert_eq!(s.deletion, DeletionPolicy::Delete);
        assert_eq!(s.correlate, vec![CorrelationKey::Email]);
    }

    #[test]
    fn errors_name_the_key_path() {
        for (value, needle) in [
            (
                json!({"fields": {"login": "{mail}"}}),
                "targets.bi.fields.login",
            ),
            (json!({"fields": {"logon": "{login}"}}), "logon"),
            (json!({"deletion": "purge"}), "deletion"),
            (
                json!({"max_deletion_percent": 150}),
                "targets.bi.max_deletion_percent",
            ),
            (json!({"concurrency": 0}), "targets.bi.concurrency"),
            (
                json!({"roles": {"analyst": {"role": "x", "project": "p", "global": true}}}),
                "targets.bi.roles.analyst",
            ),
            (json!({"attributes": "some"}), "targets.bi.attributes"),
            (
                json!({"attributes": {"d": "{attr.}"}}),
                "targets.bi.attributes.d",
            ),
            (json!({"sync": ["users", "memberships"]}), "targets.bi.sync"),
            (json!({"bogus": 1}), "bogus"),
        ] {
            let err = TargetSettings::from_json("bi", value.clone()).expect_err(&value.to_string());
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.to_string().contains(needle), "{value}: {err}");
        }
    }

    #[test]
    fn split_off_leaves_the_adapter_keys() {
        let mut cfg = Config::from_value(
            json!({
                "source": {"adapter": "file", "path": "x.yaml"},
                "targets": {"bi": {"adapter": "portal", "base_url": "u", "deletion": "ignore", "concurrency": 3}}
            }),
            ConfigOrigin::in_memory("."),
        )
        .expect("config");
        let mut section = cfg.targets.remove("bi").expect("bi");
        let s = TargetSettings::take_from(&cfg, &mut section).expect("parses");
        assert_eq!(s.deletion, DeletionPolicy::Ignore);
        assert_eq!(s.concurrency, 3);
        assert_eq!(section.settings.len(), 1);
        assert!(section.settings.contains_key("base_url"));
    }
}
