//! The protocol library (`idbridge-scim-protocol`) as the server uses it: the filter
//! grammar, the schemas and their discovery documents; and the projection and sort order
//! over them.

use std::cmp::Ordering;
use std::sync::LazyLock;

use axum::http::StatusCode;
use idbridge_scim_protocol::schema::Returned;
use idbridge_scim_protocol::value::{find_key, get_ci, values_at};
use idbridge_scim_protocol::wire::PatchOperation;
use idbridge_scim_protocol::{AttrPath, ResourceSchema, ScimError, parse_attr_path};
use idbridge_store::InboxKind;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

static USER: LazyLock<ResourceSchema> = LazyLock::new(idbridge_scim_protocol::user_schema);
static GROUP: LazyLock<ResourceSchema> = LazyLock::new(idbridge_scim_protocol::group_schema);

/// The schemas of a kind of resource.
pub(crate) fn schema(kind: InboxKind) -> &'static ResourceSchema {
    match kind {
        InboxKind::User => &USER,
        InboxKind::Group => &GROUP,
    }
}

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        ApiError {
            status: StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            scim_type: e.scim_type.map(|t| t.as_str()),
            detail: e.detail,
        }
    }
}

/// A parsed filter.
pub(crate) struct Filter(idbridge_scim_protocol::Filter);

impl Filter {
    /// Parses `text` (400 `invalidFilter` when it is not a filter).
    pub(crate) fn parse(text: &str) -> ApiResult<Filter> {
        Ok(Filter(idbridge_scim_protocol::parse_filter(text)?))
    }

    /// Checks the filter against the schemas of `kinds` (ordering operators on booleans
    /// are refused), then whether `r` matches.
    pub(crate) fn check(&self, kind: InboxKind) -> ApiResult<()> {
        Ok(self.0.check(schema(kind))?)
    }

    pub(crate) fn matches(&self, kind: InboxKind, r: &Value) -> bool {
        self.0.matches(r, schema(kind))
    }
}

fn sort_key<'a>(kind: InboxKind, path: &AttrPath, r: &'a Value) -> Option<&'a Value> {
    let values = values_at(r, path, schema(kind));
    // A multi-valued attribute sorts by its primary value, else its first (RFC 7644
    // §3.4.2.3); a complex value by its `value` sub-attribute.
    let chosen = values
        .iter()
        .find(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
        .or(values.first())
        .copied()?;
    match chosen {
        Value::Object(_) => get_ci(chosen, "value"),
        other => Some(other),
    }
}

/// Orders `a` and `b` (resources of `kind`) by the attribute `by`: missing values last,
/// strings without regard to case unless the schema says `caseExact`.
pub(crate) fn compare_by(kind: InboxKind, by: &AttrPath, a: &Value, b: &Value) -> Ordering {
    let exact = schema(kind).attribute(by).is_some_and(|d| d.case_exact);
    match (sort_key(kind, by, a), sort_key(kind, by, b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match (x, y) {
            (Value::String(x), Value::String(y)) if !exact => {
                x.to_lowercase().cmp(&y.to_lowercase())
            }
            (Value::String(x), Value::String(y)) => x.cmp(y),
            (Value::Number(x), Value::Number(y)) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            _ => Ordering::Equal,
        },
    }
}

/// Parses a sort attribute.
pub(crate) fn sort_path(by: &str) -> ApiResult<AttrPath> {
    Ok(parse_attr_path(by)?)
}

fn paths(list: &[String]) -> ApiResult<Vec<AttrPath>> {
    list.iter()
        .map(|a| parse_attr_path(a).map_err(ApiError::from))
        .collect()
}

/// Whether the attribute `name` of the core schema or the common ones is always
/// returned (`id`, `schemas`...).
fn always(rs: &ResourceSchema, name: &str) -> bool {
    name.eq_ignore_ascii_case("schemas")
        || name.eq_ignore_ascii_case("id")
        || rs
            .top_attribute(&AttrPath::new(name))
            .is_some_and(|d| d.returned == Returned::Always)
}

fn never(rs: &ResourceSchema, name: &str) -> bool {
    rs.top_attribute(&AttrPath::new(name))
        .is_some_and(|d| d.returned == Returned::Never)
}

/// The object a path's attribute lives in: the resource, or an extension's object.
fn holder<'a>(
    rs: &ResourceSchema,
    obj: &'a Map<String, Value>,
    path: &AttrPath,
) -> Option<(Option<String>, &'a Map<String, Value>)> {
    match &path.schema {
        Some(urn) if !rs.is_core_urn(urn) => {
            let key = find_key(obj, urn)?;
            obj.get(key)?.as_object().map(|m| (Some(key.clone()), m))
        }
        _ => Some((None, obj)),
    }
}

fn copy_path(
    rs: &ResourceSchema,
    src: &Map<String, Value>,
    out: &mut Map<String, Value>,
    path: &AttrPath,
) {
    // A whole extension named by its URN.
    if let Some(urn) = path.as_urn() {
        if rs.extension(&urn).is_some() {
            if let Some(k) = find_key(src, &urn) {
                out.insert(k.clone(), src[k].clone());
            }
            return;
        }
    }
    let Some((ext, from)) = holder(rs, src, path) else {
        return;
    };
    let Some(key) = find_key(from, &path.attribute) else {
        return;
    };
    let value = &from[key];
    let picked = match &path.sub_attribute {
        None => value.clone(),
        Some(sub) => match value {
            Value::Object(m) => match find_key(m, sub) {
                Some(sk) => {
                    let mut o = Map::new();
                    o.insert(sk.clone(), m[sk].clone());
                    Value::Object(o)
                }
                None => return,
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .filter_map(|i| {
                        let m = i.as_object()?;
                        let sk = find_key(m, sub)?;
                        let mut o = Map::new();
                        o.insert(sk.clone(), m[sk].clone());
                        Some(Value::Object(o))
                    })
                    .collect(),
            ),
            _ => return,
        },
    };
    let target = match ext {
        Some(urn) => match out
            .entry(urn)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            Some(t) => t,
            None => return,
        },
        None => out,
    };
    match (target.get_mut(key), picked) {
        (Some(Value::Object(have)), Value::Object(add)) => have.extend(add),
        (Some(Value::Array(have)), Value::Array(add)) => {
            for (h, a) in have.iter_mut().zip(add) {
                if let (Some(h), Value::Object(a)) = (h.as_object_mut(), a) {
                    h.extend(a);
                }
            }
        }
        (_, picked) => {
            target.insert(key.clone(), picked);
        }
    }
}

fn remove_path(rs: &ResourceSchema, obj: &mut Map<String, Value>, path: &AttrPath) {
    if let Some(urn) = path.as_urn() {
        if rs.extension(&urn).is_some() {
            if let Some(k) = find_key(obj, &urn).cloned() {
                obj.remove(&k);
            }
            return;
        }
    }
    let from = match &path.schema {
        Some(urn) if !rs.is_core_urn(urn) => {
            match find_key(obj, urn)
                .cloned()
                .and_then(|k| obj.get_mut(&k))
                .and_then(Value::as_object_mut)
            {
                Some(m) => m,
                None => return,
            }
        }
        _ => {
            if path.sub_attribute.is_none() && always(rs, &path.attribute) {
                return;
            }
            obj
        }
    };
    let Some(key) = find_key(from, &path.attribute).cloned() else {
        return;
    };
    match &path.sub_attribute {
        None => {
            from.remove(&key);
        }
        Some(sub) => {
            let strip = |m: &mut Map<String, Value>| {
                if let Some(sk) = find_key(m, sub).cloned() {
                    m.remove(&sk);
                }
            };
            match from.get_mut(&key) {
                Some(Value::Object(m)) => strip(m),
                Some(Value::Array(items)) => items
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(strip),
                _ => {}
            }
        }
    }
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) to a resource of
/// `kind`: with `attributes`, only those (and the always-returned `id` and `schemas`);
/// else everything but `excludedAttributes`. Attributes returned `never` are dropped.
pub(crate) fn project(
    kind: InboxKind,
    r: &Value,
    attrs: &[String],
    excluded: &[String],
) -> ApiResult<Value> {
    let rs = schema(kind);
    let Value::Object(obj) = r else {
        return Ok(r.clone());
    };
    let mut out = if attrs.is_empty() {
        let mut out = obj.clone();
        for p in paths(excluded)? {
            remove_path(rs, &mut out, &p);
        }
        out
    } else {
        let mut out = Map::new();
        for (k, v) in obj {
            if always(rs, k) {
                out.insert(k.clone(), v.clone());
            }
        }
        for p in paths(attrs)? {
            copy_path(rs, obj, &mut out, &p);
        }
        out
    };
    out.retain(|k, _| !never(rs, k));
    Ok(Value::Object(out))
}

/// Applies a PATCH request body (RFC 7644 §3.5.2) to `resource` of `kind`, all or
/// nothing, with the leniencies of the protocol library for what identity providers send.
pub(crate) fn apply_patch(kind: InboxKind, resource: &mut Value, body: &Value) -> ApiResult<()> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::invalid_syntax("a PATCH body must be a JSON object"))?;
    let ops = find_key(obj, "Operations")
        .and_then(|k| obj.get(k))
        .ok_or_else(|| ApiError::invalid_syntax("a PATCH body needs `Operations`"))?;
    let ops: Vec<PatchOperation> = serde_json::from_value(ops.clone()).map_err(|e| {
        ApiError::invalid_syntax(format!("`Operations` is not a list of operations: {e}"))
    })?;
    if ops.is_empty() {
        return Err(ApiError::invalid_syntax("`Operations` is empty"));
    }
    let ops: Vec<PatchOperation> = ops
        .into_iter()
        .map(|op| without_extension_schemas(kind, op))
        .collect();
    Ok(idbridge_scim_protocol::apply_patch(
        resource,
        &ops,
        schema(kind),
    )?)
}

/// An extension's object sent as a PATCH value may carry its own `schemas` (clients that
/// serialise the extension as a model of its own do, scim2-tester among them): that is
/// not an attribute of the extension, so it is dropped before the operation applies.
fn without_extension_schemas(kind: InboxKind, mut op: PatchOperation) -> PatchOperation {
    let rs = schema(kind);
    let strip = |v: &mut Value| {
        if let Some(m) = v.as_object_mut() {
            if let Some(k) = find_key(m, "schemas").cloned() {
                m.remove(&k);
            }
        }
    };
    let whole_extension = op
        .path
        .as_deref()
        .and_then(|p| parse_attr_path(p.trim()).ok())
        .and_then(|p| p.as_urn())
        .is_some_and(|urn| rs.extension(&urn).is_some());
    match (&op.path, op.value.as_mut()) {
        (Some(_), Some(v)) if whole_extension => strip(v),
        (None, Some(Value::Object(m))) => {
            for (k, v) in m.iter_mut() {
                if rs.extension(k).is_some() {
                    strip(v);
                }
            }
        }
        _ => {}
    }
    op
}

/// The `/ResourceTypes` documents, located under `base`.
pub(crate) fn resource_types(base: &str) -> Vec<Value> {
    resources_of(idbridge_scim_protocol::resource_types_document(base))
}

/// The `/Schemas` documents, located under `base`.
pub(crate) fn schemas(base: &str) -> Vec<Value> {
    resources_of(idbridge_scim_protocol::schema::schemas_document_at(base))
}

fn resources_of(list: Value) -> Vec<Value> {
    match list {
        Value::Object(mut m) => match m.remove("Resources") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}
