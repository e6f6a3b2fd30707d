//! What a client learns about the server (RFC 7644 §4): `/ServiceProviderConfig`,
//! `/ResourceTypes` and `/Schemas`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idbridge_scim_protocol::wire::{LIST_RESPONSE_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::http::{base_url, scim};
use crate::state::ServerState;

pub(crate) async fn service_provider_config(
    State(state): State<ServerState>,
    headers: HeaderMap,
) -> Response {
    let c = &state.inner.config;
    let base = base_url(&state, &headers);
    scim(
        StatusCode::OK,
        &json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "patch": {"supported": true},
            "bulk": {
                "supported": true,
                "maxOperations": c.max_bulk_operations,
                "maxPayloadSize": c.max_body_bytes,
            },
            "filter": {"supported": true, "maxResults": c.max_results},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A bearer token configured in idbridge (`Authorization: Bearer ...`)",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{base}/ServiceProviderConfig"),
            },
        }),
    )
}

fn list_response(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

fn find(resources: Vec<Value>, id: &str, what: &str) -> ApiResult<Response> {
    resources
        .into_iter()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
        .map(|r| scim(StatusCode::OK, &r))
        .ok_or_else(|| ApiError::not_found(format!("no {what} `{id}`")))
}

pub(crate) async fn resource_types(
    State(state): State<ServerState>,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&state, &headers);
    scim(
        StatusCode::OK,
        &list_response(crate::proto::resource_types(&base)),
    )
}

pub(crate) async fn resource_type(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let base = base_url(&state, &headers);
    find(crate::proto::resource_types(&base), &id, "resource type")
}

pub(crate) async fn schemas(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    let base = base_url(&state, &headers);
    scim(StatusCode::OK, &list_response(crate::proto::schemas(&base)))
}

pub(crate) async fn schema(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let base = base_url(&state, &headers);
    find(crate::proto::schemas(&base), &id, "schema")
}
