//! `idbridge emulate <vendor>`: run a vendor emulator on loopback until interrupted.

use crate::output::errln;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use idbridge_core::{Error, Result, Secret};
use idbridge_file::Directory;
use idbridge_testkit::emulator::{
    CredentialSpec, EmulatorOptions, FaultSpec, descriptor, emulators, start_emulator,
};
use serde_json::json;

/// Arguments of `idbridge emulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The vendor to emulate (see the list this prints on an unknown name).
    vendor: String,
    /// Where to listen. Port 0 picks a free port; the first stdout line says which.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Users, groups, roles and grants to load at start (the file adapter's format).
    #[arg(long)]
    seed: Option<PathBuf>,
    /// A credential the emulator takes, NAME=VALUE (repeatable; the names are the
    /// emulator's own, see `--list-credentials`). One not given is read from
    /// `IDBRIDGE_EMULATOR_<NAME>` when set, else the emulator's development default.
    #[arg(long = "credential", value_name = "NAME=VALUE")]
    credentials: Vec<String>,
    /// Print the credentials the emulator takes (name, what it is, whether secret) as
    /// JSON, and exit without starting it.
    #[arg(long)]
    list_credentials: bool,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Faults to inject, e.g. `429=0.05,503=0.02,reset=0.01,slow=0.01,garbage=0.01`.
    #[arg(long, default_value = "")]
    faults: String,
    /// A vendor-specific switch, KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    extra: Vec<String>,
}

/// Starts the emulator, prints its JSON announcement as the first stdout line, and serves
/// until SIGINT or SIGTERM.
pub async fn run(args: Args) -> Result<ExitCode> {
    let _ = crate::shipped::emulators();
    let Some(emulator) = descriptor(&args.vendor) else {
        let known: Vec<&str> = emulators().iter().map(|d| d.vendor).collect();
        return Err(Error::config(format!(
            "no emulator for `{}`; emulators: {}",
            args.vendor,
            known.join(", ")
        )));
    };
    let declared = emulator.contract.credentials;
    if args.list_credentials {
        let list: Vec<_> = declared
            .iter()
            .map(|c| json!({"name": c.name, "description": c.description, "secret": c.secret}))
            .collect();
        crate::output::json_line_with_secrets(&list);
        return Ok(ExitCode::SUCCESS);
    }
    let credentials = credentials(&args.vendor, &args.credentials, declared, |name| {
        std::env::var(name).ok()
    })?;
    let seed = match &args.seed {
        Some(path) => Some(Directory::load(path)?.to_snapshot()),
        None => None,
    };
    let mut extra = std::collections::BTreeMap::new();
    for item in &args.extra {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| Error::invalid_input(format!("--set `{item}` is not KEY=VALUE")))?;
        extra.insert(k.trim().to_string(), v.trim().to_string());
    }
    let options = EmulatorOptions {
        listen: args.listen,
        latency: Duration::from_millis(args.latency_ms),
        faults: FaultSpec::parse(&args.faults)?,
        seed,
        credentials,
        extra,
    };
    let running = start_emulator(&args.vendor, options).await?;
    // A closed stdout drops the announcement; the address is on stderr too.
    crate::output::json_line_with_secrets(&running.announcement());
    errln!(
        "{} emulator listening on {}; stop with Ctrl-C",
        running.vendor,
        running.base_url
    );
    super::shutdown_signal().await;
    errln!("stopping the {} emulator", running.vendor);
    running.server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The environment variable a credential falls back to: `IDBRIDGE_EMULATOR_` and its
/// name in capitals.
fn env_name(credential: &str) -> String {
    format!("IDBRIDGE_EMULATOR_{}", credential.to_ascii_uppercase())
}

/// The credentials given with `--credential NAME=VALUE`, then those of `declared` left out
/// but set in the environment (read through `env`).
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] for an item that is not NAME=VALUE or a name
/// given twice; [`idbridge_core::ErrorKind::Config`] for a name the emulator does not
/// declare. No error shows a value: it may be a secret.
fn credentials(
    vendor: &str,
    given: &[String],
    declared: &[CredentialSpec],
    env: impl Fn(&str) -> Option<String>,
) -> Result<std::collections::BTreeMap<String, Secret>> {
    let mut map = std::collections::BTreeMap::new();
    for item in given {
        let Some((name, value)) = item.split_once('=') else {
            return Err(Error::invalid_input(
                "--credential takes NAME=VALUE; one was given without `=` (its text is not shown: it may be a secret)",
            ));
        };
        let name = name.trim();
        if map.insert(name.to_string(), Secret::new(value)).is_some() {
            return Err(Error::invalid_input(format!(
                "--credential `{name}` is given twice"
            )));
        }
    }
    let options = EmulatorOptions {
        credentials: map,
        ..EmulatorOptions::default()
    };
    options.check_credentials(vendor, declared)?;
    let mut map = options.credentials;
    for c in declared {
        if !map.contains_key(c.name)
            && let Some(value) = env(&env_name(c.name))
        {
            map.insert(c.name.to_string(), Secret::new(value));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &[CredentialSpec] = &[
        CredentialSpec {
            name: "admin_user",
            description: "login",
            secret: false,
        },
        CredentialSpec {
            name: "api_key",
            description: "key",
            secret: true,
        },
    ];

    fn given(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn flags_win_over_the_environment_and_values_keep_their_equals_signs() {
        let env = |name: &str| match name {
            "IDBRIDGE_EMULATOR_API_KEY" => Some("from-env".to_string()),
            "IDBRIDGE_EMULATOR_ADMIN_USER" => Some("env-admin".to_string()),
            _ => None,
        };
        let map = credentials("v", &given(&["api_key=a=b"]), DECLARED, env).expect("ok");
        assert_eq!(map["api_key"].expose(), "a=b");
        assert_eq!(map["admin_user"].expose(), "env-admin");
    }

    #[test]
    fn bad_items_are_refused_without_showing_a_value() {
        let none = |_: &str| None;
        for (items, expected) in [
            (vec!["Canary-9"], "NAME=VALUE"),
            (vec!["token=Canary-9"], "no credential `token`"),
            (vec!["api_key=Canary-9", "api_key=Canary-9"], "twice"),
        ] {
            let err = credentials("v", &given(&items), DECLARED, none)
                .expect_err("refused")
                .to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("Canary-9"), "{err}");
        }
    }
}
