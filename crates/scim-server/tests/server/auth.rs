//! Authentication, limits, media types and TLS.

use idbridge_core::Secret;
use idbridge_scim_server::{ServeConfig, TlsFiles};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{OTHER_TOKEN, Server, TOKEN, answer, config};

#[tokio::test]
async fn every_request_without_a_valid_token_gets_401_and_learns_nothing() {
    let s = Server::start().await;
    let id = s.user("ada@example.com").await;
    let paths = [
        "/Users".to_string(),
        format!("/Users/{id}"),
        "/Users/no-such-id".to_string(),
        "/ServiceProviderConfig".to_string(),
        "/NoSuchEndpoint".to_string(),
    ];
    let mut bodies = Vec::new();
    for path in &paths {
        for auth in [
            None,
            Some("Bearer wrong-token"),
            Some("Basic c2NpbTpzY2lt"),
            Some("Bearer "),
        ] {
            let mut req = s.http.get(s.url(path));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let a = answer(req).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path} {auth:?}");
            assert!(
                a.header("www-authenticate")
                    .is_some_and(|h| h.starts_with("Bearer"))
            );
            bodies.push(a.body.to_string());
        }
    }
    // The same answer whatever the path, the resource or what was wrong.
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert!(!bodies[0].contains("ada"));
    // A write without a token changes nothing.
    let a = answer(
        s.http
            .delete(s.url(&format!("/Users/{id}")))
            .bearer_auth("wrong-token"),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get(&format!("/Users/{id}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn any_configured_token_is_accepted_so_one_can_be_rotated() {
    let s = Server::start().await;
    for token in [TOKEN, OTHER_TOKEN] {
        let a = answer(s.http.get(s.url("/Users")).bearer_auth(token)).await;
        assert_eq!(a.status, StatusCode::OK, "{token}");
    }
    let a = answer(
        s.http
            .get(s.url("/Users"))
            .header("authorization", format!("bearer {TOKEN}")),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "the scheme is case-insensitive");
}

#[tokio::test]
async fn a_body_above_the_limit_gets_413_and_is_not_stored() {
    let mut c = config();
    c.max_body_bytes = 4096;
    let s = Server::start_with(c).await;
    let big = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "big@example.com",
        "displayName": "x".repeat(8192),
    });
    let a = s.post("/Users", big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", a.body);
    assert_eq!(a.body["status"], "413");
    assert_eq!(s.get("/Users").await.body["totalResults"], 0);
    let sp = s.get("/ServiceProviderConfig").await.body;
    assert_eq!(sp["bulk"]["maxPayloadSize"], 4096);
}

#[tokio::test]
async fn answers_are_scim_json_and_plain_json_requests_are_accepted() {
    let s = Server::start().await;
    let a = answer(
        s.http
            .post(s.url("/Users"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(json!({"userName": "plain@example.com"}).to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert_eq!(a.header("content-type"), Some("application/scim+json"));
    let err = s.get("/Users/missing").await;
    assert_eq!(err.status, StatusCode::NOT_FOUND);
    assert_eq!(err.header("content-type"), Some("application/scim+json"));
    assert_eq!(
        err.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(err.body["status"], "404");
    let bad = s.call(Method::POST, "/Users", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["scimType"], "invalidSyntax");
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback_unless_allowed() {
    let c = config();
    let err = c
        .validate("0.0.0.0:8443".parse().expect("addr"))
        .expect_err("plain HTTP on every interface is refused");
    assert!(err.to_string().contains("tls"), "{err}");
    assert!(c.validate("127.0.0.1:8443".parse().expect("addr")).is_ok());
    let mut allowed = config();
    allowed.allow_plain_http = true;
    assert!(
        allowed
            .validate("0.0.0.0:8443".parse().expect("addr"))
            .is_ok()
    );
    let none = ServeConfig::new(Vec::new());
    assert!(none.validate("127.0.0.1:1".parse().expect("addr")).is_err());
    let empty = ServeConfig::new(vec![Secret::new("")]);
    assert!(
        empty
            .validate("127.0.0.1:1".parse().expect("addr"))
            .is_err()
    );
}

#[tokio::test]
async fn serves_https_from_certificate_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("writes");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("writes");
    let mut c = config();
    c.tls = Some(TlsFiles {
        cert: cert_path,
        key: key_path,
    });
    let s = Server::start_with(c).await;
    let https = s.base.replacen("http://127.0.0.1", "https://localhost", 1);
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("pem");
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .resolve(
            "localhost",
            s.base
                .trim_start_matches("http://")
                .split('/')
                .next()
                .expect("host")
                .parse()
                .expect("addr"),
        )
        .build()
        .expect("client");
    let a = answer(
        client
            .get(format!("{https}/ServiceProviderConfig"))
            .bearer_auth(TOKEN),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let created = answer(
        client
            .post(format!("{https}/Users"))
            .bearer_auth(TOKEN)
            .json(&json!({"userName": "tls@example.com"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert!(
        created.body["meta"]["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("https://localhost:")),
        "{:?}",
        created.body
    );
    // Plain HTTP to the TLS port is not served.
    assert!(
        s.http
            .get(s.url("/Users"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .is_err()
    );
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
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

/// The log of this test binary: every test's server logs here (a global subscriber, for
/// the server's tasks run on threads the test does not own).
fn global_log() -> &'static Sink {
    static SINK: std::sync::OnceLock<Sink> = std::sync::OnceLock::new();
    SINK.get_or_init(|| {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("idbridge=trace,idbridge_scim_server=trace,idbridge_store=trace")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        sink
    })
}

#[tokio::test]
async fn requests_are_logged_without_tokens_or_queries() {
    let sink = global_log();
    let s = Server::start().await;
    s.get("/Users?filter=userName%20eq%20%22private-9d4%40example.com%22")
        .await;
    answer(
        s.http
            .get(s.url("/Users/logged-401-e5"))
            .bearer_auth("a-wrong-token-3c1"),
    )
    .await;
    s.post(
        "/Users",
        json!({"userName": "logged-7a2", "password": "Pw-In-Body-77"}),
    )
    .await;
    let log = String::from_utf8_lossy(
        &sink
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .to_string();
    assert!(log.contains("SCIM request"), "{log}");
    assert!(
        log.contains("path=/scim/v2/Users/logged-401-e5 status=401"),
        "{log}"
    );
    for secret in [TOKEN, "a-wrong-token-3c1", "Pw-In-Body-77", "private-9d4"] {
        assert!(!log.contains(secret), "the log shows `{secret}`: {log}");
    }
}
