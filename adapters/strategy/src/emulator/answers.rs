//! The fuzz harness's entry ([`idbridge_testkit::emulator::ReadAnswer`]): any answer a
//! Strategy server might send, through the adapter's error mapping (`map_error`, the
//! expired-session test, the vendor error parser) and its parsing of user, group,
//! security-role and list answers into the neutral model.

use std::time::Duration;

use idbridge_core::http::parse_json;
use idbridge_core::{ErrorKind, Result};
use idbridge_testkit::emulator::AnswerReading;
use serde_json::Value;

use crate::error::{VendorError, is_session_expired, map_error};
use crate::wire;

/// Reads `body` (answered with `status`) every way the adapter reads answers.
///
/// # Panics
/// When the mapped error loses the vendor's code, an expired session is not mapped to
/// `Unauthenticated`, or a parsed user has an id but no login: bugs of the adapter.
pub(crate) fn read_answer(status: u16, body: &[u8], retry_after: Duration) -> AnswerReading {
    let err = map_error(status, body, Some(retry_after));
    let vendor = VendorError::parse(body);
    assert_eq!(err.vendor_code(), vendor.code.as_deref(), "{err}");
    if is_session_expired(status, body) {
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    }
    let user = parse_json(body, "user")
        .and_then(|o| crate::users::to_user(o, "GET /api/users/{id}"))
        .map(|user| {
            assert!(!user.login.is_empty() || user.id.is_empty(), "{user:?}");
        });
    let group = parse_json(body, "user group")
        .and_then(|g| crate::groups::to_group(g, "GET /api/usergroups/{id}"))
        .map(drop);
    let list = parse_json::<Value>(body, "list").map(|value| {
        let _ = wire::list_of::<wire::ObjectJson>(value.clone());
        let _ = wire::list_of::<wire::ConnectionJson>(value.clone());
        let _ = serde_json::from_value::<wire::UserConnections>(value.clone());
        let _ = serde_json::from_value::<wire::DisconnectResult>(value.clone());
        let _ = serde_json::from_value::<wire::Nodes>(value);
    });
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = wire::parse_timestamp(text);
    }
    AnswerReading {
        mapped: vec![err],
        parsed: vec![
            ("user", user),
            ("user group", group),
            ("security role", role_grants(body)),
            ("list", list),
        ],
        other: Vec::new(),
    }
}

/// A security role answer, turned into grants as `list_grants` does.
fn role_grants(body: &[u8]) -> Result<()> {
    let role = parse_json::<wire::RoleJson>(body, "security role")?;
    crate::StrategyAdapter::grants_of(&role, "GET /api/securityRoles/{id}").map(drop)
}
