//! The emulator's routes: `/ServiceProviderConfig`, `/Users`, `/Groups` and one resource
//! of each, bearer authentication, `application/scim+json` answers and SCIM error bodies.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use idbridge_testkit::emulator::{Auth, Authenticate, Query, Routes};
use serde_json::Value;

use super::state::{ApiResult, Kind, State, apply_patch, error};
use crate::wire::MEDIA_TYPE;

type St = AxState<Arc<State>>;
type R = ApiResult<Response>;

/// A caller who showed the bearer token.
#[derive(Debug, Clone, Copy)]
pub struct Caller;

impl Authenticate<State> for Caller {
    type Error = super::state::ApiError;

    fn authenticate(state: &State, parts: &Parts) -> ApiResult<Caller> {
        if state.authorized(idbridge_testkit::emulator::header(parts, "authorization")) {
            Ok(Caller)
        } else {
            Err(error(
                401,
                None,
                "the authorization header is missing or invalid",
            ))
        }
    }
}

/// Every route of the emulator.
pub fn router(state: Arc<State>) -> Router {
    Routes::new(&[""], true)
        .at("/ServiceProviderConfig", get(service_provider_config))
        .at("/Users", get(list_users).post(create_user))
        .at(
            "/Users/{id}",
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .at("/Groups", get(list_groups).post(create_group))
        .at(
            "/Groups/{id}",
            get(get_group)
                .put(put_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .finish(
            state,
            error(404, None, "no such endpoint"),
            Some(error(405, None, "method not allowed here")),
        )
}

fn scim(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    if let Some(v) = body["meta"]["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

fn json_body(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            400,
            Some("invalidSyntax"),
            format!("the body is not JSON: {e}"),
        )
    })
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn service_provider_config(AxState(s): St, Auth(_): Auth<Caller>) -> R {
    Ok(scim(StatusCode::OK, &s.service_provider_config()))
}

fn list(s: &State, kind: Kind, q: &Query) -> R {
    let number = |key: &str| -> ApiResult<Option<usize>> {
        q.get(key)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    error(
                        400,
                        Some("invalidValue"),
                        format!("`{key}` is not a number"),
                    )
                })
            })
            .transpose()
    };
    let excluded: Vec<String> = q
        .get("excludedAttributes")
        .map(|v| v.split(',').map(|a| a.trim().to_string()).collect())
        .unwrap_or_default();
    let body = s.list(
        kind,
        q.get("filter"),
        number("startIndex")?.unwrap_or(1),
        number("count")?,
        &excluded,
    )?;
    Ok(scim(StatusCode::OK, &body))
}

fn create(s: &State, kind: Kind, body: &Bytes) -> R {
    Ok(scim(
        StatusCode::CREATED,
        &s.create(kind, json_body(body)?)?,
    ))
}

fn put(s: &State, kind: Kind, id: &str, headers: &HeaderMap, body: &Bytes) -> R {
    let Value::Object(new) = json_body(body)? else {
        return Err(error(
            400,
            Some("invalidSyntax"),
            "the body is not a JSON object",
        ));
    };
    let doc = s.modify(kind, id, if_match(headers).as_deref(), |doc| {
        *doc = Value::Object(new);
        Ok(())
    })?;
    Ok(scim(StatusCode::OK, &doc))
}

fn patch(s: &State, kind: Kind, id: &str, headers: &HeaderMap, body: &Bytes) -> R {
    let body = json_body(body)?;
    let Some(ops) = body.get("Operations").and_then(Value::as_array).cloned() else {
        return Err(error(
            400,
            Some("invalidSyntax"),
            "a PatchOp needs `Operations`",
        ));
    };
    let doc = s.modify(kind, id, if_match(headers).as_deref(), |doc| {
        ops.iter().try_for_each(|op| apply_patch(doc, op))
    })?;
    Ok(scim(StatusCode::OK, &doc))
}

async fn list_users(AxState(s): St, Auth(_): Auth<Caller>, q: Query) -> R {
    list(&s, Kind::Users, &q)
}

async fn create_user(AxState(s): St, Auth(_): Auth<Caller>, body: Bytes) -> R {
    create(&s, Kind::Users, &body)
}

async fn get_user(AxState(s): St, Auth(_): Auth<Caller>, Path(id): Path<String>) -> R {
    Ok(scim(StatusCode::OK, &s.get(Kind::Users, &id)?))
}

async fn put_user(
    AxState(s): St,
    Auth(_): Auth<Caller>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> R {
    put(&s, Kind::Users, &id, &h, &body)
}

async fn patch_user(
    AxState(s): St,
    Auth(_): Auth<Caller>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> R {
    patch(&s, Kind::Users, &id, &h, &body)
}

async fn delete_user(AxState(s): St, Auth(_): Auth<Caller>, Path(id): Path<String>) -> R {
    s.delete(Kind::Users, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_groups(AxState(s): St, Auth(_): Auth<Caller>, q: Query) -> R {
    list(&s, Kind::Groups, &q)
}

async fn create_group(AxState(s): St, Auth(_): Auth<Caller>, body: Bytes) -> R {
    create(&s, Kind::Groups, &body)
}

async fn get_group(AxState(s): St, Auth(_): Auth<Caller>, Path(id): Path<String>, q: Query) -> R {
    let mut doc = s.get(Kind::Groups, &id)?;
    if let (Some(excluded), Value::Object(m)) = (q.get("excludedAttributes"), &mut doc) {
        for attr in excluded.split(',') {
            m.remove(attr.trim());
        }
    }
    Ok(scim(StatusCode::OK, &doc))
}

async fn put_group(
    AxState(s): St,
    Auth(_): Auth<Caller>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> R {
    put(&s, Kind::Groups, &id, &h, &body)
}

async fn patch_group(
    AxState(s): St,
    Auth(_): Auth<Caller>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> R {
    patch(&s, Kind::Groups, &id, &h, &body)
}

async fn delete_group(AxState(s): St, Auth(_): Auth<Caller>, Path(id): Path<String>) -> R {
    s.delete(Kind::Groups, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
