//! The plain-HTTP guard: server URLs that would carry credentials unencrypted across a
//! network are refused unless the section allows it.

use serde_json::Value;

use super::AdapterConfig;
use crate::Result;

/// The per-system key that lets the section's server URLs use plain `http://` to a host
/// other than this machine. Default `false`.
pub const ALLOW_PLAIN_HTTP_KEY: &str = "allow_plain_http";

/// Whether a URL's host is this machine: `localhost`, 127.0.0.0/8 or `::1` (an
/// IPv4-mapped loopback address included). Plain HTTP to it never crosses a network.
pub fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether a configuration key names a server URL: `url` or `<something>_url`.
fn is_url_key(key: &str) -> bool {
    key == "url" || key.ends_with("_url")
}

impl AdapterConfig {
    /// Refuses plain `http://` server URLs to hosts other than this machine, unless the
    /// section sets [`ALLOW_PLAIN_HTTP_KEY`] (`allow_plain_http = true`), and takes that key
    /// out of the settings so that the adapter never sees it.
    ///
    /// Every key named `url` or ending in `_url` is a server URL; credentials go to those
    /// servers, and over plain HTTP anyone on the path reads them. `localhost`, 127.0.0.0/8
    /// and `::1` are allowed (emulators and local tunnels listen there). A value that does not
    /// parse as a URL is left for the adapter to report. When the key allows plain HTTP, each
    /// such URL is named in a warning.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the key path and the URL (without credentials or
    /// query) of a refused URL, or naming `allow_plain_http` when it is not a boolean.
    pub fn check_server_urls(&mut self) -> Result<()> {
        let allow = match self.settings.remove(ALLOW_PLAIN_HTTP_KEY) {
            None => false,
            Some(Value::Bool(b)) => b,
            // Environment overrides arrive as text.
            Some(Value::String(s)) if s.trim() == "true" => true,
            Some(Value::String(s)) if s.trim() == "false" => false,
            Some(other) => {
                return Err(self.error(
                    ALLOW_PLAIN_HTTP_KEY,
                    format!("expected true or false, found {other}"),
                ));
            }
        };
        for (key, value) in &self.settings {
            let Value::String(raw) = value else {
                continue;
            };
            if !is_url_key(key) {
                continue;
            }
            let Ok(url) = url::Url::parse(raw.trim()) else {
                continue;
            };
            if url.scheme() != "http" || url.host().is_none_or(|h| is_loopback(&h)) {
                continue;
            }
            let shown = crate::http::display_url(raw.trim());
            if allow {
                tracing::warn!(
                    system = %self.instance,
                    "{}.{key} is plain HTTP ({shown}): credentials cross the network unencrypted \
                     ({ALLOW_PLAIN_HTTP_KEY} = true)",
                    self.key_path
                );
                continue;
            }
            return Err(self.error(
                key,
                format!(
                    "`{shown}` is plain HTTP to another machine: the credentials would cross \
                     the network unencrypted. Use https://, or set `{ALLOW_PLAIN_HTTP_KEY} = true` \
                     in this system's section if the network path is trusted"
                ),
            ));
        }
        Ok(())
    }
}
