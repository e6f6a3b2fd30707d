//! `idbridge serve` refuses to start, with exit 1 and an error naming the key or file,
//! when it could not serve or fan out as configured.

use serde_json::json;

use crate::harness::TOKEN;
use crate::support::{all_output, file_target, idbridge, write_json_config};

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
