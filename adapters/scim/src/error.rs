//! The one mapping of a SCIM error answer (RFC 7644 §3.12: HTTP status, `scimType`,
//! `detail`) to an [`idbridge_core::Error`].

use std::time::Duration;

use idbridge_core::http::body_excerpt;
use idbridge_core::{Error, ErrorKind};

use crate::wire::ErrorResponse;

/// The most characters of a server's `detail` kept in an error.
const MAX_DETAIL: usize = 300;

/// Maps a non-2xx answer: the kind from the status and `scimType`, the `scimType` as the
/// vendor code and `detail` as the vendor message. A body that is not a SCIM error is
/// quoted (cleaned of secrets, cut short) instead.
pub fn map_error(status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
    let parsed = serde_json::from_slice::<ErrorResponse>(body).ok();
    let scim_type = parsed.as_ref().and_then(|e| e.scim_type.clone());
    let detail = parsed
        .as_ref()
        .and_then(|e| e.detail.clone())
        .map(|d| d.chars().take(MAX_DETAIL).collect::<String>());
    let kind = kind_of(status, scim_type.as_deref());
    let said = match (&scim_type, &detail) {
        (Some(t), Some(d)) => format!("{t}: {d}"),
        (None, Some(d)) => d.clone(),
        (Some(t), None) => t.clone(),
        (None, None) if body.is_empty() => "no body".to_string(),
        (None, None) => body_excerpt(body),
    };
    Error::new(
        kind,
        format!("SCIM service provider answered {status}: {said}"),
    )
    .with_vendor(scim_type, detail)
    .with_http_status(status)
    .with_retry_after(retry_after)
}

/// The kind of an answer's status and `scimType` (RFC 7644 §3.12, table 9).
pub fn kind_of(status: u16, scim_type: Option<&str>) -> ErrorKind {
    match (status, scim_type) {
        // Some servers report a taken userName or displayName as a 400.
        (400 | 409, Some("uniqueness")) => ErrorKind::AlreadyExists,
        (400, _) => ErrorKind::InvalidInput,
        (401, _) => ErrorKind::Unauthenticated,
        (403, _) => ErrorKind::PermissionDenied,
        (404, _) => ErrorKind::NotFound,
        (409, _) => ErrorKind::AlreadyExists,
        (412, _) => ErrorKind::Conflict,
        (413, _) => ErrorKind::InvalidInput,
        (429, _) => ErrorKind::RateLimited,
        (501, _) => ErrorKind::Unsupported,
        (500 | 502 | 503 | 504, _) => ErrorKind::Unavailable,
        _ => ErrorKind::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_scim_types_map_to_kinds() {
        let table: &[(u16, &str, ErrorKind)] = &[
            (
                409,
                r#"{"status":"409","scimType":"uniqueness","detail":"taken"}"#,
                ErrorKind::AlreadyExists,
            ),
            (
                400,
                r#"{"status":"400","scimType":"uniqueness"}"#,
                ErrorKind::AlreadyExists,
            ),
            (
                400,
                r#"{"status":400,"scimType":"invalidFilter","detail":"bad"}"#,
                ErrorKind::InvalidInput,
            ),
            (
                400,
                r#"{"status":"400","scimType":"mutability"}"#,
                ErrorKind::InvalidInput,
            ),
            (401, "", ErrorKind::Unauthenticated),
            (403, r#"{"detail":"no"}"#, ErrorKind::PermissionDenied),
            (
                404,
                r#"{"status":"404","detail":"User 'x' not found"}"#,
                ErrorKind::NotFound,
            ),
            (
                412,
                r#"{"status":"412","detail":"changed"}"#,
                ErrorKind::Conflict,
            ),
            (413, "", ErrorKind::InvalidInput),
            (429, "", ErrorKind::RateLimited),
            (500, "<html>oops</html>", ErrorKind::Unavailable),
            (
                501,
                r#"{"status":"501","detail":"no bulk"}"#,
                ErrorKind::Unsupported,
            ),
            (503, "", ErrorKind::Unavailable),
            (418, "teapot", ErrorKind::Protocol),
        ];
        for (status, body, kind) in table {
            let e = map_error(*status, body.as_bytes(), None);
            assert_eq!(e.kind(), *kind, "{status} {body}");
            assert_eq!(e.http_status(), Some(*status));
        }
        let e = map_error(409, br#"{"scimType":"uniqueness","detail":"taken"}"#, None);
        assert_eq!(e.vendor_code(), Some("uniqueness"));
        assert_eq!(e.vendor_message(), Some("taken"));
        assert!(e.message().contains("409") && e.message().contains("taken"));
    }

    #[test]
    fn retry_after_is_kept_and_long_details_are_cut() {
        let e = map_error(429, b"", Some(Duration::from_secs(7)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let long = format!(r#"{{"detail":"{}"}}"#, "x".repeat(5000));
        let e = map_error(400, long.as_bytes(), None);
        assert!(e.message().len() < 1000);
    }
}
