//! Writes `linked.rs`: one call to `__link()` per enabled adapter feature.
//!
//! Every optional dependency `idbridge-<name>` is an adapter and its implicit feature is
//! `idbridge-<name>`, which cargo announces as `CARGO_FEATURE_IDBRIDGE_<NAME>`. Generating
//! the list from the features keeps a new adapter to its dependency line in Cargo.toml.

use std::fmt::Write as _;

fn main() {
    let mut crates: Vec<String> = std::env::vars()
        .filter_map(|(key, _)| {
            key.strip_prefix("CARGO_FEATURE_IDBRIDGE_")
                .map(|name| format!("idbridge_{}", name.to_lowercase()))
        })
        .collect();
    crates.sort();
    let mut code = String::from(
        "/// Calls every enabled adapter crate's `__link()`, in crate order.\n\
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
