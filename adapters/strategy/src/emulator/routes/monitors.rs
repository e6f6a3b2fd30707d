//! The cluster monitors (nodes, user connections and their disconnection, projects) and
//! the project listing.

use super::*;
use crate::emulator::state::NODE_NAME;

/// The monitor and project routes.
pub(super) fn routes(r: Routes<EmulatorState>) -> Routes<EmulatorState> {
    r.at("/monitors/iServer/nodes", get(nodes))
        .at("/monitors/userConnections", get(connections))
        .at("/monitors/userConnections/{id}", delete(disconnect))
        .at("/monitors/deleteUserConnections", post(disconnect_many))
        .at("/monitors/projects", get(project_status))
        .at("/projects", get(projects))
        .at("/projects/{id}", get(project))
}

async fn nodes(State(st): St, Auth(_): Auth<SessionRec>, q: Query) -> R {
    let i = st.lock();
    let projects: Vec<Value> = i
        .projects
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name, "status": "loaded"}))
        .collect();
    let nodes: Vec<Value> = if q.get("name").is_none_or(|n| n == NODE_NAME) {
        vec![json!({
            "name": NODE_NAME,
            "address": "127.0.0.1",
            "port": 34952,
            "status": "running",
            "load": 0,
            "projects": projects,
            "default": true,
            "serviceControl": false,
        })]
    } else {
        Vec::new()
    };
    ok(json!({"nodes": nodes}))
}

async fn connections(State(st): St, Auth(_): Auth<SessionRec>, q: Query) -> R {
    let i = st.lock();
    let all = match q.get("clusterNode") {
        None | Some(NODE_NAME) => i.connections(),
        Some(_) => Vec::new(),
    };
    paged(all, window(&q)?, Some("userConnections"))
}

async fn disconnect(State(st): St, Auth(session): Auth<SessionRec>, Path(id): Path<String>) -> R {
    let (status, message) = st.lock().disconnect(&id, &session.token);
    match status {
        200..=299 => no_content(),
        404 => Err(ApiError::not_found("User connection", &id)),
        _ => Err(ApiError::iserver(message, -2_147_072_488)),
    }
}

/// `POST /monitors/deleteUserConnections` (server 11.3.1 and later): 200 when every
/// connection ended, 403 when none did, 207 otherwise, with a status per connection.
async fn disconnect_many(State(st): St, Auth(session): Auth<SessionRec>, body: Bytes) -> R {
    if !st.settings.bulk_disconnect {
        return Err(ApiError::no_route());
    }
    let body = json_body(&body)?;
    let ids = body
        .get("userConnectionIds")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::missing("userConnectionIds"))?;
    let mut i = st.lock();
    let mut statuses = Vec::new();
    for id in ids {
        let id = id.as_str().unwrap_or_default();
        let (status, message) = i.disconnect(id, &session.token);
        statuses.push(json!({"id": id, "status": status, "message": message}));
    }
    let succeeded = statuses
        .iter()
        .filter(|s| {
            s["status"]
                .as_u64()
                .is_some_and(|c| (200..300).contains(&c))
        })
        .count();
    let overall = if succeeded == statuses.len() {
        StatusCode::OK
    } else if succeeded == 0 {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(json_response(
        overall,
        &json!({"deleteUserConnectionsStatus": statuses}),
    ))
}

async fn project_status(State(st): St, Auth(_): Auth<SessionRec>, q: Query) -> R {
    let i = st.lock();
    let all: Vec<Value> = i
        .projects
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "description": p.description,
                "status": "loaded",
                "nodes": [{"name": NODE_NAME, "status": "loaded"}],
            })
        })
        .collect();
    paged(all, window(&q)?, Some("projects"))
}

async fn projects(State(st): St, Auth(_): Auth<SessionRec>) -> R {
    let i = st.lock();
    let all: Vec<Value> = i.projects.iter().map(|p| i.project_json(p)).collect();
    ok(Value::from(all))
}

async fn project(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    let i = st.lock();
    let p = i
        .project(&id)
        .ok_or_else(|| ApiError::not_found("Project", &id))?;
    ok(i.project_json(p))
}
