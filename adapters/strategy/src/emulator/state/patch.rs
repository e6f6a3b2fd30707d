//! The PATCH `operationList` documents and the values they carry.

use super::*;

/// A value that may be one id or an array of ids, as PATCH `value`s arrive.
pub fn ids_of(value: &Value) -> ApiResult<Vec<String>> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Object(o) => o
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::invalid("Expected an id in the value list")),
                _ => Err(ApiError::invalid("Expected an id in the value list")),
            })
            .collect(),
        _ => Err(ApiError::invalid(
            "Expected an id or a list of ids as value",
        )),
    }
}

pub(super) fn as_str_value(value: &Value, path: &str) -> ApiResult<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        _ => Err(ApiError::invalid(format!(
            "Expected a string value for '{path}'"
        ))),
    }
}

pub(super) fn as_bool_value(value: &Value, path: &str) -> ApiResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ApiError::invalid(format!(
            "Expected a boolean value for '{path}'"
        ))),
    }
}

/// One parsed PATCH operation.
#[derive(Debug, Clone)]
pub struct PatchOp {
    /// Lower-cased `op`.
    pub op: String,
    /// `path` without the leading `/`.
    pub path: String,
    /// `value`.
    pub value: Value,
}

/// Reads `{"operationList": [...]}`, comparing `op` case-insensitively.
pub fn parse_operations(body: &Value) -> ApiResult<Vec<PatchOp>> {
    let list = body
        .get("operationList")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::missing("operationList"))?;
    list.iter()
        .map(|o| {
            let op = o
                .get("op")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::missing("op"))?
                .to_ascii_lowercase();
            let path = o
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::missing("path"))?
                .trim_start_matches('/')
                .to_string();
            Ok(PatchOp {
                op,
                path,
                value: o.get("value").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// The trimmed text of the required field `key` of a body (400 `ERR007` when missing or
/// blank).
pub(super) fn required_text(body: &Value, key: &str) -> ApiResult<String> {
    body.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::missing(key))
}

/// The ids of an optional list field (`null` or absent: none).
pub(super) fn optional_ids(value: Option<&Value>) -> ApiResult<Vec<String>> {
    match value {
        Some(Value::Null) | None => Ok(Vec::new()),
        Some(v) => ids_of(v),
    }
}
