//! Response bodies: a capped read, and JSON parsing that names the field that did not
//! match and shows the start of the body.

use reqwest::Response;
use serde::de::DeserializeOwned;

use super::transport::without_url;
use crate::{Error, ErrorKind, Result};

/// Reads a whole body, refusing more than `limit` bytes.
///
/// Prefer [`HttpClient::read_body`](super::HttpClient::read_body), whose error also names
/// the system whose `max_response_mib` to raise.
///
/// # Errors
/// [`ErrorKind::Protocol`] when the body is larger than `limit`, naming the
/// `max_response_mib` connection setting;
/// [`ErrorKind::Unavailable`] when the connection drops while reading.
pub async fn read_body(resp: Response, limit: usize) -> Result<Vec<u8>> {
    read_capped(resp, limit, "").await
}

/// [`read_body`], whose error when the body is too large names `system`'s setting
/// (`""`: a client built outside a configured system).
pub(crate) async fn read_capped(mut resp: Response, limit: usize, system: &str) -> Result<Vec<u8>> {
    if let Some(len) = resp.content_length()
        && len > limit as u64
    {
        return Err(Error::protocol(format!(
            "response body of {len} bytes {}",
            over_limit(limit, system)
        ))
        .with_http_status(resp.status().as_u16()));
    }
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(Error::protocol(format!(
                        "response body {}",
                        over_limit(limit, system)
                    ))
                    .with_http_status(status));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(
                    Error::unavailable("connection dropped while reading the response")
                        .with_http_status(status)
                        .with_source(without_url(e)),
                );
            }
        }
    }
}

/// "exceeds the limit ...", with the setting that raises it: the operator's next step.
fn over_limit(limit: usize, system: &str) -> String {
    const MIB: usize = 1024 * 1024;
    let size = if limit % MIB == 0 {
        format!("{limit} bytes ({} MiB)", limit / MIB)
    } else {
        format!("{limit} bytes")
    };
    let whose = match system {
        "" => String::new(),
        "source" => " of the source".to_string(),
        name => format!(" of target `{name}`"),
    };
    format!(
        "exceeds the limit of {size}; raise the connection setting `max_response_mib`{whose} to read it"
    )
}

/// Parses JSON into `T`; on failure names the JSON path that did not match and shows the
/// start of the body, so a truncated body or an HTML error page is recognisable.
///
/// # Errors
/// [`ErrorKind::Protocol`].
pub fn parse_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let at = if path == "." || path.is_empty() {
                String::new()
            } else {
                format!(" at `{path}`")
            };
            Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "unexpected {what} response{at}: {inner}; body starts with: {}",
                    body_excerpt(body)
                ),
            ))
        }
    }
}

/// The first 120 characters of a body, on one line, for error messages, cleaned of every
/// registered secret ([`crate::redact`]): a server may repeat the request it refused.
pub fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = crate::redact(&text);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    if one_line.trim().is_empty() {
        "(empty)".to_string()
    } else {
        format!("`{}`", one_line.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_json_names_the_path_and_shows_html() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct U {
            id: String,
            n: u32,
        }
        let err = parse_json::<U>(br#"{"id":"a","n":"x"}"#, "user").expect_err("wrong type");
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert!(err.message().contains("at `n`"), "{}", err.message());
        let err =
            parse_json::<U>(b"<html><body>Bad Gateway</body></html>", "user").expect_err("html");
        assert!(err.message().contains("<html>"), "{}", err.message());
    }
}
