//! TLS to the PostgreSQL server (rustls, through `tokio-postgres-rustls`).
//!
//! The state URL's `sslmode` chooses, as libpq's does:
//! - `disable` (and no `sslmode` without `state_ca_file`): no TLS, for a local socket or a
//!   trusted network;
//! - `require`: TLS, the server's certificate not checked: it stops a listener on the
//!   wire, not a server that pretends to be the database;
//! - `verify-full` (the default once `state_ca_file` is given): TLS, the certificate must
//!   chain to the CA bundle `state_ca_file` (else to the system's roots) and name the host
//!   of the URL.
//!
//! `prefer` and `allow` are refused: both fall back to an unencrypted connection without
//! a word when the server does not offer TLS, which is what someone who asked for TLS does
//! not want. `verify-ca` (the chain checked, the host name not) is refused too, in favour
//! of `verify-full`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use idbridge_core::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The most bytes of a CA bundle read: a bundle of every public root is ~200 KiB.
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// How a connection to the state's server is protected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// No TLS.
    Disable,
    /// TLS without checking the server's certificate.
    Require,
    /// TLS; the certificate chains to the CA bundle (or the system's roots) and names the
    /// host.
    VerifyFull,
}

impl SslMode {
    /// The `sslmode=` value.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// The mode asked for by the URL's `sslmode` value (if any) and whether a CA bundle is
    /// configured.
    ///
    /// # Errors
    /// A message for a mode idbridge does not offer, or a CA bundle with a mode that
    /// would not use it.
    pub(crate) fn choose(
        sslmode: Option<&str>,
        ca_file: Option<&Path>,
    ) -> std::result::Result<SslMode, String> {
        let mode = match sslmode {
            None if ca_file.is_some() => SslMode::VerifyFull,
            None | Some("disable") => SslMode::Disable,
            Some("require") => SslMode::Require,
            Some("verify-full") => SslMode::VerifyFull,
            Some(m @ ("prefer" | "allow")) => {
                return Err(format!(
                    "sslmode={m} falls back to an unencrypted connection without saying so; \
                     choose sslmode=disable, require or verify-full"
                ));
            }
            Some("verify-ca") => {
                return Err(
                    "sslmode=verify-ca is not offered: use sslmode=verify-full, \
                     which checks the host name too"
                        .into(),
                );
            }
            Some(other) => {
                return Err(format!(
                    "unknown sslmode `{other}`: choose disable, require or verify-full"
                ));
            }
        };
        if let (Some(ca), SslMode::Disable | SslMode::Require) = (ca_file, &mode) {
            return Err(format!(
                "state_ca_file `{}` is set but sslmode={} does not check the server's \
                 certificate; use sslmode=verify-full (the default with state_ca_file)",
                ca.display(),
                mode.name()
            ));
        }
        Ok(mode)
    }
}

/// The TLS settings of a state connection.
#[derive(Clone, Debug)]
pub(crate) struct Tls {
    pub(crate) mode: SslMode,
    pub(crate) ca_file: Option<PathBuf>,
}

impl Tls {
    /// Words for errors: `sslmode=verify-full, CA bundle `ca.pem``.
    pub(crate) fn describe(&self) -> String {
        match &self.ca_file {
            Some(ca) => format!("sslmode={}, CA bundle `{}`", self.mode.name(), ca.display()),
            None if self.mode == SslMode::VerifyFull => {
                format!("sslmode={}, the system's CA roots", self.mode.name())
            }
            None => format!("sslmode={}", self.mode.name()),
        }
    }

    /// The connector for this mode; `None` for no TLS. Reads the CA bundle.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] when the CA bundle cannot be read, is not PEM
    /// or holds no usable certificate.
    pub(crate) fn connector(&self) -> Result<Option<MakeRustlsConnect>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config(format!("PostgreSQL TLS set-up: {e}")))?;
        let config = match self.mode {
            SslMode::Disable => return Ok(None),
            SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth(),
            SslMode::VerifyFull => builder
                .with_root_certificates(self.roots()?)
                .with_no_client_auth(),
        };
        Ok(Some(MakeRustlsConnect::new(config)))
    }

    /// The CA bundle when one is configured (only it, as libpq's `sslrootcert`), else the
    /// system's roots.
    fn roots(&self) -> Result<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        let Some(path) = &self.ca_file else {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                return Err(Error::config(
                    "sslmode=verify-full: the system has no CA roots; give the CA that signed \
                     the server's certificate as `state_ca_file`",
                ));
            }
            return Ok(roots);
        };
        let shown = path.display();
        let size = std::fs::metadata(path)
            .map_err(|e| Error::config(format!("state_ca_file `{shown}`: cannot read it: {e}")))?
            .len();
        if size > MAX_CA_FILE_BYTES {
            return Err(Error::config(format!(
                "state_ca_file `{shown}` is larger than {} MiB; is it the right file?",
                MAX_CA_FILE_BYTES / (1024 * 1024)
            )));
        }
        let pem = std::fs::read(path)
            .map_err(|e| Error::config(format!("state_ca_file `{shown}`: cannot read it: {e}")))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                Error::config(format!(
                    "state_ca_file `{shown}` is not a PEM certificate bundle: {e}"
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::config(format!(
                "state_ca_file `{shown}` holds no certificate"
            )));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                Error::config(format!(
                    "state_ca_file `{shown}` holds an unusable certificate: {e}"
                ))
            })?;
        }
        Ok(roots)
    }
}

/// `sslmode=require`: any certificate is taken, but the handshake's signatures are still
/// checked, so the session is encrypted with the key of the certificate shown.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_chosen_as_documented() {
        let ca = Path::new("ca.pem");
        assert_eq!(SslMode::choose(None, None), Ok(SslMode::Disable));
        assert_eq!(SslMode::choose(None, Some(ca)), Ok(SslMode::VerifyFull));
        assert_eq!(SslMode::choose(Some("require"), None), Ok(SslMode::Require));
        assert_eq!(
            SslMode::choose(Some("verify-full"), Some(ca)),
            Ok(SslMode::VerifyFull)
        );
        for (mode, says) in [
            ("prefer", "falls back"),
            ("allow", "falls back"),
            ("verify-ca", "verify-full"),
            ("on", "unknown sslmode"),
        ] {
            let e = SslMode::choose(Some(mode), None).expect_err(mode);
            assert!(e.contains(says), "{mode}: {e}");
        }
        let e = SslMode::choose(Some("require"), Some(ca)).expect_err("ca with require");
        assert!(e.contains("state_ca_file `ca.pem`"), "{e}");
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").expect("write");
        let tls = Tls {
            mode: SslMode::VerifyFull,
            ca_file: Some(path),
        };
        let e = tls.connector().err().expect("refused").to_string();
        assert!(
            e.contains("ca.pem") && e.contains("holds no certificate"),
            "{e}"
        );
        let missing = Tls {
            mode: SslMode::VerifyFull,
            ca_file: Some(dir.path().join("missing.pem")),
        };
        let e = missing.connector().err().expect("refused").to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );
    }
}
