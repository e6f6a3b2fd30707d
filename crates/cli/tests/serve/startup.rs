//! `idbridge serve` refuses to start, with exit 1 and an error naming the key or file,
//! when it could not serve or fan out as configured.

use serde_json::json;

use crate::harness::{Serve, TOKEN, eventually, okta_user};
use crate::support::{all_output, closed_port, file_target, idbridge, write_json_config};

fn refused(config: &serde_json::Value, expect: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config.clone();
    config["state"] = json!(dir.path().join("state.db"));
    config["targets"] = json!({"copy": file_target(dir.path(), "copy")});
    let path = write_json_config(&dir.path().join("idbridge.json"), &config);
    let out = idbridge(&["serve", "-c", &path], &[]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(expect), "wanted `{expect}` in: {text}");
    assert!(!text.contains(TOKEN), "the token is never printed: {text}");
}

#[test]
fn a_configuration_serve_cannot_run_is_refused_naming_what() {
    let inbox = json!({"adapter": "scim-inbox"});
    let serve = json!({"listen": "127.0.0.1:0", "tokens": [TOKEN]});
    refused(&json!({"source": inbox}), "[serve] section");
    refused(
        &json!({"source": inbox, "serve": {"listen": "127.0.0.1:0"}}),
        "token",
    );
    refused(
        &json!({"source": {"adapter": "file", "path": "dir.yaml"}, "serve": serve}),
        "the source must be `scim-inbox`",
    );
    refused(
        &json!({"source": inbox, "serve": {"listen": "127.0.0.1:0", "tokens": [TOKEN],
                "tls": {"cert": "missing-cert.pem", "key": "missing-key.pem"}}}),
        "missing-cert.pem",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_are_served_apart_from_scim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = json!({
        "state": dir.path().join("state.db"),
        "source": {"adapter": "scim-inbox"},
        "targets": {"copy": file_target(dir.path(), "copy")},
        "serve": {"listen": "127.0.0.1:0", "tokens": [TOKEN]},
    });
    let path = write_json_config(&dir.path().join("idbridge.json"), &config);
    let metrics = format!("127.0.0.1:{}", closed_port());
    let serve = Serve::start_with(&path, &["--metrics-listen", &metrics]);
    let get = |path: &str| reqwest::get(format!("http://{metrics}{path}"));
    let health = get("/healthz").await.expect("healthz answers");
    assert_eq!(health.status(), 200);
    let page = get("/metrics").await.expect("metrics answer");
    assert_eq!(page.status(), 200);
    let text = page.text().await.expect("text");
    assert!(text.contains("idbridge_run_duration_seconds"), "{text}");
    // No run converged yet: not ready.
    assert_eq!(get("/readyz").await.expect("readyz answers").status(), 503);
    // The SCIM listener answers nothing without a token.
    let scim = reqwest::get(format!("{}/Users", serve.base))
        .await
        .expect("scim answers");
    assert_eq!(scim.status(), 401);
    // A push, its fan-out, and the target's converged run makes it ready.
    serve.post("/Users", okta_user("ada@example.com")).await;
    eventually(&serve, "ready after the fan-out", || async {
        match get("/readyz").await {
            Ok(r) if r.status() == 200 => Ok(()),
            Ok(r) => Err(format!("{}", r.status())),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    let text = get("/metrics")
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("target=\"copy\""),
        "the run is counted: {text}"
    );
}
