//! # idbridge-testkit
//!
//! Two things every adapter crate uses in its tests:
//!
//! - [`emulator`]: the scaffolding of the vendor emulators (a loopback HTTP server with
//!   latency, fault injection, a request log, and a registry of emulators by vendor);
//! - the conformance suite (module `conformance`): one named scenario per behaviour that
//!   every adapter runs against a fresh instance of itself.
//!
//! And for tests against independent implementations: [`fidelity`] finds the Python
//! interpreter that carries them, [`peer`] starts one as a server on a loopback port.
//!
//! # Example
//!
//! Starting every registered emulator in this process, as the cross-platform suites and
//! `docs/embedding.md`'s offboarding example do (an emulator registers with its adapter
//! crate's `emulator` feature; `idbridge-platforms` links every shipped one):
//!
//! ```no_run
//! use idbridge_testkit::emulator::{EmulatorOptions, emulators, start_emulator};
//!
//! # async fn run() -> idbridge_core::Result<()> {
//! for descriptor in emulators() {
//!     let running = start_emulator(descriptor.vendor, EmulatorOptions::default()).await?;
//!     // The target section that connects an adapter to it.
//!     println!("{}: {}", running.vendor, running.config);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Next
//!
//! `idbridge-platforms` links every shipped adapter and emulator; `docs/testing.md`
//! describes the emulator contract and the conformance suite.

pub mod conformance;
pub mod emulator;
pub mod fidelity;
pub mod http_config;
pub mod peer;

/// Re-exports for [`register_emulator!`]; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
