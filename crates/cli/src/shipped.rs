//! The adapters and emulators this binary ships.
//!
//! Inventory only sees registrations in crates the linker keeps, and the linker drops a
//! crate nothing references. Each line below references a crate's registry static, which
//! keeps it; the test at the bottom fails if a shipped adapter is missing from the registry.

use idbridge_core::registry::AdapterDescriptor;
use idbridge_testkit::emulator::EmulatorDescriptor;

/// Every adapter this binary ships, sorted by name.
pub fn adapters() -> Vec<&'static AdapterDescriptor> {
    vec![
        &idbridge_dataiku::ADAPTER_DESCRIPTOR,
        &idbridge_file::ADAPTER_DESCRIPTOR,
        &idbridge_squirro::ADAPTER_DESCRIPTOR,
        &idbridge_strategy::ADAPTER_DESCRIPTOR,
    ]
}

/// Every emulator this binary ships, sorted by vendor.
pub fn emulators() -> Vec<&'static EmulatorDescriptor> {
    vec![
        &idbridge_dataiku::emulator::EMULATOR_DESCRIPTOR,
        &idbridge_squirro::emulator::EMULATOR_DESCRIPTOR,
        &idbridge_strategy::emulator::EMULATOR_DESCRIPTOR,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_adapter_is_registered() {
        let registered: Vec<&str> = idbridge_core::registry::all()
            .iter()
            .map(|d| d.name)
            .collect();
        for shipped in adapters() {
            assert!(
                registered.contains(&shipped.name),
                "adapter `{}` is shipped but not in the registry ({registered:?})",
                shipped.name
            );
        }
        assert_eq!(
            registered.len(),
            adapters().len(),
            "registry: {registered:?}"
        );
    }

    #[test]
    fn every_shipped_emulator_is_registered() {
        let registered: Vec<&str> = idbridge_testkit::emulator::emulators()
            .iter()
            .map(|d| d.vendor)
            .collect();
        for shipped in emulators() {
            assert!(
                registered.contains(&shipped.vendor),
                "emulator `{}` is shipped but not registered ({registered:?})",
                shipped.vendor
            );
        }
        assert_eq!(
            registered.len(),
            emulators().len(),
            "registry: {registered:?}"
        );
    }

    #[test]
    fn the_file_adapter_is_shipped() {
        assert!(adapters().iter().any(|d| d.name == "file"));
    }
}
