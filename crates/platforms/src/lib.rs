//! # idbridge-platforms
//!
//! The one place that links every adapter idbridge ships, and their emulators. Inventory
//! only sees registrations in crates the linker keeps, and the linker drops a crate nothing
//! references; [`link_all`] references each adapter crate, so a binary or a test suite
//! that calls it sees all of them in `idbridge_core::registry` (and
//! `idbridge_testkit::emulator`) without naming any vendor.
//!
//! Adding an adapter to the shipped set is one dependency line in this crate's Cargo.toml
//! (`idbridge-<name> = { path = "../../adapters/<name>", features = ["emulator"] }`); the
//! build script reads the manifest and links every `idbridge-*` dependency but the core and
//! the testkit. See docs/architecture.md. A program that embeds one adapter without its
//! emulator depends on that adapter's crate, not on this one.
//!
//! # Example
//!
//! ```
//! let adapters: Vec<&str> = idbridge_platforms::link_all().iter().map(|d| d.name).collect();
//! assert!(adapters.contains(&"file"));
//! // Every emulator belongs to an adapter of the same name.
//! for e in idbridge_platforms::emulators() {
//!     assert!(adapters.contains(&e.vendor));
//! }
//! ```
//!
//! # Next
//!
//! With the adapters linked, `idbridge-sync`'s `Engine::connect` builds any of them from a
//! configuration; `docs/embedding.md` walks through a complete program.

use idbridge_core::registry::AdapterDescriptor;

include!(concat!(env!("OUT_DIR"), "/linked.rs"));

/// Keeps every shipped adapter (and its emulator) linked and returns the adapters'
/// descriptors, sorted by name.
///
/// Call it once before using the registries; calling it again is cheap.
pub fn link_all() -> Vec<&'static AdapterDescriptor> {
    let mut all = linked();
    all.sort_by_key(|d| d.name);
    all
}

/// Every emulator of the shipped adapters, sorted by vendor (links them first).
pub fn emulators() -> Vec<&'static idbridge_testkit::emulator::EmulatorDescriptor> {
    link_all();
    idbridge_testkit::emulator::emulators()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_linked_adapter_is_registered_and_nothing_else() {
        let linked: Vec<&str> = link_all().iter().map(|d| d.name).collect();
        let registered: Vec<&str> = idbridge_core::registry::all()
            .iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(linked, registered);
    }

    /// A descriptor's example section, as `build_adapter` would see it: each
    /// `<secret>_file` key replaced by the secret itself.
    fn example_section(d: &AdapterDescriptor) -> serde_json::Value {
        let table = config::Config::builder()
            .add_source(config::File::from_str(
                d.example_config,
                config::FileFormat::Toml,
            ))
            .build()
            .unwrap_or_else(|e| panic!("{}: example is not TOML: {e}", d.name));
        let mut section: serde_json::Value = table
            .try_deserialize()
            .unwrap_or_else(|e| panic!("{}: example: {e}", d.name));
        let obj = section.as_object_mut().expect("a table");
        for key in d.secret_keys {
            if obj.remove(&format!("{key}_file")).is_some() {
                obj.insert(
                    (*key).to_string(),
                    serde_json::Value::from("example-secret"),
                );
            }
        }
        section
    }

    #[test]
    fn every_adapter_accepts_its_own_example_configuration() {
        for d in link_all() {
            let config = idbridge_core::AdapterConfig::new("example", example_section(d));
            (d.check_config)(&config)
                .unwrap_or_else(|e| panic!("{}: its example is refused: {e}", d.name));
        }
    }

    #[test]
    fn the_file_adapter_is_shipped() {
        assert!(link_all().iter().any(|d| d.name == "file"));
    }

    /// Forgetting an adapter's line in this crate's Cargo.toml fails here.
    #[test]
    fn every_adapter_folder_of_the_repository_is_linked() {
        let adapters = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../adapters");
        let folders = std::fs::read_dir(&adapters)
            .expect("the adapters folder")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().join("Cargo.toml").is_file())
            .count();
        assert_eq!(link_all().len(), folders, "an adapter folder is not linked");
    }

    #[test]
    fn every_emulator_is_an_adapter_of_the_same_name() {
        let adapters: Vec<&str> = link_all().iter().map(|d| d.name).collect();
        let emulators = emulators();
        assert!(!emulators.is_empty());
        for e in emulators {
            assert!(adapters.contains(&e.vendor), "{} has no adapter", e.vendor);
        }
    }
}
