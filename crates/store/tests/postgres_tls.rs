//! TLS to a PostgreSQL state: a private server of its own with `ssl = on`, a certificate
//! for 127.0.0.1 from a CA made by the test, and only TLS connections taken (`hostssl`).
//! verify-full with that CA connects; another CA, another host name or no TLS at all fail
//! with errors that say so and name the server.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use idbridge_core::config::{Config, ConfigOrigin};
use idbridge_core::{ErrorKind, Secret};
use idbridge_store::Store;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::json;
use support::PgServer;

/// A CA (its certificate in PEM) and a certificate signed by it for `names`, with its key.
fn ca_and_server(names: &[&str]) -> (String, String, String) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "idbridge test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "idbridge test server");
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .expect("server certificate");
    (ca.pem(), cert.pem(), key.serialize_pem())
}

struct TlsServer {
    server: PgServer,
    /// The CA that signed the server's certificate.
    ca: PathBuf,
    /// A CA that signed nothing the server shows.
    other_ca: PathBuf,
}

/// The TLS-only server, started once for this test binary; `None` when PostgreSQL is not
/// installed and not required. Every file lives in the cluster's directory, removed with
/// the server.
fn tls_server() -> Option<&'static TlsServer> {
    static SERVER: OnceLock<Option<TlsServer>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            // Only 127.0.0.1: a client that asks for `localhost` gets a certificate that
            // does not name it.
            let (ca_pem, cert_pem, key_pem) = ca_and_server(&["127.0.0.1"]);
            let (other_ca_pem, _, _) = ca_and_server(&["127.0.0.1"]);
            let mut cas = None;
            let server = support::own_server(|cluster, data| {
                use std::os::unix::fs::OpenOptionsExt;
                let ca = cluster.join("ca.pem");
                let other_ca = cluster.join("other-ca.pem");
                std::fs::write(&ca, &ca_pem).map_err(|e| format!("CA: {e}"))?;
                std::fs::write(&other_ca, &other_ca_pem).map_err(|e| format!("CA: {e}"))?;
                cas = Some((ca, other_ca));
                let cert = cluster.join("server.crt");
                let key = cluster.join("server.key");
                std::fs::write(&cert, &cert_pem).map_err(|e| format!("cert: {e}"))?;
                // The server refuses a key others can read.
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&key)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, key_pem.as_bytes()))
                    .map_err(|e| format!("key: {e}"))?;
                std::fs::write(
                    data.join("pg_hba.conf"),
                    "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
                )
                .map_err(|e| format!("pg_hba.conf: {e}"))?;
                Ok(vec![
                    "ssl=on".to_string(),
                    format!("ssl_cert_file={}", cert.display()),
                    format!("ssl_key_file={}", key.display()),
                ])
            })?;
            let (ca, other_ca) = cas?;
            Some(TlsServer {
                server,
                ca,
                other_ca,
            })
        })
        .as_ref()
}

/// Loads a configuration whose state is `url` with `extra` keys, the password inline.
fn config(url: &str, extra: serde_json::Value) -> Config {
    let dir = std::env::temp_dir();
    let mut tree = json!({
        "state": url,
        "tenant": "acme",
        "state_password": support::PASSWORD,
        "source": {"adapter": "file", "path": "people.yaml"},
    });
    if let (Some(t), Some(e)) = (tree.as_object_mut(), extra.as_object()) {
        t.extend(e.clone());
    }
    Config::from_value(tree, ConfigOrigin::in_memory(&dir)).expect("config")
}

fn open_error(config: &Config) -> String {
    let Err(e) = Store::open(&config.state) else {
        panic!("{} opened", config.state.display());
    };
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    let text = e.to_string();
    assert!(!text.contains(support::PASSWORD), "{text}");
    text
}

#[test]
fn verify_full_with_the_servers_ca_connects_over_tls() {
    let Some(tls) = tls_server() else { return };
    let url = tls.server.new_database();
    let c = config(&url, json!({"state_ca_file": tls.ca}));
    let store = Store::open(&c.state).expect("opens over TLS");
    assert_eq!(store.tenant(), Some("acme"));
    let run = store.begin_run("sync").expect("writes");
    assert!(run > 0);
    let encrypted = tls
        .server
        .psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
             WHERE ssl AND application_name = 'idbridge'",
        )
        .expect("pg_stat_ssl");
    assert_ne!(encrypted, "0", "the store's connection is encrypted");
    // What `idbridge check` shows: an encrypted connection to a registered tenant.
    let probe = idbridge_store::probe_postgres(&c.state, None).expect("probe over TLS");
    assert!(probe.encrypted, "{probe:?}");
    assert_eq!(
        probe.schema_version,
        Some(idbridge_store::POSTGRES_SCHEMA_VERSION)
    );
    assert!(probe.tenant_known && probe.holder.is_none(), "{probe:?}");

    // The same through the URL, with the CA bundle given by the configuration.
    let explicit = config(
        &format!("{url}?sslmode=verify-full"),
        json!({"state_ca_file": tls.ca}),
    );
    Store::open(&explicit.state).expect("sslmode=verify-full in the URL");
}

#[test]
fn a_certificate_from_another_ca_is_refused_naming_the_server() {
    let Some(tls) = tls_server() else { return };
    let url = tls.server.new_database();
    let c = config(&url, json!({"state_ca_file": tls.other_ca}));
    let text = open_error(&c);
    let server = format!("127.0.0.1:{}", tls.server.port);
    assert!(
        text.contains(&format!("cannot connect over TLS to {server}")),
        "{text}"
    );
    assert!(text.contains("other-ca.pem"), "{text}");
    assert!(text.contains("invalid peer certificate"), "{text}");
}

#[test]
fn a_certificate_for_another_host_name_is_refused() {
    let Some(tls) = tls_server() else { return };
    let url = tls.server.new_database().replace("127.0.0.1", "localhost");
    let c = config(&url, json!({"state_ca_file": tls.ca}));
    let text = open_error(&c);
    assert!(
        text.contains(&format!(
            "cannot connect over TLS to localhost:{}",
            tls.server.port
        )),
        "{text}"
    );
    assert!(text.contains("invalid peer certificate"), "{text}");
}

#[test]
fn a_plain_connection_to_a_server_that_takes_only_tls_fails_clearly() {
    let Some(tls) = tls_server() else { return };
    let url = tls.server.new_database();
    let c = config(&url, json!({}));
    let text = open_error(&c);
    assert!(
        text.contains(&format!(
            "cannot connect to 127.0.0.1:{} without TLS",
            tls.server.port
        )),
        "{text}"
    );
    assert!(text.contains("sslmode=verify-full"), "{text}");
}

#[test]
fn require_encrypts_without_checking_the_certificate() {
    let Some(tls) = tls_server() else { return };
    let url = tls.server.new_database();
    let store = Store::open_postgres(
        Path::new(&format!("{url}?sslmode=require&tenant=acme")),
        Some(Secret::new(support::PASSWORD)),
    )
    .expect("sslmode=require connects without a CA");
    store.begin_run("sync").expect("writes");
}

#[test]
fn verify_full_against_a_server_without_tls_fails_clearly() {
    // The shared server of the other tests has no TLS.
    let Some(plain) = support::server() else {
        return;
    };
    let Some(tls) = tls_server() else { return };
    let url = plain.new_database();
    let c = config(&url, json!({"state_ca_file": tls.ca}));
    let text = open_error(&c);
    assert!(
        text.contains(&format!(
            "cannot connect over TLS to 127.0.0.1:{}",
            plain.port
        )),
        "{text}"
    );
    assert!(text.contains("server does not support TLS"), "{text}");
}
