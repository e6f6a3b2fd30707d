//! `/Bulk` (RFC 7644 §3.7): several operations in one request, `bulkId` references
//! between them, `failOnErrors`. Each operation is its own durable write, as if sent
//! alone; the limits advertised in `/ServiceProviderConfig` are enforced.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idbridge_store::InboxKind;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::http::{base_url, blocking, json_body, scim};
use crate::resources::{self, IfMatch, endpoint, etag};
use crate::state::{Inner, ServerState};

const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const BULK_ID_PREFIX: &str = "bulkId:";

/// One operation of the request, as read.
struct Op {
    method: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn read_op(v: &Value) -> ApiResult<Op> {
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::invalid_syntax("every bulk operation must be an object"))?;
    let text = |name: &str| field(obj, name).and_then(Value::as_str).map(str::to_string);
    Ok(Op {
        method: text("method")
            .ok_or_else(|| ApiError::invalid_syntax("a bulk operation needs a `method`"))?
            .to_ascii_uppercase(),
        bulk_id: text("bulkId"),
        version: text("version"),
        path: text("path")
            .ok_or_else(|| ApiError::invalid_syntax("a bulk operation needs a `path`"))?,
        data: field(obj, "data").cloned(),
    })
}

/// Every `bulkId:x` reference in `v`.
fn references(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX) {
                out.insert(id.to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|i| references(i, out)),
        Value::Object(m) => m.values().for_each(|i| references(i, out)),
        _ => {}
    }
}

fn resolve(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX).and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| resolve(i, ids)),
        Value::Object(m) => m.values_mut().for_each(|i| resolve(i, ids)),
        _ => {}
    }
}

fn op_refs(op: &Op) -> HashSet<String> {
    let mut refs = HashSet::new();
    if let Some(d) = &op.data {
        references(d, &mut refs);
    }
    references(
        &Value::String(op.path.rsplit('/').next().unwrap_or("").to_string()),
        &mut refs,
    );
    refs
}

fn kind_of(segment: &str) -> ApiResult<InboxKind> {
    match segment {
        "Users" => Ok(InboxKind::User),
        "Groups" => Ok(InboxKind::Group),
        other => Err(ApiError::invalid_value(format!(
            "bulk path `/{other}` is not a resource endpoint"
        ))),
    }
}

/// Runs one operation whose references are resolved; answers (status, kind, id, version).
fn run(
    inner: &Inner,
    op: &Op,
    data: Option<Value>,
) -> ApiResult<(StatusCode, InboxKind, String, i64)> {
    let mut parts = op.path.trim_start_matches('/').splitn(2, '/');
    let kind = kind_of(parts.next().unwrap_or_default())?;
    let id = parts.next().filter(|s| !s.is_empty());
    let if_match = op.version.as_deref().map(IfMatch::parse);
    let need_data = || {
        data.clone()
            .ok_or_else(|| ApiError::invalid_syntax("this bulk operation needs `data`"))
    };
    let need_id = || {
        id.ok_or_else(|| {
            ApiError::invalid_syntax(format!("`{}` needs a resource id in its path", op.method))
        })
    };
    match op.method.as_str() {
        "POST" if id.is_none() => {
            let e = resources::create(inner, kind, need_data()?)?;
            Ok((StatusCode::CREATED, kind, e.id, e.version))
        }
        "PUT" => {
            let e = resources::replace(inner, kind, need_id()?, need_data()?, if_match.as_ref())?;
            Ok((StatusCode::OK, kind, e.id, e.version))
        }
        "PATCH" => {
            let e = resources::patch(inner, kind, need_id()?, &need_data()?, if_match.as_ref())?;
            Ok((StatusCode::OK, kind, e.id, e.version))
        }
        "DELETE" => {
            let id = need_id()?;
            resources::delete(inner, kind, id, if_match.as_ref())?;
            Ok((StatusCode::NO_CONTENT, kind, id.to_string(), 0))
        }
        _ => Err(ApiError::invalid_syntax(format!(
            "bulk method `{}` on `{}` is not supported",
            op.method, op.path
        ))),
    }
}

fn process(inner: &Inner, body: &Value, base_url: &str) -> ApiResult<Value> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::invalid_syntax("a bulk request must be a JSON object"))?;
    let fail_on_errors =
        match field(obj, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                ApiError::invalid_value("`failOnErrors` must be a positive integer")
            })?),
        };
    let raw = field(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_syntax("a bulk request needs `Operations`"))?;
    let max = inner.config.max_bulk_operations;
    if raw.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!(
                "a bulk request may hold at most {max} operations; this one holds {}",
                raw.len()
            ),
        ));
    }
    let ops: Vec<Op> = raw.iter().map(read_op).collect::<ApiResult<_>>()?;
    let declared: HashSet<String> = ops.iter().filter_map(|o| o.bulk_id.clone()).collect();
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    let mut errors = 0u64;
    'passes: loop {
        let mut progressed = false;
        let mut waiting = Vec::new();
        for i in pending {
            let op = &ops[i];
            let refs = op_refs(op);
            let unresolved: Vec<&String> = refs.iter().filter(|r| !ids.contains_key(*r)).collect();
            if unresolved
                .iter()
                .any(|r| declared.contains(*r) && results_pending(&ops, &results, r))
            {
                waiting.push(i);
                continue;
            }
            progressed = true;
            let outcome = if let Some(r) = unresolved.first() {
                Err(ApiError::new(
                    StatusCode::CONFLICT,
                    Some("invalidValue"),
                    format!("bulkId `{r}` does not name a resource this request created"),
                ))
            } else if op.method == "POST" && op.bulk_id.is_none() {
                Err(ApiError::invalid_syntax("a bulk POST needs a `bulkId`"))
            } else {
                let mut data = op.data.clone();
                if let Some(d) = data.as_mut() {
                    resolve(d, &ids);
                }
                let mut resolved = Op {
                    method: op.method.clone(),
                    bulk_id: None,
                    version: op.version.clone(),
                    path: op.path.clone(),
                    data: None,
                };
                let mut p = Value::String(op.path.clone());
                resolve_path(&mut p, &ids);
                resolved.path = p.as_str().unwrap_or_default().to_string();
                run(inner, &resolved, data)
            };
            results[i] = Some(match outcome {
                Ok((status, kind, id, version)) => {
                    if let Some(b) = &op.bulk_id {
                        ids.insert(b.clone(), id.clone());
                    }
                    let mut r = json!({
                        "method": op.method,
                        "status": status.as_u16().to_string(),
                        "location": format!("{base_url}/{}/{id}", endpoint(kind)),
                    });
                    if version > 0 {
                        r["version"] = json!(etag(version));
                    }
                    r
                }
                Err(e) => {
                    errors += 1;
                    json!({
                        "method": op.method,
                        "status": e.status.as_u16().to_string(),
                        "response": e.body(),
                    })
                }
            });
            if let (Some(b), Some(r)) = (&op.bulk_id, results[i].as_mut()) {
                r["bulkId"] = json!(b);
            }
            if fail_on_errors.is_some_and(|n| errors >= n) {
                break 'passes;
            }
        }
        if waiting.is_empty() {
            break;
        }
        if !progressed {
            // Every waiting operation refers to another waiting one: a cycle.
            for i in waiting {
                let e = ApiError::new(
                    StatusCode::CONFLICT,
                    Some("invalidValue"),
                    "circular bulkId references",
                );
                results[i] = Some(
                    json!({"method": ops[i].method, "bulkId": ops[i].bulk_id, "status": "409", "response": e.body()}),
                );
            }
            break;
        }
        pending = waiting;
    }
    Ok(json!({
        "schemas": [BULK_RESPONSE_SCHEMA],
        "Operations": results.into_iter().flatten().collect::<Vec<_>>(),
    }))
}

/// Whether the operation declaring bulkId `r` has not run yet.
fn results_pending(ops: &[Op], results: &[Option<Value>], r: &str) -> bool {
    ops.iter()
        .zip(results)
        .any(|(o, res)| o.bulk_id.as_deref() == Some(r) && res.is_none())
}

fn resolve_path(p: &mut Value, ids: &HashMap<String, String>) {
    if let Value::String(s) = p {
        if let Some((head, last)) = s.rsplit_once('/') {
            if let Some(id) = last.strip_prefix(BULK_ID_PREFIX).and_then(|b| ids.get(b)) {
                *s = format!("{head}/{id}");
            }
        }
    }
}

/// `POST /Bulk`.
pub(crate) async fn handle(
    State(state): State<ServerState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = json_body(body)?;
    let base = base_url(&state, &headers);
    let inner = state.inner.clone();
    let answer = blocking(move || process(&inner, &body, &base)).await?;
    Ok(scim(StatusCode::OK, &answer))
}
