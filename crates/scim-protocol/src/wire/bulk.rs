//! Bulk requests and answers (RFC 7644 §3.7), and the `bulkId:` references that let one
//! operation name a resource an earlier one creates (§3.7.2).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The schema URN of a bulk request.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The schema URN of a bulk answer.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The prefix of a reference to another operation's resource (RFC 7644 §3.7.2).
pub const BULK_ID_PREFIX: &str = "bulkId:";

/// A bulk request (RFC 7644 §3.7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkRequest {
    /// The schemas (the BulkRequest URN).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// How many errors the service provider accepts before it stops (absent: it runs
    /// every operation).
    #[serde(
        default,
        rename = "failOnErrors",
        skip_serializing_if = "Option::is_none"
    )]
    pub fail_on_errors: Option<u64>,
    /// The operations, in order.
    #[serde(rename = "Operations", default)]
    pub operations: Vec<BulkOperation>,
}

/// One operation of a bulk request (RFC 7644 §3.7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkOperation {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The client's id for the resource a POST creates, which later operations reference
    /// as `bulkId:<id>`; required with POST.
    #[serde(default, rename = "bulkId", skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The version the operation expects (`If-Match`, RFC 7644 §3.14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource's path relative to the base URL (`/Users`, `/Groups/<id>`).
    #[serde(default)]
    pub path: String,
    /// The body (a resource, or a PatchOp); absent for DELETE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A bulk answer (RFC 7644 §3.7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkResponse {
    /// The schemas (the BulkResponse URN).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// One answer per operation run, in order.
    #[serde(rename = "Operations", default)]
    pub operations: Vec<BulkOperationResponse>,
}

impl BulkResponse {
    /// An answer of `operations`.
    pub fn new(operations: Vec<BulkOperationResponse>) -> Self {
        BulkResponse {
            schemas: vec![BULK_RESPONSE_SCHEMA.to_string()],
            operations,
        }
    }
}

/// The answer to one bulk operation (RFC 7644 §3.7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkOperationResponse {
    /// The operation's method.
    pub method: String,
    /// The operation's `bulkId`.
    #[serde(default, rename = "bulkId", skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource's version after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The HTTP status, a string as in the RFC's examples (`"201"`); a number is read too.
    #[serde(deserialize_with = "status_text", default)]
    pub status: String,
    /// The body of an error (RFC 7644 §3.12), or of a success when the server sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

impl BulkOperationResponse {
    /// The status as a number; `None` when it is not one.
    pub fn status_code(&self) -> Option<u16> {
        self.status.trim().parse().ok()
    }
}

fn status_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

/// The bulk id `s` references (`"bulkId:qwerty"` gives `qwerty`), if it is a reference.
pub fn bulk_id_reference(s: &str) -> Option<&str> {
    s.strip_prefix(BULK_ID_PREFIX).filter(|id| !id.is_empty())
}

/// Every bulk id referenced by a string of `value` (anywhere inside it), without repeats,
/// in the order first met.
pub fn bulk_id_references(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(id) = bulk_id_reference(s) {
                    if !found.iter().any(|f| f == id) {
                        found.push(id.to_string());
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(members) => stack.extend(members.values().rev()),
            _ => {}
        }
    }
    found
}

/// Replaces every `"bulkId:<id>"` string inside `value` by the id `resolve` gives for
/// `<id>` (the server's id of the resource that operation created).
///
/// # Errors
/// The first bulk id `resolve` does not know (the operation then fails with 409, RFC 7644
/// §3.7.2, or waits for its dependency); `value` may be partly resolved.
pub fn resolve_bulk_ids(
    value: &mut Value,
    resolve: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(id) = bulk_id_reference(s) {
                    let resolved = resolve(id).ok_or_else(|| id.to_string())?;
                    *s = resolved;
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(members) => stack.extend(members.values_mut()),
            _ => {}
        }
    }
    Ok(())
}

/// Resolves a `bulkId:<id>` segment of an operation's path (`/Groups/bulkId:qwerty`).
///
/// # Errors
/// The bulk id `resolve` does not know.
pub fn resolve_bulk_id_in_path(
    path: &str,
    resolve: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    path.split('/')
        .map(|segment| match bulk_id_reference(segment) {
            Some(id) => resolve(id).ok_or_else(|| id.to_string()),
            None => Ok(segment.to_string()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|segments| segments.join("/"))
}

/// An order to run a request's operations in so that an operation referencing
/// `bulkId:<id>` (in its data or path) runs after the POST that creates `<id>`; otherwise
/// the request's order is kept. Operations caught in a circular reference, or
/// referencing an id no operation creates, come last in request order (they fail when their
/// reference cannot be resolved, RFC 7644 §3.7.2).
pub fn dependency_order(operations: &[BulkOperation]) -> Vec<usize> {
    let creators: HashMap<&str, usize> = operations
        .iter()
        .enumerate()
        .filter_map(|(i, op)| op.bulk_id.as_deref().map(|id| (id, i)))
        .collect();
    let needs: Vec<Vec<usize>> = operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let mut refs = op.data.as_ref().map(bulk_id_references).unwrap_or_default();
            refs.extend(
                op.path
                    .split('/')
                    .filter_map(bulk_id_reference)
                    .map(str::to_string),
            );
            refs.iter()
                .map(|id| creators.get(id.as_str()).copied().unwrap_or(usize::MAX))
                .filter(|&j| j != i)
                .collect()
        })
        .collect();
    let mut done: HashSet<usize> = HashSet::new();
    let mut order = Vec::with_capacity(operations.len());
    loop {
        let before = order.len();
        for (i, deps) in needs.iter().enumerate() {
            if !done.contains(&i) && deps.iter().all(|d| done.contains(d)) {
                done.insert(i);
                order.push(i);
            }
        }
        if order.len() == before {
            break;
        }
    }
    order.extend((0..operations.len()).filter(|i| !done.contains(i)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7644 §3.7.2's request: a group created with a member that another operation
    /// creates, referenced by bulk id.
    fn rfc_request() -> Value {
        json!({
            "schemas": [BULK_REQUEST_SCHEMA],
            "failOnErrors": 1,
            "Operations": [
                {"method": "POST", "path": "/Groups", "bulkId": "ytrewq", "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Group B",
                    "members": [{"type": "User", "value": "bulkId:qwerty"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "Alice"}},
                {"method": "PUT", "path": "/Users/b7c14771-226c-4d05-8860-134711653041",
                 "version": "W/\"3694e05e9dff591\"", "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id": "b7c14771-226c-4d05-8860-134711653041", "userName": "Bob"}},
                {"method": "DELETE", "path": "/Users/e9025315-6bea-44e1-899c-1e07454e468b",
                 "version": "W/\"0ee8add0a938e1a\""}
            ]
        })
    }

    #[test]
    fn the_rfc_request_reads_and_writes_back() {
        let req: BulkRequest = serde_json::from_value(rfc_request()).expect("reads");
        assert_eq!(req.fail_on_errors, Some(1));
        assert_eq!(req.operations.len(), 4);
        assert_eq!(req.operations[1].bulk_id.as_deref(), Some("qwerty"));
        assert!(req.operations[3].data.is_none());
        assert_eq!(serde_json::to_value(&req).expect("writes"), rfc_request());
    }

    #[test]
    fn the_rfc_response_reads_and_writes_with_string_statuses() {
        let rfc = json!({
            "schemas": [BULK_RESPONSE_SCHEMA],
            "Operations": [
                {"location": "https://example.com/v2/Users/92b725cd", "method": "POST",
                 "bulkId": "qwerty", "version": "W/\"4weymrEsh5O6cAEK\"", "status": "201"},
                {"method": "PATCH", "status": "400", "response": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "scimType": "invalidSyntax", "detail": "Request is unparsable.",
                    "status": "400"}}
            ]
        });
        let resp: BulkResponse = serde_json::from_value(rfc.clone()).expect("reads");
        assert_eq!(resp.operations[0].status_code(), Some(201));
        assert_eq!(resp.operations[1].status_code(), Some(400));
        assert_eq!(serde_json::to_value(&resp).expect("writes"), rfc);
        let numeric: BulkOperationResponse =
            serde_json::from_value(json!({"method": "DELETE", "status": 204})).expect("reads");
        assert_eq!(numeric.status, "204");
    }

    #[test]
    fn bulk_ids_resolve_and_order_the_operations() {
        let req: BulkRequest = serde_json::from_value(rfc_request()).expect("reads");
        assert_eq!(dependency_order(&req.operations), [1, 2, 3, 0]);
        let mut group = req.operations[0].data.clone().expect("data");
        assert_eq!(bulk_id_references(&group), ["qwerty"]);
        let ids = |id: &str| (id == "qwerty").then(|| "92b725cd".to_string());
        resolve_bulk_ids(&mut group, ids).expect("resolves");
        assert_eq!(group["members"][0]["value"], "92b725cd");
        let mut dangling = json!({"members": [{"value": "bulkId:nope"}]});
        assert_eq!(
            resolve_bulk_ids(&mut dangling, ids),
            Err("nope".to_string())
        );
        assert_eq!(
            resolve_bulk_id_in_path("/Groups/bulkId:qwerty", ids).as_deref(),
            Ok("/Groups/92b725cd")
        );
        assert_eq!(bulk_id_reference("bulkId:"), None);
        assert_eq!(bulk_id_reference("qwerty"), None);
    }

    #[test]
    fn circular_references_come_last() {
        let ops: Vec<BulkOperation> = serde_json::from_value(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a",
             "data": {"members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b",
             "data": {"members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "c"}},
            {"method": "PATCH", "path": "/Groups/bulkId:c", "data": {}}
        ]))
        .expect("reads");
        assert_eq!(dependency_order(&ops), [2, 3, 0, 1]);
    }
}
