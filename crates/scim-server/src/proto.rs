//! The protocol library (`idbridge-scim-protocol`) as the server uses it: the schemas and
//! their discovery documents, the filter grammar, PATCH, projection and sorting, each
//! bound to the schema of a kind of resource, with errors as answers.

use std::cmp::Ordering;
use std::sync::LazyLock;

use axum::http::StatusCode;
use idbridge_scim_protocol::value::find_key;
use idbridge_scim_protocol::wire::PatchOperation;
use idbridge_scim_protocol::{AttrPath, ResourceSchema, ScimError, parse_attr_path};
use idbridge_store::InboxKind;
use serde_json::Value;

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

    /// The `userName` a filter requires (`userName eq "x"`, alone or joined by `and` to
    /// other equalities): at most one user can match it, found by name rather than by
    /// reading every user.
    pub(crate) fn user_name_eq(&self) -> Option<&str> {
        let rs = schema(InboxKind::User);
        self.0.equalities()?.into_iter().find_map(|(p, v)| {
            let core = p.schema.as_deref().is_none_or(|u| rs.is_core_urn(u));
            (core && p.sub_attribute.is_none() && p.attribute.eq_ignore_ascii_case("userName"))
                .then(|| v.as_str())
                .flatten()
        })
    }
}

/// Orders `a` and `b` (resources of `kind`) by the attribute `by`, ascending: missing
/// values last, strings without regard to case unless the schema says `caseExact`.
pub(crate) fn compare_by(kind: InboxKind, by: &AttrPath, a: &Value, b: &Value) -> Ordering {
    idbridge_scim_protocol::compare_by(a, b, by, schema(kind))
}

/// Parses a sort attribute.
pub(crate) fn sort_path(by: &str) -> ApiResult<AttrPath> {
    Ok(parse_attr_path(by)?)
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) to a resource of
/// `kind`: `id` and `schemas` always, a password never.
pub(crate) fn project(kind: InboxKind, r: &Value, attrs: &[String], excluded: &[String]) -> Value {
    idbridge_scim_protocol::project(r, attrs, excluded, schema(kind))
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
