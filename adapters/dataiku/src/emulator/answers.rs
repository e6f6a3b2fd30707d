//! The fuzz harness's entry ([`idbridge_testkit::emulator::ReadAnswer`]): any answer a DSS
//! server might send, through the adapter's error mapping (`map_error`, and the bulk-item
//! failure mapping on the body as a message) and its reading of settings documents
//! (users, groups, permission entries), activity, bulk and project answers.

use std::time::Duration;

use idbridge_core::ErrorKind;
use idbridge_testkit::emulator::AnswerReading;
use serde_json::Value;

use crate::error::{map_bulk_failure, map_error};
use crate::wire;

/// Reads `body` (answered with `status`) every way the adapter reads answers.
///
/// # Panics
/// When a gateway error is not `Unavailable`, a parsed user has no login or an id other
/// than its login, a parsed group has no name, or a user's groups written back read
/// differently: bugs of the adapter.
pub(crate) fn read_answer(status: u16, body: &[u8], retry_after: Duration) -> AnswerReading {
    let err = map_error(status, body, Some(retry_after));
    if matches!(status, 502..=504) {
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
    let text = String::from_utf8_lossy(body);
    let mut reading = AnswerReading {
        mapped: vec![err],
        parsed: Vec::new(),
        other: vec![map_bulk_failure("fuzz-user", &text, ErrorKind::Protocol)],
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return reading;
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
        let user = wire::to_user(doc, "adminProperties", "GET /admin/users/").map(|u| {
            assert!(!u.login.is_empty() && u.id == u.login, "{u:?}");
        });
        let group = wire::to_group(doc, "GET /admin/groups/").map(|g| {
            assert!(!g.name.is_empty(), "{g:?}");
        });
        reading.parsed.push(("user settings", user));
        reading.parsed.push(("group settings", group));
        let _ = wire::user_doc_is_complete(doc, "userProperties");
        let _ = wire::string_props(doc, "userProperties");
        let _ = wire::true_global_flags(doc, "GET /admin/groups/");
        let _ = wire::group_doc_has_flags(doc);
        let _ = wire::true_entry_flags(doc);
        if let Ok(groups) = wire::user_groups(doc, "GET /admin/users/") {
            let mut copy = doc.clone();
            wire::set_user_groups(&mut copy, &groups);
            let again = wire::user_groups(&copy, "GET /admin/users/");
            assert!(
                again.as_ref().is_ok_and(|again| *again == groups),
                "groups written back read as {again:?}, not {groups:?}"
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
    reading
}
