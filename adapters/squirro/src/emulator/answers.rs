//! The fuzz harness's entry ([`idbridge_testkit::emulator::ReadAnswer`]): any answer a
//! Squirro server might send, through the adapter's error mapping for API calls and for
//! the token exchange, the token-exchange parser (whose errors never quote the body: it
//! holds tokens), and the user, group, member, project, grant and session answers.

use std::sync::OnceLock;
use std::time::Duration;

use idbridge_core::http::parse_json;
use idbridge_core::{AdapterConfig, ErrorKind, Result};
use idbridge_testkit::emulator::AnswerReading;
use serde_json::Value;

use crate::SquirroAdapter;
use crate::error::{Call, map_error};
use crate::wire::{self, GroupsResponse, UsersResponse};

/// Reads `body` (answered with `status`) every way the adapter reads answers.
///
/// # Panics
/// When a refused token exchange is not `Unauthenticated`, a token-exchange error quotes a
/// value of the body, or a parsed user has an id but no login: bugs of the adapter.
pub(crate) fn read_answer(status: u16, body: &[u8], retry_after: Duration) -> AnswerReading {
    let mapped: Vec<_> = [Call::Api, Call::TokenExchange]
        .into_iter()
        .map(|call| {
            let err = map_error(call, status, Some(retry_after), body);
            if call == Call::TokenExchange && matches!(status, 401 | 403 | 404 | 410) {
                assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
            }
            err
        })
        .collect();
    let token = crate::client::parse_token_response(body).map(drop);
    if let Err(e) = &token {
        // The error depends on the keys and types only: with every string value replaced
        // the text is the same, so no value (a token) can be in it.
        if let Ok(mut doc) = serde_json::from_slice::<Value>(body) {
            scrub_strings(&mut doc);
            // (A body whose failure the JSON tree does not keep, such as a duplicate key,
            // may parse once rewritten: there is nothing to compare then.)
            let again = serde_json::to_vec(&doc)
                .ok()
                .and_then(|scrubbed| crate::client::parse_token_response(&scrubbed).err());
            if let Some(again) = again {
                assert_eq!(e.to_string(), again.to_string(), "the error quotes a value");
            }
        }
    }
    let users = users(body).map(|users| {
        for u in users {
            assert!(!u.login.is_empty() || u.id.is_empty(), "{u:?}");
        }
    });
    let groups = parse_json::<GroupsResponse>(body, "group list").and_then(|resp| {
        resp.into_groups()
            .iter()
            .try_for_each(|g| crate::groups::to_group(g, "GET /groups").map(drop))
    });
    let _ = parse_json::<wire::MembersResponse>(body, "members");
    let _ = parse_json::<wire::ProjectsResponse>(body, "projects");
    let _ = parse_json::<wire::GrantsResponse>(body, "grants");
    let _ = parse_json::<Vec<wire::WireSession>>(body, "sessions");
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = wire::parse_time(text);
    }
    AnswerReading {
        mapped,
        parsed: vec![
            ("token exchange", token),
            ("user list", users),
            ("group list", groups),
        ],
        other: Vec::new(),
    }
}

/// A user listing, converted as `list_users` does for configured attribute keys.
fn users(body: &[u8]) -> Result<Vec<idbridge_core::User>> {
    let resp = parse_json::<UsersResponse>(body, "user list")?;
    resp.into_users()
        .into_iter()
        .map(|w| adapter().to_user(w, "GET /users"))
        .collect()
}

/// An adapter built without contacting a server, for the conversions that depend on its
/// configured attribute keys.
fn adapter() -> &'static SquirroAdapter {
    static ADAPTER: OnceLock<SquirroAdapter> = OnceLock::new();
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
        SquirroAdapter::from_config(&cfg).expect("a fixed, valid configuration builds")
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
