//! The one place where Strategy One error responses become [`idbridge_core::Error`]s.
//!
//! Strategy answers errors with `{"code": "ERRnnn", "message": ..., "ticketId": ...,
//! "iServerCode": ...}`, some newer services with `{"errors": [{...}]}`, and a 5xx may
//! carry no JSON at all. [`map_error`] reads whichever arrived and decides the kind from
//! the vendor code first and the HTTP status second.
//!
//! Two mappings rest on message text because the server gives nothing better:
//! - an Intelligence Server failure (`ERR001`/`ERR002`, usually HTTP 500) whose message says
//!   an object "already exists" is [`ErrorKind::AlreadyExists`], and one whose message says
//!   it was "not found" / "does not exist" is [`ErrorKind::NotFound`]: the official SDK
//!   itself tolerates `ERR001` as "object not found" on id-addressed calls, and a duplicate
//!   login or group name is reported this way by servers that do not use `ERR015`;
//! - `ERR004` with the exact message `HTTP 404 Not Found` (and `ERR001` with
//!   `HTTP 405 Method Not Allowed`) is the web tier saying the *endpoint* does not exist on
//!   this server version, which is [`ErrorKind::Unsupported`], not a missing record.

use std::time::Duration;

use idbridge_core::{Error, ErrorKind};
use serde::Deserialize;

/// The session token expired or is invalid: log in again.
pub const SESSION_EXPIRED: &str = "ERR009";

/// The web tier's text for an endpoint that does not exist on this server version.
const NO_SUCH_ENDPOINT: &str = "HTTP 404 Not Found";
/// The web tier's text for a method the endpoint does not offer on this server version.
const NO_SUCH_METHOD: &str = "HTTP 405 Method Not Allowed";

/// The Intelligence Server code of a server-side request timeout.
const ISERVER_TIMEOUT: i64 = -2_147_206_497;

/// A Strategy error body, flat or wrapped in `errors`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorError {
    /// `ERRnnn`.
    pub code: Option<String>,
    /// The server's message.
    pub message: Option<String>,
    /// The ticket id support staff can look up in the server log.
    pub ticket_id: Option<String>,
    /// The Intelligence Server's own (negative) error code.
    pub iserver_code: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlatBody {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<serde_json::Value>,
    #[serde(default)]
    ticket_id: Option<serde_json::Value>,
    #[serde(default, rename = "iServerCode")]
    iserver_code: Option<serde_json::Value>,
    #[serde(default)]
    errors: Option<Vec<FlatBody>>,
}

fn text(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int(v: Option<serde_json::Value>) -> Option<i64> {
    match v? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl VendorError {
    /// Reads an error body; anything that is not a JSON object yields an empty value.
    pub fn parse(body: &[u8]) -> VendorError {
        let Ok(mut flat) = serde_json::from_slice::<FlatBody>(body) else {
            return VendorError::default();
        };
        if flat.code.is_none() && flat.message.is_none() {
            if let Some(first) = flat.errors.take().and_then(|e| e.into_iter().next()) {
                flat = first;
            }
        }
        VendorError {
            code: text(flat.code),
            message: text(flat.message),
            ticket_id: text(flat.ticket_id),
            iserver_code: int(flat.iserver_code),
        }
    }

    fn message_says(&self, needles: &[&str]) -> bool {
        let Some(m) = &self.message else {
            return false;
        };
        let m = m.to_ascii_lowercase();
        needles.iter().any(|n| m.contains(n))
    }

    fn says_already_exists(&self) -> bool {
        self.message_says(&["already exist", "already in use", "duplicate"])
    }

    fn says_not_found(&self) -> bool {
        self.message_says(&[
            "not found",
            "does not exist",
            "doesn't exist",
            "cannot be found",
            "could not be found",
            "no longer exists",
        ])
    }
}

/// Whether a response is the expired-session signal (HTTP 401 with `ERR009`).
pub fn is_session_expired(status: u16, body: &[u8]) -> bool {
    status == 401 && VendorError::parse(body).code.as_deref() == Some(SESSION_EXPIRED)
}

/// Maps a non-2xx response to an error: kind from the vendor code, then the status.
///
/// The error carries the vendor code, the vendor message (with the ticket id appended, so
/// support staff can find the server log entry), the HTTP status and the server's
/// `Retry-After`. Bodies are never echoed beyond the message field, so request data the
/// server might reflect does not reach logs.
pub fn map_error(status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
    let v = VendorError::parse(body);
    let kind = kind_of(status, &v);
    let what = match kind {
        ErrorKind::NotFound => "the object does not exist",
        ErrorKind::AlreadyExists => "an object with this name already exists",
        ErrorKind::Unauthenticated => "the server rejected the credentials or the session",
        ErrorKind::PermissionDenied => "the connecting account lacks the privilege or permission",
        ErrorKind::RateLimited => "the server asked to slow down",
        ErrorKind::Unavailable => "the server failed or is unavailable",
        ErrorKind::InvalidInput => "the server rejected the request as invalid",
        ErrorKind::Unsupported => "this server version does not offer the endpoint",
        ErrorKind::Conflict => "the request conflicts with the server's state",
        _ => "the server answered with an unexpected error",
    };
    let vendor_message = v.message.clone().map(|m| match &v.ticket_id {
        Some(t) => format!("{m} (ticket {t})"),
        None => m,
    });
    let mut err = Error::new(kind, what)
        .with_vendor(v.code.clone(), vendor_message)
        .with_http_status(status)
        .with_retry_after(retry_after);
    if kind == ErrorKind::Unavailable
        && status == 500
        && v.code.is_some()
        && v.iserver_code != Some(ISERVER_TIMEOUT)
    {
        // A 500 from the Intelligence Server (it carries the server's error code) is a
        // verdict about the request far more often than a passing fault; the HTTP layer
        // has already retried it. A 500 without one comes from the web tier or a proxy in
        // front of it, and may pass.
        err = err.with_retryable(false);
    }
    err
}

fn kind_of(status: u16, v: &VendorError) -> ErrorKind {
    let code = v.code.as_deref().unwrap_or("");
    let message = v.message.as_deref().unwrap_or("");
    if message == NO_SUCH_ENDPOINT && (status == 404 || code == "ERR004") {
        return ErrorKind::Unsupported;
    }
    if message == NO_SUCH_METHOD && (status == 405 || code == "ERR001") {
        return ErrorKind::Unsupported;
    }
    if v.iserver_code == Some(ISERVER_TIMEOUT) {
        return ErrorKind::Unavailable;
    }
    match code {
        "ERR003" | "ERR009" => return ErrorKind::Unauthenticated,
        "ERR004" => return ErrorKind::NotFound,
        "ERR005" | "ERR006" | "ERR007" | "ERR021" => {
            if v.says_already_exists() {
                return ErrorKind::AlreadyExists;
            }
            return ErrorKind::InvalidInput;
        }
        "ERR010" => return ErrorKind::Unsupported,
        "ERR013" | "ERR016" => return ErrorKind::Unavailable,
        "ERR014" | "ERR017" => return ErrorKind::PermissionDenied,
        "ERR015" => return ErrorKind::AlreadyExists,
        "ERR001" | "ERR002" => {
            if v.says_already_exists() {
                return ErrorKind::AlreadyExists;
            }
            if v.says_not_found() {
                return ErrorKind::NotFound;
            }
        }
        _ => {}
    }
    match status {
        400 | 422 => {
            if v.says_already_exists() {
                ErrorKind::AlreadyExists
            } else {
                ErrorKind::InvalidInput
            }
        }
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 | 410 => ErrorKind::NotFound,
        405 | 501 => ErrorKind::Unsupported,
        409 => {
            if v.says_already_exists() || code.is_empty() {
                ErrorKind::AlreadyExists
            } else {
                ErrorKind::Conflict
            }
        }
        413 => ErrorKind::InvalidInput,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, body: &str) -> ErrorKind {
        map_error(status, body.as_bytes(), None).kind()
    }

    #[test]
    fn canned_bodies_map_to_kinds() {
        let table: &[(u16, &str, ErrorKind)] = &[
            // Duplicate login or group name, in each form a server may use.
            (
                409,
                r#"{"code":"ERR015","message":"Object already exists","ticketId":"a1"}"#,
                ErrorKind::AlreadyExists,
            ),
            (
                400,
                r#"{"code":"ERR015","message":"The user 'ada' already exists"}"#,
                ErrorKind::AlreadyExists,
            ),
            (
                500,
                r#"{"code":"ERR001","message":"User with login 'ada' already exists.","iServerCode":-2147072488}"#,
                ErrorKind::AlreadyExists,
            ),
            (
                400,
                r#"{"code":"ERR006","message":"A group named 'Sales' already exists"}"#,
                ErrorKind::AlreadyExists,
            ),
            (409, "", ErrorKind::AlreadyExists),
            // Missing records.
            (
                404,
                r#"{"code":"ERR004","message":"User with ID '0123' could not be found"}"#,
                ErrorKind::NotFound,
            ),
            (
                500,
                r#"{"code":"ERR001","message":"Object with ID '0123' and type 34 is not found in metadata.","iServerCode":-2147216373}"#,
                ErrorKind::NotFound,
            ),
            (404, "", ErrorKind::NotFound),
            // Expired session and failed login.
            (
                401,
                r#"{"code":"ERR009","message":"The user's session has expired, please reauthenticate"}"#,
                ErrorKind::Unauthenticated,
            ),
            (
                401,
                r#"{"code":"ERR003","message":"Login failed"}"#,
                ErrorKind::Unauthenticated,
            ),
            // Forbidden.
            (
                403,
                r#"{"code":"ERR014","message":"You do not have the privilege"}"#,
                ErrorKind::PermissionDenied,
            ),
            (
                403,
                r#"{"code":"ERR017","message":"Insufficient permission","iServerCode":-2147209151}"#,
                ErrorKind::PermissionDenied,
            ),
            (403, "", ErrorKind::PermissionDenied),
            // Invalid input.
            (
                400,
                r#"{"code":"ERR006","message":"Invalid JSON"}"#,
                ErrorKind::InvalidInput,
            ),
            (
                400,
                r#"{"code":"ERR007","message":"Missing required field 'username'"}"#,
                ErrorKind::InvalidInput,
            ),
            // The endpoint does not exist on this version.
            (
                404,
                r#"{"code":"ERR004","message":"HTTP 404 Not Found","ticketId":"x"}"#,
                ErrorKind::Unsupported,
            ),
            (
                405,
                r#"{"code":"ERR001","message":"HTTP 405 Method Not Allowed"}"#,
                ErrorKind::Unsupported,
            ),
            // Server side.
            (
                500,
                r#"{"code":"ERR001","message":"Unexpected I-Server error"}"#,
                ErrorKind::Unavailable,
            ),
            (
                500,
                r#"{"code":"ERR001","message":"Request timed out","iServerCode":-2147206497}"#,
                ErrorKind::Unavailable,
            ),
            (
                503,
                "<html>Service Unavailable</html>",
                ErrorKind::Unavailable,
            ),
            (502, "", ErrorKind::Unavailable),
            (
                500,
                r#"{"code":"ERR013","message":"I-Server unreachable"}"#,
                ErrorKind::Unavailable,
            ),
            (429, "", ErrorKind::RateLimited),
            // The wrapped form.
            (
                404,
                r#"{"errors":[{"code":"ERR004","message":"No such user","ticketId":"t"}]}"#,
                ErrorKind::NotFound,
            ),
            (418, "", ErrorKind::Protocol),
        ];
        for (status, body, expected) in table {
            assert_eq!(
                kind(*status, body),
                *expected,
                "status {status} body {body}"
            );
        }
    }

    #[test]
    fn vendor_code_message_and_ticket_are_kept() {
        let e = map_error(
            404,
            br#"{"code":"ERR004","message":"No such user","ticketId":"abc123","iServerCode":-1}"#,
            None,
        );
        assert_eq!(e.vendor_code(), Some("ERR004"));
        assert_eq!(e.vendor_message(), Some("No such user (ticket abc123)"));
        assert_eq!(e.http_status(), Some(404));
    }

    #[test]
    fn retry_hints() {
        let limited = map_error(429, b"", Some(Duration::from_secs(3)));
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert!(map_error(503, b"", None).is_retryable());
        assert!(!map_error(500, br#"{"code":"ERR001","message":"boom"}"#, None).is_retryable());
        assert!(
            map_error(500, br#"{"code":"ERR001","iServerCode":-2147206497}"#, None).is_retryable()
        );
    }

    #[test]
    fn session_expired_signal() {
        assert!(is_session_expired(
            401,
            br#"{"code":"ERR009","message":"x"}"#
        ));
        assert!(!is_session_expired(
            401,
            br#"{"code":"ERR003","message":"x"}"#
        ));
        assert!(!is_session_expired(500, br#"{"code":"ERR009"}"#));
        assert!(!is_session_expired(401, b"not json"));
    }
}
