//! What every emulator can be told at start.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use idbridge_core::{Error, Result, Secret, Snapshot};

use super::FaultSpec;
use super::contract::{CredentialSpec, EmulatorContract};

/// Start options shared by all emulators. Credentials are a map of the names the emulator
/// declares (see [`EmulatorContract::credentials`]); each one left out takes the
/// emulator's own development default.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Where to listen. Default `127.0.0.1:0` (a free port on loopback).
    pub listen: SocketAddr,
    /// Added to every request before it is served. Default none.
    pub latency: Duration,
    /// Faults to inject. Default none.
    pub faults: FaultSpec,
    /// Users, groups, memberships, roles and grants to load at start, besides the
    /// built-ins. Default none.
    pub seed: Option<Snapshot>,
    /// Credentials by name (the administrator's login, password, API key, ...). Default
    /// none: the emulator's own for each. A name the emulator does not declare is refused
    /// at start.
    pub credentials: BTreeMap<String, Secret>,
    /// Vendor-specific switches (for example a server version to imitate).
    pub extra: BTreeMap<String, String>,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            latency: Duration::ZERO,
            faults: FaultSpec::none(),
            seed: None,
            credentials: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

impl EmulatorOptions {
    /// These options with credential `name` set to `value`.
    pub fn with_credential(mut self, name: &str, value: impl Into<String>) -> Self {
        self.credentials
            .insert(name.to_string(), Secret::new(value.into()));
        self
    }

    /// These options with every secret credential of `contract` set to `value` (a test's
    /// canary, for instance).
    pub fn with_every_secret(mut self, contract: &EmulatorContract, value: &str) -> Self {
        for name in contract.secret_names() {
            self.credentials
                .insert(name.to_string(), Secret::new(value));
        }
        self
    }

    /// The value of credential `name`, or `default` when the options give none.
    pub fn credential_or(&self, name: &str, default: &str) -> String {
        self.credentials
            .get(name)
            .map_or_else(|| default.to_string(), |s| s.expose().to_string())
    }

    /// Checks that every credential given is one `vendor`'s emulator declares.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the first unknown credential (never its
    /// value) and listing the declared ones with what they are.
    pub fn check_credentials(&self, vendor: &str, declared: &[CredentialSpec]) -> Result<()> {
        let Some(unknown) = self
            .credentials
            .keys()
            .find(|name| !declared.iter().any(|c| c.name == name.as_str()))
        else {
            return Ok(());
        };
        let known = if declared.is_empty() {
            "it takes none".to_string()
        } else {
            let list: Vec<String> = declared
                .iter()
                .map(|c| format!("{} ({})", c.name, c.description))
                .collect();
            format!("it takes: {}", list.join("; "))
        };
        Err(Error::config(format!(
            "the {vendor} emulator has no credential `{unknown}`; {known}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &[CredentialSpec] = &[
        CredentialSpec {
            name: "admin_user",
            description: "the administrator's login",
            secret: false,
        },
        CredentialSpec {
            name: "api_key",
            description: "the administrator's API key",
            secret: true,
        },
    ];

    #[test]
    fn declared_credentials_pass_and_unknown_ones_are_named_without_their_value() {
        let ok = EmulatorOptions::default().with_credential("api_key", "k-1");
        assert!(ok.check_credentials("demo", DECLARED).is_ok());
        let bad = ok.with_credential("refresh_token", "Canary-value-9");
        let err = bad
            .check_credentials("demo", DECLARED)
            .expect_err("refused")
            .to_string();
        assert!(err.contains("`refresh_token`"), "{err}");
        assert!(
            err.contains("api_key (the administrator's API key)"),
            "{err}"
        );
        assert!(!err.contains("Canary-value-9"), "{err}");
    }

    #[test]
    fn every_secret_sets_only_the_secret_ones() {
        let contract = EmulatorContract {
            credentials: DECLARED,
            ..EmulatorContract::DEFAULT
        };
        let o = EmulatorOptions::default().with_every_secret(&contract, "c");
        assert_eq!(o.credentials.keys().collect::<Vec<_>>(), ["api_key"]);
        assert_eq!(o.credential_or("api_key", "d"), "c");
        assert_eq!(o.credential_or("admin_user", "admin"), "admin");
    }
}
