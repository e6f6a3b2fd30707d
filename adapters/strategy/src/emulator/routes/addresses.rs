//! A user's contact addresses (the v1 addresses API).

use super::directory::user;
use super::*;

/// The address routes.
pub(super) fn routes(r: Routes<EmulatorState>) -> Routes<EmulatorState> {
    r.at("/users/{id}/addresses", get(list).post(add)).at(
        "/users/{id}/addresses/{address}",
        put(update).delete(remove),
    )
}

/// `{"addresses": [...]}` of the user `id`.
fn addresses_of(st: &EmulatorState, id: &str) -> ApiResult<Value> {
    let i = st.lock();
    let addresses: Vec<Value> = user(&i, id)?
        .addresses
        .iter()
        .map(|a| a.to_json())
        .collect();
    Ok(json!({"addresses": addresses}))
}

async fn list(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>) -> R {
    ok(addresses_of(&st, &id)?)
}

async fn add(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>, body: Bytes) -> R {
    let body = json_body(&body)?;
    st.lock().add_address(&id, &body)?;
    created(addresses_of(&st, &id)?)
}

async fn update(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path((id, address)): Path<(String, String)>,
    body: Bytes,
) -> R {
    let body = json_body(&body)?;
    st.lock().update_address(&id, &address, &body)?;
    ok(addresses_of(&st, &id)?)
}

async fn remove(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path((id, address)): Path<(String, String)>,
) -> R {
    st.lock().delete_address(&id, &address)?;
    no_content()
}
