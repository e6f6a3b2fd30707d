//! Users and user groups: create, read, change, delete, members and memberships.

use super::*;
use crate::emulator::state::{GroupRec, Inner, UserRec, begins_with};
use crate::wire::EVERYONE_GROUP_ID;

/// The user and user-group routes.
pub(super) fn routes(r: Routes<EmulatorState>) -> Routes<EmulatorState> {
    r.at("/users", get(lookups::list_users).post(create::<Users>))
        .at(
            "/users/{id}",
            get(read::<Users>)
                .patch(change::<Users>)
                .delete(remove::<Users>),
        )
        .at("/users/{id}/memberships", get(user_memberships))
        .at("/users/{id}/securityRoles", get(lookups::principal_roles))
        .at("/users/{id}/privileges", get(lookups::principal_privileges))
        .at("/users/{id}/profile", delete(delete_profile))
        .at("/usergroups", get(list_groups).post(create::<Groups>))
        .at("/usergroups/topLevel", get(top_level_groups))
        .at(
            "/usergroups/{id}",
            get(read::<Groups>)
                .patch(change::<Groups>)
                .delete(remove::<Groups>),
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

/// Users and user groups are created, read, changed and deleted alike.
trait Record {
    /// The record `id` as the API shows it, or 404.
    fn view(i: &Inner, id: &str) -> ApiResult<Value>;
    /// Creates one from a JSON body; its id.
    fn create(i: &mut Inner, body: &Value) -> ApiResult<String>;
    /// Applies an `operationList`.
    fn patch(i: &mut Inner, id: &str, ops: &[PatchOp]) -> ApiResult<()>;
    /// Deletes it.
    fn delete(i: &mut Inner, id: &str) -> ApiResult<()>;
}

struct Users;

impl Record for Users {
    fn view(i: &Inner, id: &str) -> ApiResult<Value> {
        Ok(i.user_json(user(i, id)?))
    }
    fn create(i: &mut Inner, body: &Value) -> ApiResult<String> {
        i.create_user(body)
    }
    fn patch(i: &mut Inner, id: &str, ops: &[PatchOp]) -> ApiResult<()> {
        i.patch_user(id, ops)
    }
    fn delete(i: &mut Inner, id: &str) -> ApiResult<()> {
        i.delete_user(id)
    }
}

struct Groups;

impl Record for Groups {
    fn view(i: &Inner, id: &str) -> ApiResult<Value> {
        Ok(i.group_json(group(i, id)?))
    }
    fn create(i: &mut Inner, body: &Value) -> ApiResult<String> {
        i.create_group(body)
    }
    fn patch(i: &mut Inner, id: &str, ops: &[PatchOp]) -> ApiResult<()> {
        i.patch_group(id, ops)
    }
    fn delete(i: &mut Inner, id: &str) -> ApiResult<()> {
        i.delete_group(id)
    }
}

async fn create<K: Record>(State(st): St, Auth(_): Auth<SessionRec>, body: Bytes) -> R {
    create_one(&st, &body, K::create, K::view)
}

async fn read<K: Record>(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    q: Query,
) -> R {
    read_one(&st, &id, &q, K::view)
}

async fn change<K: Record>(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    body: Bytes,
) -> R {
    patch_one(&st, &id, &body, K::patch, K::view)
}

async fn remove<K: Record>(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    K::delete(&mut st.lock(), &id)?;
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
    let matching: Vec<&GroupRec> = i
        .group_order
        .iter()
        .filter_map(|g| i.groups.get(g))
        .filter(|g| name.is_none_or(|n| begins_with(&g.name, n)))
        .collect();
    paged_lazy(&matching, window(&q)?, |g| {
        Some(select_fields(i.group_summary(g), &wanted))
    })
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

async fn group_members(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    q: Query,
) -> R {
    let i = st.lock();
    group(&i, &id)?;
    // Every member exists: deleting a user or group takes it out of every group.
    let members: &[String] = if id == EVERYONE_GROUP_ID {
        &i.user_order
    } else {
        i.groups.get(&id).map_or(&[], |g| g.members.as_slice())
    };
    paged_lazy(members, window(&q)?, |m| i.member_entry(m))
}

async fn group_memberships(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    let i = st.lock();
    group(&i, &id)?;
    ok(parents(&i, &id))
}
