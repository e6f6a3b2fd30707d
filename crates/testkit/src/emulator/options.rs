//! What every emulator can be told at start.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use idbridge_core::Secret;
use idbridge_file::Directory;

use super::FaultSpec;

/// Start options shared by all emulators. Vendor-specific credentials are optional: each
/// emulator uses what applies to it and a fixed development default for the rest.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Where to listen. Default `127.0.0.1:0` (a free port on loopback).
    pub listen: SocketAddr,
    /// Added to every request before it is served. Default none.
    pub latency: Duration,
    /// Faults to inject. Default none.
    pub faults: FaultSpec,
    /// Users, groups, roles and grants to load at start, besides the built-ins.
    pub seed: Option<Directory>,
    /// The administrator's login (Strategy). Default: the emulator's own.
    pub admin_user: Option<String>,
    /// The administrator's password (Strategy). Default: the emulator's own.
    pub admin_password: Option<Secret>,
    /// The administrator's API key (Dataiku). Default: the emulator's own.
    pub api_key: Option<Secret>,
    /// The administrator's refresh token (Squirro). Default: the emulator's own.
    pub refresh_token: Option<Secret>,
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
            admin_user: None,
            admin_password: None,
            api_key: None,
            refresh_token: None,
            extra: BTreeMap::new(),
        }
    }
}
