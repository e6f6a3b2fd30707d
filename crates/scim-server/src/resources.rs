//! Users and groups: validating what a client sends, the writes that store it (each one
//! durable before the answer) and the resource as the client reads it back.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use idbridge_store::{InboxEntry, InboxKind, InboxWrite};
use serde_json::{Map, Value, json};

use crate::cache::Snapshot;
use crate::error::{ApiError, ApiResult};
use crate::state::Inner;

/// The endpoint of a kind (`Users`, `Groups`).
pub(crate) fn endpoint(kind: InboxKind) -> &'static str {
    match kind {
        InboxKind::User => "Users",
        InboxKind::Group => "Groups",
    }
}

/// The `resourceType` of a kind.
pub(crate) fn resource_type(kind: InboxKind) -> &'static str {
    match kind {
        InboxKind::User => "User",
        InboxKind::Group => "Group",
    }
}

/// An `If-Match` header: `*` or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IfMatch {
    Any,
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Reads `W/"3", "4"` or `*`. A tag this server never issued matches nothing.
    pub(crate) fn parse(header: &str) -> IfMatch {
        let mut versions = Vec::new();
        for tag in header.split(',').map(str::trim) {
            if tag == "*" {
                return IfMatch::Any;
            }
            let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
            if let Ok(v) = tag.parse() {
                versions.push(v);
            }
        }
        IfMatch::Versions(versions)
    }

    pub(crate) fn matches(&self, version: i64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Versions(v) => v.contains(&version),
        }
    }
}

/// The weak entity tag of a stored version.
pub(crate) fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn check_if_match(if_match: Option<&IfMatch>, cur: &InboxEntry) -> ApiResult<()> {
    match if_match {
        Some(m) if !m.matches(cur.version) => Err(ApiError::stale(format!(
            "If-Match does not name the current version ({}) of {} `{}`",
            etag(cur.version),
            resource_type(cur.kind),
            cur.id
        ))),
        _ => Ok(()),
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn store_err(e: idbridge_core::Error) -> ApiError {
    ApiError::from_store(&e)
}

/// The stored resource, or 404.
pub(crate) fn get(inner: &Inner, kind: InboxKind, id: &str) -> ApiResult<InboxEntry> {
    inner
        .store
        .inbox_get(kind, id)
        .map_err(store_err)?
        .ok_or_else(|| {
            ApiError::not_found(format!("{} `{id}` does not exist", resource_type(kind)))
        })
}

/// The inbox as it is now.
pub(crate) fn snapshot(inner: &Inner) -> ApiResult<Arc<Snapshot>> {
    inner.cache.snapshot(&inner.store)
}

/// Removes `names` from `obj`, matching case-insensitively as SCIM attribute names do.
fn remove_attrs(obj: &mut Map<String, Value>, names: &[&str]) {
    obj.retain(|k, _| !names.iter().any(|n| k.eq_ignore_ascii_case(n)));
}

/// How a resource to store arrived.
pub(crate) enum Incoming<'a> {
    /// A create's body (POST).
    Create(&'a Value),
    /// A replace's body (PUT), over the stored resource.
    Replace(&'a Value, &'a Value),
    /// The stored resource with a PATCH applied (already checked by the PATCH).
    Patched(Value),
}

/// What a client sent, made ready to store. Create and replace bodies are checked against
/// the schema by the protocol library (types, required and immutable attributes; read-only
/// and unknown attributes ignored). Then, whatever the way in: the write-only `password`
/// is dropped (Okta sends a throwaway one on create: accepted, never kept), and a group's
/// members are listed once each.
pub(crate) fn prepare(kind: InboxKind, incoming: Incoming<'_>) -> ApiResult<Map<String, Value>> {
    let rs = crate::proto::schema(kind);
    let prepared = match incoming {
        Incoming::Create(body) => idbridge_scim_protocol::prepare_create(body, rs)?,
        Incoming::Replace(body, stored) => {
            idbridge_scim_protocol::prepare_replace(body, stored, rs)?
        }
        Incoming::Patched(v) => v,
    };
    let Value::Object(mut obj) = prepared else {
        return Err(ApiError::invalid_syntax(
            "the resource must be a JSON object",
        ));
    };
    remove_attrs(&mut obj, &["id", "meta", "password", "groups"]);
    if kind == InboxKind::Group {
        normalize_members(&mut obj)?;
    }
    Ok(obj)
}

fn normalize_members(obj: &mut Map<String, Value>) -> ApiResult<()> {
    let Some(members) = obj.get_mut("members") else {
        return Ok(());
    };
    let Value::Array(items) = members else {
        return Err(ApiError::invalid_value("`members` must be an array"));
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        let value = item
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid_value("every member needs a string `value`"))?;
        if seen.insert(value.to_string()) {
            out.push(item);
        }
    }
    *items = out;
    Ok(())
}

/// Checks what a stored resource must satisfy against the others: a unique `userName`
/// (case-insensitive), members that exist. Fills each member's `type`.
fn check_against_store(
    inner: &Inner,
    kind: InboxKind,
    res: &mut Map<String, Value>,
    self_id: Option<&str>,
) -> ApiResult<()> {
    let snap = snapshot(inner)?;
    match kind {
        InboxKind::User => {
            let name = res
                .get("userName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if snap.user_named(name).is_some_and(|id| Some(id) != self_id) {
                return Err(ApiError::uniqueness(
                    "a User with this userName already exists",
                ));
            }
        }
        InboxKind::Group => {
            let Some(Value::Array(members)) = res.get_mut("members") else {
                return Ok(());
            };
            let ids = |k| -> HashSet<&str> { snap.of(k).iter().map(|e| e.id.as_str()).collect() };
            let (users, groups) = (ids(InboxKind::User), ids(InboxKind::Group));
            for m in members.iter_mut().filter_map(Value::as_object_mut) {
                let value = m
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let t = if users.contains(value.as_str()) {
                    "User"
                } else if groups.contains(value.as_str()) && Some(value.as_str()) != self_id {
                    "Group"
                } else {
                    return Err(ApiError::invalid_value(format!(
                        "member `{value}` is neither an existing User nor another existing Group"
                    )));
                };
                m.insert("type".into(), json!(t));
                m.remove("$ref");
            }
        }
    }
    Ok(())
}

/// Writes durably, and keeps the in-memory copy in step.
fn write(inner: &Inner, w: Vec<InboxWrite>) -> ApiResult<Vec<i64>> {
    let seq = || inner.store.inbox_sequence();
    let before = seq().map_err(store_err)?;
    let versions = inner.store.inbox_write(&w).map_err(store_err)?;
    // The write is durable; a failed read now only costs the copy (`-1` never matches).
    let after = seq().unwrap_or(-1);
    inner.cache.wrote(before, after, &w, &versions);
    Ok(versions)
}

/// Creates a resource from `body` (POST).
pub(crate) fn create(inner: &Inner, kind: InboxKind, body: Value) -> ApiResult<InboxEntry> {
    let mut res = prepare(kind, Incoming::Create(&body))?;
    let _guard = inner.write_lock();
    check_against_store(inner, kind, &mut res, None)?;
    let id = uuid::Uuid::new_v4().to_string();
    let t = now();
    res.insert("id".into(), json!(id));
    res.insert(
        "meta".into(),
        json!({"resourceType": resource_type(kind), "created": t, "lastModified": t}),
    );
    let resource = Value::Object(res);
    let v = write(
        inner,
        vec![InboxWrite::Put {
            kind,
            id: id.clone(),
            resource: resource.clone(),
            if_version: Some(0),
        }],
    )?;
    Ok(InboxEntry {
        kind,
        id,
        version: v.first().copied().unwrap_or_default(),
        resource,
    })
}

/// Stores `res` as the new state of `cur`, keeping its id and creation time.
fn store_over(
    inner: &Inner,
    cur: &InboxEntry,
    mut res: Map<String, Value>,
) -> ApiResult<InboxEntry> {
    check_against_store(inner, cur.kind, &mut res, Some(&cur.id))?;
    let created = cur
        .resource
        .pointer("/meta/created")
        .cloned()
        .unwrap_or_else(|| json!(now()));
    res.insert("id".into(), json!(cur.id));
    res.insert(
        "meta".into(),
        json!({"resourceType": resource_type(cur.kind), "created": created, "lastModified": now()}),
    );
    let resource = Value::Object(res);
    let v = write(
        inner,
        vec![InboxWrite::Put {
            kind: cur.kind,
            id: cur.id.clone(),
            resource: resource.clone(),
            if_version: Some(cur.version),
        }],
    )?;
    Ok(InboxEntry {
        kind: cur.kind,
        id: cur.id.clone(),
        version: v.first().copied().unwrap_or_default(),
        resource,
    })
}

/// Replaces a resource with `body` (PUT).
pub(crate) fn replace(
    inner: &Inner,
    kind: InboxKind,
    id: &str,
    body: Value,
    if_match: Option<&IfMatch>,
) -> ApiResult<InboxEntry> {
    let _guard = inner.write_lock();
    let cur = get(inner, kind, id)?;
    check_if_match(if_match, &cur)?;
    let res = prepare(kind, Incoming::Replace(&body, &cur.resource))?;
    store_over(inner, &cur, res)
}

/// Applies a PATCH request body to a resource.
pub(crate) fn patch(
    inner: &Inner,
    kind: InboxKind,
    id: &str,
    body: &Value,
    if_match: Option<&IfMatch>,
) -> ApiResult<InboxEntry> {
    let _guard = inner.write_lock();
    let cur = get(inner, kind, id)?;
    check_if_match(if_match, &cur)?;
    let mut res = cur.resource.clone();
    crate::proto::apply_patch(kind, &mut res, body)?;
    let res = prepare(kind, Incoming::Patched(res))?;
    store_over(inner, &cur, res)
}

/// Deletes a resource, and removes it from every group it is a member of, in one write.
pub(crate) fn delete(
    inner: &Inner,
    kind: InboxKind,
    id: &str,
    if_match: Option<&IfMatch>,
) -> ApiResult<()> {
    let _guard = inner.write_lock();
    let cur = get(inner, kind, id)?;
    check_if_match(if_match, &cur)?;
    let mut writes = Vec::new();
    let t = now();
    let snap = snapshot(inner)?;
    for g in snap.of(InboxKind::Group) {
        let mut res = g.resource.clone();
        let Some(Value::Array(members)) = res.get_mut("members") else {
            continue;
        };
        let before = members.len();
        members.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
        if members.len() == before {
            continue;
        }
        if let Some(meta) = res.get_mut("meta").and_then(Value::as_object_mut) {
            meta.insert("lastModified".into(), json!(t));
        }
        writes.push(InboxWrite::Put {
            kind: InboxKind::Group,
            id: g.id.clone(),
            resource: res,
            if_version: Some(g.version),
        });
    }
    drop(snap);
    writes.push(InboxWrite::Delete {
        kind,
        id: id.to_string(),
        if_version: Some(cur.version),
    });
    write(inner, writes).map(|_| ())
}

/// Each user's groups, as the read-only `groups` attribute shows them.
pub(crate) fn memberships(
    groups: &[Arc<InboxEntry>],
    base_url: &str,
) -> HashMap<String, Vec<Value>> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    for g in groups {
        let Some(members) = g.resource.get("members").and_then(Value::as_array) else {
            continue;
        };
        for m in members {
            if let Some(v) = m.get("value").and_then(Value::as_str) {
                out.entry(v.to_string()).or_default().push(json!({
                    "value": g.id,
                    "$ref": format!("{base_url}/Groups/{}", g.id),
                    "display": g.resource.get("displayName").cloned().unwrap_or(Value::Null),
                    "type": "direct",
                }));
            }
        }
    }
    out
}

/// The resource as a client reads it: with `meta.location` and `meta.version`, member
/// references, and a user's groups.
pub(crate) fn render(
    entry: &InboxEntry,
    base_url: &str,
    memberships: &HashMap<String, Vec<Value>>,
) -> Value {
    let mut res = entry.resource.clone();
    let location = format!("{base_url}/{}/{}", endpoint(entry.kind), entry.id);
    if let Some(obj) = res.as_object_mut() {
        if let Some(meta) = obj.get_mut("meta").and_then(Value::as_object_mut) {
            meta.insert("location".into(), json!(location));
            meta.insert("version".into(), json!(etag(entry.version)));
        }
        if let Some(Value::Array(members)) = obj.get_mut("members") {
            for m in members.iter_mut().filter_map(Value::as_object_mut) {
                let (Some(v), Some(t)) = (
                    m.get("value").and_then(Value::as_str).map(str::to_string),
                    m.get("type").and_then(Value::as_str).map(str::to_string),
                ) else {
                    continue;
                };
                let ep = if t == "Group" { "Groups" } else { "Users" };
                m.insert("$ref".into(), json!(format!("{base_url}/{ep}/{v}")));
            }
        }
        if entry.kind == InboxKind::User {
            if let Some(groups) = memberships.get(&entry.id) {
                obj.insert("groups".into(), Value::Array(groups.clone()));
            }
        }
    }
    res
}
