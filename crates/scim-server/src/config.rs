//! What `idbridge serve` is told: where to listen, under which path, with which TLS
//! certificate and which bearer tokens, and the request limits.

use std::net::SocketAddr;
use std::path::PathBuf;

use idbridge_core::{Error, Result, Secret};
use serde::Deserialize;

/// The default base path of the SCIM endpoint.
pub const DEFAULT_BASE_PATH: &str = "/scim/v2";
/// The default largest request body: 1 MiB. Larger requests get 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The default most operations in one `/Bulk` request.
pub const DEFAULT_MAX_BULK_OPERATIONS: usize = 1000;
/// The default most resources one list or search answer returns (`count` is capped to it).
pub const DEFAULT_MAX_RESULTS: usize = 1000;

/// A certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain (PEM), the server's certificate first.
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The server's configuration.
///
/// Deserializes from the `[serve]` table of a configuration file; every field but
/// `tokens` has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Where to listen. Default `127.0.0.1:8443`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The path the SCIM endpoint lives under. Default [`DEFAULT_BASE_PATH`].
    #[serde(default = "default_base_path")]
    pub base_path: String,
    /// The URL clients reach the endpoint at (`https://idbridge.example.com/scim/v2`),
    /// used for `meta.location`; default: built from the request's `Host` header, the
    /// scheme the server speaks and `base_path`. Set it behind a reverse proxy.
    #[serde(default)]
    pub public_url: Option<String>,
    /// TLS certificate and key. Without them the server speaks plain HTTP, which is only
    /// allowed on a loopback address (behind a reverse proxy that terminates TLS) unless
    /// `allow_plain_http` is set.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Allow plain HTTP on a non-loopback address. Default `false`.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// The bearer tokens accepted (several, so that one can be rotated). At least one.
    pub tokens: Vec<Secret>,
    /// The largest request body in bytes (also `/Bulk`'s `maxPayloadSize`). Default
    /// [`DEFAULT_MAX_BODY_BYTES`].
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// The most operations in one `/Bulk` request. Default [`DEFAULT_MAX_BULK_OPERATIONS`].
    #[serde(default = "default_max_bulk")]
    pub max_bulk_operations: usize,
    /// The most resources in one list answer. Default [`DEFAULT_MAX_RESULTS`].
    #[serde(default = "default_max_results")]
    pub max_results: usize,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

fn default_base_path() -> String {
    DEFAULT_BASE_PATH.to_string()
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

fn default_max_bulk() -> usize {
    DEFAULT_MAX_BULK_OPERATIONS
}

fn default_max_results() -> usize {
    DEFAULT_MAX_RESULTS
}

impl ServeConfig {
    /// A configuration with `tokens` and every default: loopback, plain HTTP.
    pub fn new(tokens: Vec<Secret>) -> ServeConfig {
        ServeConfig {
            listen: default_listen(),
            base_path: default_base_path(),
            public_url: None,
            tls: None,
            allow_plain_http: false,
            tokens,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_bulk_operations: DEFAULT_MAX_BULK_OPERATIONS,
            max_results: DEFAULT_MAX_RESULTS,
        }
    }

    /// The base path without a trailing slash (`""` for the root).
    pub(crate) fn base(&self) -> String {
        let trimmed = self.base_path.trim_end_matches('/');
        if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        }
    }

    /// Checks the configuration for serving on `addr`.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] when no token (or an empty one) is configured,
    /// when plain HTTP would be served on a non-loopback address without
    /// `allow_plain_http`, or when a limit is zero.
    pub fn validate(&self, addr: SocketAddr) -> Result<()> {
        if self.tokens.is_empty() {
            return Err(Error::config(
                "serve: no bearer token configured (`tokens`); every request would be refused",
            ));
        }
        if self.tokens.iter().any(Secret::is_empty) {
            return Err(Error::config("serve: a configured bearer token is empty"));
        }
        if self.tls.is_none() && !addr.ip().is_loopback() && !self.allow_plain_http {
            return Err(Error::config(format!(
                "serve: plain HTTP on {addr}, which is not a loopback address: configure \
                 `tls` (cert and key files), listen on loopback behind a reverse proxy, or set \
                 `allow_plain_http = true`"
            )));
        }
        if self.max_body_bytes == 0 || self.max_bulk_operations == 0 || self.max_results == 0 {
            return Err(Error::config(
                "serve: `max_body_bytes`, `max_bulk_operations` and `max_results` must be above 0",
            ));
        }
        Ok(())
    }
}
