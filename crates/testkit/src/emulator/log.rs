//! What an emulator received: each request with its class and fault, counters, and the
//! credentials it handed out.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use http::{Response, StatusCode, header};
use idbridge_core::http::RequestCounts;

use super::answers::MANGLE_READ_LIMIT;
use super::contract::RequestClass;
use super::faults::Fault;

/// One request the emulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Login, read or write, as the emulator classifies it.
    pub class: RequestClass,
    /// The fault injected, if any: in place of serving it, or (see
    /// [`LoggedRequest::reached_handler`]) to the answer after serving it.
    pub fault: Option<&'static str>,
}

impl LoggedRequest {
    /// Whether the emulated API received the request: no fault, or a fault applied to
    /// its answer (`html`, `wrongtype`, `missing`, `huge`), so its effect on the state
    /// took place.
    pub fn reached_handler(&self) -> bool {
        self.fault
            .and_then(Fault::from_name)
            .is_none_or(Fault::reaches_handler)
    }
}

/// What an emulator received: counters and the list of requests.
#[derive(Debug, Default)]
pub struct RequestLog {
    reads: AtomicU64,
    writes: AtomicU64,
    faults: AtomicU64,
    /// The injected latency waited, in nanoseconds, over every request.
    waited_nanos: AtomicU64,
    entries: Mutex<Vec<LoggedRequest>>,
    issued: Mutex<BTreeSet<String>>,
}

impl RequestLog {
    /// Requests received so far, GET/HEAD as reads and the rest as writes (faulted ones
    /// included). `retries` is always 0: the server cannot tell a retry from a request.
    pub fn counts(&self) -> RequestCounts {
        RequestCounts {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            retries: 0,
        }
    }

    /// How many requests got an injected fault.
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    /// The latency injected so far, each request's wait as the timer gave it, summed: a
    /// wait of 20 ms lasts about 21 ms, as the timer wakes on its next millisecond and the
    /// task then waits for a worker. Zero when the server adds no latency.
    pub fn latency_waited(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.waited_nanos.load(Ordering::Relaxed))
    }

    pub(super) fn add_latency_waited(&self, waited: std::time::Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.waited_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// A copy of every request received, in arrival order.
    pub fn entries(&self) -> Vec<LoggedRequest> {
        match self.entries.lock() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The write requests (class [`RequestClass::Write`]: logins and token exchanges left
    /// out) that the emulated API served: not faulted, or faulted only in their answer
    /// (see [`LoggedRequest::reached_handler`]).
    pub fn served_writes(&self) -> Vec<LoggedRequest> {
        self.entries()
            .into_iter()
            .filter(|e| e.reached_handler() && e.class == RequestClass::Write)
            .collect()
    }

    /// How many requests of `class` arrived so far (faulted ones included).
    pub fn count(&self, class: RequestClass) -> usize {
        self.entries().iter().filter(|e| e.class == class).count()
    }

    /// Every credential the emulator handed out so far: each cookie value it set
    /// (`Set-Cookie`), each value of a response header named after a token
    /// (`X-MSTR-AuthToken`), and each string under a JSON key named after a token
    /// (`access_token`, `refresh_token`, `apiToken`). Tests assert that none of them shows
    /// in anything the client printed or wrote.
    pub fn issued_credentials(&self) -> Vec<String> {
        match self.issued.lock() {
            Ok(i) => i.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        }
    }

    fn issue(&self, value: &str) {
        let value = value.trim().trim_matches('"');
        if value.is_empty() {
            return;
        }
        match self.issued.lock() {
            Ok(mut i) => i.insert(value.to_string()),
            Err(poisoned) => poisoned.into_inner().insert(value.to_string()),
        };
    }

    /// Notes the credentials in a handler's answer (see
    /// [`RequestLog::issued_credentials`]); the answer goes out unchanged.
    pub(super) async fn note_credentials(&self, resp: Response<Body>) -> Response<Body> {
        for (name, value) in resp.headers() {
            let Ok(text) = value.to_str() else {
                continue;
            };
            if name == header::SET_COOKIE {
                if let Some((_, v)) = text.split(';').next().and_then(|p| p.split_once('=')) {
                    self.issue(v);
                }
            } else if name.as_str().contains("token") {
                self.issue(text);
            }
        }
        let json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        if !json {
            return resp;
        }
        // A listing of a million users passes the limit; no answer carrying a credential
        // comes near it, so such an answer goes out unread rather than failed.
        let size = axum::body::HttpBody::size_hint(resp.body()).exact();
        if size.is_some_and(|n| n > MANGLE_READ_LIMIT as u64) {
            return resp;
        }
        let (mut parts, body) = resp.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MANGLE_READ_LIMIT).await else {
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(parts, Body::empty());
        };
        // Only answers that mention a token are parsed: user listings need not be.
        if bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"token"))
            && let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            self.note_json(&doc);
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    fn note_json(&self, doc: &serde_json::Value) {
        match doc {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(s)
                            if key.to_ascii_lowercase().contains("token") =>
                        {
                            self.issue(s)
                        }
                        other => self.note_json(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.note_json(v)),
            _ => {}
        }
    }

    pub(super) fn record(
        &self,
        method: &http::Method,
        path: &str,
        class: RequestClass,
        fault: Option<Fault>,
    ) {
        if matches!(*method, http::Method::GET | http::Method::HEAD) {
            self.reads.fetch_add(1, Ordering::Relaxed);
        } else {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        if fault.is_some() {
            self.faults.fetch_add(1, Ordering::Relaxed);
        }
        let entry = LoggedRequest {
            method: method.to_string(),
            path: path.to_string(),
            class,
            fault: fault.map(Fault::as_str),
        };
        match self.entries.lock() {
            Ok(mut e) => e.push(entry),
            Err(poisoned) => poisoned.into_inner().push(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_answer(body: Vec<u8>) -> Response<Body> {
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("answer")
    }

    #[tokio::test]
    async fn credentials_in_an_answer_are_noted_and_the_answer_goes_out_unchanged() {
        let log = RequestLog::default();
        let body = br#"{"access_token": "tok-1234567890"}"#.to_vec();
        let resp = log.note_credentials(json_answer(body.clone())).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let out = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(out.as_ref(), body.as_slice());
        assert_eq!(log.issued_credentials(), vec!["tok-1234567890".to_string()]);
    }

    /// A listing of a million users is larger than what is read to look for credentials:
    /// it goes out whole, not as a failed answer.
    #[tokio::test]
    async fn an_answer_past_the_read_limit_goes_out_unread() {
        let log = RequestLog::default();
        let mut body = b"[".to_vec();
        body.resize(MANGLE_READ_LIMIT + 2, b' ');
        *body.last_mut().expect("not empty") = b']';
        let len = body.len();
        let resp = log.note_credentials(json_answer(body)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let out = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(out.len(), len);
    }
}
