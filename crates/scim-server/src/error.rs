//! Errors as RFC 7644 §3.12 describes them: an HTTP status, a `scimType` where the RFC
//! names one, and a detail that tells the client what to fix (never a secret, never the
//! internals of the state database).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idbridge_core::ErrorKind;
use serde_json::json;

use crate::MEDIA_TYPE;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// RFC 7644 §3.12's `scimType` (`invalidFilter`, `uniqueness`, ...), where one applies.
    pub scim_type: Option<&'static str>,
    /// What went wrong, for people.
    pub detail: String,
}

/// Results of the server's operations.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl ApiError {
    /// An error with `status`, `scim_type` and `detail`.
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    /// 412: the resource changed since the version the client named.
    pub fn stale(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, None, detail)
    }

    /// The answer to an error of the state database. A failed version check is a 412 and
    /// a missing resource a 404; anything else is logged and answered 500 without its
    /// details.
    pub fn from_store(e: &idbridge_core::Error) -> Self {
        match e.kind() {
            ErrorKind::Conflict => {
                Self::stale("the resource was changed by another request; read it again")
            }
            ErrorKind::NotFound => Self::not_found("the resource does not exist"),
            _ => {
                tracing::error!(error = %e, "SCIM server: the state database failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "the state database failed; the change was not stored",
                )
            }
        }
    }

    /// The RFC 7644 §3.12 body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [idbridge_scim_protocol::wire::ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(obj)) = (self.scim_type, body.as_object_mut()) {
            obj.insert("scimType".into(), json!(t));
        }
        body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body().to_string()).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"idbridge\""),
            );
        }
        resp
    }
}
