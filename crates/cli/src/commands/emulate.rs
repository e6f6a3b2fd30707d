//! `idbridge emulate <vendor>`: run a vendor emulator on loopback until interrupted.

use crate::output::errln;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use idbridge_core::{Error, Result, Secret};
use idbridge_file::Directory;
use idbridge_testkit::emulator::{EmulatorOptions, FaultSpec, start_emulator};

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
    /// The administrator's login (Strategy).
    #[arg(long)]
    admin_user: Option<String>,
    /// The administrator's password (Strategy).
    #[arg(long, env = "IDBRIDGE_EMULATOR_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// The administrator's API key (Dataiku).
    #[arg(long, env = "IDBRIDGE_EMULATOR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// The administrator's refresh token (Squirro).
    #[arg(long, env = "IDBRIDGE_EMULATOR_REFRESH_TOKEN", hide_env_values = true)]
    refresh_token: Option<String>,
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
    let seed = match &args.seed {
        Some(path) => Some(Directory::load(path)?),
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
        admin_user: args.admin_user,
        admin_password: args.admin_password.map(Secret::new),
        api_key: args.api_key.map(Secret::new),
        refresh_token: args.refresh_token.map(Secret::new),
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
