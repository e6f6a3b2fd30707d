//! The answers of injected faults: those given in place of the emulated API (`429`,
//! `500`, `503`, `garbage`), and the API's real answer mangled (`html`, `wrongtype`,
//! `missing`, `huge`).

use std::convert::Infallible;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use super::faults::{
    Fault, FaultDice, FaultSpec, change_type, change_type_of_keys, remove_field, remove_keys,
};

/// The answer `fault` gives in place of the emulated API; `None` for a fault that lets the
/// request through (`slow`, `reset` and the mangling ones are the server's).
pub(super) fn instead(fault: Fault, spec: &FaultSpec) -> Option<Response<Body>> {
    let retry_after = spec.retry_after.as_secs().to_string();
    let (status, retry_after, body) = match fault {
        Fault::TooManyRequests => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(retry_after.as_str()),
            r#"{"error":"Too many requests (injected fault)"}"#,
        ),
        Fault::InternalError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            r#"{"error":"Internal server error (injected fault)"}"#,
        ),
        Fault::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(retry_after.as_str()),
            r#"{"error":"Service unavailable (injected fault)"}"#,
        ),
        Fault::Garbage => (StatusCode::OK, None, r#"{"id": "trunc"#),
        _ => return None,
    };
    Some(json_response(status, retry_after, body))
}

/// The API's answer `resp` after `fault` (`html`, `wrongtype`, `missing`, `huge`; any
/// other leaves it alone), the value or field it changes drawn with `dice`.
pub(super) async fn mangle(resp: Response<Body>, fault: Fault, dice: &FaultDice) -> Response<Body> {
    let spec = dice.spec();
    match fault {
        Fault::Html => html_page(dice.pick(2) == 0),
        Fault::WrongType if !spec.fields.is_empty() => {
            rewrite_json(resp, |doc| change_type_of_keys(doc, &spec.fields)).await
        }
        Fault::Missing if !spec.fields.is_empty() => {
            rewrite_json(resp, |doc| remove_keys(doc, &spec.fields)).await
        }
        Fault::WrongType => rewrite_json(resp, |doc| change_type(doc, |n| dice.pick(n))).await,
        Fault::Missing => rewrite_json(resp, |doc| remove_field(doc, |n| dice.pick(n))).await,
        Fault::Huge => inflate(resp, spec.huge_bytes).await,
        _ => resp,
    }
}

/// What a reverse proxy in front of a failing or restarting server sends.
const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// What a proxy's maintenance or sign-in interstitial sends, with status 200.
const PROXY_OK_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title></head>\n<body><h1>Your session has ended</h1><p>Please sign in again to continue.</p><form method=\"post\" action=\"/login\"><input name=\"user\"><input name=\"password\" type=\"password\"></form></body></html>\n";

/// The `html` fault's answer: the proxy's 502 page, or its 200 interstitial.
fn html_page(bad_gateway: bool) -> Response<Body> {
    let (status, page) = if bad_gateway {
        (StatusCode::BAD_GATEWAY, BAD_GATEWAY_PAGE)
    } else {
        (StatusCode::OK, PROXY_OK_PAGE)
    };
    let mut resp = Response::new(Body::from(page));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The most bytes of a handler's answer read to mangle it; emulators answer far less.
pub(super) const MANGLE_READ_LIMIT: usize = 256 * 1024 * 1024;

/// Reads the handler's answer whole and hands it to `change` as JSON; an answer that is
/// not JSON, or that `change` leaves alone, goes out as it came.
async fn rewrite_json(
    resp: Response<Body>,
    change: impl FnOnce(&mut serde_json::Value) -> bool,
) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MANGLE_READ_LIMIT).await else {
        // The emulator's own handler failed to produce its body: answer as a server
        // whose handler crashed mid-answer would.
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let changed = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|mut doc| change(&mut doc).then_some(doc))
        .and_then(|doc| serde_json::to_vec(&doc).ok());
    let out = changed.map_or(bytes, Bytes::from);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

/// One chunk of the padding a `huge` answer streams, shared by every such answer.
static PADDING: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// The `huge` fault: the handler's answer followed by whitespace until the body is larger
/// than `size` bytes, streamed chunk by chunk with no `Content-Length`, so that the client
/// must count what it reads. Trailing whitespace keeps a JSON answer valid JSON: only the
/// size is wrong.
async fn inflate(resp: Response<Body>, size: u64) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let head = axum::body::to_bytes(body, MANGLE_READ_LIMIT)
        .await
        .unwrap_or_default();
    let padding = (size + 1).saturating_sub(head.len() as u64);
    let chunk = PADDING.len() as u64;
    let full = padding / chunk;
    // The remainder is below one chunk, so it fits in usize on every platform.
    let rest = (padding % chunk) as usize;
    let chunks = std::iter::once(head)
        .chain((0..full).map(|_| Bytes::from_static(&PADDING)))
        .chain(std::iter::once(Bytes::from_static(&PADDING[..rest])))
        .filter(|b| !b.is_empty())
        .map(Ok::<_, Infallible>);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from_stream(futures::stream::iter(chunks)))
}

fn json_response(
    status: StatusCode,
    retry_after: Option<&str>,
    body: &'static str,
) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(after) = retry_after {
        builder = builder.header(header::RETRY_AFTER, after);
    }
    builder.body(Body::from(body)).unwrap_or_else(|_| {
        // Only reachable with an invalid header value, and every value above is ASCII.
        Response::new(Body::from(body))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::emulator::server::tests::faulted;
    #[tokio::test]
    async fn every_request_faulted_with_429_carries_retry_after() {
        let (server, _) = faulted("429=1,retry_after=3").await;
        let resp = reqwest::get(format!("{}/doc", server.url()))
            .await
            .expect("get");
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("3")
        );
        assert_eq!(server.log().faults(), 1);
    }

    #[tokio::test]
    async fn garbage_is_truncated_json() {
        let (server, _) = faulted("garbage=1").await;
        let body = reqwest::get(format!("{}/doc", server.url()))
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    }

    #[tokio::test]
    async fn html_replaces_the_answer_after_the_handler_ran() {
        let (server, counter) = faulted("html=1,seed=1").await;
        let client = reqwest::Client::new();
        let mut statuses = std::collections::BTreeSet::new();
        for _ in 0..16 {
            let resp = client
                .post(format!("{}/count", server.url()))
                .send()
                .await
                .expect("answer");
            statuses.insert(resp.status().as_u16());
            assert_eq!(
                resp.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("text/html; charset=utf-8")
            );
            let body = resp.text().await.expect("text");
            assert!(body.trim_start().starts_with('<'), "{body}");
            assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
        }
        assert_eq!(
            statuses,
            [200, 502].into_iter().collect(),
            "both pages are drawn"
        );
        assert_eq!(
            counter.load(Ordering::SeqCst),
            16,
            "every write took effect"
        );
        assert_eq!(server.log().faults(), 16);
        assert_eq!(server.log().served_writes().len(), 16);
    }

    fn type_name(v: &serde_json::Value) -> &'static str {
        match v {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "bool",
            serde_json::Value::Number(_) => "number",
            serde_json::Value::String(_) => "string",
            serde_json::Value::Array(_) => "array",
            serde_json::Value::Object(_) => "object",
        }
    }

    /// `GET /doc`, which must still be JSON.
    async fn get_doc(server: &crate::emulator::EmulatorServer) -> serde_json::Value {
        reqwest::get(format!("{}/doc", server.url()))
            .await
            .expect("get")
            .json()
            .await
            .expect("still JSON")
    }

    #[tokio::test]
    async fn wrongtype_changes_the_type_of_one_value() {
        let (server, _) = faulted("wrongtype=1,seed=5").await;
        let original = serde_json::json!({"id": "abc", "n": 1, "tags": ["x"]});
        let mut changed_paths = std::collections::BTreeSet::new();
        for _ in 0..24 {
            let doc = get_doc(&server).await;
            let obj = doc.as_object().expect("root stays an object");
            assert_eq!(obj.len(), 3, "{doc}");
            let mut differing = Vec::new();
            for key in ["id", "n", "tags"] {
                let (was, now) = (&original[key], &obj[key]);
                if type_name(was) != type_name(now) {
                    differing.push(key.to_string());
                } else if was != now {
                    // Only the inner value of `tags` can change without `tags` changing type.
                    assert_eq!(key, "tags", "{doc}");
                    assert_eq!(type_name(&now[0]), "number", "{doc}");
                    differing.push("tags[0]".to_string());
                }
            }
            assert_eq!(differing.len(), 1, "exactly one value changed: {doc}");
            changed_paths.extend(differing);
        }
        assert_eq!(
            changed_paths.len(),
            4,
            "every value is reachable: {changed_paths:?}"
        );
    }

    #[tokio::test]
    async fn missing_removes_one_field() {
        let (server, _) = faulted("missing=1,seed=9").await;
        let mut removed = std::collections::BTreeSet::new();
        for _ in 0..24 {
            let doc = get_doc(&server).await;
            let obj = doc.as_object().expect("object");
            assert_eq!(obj.len(), 2, "{doc}");
            for key in ["id", "n", "tags"] {
                if !obj.contains_key(key) {
                    removed.insert(key);
                } else {
                    assert_eq!(
                        obj[key],
                        serde_json::json!({"id": "abc", "n": 1, "tags": ["x"]})[key]
                    );
                }
            }
        }
        assert_eq!(removed.len(), 3, "every field is reachable: {removed:?}");
    }

    #[tokio::test]
    async fn huge_streams_past_the_size_without_a_length() {
        // 2 MiB here; the default, 65 MiB, only takes longer to read.
        let (server, counter) = faulted("huge=1,huge_mb=2").await;
        let mut resp = reqwest::Client::new()
            .post(format!("{}/count", server.url()))
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().get("content-length").is_none());
        let mut first = Vec::new();
        let mut total: u64 = 0;
        while let Some(chunk) = resp.chunk().await.expect("chunk") {
            if first.len() < 64 {
                first.extend_from_slice(&chunk[..chunk.len().min(64 - first.len())]);
            }
            total += chunk.len() as u64;
        }
        assert_eq!(total, 2 * 1024 * 1024 + 1);
        assert!(first.starts_with(br#"{"count":1}"#), "{first:?}");
        assert_eq!(counter.load(Ordering::SeqCst), 1);
    }
}
