//! The bodies of idbridge's fuzz targets, one function per target, shared by the
//! `cargo fuzz` binaries in `fuzz_targets/` and by `tests/corpus.rs`, which runs them in
//! plain `cargo test` over the committed seeds in `seeds/<target>/` and thousands of
//! deterministic mutations of them (see [`mutate`]).
//!
//! Each body feeds the input to code that reads what idbridge does not control (a
//! configuration file, a directory file, a server's answer) and checks, besides "no
//! panic", the contract of that code: errors have the documented kind, and what parses
//! survives a round trip. Server answers go to every adapter the platforms facade links,
//! through the entry its emulator registers (`EmulatorContract::read_answer`), so that a
//! new adapter is fuzzed without a change here.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use idbridge_core::config::ConfigOrigin;
use idbridge_core::{Config, Error, ErrorKind, ErrorReport};
use idbridge_file::{Directory, Format};
use idbridge_testkit::emulator::ReadAnswer;
use serde_json::Value;

pub mod mutate;
pub mod scim;

pub use scim::{scim_filter, scim_patch};

/// A target's body: takes any bytes, panics only on a bug.
pub type Body = fn(&[u8]);

/// Every target: its name (the binary in `fuzz_targets/`, the folder in `seeds/`) and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("config_value", config_value),
    ("config_file", config_file),
    ("file_directory", file_directory),
    ("adapter_responses", adapter_responses),
    ("scim_filter", scim_filter),
    ("scim_patch", scim_patch),
];

/// Renders an error the ways idbridge shows errors (display, debug, report), so that
/// formatting runs on every error the targets produce.
fn show(err: &Error) {
    let text = err.to_string();
    assert!(!text.is_empty());
    let _ = format!("{err:?}");
    let report = ErrorReport::from(err);
    assert_eq!(report.kind, err.kind());
}

fn expect_kind(err: &Error, kind: ErrorKind, what: &str) {
    show(err);
    assert_eq!(err.kind(), kind, "{what}: {err}");
}

/// Checks a loaded configuration's invariants and pushes every system section through
/// the configuration parser of the adapter it names (every adapter the platforms facade
/// links).
fn check_config(cfg: &Config) {
    idbridge_platforms::link_all();
    assert!(cfg.state.is_absolute() || cfg.state.starts_with(&cfg.origin.base_dir));
    for system in cfg.systems() {
        assert!(!system.settings.contains_key("adapter"));
        let adapter_cfg = cfg.adapter_config(system);
        // Every shipped adapter's own parser, found by name; an unknown name is left to
        // `build_adapter`, which refuses it.
        let parsed = match idbridge_core::registry::find(&system.adapter) {
            Ok(descriptor) => (descriptor.check_config)(&adapter_cfg),
            Err(_) => Ok(()),
        };
        if let Err(e) = parsed {
            expect_kind(&e, ErrorKind::Config, "adapter section");
        }
    }
}

/// `Config::from_value` on any JSON document: a configuration, or a `Config` error.
pub fn config_value(data: &[u8]) {
    let Ok(tree) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match Config::from_value(tree, ConfigOrigin::in_memory("/fuzz")) {
        Ok(cfg) => check_config(&cfg),
        Err(e) => expect_kind(&e, ErrorKind::Config, "Config::from_value"),
    }
}

thread_local! {
    static CONFIG_DIR: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// A file in a temporary folder kept for the thread's life (one folder, rewritten for
/// each input, is far cheaper than one per input).
fn scratch_file(name: &str, contents: &[u8]) -> Option<PathBuf> {
    CONFIG_DIR.with(|cell| {
        let mut dir = cell.borrow_mut();
        if dir.is_none() {
            *dir = tempfile::tempdir().ok();
        }
        let path = dir.as_ref()?.path().join(name);
        std::fs::write(&path, contents).ok()?;
        Some(path)
    })
}

/// `Config::load` on any text: the first byte picks the file name's extension (`.toml`,
/// `.yaml`, `.yml`, `.json`), the rest is the file. A configuration, or a `Config` error
/// naming the file. The environment is left out (`load_with_env` with none), so that a
/// run does not depend on the shell it was started from.
pub fn config_file(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let name = ["c.toml", "c.yaml", "c.yml", "c.json"][usize::from(selector) % 4];
    let Some(path) = scratch_file(name, text) else {
        return;
    };
    match Config::load_with_env(&path, std::iter::empty()) {
        Ok(cfg) => check_config(&cfg),
        Err(e) => {
            expect_kind(&e, ErrorKind::Config, "Config::load");
            assert!(e.message().contains(name), "the error names the file: {e}");
        }
    }
}

/// The file adapter's directory parser on any text, YAML or JSON by the first byte: a
/// document that survives serialising in both formats and parsing again unchanged, or a
/// `Config` error.
pub fn file_directory(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let format = if selector % 2 == 0 {
        Format::Yaml
    } else {
        Format::Json
    };
    // Requiring the trailer refuses more than the plain parse, never less.
    let strict = Directory::parse_checked(text, format, "fuzz directory", true);
    if let Err(e) = &strict {
        expect_kind(e, ErrorKind::Config, "Directory::parse_checked");
    }
    let dir = match Directory::parse(text, format, "fuzz directory") {
        Ok(dir) => dir,
        Err(e) => {
            assert!(
                strict.is_err(),
                "the strict parse accepted what the plain one refused"
            );
            return expect_kind(&e, ErrorKind::Config, "Directory::parse");
        }
    };
    if let Ok(strict) = &strict {
        assert_eq!(strict, &dir, "the strict parse read another directory");
    }
    if format == Format::Json {
        // The adapter parses JSON files as it reads them: the same directories, the same
        // refusals, whatever the text.
        let streamed = Directory::parse_json_reader(text.as_bytes(), "fuzz directory", true);
        match (&strict, &streamed) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "the streamed parse read another directory"),
            (Err(_), Err(e)) => expect_kind(e, ErrorKind::Config, "parse_json_reader"),
            (a, b) => panic!("the text and streamed parses disagree: {a:?} / {b:?}"),
        }
    }
    let problems = dir.problems();
    match dir.validate() {
        Ok(()) => assert!(problems.is_empty(), "{problems:?}"),
        Err(e) => show(&e),
    }
    let _ = dir.to_neutral();
    for out in [Format::Yaml, Format::Json] {
        let written = dir.to_text(out).expect("a parsed directory serialises");
        // What idbridge writes ends with the trailer, so it reads back as complete.
        let again =
            Directory::parse_checked(&written, out, "round trip", true).unwrap_or_else(|e| {
                panic!("re-parsing the {out:?} the parser wrote failed: {e}\n{written}")
            });
        assert_eq!(
            again, dir,
            "{out:?} round trip changed the directory\n{written}"
        );
    }
}

/// Splits a response input: two bytes of HTTP status (100..=599), the rest is the body.
fn status_and_body(data: &[u8]) -> Option<(u16, &[u8])> {
    let (head, body) = data.split_at_checked(2)?;
    let raw = u16::from_be_bytes([head[0], head[1]]);
    Some((100 + raw % 500, body))
}

/// The `Retry-After` every fuzzed answer comes with.
const RETRY_AFTER: Duration = Duration::from_secs(7);

/// An error an adapter's error mapping made from `status`: it keeps the status, and a
/// rate limit carries the server's back-off.
fn check_mapped(err: &Error, status: u16) {
    show(err);
    assert_eq!(err.http_status(), Some(status), "{err}");
    if err.kind() == ErrorKind::RateLimited {
        assert_eq!(err.retry_after(), Some(RETRY_AFTER), "{err}");
        assert!(err.is_retryable());
    }
}

/// The adapters whose emulators offer their answer reading to the fuzzer
/// (`EmulatorContract::read_answer`), by name: every adapter the platforms facade links,
/// with no list of vendors here.
pub fn answer_readers() -> Vec<(&'static str, ReadAnswer)> {
    idbridge_platforms::emulators()
        .into_iter()
        .filter_map(|d| d.contract.read_answer.map(|read| (d.vendor, read)))
        .collect()
}

/// The answer readers `adapter_responses` feeds: all of them, or the one named by
/// `IDBRIDGE_FUZZ_ADAPTER` (to fuzz one adapter, or replay its failure).
fn chosen_readers() -> &'static [(&'static str, ReadAnswer)] {
    static CHOSEN: OnceLock<Vec<(&'static str, ReadAnswer)>> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        let only = std::env::var("IDBRIDGE_FUZZ_ADAPTER").ok();
        answer_readers()
            .into_iter()
            .filter(|(name, _)| only.as_deref().is_none_or(|only| only == *name))
            .collect()
    })
}

/// One adapter on any answer: its error mapping, its parsers of every answer it reads and
/// its own invariants (see its emulator's `read_answer`). The first two bytes are the
/// HTTP status, the rest the body. Mapped errors keep the status (and a rate limit the
/// back-off), parsers fail only with `Protocol` errors, and every error renders. Returns
/// how many of the adapter's parsers accepted the body.
pub fn adapter_answer(name: &str, read: ReadAnswer, data: &[u8]) -> usize {
    let Some((status, body)) = status_and_body(data) else {
        return 0;
    };
    let reading = read(status, body, RETRY_AFTER);
    for err in &reading.mapped {
        check_mapped(err, status);
    }
    for (what, outcome) in &reading.parsed {
        if let Err(e) = outcome {
            expect_kind(e, ErrorKind::Protocol, &format!("{name}: {what}"));
        }
    }
    reading.other.iter().for_each(show);
    reading.parsed.iter().filter(|(_, r)| r.is_ok()).count()
}

/// Every registered adapter's answer reading on any answer (see [`adapter_answer`]); a new
/// adapter with an emulator is fuzzed by being linked.
pub fn adapter_responses(data: &[u8]) {
    for (name, read) in chosen_readers() {
        let _ = adapter_answer(name, *read, data);
    }
}
