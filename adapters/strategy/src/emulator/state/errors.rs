//! The REST tier's error answers: `{code, message, ticketId}` with the Intelligence
//! Server's code where it passes one on, on the testkit's one emulator error type.

use idbridge_testkit::emulator::ErrorBody;
use serde_json::{Value, json};

use super::new_ticket_id;

/// What the REST tier's errors carry beyond status and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MstrError {
    /// `ERRnnn`.
    pub code: &'static str,
    /// The Intelligence Server code, where the REST tier passes one on.
    pub iserver_code: Option<i64>,
}

impl ErrorBody for MstrError {
    fn body(&self, message: &str) -> Value {
        let mut body = json!({"code": self.code, "message": message, "ticketId": new_ticket_id()});
        if let Some(c) = self.iserver_code {
            body["iServerCode"] = Value::from(c);
        }
        body
    }
}

/// A failed operation, as the REST tier would answer it.
pub type ApiError = idbridge_testkit::emulator::ApiError<MstrError>;

/// The result of a state operation.
pub type ApiResult<T> = idbridge_testkit::emulator::ApiResult<T, MstrError>;

/// The errors the REST tier answers.
pub trait MstrErrors {
    /// An error with `status`, `code` and `message`, and no Intelligence Server code.
    fn coded(status: u16, code: &'static str, message: impl Into<String>) -> Self;
    /// 400 `ERR006`.
    fn invalid(message: impl Into<String>) -> Self;
    /// 400 `ERR007`.
    fn missing(field: &str) -> Self;
    /// 404 `ERR004` for a record.
    fn not_found(what: &str, id: &str) -> Self;
    /// 409 `ERR015`: the emulator's answer to a duplicate login or group name.
    fn exists(what: &str, name: &str) -> Self;
    /// 401 `ERR009`.
    fn session_expired() -> Self;
    /// 401 `ERR003`.
    fn login_failed(message: impl Into<String>) -> Self;
    /// 403 `ERR017`.
    fn forbidden(message: impl Into<String>) -> Self;
    /// 404 `ERR004` `HTTP 404 Not Found`: no such endpoint.
    fn no_route() -> Self;
    /// 500 `ERR001` from the Intelligence Server with its code `iserver_code`.
    fn iserver(message: impl Into<String>, iserver_code: i64) -> Self;
    /// 500 `ERR001` "object not found" from the Intelligence Server (the generic objects
    /// endpoint answers missing objects this way).
    fn iserver_not_found(id: &str, object_type: i64) -> Self;
}

impl MstrErrors for ApiError {
    fn coded(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        let detail = MstrError {
            code,
            iserver_code: None,
        };
        ApiError::with(status, detail, message)
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::coded(400, "ERR006", message)
    }

    fn missing(field: &str) -> Self {
        Self::coded(400, "ERR007", format!("Missing required field '{field}'"))
    }

    fn not_found(what: &str, id: &str) -> Self {
        Self::coded(
            404,
            "ERR004",
            format!("{what} with ID '{id}' could not be found"),
        )
    }

    fn exists(what: &str, name: &str) -> Self {
        Self::coded(
            409,
            "ERR015",
            format!("{what} with the name '{name}' already exists"),
        )
    }

    fn session_expired() -> Self {
        Self::coded(
            401,
            "ERR009",
            "The user's session has expired, please reauthenticate",
        )
    }

    fn login_failed(message: impl Into<String>) -> Self {
        Self::coded(401, "ERR003", message)
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Self::coded(403, "ERR017", message)
    }

    fn no_route() -> Self {
        Self::coded(404, "ERR004", "HTTP 404 Not Found")
    }

    fn iserver(message: impl Into<String>, iserver_code: i64) -> Self {
        let detail = MstrError {
            code: "ERR001",
            iserver_code: Some(iserver_code),
        };
        ApiError::with(500, detail, message)
    }

    fn iserver_not_found(id: &str, object_type: i64) -> Self {
        Self::iserver(
            format!("Object with ID '{id}' and type {object_type} is not found in metadata."),
            -2_147_216_373,
        )
    }
}
