//! The service provider's configuration (RFC 7643 §5): what the server supports.

use serde::{Deserialize, Serialize};

/// `{"supported": bool}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supported {
    /// Whether the feature is there.
    #[serde(default)]
    pub supported: bool,
}

/// `bulk` (RFC 7643 §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bulk {
    /// Whether `/Bulk` is there.
    #[serde(default)]
    pub supported: bool,
    /// The most operations in one bulk request.
    #[serde(default)]
    pub max_operations: Option<u64>,
    /// The largest bulk request, in bytes.
    #[serde(default)]
    pub max_payload_size: Option<u64>,
}

/// `filter` (RFC 7643 §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Whether `filter=` is honoured.
    #[serde(default)]
    pub supported: bool,
    /// The most resources one answer returns.
    #[serde(default)]
    pub max_results: Option<u64>,
}

/// `/ServiceProviderConfig` (RFC 7643 §5). A feature the server leaves out is read as
/// unsupported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// The schemas.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// PATCH (RFC 7644 §3.5.2).
    #[serde(default)]
    pub patch: Supported,
    /// `/Bulk` (RFC 7644 §3.7).
    #[serde(default)]
    pub bulk: Bulk,
    /// Filtering (RFC 7644 §3.4.2.2).
    #[serde(default)]
    pub filter: Filter,
    /// Password changes.
    #[serde(default)]
    pub change_password: Supported,
    /// Sorting (RFC 7644 §3.4.2.3).
    #[serde(default)]
    pub sort: Supported,
    /// Versions and `If-Match` (RFC 7644 §3.14).
    #[serde(default)]
    pub etag: Supported,
    /// How clients authenticate; a server lists at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authentication_schemes: Vec<AuthenticationScheme>,
    /// The URI of the service provider's help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
}

/// One of `authenticationSchemes` (RFC 7643 §5). Members a server leaves out read as empty,
/// so that a terse server's configuration still reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationScheme {
    /// `oauth`, `oauth2`, `oauthbearertoken`, `httpbasic` or `httpdigest`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The scheme's name.
    #[serde(default)]
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// The URI of its specification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_uri: Option<String>,
    /// The URI of its documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// Whether it is the preferred scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

impl AuthenticationScheme {
    /// The OAuth bearer token scheme (RFC 6750), which `Authorization: Bearer <token>`
    /// uses.
    pub fn bearer_token() -> Self {
        AuthenticationScheme {
            kind: "oauthbearertoken".to_string(),
            name: "OAuth Bearer Token".to_string(),
            description: "Authentication with a bearer token in the Authorization header"
                .to_string(),
            spec_uri: Some("https://www.rfc-editor.org/info/rfc6750".to_string()),
            documentation_uri: None,
            primary: Some(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rfc_example_reads_and_missing_features_are_unsupported() {
        let c: ServiceProviderConfig = serde_json::from_value(json!({
            "schemas": [crate::wire::SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the OAuth Bearer Token Standard",
                "specUri": "http://www.rfc-editor.org/info/rfc6750",
                "documentationUri": "http://example.com/help/oauth.html"}]
        }))
        .expect("a configuration");
        assert_eq!(c.authentication_schemes[0].kind, "oauthbearertoken");
        let out = serde_json::to_value(&c).expect("writes");
        assert_eq!(
            out["authenticationSchemes"][0]["specUri"],
            "http://www.rfc-editor.org/info/rfc6750"
        );
        assert_eq!(out["bulk"]["maxOperations"], 1000);
        assert!(c.patch.supported && c.etag.supported && c.sort.supported);
        assert_eq!(c.bulk.max_operations, Some(1000));
        assert_eq!(c.filter.max_results, Some(200));
        let bare: ServiceProviderConfig =
            serde_json::from_value(json!({"authenticationSchemes": [{"type": "httpbasic"}]}))
                .expect("terse");
        assert_eq!(bare.authentication_schemes[0].kind, "httpbasic");
        assert!(!bare.patch.supported && !bare.filter.supported && !bare.etag.supported);
    }
}
