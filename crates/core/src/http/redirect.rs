//! Which redirects are followed: only those within the origin of the request, so that no
//! credential reaches another server or travels from `https` to `http`.

use super::naming::display_url;

/// The most redirects followed for one request (all within its origin).
const MAX_REDIRECTS: usize = 10;

/// Follows a redirect only within the origin (scheme, host and port) of the request it
/// answers. Redirects are where credentials leak: a `307` re-sends a login form with its
/// password, custom token headers are re-sent to any host, and reqwest keeps even the
/// `Authorization` header on an `https` -> `http` redirect to the same host. So no
/// redirect to another origin is followed, whatever the status, and the error says where
/// it pointed.
pub(super) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first().cloned() else {
            return attempt.follow();
        };
        let to = attempt.url().clone();
        let status = attempt.status().as_u16();
        if !same_origin(&first, &to) {
            return attempt.error(RedirectRefused {
                from: origin_of(&first),
                to: display_url(to.as_str()),
                status,
                downgrade: first.scheme() == "https" && to.scheme() == "http",
                too_many: false,
            });
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused {
                from: origin_of(&first),
                to: display_url(to.as_str()),
                status,
                downgrade: false,
                too_many: true,
            });
        }
        attempt.follow()
    })
}

/// Whether two URLs share scheme, host and port (the default port of the scheme when
/// none is written).
pub(super) fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `scheme://host:port` of a URL.
pub(super) fn origin_of(url: &reqwest::Url) -> String {
    match url.port_or_known_default() {
        Some(port) => format!(
            "{}://{}:{port}",
            url.scheme(),
            url.host_str().unwrap_or_default()
        ),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
    }
}

/// A redirect the policy did not follow.
#[derive(Debug)]
pub(super) struct RedirectRefused {
    from: String,
    to: String,
    status: u16,
    downgrade: bool,
    too_many: bool,
}

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let RedirectRefused {
            from,
            to,
            status,
            downgrade,
            too_many,
        } = self;
        if *too_many {
            return write!(
                f,
                "the server at {from} redirected the request more than {MAX_REDIRECTS} times (last to {to}, HTTP {status}); not followed"
            );
        }
        let why = if *downgrade {
            "a redirect from https to http would send the credentials in clear"
        } else {
            "credentials are only sent to the configured origin (scheme, host and port)"
        };
        write!(
            f,
            "the server at {from} redirected the request to {to} (HTTP {status}); not followed: {why}. If that is the right server, configure its address instead"
        )
    }
}

impl std::error::Error for RedirectRefused {}

#[cfg(test)]
mod tests {
    use reqwest::Method;

    use super::*;
    use crate::ErrorKind;
    use crate::http::HttpClient;
    use crate::http::naming::display_url;
    use crate::http::test_support::fast;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn a_redirect_to_another_origin_is_not_followed_and_named() {
        let login = MockServer::start().await;
        let other = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(307)
                    .insert_header("Location", format!("{}/steal?x=1", other.uri())),
            )
            .mount(&login)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&other)
            .await;
        let client = HttpClient::new("t", &fast()).expect("client");
        let err = client
            .send(
                client
                    .request(Method::POST, format!("{}/api/auth/login", login.uri()))
                    .form(&[("password", "redirect-canary-pw")]),
            )
            .await
            .expect_err("not followed");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.is_retryable());
        let text = err.to_string();
        assert!(
            text.contains(&format!("redirected the request to {}/steal", other.uri())),
            "{text}"
        );
        assert!(text.contains("not followed"), "{text}");
        assert!(text.contains("POST /api/auth/login"), "{text}");
        assert!(!text.contains("x=1"), "{text}");
        let received = other.received_requests().await.unwrap_or_default();
        assert!(received.is_empty(), "the other origin got {received:?}");
        assert_eq!(client.counts().writes, 1, "sent once, not retried");
    }

    #[tokio::test]
    async fn a_redirect_within_the_origin_is_followed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/old"))
            .respond_with(ResponseTemplate::new(302).insert_header("Location", "/new"))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/new"))
            .respond_with(ResponseTemplate::new(200).set_body_string("here"))
            .mount(&server)
            .await;
        let client = HttpClient::new("t", &fast()).expect("client");
        let resp = client
            .send(client.request(Method::GET, format!("{}/old", server.uri())))
            .await
            .expect("followed");
        assert_eq!(resp.status(), 200);
    }

    #[test]
    fn origins_differ_by_scheme_host_or_port() {
        let u = |s: &str| reqwest::Url::parse(s).expect("url");
        assert!(same_origin(&u("https://h/a"), &u("https://h:443/b?c")));
        assert!(!same_origin(&u("https://h/a"), &u("http://h/a")));
        assert!(!same_origin(&u("https://h:8443/a"), &u("http://h:8443/a")));
        assert!(!same_origin(&u("http://h:8080/a"), &u("http://h:8081/a")));
        assert!(!same_origin(&u("http://h/a"), &u("http://other/a")));
        let downgrade = RedirectRefused {
            from: origin_of(&u("https://h:8443/x")),
            to: display_url("http://h:8443/x"),
            status: 307,
            downgrade: true,
            too_many: false,
        }
        .to_string();
        assert!(
            downgrade.contains("https://h:8443 redirected the request to http://h:8443/x"),
            "{downgrade}"
        );
        assert!(downgrade.contains("in clear"), "{downgrade}");
    }
}
