//! The one place that turns a DSS error response into an [`Error`].
//!
//! DSS answers errors with `{errorType, message, detailedMessage}` where `errorType` is a
//! Java exception class name. Statuses are not all documented, so the exception type is
//! read first and the status second; the message text only decides duplicates, for which
//! DSS has no documented exception type.

use std::time::Duration;

use idbridge_core::http::body_excerpt;
use idbridge_core::{Error, ErrorKind};
use serde::Deserialize;

/// The longest vendor message kept in an error (DSS detailed messages carry stack traces).
const MAX_MESSAGE: usize = 400;

/// The JSON error body DSS sends with any status >= 400.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    detailed_message: Option<String>,
}

fn clip(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() > MAX_MESSAGE {
        let mut s: String = trimmed.chars().take(MAX_MESSAGE).collect();
        s.push('…');
        s
    } else {
        trimmed.to_string()
    }
}

/// The kind an exception type names, if it names one.
fn kind_of_type(error_type: &str, message: &str) -> Option<ErrorKind> {
    let t = error_type.to_ascii_lowercase();
    let m = message.to_ascii_lowercase();
    if t.contains("notfound") || t.contains("nosuch") {
        Some(ErrorKind::NotFound)
    } else if t.contains("notauthenticated") || t.contains("unauthenticated") {
        Some(ErrorKind::Unauthenticated)
    } else if t.contains("unauthorized") || t.contains("forbidden") || t.contains("accessdenied") {
        Some(ErrorKind::PermissionDenied)
    } else if t.contains("alreadyexists")
        || t.contains("duplicate")
        || m.contains("already exists")
        || m.contains("already exist")
    {
        Some(ErrorKind::AlreadyExists)
    } else if t.contains("conflict") || t.contains("concurrentmodification") {
        Some(ErrorKind::Conflict)
    } else if t.contains("illegalargument")
        || t.contains("invalid")
        || t.contains("badrequest")
        || t.contains("jsonparse")
        || t.contains("jsonsyntax")
        || t.contains("validation")
    {
        Some(ErrorKind::InvalidInput)
    } else {
        None
    }
}

fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        400 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 | 410 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Protocol,
    }
}

/// Maps a non-2xx response (status, body, `Retry-After`) to an [`Error`] carrying the
/// exception type as vendor code and the message as vendor message.
///
/// Order: a 429 is always [`ErrorKind::RateLimited`] and a 502/503/504 always
/// [`ErrorKind::Unavailable`] (proxies answer those); otherwise the exception type decides
/// (`NotFoundException` → not found, `NotAuthenticatedException` → unauthenticated,
/// `UnauthorizedException` → permission denied, "already exists" → already exists,
/// illegal-argument types → invalid input); otherwise the status.
pub fn map_error(status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let error_type = parsed
        .as_ref()
        .and_then(|b| b.error_type.clone())
        .filter(|t| !t.trim().is_empty());
    let message = parsed
        .as_ref()
        .and_then(|b| b.message.clone().or_else(|| b.detailed_message.clone()))
        .filter(|m| !m.trim().is_empty())
        .map(|m| clip(&idbridge_core::redact(&m)));
    let kind = match status {
        429 => ErrorKind::RateLimited,
        502..=504 => ErrorKind::Unavailable,
        _ => error_type
            .as_deref()
            .and_then(|t| kind_of_type(t, message.as_deref().unwrap_or("")))
            .unwrap_or_else(|| kind_of_status(status)),
    };
    let text = match (&message, &error_type) {
        (Some(m), _) => format!("DSS answered HTTP {status}: {m}"),
        (None, Some(t)) => format!("DSS answered HTTP {status} ({t})"),
        (None, None) => format!("DSS answered HTTP {status}: {}", body_excerpt(body)),
    };
    let code = error_type.map(|t| short_type(&t).to_string());
    Error::new(kind, text)
        .with_vendor(code, message)
        .with_http_status(status)
        .with_retry_after(retry_after)
}

/// The class name without its package (`com.dataiku.dip.exceptions.X` → `X`).
fn short_type(error_type: &str) -> &str {
    error_type
        .rsplit('.')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(error_type)
}

/// Maps the `error` text of a failed item of a bulk response. The bulk endpoints give only
/// a message, so known phrasings decide; anything else is `fallback`.
pub fn map_bulk_failure(login: &str, message: &str, fallback: ErrorKind) -> Error {
    let m = message.to_ascii_lowercase();
    let kind = if m.contains("already exists") || m.contains("already exist") {
        ErrorKind::AlreadyExists
    } else if m.contains("not found")
        || m.contains("does not exist")
        || m.contains("doesn't exist")
        || m.contains("notfoundexception")
        || m.contains("unknown user")
    {
        ErrorKind::NotFound
    } else if m.contains("illegal") || m.contains("invalid") {
        ErrorKind::InvalidInput
    } else if m.contains("unauthorized")
        || m.contains("not allowed")
        || m.contains("cannot delete yourself")
    {
        ErrorKind::PermissionDenied
    } else {
        fallback
    };
    let msg = if message.trim().is_empty() {
        "the bulk request reported a failure without a message".to_string()
    } else {
        clip(message)
    };
    Error::new(
        kind,
        format!("DSS refused `{login}` in a bulk request: {msg}"),
    )
    .with_vendor(None::<String>, Some(msg))
    .with_resource(login)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(t: &str, m: &str) -> Vec<u8> {
        serde_json::json!({"errorType": t, "message": m, "detailedMessage": format!("{t}: {m}")})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn table_of_canned_responses() {
        let cases: Vec<(u16, Vec<u8>, ErrorKind, Option<&str>)> = vec![
            (
                404,
                body(
                    "com.dataiku.dip.server.controllers.NotFoundException",
                    "User ada not found",
                ),
                ErrorKind::NotFound,
                Some("NotFoundException"),
            ),
            (
                500,
                body(
                    "com.dataiku.dip.exceptions.NotFoundException",
                    "Group g does not exist",
                ),
                ErrorKind::NotFound,
                Some("NotFoundException"),
            ),
            (
                401,
                body(
                    "com.dataiku.dip.exceptions.NotAuthenticatedException",
                    "Unknown API Key",
                ),
                ErrorKind::Unauthenticated,
                Some("NotAuthenticatedException"),
            ),
            (
                401,
                body(
                    "com.dataiku.dip.exceptions.UnauthorizedException",
                    "Action forbidden, you are not admin",
                ),
                ErrorKind::PermissionDenied,
                Some("UnauthorizedException"),
            ),
            (
                403,
                body(
                    "com.dataiku.dip.exceptions.UnauthorizedException",
                    "Failed to read project permissions",
                ),
                ErrorKind::PermissionDenied,
                Some("UnauthorizedException"),
            ),
            (
                400,
                body(
                    "com.dataiku.dip.exceptions.DSSIllegalArgumentException",
                    "User ada already exists",
                ),
                ErrorKind::AlreadyExists,
                Some("DSSIllegalArgumentException"),
            ),
            (
                500,
                body(
                    "java.lang.IllegalArgumentException",
                    "Invalid userProfile: FOO",
                ),
                ErrorKind::InvalidInput,
                Some("IllegalArgumentException"),
            ),
            (
                500,
                body("java.lang.NullPointerException", "boom"),
                ErrorKind::Unavailable,
                Some("NullPointerException"),
            ),
            (
                404,
                b"<html>Not Found</html>".to_vec(),
                ErrorKind::NotFound,
                None,
            ),
            (
                503,
                body("com.dataiku.dip.exceptions.NotFoundException", "x"),
                ErrorKind::Unavailable,
                Some("NotFoundException"),
            ),
            (429, Vec::new(), ErrorKind::RateLimited, None),
            (409, Vec::new(), ErrorKind::Conflict, None),
            (418, b"{}".to_vec(), ErrorKind::Protocol, None),
            (
                400,
                b"{\"message\": \"bad\"}".to_vec(),
                ErrorKind::InvalidInput,
                None,
            ),
        ];
        for (status, body, kind, code) in cases {
            let e = map_error(status, &body, None);
            assert_eq!(
                e.kind(),
                kind,
                "{status} {}",
                String::from_utf8_lossy(&body)
            );
            assert_eq!(e.vendor_code(), code, "{status}");
            assert_eq!(e.http_status(), Some(status));
        }
    }

    #[test]
    fn keeps_message_and_retry_after() {
        let e = map_error(
            429,
            &body("x.TooMany", "slow down"),
            Some(Duration::from_secs(3)),
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(e.vendor_message(), Some("slow down"));
        assert!(e.to_string().contains("slow down"), "{e}");
    }

    #[test]
    fn long_detailed_messages_are_clipped() {
        let long = "x".repeat(5000);
        let e = map_error(500, &body("java.lang.RuntimeException", &long), None);
        assert!(e.to_string().len() < 1200, "{}", e.to_string().len());
    }

    #[test]
    fn bulk_failures_by_phrase() {
        for (msg, kind) in [
            ("User ada already exists", ErrorKind::AlreadyExists),
            ("User ada does not exist", ErrorKind::NotFound),
            (
                "com.dataiku.dip.server.controllers.NotFoundException: nope",
                ErrorKind::NotFound,
            ),
            ("Invalid profile", ErrorKind::InvalidInput),
            ("something odd", ErrorKind::Conflict),
        ] {
            assert_eq!(
                map_bulk_failure("ada", msg, ErrorKind::Conflict).kind(),
                kind,
                "{msg}"
            );
        }
    }
}
