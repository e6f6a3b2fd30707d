//! scim2-server (PyPI, pinned in `tests/fidelity/requirements.txt`), an independent SCIM
//! 2.0 service provider, started on a free loopback port with a bearer token and a tenant
//! per test (`--dynamic-tenants`). Without the interpreter or the package the tests are
//! skipped with a printed reason, unless `IDBRIDGE_REQUIRE_FIDELITY=1`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use idbridge_core::AdapterConfig;
use idbridge_testkit::peer::{PythonPeer, ScimPeerOptions, scim_peer_for_test};
use serde_json::json;

/// The bearer token the peer accepts (a test secret).
pub const TOKEN: &str = "scim2-server-peer-test-token";

/// A running scim2-server, stopped when dropped.
pub struct Peer {
    peer: PythonPeer,
    /// Holds the service provider configuration file given to the server, if any.
    _config: Option<tempfile::NamedTempFile>,
    tenants: AtomicUsize,
}

impl Peer {
    /// Starts the peer, or returns `None` after printing why the test `test` is skipped.
    ///
    /// # Panics
    /// When it is installed but does not come up within 30 s.
    pub fn start(test: &str) -> Option<Peer> {
        Self::start_with(test, None)
    }

    /// Starts the peer announcing `config` as its `/ServiceProviderConfig` (and acting on
    /// it: scim2-server refuses PATCH and filters it does not announce), or returns `None`
    /// after printing why the test `test` is skipped.
    ///
    /// # Panics
    /// As [`Peer::start`].
    pub fn start_with(test: &str, config: Option<serde_json::Value>) -> Option<Peer> {
        let config = config.map(|c| {
            let mut f = tempfile::NamedTempFile::new().expect("a temporary file");
            std::io::Write::write_all(&mut f, c.to_string().as_bytes()).expect("written");
            f
        });
        let options = ScimPeerOptions {
            dynamic_tenants: true,
            service_provider_config: config.as_ref().map(|f| f.path().to_path_buf()),
            ..ScimPeerOptions::new(TOKEN)
        };
        let peer = scim_peer_for_test(test, &options)?;
        Some(Peer {
            peer,
            _config: config,
            tenants: AtomicUsize::new(0),
        })
    }

    /// The base URL of a tenant no one used yet.
    pub fn fresh_base_url(&self) -> String {
        let n = self.tenants.fetch_add(1, Ordering::SeqCst);
        format!("{}/t{n}", self.peer.base_url())
    }

    /// The adapter configuration of a fresh tenant.
    pub fn fresh_config(&self, instance: &str) -> AdapterConfig {
        AdapterConfig::new(
            instance,
            json!({"base_url": self.fresh_base_url(), "token": TOKEN}),
        )
    }
}
