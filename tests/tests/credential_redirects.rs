//! Credentials stay with their server: for every vendor adapter, a server that answers
//! every request (the login or token exchange first) with `307 Temporary Redirect` to
//! another origin gets its redirect refused. The other origin receives no request at all,
//! so neither the password (Strategy's login form), the refresh token (Squirro's token
//! exchange) nor the API key (Dataiku's `Authorization` header) reaches it, and the error
//! names where the redirect pointed and says it was not followed.

use idbridge_core::{AdapterConfig, registry};
use idbridge_testkit::emulator::{EmulatorContract, EmulatorOptions, start_emulator};
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
        EmulatorOptions::default().with_every_secret(contract_of(vendor), PASSWORD),
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
async fn strategy_login_redirected_to_another_origin_is_refused() {
    redirected_login_is_refused("strategy").await;
}

#[tokio::test]
async fn squirro_token_exchange_redirected_to_another_origin_is_refused() {
    redirected_login_is_refused("squirro").await;
}

#[tokio::test]
async fn dataiku_request_redirected_to_another_origin_is_refused() {
    redirected_login_is_refused("dataiku").await;
}

/// What the emulator of `vendor` declares (its secret credentials get the canary).
fn contract_of(vendor: &str) -> &'static EmulatorContract {
    idbridge_testkit::emulator::descriptor(vendor)
        .unwrap_or_else(|| panic!("an emulator for `{vendor}` is registered"))
        .contract
}
