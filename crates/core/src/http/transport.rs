//! Why no answer arrived: the transport error's cause, named with the host and port the
//! request went to and never with its query or credentials.

/// Where a request went, for errors: the scheme and `host:port`, never the path's query
/// or any credentials in the URL.
#[derive(Debug, Clone)]
pub(super) struct Place {
    pub(super) https: bool,
    pub(super) host: String,
    pub(super) host_port: String,
}

impl Place {
    pub(super) fn of(url: &reqwest::Url) -> Place {
        let host = url.host_str().unwrap_or("(no host)").to_string();
        let host_port = match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        Place {
            https: url.scheme() == "https",
            host,
            host_port,
        }
    }
}

/// Why no answer arrived, read from the transport error's chain of sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cause {
    /// Nothing listens on the port (or a firewall rejects the connection).
    Refused,
    /// The host name does not resolve.
    Dns,
    /// Connecting or answering took longer than the configured timeout.
    Timeout,
    /// An `https://` URL, but the server answered plain HTTP.
    PlainHttpOnHttps,
    /// An `http://` URL, but the server did not answer HTTP (it likely expects TLS).
    NotHttpOnHttp,
    /// The server's certificate is not trusted (the text says why).
    Certificate(String),
    /// Another TLS failure (the text says which).
    Tls(String),
    /// The connection was reset or closed before an answer.
    Closed,
    /// Anything else: the innermost error's text.
    Other(String),
}

impl Cause {
    pub(super) fn of(err: &reqwest::Error, place: &Place) -> Cause {
        let mut texts = Vec::new();
        let mut io_kind = None;
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = current {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                io_kind.get_or_insert(io.kind());
            }
            texts.push(e.to_string());
            current = e.source();
        }
        let all = texts.join(" | ").to_ascii_lowercase();
        let innermost = texts
            .last()
            .map(|t| match err.url() {
                Some(url) => t.replace(url.as_str(), "<url>"),
                None => t.clone(),
            })
            .unwrap_or_default();
        let has = |needles: &[&str]| needles.iter().any(|n| all.contains(n));
        if err.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut) {
            return Cause::Timeout;
        }
        if io_kind == Some(std::io::ErrorKind::ConnectionRefused) || has(&["connection refused"]) {
            return Cause::Refused;
        }
        if has(&[
            "dns error",
            "failed to lookup address",
            "name or service not known",
            "no such host",
            "nodename nor servname",
            "temporary failure in name resolution",
        ]) {
            return Cause::Dns;
        }
        if place.https {
            if has(&[
                "invalidcontenttype",
                "corrupt message",
                "wrong version number",
                "http request",
            ]) {
                return Cause::PlainHttpOnHttps;
            }
            if has(&["certificate", "unknownissuer", "notvalidforname", "cert"]) {
                return Cause::Certificate(innermost);
            }
            if has(&["tls", "handshake", "alert"]) {
                return Cause::Tls(innermost);
            }
        } else if has(&[
            "invalid http version",
            "invalid status",
            "invalid header",
            "parse",
        ]) {
            return Cause::NotHttpOnHttp;
        }
        if matches!(
            io_kind,
            Some(
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
            )
        ) || has(&[
            "connection closed",
            "connection reset",
            "incomplete message",
        ]) {
            return Cause::Closed;
        }
        Cause::Other(innermost)
    }

    /// A wrong scheme or an untrusted certificate: repeating the request cannot help.
    pub(super) fn is_permanent(&self) -> bool {
        matches!(
            self,
            Cause::PlainHttpOnHttps | Cause::NotHttpOnHttp | Cause::Certificate(_) | Cause::Tls(_)
        )
    }

    pub(super) fn describe(&self, place: &Place) -> String {
        let hp = &place.host_port;
        match self {
            Cause::Refused => format!(
                "connection refused: nothing listens on {hp} (check the port, and that the server runs)"
            ),
            Cause::Dns => format!(
                "the host name `{}` does not resolve (DNS): check its spelling",
                place.host
            ),
            Cause::Timeout => format!(
                "no answer from {hp} within the timeout (a firewall dropping packets, or an overloaded server)"
            ),
            Cause::PlainHttpOnHttps => format!(
                "TLS handshake failed: {hp} answers plain HTTP, not HTTPS; use an http:// URL or the server's HTTPS port"
            ),
            Cause::NotHttpOnHttp => {
                format!("{hp} did not answer HTTP; it likely expects HTTPS: use an https:// URL")
            }
            Cause::Certificate(detail) => format!(
                "TLS handshake failed: the certificate of {hp} is not trusted ({detail}); give its CA in ca_file"
            ),
            Cause::Tls(detail) => format!("TLS handshake with {hp} failed: {detail}"),
            Cause::Closed => format!(
                "{hp} closed the connection without an answer (a proxy, a server restart, or an http:// URL for an HTTPS port)"
            ),
            Cause::Other(detail) => detail.clone(),
        }
    }
}

/// Reqwest errors print the URL, which for some APIs carries a tenant or a query: keep only
/// the error's own text.
pub(super) fn without_url(err: reqwest::Error) -> reqwest::Error {
    err.without_url()
}

pub(super) fn without_url_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}
