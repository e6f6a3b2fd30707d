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
            "authenticationSchemes": []
        }))
        .expect("a configuration");
        assert!(c.patch.supported && c.etag.supported && c.sort.supported);
        assert_eq!(c.bulk.max_operations, Some(1000));
        assert_eq!(c.filter.max_results, Some(200));
        let bare: ServiceProviderConfig = serde_json::from_value(json!({})).expect("empty");
        assert!(!bare.patch.supported && !bare.filter.supported && !bare.etag.supported);
    }
}
