//! Users' contact addresses (`/api/users/{id}/addresses`, `/api/v2/users/{id}/addresses`)
//! and the delivery devices they point at (`/api/v2/devices`).
//!
//! The devices exist from server 11.3.0100 (the official SDK's `Device` class requires
//! it); on an older version they answer as unknown routes. Both address versions are
//! served on every version: the SDK reads addresses through v2 on every server it
//! supports (11.1.0400 and later), also right after adding one through v1. The SDK
//! deletes through v1 only, so v2 has no delete.

use super::*;
use crate::adapter::version_at_least;
use crate::emulator::state::{AddressApi, DEVICES, DEVICES_SINCE, device_json};

/// The address and device routes.
pub(super) fn routes(r: Routes<EmulatorState>) -> Routes<EmulatorState> {
    r.at("/users/{id}/addresses", get(list_v1).post(add_v1))
        .at(
            "/users/{id}/addresses/{address}",
            put(update_v1).delete(remove),
        )
        .at("/v2/users/{id}/addresses", get(list_v2).post(add_v2))
        .at("/v2/users/{id}/addresses/{address}", put(update_v2))
        .at("/v2/devices", get(devices))
        .at("/v2/devices/{id}", get(device))
}

async fn list_v1(st: St, _: Auth<SessionRec>, id: Path<String>) -> R {
    list(st, id, AddressApi::V1)
}

async fn list_v2(st: St, _: Auth<SessionRec>, id: Path<String>) -> R {
    list(st, id, AddressApi::V2)
}

async fn add_v1(st: St, _: Auth<SessionRec>, id: Path<String>, body: Bytes) -> R {
    add(st, id, &body, AddressApi::V1)
}

async fn add_v2(st: St, _: Auth<SessionRec>, id: Path<String>, body: Bytes) -> R {
    add(st, id, &body, AddressApi::V2)
}

async fn update_v1(st: St, _: Auth<SessionRec>, p: Path<(String, String)>, body: Bytes) -> R {
    update(st, p, &body, AddressApi::V1)
}

async fn update_v2(st: St, _: Auth<SessionRec>, p: Path<(String, String)>, body: Bytes) -> R {
    update(st, p, &body, AddressApi::V2)
}

fn list(State(st): St, Path(id): Path<String>, api: AddressApi) -> R {
    ok(st.lock().addresses_json(&id, api)?)
}

fn add(State(st): St, Path(id): Path<String>, body: &Bytes, api: AddressApi) -> R {
    let body = json_body(body)?;
    let mut i = st.lock();
    i.add_address(&id, &body, api)?;
    created(i.addresses_json(&id, api)?)
}

fn update(
    State(st): St,
    Path((id, address)): Path<(String, String)>,
    body: &Bytes,
    api: AddressApi,
) -> R {
    let body = json_body(body)?;
    let mut i = st.lock();
    i.update_address(&id, &address, &body, api)?;
    ok(i.addresses_json(&id, api)?)
}

async fn remove(
    State(st): St,
    Auth(_): Auth<SessionRec>,
    Path((id, address)): Path<(String, String)>,
) -> R {
    st.lock().delete_address(&id, &address)?;
    no_content()
}

fn has_devices(st: &EmulatorState) -> ApiResult<()> {
    if version_at_least(&st.settings.version, DEVICES_SINCE) {
        Ok(())
    } else {
        Err(ApiError::no_route())
    }
}

async fn devices(State(st): St, Auth(_): Auth<SessionRec>, q: Query) -> R {
    has_devices(&st)?;
    let kind = q
        .get("deviceType")
        .filter(|k| !k.is_empty() && !k.eq_ignore_ascii_case("all"));
    let wanted = fields(&q);
    let list: Vec<Value> = DEVICES
        .iter()
        .filter(|(_, _, t)| kind.is_none_or(|k| k.eq_ignore_ascii_case(t)))
        .filter_map(|(id, _, _)| device_json(id))
        .map(|d| select_fields(d, &wanted))
        .collect();
    ok(json!({ "devices": list }))
}

async fn device(State(st): St, Auth(_): Auth<SessionRec>, Path(id): Path<String>, q: Query) -> R {
    has_devices(&st)?;
    let d = device_json(&id).ok_or_else(|| ApiError::not_found("Device", &id))?;
    ok(select_fields(d, &fields(&q)))
}
