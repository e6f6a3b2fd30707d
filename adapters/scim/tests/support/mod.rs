//! scim2-server (PyPI, pinned in `tests/fidelity/requirements.txt`), an independent SCIM
//! 2.0 service provider, started on a free loopback port with a bearer token and a tenant
//! per test (`--dynamic-tenants`). Without the interpreter or the package the tests are
//! skipped with a printed reason, unless `IDBRIDGE_REQUIRE_FIDELITY=1`.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use idbridge_core::AdapterConfig;
use idbridge_testkit::fidelity;
use serde_json::json;

/// The bearer token the peer accepts (a test secret).
pub const TOKEN: &str = "scim2-server-peer-test-token";

/// A running scim2-server, stopped when dropped.
pub struct Peer {
    child: Child,
    /// Holds the service provider configuration file given to the server, if any.
    _config: Option<tempfile::NamedTempFile>,
    port: u16,
    tenants: AtomicUsize,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        let python = fidelity::python_with("scim2_server", test)?;
        let config = config.map(|c| {
            let mut f = tempfile::NamedTempFile::new().expect("a temporary file");
            std::io::Write::write_all(&mut f, c.to_string().as_bytes()).expect("written");
            f
        });
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(python);
        command.args([
            "-c",
            "import sys; from scim2_server.testserver.cli import main; sys.argv[0] = 'scim2-server'; sys.exit(main())",
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--bearer-token",
            TOKEN,
            "--dynamic-tenants",
        ]);
        if let Some(f) = &config {
            command.arg("--service-provider-config").arg(f.path());
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("scim2-server starts");
        let peer = Peer {
            child,
            _config: config,
            port,
            tenants: AtomicUsize::new(0),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "scim2-server did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(peer)
    }

    /// The base URL of a tenant no one used yet.
    pub fn fresh_base_url(&self) -> String {
        let n = self.tenants.fetch_add(1, Ordering::SeqCst);
        format!("http://127.0.0.1:{}/t{n}", self.port)
    }

    /// The adapter configuration of a fresh tenant.
    pub fn fresh_config(&self, instance: &str) -> AdapterConfig {
        AdapterConfig::new(
            instance,
            json!({"base_url": self.fresh_base_url(), "token": TOKEN}),
        )
    }
}
