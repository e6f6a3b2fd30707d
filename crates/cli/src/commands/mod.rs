//! One module per subcommand.

pub mod adapters;
pub mod apply;
pub mod approve;
pub mod check;
pub mod config_dir;
pub mod connected;
pub mod demo;
pub mod emulate;
pub mod guard_flags;
pub mod inspect;
pub mod journal;
pub mod offboard;
pub mod plan;
pub mod serve;
pub mod state;
pub mod sync;

use std::path::Path;

use idbridge_core::{AdapterHandle, Config, Result, SystemSection, registry};

/// Loads the configuration file.
pub fn load_config(path: &Path) -> Result<Config> {
    Config::load(path)
}

/// Connects to one configured system. This is the one place where a system section
/// becomes an adapter, so keys that belong to the sync engine rather than the adapter are
/// removed here.
pub async fn connect(config: &Config, section: &SystemSection) -> Result<AdapterHandle> {
    connect_with(config, section, false).await
}

/// [`connect`]; with `read_only`, the adapter is built to be checked only and creates or
/// changes nothing (see [`idbridge_core::AdapterConfig::read_only`]).
pub async fn connect_with(
    config: &Config,
    section: &SystemSection,
    read_only: bool,
) -> Result<AdapterHandle> {
    // Keeps every shipped adapter crate linked (see `shipped`).
    let _ = crate::shipped::adapters();
    // A target's section also holds the sync engine's keys, which its adapter must not see.
    let mut section = section.clone();
    if section.key_path.starts_with("targets.") {
        section.split_off(idbridge_sync::TARGET_KEYS);
    }
    let mut adapter_config = config.adapter_config(&section);
    adapter_config.read_only = read_only;
    registry::build_adapter(&section.adapter, adapter_config).await
}

/// Resolves on SIGINT, or SIGTERM on Unix.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
