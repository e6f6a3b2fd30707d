//! Listings and lookups that need more than one record: users with filters, a principal's roles and privileges, objects by id.

use super::*;

pub(super) fn list_users(st: &EmulatorState, req: &Req) -> ApiResult<Response> {
    let i = st.lock();
    let ids = req.params("id");
    let name = req.param("nameBegins");
    let abbreviation = req.param("abbreviationBegins");
    let all: Vec<Value> = i
        .user_order
        .iter()
        .filter_map(|u| i.users.get(u))
        .filter(|u| ids.is_empty() || ids.contains(&u.id.as_str()))
        .filter(|u| name.is_none_or(|n| begins_with(&u.full_name, n)))
        .filter(|u| abbreviation.is_none_or(|a| begins_with(&u.username, a)))
        .map(|u| select_fields(i.user_summary(u), &req.fields()))
        .collect();
    if ids.is_empty() {
        paged(all, req.window()?, None)
    } else {
        // Filtering by id answers without a total count, as the server does.
        let (offset, limit) = req.window()?;
        ok(Value::from(
            all.into_iter()
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .collect::<Vec<_>>(),
        ))
    }
}

/// The roles a user or group holds, per project.
pub(super) fn principal_roles(
    st: &EmulatorState,
    id: &str,
    project: Option<&str>,
) -> ApiResult<Response> {
    let i = st.lock();
    if !i.principal_exists(id) {
        return Err(ApiError::not_found("User or user group", id));
    }
    let projects: Vec<Value> = i
        .projects
        .iter()
        .filter(|p| project.is_none_or(|want| p.id.eq_ignore_ascii_case(want)))
        .map(|p| {
            let roles: Vec<Value> = i
                .roles
                .values()
                .filter(|r| {
                    r.members
                        .get(&p.id)
                        .is_some_and(|m| m.iter().any(|x| x == id))
                })
                .map(|r| json!({"id": r.id, "name": r.name, "type": TYPE_SECURITY_ROLE}))
                .collect();
            json!({"id": p.id, "name": p.name, "securityRoles": roles})
        })
        .collect();
    ok(json!({"projects": projects}))
}

/// A principal's direct privileges.
pub(super) fn principal_privileges(st: &EmulatorState, id: &str) -> ApiResult<Response> {
    let i = st.lock();
    let direct = match (i.users.get(id), i.groups.get(id)) {
        (Some(u), _) => u.privileges.clone(),
        (None, Some(g)) => g.privileges.clone(),
        (None, None) => return Err(ApiError::not_found("User or user group", id)),
    };
    let list: Vec<Value> = direct
        .iter()
        .map(|p| {
            let name = PRIVILEGES
                .iter()
                .find(|(pid, _, _)| pid == p)
                .map_or("Privilege", |(_, n, _)| n);
            json!({"privilege": {"id": p, "name": name}, "sources": [{"direct": true}]})
        })
        .collect();
    ok(Value::from(list))
}

/// `/api/objects/{id}?type=34|44`: read, owner/long-description/name changes, delete.
pub(super) fn object(st: &EmulatorState, req: &Req, id: &str) -> ApiResult<Response> {
    let object_type = req
        .param("type")
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| ApiError::missing("type"))?;
    let mut i = st.lock();
    let exists = match object_type {
        TYPE_USER_OR_GROUP => i.principal_exists(id),
        TYPE_SECURITY_ROLE => i.roles.contains_key(id),
        _ => false,
    };
    if !exists {
        return Err(ApiError::iserver_not_found(id, object_type));
    }
    match req.method {
        Method::DELETE => {
            match object_type {
                TYPE_SECURITY_ROLE => i.delete_role(id)?,
                _ if i.users.contains_key(id) => i.delete_user(id)?,
                _ => i.delete_group(id)?,
            }
            no_content()
        }
        Method::PUT => {
            let body = req.json()?;
            if let Some(name) = body.get("name").and_then(Value::as_str) {
                let op = json!({"operationList": [{"op": "replace", "path": if i.users.contains_key(id) { "/fullName" } else { "/name" }, "value": name}]});
                let ops = parse_operations(&op)?;
                match object_type {
                    TYPE_SECURITY_ROLE => i.patch_role(id, &ops)?,
                    _ if i.users.contains_key(id) => i.patch_user(id, &ops)?,
                    _ => i.patch_group(id, &ops)?,
                }
            }
            ok(object_json(&i, id, object_type))
        }
        _ => ok(object_json(&i, id, object_type)),
    }
}

fn object_json(i: &super::super::state::Inner, id: &str, object_type: i64) -> Value {
    if object_type == TYPE_SECURITY_ROLE {
        return i
            .roles
            .get(id)
            .map(|r| i.role_summary(r))
            .unwrap_or(Value::Null);
    }
    i.member_entry(id).unwrap_or(Value::Null)
}
