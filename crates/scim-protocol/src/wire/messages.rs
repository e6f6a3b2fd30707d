//! Protocol messages (RFC 7644): list answers (§3.4.2), PATCH requests (§3.5.2) and error
//! answers (§3.12).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A list answer (RFC 7644 §3.4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListResponse<T> {
    /// The schemas (the ListResponse URN).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// How many results the query matched in all.
    #[serde(rename = "totalResults")]
    pub total_results: u64,
    /// The 1-based index of the first result on this page.
    #[serde(
        default,
        rename = "startIndex",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_index: Option<u64>,
    /// How many results this page holds.
    #[serde(
        default,
        rename = "itemsPerPage",
        skip_serializing_if = "Option::is_none"
    )]
    pub items_per_page: Option<u64>,
    /// The results; servers leave the key out when there are none.
    #[serde(default = "Vec::new", rename = "Resources")]
    pub resources: Vec<T>,
}

/// One PATCH operation (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    /// `add`, `remove` or `replace`.
    pub op: String,
    /// The attribute path (§3.5.2, ABNF of §3.10); absent for a whole-resource add/replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value; absent for a remove. An explicit `null` is kept as `Some(Value::Null)`
    /// (a replace with null unassigns the attribute, RFC 7643 §2.5).
    #[serde(
        default,
        deserialize_with = "explicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Value>,
}

/// Keeps a present `null` as `Some(Value::Null)`; an absent member stays `None` (default).
fn explicit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl PatchOperation {
    /// `{"op": "replace", "path": path, "value": value}`.
    pub fn replace(path: &str, value: Value) -> Self {
        PatchOperation {
            op: "replace".into(),
            path: Some(path.into()),
            value: Some(value),
        }
    }

    /// `{"op": "add", "path": path, "value": value}`.
    pub fn add(path: &str, value: Value) -> Self {
        PatchOperation {
            op: "add".into(),
            path: Some(path.into()),
            value: Some(value),
        }
    }

    /// `{"op": "remove", "path": path}`.
    pub fn remove(path: &str) -> Self {
        PatchOperation {
            op: "remove".into(),
            path: Some(path.into()),
            value: None,
        }
    }
}

/// A PATCH request body (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    /// The PatchOp URN.
    pub schemas: Vec<String>,
    /// The operations, applied in order, all or none.
    #[serde(rename = "Operations")]
    pub operations: Vec<PatchOperation>,
}

impl PatchOp {
    /// A request of `operations`.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchOp {
            schemas: vec![super::PATCH_OP_SCHEMA.to_string()],
            operations,
        }
    }
}

/// An error answer (RFC 7644 §3.12).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The schemas (the Error URN).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The HTTP status, which the RFC gives as a string; servers also send a number.
    #[serde(default, deserialize_with = "status_text")]
    pub status: Option<String>,
    /// The SCIM detail error keyword (`uniqueness`, `invalidFilter`, `tooMany`, ...).
    #[serde(default, rename = "scimType", skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn status_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_error_reads_its_status_as_text_or_number() {
        for status in [json!("409"), json!(409)] {
            let e: ErrorResponse = serde_json::from_value(json!({
                "schemas": [crate::wire::ERROR_SCHEMA], "status": status,
                "scimType": "uniqueness", "detail": "taken"
            }))
            .expect("an error");
            assert_eq!(e.status.as_deref(), Some("409"));
            assert_eq!(e.scim_type.as_deref(), Some("uniqueness"));
        }
    }

    #[test]
    fn a_list_without_resources_is_empty_and_a_patch_is_written_as_the_rfc_shows() {
        let l: ListResponse<Value> =
            serde_json::from_value(json!({"totalResults": 0})).expect("a list");
        assert!(l.resources.is_empty());
        let null: PatchOperation =
            serde_json::from_value(json!({"op": "replace", "path": "title", "value": null}))
                .expect("an operation");
        assert_eq!(null.value, Some(Value::Null));
        let absent: PatchOperation =
            serde_json::from_value(json!({"op": "remove", "path": "title"})).expect("one");
        assert_eq!(absent.value, None);
        let p = PatchOp::new(vec![
            PatchOperation::replace("active", json!(false)),
            PatchOperation::remove("members[value eq \"u1\"]"),
        ]);
        assert_eq!(
            serde_json::to_value(&p).expect("serializes"),
            json!({"schemas": [crate::wire::PATCH_OP_SCHEMA], "Operations": [
                {"op": "replace", "path": "active", "value": false},
                {"op": "remove", "path": "members[value eq \"u1\"]"}]})
        );
    }
}
