//! What the configuration may not do: lose a secret's exact text on the way from the
//! environment to the server, or send credentials to another machine over plain HTTP.

mod support;

use support::{
    all_output, idbridge, users_only, write_config, write_json_config, write_yaml_directory,
};

const VENDORS: [&str; 3] = ["dataiku", "squirro", "strategy"];

/// Writes a one-user directory and a configuration with `target` as target `t`.
fn config_with(dir: &std::path::Path, target: serde_json::Value) -> String {
    let directory = dir.join("dir.yaml");
    write_yaml_directory(
        &directory,
        "users:\n  - {id: u-1, login: ada}\n",
        users_only(1),
    );
    let config = serde_json::json!({
        "source": {"adapter": "file", "path": directory},
        "targets": {"t": target},
    });
    write_json_config(&dir.join("idbridge.json"), &config)
}

#[test]
fn secrets_that_look_like_numbers_reach_the_server_as_written() {
    for secret in ["007", "1e3"] {
        for vendor in VENDORS {
            // The emulator accepts only this exact text as every credential.
            let (_emulator, mut target) = support::emulator_with_secret(vendor, secret);
            let obj = target.as_object_mut().expect("config is an object");
            let mut envs = Vec::new();
            for key in ["password", "api_key", "refresh_token"] {
                if obj.remove(key).is_some() {
                    envs.push((
                        format!("IDBRIDGE__TARGETS__T__{}", key.to_uppercase()),
                        secret,
                    ));
                }
            }
            assert!(!envs.is_empty(), "{vendor}: its config carries a secret");
            let dir = tempfile::tempdir().expect("tempdir");
            let cfg = config_with(dir.path(), target);
            let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            let out = idbridge(&["check", "-c", &cfg], &envs);
            assert!(
                out.status.success(),
                "{vendor}: `{secret}` from the environment logs in: {}",
                all_output(&out)
            );
        }
    }
}

fn strategy_target(base_url: &str, extra: &str) -> String {
    format!(
        "[source]\nadapter = \"file\"\npath = \"dir.yaml\"\n[targets.bi]\nadapter = \"strategy\"\n\
         base_url = \"{base_url}\"\nusername = \"administrator\"\npassword = \"pw\"\n{extra}"
    )
}

#[test]
fn plain_http_to_another_machine_is_refused_by_check_and_plan_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_yaml_directory(
        &dir.path().join("dir.yaml"),
        "users:\n  - {id: u-1, login: ada}\n",
        users_only(1),
    );
    let url = "http://example.invalid/MicroStrategyLibrary";
    let cfg = write_config(dir.path(), &strategy_target(url, ""));
    let cfg = cfg.to_str().expect("utf-8");
    for command in ["check", "plan"] {
        let out = idbridge(&[command, "-c", cfg], &[]);
        let text = all_output(&out);
        assert!(!out.status.success(), "{command}: refused: {text}");
        assert!(text.contains("targets.bi.base_url"), "{command}: {text}");
        assert!(text.contains(url), "{command}: {text}");
        assert!(text.contains("allow_plain_http"), "{command}: {text}");
    }

    // Allowed: the run goes on to connect, and fails on the name that does not resolve.
    let cfg = write_config(
        dir.path(),
        &strategy_target(url, "allow_plain_http = true\n"),
    );
    let cfg = cfg.to_str().expect("utf-8");
    let out = idbridge(&["check", "-c", cfg], &[]);
    let text = all_output(&out);
    assert!(!out.status.success(), "{text}");
    assert!(!text.contains("plain HTTP to another machine"), "{text}");
    assert!(text.contains("example.invalid"), "{text}");

    // The environment can allow it too (as text).
    let cfg = write_config(dir.path(), &strategy_target(url, ""));
    let cfg = cfg.to_str().expect("utf-8");
    let out = idbridge(
        &["check", "-c", cfg],
        &[("IDBRIDGE__TARGETS__BI__ALLOW_PLAIN_HTTP", "true")],
    );
    let text = all_output(&out);
    assert!(!text.contains("plain HTTP to another machine"), "{text}");
}

#[test]
fn plain_http_to_loopback_is_accepted() {
    // Every emulator listens on 127.0.0.1 over plain HTTP.
    let (_emulator, target) = support::emulator("strategy", &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config_with(dir.path(), target);
    let out = idbridge(&["check", "-c", &cfg], &[]);
    assert!(out.status.success(), "{}", all_output(&out));
}
