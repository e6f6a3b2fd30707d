//! The one error type of the emulators: an HTTP status, a message, and what the vendor
//! adds to them (an error code, an exception type, ...), written as the vendor's JSON
//! error body by a hook the vendor supplies ([`ErrorBody`]).
//!
//! A vendor crate names its error `type ApiError = idbridge_testkit::emulator::ApiError<MyBody>;`,
//! its state operations return [`ApiResult`], and its route handlers return
//! `ApiResult<Response>`: the error answers itself through [`IntoResponse`].

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::Value;

/// How one vendor writes an error answer: the part of an error beyond status and message,
/// and the JSON body it makes of them.
pub trait ErrorBody: Clone + fmt::Debug + PartialEq + Eq + Send + Sync + 'static {
    /// The body of an error answer carrying `message` (sent as `application/json`).
    fn body(&self, message: &str) -> Value;
}

/// A failed emulator operation, as the emulated server answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError<D> {
    /// The HTTP status.
    pub status: u16,
    /// The message the body carries.
    pub message: String,
    /// What the vendor adds (its error code, exception type, ...).
    pub detail: D,
}

/// The result of an emulator operation or route handler.
pub type ApiResult<T, D> = std::result::Result<T, ApiError<D>>;

impl<D> ApiError<D> {
    /// An error with `status`, the vendor's `detail` and `message`.
    pub fn with(status: u16, detail: D, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            detail,
        }
    }

    /// An error with `status` and `message`, for a vendor whose errors carry nothing more.
    pub fn new(status: u16, message: impl Into<String>) -> Self
    where
        D: Default,
    {
        Self::with(status, D::default(), message)
    }

    /// The status as an HTTP status (500 for a number that is none).
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl<D: ErrorBody> ApiError<D> {
    /// The JSON body the vendor sends for this error.
    pub fn body(&self) -> Value {
        self.detail.body(&self.message)
    }
}

impl<D: ErrorBody> fmt::Display for ApiError<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl<D: ErrorBody> IntoResponse for ApiError<D> {
    fn into_response(self) -> Response {
        (self.status_code(), axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    struct Plain;

    impl ErrorBody for Plain {
        fn body(&self, message: &str) -> Value {
            json!({ "error": message })
        }
    }

    #[tokio::test]
    async fn an_error_answers_with_its_status_and_the_vendors_body() {
        let resp = ApiError::<Plain>::new(409, "taken").into_response();
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        assert_eq!(
            resp.headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let bytes = axum::body::to_bytes(resp.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(&bytes[..], br#"{"error":"taken"}"#);
    }

    #[test]
    fn a_status_that_is_none_answers_500() {
        let e = ApiError::<Plain>::new(1000, "odd");
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.to_string(), "1000 odd");
    }
}
