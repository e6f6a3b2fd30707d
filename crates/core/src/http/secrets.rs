//! Credentials in headers and cookies: each one the client sends or receives is registered
//! with [`crate::register_secret`], so that no error or log line shows it.

use reqwest::header::HeaderValue;

/// Which way a header went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Sent,
    Received,
}

/// Whether a header carries a credential: the standard ones, any the client marked
/// sensitive, and vendor headers named after a token, key, secret, password or session
/// (`X-MSTR-AuthToken`, `X-API-Key`).
fn is_credential_header(name: &reqwest::header::HeaderName, value: &HeaderValue) -> bool {
    use reqwest::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, SET_COOKIE};
    if value.is_sensitive()
        || [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE, SET_COOKIE].contains(name)
    {
        return true;
    }
    let name = name.as_str();
    ["token", "key", "secret", "password", "session"]
        .iter()
        .any(|w| name.contains(w))
}

/// Registers every credential in `headers` ([`crate::register_secret`]): the whole value,
/// the credential after an `Authorization` scheme (`Bearer x`, `Basic x`), and each
/// cookie's value.
pub(super) fn register_credentials(headers: &reqwest::header::HeaderMap, direction: Direction) {
    use reqwest::header::{COOKIE, SET_COOKIE};
    for (name, value) in headers {
        if !is_credential_header(name, value) {
            continue;
        }
        let Ok(text) = value.to_str() else {
            continue;
        };
        if name == SET_COOKIE {
            register_cookie_values(text.split(';').take(1));
        } else if name == COOKIE && direction == Direction::Sent {
            register_cookie_values(text.split(';'));
        } else {
            crate::register_secret(text.trim());
            if let Some((_, credential)) = text.trim().split_once(' ') {
                crate::register_secret(credential.trim());
            }
        }
    }
}

/// Registers the values of `name=value` pairs.
fn register_cookie_values<'a>(pairs: impl Iterator<Item = &'a str>) {
    for pair in pairs {
        if let Some((_, value)) = pair.split_once('=') {
            crate::register_secret(value.trim().trim_matches('"'));
        }
    }
}

/// reqwest's cookie jar, registering every cookie value it receives before it stores it
/// (the cookie store logs what it inserts at debug level, and a session cookie is as
/// good as the password).
#[derive(Debug, Default)]
pub(super) struct RegisteringJar(reqwest::cookie::Jar);

impl reqwest::cookie::CookieStore for RegisteringJar {
    fn set_cookies(
        &self,
        cookie_headers: &mut dyn Iterator<Item = &HeaderValue>,
        url: &reqwest::Url,
    ) {
        let headers: Vec<&HeaderValue> = cookie_headers.collect();
        for header in &headers {
            if let Ok(text) = header.to_str() {
                register_cookie_values(text.split(';').take(1));
            }
        }
        self.0.set_cookies(&mut headers.into_iter(), url);
    }

    fn cookies(&self, url: &reqwest::Url) -> Option<HeaderValue> {
        self.0.cookies(url)
    }
}
