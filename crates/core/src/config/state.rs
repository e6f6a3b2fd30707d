//! The `state` key: a SQLite file path (the default) or a PostgreSQL URL, with the
//! `tenant` the state belongs to and, for PostgreSQL, the password as a secret.
//!
//! A PostgreSQL state is still handed around as a path ([`super::Config::state`]), so that
//! every part that opens the state keeps doing so with one value: the URL as configured,
//! with the tenant added as a `tenant=` parameter (`postgres://idbridge@db:5432/idbridge?tenant=acme`).
//! The URL never carries the password; the configured password (`state_password` or
//! `state_password_file`) is kept in a process-wide table keyed by that locator, where the
//! state store finds it ([`state_password`]); so is the CA bundle of a TLS connection
//! (`state_ca_file`, [`state_ca_file`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::Secret;

/// The tenant a configuration without a `tenant` key belongs to.
pub const DEFAULT_TENANT: &str = "default";

static PASSWORDS: Mutex<BTreeMap<String, Secret>> = Mutex::new(BTreeMap::new());
static CA_FILES: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

/// Whether a `state` value names a PostgreSQL database (`postgres://` or `postgresql://`)
/// rather than a SQLite file.
pub fn is_postgres_state(state: &Path) -> bool {
    state
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// Checks a tenant name: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, so that it can
/// appear in a URL parameter, a file name and a log line as it is.
///
/// # Errors
/// A message saying what is allowed.
pub fn check_tenant(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tenant `{name}` must be 1 to 64 ASCII letters, digits, `.`, `_` or `-`"
        ))
    }
}

/// The `tenant=` parameter of a PostgreSQL state URL, if it has one.
pub fn url_tenant(url: &str) -> Option<&str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("tenant="))
        .filter(|t| !t.is_empty())
}

/// Builds the locator of a PostgreSQL state: `url` with `tenant=<tenant>` added unless it
/// already names that tenant.
///
/// # Errors
/// A message when the URL holds a password, or names another tenant than `tenant`.
pub fn postgres_locator(url: &str, tenant: &str) -> std::result::Result<PathBuf, String> {
    let authority = url
        .split_once("://")
        .map_or("", |(_, rest)| rest.split(['/', '?']).next().unwrap_or(""));
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if userinfo.contains(':') {
            return Err(
                "the URL holds a password: give it as `state_password` or `state_password_file` \
                 (a secret) instead"
                    .to_string(),
            );
        }
    }
    match url_tenant(url) {
        Some(t) if t == tenant => Ok(PathBuf::from(url)),
        Some(t) => Err(format!(
            "the URL names tenant `{t}` but the configuration's `tenant` is `{tenant}`"
        )),
        None => {
            let sep = if url.contains('?') { '&' } else { '?' };
            Ok(PathBuf::from(format!("{url}{sep}tenant={tenant}")))
        }
    }
}

/// Records the password of a PostgreSQL state, for [`state_password`].
pub fn remember_state_password(locator: &Path, password: Secret) {
    PASSWORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(locator.to_string_lossy().into_owned(), password);
}

/// The password configured for a PostgreSQL state locator, if a loaded configuration
/// gave one.
pub fn state_password(locator: &Path) -> Option<Secret> {
    PASSWORDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(locator.to_string_lossy().as_ref())
        .cloned()
}

/// Records the CA bundle of a PostgreSQL state (`state_ca_file`), for [`state_ca_file`].
pub fn remember_state_ca_file(locator: &Path, ca_file: PathBuf) {
    CA_FILES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(locator.to_string_lossy().into_owned(), ca_file);
}

/// The CA bundle configured for a PostgreSQL state locator, if a loaded configuration
/// gave one.
pub fn state_ca_file(locator: &Path) -> Option<PathBuf> {
    CA_FILES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(locator.to_string_lossy().as_ref())
        .cloned()
}
