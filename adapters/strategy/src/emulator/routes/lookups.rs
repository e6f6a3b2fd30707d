//! Listings and lookups that need more than one record: users with filters, a principal's roles and privileges, objects by id.

use super::*;
use axum::http::Method;

use crate::emulator::state::{Inner, PRIVILEGES, UserRec, begins_with, parse_operations};
use crate::wire::{TYPE_SECURITY_ROLE, TYPE_USER_OR_GROUP};

/// `GET /users`: by id, name prefix or login prefix.
pub(super) async fn list_users(State(st): St, Auth(_): Auth<SessionRec>, q: Query) -> R {
    let i = st.lock();
    let ids = q.all("id");
    let name = q.get("nameBegins");
    let abbreviation = q.get("abbreviationBegins");
    let wanted = fields(&q);
    let show = |u: &&UserRec| Some(select_fields(i.user_summary(u), &wanted));
    if ids.is_empty() && name.is_none() && abbreviation.is_none() {
        // Every listed user exists (a deleted user leaves the order too).
        return paged_lazy(&i.user_order, window(&q)?, |u| {
            i.users.get(u).and_then(|u| show(&u))
        });
    }
    let matching: Vec<&UserRec> = i
        .user_order
        .iter()
        .filter_map(|u| i.users.get(u))
        .filter(|u| ids.is_empty() || ids.contains(&u.id.as_str()))
        .filter(|u| name.is_none_or(|n| begins_with(&u.full_name, n)))
        .filter(|u| abbreviation.is_none_or(|a| begins_with(&u.username, a)))
        .collect();
    if ids.is_empty() {
        paged_lazy(&matching, window(&q)?, show)
    } else {
        let all: Vec<Value> = matching.iter().filter_map(show).collect();
        // Filtering by id answers without a total count, as the server does.
        let (offset, limit) = window(&q)?;
        ok(Value::from(
            all.into_iter()
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .collect::<Vec<_>>(),
        ))
    }
}

/// The roles a user or group holds, per project (`projectId`: that one only).
pub(super) async fn principal_roles(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    q: Query,
) -> R {
    let (id, project) = (id.as_str(), q.get("projectId"));
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
pub(super) async fn principal_privileges(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
) -> R {
    let i = st.lock();
    let direct = match (i.users.get(&id), i.groups.get(&id)) {
        (Some(u), _) => u.privileges.clone(),
        (None, Some(g)) => g.privileges.clone(),
        (None, None) => return Err(ApiError::not_found("User or user group", &id)),
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
pub(super) async fn object(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    method: Method,
    Path(id): Path<String>,
    q: Query,
    body: Bytes,
) -> R {
    let id = id.as_str();
    let object_type = q
        .get("type")
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
    match method {
        Method::DELETE => {
            match object_type {
                TYPE_SECURITY_ROLE => i.delete_role(id)?,
                _ if i.users.contains_key(id) => i.delete_user(id)?,
                _ => i.delete_group(id)?,
            }
            no_content()
        }
        Method::PUT => {
            let body = json_body(&body)?;
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

fn object_json(i: &Inner, id: &str, object_type: i64) -> Value {
    if object_type == TYPE_SECURITY_ROLE {
        return i
            .roles
            .get(id)
            .map(|r| i.role_summary(r))
            .unwrap_or(Value::Null);
    }
    i.member_entry(id).unwrap_or(Value::Null)
}
