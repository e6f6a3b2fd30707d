//! Loading, overriding and checking configurations.

use super::*;
use crate::ErrorKind;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

#[test]
fn loads_toml_with_env_override() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "c.toml",
        r#"
state = "s.db"
[source]
adapter = "file"
path = "dir.yaml"
[targets.bi]
adapter = "portal"
password = "from-file"
"#,
    );
    let cfg = Config::load_with_env(
        &p,
        [(
            "IDBRIDGE__TARGETS__BI__PASSWORD".to_string(),
            "from-env".to_string(),
        )],
    )
    .expect("loads");
    assert_eq!(cfg.state, dir.path().join("s.db"));
    assert_eq!(cfg.source.adapter, "file");
    let bi = &cfg.targets["bi"];
    assert_eq!(bi.key_path, "targets.bi");
    assert_eq!(bi.settings["password"], Value::String("from-env".into()));
}

#[test]
fn unknown_top_level_key_names_file_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "c.yaml", "stat: x\nsource:\n  adapter: file\n");
    let err = Config::load_with_env(&p, []).expect_err("misspelt");
    assert_eq!(err.kind(), ErrorKind::Config);
    let text = err.to_string();
    assert!(text.contains("c.yaml"), "{text}");
    assert!(text.contains("stat"), "{text}");
}

#[test]
fn adapter_parse_names_full_key_path() {
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct C {
        base_url: String,
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "c.toml",
        "[source]\nadapter = \"file\"\n[targets.bi]\nadapter = \"x\"\nbase_url = \"u\"\nbase_ulr = \"v\"\n",
    );
    let cfg = Config::load_with_env(&p, []).expect("loads");
    let err = cfg
        .adapter_config(&cfg.targets["bi"])
        .parse::<C>()
        .expect_err("misspelt");
    let text = err.to_string();
    assert!(text.contains("targets.bi"), "{text}");
    assert!(text.contains("base_ulr"), "{text}");
    assert!(text.contains("c.toml"), "{text}");
}

#[test]
fn missing_adapter_key_is_named() {
    let err = Config::from_value(
        serde_json::json!({"source": {"path": "x"}}),
        ConfigOrigin::in_memory("."),
    )
    .expect_err("no adapter");
    assert!(err.to_string().contains("`source`"), "{err}");
    assert!(err.to_string().contains("adapter"), "{err}");
}

#[test]
fn secret_file_is_read_and_both_forms_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "pw", "s3cret\n");
    let mut cfg = AdapterConfig::new("bi", serde_json::json!({"password_file": "pw"}));
    cfg.origin = ConfigOrigin::in_memory(dir.path());
    cfg.resolve_secret_files(&["password"]).expect("reads");
    assert_eq!(cfg.settings["password"], Value::String("s3cret".into()));

    let mut both = AdapterConfig::new(
        "bi",
        serde_json::json!({"password": "a", "password_file": "pw"}),
    );
    both.origin = ConfigOrigin::in_memory(dir.path());
    let err = both
        .resolve_secret_files(&["password"])
        .expect_err("both given");
    assert!(err.to_string().contains("password_file"), "{err}");
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Typed {
    password: crate::Secret,
    username: String,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default)]
    verify_tls: Option<bool>,
}

fn typed(cfg: &Config) -> Result<Typed> {
    cfg.adapter_config(&cfg.targets["bi"]).parse::<Typed>()
}

#[test]
fn environment_overrides_are_kept_verbatim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "c.toml",
        "[source]\nadapter = \"file\"\n[targets.bi]\nadapter = \"x\"\npassword = \"p\"\nusername = \"u\"\n",
    );
    for (password, username) in [
        ("007", "1e3"),
        ("1e3", "0x10"),
        ("true", "-0"),
        (" 42 ", "7.50"),
    ] {
        let env = [
            (
                "IDBRIDGE__TARGETS__BI__PASSWORD".to_string(),
                password.to_string(),
            ),
            (
                "IDBRIDGE__TARGETS__BI__USERNAME".to_string(),
                username.to_string(),
            ),
            (
                "IDBRIDGE__TARGETS__BI__CONCURRENCY".to_string(),
                "3".to_string(),
            ),
            (
                "IDBRIDGE__TARGETS__BI__VERIFY_TLS".to_string(),
                "false".to_string(),
            ),
        ];
        let cfg = Config::load_with_env(&p, env).expect("loads");
        let t = typed(&cfg).expect("parses");
        assert_eq!(t.password.expose(), password);
        assert_eq!(t.username, username);
        assert_eq!(t.concurrency, Some(3));
        assert_eq!(t.verify_tls, Some(false));
    }
    let env = [(
        "IDBRIDGE__TARGETS__BI__CONCURRENCY".to_string(),
        "three".to_string(),
    )];
    let cfg = Config::load_with_env(&p, env).expect("loads");
    let err = typed(&cfg).expect_err("not a number");
    assert!(err.to_string().contains("targets.bi.concurrency"), "{err}");
}

#[test]
fn a_secret_written_as_a_number_in_a_file_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "c.yaml",
        "source:\n  adapter: file\ntargets:\n  bi:\n    adapter: x\n    username: u\n    password: 0074321\n",
    );
    let cfg = Config::load_with_env(&p, []).expect("loads");
    let err = typed(&cfg).expect_err("a number");
    let text = err.to_string();
    assert!(text.contains("targets.bi.password"), "{text}");
    assert!(text.contains("quote"), "{text}");
    assert!(!text.contains("74321"), "{text}");
}

#[test]
fn secret_files_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = "x".repeat(usize::try_from(MAX_SECRET_FILE_BYTES).expect("small") + 1);
    write(dir.path(), "big", &big);
    write(dir.path(), "edge", &big[1..]);
    std::fs::write(dir.path().join("binary"), [0xff, 0xfe, 0x00]).expect("write");
    let attempt = |file: &str| {
        let mut cfg = AdapterConfig::new("targets.bi", serde_json::json!({"api_key_file": file}));
        cfg.origin = ConfigOrigin::in_memory(dir.path());
        cfg.resolve_secret_files(&["api_key"]).map(|()| cfg)
    };
    for (file, problem) in [
        ("/dev/zero", "larger than 64 KiB"),
        ("big", "larger than 64 KiB"),
        ("binary", "not UTF-8"),
    ] {
        let err = attempt(file).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Config);
        let text = err.to_string();
        assert!(text.contains("targets.bi.api_key_file"), "{text}");
        assert!(text.contains(file), "{text}");
        assert!(text.contains(problem), "{text}");
        assert!(!text.contains("xxxx"), "{text}");
    }
    let cfg = attempt("edge").expect("64 KiB exactly is read");
    assert_eq!(
        cfg.settings["api_key"].as_str().map(str::len),
        Some(big.len() - 1)
    );
}

fn urls(settings: Value) -> Result<AdapterConfig> {
    let mut cfg = AdapterConfig::new("bi", settings);
    cfg.key_path = "targets.bi".into();
    cfg.check_server_urls().map(|()| cfg)
}

#[test]
fn plain_http_to_another_machine_is_refused_unless_allowed() {
    for url in [
        "http://example.invalid/portal",
        "http://10.0.0.7:8080",
        "HTTP://bi.example.com",
        "http://user:pw@[2001:db8::1]/x?token=t",
        "http://localhost.example.com",
    ] {
        let err = urls(serde_json::json!({"base_url": url})).expect_err(url);
        assert_eq!(err.kind(), ErrorKind::Config);
        let text = err.to_string();
        assert!(text.contains("targets.bi.base_url"), "{text}");
        assert!(text.contains("plain HTTP"), "{text}");
        assert!(text.contains("allow_plain_http"), "{text}");
        assert!(!text.contains("pw@") && !text.contains("token=t"), "{text}");
        for allow in [serde_json::json!(true), serde_json::json!("true")] {
            let cfg = urls(serde_json::json!({"base_url": url, "allow_plain_http": allow}))
                .expect("allowed");
            assert!(!cfg.settings.contains_key("allow_plain_http"));
        }
    }
    let err = urls(
        serde_json::json!({"cluster_url": "http://cluster.example.com",
                                          "base_url": "https://x"}),
    )
    .expect_err("every *_url key is checked");
    assert!(err.to_string().contains("targets.bi.cluster_url"), "{err}");
    let err = urls(serde_json::json!({"base_url": "http://h", "allow_plain_http": "yes"}))
        .expect_err("not a boolean");
    assert!(
        err.to_string().contains("targets.bi.allow_plain_http"),
        "{err}"
    );
}

#[test]
fn loopback_https_and_non_urls_are_accepted() {
    for url in [
        "http://127.0.0.1:8081/portal",
        "http://127.1.2.3",
        "http://localhost:11200",
        "http://LOCALHOST./x",
        "http://[::1]:9000",
        "http://[::ffff:127.0.0.1]/",
        "https://bi.example.com",
        "not a url",
    ] {
        urls(serde_json::json!({"base_url": url})).expect(url);
    }
    // Keys that are not URLs are not looked at.
    urls(serde_json::json!({"path": "http://example.com", "homepage": "http://x"}))
        .expect("not URL keys");
}

#[test]
fn a_postgres_state_keeps_its_url_with_the_tenant_and_the_password_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "db-pw", "pg-Secret-from-file-42\n");
    let p = write(
        dir.path(),
        "c.toml",
        r#"
state = "postgres://idbridge@db:5432/idb?connect_timeout=5"
tenant = "acme-1"
state_password_file = "db-pw"
state_ca_file = "db-ca.pem"
[source]
adapter = "file"
path = "dir.yaml"
"#,
    );
    let cfg = Config::load_with_env(&p, std::iter::empty()).expect("loads");
    let locator = PathBuf::from("postgres://idbridge@db:5432/idb?connect_timeout=5&tenant=acme-1");
    assert_eq!(cfg.state, locator);
    assert_eq!(cfg.tenant, "acme-1");
    assert_eq!(
        state_password(&locator)
            .map(|s| s.expose().to_string())
            .as_deref(),
        Some("pg-Secret-from-file-42")
    );
    assert!(!format!("{cfg:?}").contains("pg-Secret-from-file-42"));
    // The CA bundle is relative to the file, and kept for the store as the password is.
    assert_eq!(cfg.state_ca_file, Some(dir.path().join("db-ca.pem")));
    assert_eq!(state_ca_file(&locator), Some(dir.path().join("db-ca.pem")));

    // The tenant comes from the environment like any key; a file path ignores it.
    let env = [("IDBRIDGE__TENANT".to_string(), "beta".to_string())];
    assert_eq!(
        Config::load_with_env(&p, env).expect("loads").tenant,
        "beta"
    );
    let plain = write(dir.path(), "d.toml", "[source]\nadapter = \"file\"\n");
    let cfg = Config::load_with_env(&plain, std::iter::empty()).expect("loads");
    assert_eq!(cfg.tenant, DEFAULT_TENANT);
    assert_eq!(cfg.state, dir.path().join("idbridge.db"));
}

#[test]
fn state_keys_that_cannot_work_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "state = \"postgres://u:hunter2-pw@db/idb\"\n",
            "state",
            "state_password",
        ),
        ("tenant = \"a b\"\n", "tenant", "ASCII"),
        ("tenant = \"\"\n", "tenant", "1 to 64"),
        (
            "state_password = \"x-secret-1\"\n",
            "state_password",
            "PostgreSQL",
        ),
        (
            "state_ca_file = \"ca.pem\"\n",
            "state_ca_file",
            "PostgreSQL",
        ),
        (
            "state = \"postgres://u@db/idb?tenant=zeta\"\ntenant = \"acme\"\n",
            "state",
            "zeta",
        ),
        (
            "state = \"postgres://u@db/idb\"\nstate_password = \"x-secret-2\"\nstate_password_file = \"f\"\n",
            "state_password_file",
            "not both",
        ),
    ];
    for (i, (top, key, words)) in cases.iter().enumerate() {
        let p = write(
            dir.path(),
            &format!("c{i}.toml"),
            &format!("{top}[source]\nadapter = \"file\"\n"),
        );
        let err = Config::load_with_env(&p, std::iter::empty()).expect_err(top);
        assert_eq!(err.kind(), ErrorKind::Config, "{top}");
        let text = err.to_string();
        assert!(text.contains(key) && text.contains(words), "{top}: {text}");
        assert!(!text.contains("hunter2-pw"), "{text}");
    }
}

#[test]
fn the_alert_webhook_is_a_secret_read_inline_or_from_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tail = "[source]\nadapter = \"file\"\n";
    let inline = write(
        dir.path(),
        "a.toml",
        &format!("alert_webhook = \"https://hooks.example/t/tok-a1\"\n{tail}"),
    );
    let cfg = Config::load_with_env(&inline, std::iter::empty()).expect("loads");
    let hook = cfg.alert_webhook.as_ref().expect("a webhook");
    assert_eq!(hook.expose(), "https://hooks.example/t/tok-a1");
    assert!(!format!("{cfg:?}").contains("tok-a1"));
    write(dir.path(), "hook", "https://hooks.example/t/tok-b2\n");
    let filed = write(
        dir.path(),
        "b.toml",
        &format!("alert_webhook_file = \"hook\"\n{tail}"),
    );
    let cfg = Config::load_with_env(&filed, std::iter::empty()).expect("loads");
    let hook = cfg.alert_webhook.as_ref().expect("a webhook");
    assert_eq!(hook.expose(), "https://hooks.example/t/tok-b2");
    for (i, (top, words)) in [
        ("alert_webhook = \"ftp://h/tok-c3\"\n", "http or https"),
        ("alert_webhook = \"tok-c3\"\n", "not a URL"),
        (
            "alert_webhook = \"https://h/tok-c3\"\nalert_webhook_file = \"hook\"\n",
            "not both",
        ),
    ]
    .iter()
    .enumerate()
    {
        let p = write(dir.path(), &format!("c{i}.toml"), &format!("{top}{tail}"));
        let err = Config::load_with_env(&p, std::iter::empty()).expect_err(top);
        let text = err.to_string();
        assert!(
            text.contains("alert_webhook") && text.contains(words),
            "{top}: {text}"
        );
        assert!(!text.contains("tok-c3"), "{text}");
    }
}
