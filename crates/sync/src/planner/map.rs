//! Map: a source user to what one target should hold (its login, e-mail address, display
//! name and attributes from the target's templates), with the fingerprint its link records
//! once the account matches; and the fingerprint of a synced group.

use std::borrow::Cow;
use std::collections::BTreeMap;

use idbridge_core::{Capabilities, Group};

use crate::holds::HoldIndex;
use crate::settings::{AttributeRule, TargetSettings};
use crate::table::{UserRef, UserTable};
use crate::util::{Fingerprinter, fingerprint_text};

use super::Planner;

/// A source user mapped to what the target should hold.
#[derive(Debug, Clone)]
pub(super) struct DesiredUser<'a> {
    pub(super) login: Cow<'a, str>,
    pub(super) email: Option<Cow<'a, str>>,
    pub(super) display_name: Option<Cow<'a, str>>,
    pub(super) attributes: Option<BTreeMap<String, String>>,
    pub(super) enabled: bool,
    pub(super) fingerprint: u64,
}

fn trimmed(v: Cow<'_, str>) -> Cow<'_, str> {
    match v {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) if o.trim().len() == o.len() => Cow::Owned(o),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    }
}

pub(super) fn map_user<'a>(
    user: UserRef<'a>,
    s: &TargetSettings,
    login_is_email: bool,
) -> std::result::Result<DesiredUser<'a>, String> {
    // Where the platform's login is the email, the login follows the email template unless
    // the configuration says otherwise.
    let login_template = if login_is_email && !s.login_configured {
        &s.email
    } else {
        &s.login
    };
    let login = login_template
        .render(user)
        .map(trimmed)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            format!(
                "source user `{}` ({}): the login template gives no value; skipped",
                user.id, user.login
            )
        })?;
    let email = s.email.render(user).map(trimmed);
    let display_name = s.display_name.render(user);
    let attributes = match &s.attributes {
        AttributeRule::None => None,
        AttributeRule::All => Some(user.attributes.clone()),
        AttributeRule::Map(m) => Some(
            m.iter()
                .filter_map(|(k, t)| t.render(user).map(|v| (k.clone(), v.into_owned())))
                .collect(),
        ),
    };
    let mut fp = Fingerprinter::default();
    fp.str(&login)
        .opt(email.as_deref())
        .opt(display_name.as_deref())
        .flag(user.enabled);
    match &attributes {
        None => {
            fp.flag(false);
        }
        Some(a) => {
            fp.flag(true);
            for (k, v) in a {
                fp.str(k).str(v);
            }
        }
    }
    Ok(DesiredUser {
        login,
        email,
        display_name,
        attributes,
        enabled: user.enabled,
        fingerprint: fp.value(),
    })
}

pub(super) fn group_fingerprint(name: &str, description: Option<&str>) -> String {
    Fingerprinter::default().str(name).opt(description).finish()
}

/// The fingerprint the link of a source user carries once its account in a target with
/// these settings and capabilities matches it (what an apply stores); `None` when the user
/// does not map (its login template gives no value).
pub fn user_link_fingerprint(
    user: UserRef<'_>,
    settings: &TargetSettings,
    caps: &Capabilities,
) -> Option<String> {
    map_user(user, settings, caps.users_login_is_email)
        .ok()
        .map(|d| fingerprint_text(d.fingerprint))
}

/// The fingerprint the link of a source group carries once its target group matches it;
/// `None` when the settings do not sync this group.
pub fn group_link_fingerprint(
    group: &Group,
    settings: &TargetSettings,
    caps: &Capabilities,
) -> Option<String> {
    let name = settings.groups.target_name(&group.name)?;
    let description = group
        .description
        .as_deref()
        .filter(|_| caps.groups_description);
    Some(group_fingerprint(&name, description))
}

impl<'i> Planner<'_, 'i> {
    /// Maps every source user to its desired state in the target; a user held by an
    /// offboarding is desired disabled.
    pub(super) fn map_users(&mut self) {
        let src = self.src;
        let users: &'i UserTable = &src.src.users;
        let s = self.s;
        let holds: Option<&'i HoldIndex> = src.holds;
        // Map.
        let mut desired = Vec::with_capacity(users.len());
        for (i, u) in users.iter().enumerate() {
            match map_user(u, s, self.caps.users_login_is_email) {
                Ok(mut d) => {
                    if let Some(h) = holds.and_then(|x| x.source_user(u)) {
                        // Held by an offboarding: disabled whatever the source says, with
                        // a state of its own, so that lifting the hold is a change.
                        d.enabled = false;
                        d.fingerprint = Fingerprinter::default()
                            .str(&fingerprint_text(d.fingerprint))
                            .str("held")
                            .value();
                        self.users.held.insert(i, h);
                    }
                    desired.push(Some(d));
                }
                Err(note) => {
                    self.plan.notes.push(note);
                    desired.push(None);
                }
            }
        }
        self.users.desired = desired;
    }
}
