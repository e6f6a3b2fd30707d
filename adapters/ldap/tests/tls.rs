//! LDAPS and StartTLS against the private slapd with a CA and a server certificate made by
//! the test; a server certificate from another CA fails clearly.

mod support;

use idbridge_core::{AdapterHandle, ErrorKind, registry};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::json;
use support::{ServerTls, Slapd};

/// A CA certificate (PEM) and a server certificate for 127.0.0.1 signed by it.
fn ca_and_server() -> (String, ServerTls) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "idbridge test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .expect("server certificate");
    (
        ca.pem(),
        ServerTls {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        },
    )
}

fn start() -> Option<(Slapd, String)> {
    if !support::available() {
        return None;
    }
    let (ca, tls) = ca_and_server();
    Some((Slapd::start(&support::seed(), Some(&tls)), ca))
}

async fn handle(server: &Slapd, extra: serde_json::Value) -> AdapterHandle {
    idbridge_ldap::link();
    registry::build_adapter("ldap", server.section(extra))
        .await
        .expect("the adapter builds")
}

#[tokio::test]
async fn ldaps_with_the_ca_file_reads_the_directory() {
    let Some((server, ca)) = start() else { return };
    server.write_file("ca.pem", &ca);
    let port = server.tls_port.expect("a TLS listener");
    let h = handle(
        &server,
        json!({"url": format!("ldaps://127.0.0.1:{port}"), "ca_file": "ca.pem"}),
    )
    .await;
    assert_eq!(h.all_users().await.expect("users").len(), 12);
}

#[tokio::test]
async fn starttls_with_the_ca_file_reads_the_directory() {
    let Some((server, ca)) = start() else { return };
    server.write_file("ca.pem", &ca);
    let h = handle(&server, json!({"starttls": true, "ca_file": "ca.pem"})).await;
    assert_eq!(h.all_users().await.expect("users").len(), 12);
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_clearly() {
    let Some((server, _)) = start() else { return };
    let (other_ca, _) = ca_and_server();
    server.write_file("other-ca.pem", &other_ca);
    let port = server.tls_port.expect("a TLS listener");
    for extra in [
        json!({"url": format!("ldaps://127.0.0.1:{port}"), "ca_file": "other-ca.pem"}),
        json!({"starttls": true, "ca_file": "other-ca.pem"}),
        // Without a CA file only the system's CAs are trusted.
        json!({"url": format!("ldaps://127.0.0.1:{port}")}),
    ] {
        let err = handle(&server, extra.clone())
            .await
            .all_users()
            .await
            .expect_err("an unknown CA is refused");
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{extra}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("TLS failed") && text.contains("ca_file"),
            "{extra}: {text}"
        );
        assert!(text.contains("127.0.0.1"), "{extra}: {text}");
    }
}

#[tokio::test]
async fn a_ca_file_that_is_no_certificate_is_a_config_error_naming_it() {
    let Some((server, _)) = start() else { return };
    server.write_file("not-a-ca.pem", "hello");
    let port = server.tls_port.expect("a TLS listener");
    let err = handle(
        &server,
        json!({"url": format!("ldaps://127.0.0.1:{port}"), "ca_file": "not-a-ca.pem"}),
    )
    .await
    .all_users()
    .await
    .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("not-a-ca.pem"), "{err}");
}

#[tokio::test]
async fn verify_tls_false_accepts_an_unknown_certificate() {
    let Some((server, _)) = start() else { return };
    let port = server.tls_port.expect("a TLS listener");
    let h = handle(
        &server,
        json!({"url": format!("ldaps://127.0.0.1:{port}"), "verify_tls": false}),
    )
    .await;
    assert_eq!(h.all_users().await.expect("users").len(), 12);
}
