//! Credentials stay with their server: for every registered vendor emulator's adapter, a server that answers
//! every request (the login or token exchange first) with `307 Temporary Redirect` to
//! another origin gets its redirect refused. The other origin receives no request at all,
//! so neither the password (Strategy's login form), the refresh token (Squirro's token
//! exchange) nor the API key (Dataiku's `Authorization` header) reaches it, and the error
//! names where the redirect pointed and says it was not followed.
//!
//! The same over TLS: a loopback HTTPS server made here (a self-signed certificate, given
//! to the adapter as its `ca_file`) answers the login with a `307` to a plain `http://`
//! listener; the adapter refuses the downgrade and the listener never sees a connection.

use idbridge_core::{AdapterConfig, registry};
use idbridge_testkit::emulator::{EmulatorOptions, start_emulator};
use serde_json::Value;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PASSWORD: &str = "Redirect-Pa55word-0c4d";
// Every secret credential of each emulator (password, API key, refresh token) is
// set to this one canary.
const CANARIES: [&str; 1] = [PASSWORD];

/// Answers every request with a 307 to the same path and query on `to`.
struct RedirectTo(String);

impl Respond for RedirectTo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut location = format!("{}{}", self.0, request.url.path());
        if let Some(q) = request.url.query() {
            location.push('?');
            location.push_str(q);
        }
        ResponseTemplate::new(307).insert_header("Location", location.as_str())
    }
}

/// Every string in `value` with `from` replaced by `to`.
fn rebase(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|v| rebase(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| rebase(v, from, to)),
        _ => {}
    }
}

async fn redirected_login_is_refused(vendor: &str) {
    idbridge_e2e::link_vendors();
    // The emulator only provides a working configuration for the vendor; the adapter is
    // pointed at the redirecting server instead.
    let emulator = start_emulator(
        vendor,
        EmulatorOptions::default().with_every_secret(idbridge_e2e::contract(vendor), PASSWORD),
    )
    .await
    .expect("emulator");
    let login = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(RedirectTo(other.uri()))
        .mount(&login)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&other)
        .await;

    let mut settings = emulator.config.clone();
    rebase(&mut settings, &emulator.server.url(), &login.uri());
    if let Value::Object(map) = &mut settings {
        map.remove("adapter");
    }
    let config = AdapterConfig::new(format!("redirected-{vendor}"), settings);
    let outcome = match registry::build_adapter(vendor, config).await {
        Ok(handle) => handle.check().await,
        Err(e) => Err(e),
    };
    let err = outcome.expect_err("a login answered with a redirect to another origin fails");

    let received = other.received_requests().await.unwrap_or_default();
    for r in &received {
        let seen = format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body));
        for canary in CANARIES {
            assert!(
                !seen.contains(canary),
                "{vendor}: the other origin received the credential `{canary}`: {} {}",
                r.method,
                r.url
            );
        }
    }
    assert!(
        received.is_empty(),
        "{vendor}: the redirect to another origin was followed: {:?}",
        received
            .iter()
            .map(|r| format!("{} {}", r.method, r.url))
            .collect::<Vec<_>>()
    );

    let text = err.to_string();
    assert!(
        text.contains(&format!("redirected the request to {}/", other.uri())),
        "{vendor}: the error names the redirect target: {text}"
    );
    assert!(text.contains("not followed"), "{vendor}: {text}");
    for canary in CANARIES {
        assert!(!text.contains(canary), "{vendor}: {text}");
    }
    assert!(
        !login
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "{vendor}: the configured server was asked"
    );
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_for_every_vendor() {
    let vendors = idbridge_e2e::emulated_vendors();
    assert!(!vendors.is_empty(), "no emulator registered");
    for vendor in vendors {
        redirected_login_is_refused(vendor).await;
    }
}

/// A loopback HTTPS server answering every request with a `307` to the same path and
/// query on `to`; counts the requests it answered.
struct TlsRedirector {
    url: String,
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsRedirector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one HTTP/1.1 request (head and `Content-Length` body); returns its target.
async fn read_request<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    head.split_whitespace().nth(1).map(str::to_string)
}

async fn tls_redirector(cert: &rcgen::CertifiedKey, to: String) -> TlsRedirector {
    use tokio::io::AsyncWriteExt;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = answered.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let to = to.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                while let Some(target) = read_request(&mut tls).await {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let answer = format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}{target}\r\n\
                         Content-Length: 0\r\n\r\n"
                    );
                    if tls.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    TlsRedirector {
        url,
        answered,
        task,
    }
}

async fn https_login_redirected_to_http_is_refused(vendor: &str) {
    idbridge_e2e::link_vendors();
    let emulator = start_emulator(
        vendor,
        EmulatorOptions::default().with_every_secret(idbridge_e2e::contract(vendor), PASSWORD),
    )
    .await
    .expect("emulator");

    // The plain listener the redirect points at: any connection to it is a failure.
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let plain_url = format!(
        "http://127.0.0.1:{}",
        plain.local_addr().expect("addr").port()
    );
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let plain_task = tokio::spawn(async move {
        while let Ok((_stream, _)) = plain.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });

    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, cert.cert.pem()).expect("write ca_file");
    let tls = tls_redirector(&cert, plain_url.clone()).await;

    let mut settings = emulator.config.clone();
    rebase(&mut settings, &emulator.server.url(), &tls.url);
    if let Value::Object(map) = &mut settings {
        map.remove("adapter");
        map.insert(
            "ca_file".into(),
            Value::String(ca_file.display().to_string()),
        );
    }
    let config = AdapterConfig::new(format!("tls-{vendor}"), settings);
    let outcome = match registry::build_adapter(vendor, config).await {
        Ok(handle) => handle.check().await,
        Err(e) => Err(e),
    };
    let err = outcome.expect_err("a login redirected from https to http fails");
    let text = err.to_string();
    assert!(
        text.contains(&format!("the server at {}", tls.url))
            && text.contains(&format!("redirected the request to {plain_url}/")),
        "{vendor}: the error names the redirect: {text}"
    );
    assert!(
        text.contains("a redirect from https to http would send the credentials in clear"),
        "{vendor}: {text}"
    );
    assert!(text.contains("not followed"), "{vendor}: {text}");
    for canary in CANARIES {
        assert!(!text.contains(canary), "{vendor}: {text}");
    }
    assert!(
        tls.answered.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "{vendor}: the configured HTTPS server was asked (the certificate was trusted)"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "{vendor}: the plain http listener was connected to"
    );
    plain_task.abort();
}

#[tokio::test]
async fn strategy_login_over_https_redirected_to_http_is_refused() {
    https_login_redirected_to_http_is_refused("strategy").await;
}

#[tokio::test]
async fn squirro_token_exchange_over_https_redirected_to_http_is_refused() {
    https_login_redirected_to_http_is_refused("squirro").await;
}

#[tokio::test]
async fn dataiku_request_over_https_redirected_to_http_is_refused() {
    https_login_redirected_to_http_is_refused("dataiku").await;
}
