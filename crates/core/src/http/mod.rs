//! HTTP plumbing every REST adapter uses: one configured client with timeouts, TLS
//! settings, a retry policy, request counters and tracing that never records credentials.
//!
//! Credentials stay with the server they were configured for: a redirect is followed only
//! within the origin (scheme, host and port) of the request, so neither a header, a cookie
//! nor a form body with a password goes to another server, nor from `https` to `http`.
//! Every credential the client sends or receives outside a [`crate::Secret`]
//! (`Authorization` headers, cookies, token headers) is registered with
//! [`crate::register_secret`], so that no error or log line shows it.
//!
//! Adapters send through a [`Pipeline`]: they fill in the [`Authenticator`] hooks (how to
//! log in and refresh, how to put the credential on a request, which answers mean it
//! expired, how their error bodies map to an [`Error`](crate::Error) with the vendor's code, how to log
//! out) and send [`Request`]s; the pipeline logs in when needed, logs in again once when
//! the credential expired, maps every non-2xx answer through the hooks, reads bodies
//! within a size limit ([`read_body`]) and parses them naming the offending field
//! ([`parse_json`]), reading an unreadable answer again a bounded number of times.
//!
//! Retries happen here and nowhere else: [`HttpClient::send_with`] retries what is safe
//! to retry within a [`RetryPolicy`] (attempts, back-off with jitter, a time budget per
//! request). A write that is not idempotent and whose answer was lost is not repeated;
//! its error says its outcome is unknown ([`Error::is_outcome_unknown`](crate::Error::is_outcome_unknown)), and the engine
//! decides.

mod body;
mod client;
mod naming;
mod observe;
mod pipeline;
mod redirect;
mod retry;
mod secrets;
mod transport;

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;

pub use body::{body_excerpt, parse_json, read_body};
pub use client::HttpClient;
pub use naming::{display_url, name_request};
pub use observe::{AnswerObserver, Answered, in_system, observe_answers};
pub use pipeline::{Answer, Authenticator, Body, Pipeline, Request, UNREADABLE_ATTEMPTS};
pub use retry::{RetryPolicy, parse_retry_after, retry_after};

/// The largest `ca_file` read: 4 MiB, several times a whole system CA bundle.
pub const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The default of the `max_response_mib` connection key: the most MiB of one response
/// body an HTTP adapter reads.
pub const DEFAULT_MAX_RESPONSE_MIB: u64 = 64;

/// The largest `max_response_mib` accepted: 65536 MiB (64 GiB), far above any listing and
/// low enough that the limit in bytes is computed without overflow.
pub const MAX_RESPONSE_MIB_LIMIT: u64 = 65_536;

const MIB: u64 = 1024 * 1024;

/// The default of `max_response_mib`, for `#[serde(default = "...")]`: [`DEFAULT_MAX_RESPONSE_MIB`].
pub fn default_max_response_mib() -> u64 {
    DEFAULT_MAX_RESPONSE_MIB
}

/// Checks an HTTP adapter's `max_response_mib` key.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the key path when the value is
/// below 1 or above [`MAX_RESPONSE_MIB_LIMIT`].
pub fn check_max_response_mib(cfg: &crate::AdapterConfig, mib: u64) -> crate::Result<()> {
    if !(1..=MAX_RESPONSE_MIB_LIMIT).contains(&mib) {
        return Err(cfg.error(
            "max_response_mib",
            format!("must be between 1 and {MAX_RESPONSE_MIB_LIMIT} (MiB), not {mib}"),
        ));
    }
    Ok(())
}

/// Settings of one adapter's HTTP client.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Verify the server's TLS certificate. Default `true`; turning it off logs a warning.
    pub verify_tls: bool,
    /// An extra PEM bundle of CA certificates to trust, besides the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// Time to establish a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Time for one whole request and response. Default 60 s.
    pub request_timeout: Duration,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// Keep cookies between requests (for servers with HTTP sessions). Default `false`.
    pub cookie_store: bool,
    /// The most bytes of a response body read (an adapter's `max_response_mib` key, see
    /// [`HttpSettings::with_max_response_mib`]). Default 64 MiB.
    pub max_body_bytes: usize,
}

impl HttpSettings {
    /// The settings of the connection keys HTTP adapters share (`verify_tls`, `ca_file`,
    /// already resolved against the configuration file, and a request timeout in
    /// seconds); everything else default. A timeout of 0 is taken as 1 second: adapters
    /// refuse 0 when validating their configuration.
    pub fn for_connection(verify_tls: bool, ca_file: Option<PathBuf>, timeout_secs: u64) -> Self {
        HttpSettings {
            verify_tls,
            ca_file,
            request_timeout: Duration::from_secs(timeout_secs.max(1)),
            ..HttpSettings::default()
        }
    }

    /// These settings with the response-body limit of the `max_response_mib` key, in MiB
    /// (checked with [`check_max_response_mib`]). A limit too large for this machine's
    /// address space is taken as the largest there is.
    pub fn with_max_response_mib(self, mib: u64) -> Self {
        HttpSettings {
            max_body_bytes: usize::try_from(mib.saturating_mul(MIB)).unwrap_or(usize::MAX),
            ..self
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            verify_tls: true,
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            cookie_store: false,
            max_body_bytes: (DEFAULT_MAX_RESPONSE_MIB * MIB) as usize,
        }
    }
}

/// Whether a request may be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads: GET, HEAD. Retried on any transient failure.
    Safe,
    /// Writes whose repetition has the same effect: PUT, DELETE, and requests the adapter
    /// marks so. Retried on any transient failure.
    Idempotent,
    /// Writes that may take effect twice (POST create, PATCH add). Retried only when the
    /// server certainly did not process them: a 429 or 503 answer, or a connection never
    /// established. When one was sent and no usable answer came back (a dropped
    /// connection, a timeout, a 500, 502 or 504), the error says the outcome is unknown
    /// ([`crate::Error::is_outcome_unknown`]) and the caller decides.
    NotIdempotent,
}

impl Idempotency {
    /// The default for an HTTP method.
    pub fn of(method: &Method) -> Self {
        match *method {
            Method::GET | Method::HEAD | Method::OPTIONS => Idempotency::Safe,
            Method::PUT | Method::DELETE => Idempotency::Idempotent,
            _ => Idempotency::NotIdempotent,
        }
    }

    pub(crate) fn may_repeat(self) -> bool {
        !matches!(self, Idempotency::NotIdempotent)
    }
}

/// Requests sent by one adapter: every attempt counts, retries included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// GET and HEAD requests.
    pub reads: u64,
    /// Every other request.
    pub writes: u64,
    /// Attempts that were retries of an earlier one (included in reads/writes).
    pub retries: u64,
}

impl RequestCounts {
    /// Reads plus writes.
    pub fn total(&self) -> u64 {
        self.reads + self.writes
    }

    /// The requests sent since `earlier` was taken.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts {
            reads: self.reads.saturating_sub(earlier.reads),
            writes: self.writes.saturating_sub(earlier.writes),
            retries: self.retries.saturating_sub(earlier.retries),
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::time::Duration;

    use super::{HttpSettings, RetryPolicy};

    /// Settings whose back-offs are a few milliseconds, for tests.
    pub(crate) fn fast() -> HttpSettings {
        HttpSettings {
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(5),
                ..RetryPolicy::default()
            },
            ..HttpSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_settings_keep_the_shared_keys_and_default_the_rest() {
        let s = HttpSettings::for_connection(false, Some(PathBuf::from("/etc/ca.pem")), 55);
        assert!(!s.verify_tls);
        assert_eq!(
            s.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        assert_eq!(s.request_timeout, Duration::from_secs(55));
        let d = HttpSettings::default();
        assert_eq!(s.connect_timeout, d.connect_timeout);
        assert_eq!(s.max_body_bytes, d.max_body_bytes);
        assert!(!s.cookie_store);
        assert_eq!(
            HttpSettings::for_connection(true, None, 0).request_timeout,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn the_response_limit_is_set_in_mib_and_checked() {
        let d = HttpSettings::default();
        assert_eq!(d.max_body_bytes, 64 * 1024 * 1024);
        let s = HttpSettings::for_connection(true, None, 5).with_max_response_mib(200);
        assert_eq!(s.max_body_bytes, 200 * 1024 * 1024);
        assert_eq!(s.request_timeout, Duration::from_secs(5));
        let cfg = crate::AdapterConfig::new("bi", serde_json::json!({}));
        check_max_response_mib(&cfg, 1).expect("1 MiB");
        check_max_response_mib(&cfg, MAX_RESPONSE_MIB_LIMIT).expect("the most");
        for bad in [0, MAX_RESPONSE_MIB_LIMIT + 1, u64::MAX] {
            let err = check_max_response_mib(&cfg, bad).expect_err("out of range");
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(err.to_string().contains("bi.max_response_mib"), "{err}");
        }
    }
}
