//! # idbridge-testkit
//!
//! Two things every adapter crate uses in its tests:
//!
//! - [`emulator`]: the scaffolding of the vendor emulators (a loopback HTTP server with
//!   latency, fault injection, a request log, and a registry of emulators by vendor);
//! - the conformance suite (module `conformance`): one named scenario per behaviour that
//!   every adapter runs against a fresh instance of itself.

pub mod conformance;
pub mod emulator;
pub mod fidelity;

/// Re-exports for [`register_emulator!`]; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
