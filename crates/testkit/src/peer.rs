//! Python servers that tests and benchmarks talk to as independent peers.
//!
//! A peer is a process started with the project's Python interpreter (see
//! [`crate::fidelity`]) on a free loopback port, waited for until it accepts connections,
//! and stopped when dropped. [`PythonPeer::start`] runs any such server;
//! [`start_scim_peer`] and [`scim_peer_for_test`] start the SCIM 2.0 service provider
//! scim2-server (pinned in `adapters/scim/tests/fidelity/requirements.txt`).
//!
//! # Example
//!
//! ```no_run
//! use idbridge_testkit::peer::{ScimPeerOptions, scim_peer_for_test};
//!
//! // `None` (after printing why) when the interpreter or the package is missing, unless
//! // IDBRIDGE_REQUIRE_FIDELITY=1, which makes that a failure.
//! if let Some(peer) = scim_peer_for_test("my test", &ScimPeerOptions::new("a-test-token")) {
//!     println!("SCIM service provider at {}", peer.base_url());
//! }
//! ```

use std::ffi::OsStr;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idbridge_core::{Error, Result};

use crate::fidelity;

/// How long a peer has to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A TCP port on 127.0.0.1 that is free when asked (another process may still take it
/// before the peer binds it).
///
/// # Errors
/// [`idbridge_core::ErrorKind::Unavailable`] when no loopback port can be bound.
pub fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::unavailable(format!("no free loopback port: {e}")))
}

/// A running peer process listening on `127.0.0.1`, killed (and reaped) when dropped.
#[derive(Debug)]
pub struct PythonPeer {
    child: Child,
    port: u16,
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PythonPeer {
    /// Runs `python` with `args` (which tell it to listen on `127.0.0.1:port`), its
    /// standard streams closed, and waits up to 30 s until it accepts connections there.
    /// `name` is what errors call the peer.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unavailable`] when `python` cannot be run, the process
    /// exits before it listens (the package is likely missing), or it does not listen
    /// within 30 s; the process is stopped then.
    pub fn start<I, S>(name: &str, python: &Path, args: I, port: u16) -> Result<PythonPeer>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let child = Command::new(python)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                Error::unavailable(format!(
                    "cannot start {name} with `{}`: {e}",
                    python.display()
                ))
            })?;
        // From here on, dropping `peer` stops the process on every error path.
        let mut peer = PythonPeer { child, port };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = peer.child.try_wait() {
                return Err(Error::unavailable(format!(
                    "{name} exited with {status}: is it installed for `{}`?",
                    python.display()
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::unavailable(format!(
                    "{name} did not listen on port {port} within {} s",
                    START_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(peer)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The import name of the SCIM peer's Python package, for
/// [`fidelity::python_with`].
pub const SCIM_PEER_MODULE: &str = "scim2_server";

/// How to start the SCIM peer ([`start_scim_peer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimPeerOptions {
    /// The bearer token it requires of every request.
    pub token: String,
    /// A tenant per first path segment: each `http://127.0.0.1:<port>/<tenant>` is a
    /// service provider of its own that starts empty. Default `false`: one service
    /// provider at the root.
    pub dynamic_tenants: bool,
    /// A JSON file holding the `/ServiceProviderConfig` it announces and acts on (it
    /// refuses the PATCH and filters it does not announce). Default `None`: its own,
    /// which announces everything it supports.
    pub service_provider_config: Option<PathBuf>,
}

impl ScimPeerOptions {
    /// A single service provider that requires `token`, with its own configuration.
    pub fn new(token: impl Into<String>) -> ScimPeerOptions {
        ScimPeerOptions {
            token: token.into(),
            dynamic_tenants: false,
            service_provider_config: None,
        }
    }
}

/// Starts the SCIM 2.0 peer with `python` on a free loopback port.
///
/// # Errors
/// As [`free_port`] and [`PythonPeer::start`].
pub fn start_scim_peer(python: &Path, options: &ScimPeerOptions) -> Result<PythonPeer> {
    let port = free_port()?;
    let mut args: Vec<&OsStr> = Vec::new();
    let port_arg = port.to_string();
    args.extend(
        [
            "-c",
            // The package's console script, run through this interpreter so that no
            // `bin/` directory has to be on PATH.
            "import sys; from scim2_server.testserver.cli import main; sys.argv[0] = 'scim2-server'; sys.exit(main())",
            "--hostname",
            "127.0.0.1",
            "--port",
            port_arg.as_str(),
            "--bearer-token",
            options.token.as_str(),
        ]
        .map(OsStr::new),
    );
    if options.dynamic_tenants {
        args.push(OsStr::new("--dynamic-tenants"));
    }
    if let Some(path) = &options.service_provider_config {
        args.push(OsStr::new("--service-provider-config"));
        args.push(path.as_os_str());
    }
    PythonPeer::start("scim2-server", python, args, port)
}

/// The SCIM 2.0 peer for the test named `test`, or `None` after printing why it is
/// skipped: the interpreter is the one [`fidelity::python_with`] finds.
///
/// # Panics
/// When the package is missing and `IDBRIDGE_REQUIRE_FIDELITY=1` (as
/// [`fidelity::python_with`]), or when it is installed but does not start.
pub fn scim_peer_for_test(test: &str, options: &ScimPeerOptions) -> Option<PythonPeer> {
    let python = fidelity::python_with(SCIM_PEER_MODULE, test)?;
    match start_scim_peer(&python, options) {
        Ok(peer) => Some(peer),
        Err(e) => panic!("{test}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_exits_before_it_listens_is_an_error() {
        let port = free_port().expect("a free port");
        let err = PythonPeer::start("a peer", Path::new("python3"), ["-c", "pass"], port)
            .expect_err("it never listens");
        assert!(err.message().contains("a peer exited with"), "{err}");
    }

    #[test]
    fn an_interpreter_that_cannot_run_is_an_error() {
        let port = free_port().expect("a free port");
        let err = PythonPeer::start("a peer", Path::new("/nonexistent/python"), ["-V"], port)
            .expect_err("no interpreter");
        assert!(err.message().contains("cannot start a peer"), "{err}");
        assert!(err.message().contains("/nonexistent/python"), "{err}");
    }

    #[test]
    fn waits_until_the_peer_listens_and_stops_it_when_dropped() {
        let port = free_port().expect("a free port");
        // A listener that comes up only after a moment, as a real server does.
        let script = format!(
            "import socket, time; time.sleep(0.3); s = socket.socket(); \
             s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
             s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)"
        );
        let peer = PythonPeer::start("a peer", Path::new("python3"), ["-c", &script], port)
            .expect("it listens");
        assert_eq!(peer.port(), port);
        assert_eq!(peer.base_url(), format!("http://127.0.0.1:{port}"));
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        drop(peer);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the process is gone once the peer is dropped"
        );
    }
}
