//! Runs every fuzz target's body, in plain `cargo test`, over its committed seeds
//! (`seeds/<target>/`) and a fixed number of deterministic mutations of them, so CI
//! exercises the targets without cargo-fuzz. `IDBRIDGE_FUZZ_MUTATIONS=N` changes the
//! number of mutations per target (default 3000); `IDBRIDGE_FUZZ_SEED=S` the seed.

use std::path::{Path, PathBuf};

use idbridge_fuzz::TARGETS;
use idbridge_fuzz::mutate::{Rng, mutate};

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed folder {}: {e}", dir.display()))
        .map(|entry| entry.expect("seed entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).expect("seed file");
            (p, data)
        })
        .collect()
}

fn env_number(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(target: &str) {
    let body = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, body)| *body)
        .expect("known target");
    run_body(target, None, &body);
}

/// Runs `body` over the seeds of `target` and their mutations; `adapter`, when given,
/// names the one adapter the body feeds (its mutations are its own, and a failure says how
/// to replay it).
fn run_body(
    target: &str,
    adapter: Option<&str>,
    body: &(dyn Fn(&[u8]) + std::panic::RefUnwindSafe),
) {
    let label = match adapter {
        Some(name) => format!("{target} ({name})"),
        None => target.to_string(),
    };
    let corpus = seeds(target);
    assert!(corpus.len() >= 3, "{target}: at least three seeds");
    for (path, data) in &corpus {
        body(data);
        let _ = path;
    }
    let mutations = env_number("IDBRIDGE_FUZZ_MUTATIONS", 3000);
    // Each adapter's mutations differ from the others' (a hash of its name).
    let salt = adapter.map_or(0, |name| {
        name.bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
    });
    let mut rng =
        Rng::new(env_number("IDBRIDGE_FUZZ_SEED", 0x1db7_1d9e) ^ target.len() as u64 ^ (salt << 8));
    for i in 0..mutations {
        let (_, base) = &corpus[rng.below(corpus.len())];
        let (_, other) = &corpus[rng.below(corpus.len())];
        let input = mutate(base, other, &mut rng);
        let outcome = std::panic::catch_unwind(|| body(&input));
        if outcome.is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("artifacts")
                .join(target);
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(match adapter {
                Some(name) => format!("{name}-mutation-{i}"),
                None => format!("mutation-{i}"),
            });
            let _ = std::fs::write(&file, &input);
            let only = adapter
                .map(|name| format!("IDBRIDGE_FUZZ_ADAPTER={name} "))
                .unwrap_or_default();
            panic!(
                "{label}: mutation {i} failed; input saved to {} (replay: {only}cargo fuzz run {target} {})",
                file.display(),
                file.display()
            );
        }
    }
}

#[test]
fn config_value() {
    run("config_value");
}

#[test]
fn config_file() {
    run("config_file");
}

#[test]
fn file_directory() {
    run("file_directory");
}

#[test]
fn scim_filter() {
    run("scim_filter");
}

#[test]
fn scim_patch() {
    run("scim_patch");
}

/// Every linked adapter's answer reading, each over the shared seeds and mutations of its
/// own: a new adapter is fuzzed here by being linked.
#[test]
fn adapter_responses() {
    let readers = idbridge_fuzz::answer_readers();
    assert!(
        !readers.is_empty(),
        "no adapter offers its answers to the fuzzer"
    );
    for (name, read) in readers {
        // Some seed must get past the adapter's parsers, or the mutations only ever test
        // its refusals.
        let accepted: usize = seeds("adapter_responses")
            .iter()
            .map(|(_, data)| idbridge_fuzz::adapter_answer(name, read, data))
            .sum();
        assert!(accepted > 0, "{name}: no seed gets past any of its parsers");
        run_body("adapter_responses", Some(name), &|data: &[u8]| {
            let _ = idbridge_fuzz::adapter_answer(name, read, data);
        });
    }
}

/// A shipped adapter with an emulator whose contract leaves out `read_answer` would go
/// unfuzzed without anyone noticing.
#[test]
fn every_emulated_adapter_offers_its_answers_to_the_fuzzer() {
    for d in idbridge_platforms::emulators() {
        assert!(
            d.contract.read_answer.is_some(),
            "{}: its emulator's contract has no read_answer",
            d.vendor
        );
    }
}

#[test]
fn every_target_has_a_test_and_a_binary() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let this = std::fs::read_to_string(here.join("tests/corpus.rs")).expect("this file");
    for (name, _) in TARGETS {
        assert!(this.contains(&format!("fn {name}()")), "no test for {name}");
        assert!(
            here.join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "no fuzz_targets/{name}.rs"
        );
    }
}
