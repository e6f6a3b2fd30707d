//! Security roles, their members per project, and the privilege catalogue.

use super::*;
use crate::emulator::state::{Inner, PRIVILEGES, PatchOp, RoleBody, RoleRec};

/// The security-role and privilege routes.
pub(super) fn routes(r: Routes<EmulatorState>) -> Routes<EmulatorState> {
    r.at("/securityRoles", get(list).post(create))
        .at(
            "/securityRoles/{id}",
            get(read).patch(change).delete(remove),
        )
        .at("/securityRoles/{id}/members", patch(change_members))
        .at(
            "/securityRoles/{id}/projects/{project}/members",
            get(project_members),
        )
        .at("/iserver/privileges", get(privileges))
        .at("/iserver/privileges/categories", get(privilege_categories))
}

/// The role `id`, or 404.
fn role<'a>(i: &'a Inner, id: &str) -> ApiResult<&'a RoleRec> {
    i.roles
        .get(id)
        .ok_or_else(|| ApiError::not_found("Security role", id))
}

async fn list(State(st): St, Auth(_): Auth<SessionRec>, q: Query) -> R {
    let i = st.lock();
    let all: Vec<Value> = i.roles.values().map(|r| i.role_summary(r)).collect();
    ok(select_fields(Value::from(all), &fields(&q)))
}

async fn create(State(st): St, Auth(_): Auth<SessionRec>, body: Bytes) -> R {
    let body = json_body(&body)?;
    let id = st.lock().create_role(&body)?;
    let mut resp = json_response(StatusCode::CREATED, &json!({"id": id}));
    if let Ok(v) = HeaderValue::from_str(&format!("{PREFIX}securityRoles/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

async fn read(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>, q: Query) -> R {
    let i = st.lock();
    ok_body(&role_view(&i, &id)?.select(&fields(&q)))
}

fn role_view(i: &Inner, id: &str) -> ApiResult<RoleBody> {
    Ok(i.role_json(role(i, id)?))
}

/// `PATCH /securityRoles/{id}/members` (server 11.6.0400 and later): members only.
async fn change_members(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    body: Bytes,
) -> R {
    if !crate::adapter::version_at_least(&st.settings.version, "11.6.0400") {
        return Err(ApiError::no_route());
    }
    let members_only = |i: &mut Inner, id: &str, ops: &[PatchOp]| {
        if ops.iter().any(|o| o.path != "members") {
            return Err(ApiError::invalid("Only '/members' can be changed here"));
        }
        i.patch_role(id, ops)
    };
    patch_one(&st, &id, &body, members_only, role_view)
}

async fn change(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path(id): Path<String>,
    body: Bytes,
) -> R {
    patch_one(&st, &id, &body, Inner::patch_role, role_view)
}

async fn remove(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    st.lock().delete_role(&id)?;
    no_content()
}

async fn project_members(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path((id, project)): Path<(String, String)>,
) -> R {
    let i = st.lock();
    let r = role(&i, &id)?;
    let p = i
        .project(&project)
        .ok_or_else(|| ApiError::not_found("Project", &project))?;
    let members: Vec<Value> = r
        .members
        .get(&p.id)
        .map(|ms| ms.iter().filter_map(|m| i.principal_ref(m)).collect())
        .unwrap_or_default();
    ok(Value::from(members))
}

async fn privileges(Auth(_): Auth<SessionRec>) -> R {
    ok(Value::from(
        PRIVILEGES
            .iter()
            .map(|(id, name, project)| {
                json!({
                    "id": id,
                    "name": name,
                    "description": name,
                    "categories": [if *project { "Project" } else { "Server" }],
                    "isProjectLevelPrivilege": project,
                })
            })
            .collect::<Vec<_>>(),
    ))
}

async fn privilege_categories(Auth(_): Auth<SessionRec>) -> R {
    ok(json!([{"name": "Project"}, {"name": "Server"}]))
}
