//! Protocol errors (RFC 7644 §3.12): an HTTP status, an optional `scimType` keyword and a
//! detail, turned into the error body a service provider answers with.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::{ERROR_SCHEMA, ErrorResponse};

/// The `scimType` detail error keywords of RFC 7644 §3.12 (Table 9), serialized as the
/// RFC spells them (`invalidFilter`, `tooMany`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax was invalid or the filter was not supported for the attribute.
    InvalidFilter,
    /// The filter yields more results than the server is willing to answer.
    TooMany,
    /// One or more unique attribute values are already in use (409).
    Uniqueness,
    /// The attempted modification is not compatible with the attribute's mutability.
    Mutability,
    /// The request body's structure was invalid or did not conform to the schema.
    InvalidSyntax,
    /// The `path` attribute was invalid or malformed.
    InvalidPath,
    /// The `path` did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing or a value was not compatible with its attribute.
    InvalidValue,
    /// The SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because it carries sensitive information (a
    /// filter in a URL, for instance).
    Sensitive,
}

impl ScimType {
    /// The keyword as RFC 7644 §3.12 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }

    /// The keyword named by `s` (exact RFC spelling, any ASCII case); `None` for another.
    pub fn parse(s: &str) -> Option<ScimType> {
        const ALL: [ScimType; 10] = [
            ScimType::InvalidFilter,
            ScimType::TooMany,
            ScimType::Uniqueness,
            ScimType::Mutability,
            ScimType::InvalidSyntax,
            ScimType::InvalidPath,
            ScimType::NoTarget,
            ScimType::InvalidValue,
            ScimType::InvalidVers,
            ScimType::Sensitive,
        ];
        ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error: what a service provider answers with an error body (RFC 7644 §3.12).
/// The detail is meant for the client and never carries attribute values the request
/// marked sensitive (passwords are never echoed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// The HTTP status (400, 404, 409, 412, ...).
    pub status: u16,
    /// The detail keyword, for the 400 and 409 errors the RFC gives one.
    pub scim_type: Option<ScimType>,
    /// A human-readable message naming what failed and where.
    pub detail: String,
}

impl ScimError {
    /// An error of any status.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 Bad Request with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }

    /// 401 Unauthorized (RFC 7644 §3.12): no `scimType`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    /// 403 Forbidden.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// 409 Conflict with `scimType` `uniqueness` (a unique attribute's value is taken).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 412 Precondition Failed: the `If-Match` version is stale (RFC 7644 §3.14).
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    /// 413 Payload Too Large (a bulk request over `maxPayloadSize`, RFC 7644 §3.7.4).
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }

    /// 500 Internal Server Error.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }

    /// 501 Not Implemented (an operation the service provider does not offer).
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }

    /// The error body (RFC 7644 §3.12): the Error URN, the status as a string (as the RFC's
    /// examples write it), the `scimType` and the detail.
    pub fn to_response(&self) -> ErrorResponse {
        ErrorResponse {
            schemas: vec![ERROR_SCHEMA.to_string()],
            status: Some(self.status.to_string()),
            scim_type: self.scim_type.map(|t| t.as_str().to_string()),
            detail: Some(self.detail.clone()),
        }
    }

    /// Reads an error body back (a client reading a server's answer): `None` when its status
    /// is missing or not a number. An unknown `scimType` is dropped.
    pub fn from_response(response: &ErrorResponse) -> Option<Self> {
        let status = response.status.as_deref()?.trim().parse().ok()?;
        Some(ScimError {
            status,
            scim_type: response.scim_type.as_deref().and_then(ScimType::parse),
            detail: response.detail.clone().unwrap_or_default(),
        })
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SCIM {}", self.status)?;
        if let Some(t) = self.scim_type {
            write!(f, " ({t})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

impl std::error::Error for ScimError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_error_body_is_the_rfc_shape() {
        let e = ScimError::conflict("userName \"bjensen\" is taken");
        let body = serde_json::to_value(e.to_response()).expect("serializes");
        assert_eq!(
            body,
            json!({"schemas": [ERROR_SCHEMA], "status": "409", "scimType": "uniqueness",
                   "detail": "userName \"bjensen\" is taken"})
        );
        let back = ScimError::from_response(&e.to_response()).expect("reads back");
        assert_eq!(back, e);
        let nf = serde_json::to_value(ScimError::not_found("no user u1").to_response())
            .expect("serializes");
        assert!(nf.get("scimType").is_none(), "{nf}");
        assert_eq!(nf["status"], "404");
    }

    #[test]
    fn scim_types_serialize_as_the_rfc_strings() {
        assert_eq!(
            serde_json::to_value(ScimType::InvalidFilter).expect("serializes"),
            json!("invalidFilter")
        );
        assert_eq!(
            serde_json::to_value(ScimType::NoTarget).expect("serializes"),
            json!("noTarget")
        );
        let t: ScimType = serde_json::from_value(json!("invalidVers")).expect("reads");
        assert_eq!(t, ScimType::InvalidVers);
        assert_eq!(ScimType::parse("TOOMANY"), Some(ScimType::TooMany));
        assert_eq!(ScimType::parse("other"), None);
        assert_eq!(
            ScimError::mutability("id is readOnly").to_string(),
            "SCIM 400 (mutability): id is readOnly"
        );
    }
}
