//! A SCIM server on a loopback port over a temporary SQLite state, and a client for it.

use std::path::PathBuf;

use idbridge_core::Secret;
use idbridge_scim_server::{ServeConfig, serve};
use idbridge_store::Store;
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

/// The token every test client sends.
pub const TOKEN: &str = "scim-test-token-5f2c9a";
/// A second accepted token (rotation).
pub const OTHER_TOKEN: &str = "scim-test-token-rotated-77b1";

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
    /// The state file.
    pub state: PathBuf,
    pub dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<idbridge_core::Result<()>>>,
    pub http: reqwest::Client,
}

/// An answer: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn config() -> ServeConfig {
    ServeConfig::new(vec![Secret::new(TOKEN), Secret::new(OTHER_TOKEN)])
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(config()).await
    }

    pub async fn start_with(config: ServeConfig) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("state.db");
        let mut server = Self::start_on(state, config).await;
        server.dir = Some(dir);
        server
    }

    /// A server over an existing state file.
    pub async fn start_on(state: PathBuf, config: ServeConfig) -> Server {
        let store = Store::open(&state).expect("opens the state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("address");
        let base = format!("http://{addr}{}", config.base_path.trim_end_matches('/'));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(config, store, listener, async {
            let _ = rx.await;
        }));
        Server {
            base,
            state,
            dir: None,
            stop: Some(tx),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// Stops the server and waits for it to end.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("joins").expect("serves without error");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `method path` with the token and `body` (JSON) when given.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        answer(req).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a user named `name` and returns its id.
    pub async fn user(&self, name: &str) -> String {
        let a = self
            .post(
                "/Users",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name,
                    "active": true,
                }),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        id_of(&a.body)
    }
}

pub fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("an id").to_string()
}

pub async fn answer(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.expect("the server answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
