//! Scaffolding for vendor emulators: a real HTTP server on loopback with shared in-memory
//! state, injected latency and faults, a request log, and a registry so that the CLI
//! (`idbridge emulate <vendor>`) and the demo can start any emulator by name.
//!
//! A vendor crate builds an `axum::Router` over its state, starts it with [`serve`], and
//! names its start function and its [`EmulatorContract`] (credentials, request classes,
//! hooks, what the every-vendor suites and the fuzz harness need) in the
//! `emulator: { ... }` block of `idbridge_core::register_adapter!` (which expands
//! [`crate::register_emulator!`]).
//! docs/testing.md describes the contract.

mod answers;
mod contract;
mod error;
mod faults;
mod log;
mod options;
mod routing;
mod seed;
mod server;
mod suite;

use std::future::Future;
use std::pin::Pin;

use idbridge_core::{AdapterConfig, Error, Result};
use serde_json::{Value, json};

pub use contract::{
    AnswerReading, Classify, ClassifyWrite, CredentialSpec, EmulatorContract, ReadAnswer,
    RequestClass, SignIn, SignInAnswer, SignInFuture,
};
pub use error::{ApiError, ApiResult, ErrorBody};
pub use faults::{Fault, FaultSpec};
pub use log::{LoggedRequest, RequestLog};
pub use options::EmulatorOptions;
pub use routing::{Auth, Authenticate, Query, Routes, header};
pub use seed::{Nesting, SeedGrant, SeedMember, SeedStep, SeedTarget, Seeded, seed};
pub use server::{EmulatorServer, serve};
pub use suite::{CannedAnswer, Credential, WriteKind, WriteSubject, tail};

/// A started emulator: the server, and the adapter configuration that connects to it.
#[derive(Debug)]
pub struct RunningEmulator {
    /// The vendor (the adapter name that talks to it).
    pub vendor: &'static str,
    /// The base URL an adapter is configured with (may include a path prefix).
    pub base_url: String,
    /// The target section that connects to it: `adapter` plus the adapter's keys,
    /// credentials included in clear (they are the emulator's own development secrets).
    pub config: Value,
    /// Engine settings a sync target on this emulator needs beyond the adapter's
    /// configuration (for example the mapping of a portable role name to one of the
    /// emulator's built-in roles); an empty object when none.
    pub target_settings: Value,
    /// What the emulator declares (credentials, request classes, hooks).
    pub contract: &'static EmulatorContract,
    /// The running server.
    pub server: EmulatorServer,
}

impl RunningEmulator {
    /// The one-line JSON object `idbridge emulate` prints first:
    /// `{"vendor": ..., "base_url": ..., "config": {...}}`.
    pub fn announcement(&self) -> Value {
        json!({
            "vendor": self.vendor,
            "base_url": self.base_url,
            "config": self.config,
        })
    }

    /// The adapter configuration for an instance named `instance` (the `adapter` key
    /// removed), ready for `idbridge_core::registry::build_adapter`.
    pub fn adapter_config(&self, instance: &str) -> AdapterConfig {
        let mut settings = self.config.clone();
        if let Value::Object(map) = &mut settings {
            map.remove("adapter");
        }
        AdapterConfig::new(instance, settings)
    }

    /// Opens a live session as `login` when the emulator offers it
    /// ([`EmulatorContract::sign_in`]); `None` when it does not.
    pub fn sign_in_as<'a>(&'a self, login: &'a str) -> Option<SignInFuture<'a>> {
        self.contract.sign_in.map(|hook| hook(self, login))
    }
}

/// The future an emulator's start function returns.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<RunningEmulator>> + Send>>;

/// What a vendor crate registers for its emulator.
pub struct EmulatorDescriptor {
    /// The vendor name, equal to its adapter's name.
    pub vendor: &'static str,
    /// One line describing what is emulated.
    pub description: &'static str,
    /// Starts the emulator.
    pub start: fn(EmulatorOptions) -> StartFuture,
    /// What the emulator declares: credentials, request classes, hooks, what the
    /// every-vendor suites and the fuzz harness need.
    pub contract: &'static EmulatorContract,
}

impl std::fmt::Debug for EmulatorDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorDescriptor")
            .field("vendor", &self.vendor)
            .finish()
    }
}

/// An inventory entry pointing at a vendor crate's `EMULATOR_DESCRIPTOR` static (a real
/// symbol a binary references so the linker keeps the registration).
#[derive(Debug)]
pub struct EmulatorRegistration(pub &'static EmulatorDescriptor);

inventory::collect!(EmulatorRegistration);

/// Every registered emulator, sorted by vendor.
pub fn emulators() -> Vec<&'static EmulatorDescriptor> {
    let mut v: Vec<_> = inventory::iter::<EmulatorRegistration>
        .into_iter()
        .map(|r| r.0)
        .collect();
    v.sort_by_key(|d| d.vendor);
    v
}

/// The registered emulator of `vendor`, if any.
pub fn descriptor(vendor: &str) -> Option<&'static EmulatorDescriptor> {
    emulators().into_iter().find(|d| d.vendor == vendor)
}

/// Starts the emulator of `vendor`.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] naming the unknown vendor and listing the known
/// ones, or naming a credential the emulator does not declare; otherwise whatever the
/// emulator's start returns.
pub async fn start_emulator(vendor: &str, options: EmulatorOptions) -> Result<RunningEmulator> {
    let all = emulators();
    let Some(descriptor) = all.iter().find(|d| d.vendor == vendor) else {
        let known: Vec<&str> = all.iter().map(|d| d.vendor).collect();
        return Err(Error::config(format!(
            "no emulator for `{vendor}`; emulators: {}",
            if known.is_empty() {
                "(none registered)".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    options.check_credentials(vendor, descriptor.contract.credentials)?;
    (descriptor.start)(options).await
}

/// Registers a vendor emulator: expands to `pub static EMULATOR_DESCRIPTOR` (reference it
/// from the binary) and its inventory submission.
///
/// Adapter crates do not call it themselves: the `emulator: { ... }` block of
/// `idbridge_core::register_adapter!` forwards to it with the adapter's name as `vendor`,
/// so the name is written once and the crate builds without the testkit when its
/// `emulator` feature is off.
///
/// ```ignore
/// idbridge_testkit::register_emulator! {
///     vendor: "portal",
///     description: "The portal's user API, in memory",
///     start: crate::emulator::start,
///     contract: &crate::emulator::CONTRACT,
/// }
/// ```
#[macro_export]
macro_rules! register_emulator {
    (
        vendor: $vendor:literal,
        description: $description:expr,
        start: $start:expr,
        contract: $contract:expr $(,)?
    ) => {
        /// This crate's emulator registry entry.
        pub static EMULATOR_DESCRIPTOR: $crate::emulator::EmulatorDescriptor =
            $crate::emulator::EmulatorDescriptor {
                vendor: $vendor,
                description: $description,
                start: |options| ::std::boxed::Box::pin($start(options)),
                contract: $contract,
            };

        $crate::__private::inventory::submit! {
            $crate::emulator::EmulatorRegistration(&EMULATOR_DESCRIPTOR)
        }
    };
}
