//! `/Bulk` (RFC 7644 §3.7): several operations in one request, `bulkId` references
//! between them (resolved in dependency order, whatever the request's order), and
//! `failOnErrors`. Each operation is its own durable write, as if sent alone; the limits
//! advertised in `/ServiceProviderConfig` are enforced.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idbridge_scim_protocol::wire::{
    BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse, dependency_order,
    resolve_bulk_id_in_path, resolve_bulk_ids,
};
use idbridge_store::InboxKind;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::http::{base_url, blocking, json_body, scim};
use crate::resources::{self, IfMatch, endpoint, etag};
use crate::state::{Inner, ServerState};

fn kind_of(segment: &str) -> ApiResult<InboxKind> {
    match segment {
        "Users" => Ok(InboxKind::User),
        "Groups" => Ok(InboxKind::Group),
        other => Err(ApiError::invalid_value(format!(
            "bulk path `/{other}` is not a resource endpoint"
        ))),
    }
}

/// What an operation did: its status, and the resource it wrote.
struct Done {
    status: StatusCode,
    kind: InboxKind,
    id: String,
    version: i64,
}

/// Runs one operation whose `bulkId` references are resolved.
fn run(
    inner: &Inner,
    method: &str,
    path: &str,
    op: &BulkOperation,
    data: Option<Value>,
) -> ApiResult<Done> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let kind = kind_of(parts.next().unwrap_or_default())?;
    let id = parts.next().filter(|s| !s.is_empty());
    let if_match = op.version.as_deref().map(IfMatch::parse);
    let data = || {
        data.clone()
            .ok_or_else(|| ApiError::invalid_syntax("this bulk operation needs `data`"))
    };
    let id_of = || {
        id.ok_or_else(|| {
            ApiError::invalid_syntax(format!("`{method}` needs a resource id in its path"))
        })
    };
    let done = |status, e: idbridge_store::InboxEntry| Done {
        status,
        kind,
        id: e.id,
        version: e.version,
    };
    match method {
        "POST" if id.is_none() => {
            if op.bulk_id.is_none() {
                return Err(ApiError::invalid_syntax("a bulk POST needs a `bulkId`"));
            }
            Ok(done(
                StatusCode::CREATED,
                resources::create(inner, kind, data()?)?,
            ))
        }
        "PUT" => Ok(done(
            StatusCode::OK,
            resources::replace(inner, kind, id_of()?, data()?, if_match.as_ref())?,
        )),
        "PATCH" => Ok(done(
            StatusCode::OK,
            resources::patch(inner, kind, id_of()?, &data()?, if_match.as_ref())?,
        )),
        "DELETE" => {
            let id = id_of()?;
            resources::delete(inner, kind, id, if_match.as_ref())?;
            Ok(Done {
                status: StatusCode::NO_CONTENT,
                kind,
                id: id.to_string(),
                version: 0,
            })
        }
        _ => Err(ApiError::invalid_syntax(format!(
            "bulk method `{method}` on `{path}` is not supported"
        ))),
    }
}

fn unresolved(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        Some("invalidValue"),
        format!(
            "bulkId `{id}` does not name a resource this request created (it is unknown, circular, or its operation failed)"
        ),
    )
}

fn process(inner: &Inner, body: Value, base_url: &str) -> ApiResult<BulkResponse> {
    let req: BulkRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid_syntax(format!("not a bulk request: {e}")))?;
    let max = inner.config.max_bulk_operations;
    if req.operations.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!(
                "a bulk request may hold at most {max} operations; this one holds {}",
                req.operations.len()
            ),
        ));
    }
    if req.fail_on_errors == Some(0) {
        return Err(ApiError::invalid_value("`failOnErrors` must be at least 1"));
    }
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results: Vec<Option<BulkOperationResponse>> = vec![None; req.operations.len()];
    let mut errors = 0u64;
    for i in dependency_order(&req.operations) {
        let Some(op) = req.operations.get(i) else {
            continue;
        };
        let method = op.method.trim().to_ascii_uppercase();
        let lookup = |b: &str| ids.get(b).cloned();
        let outcome = resolve_bulk_id_in_path(&op.path, lookup)
            .map_err(|id: String| unresolved(&id))
            .and_then(|path| {
                let mut data = op.data.clone();
                if let Some(d) = data.as_mut() {
                    resolve_bulk_ids(d, lookup).map_err(|id: String| unresolved(&id))?;
                }
                run(inner, &method, &path, op, data)
            });
        let answer = match outcome {
            Ok(done) => {
                if let Some(b) = &op.bulk_id {
                    ids.insert(b.clone(), done.id.clone());
                }
                BulkOperationResponse {
                    method: method.clone(),
                    bulk_id: op.bulk_id.clone(),
                    version: (done.version > 0).then(|| etag(done.version)),
                    location: Some(format!("{base_url}/{}/{}", endpoint(done.kind), done.id)),
                    status: done.status.as_u16().to_string(),
                    response: None,
                }
            }
            Err(e) => {
                errors += 1;
                BulkOperationResponse {
                    method: method.clone(),
                    bulk_id: op.bulk_id.clone(),
                    version: None,
                    location: None,
                    status: e.status.as_u16().to_string(),
                    response: Some(e.body()),
                }
            }
        };
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(answer);
        }
        if req.fail_on_errors.is_some_and(|n| errors >= n) {
            break;
        }
    }
    // Answered in the request's order.
    Ok(BulkResponse::new(results.into_iter().flatten().collect()))
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
    let answer = blocking(move || process(&inner, body, &base)).await?;
    let answer = serde_json::to_value(&answer).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            format!("cannot write the bulk answer: {e}"),
        )
    })?;
    Ok(scim(StatusCode::OK, &answer))
}
