//! The adapters and emulators this binary ships: whatever the `idbridge-platforms` facade
//! links (one cargo feature per adapter there).
//!
//! Inventory only sees registrations in crates the linker keeps; the facade references
//! each shipped crate, and the tests at the bottom fail if a linked adapter or emulator is
//! missing from its registry.

use idbridge_core::registry::AdapterDescriptor;
use idbridge_testkit::emulator::EmulatorDescriptor;

/// Every adapter this binary ships, sorted by name.
pub fn adapters() -> Vec<&'static AdapterDescriptor> {
    idbridge_platforms::link_all()
}

/// Every emulator this binary ships, sorted by vendor.
pub fn emulators() -> Vec<&'static EmulatorDescriptor> {
    idbridge_platforms::emulators()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_adapter_is_registered() {
        let shipped: Vec<&str> = adapters().iter().map(|d| d.name).collect();
        let registered: Vec<&str> = idbridge_core::registry::all()
            .iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(shipped, registered);
    }

    #[test]
    fn every_shipped_emulator_has_its_adapter() {
        let adapters: Vec<&str> = adapters().iter().map(|d| d.name).collect();
        let emulators = emulators();
        assert!(!emulators.is_empty(), "the binary ships emulators");
        for e in emulators {
            assert!(
                adapters.contains(&e.vendor),
                "emulator `{}` has no adapter ({adapters:?})",
                e.vendor
            );
        }
    }

    #[test]
    fn the_file_adapter_is_shipped() {
        assert!(adapters().iter().any(|d| d.name == "file"));
    }
}
