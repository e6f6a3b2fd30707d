//! What the configuration may not do: lose a secret's exact text on the way from the
//! environment to the server, or send credentials to another machine over plain HTTP.

mod support;

use support::{all_output, idbridge, one_user_config};

#[test]
fn secrets_that_look_like_numbers_reach_the_server_as_written() {
    for secret in ["007", "1e3"] {
        for vendor in support::emulated_vendors() {
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
            let cfg = one_user_config(dir.path(), target);
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

/// `target` with every loopback URL (the emulator's) moved to `example.invalid`, still
/// over plain HTTP; returns it and the first key moved.
fn elsewhere(mut target: serde_json::Value) -> (serde_json::Value, String) {
    let mut moved = Vec::new();
    if let Some(obj) = target.as_object_mut() {
        for (key, value) in obj.iter_mut() {
            let Some(text) = value.as_str() else { continue };
            let Some(rest) = text.strip_prefix("http://127.0.0.1") else {
                continue;
            };
            let path = rest.find('/').map_or("", |i| &rest[i..]);
            *value = serde_json::Value::from(format!("http://example.invalid{path}"));
            moved.push(key.clone());
        }
    }
    moved.sort();
    let first = moved
        .into_iter()
        .next()
        .expect("the emulator's config has a URL");
    (target, first)
}

#[test]
fn plain_http_to_another_machine_is_refused_by_check_and_plan_unless_allowed() {
    for vendor in support::emulated_vendors() {
        // The emulator only provides a working section; it is pointed elsewhere.
        let (_emulator, target) = support::emulator(vendor, &[]);
        let (target, key) = elsewhere(target);
        let url = target[&key].as_str().expect("a URL").to_string();
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = one_user_config(dir.path(), target.clone());
        for command in ["check", "plan"] {
            let out = idbridge(&[command, "-c", &cfg], &[]);
            let text = all_output(&out);
            let what = format!("{vendor} {command}");
            assert!(!out.status.success(), "{what}: refused: {text}");
            assert!(text.contains(&format!("targets.t.{key}")), "{what}: {text}");
            assert!(text.contains(&url), "{what}: {text}");
            assert!(text.contains("allow_plain_http"), "{what}: {text}");
        }

        // Allowed: the run goes on to connect, and fails on the name that does not resolve.
        let mut allowed = target.clone();
        allowed["allow_plain_http"] = serde_json::Value::Bool(true);
        let cfg_allowed = one_user_config(dir.path(), allowed);
        let out = idbridge(&["check", "-c", &cfg_allowed], &[]);
        let text = all_output(&out);
        assert!(!out.status.success(), "{vendor}: {text}");
        assert!(
            !text.contains("plain HTTP to another machine"),
            "{vendor}: {text}"
        );
        assert!(text.contains("example.invalid"), "{vendor}: {text}");

        // The environment can allow it too (as text).
        let cfg = one_user_config(dir.path(), target);
        let out = idbridge(
            &["check", "-c", &cfg],
            &[("IDBRIDGE__TARGETS__T__ALLOW_PLAIN_HTTP", "true")],
        );
        let text = all_output(&out);
        assert!(
            !text.contains("plain HTTP to another machine"),
            "{vendor}: {text}"
        );
    }
}

#[test]
fn plain_http_to_loopback_is_accepted() {
    // Every emulator listens on 127.0.0.1 over plain HTTP.
    for vendor in support::emulated_vendors() {
        let (_emulator, target) = support::emulator(vendor, &[]);
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = one_user_config(dir.path(), target);
        let out = idbridge(&["check", "-c", &cfg], &[]);
        assert!(out.status.success(), "{vendor}: {}", all_output(&out));
    }
}
