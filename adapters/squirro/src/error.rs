//! The one place that turns a Squirro error response into an [`Error`].
//!
//! Squirro answers errors with a JSON object whose `error` key holds a message (a string,
//! sometimes an object); the status code carries the meaning. The token exchange gives
//! 404 for an unknown refresh token and 410 for an expired or revoked one, which are
//! credential problems there and not missing records.

use std::time::Duration;

use idbridge_core::http::body_excerpt;
use idbridge_core::{Error, ErrorKind};
use serde_json::Value;

/// Which kind of call answered, since the token exchange reuses 404 and 410 for
/// credential problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `POST /oauth2/token`.
    TokenExchange,
    /// Any other user-API or topic-API call.
    Api,
}

/// Maps a non-2xx response to an [`Error`] with kind, vendor message, HTTP status and
/// the server's requested back-off.
///
/// | status | token exchange | other calls |
/// |---|---|---|
/// | 400 | Unauthenticated | InvalidInput (AlreadyExists when the message says so) |
/// | 401 | Unauthenticated | Unauthenticated |
/// | 403 | Unauthenticated | PermissionDenied |
/// | 404 | Unauthenticated | NotFound |
/// | 405, 501 | Unsupported | Unsupported |
/// | 409 | Conflict | AlreadyExists when the message says "exists"/"already"/"duplicate", else Conflict |
/// | 410 | Unauthenticated | NotFound |
/// | 413, 422 | InvalidInput | InvalidInput |
/// | 429 | RateLimited | RateLimited |
/// | 5xx | Unavailable | Unavailable |
/// | anything else | Protocol | Protocol |
pub fn map_error(call: Call, status: u16, retry_after: Option<Duration>, body: &[u8]) -> Error {
    let (vendor_message, vendor_code) = vendor_fields(body);
    let says_exists = vendor_message
        .as_deref()
        .map(|m| {
            let m = m.to_ascii_lowercase();
            ["exist", "already", "duplicate", "taken"]
                .iter()
                .any(|w| m.contains(w))
        })
        .unwrap_or(false);
    let token = call == Call::TokenExchange;
    let (kind, default_message) = match status {
        400 if token => (
            ErrorKind::Unauthenticated,
            "the token exchange was rejected as invalid (check refresh_token, client_id and tenant)",
        ),
        400 if says_exists => (ErrorKind::AlreadyExists, "the record already exists"),
        400 => (
            ErrorKind::InvalidInput,
            "the request was rejected as invalid",
        ),
        401 => (
            ErrorKind::Unauthenticated,
            "the access token was refused (authentication missing or expired)",
        ),
        403 if token => (
            ErrorKind::Unauthenticated,
            "the token exchange was refused for these credentials",
        ),
        403 => (
            ErrorKind::PermissionDenied,
            "the connecting user is not allowed to do this",
        ),
        404 if token => (
            ErrorKind::Unauthenticated,
            "the refresh token is not known to the server",
        ),
        404 => (ErrorKind::NotFound, "not found"),
        405 | 501 => (
            ErrorKind::Unsupported,
            "the server does not offer this operation",
        ),
        409 if says_exists && !token => (ErrorKind::AlreadyExists, "the record already exists"),
        409 => (
            ErrorKind::Conflict,
            "the request conflicts with the current state",
        ),
        410 if token => (
            ErrorKind::Unauthenticated,
            "the refresh token has expired or was revoked",
        ),
        410 => (ErrorKind::NotFound, "gone"),
        413 | 422 => (
            ErrorKind::InvalidInput,
            "the request was rejected as invalid",
        ),
        429 => (ErrorKind::RateLimited, "the server asked to slow down"),
        500..=599 => (
            ErrorKind::Unavailable,
            "the server failed or is unavailable",
        ),
        _ => (ErrorKind::Protocol, "unexpected response status"),
    };
    let message = match &vendor_message {
        Some(m) if !m.trim().is_empty() => m.clone(),
        _ if vendor_code.is_none() && !body.is_empty() && vendor_message.is_none() => {
            format!(
                "{default_message}; body starts with: {}",
                body_excerpt(body)
            )
        }
        _ => default_message.to_string(),
    };
    let mut err = Error::new(kind, message).with_http_status(status);
    if vendor_message.is_some() || vendor_code.is_some() {
        err = err.with_vendor(vendor_code, vendor_message);
    }
    if kind == ErrorKind::RateLimited || status == 503 {
        err = err.with_retry_after(retry_after);
    }
    err
}

/// The `error` message (a string, or an object shown as JSON) and any `code`. Open
/// question of the vendor sheet: some servers may say `message` or `msg` instead.
fn vendor_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let text = |v: &Value| match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get("message")
            .or_else(|| o.get("msg"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| Some(v.to_string())),
        other => Some(other.to_string()),
    };
    let message = ["error", "message", "msg"]
        .iter()
        .find_map(|k| map.get(*k).and_then(text));
    let code = match map.get("code") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    (message, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        call: Call,
        status: u16,
        body: &'static str,
        kind: ErrorKind,
        message_has: &'static str,
    }

    const fn api(
        status: u16,
        body: &'static str,
        kind: ErrorKind,
        message_has: &'static str,
    ) -> Case {
        Case {
            call: Call::Api,
            status,
            body,
            kind,
            message_has,
        }
    }

    const fn tok(
        status: u16,
        body: &'static str,
        kind: ErrorKind,
        message_has: &'static str,
    ) -> Case {
        Case {
            call: Call::TokenExchange,
            status,
            body,
            kind,
            message_has,
        }
    }

    #[test]
    fn maps_canned_bodies() {
        use ErrorKind::*;
        let cases = [
            api(
                400,
                r#"{"error": "Invalid role"}"#,
                InvalidInput,
                "Invalid role",
            ),
            api(
                400,
                r#"{"error": "User with this email already exists"}"#,
                AlreadyExists,
                "already exists",
            ),
            api(
                401,
                r#"{"error": "Authentication missing"}"#,
                Unauthenticated,
                "Authentication missing",
            ),
            api(401, "", Unauthenticated, "access token"),
            api(
                403,
                r#"{"error": "Not authorized"}"#,
                PermissionDenied,
                "Not authorized",
            ),
            api(
                404,
                r#"{"error": "User not found"}"#,
                NotFound,
                "User not found",
            ),
            api(404, "", NotFound, "not found"),
            api(405, "", Unsupported, "does not offer"),
            api(
                409,
                r#"{"error": "Group name already taken"}"#,
                AlreadyExists,
                "taken",
            ),
            api(
                409,
                r#"{"error": "Concurrent modification"}"#,
                Conflict,
                "Concurrent",
            ),
            api(410, r#"{"error": "gone"}"#, NotFound, "gone"),
            api(
                422,
                r#"{"error": {"message": "bad email"}}"#,
                InvalidInput,
                "bad email",
            ),
            api(
                400,
                r#"{"error": {"field": "email"}}"#,
                InvalidInput,
                "\"field\"",
            ),
            api(
                400,
                r#"{"msg": "no error key"}"#,
                InvalidInput,
                "no error key",
            ),
            api(429, r#"{"error": "slow down"}"#, RateLimited, "slow down"),
            api(500, r#"{"error": "Internal"}"#, Unavailable, "Internal"),
            api(
                502,
                "<html>Bad Gateway</html>",
                Unavailable,
                "<html>Bad Gateway",
            ),
            api(503, "", Unavailable, "unavailable"),
            api(302, "", Protocol, "unexpected"),
            tok(
                400,
                r#"{"error": "invalid grant_type"}"#,
                Unauthenticated,
                "invalid grant_type",
            ),
            tok(401, "", Unauthenticated, "refused"),
            tok(
                403,
                r#"{"error": "client not allowed"}"#,
                Unauthenticated,
                "client not allowed",
            ),
            tok(
                404,
                r#"{"error": "Invalid refresh token"}"#,
                Unauthenticated,
                "Invalid refresh token",
            ),
            tok(404, "", Unauthenticated, "not known"),
            tok(410, "", Unauthenticated, "expired or was revoked"),
            tok(409, r#"{"error": "already"}"#, Conflict, "already"),
            tok(500, "", Unavailable, "failed"),
        ];
        for c in cases {
            let err = map_error(c.call, c.status, None, c.body.as_bytes());
            assert_eq!(err.kind(), c.kind, "{:?} {} {}", c.call, c.status, c.body);
            assert!(
                err.message().contains(c.message_has),
                "{:?} {} {}: message `{}`",
                c.call,
                c.status,
                c.body,
                err.message()
            );
            assert_eq!(err.http_status(), Some(c.status));
        }
    }

    #[test]
    fn keeps_vendor_message_and_code() {
        let err = map_error(
            Call::Api,
            400,
            None,
            br#"{"error": "Password too short", "code": 12}"#,
        );
        assert_eq!(err.vendor_message(), Some("Password too short"));
        assert_eq!(err.vendor_code(), Some("12"));
    }

    #[test]
    fn rate_limits_carry_retry_after_and_are_retryable() {
        let err = map_error(Call::Api, 429, Some(Duration::from_secs(3)), b"");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert!(err.is_retryable());
        assert!(!map_error(Call::Api, 403, None, b"").is_retryable());
    }
}
