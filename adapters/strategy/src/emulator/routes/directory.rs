//! Users and user groups: create, read, change, delete, members and memberships.

use super::*;
use crate::emulator::state::{GroupRec, Inner, UserRec, begins_with, parse_operations};
use crate::wire::EVERYONE_GROUP_ID;

/// The user and user-group routes.
pub(super) fn routes(r: Routes<EmulatorState>) -> Routes<EmulatorState> {
    r.at("/users", get(lookups::list_users).post(create_user))
        .at(
            "/users/{id}",
            get(get_user).patch(patch_user).delete(delete_user),
        )
        .at("/users/{id}/memberships", get(user_memberships))
        .at("/users/{id}/securityRoles", get(lookups::principal_roles))
        .at("/users/{id}/privileges", get(lookups::principal_privileges))
        .at("/users/{id}/profile", delete(delete_profile))
        .at("/usergroups", get(list_groups).post(create_group))
        .at("/usergroups/topLevel", get(top_level_groups))
        .at(
            "/usergroups/{id}",
            get(get_group).patch(patch_group).delete(delete_group),
        )
        .at("/usergroups/{id}/members", get(group_members))
        .at("/usergroups/{id}/memberships", get(group_memberships))
        .at(
            "/usergroups/{id}/securityRoles",
            get(lookups::principal_roles),
        )
        .at(
            "/usergroups/{id}/privileges",
            get(lookups::principal_privileges),
        )
}

/// The user `id`, or 404.
pub(super) fn user<'a>(i: &'a Inner, id: &str) -> ApiResult<&'a UserRec> {
    i.users
        .get(id)
        .ok_or_else(|| ApiError::not_found("User", id))
}

/// The user group `id`, or 404.
fn group<'a>(i: &'a Inner, id: &str) -> ApiResult<&'a GroupRec> {
    i.groups
        .get(id)
        .ok_or_else(|| ApiError::not_found("User group", id))
}

/// The groups `id` is a direct member of.
fn parents(i: &Inner, id: &str) -> Value {
    Value::from(
        i.parents_of(id)
            .iter()
            .map(|g| i.group_summary(g))
            .collect::<Vec<_>>(),
    )
}

async fn create_user(State(st): St, Auth(_): Auth<SessionRec>, body: Bytes) -> R {
    let body = json_body(&body)?;
    let mut i = st.lock();
    let id = i.create_user(&body)?;
    created(i.user_json(user(&i, &id)?))
}

async fn get_user(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>, q: Query) -> R {
    let i = st.lock();
    ok(select_fields(i.user_json(user(&i, &id)?), &fields(&q)))
}

async fn patch_user(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    body: Bytes,
) -> R {
    let ops = parse_operations(&json_body(&body)?)?;
    let mut i = st.lock();
    i.patch_user(&id, &ops)?;
    ok(i.user_json(user(&i, &id)?))
}

async fn delete_user(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    st.lock().delete_user(&id)?;
    no_content()
}

async fn user_memberships(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    q: Query,
) -> R {
    let i = st.lock();
    user(&i, &id)?;
    ok(select_fields(parents(&i, &id), &fields(&q)))
}

async fn delete_profile(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    user(&st.lock(), &id)?;
    no_content()
}

async fn list_groups(State(st): St, Auth(_): Auth<SessionRec>, q: Query) -> R {
    let i = st.lock();
    let name = q.get("nameBegins");
    let wanted = fields(&q);
    let all: Vec<Value> = i
        .group_order
        .iter()
        .filter_map(|g| i.groups.get(g))
        .filter(|g| name.is_none_or(|n| begins_with(&g.name, n)))
        .map(|g| select_fields(i.group_summary(g), &wanted))
        .collect();
    paged(all, window(&q)?, None)
}

async fn create_group(State(st): St, Auth(_): Auth<SessionRec>, body: Bytes) -> R {
    let body = json_body(&body)?;
    let mut i = st.lock();
    let id = i.create_group(&body)?;
    created(i.group_json(group(&i, &id)?))
}

async fn top_level_groups(State(st): St, Auth(_): Auth<SessionRec>) -> R {
    let i = st.lock();
    let top: Vec<Value> = i
        .group_order
        .iter()
        .filter_map(|g| i.groups.get(g))
        .filter(|g| g.id != EVERYONE_GROUP_ID && i.parents_of(&g.id).is_empty())
        .map(|g| i.group_summary(g))
        .collect();
    ok(Value::from(top))
}

async fn get_group(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    q: Query,
) -> R {
    let i = st.lock();
    ok(select_fields(i.group_json(group(&i, &id)?), &fields(&q)))
}

async fn patch_group(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    body: Bytes,
) -> R {
    let ops = parse_operations(&json_body(&body)?)?;
    let mut i = st.lock();
    i.patch_group(&id, &ops)?;
    ok(i.group_json(group(&i, &id)?))
}

async fn delete_group(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    st.lock().delete_group(&id)?;
    no_content()
}

async fn group_members(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    q: Query,
) -> R {
    let i = st.lock();
    group(&i, &id)?;
    let all: Vec<Value> = i
        .members_of(&id)
        .iter()
        .filter_map(|m| i.member_entry(m))
        .collect();
    paged(all, window(&q)?, None)
}

async fn group_memberships(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    let i = st.lock();
    group(&i, &id)?;
    ok(parents(&i, &id))
}
