//! A search request (`POST /.search`, `POST /Users/.search`, RFC 7644 §3.4.3): the query
//! parameters of a GET, as a body.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The schema URN of a search request.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A search request (RFC 7644 §3.4.3). Attribute lists are arrays in the RFC; a string
/// of comma-separated names (the GET parameter's form) is read too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// The schemas (the SearchRequest URN).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The attributes to return (§3.4.2.5).
    #[serde(
        default,
        deserialize_with = "names",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attributes: Vec<String>,
    /// The attributes to leave out (§3.4.2.5).
    #[serde(
        default,
        deserialize_with = "names",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub excluded_attributes: Vec<String>,
    /// The filter (§3.4.2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The attribute to sort by (§3.4.2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// `ascending` or `descending` (§3.4.2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    /// The 1-based index of the first result (§3.4.2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<i64>,
    /// The most results on the page (§3.4.2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

fn names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7644 §3.4.3's example request.
    #[test]
    fn the_rfc_search_request_reads_and_writes_back() {
        let rfc = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "attributes": ["displayName", "userName"],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1,
            "count": 10
        });
        let req: SearchRequest = serde_json::from_value(rfc.clone()).expect("reads");
        assert_eq!(req.attributes, ["displayName", "userName"]);
        assert_eq!(req.count, Some(10));
        assert_eq!(serde_json::to_value(&req).expect("writes"), rfc);
        let listed: SearchRequest =
            serde_json::from_value(json!({"excludedAttributes": "members, meta"})).expect("reads");
        assert_eq!(listed.excluded_attributes, ["members", "meta"]);
    }
}
