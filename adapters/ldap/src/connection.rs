//! One bound connection to the directory: TLS set-up, the simple bind, paged searches, and
//! the one function that turns an LDAP failure into an [`idbridge_core::Error`].

use std::sync::Arc;

use idbridge_core::{Error, Result};
use ldap3::adapters::{Adapter as SearchAdapter, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::config::{LdapConfig, Transport};

/// The largest CA bundle read (a wrong path such as `/dev/zero` is refused at once).
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// LDAP result codes (RFC 4511, appendix A) the adapter tells apart.
mod rc {
    pub const TIME_LIMIT_EXCEEDED: u32 = 3;
    pub const SIZE_LIMIT_EXCEEDED: u32 = 4;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const INVALID_CREDENTIALS: u32 = 49;
    pub const INSUFFICIENT_ACCESS: u32 = 50;
    pub const BUSY: u32 = 51;
    pub const UNAVAILABLE: u32 = 52;
    pub const UNWILLING: u32 = 53;
}

/// What one search returned: the entries and the referrals the server sent instead of
/// entries (not followed).
#[derive(Debug, Default)]
pub struct Found {
    /// The entries.
    pub entries: Vec<SearchEntry>,
    /// Referral URLs.
    pub referrals: Vec<String>,
}

/// A connection bound as the configured DN.
pub struct Connection {
    ldap: Ldap,
    url: String,
    operation_timeout: std::time::Duration,
    page_size: i32,
}

/// Reads the CA bundle and adds the system's roots: the trust store of a verifying
/// connection.
fn tls_config(c: &LdapConfig) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = &c.ca_file {
        let shown = path.display();
        let size = std::fs::metadata(path)
            .map_err(|e| Error::config(format!("ca_file `{shown}`: cannot read it: {e}")))?
            .len();
        if size > MAX_CA_FILE_BYTES {
            return Err(Error::config(format!(
                "ca_file `{shown}` is larger than {} KiB; is it the right file?",
                MAX_CA_FILE_BYTES / 1024
            )));
        }
        let pem = std::fs::read(path)
            .map_err(|e| Error::config(format!("ca_file `{shown}`: cannot read it: {e}")))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                Error::config(format!(
                    "ca_file `{shown}` is not a PEM certificate bundle: {e}"
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::config(format!(
                "ca_file `{shown}` holds no certificate"
            )));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                Error::config(format!(
                    "ca_file `{shown}` holds an unusable certificate: {e}"
                ))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Turns an LDAP failure of `what` (`bind as ...`, `search under ...`) against `url` into
/// an error of the right kind. The message names the server and the operation, never the
/// password.
pub fn map_error(url: &str, what: &str, e: LdapError) -> Error {
    match e {
        LdapError::LdapResult { result } => {
            let detail = if result.text.is_empty() {
                String::new()
            } else {
                format!(": {}", idbridge_core::redact(&result.text))
            };
            let message = format!("{what} on {url}: LDAP result {}{detail}", result.rc);
            let err = match result.rc {
                rc::INVALID_CREDENTIALS => Error::new(
                    idbridge_core::ErrorKind::Unauthenticated,
                    format!("{message} (invalid credentials: check bind_dn and the password)"),
                ),
                rc::INSUFFICIENT_ACCESS => Error::permission_denied(message),
                rc::NO_SUCH_OBJECT => {
                    Error::config(format!("{message} (no such object: check the base DN)"))
                }
                rc::BUSY | rc::UNAVAILABLE | rc::TIME_LIMIT_EXCEEDED => Error::unavailable(message),
                rc::SIZE_LIMIT_EXCEEDED => Error::protocol(format!(
                    "{message} (the server's size limit cut the read short: lower page_size or \
                     raise the bind account's limits)"
                )),
                rc::UNWILLING => Error::permission_denied(message),
                _ => Error::protocol(message),
            };
            err.with_vendor(Some(result.rc.to_string()), Some(result.text))
        }
        LdapError::Rustls { source } => Error::unavailable(format!(
            "{what} on {url}: TLS failed: {source} (check the server certificate, ca_file and \
             the host name in url)"
        ))
        .with_retryable(false),
        // The TLS layer reports a refused certificate as an I/O error around its own.
        LdapError::Io { source }
            if source
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            Error::unavailable(format!(
                "{what} on {url}: TLS failed: {source} (check the server certificate, ca_file \
                 and the host name in url)"
            ))
            .with_retryable(false)
        }
        LdapError::Timeout { .. } => Error::unavailable(format!("{what} on {url}: timed out")),
        other => Error::unavailable(format!("{what} on {url}: {other}")),
    }
}

impl Connection {
    /// Connects (with TLS as configured) and binds.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Unauthenticated`] for a refused bind, naming the server
    /// and the bind DN; [`idbridge_core::ErrorKind::Unavailable`] when the server cannot be
    /// reached, the TLS handshake fails or a timeout expires; `Config` for an unreadable
    /// `ca_file`.
    pub async fn open(c: &LdapConfig) -> Result<Connection> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(c.connect_timeout)
            .set_starttls(c.transport == Transport::StartTls);
        if c.transport != Transport::Plain {
            if c.verify_tls {
                settings = settings.set_config(tls_config(c)?);
            } else {
                tracing::warn!(
                    url = %c.url,
                    "TLS certificate verification is turned off (verify_tls = false)"
                );
                settings = settings.set_no_tls_verify(true);
            }
        }
        let connect = LdapConnAsync::with_settings(settings, &c.url);
        // The connection timeout of ldap3 covers the TCP connect; this one covers TLS and
        // StartTLS too.
        let (conn, mut ldap) = tokio::time::timeout(c.connect_timeout * 2, connect)
            .await
            .map_err(|_| Error::unavailable(format!("connecting to {}: timed out", c.url)))?
            .map_err(|e| map_error(&c.url, "connecting", e))?;
        ldap3::drive!(conn);
        let what = format!("bind as `{}`", c.bind_dn);
        ldap.with_timeout(c.operation_timeout)
            .simple_bind(&c.bind_dn, c.password.expose())
            .await
            .and_then(|r| r.success())
            .map_err(|e| map_error(&c.url, &what, e))?;
        Ok(Connection {
            ldap,
            url: c.url.clone(),
            operation_timeout: c.operation_timeout,
            // Validated to fit when the configuration was read.
            page_size: i32::try_from(c.page_size).unwrap_or(i32::MAX),
        })
    }

    /// Every entry under `base` (subtree) matching `filter`, with `attrs`, read page by page
    /// with the Simple Paged Results control.
    ///
    /// # Errors
    /// See [`map_error`]; a missing base is a `Config` error naming it.
    pub async fn search(&mut self, base: &str, filter: &str, attrs: &[String]) -> Result<Found> {
        let what = format!("search under `{base}` for {filter}");
        let adapters: Vec<Box<dyn SearchAdapter<_, _>>> =
            vec![Box::new(PagedResults::new(self.page_size))];
        let mut stream = self
            .ldap
            .with_timeout(self.operation_timeout)
            .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs.to_vec())
            .await
            .map_err(|e| map_error(&self.url, &what, e))?;
        let mut found = Found::default();
        loop {
            let next = stream.next().await;
            match next {
                Ok(Some(entry)) if entry.is_ref() => {
                    found.referrals.extend(ldap3::parse_refs(entry.0));
                }
                Ok(Some(entry)) if entry.is_intermediate() => {}
                Ok(Some(entry)) => found.entries.push(SearchEntry::construct(entry)),
                Ok(None) => break,
                Err(e) => {
                    let _ = stream.finish().await;
                    return Err(map_error(&self.url, &what, e));
                }
            }
        }
        stream
            .finish()
            .await
            .success()
            .map_err(|e| map_error(&self.url, &what, e))?;
        Ok(found)
    }

    /// The entry at `dn` itself (base scope, no paging) with `attrs`; `None` when it does
    /// not exist.
    ///
    /// # Errors
    /// See [`map_error`].
    pub async fn read_entry(&mut self, dn: &str, attrs: &[String]) -> Result<Option<SearchEntry>> {
        let what = format!("read of `{dn}`");
        let result = self
            .ldap
            .with_timeout(self.operation_timeout)
            .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
            .await
            .map_err(|e| map_error(&self.url, &what, e))?;
        let ldap3::SearchResult(entries, outcome) = result;
        if outcome.rc == rc::NO_SUCH_OBJECT {
            return Ok(None);
        }
        if outcome.rc != 0 {
            return Err(map_error(
                &self.url,
                &what,
                LdapError::LdapResult { result: outcome },
            ));
        }
        Ok(entries
            .into_iter()
            .find(|e| !e.is_ref() && !e.is_intermediate())
            .map(SearchEntry::construct))
    }

    /// Whether at least one entry under `base` matches `filter`, asking the server for one
    /// entry only (a size limit of 1, so a large directory is not read).
    ///
    /// # Errors
    /// See [`map_error`].
    pub async fn any(&mut self, base: &str, filter: &str, attr: &str) -> Result<bool> {
        let what = format!("search under `{base}` for {filter}");
        let result = self
            .ldap
            .with_timeout(self.operation_timeout)
            .with_search_options(ldap3::SearchOptions::new().sizelimit(1))
            .search(base, Scope::Subtree, filter, vec![attr])
            .await
            .map_err(|e| map_error(&self.url, &what, e))?;
        let ldap3::SearchResult(entries, outcome) = result;
        if outcome.rc != 0 && outcome.rc != rc::SIZE_LIMIT_EXCEEDED {
            return Err(map_error(
                &self.url,
                &what,
                LdapError::LdapResult { result: outcome },
            ));
        }
        Ok(entries.iter().any(|e| !e.is_ref() && !e.is_intermediate()))
    }

    /// Ends the session politely; a failure here changes nothing already read.
    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}
