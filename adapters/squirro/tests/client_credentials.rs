//! The grant listing sends `client_id` and `client_secret` in its query string, as the
//! vendor's API and its official client do. That query never reaches idbridge's errors or
//! logs: request logs and errors name the path only, a refused redirect names its target
//! without the query, and the secret is redacted wherever a server repeats it.

use std::sync::{Arc, Mutex};

use idbridge_core::{AdapterConfig, Sessions};
use idbridge_squirro::SquirroAdapter;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "app-id-7c1e42";
const CLIENT_SECRET: &str = "cs-secret-5d9a13f0";
const GRANTS: &str = "/api/user/v0/acme/users/B/grants";

/// Log lines, as the subscriber wrote them.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Every level of idbridge's own crates; the transport crates capped at info, as the
/// command-line tool caps them.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    use tracing::Level;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let captured = Captured::default();
    let writer = captured.clone();
    let ceiling = Targets::new()
        .with_default(Level::TRACE)
        .with_target("h2", Level::INFO)
        .with_target("hyper", Level::INFO)
        .with_target("hyper_util", Level::INFO)
        .with_target("reqwest", Level::INFO);
    let guard = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .with_filter(ceiling),
        )
        .set_default();
    (captured, guard)
}

async fn connected(server: &MockServer) -> SquirroAdapter {
    Mock::given(method("POST"))
        .and(path("/api/user/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-3f0c9b27",
            "refresh_token": "rt-8d1e6a55",
            "user_id": "ADMIN00000000000000001",
            "tenant": "acme",
        })))
        .mount(server)
        .await;
    SquirroAdapter::connect(&AdapterConfig::new(
        "sq",
        json!({
            "cluster_url": server.uri(),
            "tenant": "acme",
            "refresh_token": "rt-8d1e6a55",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }),
    ))
    .await
    .expect("connects")
}

fn assert_no_query(what: &str, text: &str) {
    for leak in [CLIENT_SECRET, "client_secret=", "client_id=", CLIENT_ID] {
        assert!(!text.contains(leak), "{what} shows `{leak}`: {text}");
    }
}

/// A server's own text is quoted in errors, but never with the secret.
fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(CLIENT_SECRET),
        "{what} shows the secret: {text}"
    );
    assert!(text.contains("<redacted>"), "{what}: {text}");
}

#[tokio::test]
async fn the_grant_listing_query_never_reaches_errors_or_logs() {
    let (logs, _guard) = capture_logs();
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    let sq = connected(&server).await;
    // (answer, whether the server repeats the query in its own text)
    let answers = [
        (
            ResponseTemplate::new(500).set_body_json(json!({
                "error": format!(
                    "GET {GRANTS}?client_id={CLIENT_ID}&client_secret={CLIENT_SECRET} failed"
                ),
            })),
            true,
        ),
        (
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": format!("bad client_secret {CLIENT_SECRET}")})),
            true,
        ),
        (
            ResponseTemplate::new(403).set_body_json(json!({"error": "no"})),
            false,
        ),
        // A redirect to another origin, carrying the query along.
        (
            ResponseTemplate::new(307).insert_header(
                "Location",
                format!(
                    "{}{GRANTS}?client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}",
                    other.uri()
                )
                .as_str(),
            ),
            false,
        ),
    ];
    for (answer, echoed) in answers {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path(GRANTS))
            .and(query_param("client_id", CLIENT_ID))
            .and(query_param("client_secret", CLIENT_SECRET))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = sq.revoke_user_sessions("B").await.expect_err("fails");
        if echoed {
            assert_no_secret("the error", &err.to_string());
            assert_no_secret("the error's Debug", &format!("{err:?}"));
        } else {
            assert_no_query("the error", &err.to_string());
            assert_no_query("the error's Debug", &format!("{err:?}"));
        }
        let asked = server.received_requests().await.unwrap_or_default();
        assert!(
            asked
                .iter()
                .any(|r| r.url.query().is_some_and(|q| q.contains("client_secret="))),
            "the credentials were sent in the query, as the API requires"
        );
    }
    assert!(
        other
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "the redirect was not followed"
    );
    // The log shows what idbridge says of each request (its path), never the query.
    let logged = logs.text();
    assert!(
        logged.contains(GRANTS),
        "the requests were logged: {logged}"
    );
    assert!(
        !logged.contains(CLIENT_SECRET),
        "the log shows the secret: {logged}"
    );
    assert!(
        !logged.contains("?client_id="),
        "the log shows the query: {logged}"
    );
}
