//! The adapter registry: every adapter crate submits one [`AdapterDescriptor`] through
//! [`crate::register_adapter!`], and the CLI and the sync engine build adapters by name.
//!
//! Inventory collects submissions at link time, in no particular order. A crate that
//! nothing references may not be linked at all and its adapter then silently vanishes, so
//! every binary that ships adapters calls each one's `__link()` (the `idbridge-platforms`
//! facade's `link_all()` does it for every shipped adapter) and a test checks that each is
//! registered.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::{AdapterConfig, SystemSection};
use crate::{Adapter, AdapterHandle, Capabilities, Config, Error, Result};

/// The future an adapter constructor returns.
pub type BuildFuture = Pin<Box<dyn Future<Output = Result<Arc<dyn Adapter>>> + Send>>;

/// What an adapter crate registers: its name, a description, its capabilities, an example
/// configuration and its constructor.
pub struct AdapterDescriptor {
    /// The name used in `adapter = "..."`.
    pub name: &'static str,
    /// One line saying which platform it serves.
    pub description: &'static str,
    /// The capabilities the adapter declares before connecting (an instance may narrow
    /// them after probing its server).
    pub capabilities: fn() -> Capabilities,
    /// A TOML example of its section's keys (without the table header).
    pub example_config: &'static str,
    /// The keys holding secrets; each may instead be given as `<key>_file`.
    pub secret_keys: &'static [&'static str],
    /// Connects and returns the adapter.
    pub build: fn(AdapterConfig) -> BuildFuture,
    /// Parses a section's keys without connecting: `Ok` when `build` would accept them.
    /// Adapters that register none accept every section here (and check in `build`).
    pub check_config: fn(&AdapterConfig) -> Result<()>,
}

impl std::fmt::Debug for AdapterDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterDescriptor")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish()
    }
}

/// An inventory entry pointing at an adapter crate's `ADAPTER_DESCRIPTOR` static.
///
/// The static is a real symbol that a binary can reference (through the crate's `__link()`,
/// see [`crate::register_adapter!`]), which makes the linker keep the object that also
/// holds this entry.
#[derive(Debug)]
pub struct Registration(pub &'static AdapterDescriptor);

inventory::collect!(Registration);

/// Every registered adapter, sorted by name.
pub fn all() -> Vec<&'static AdapterDescriptor> {
    let mut v: Vec<_> = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.0)
        .collect();
    v.sort_by_key(|d| d.name);
    v
}

/// The adapter registered as `name`.
///
/// # Errors
/// [`crate::ErrorKind::Config`] naming the unknown adapter and listing the known ones.
pub fn find(name: &str) -> Result<&'static AdapterDescriptor> {
    let all = all();
    all.iter().copied().find(|d| d.name == name).ok_or_else(|| {
        let known: Vec<&str> = all.iter().map(|d| d.name).collect();
        Error::config(format!(
            "unknown adapter `{name}`; known adapters: {}",
            if known.is_empty() {
                "(none registered)".to_string()
            } else {
                known.join(", ")
            }
        ))
    })
}

/// Builds the adapter `adapter` from `config` and wraps it in a checked handle.
///
/// # Errors
/// An unknown adapter name, a secret file that cannot be read, a plain `http://` server
/// URL to another machine (see [`AdapterConfig::check_server_urls`]), or whatever the adapter's
/// constructor returns (configuration errors name the key path).
pub async fn build_adapter(adapter: &str, mut config: AdapterConfig) -> Result<AdapterHandle> {
    let descriptor = find(adapter).map_err(|e| {
        let key = format!("{}.adapter", config.key_path);
        config.origin.error(&key, e.message())
    })?;
    config.resolve_secret_files(descriptor.secret_keys)?;
    config.check_server_urls()?;
    let instance = config.instance.clone();
    // The adapter's HTTP client takes the system's name from here, for request metrics.
    let built = crate::http::in_system(&instance, (descriptor.build)(config))
        .await
        .map_err(|e| e.with_adapter(instance.clone()))?;
    Ok(AdapterHandle::new(instance, built))
}

/// Builds one system of a loaded configuration.
///
/// # Errors
/// As [`build_adapter`].
pub async fn build_system(config: &Config, section: &SystemSection) -> Result<AdapterHandle> {
    build_adapter(&section.adapter, config.adapter_config(section)).await
}

/// Registers an adapter, and its emulator if it has one, writing the name once.
///
/// Expands to `pub const ADAPTER_NAME: &str`, `pub static ADAPTER_DESCRIPTOR:
/// AdapterDescriptor`, the inventory submission of that descriptor, and `__link()`, the
/// function a binary calls so the linker keeps the crate's registrations (the
/// `idbridge-platforms` facade calls it for every shipped adapter).
///
/// The optional `check_config` key names a function that parses a section's keys without
/// connecting (`fn(&AdapterConfig) -> Result<T>`); without it every section passes that
/// check. The optional `emulator: { ... }` block registers the vendor emulator under the same
/// name: its keys (`description`, `start`, `contract`, the emulator's one
/// `idbridge_testkit::emulator::EmulatorContract`) go to `idbridge_testkit::register_emulator!`.
/// It only expands when the invoking crate's `emulator` feature is on, so the crate
/// builds without the testkit otherwise; that feature must depend on `idbridge-testkit`.
///
/// ```ignore
/// idbridge_core::register_adapter! {
///     name: "file",
///     description: "A directory kept in one YAML or JSON file",
///     capabilities: FileAdapter::declared_capabilities,
///     example_config: "path = \"examples/directory.yaml\"",
///     secret_keys: &[],
///     build: FileAdapter::build,
/// }
///
/// idbridge_core::register_adapter! {
///     name: "portal",
///     description: "The in-house portal's user API",
///     capabilities: PortalAdapter::declared_capabilities,
///     example_config: "base_url = \"https://portal.example.com\"",
///     secret_keys: &["api_key"],
///     build: PortalAdapter::build,
///     check_config: PortalConfig::from_adapter_config,
///     emulator: {
///         description: "The portal's user API, in memory",
///         start: crate::emulator::start,
///         contract: &crate::emulator::CONTRACT,
///     },
/// }
/// ```
#[macro_export]
macro_rules! register_adapter {
    (
        name: $name:literal,
        description: $description:expr,
        capabilities: $capabilities:expr,
        example_config: $example:expr,
        secret_keys: $secrets:expr,
        build: $build:expr,
        $(check_config: $check:expr,)?
        emulator: { $($emulator:tt)* } $(,)?
    ) => {
        $crate::register_adapter! {
            @adapter $name, $description, $capabilities, $example, $secrets, $build,
            [$($check)?],
            {
                // Referencing the emulator's descriptor keeps its registration too.
                #[cfg(feature = "emulator")]
                let _ = ::core::hint::black_box(&EMULATOR_DESCRIPTOR);
            }
        }

        #[cfg(feature = "emulator")]
        ::idbridge_testkit::register_emulator! { vendor: $name, $($emulator)* }
    };
    (
        name: $name:literal,
        description: $description:expr,
        capabilities: $capabilities:expr,
        example_config: $example:expr,
        secret_keys: $secrets:expr,
        build: $build:expr
        $(, check_config: $check:expr)? $(,)?
    ) => {
        $crate::register_adapter! {
            @adapter $name, $description, $capabilities, $example, $secrets, $build,
            [$($check)?], {}
        }
    };
    (@check) => {
        |_| ::std::result::Result::Ok(())
    };
    (@check $check:expr) => {
        |config| $check(config).map(drop)
    };
    (
        @adapter $name:literal, $description:expr, $capabilities:expr, $example:expr,
        $secrets:expr, $build:expr, [$($check:expr)?], { $($keep:tt)* }
    ) => {
        /// The name this adapter is registered under.
        pub const ADAPTER_NAME: &str = $name;

        /// This adapter's registry entry.
        pub static ADAPTER_DESCRIPTOR: $crate::registry::AdapterDescriptor =
            $crate::registry::AdapterDescriptor {
                name: $name,
                description: $description,
                capabilities: $capabilities,
                example_config: $example,
                secret_keys: $secrets,
                build: |config| ::std::boxed::Box::pin($build(config)),
                check_config: $crate::register_adapter!(@check $($check)?),
            };

        $crate::__private::inventory::submit! {
            $crate::registry::Registration(&ADAPTER_DESCRIPTOR)
        }

        /// Keeps this crate's registrations in the binary that calls it, and returns the
        /// adapter's descriptor. Not part of the API: the platforms facade calls it.
        #[doc(hidden)]
        #[inline(never)]
        pub fn __link() -> &'static $crate::registry::AdapterDescriptor {
            $($keep)*
            ::core::hint::black_box(&ADAPTER_DESCRIPTOR)
        }
    };
}
