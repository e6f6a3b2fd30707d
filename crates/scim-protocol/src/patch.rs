//! PATCH (RFC 7644 §3.5.2): `add`, `remove` and `replace` operations applied to a
//! resource's JSON under its schema, all or nothing.
//!
//! Besides the RFC's forms, what identity providers really send is accepted:
//! - `op` in any case (`"Replace"`, `"Add"`, `"Remove"`), as Microsoft Entra ID sends it
//!   (learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
//!   "Update User [Multi-valued properties]" and "Update Group [Remove Members]").
//! - Booleans as strings (`"False"`) for boolean attributes (Entra's "Known issues and
//!   resolutions with SCIM 2.0 protocol compliance" page,
//!   learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
//! - Member removal by value, `{"op": "Remove", "path": "members", "value": [{"value":
//!   "id"}]}` (the same two pages), besides the RFC's `members[value eq "id"]`.
//! - A replace or add without a path whose keys are paths: dotted (`name.givenName`),
//!   qualified by a schema URN (`urn:...:enterprise:2.0:User:department`) or filtered
//!   (`emails[type eq "work"].value`), as Entra sends them (the compatibility page,
//!   "Requests to replace multiple attributes"), and `{"active": false}` as Okta sends it
//!   (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20, "Update a specific
//!   User (PATCH)").
//! - An add or replace of `emails[type eq "work"].value` when no work address exists yet
//!   creates `{"type": "work", "value": ...}`: Entra sends either op for a value that is not
//!   there yet (the first page, and Microsoft's answer "Azure AD SCIM Provisioning - User
//!   attribute updates" on learn.microsoft.com/answers: "In practice though, it could be
//!   either").

mod remove;
mod write;

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::schema::ResourceSchema;
use crate::value::find_key;
use crate::wire::PatchOperation;

/// A PATCH operation's kind (RFC 7644 §3.5.2 `op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOpKind {
    /// `add` (§3.5.2.1).
    Add,
    /// `remove` (§3.5.2.2).
    Remove,
    /// `replace` (§3.5.2.3).
    Replace,
}

impl PatchOpKind {
    /// The kind named by `op`, in any case and without surrounding blanks; `None` for
    /// another word.
    pub fn parse(op: &str) -> Option<PatchOpKind> {
        let op = op.trim();
        [PatchOpKind::Add, PatchOpKind::Remove, PatchOpKind::Replace]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(op))
    }

    /// The op as the RFC writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

/// Applies `ops` to `resource` in order (RFC 7644 §3.5.2): either every operation applies
/// or the resource is left unchanged. Attribute names match in any case and are written
/// in the schema's case; adding an extension attribute adds the extension's URN to
/// `schemas`, and an extension left empty is removed with its URN. At most one value of a
/// multi-valued attribute stays `primary` (RFC 7643 §2.4): the one last written.
///
/// Leniencies for what identity providers send are listed in the module documentation.
/// Removing with a value filter that matches nothing changes nothing (so that a retried
/// member removal succeeds).
///
/// # Errors
/// 400 with the `scimType` of RFC 7644 §3.5.2 and §3.12, the detail naming the operation
/// (1-based) and the path: `invalidSyntax` for an unknown `op` or a path-less value that
/// is not an object; `noTarget` for a `remove` without a path, or a filter that selects
/// nothing to add to or replace; `invalidPath` for a malformed path or an attribute the
/// schema lacks; `invalidFilter` for a malformed value filter; `mutability` for a
/// change to a `readOnly` attribute or to an `immutable` one that has a value;
/// `invalidValue` for a value of the wrong type or a removal of a required attribute.
/// Values are never quoted in details (they may be secrets).
pub fn apply_patch(
    resource: &mut Value,
    ops: &[PatchOperation],
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    if !resource.is_object() {
        return Err(ScimError::internal(
            "the resource to patch is not a JSON object",
        ));
    }
    let mut work = resource.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_operation(&mut work, op, schema).map_err(|mut e| {
            e.detail = format!("operation {}: {}", i + 1, e.detail);
            e
        })?;
        tidy_extensions(&mut work, schema);
    }
    *resource = work;
    Ok(())
}

fn apply_operation(
    work: &mut Value,
    op: &PatchOperation,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let Some(kind) = PatchOpKind::parse(&op.op) else {
        return Err(ScimError::invalid_syntax(
            "unknown op: expected add, remove or replace",
        ));
    };
    let path = op.path.as_deref().map(str::trim).filter(|p| !p.is_empty());
    match (kind, path) {
        (PatchOpKind::Remove, None) => Err(ScimError::no_target(
            "remove needs a path (RFC 7644 §3.5.2.2)",
        )),
        (PatchOpKind::Remove, Some(path)) => remove::remove(work, path, op.value.as_ref(), schema),
        (_, Some(path)) => {
            let Some(value) = op.value.clone() else {
                return Err(ScimError::invalid_value(format!(
                    "{} of {path:?} needs a value",
                    kind.as_str()
                )));
            };
            write::write(work, kind, path, value, schema)
        }
        (_, None) => {
            let Some(Value::Object(members)) = op.value.clone() else {
                return Err(ScimError::invalid_syntax(format!(
                    "{} without a path takes an object of attributes (RFC 7644 §3.5.2.1)",
                    kind.as_str()
                )));
            };
            for (key, value) in members {
                write::write(work, kind, &key, value, schema)?;
            }
            Ok(())
        }
    }
}

/// Keeps `schemas` in step with the extension objects: an extension with attributes is
/// listed, an empty one is removed and unlisted.
fn tidy_extensions(work: &mut Value, schema: &ResourceSchema) {
    let Some(root) = work.as_object_mut() else {
        return;
    };
    for ext in &schema.extensions {
        let urn = ext.schema.id.as_str();
        let present = match find_key(root, urn).cloned() {
            Some(key) => {
                let empty = root
                    .get(&key)
                    .is_none_or(|v| v.as_object().is_none_or(Map::is_empty));
                if empty {
                    root.remove(&key);
                }
                !empty
            }
            None => false,
        };
        if present && find_key(root, "schemas").is_none() {
            root.insert("schemas".to_string(), Value::Array(Vec::new()));
        }
        let Some(key) = find_key(root, "schemas").cloned() else {
            continue;
        };
        if let Some(Value::Array(list)) = root.get_mut(&key) {
            let listed = list
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
            if present && !listed {
                list.push(Value::String(urn.to_string()));
            } else if !present && listed {
                list.retain(|s| !s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
            }
        }
    }
}

#[cfg(test)]
mod tests;
