//! How errors name a request: the vendor, the method and the path, never the query or the
//! credentials a URL may carry.

use reqwest::Method;

use crate::{Error, ErrorKind};

/// Names the vendor and the request (`GET /api/users`, the path only) in an unreadable
/// answer's error ([`ErrorKind::Protocol`]), whose text otherwise only names a JSON path;
/// other errors are returned as they are.
pub fn name_request(err: Error, vendor: &str, method: &Method, url_or_path: &str) -> Error {
    if err.kind() != ErrorKind::Protocol {
        return err;
    }
    let path = match reqwest::Url::parse(url_or_path) {
        Ok(u) => u.path().to_string(),
        Err(_) => url_or_path
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let mut named = Error::new(
        ErrorKind::Protocol,
        format!("{vendor} answered {method} {path}: {}", err.message()),
    )
    .with_retryable(err.is_retryable());
    if let Some(status) = err.http_status() {
        named = named.with_http_status(status);
    }
    named
}

/// A URL as errors may show it: without user information (`user:password@`), query or
/// fragment, which can carry credentials or tokens. Text that is not a URL is returned
/// as it is.
pub fn display_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_json;

    #[test]
    fn unreadable_answers_name_the_vendor_and_the_request() {
        let err = parse_json::<Vec<u32>>(b"{}", "user list").expect_err("not a list");
        let named = name_request(
            err,
            "DSS",
            &Method::GET,
            "https://h/dip/publicapi/admin/users/?x=canary",
        );
        assert!(
            named.message().starts_with(
                "DSS answered GET /dip/publicapi/admin/users/: unexpected user list response"
            ),
            "{}",
            named.message()
        );
        assert!(!named.message().contains("canary"));
        let other = name_request(Error::not_found("x"), "DSS", &Method::GET, "/a");
        assert_eq!(other.message(), "x");
    }

    #[test]
    fn urls_in_errors_carry_no_credentials() {
        assert_eq!(
            display_url("https://u:canary-pw@h.example.com:8443/a/b?token=canary#x"),
            "https://h.example.com:8443/a/b"
        );
        assert_eq!(display_url("not a url"), "not a url");
    }
}
