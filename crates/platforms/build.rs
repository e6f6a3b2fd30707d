//! Writes `linked.rs`: one call to `__link()` per adapter this crate depends on.
//!
//! The adapters are read from this crate's own manifest: every entry of `[dependencies]`
//! named `idbridge-<name>`, except the infrastructure crates in [`NOT_ADAPTERS`], is an
//! adapter crate. Generating the list from the manifest keeps shipping a new adapter to its
//! one dependency line.

use std::fmt::Write as _;

/// The `idbridge-*` dependencies that are not adapters.
const NOT_ADAPTERS: &[&str] = &["idbridge-core", "idbridge-testkit"];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.toml");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let path = std::path::Path::new(&dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let manifest: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    let crates = adapter_crates(&manifest);
    let mut code = String::from(
        "/// Calls every adapter crate's `__link()`, in crate order.\n\
         fn linked() -> Vec<&'static idbridge_core::registry::AdapterDescriptor> {\n    vec![\n",
    );
    for krate in &crates {
        // Writing to a String cannot fail.
        let _ = writeln!(code, "        ::{krate}::__link(),");
    }
    code.push_str("    ]\n}\n");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    std::fs::write(std::path::Path::new(&out).join("linked.rs"), code)
        .expect("OUT_DIR is writable");
}

/// The Rust names of the adapter crates among the manifest's `[dependencies]`, sorted.
fn adapter_crates(manifest: &toml::Table) -> Vec<String> {
    let Some(deps) = manifest.get("dependencies").and_then(toml::Value::as_table) else {
        return Vec::new();
    };
    let mut crates: Vec<String> = deps
        .keys()
        .filter(|name| name.starts_with("idbridge-") && !NOT_ADAPTERS.contains(&name.as_str()))
        .map(|name| name.replace('-', "_"))
        .collect();
    crates.sort();
    crates
}
