//! The bodies of idbridge's fuzz targets, one function per target, shared by the
//! `cargo fuzz` binaries in `fuzz_targets/` and by `tests/corpus.rs`, which runs them in
//! plain `cargo test` over the committed seeds in `seeds/<target>/` and thousands of
//! deterministic mutations of them (see [`mutate`]).
//!
//! Each body feeds the input to code that reads what idbridge does not control (a
//! configuration file, a directory file, a server's answer) and checks, besides "no
//! panic", the contract of that code: errors have the documented kind, and what parses
//! survives a round trip.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use idbridge_core::config::ConfigOrigin;
use idbridge_core::http::parse_json;
use idbridge_core::{AdapterConfig, Config, Error, ErrorKind, ErrorReport};
use idbridge_file::{Directory, Format};
use serde_json::Value;

pub mod mutate;

/// A target's body: takes any bytes, panics only on a bug.
pub type Body = fn(&[u8]);

/// Every target: its name (the binary in `fuzz_targets/`, the folder in `seeds/`) and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("config_value", config_value),
    ("config_file", config_file),
    ("file_directory", file_directory),
    ("strategy_responses", strategy_responses),
    ("squirro_responses", squirro_responses),
    ("dataiku_responses", dataiku_responses),
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
    if let Ok(strict) = strict {
        assert_eq!(strict, dir, "the strict parse read another directory");
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

/// An error an adapter's error mapping made from `status`: it keeps the status, and a
/// rate limit carries the server's back-off.
fn check_mapped(err: &Error, status: u16) {
    show(err);
    assert_eq!(err.http_status(), Some(status), "{err}");
    if err.kind() == ErrorKind::RateLimited {
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)), "{err}");
        assert!(err.is_retryable());
    }
}

/// Runs a parse whose failure must be a `Protocol` error.
fn parsed<T>(result: idbridge_core::Result<T>, what: &str) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            expect_kind(&e, ErrorKind::Protocol, what);
            None
        }
    }
}

/// The Strategy adapter on any answer: the error mapping (`map_error`, the expired-session
/// test, the vendor error parser) and the parsing of user, group, security-role and list
/// answers into the neutral model.
pub fn strategy_responses(data: &[u8]) {
    use idbridge_strategy::error::{VendorError, is_session_expired, map_error};
    use idbridge_strategy::{fuzzing, wire};
    let Some((status, body)) = status_and_body(data) else {
        return;
    };
    let err = map_error(status, body, Some(Duration::from_secs(7)));
    check_mapped(&err, status);
    let vendor = VendorError::parse(body);
    assert_eq!(err.vendor_code(), vendor.code.as_deref());
    if is_session_expired(status, body) {
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }
    if let Some(user) = parsed(fuzzing::user(body), "strategy user") {
        assert!(!user.login.is_empty() || user.id.is_empty(), "{user:?}");
    }
    parsed(fuzzing::group(body), "strategy group");
    parsed(fuzzing::role_grants(body), "strategy role");
    if let Some(value) = parsed(parse_json::<Value>(body, "list"), "strategy list") {
        let _ = wire::list_of::<wire::ObjectJson>(value.clone());
        let _ = wire::list_of::<wire::ConnectionJson>(value.clone());
        let _ = serde_json::from_value::<wire::UserConnections>(value.clone());
        let _ = serde_json::from_value::<wire::DisconnectResult>(value.clone());
        let _ = serde_json::from_value::<wire::Nodes>(value);
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = wire::parse_timestamp(text);
    }
}

/// A Squirro adapter built without contacting a server, for the conversions that depend
/// on its configured attribute keys.
fn squirro_adapter() -> &'static idbridge_squirro::SquirroAdapter {
    static ADAPTER: OnceLock<idbridge_squirro::SquirroAdapter> = OnceLock::new();
    ADAPTER.get_or_init(|| {
        let cfg = AdapterConfig::new(
            "fuzz",
            serde_json::json!({
                "cluster_url": "http://127.0.0.1:9",
                "tenant": "fuzz",
                "refresh_token": "not-a-real-token",
                "attribute_keys": ["department", "cost_center"],
            }),
        );
        idbridge_squirro::SquirroAdapter::from_config(&cfg)
            .expect("a fixed, valid configuration builds")
    })
}

/// Replaces every string value (not the keys) in `v` by the same placeholder.
fn scrub_strings(v: &mut Value) {
    match v {
        Value::String(s) => *s = "-".to_string(),
        Value::Array(items) => items.iter_mut().for_each(scrub_strings),
        Value::Object(map) => map.values_mut().for_each(scrub_strings),
        _ => {}
    }
}

/// The Squirro adapter on any answer: the error mapping for API calls and for the token
/// exchange, the token-exchange parser (whose errors never quote the body: it holds
/// tokens), and the user, group, member, project, grant and session answers.
pub fn squirro_responses(data: &[u8]) {
    use idbridge_squirro::error::{Call, map_error};
    use idbridge_squirro::{fuzzing, wire};
    let Some((status, body)) = status_and_body(data) else {
        return;
    };
    for call in [Call::Api, Call::TokenExchange] {
        let err = map_error(call, status, Some(Duration::from_secs(7)), body);
        check_mapped(&err, status);
        if call == Call::TokenExchange && matches!(status, 401 | 403 | 404 | 410) {
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
        }
    }
    if let Err(e) = fuzzing::token_response(body) {
        expect_kind(&e, ErrorKind::Protocol, "squirro token exchange");
        // The error depends on the keys and types only: with every string value replaced
        // the text is the same, so no value (a token) can be in it.
        if let Ok(mut doc) = serde_json::from_slice::<Value>(body) {
            scrub_strings(&mut doc);
            let scrubbed = serde_json::to_vec(&doc).expect("a JSON value serialises");
            // (A body whose failure the JSON tree does not keep, such as a duplicate key,
            // may parse once rewritten: there is nothing to compare then.)
            if let Err(again) = fuzzing::token_response(&scrubbed) {
                assert_eq!(e.to_string(), again.to_string(), "the error quotes a value");
            }
        }
    }
    if let Some(users) = parsed(fuzzing::users(squirro_adapter(), body), "squirro users") {
        for u in users {
            assert!(!u.login.is_empty() || u.id.is_empty(), "{u:?}");
        }
    }
    parsed(fuzzing::groups(body), "squirro groups");
    let _ = parse_json::<wire::MembersResponse>(body, "members");
    let _ = parse_json::<wire::ProjectsResponse>(body, "projects");
    let _ = parse_json::<wire::GrantsResponse>(body, "grants");
    let _ = parse_json::<Vec<wire::WireSession>>(body, "sessions");
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = wire::parse_time(text);
    }
}

/// The Dataiku adapter on any answer: the error mapping (`map_error`, and the bulk-item
/// failure mapping on the body as a message) and the settings documents (users, groups,
/// permission entries), activity, bulk and project answers.
pub fn dataiku_responses(data: &[u8]) {
    use idbridge_dataiku::error::{map_bulk_failure, map_error};
    use idbridge_dataiku::wire;
    let Some((status, body)) = status_and_body(data) else {
        return;
    };
    let err = map_error(status, body, Some(Duration::from_secs(7)));
    check_mapped(&err, status);
    if matches!(status, 502..=504) {
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }
    let text = String::from_utf8_lossy(body);
    show(&map_bulk_failure("fuzz-user", &text, ErrorKind::Protocol));
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let docs: Vec<wire::Doc> = match &value {
        Value::Object(doc) => vec![doc.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_object().cloned())
            .collect(),
        _ => Vec::new(),
    };
    for doc in &docs {
        match wire::to_user(doc, "adminProperties", "GET /admin/users/") {
            Ok(u) => assert!(!u.login.is_empty() && u.id == u.login, "{u:?}"),
            Err(e) => expect_kind(&e, ErrorKind::Protocol, "dataiku user"),
        }
        match wire::to_group(doc, "GET /admin/groups/") {
            Ok(g) => assert!(!g.name.is_empty()),
            Err(e) => expect_kind(&e, ErrorKind::Protocol, "dataiku group"),
        }
        let _ = wire::user_doc_is_complete(doc, "userProperties");
        let _ = wire::string_props(doc, "userProperties");
        let _ = wire::true_global_flags(doc, "GET /admin/groups/");
        let _ = wire::group_doc_has_flags(doc);
        let _ = wire::true_entry_flags(doc);
        if let Ok(groups) = wire::user_groups(doc, "GET /admin/users/") {
            let mut copy = doc.clone();
            wire::set_user_groups(&mut copy, &groups);
            assert_eq!(
                wire::user_groups(&copy, "GET /admin/users/").expect("written back"),
                groups
            );
        }
    }
    if let Ok(activity) = serde_json::from_value::<wire::Activity>(value.clone()) {
        let _ = activity.to_neutral("fuzz-user");
    }
    if let Ok(items) = serde_json::from_value::<Vec<wire::BulkItem>>(value.clone()) {
        for item in items {
            let _ = item.succeeded();
        }
    }
    let _ = serde_json::from_value::<Vec<wire::ProjectItem>>(value.clone());
    let _ = serde_json::from_value::<wire::AuthInfo>(value);
}
