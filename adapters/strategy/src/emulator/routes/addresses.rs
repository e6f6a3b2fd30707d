//! Users' contact addresses (`/api/users/{id}/addresses`, `/api/v2/users/{id}/addresses`)
//! and the delivery devices they point at (`/api/v2/devices`).
//!
//! The devices exist from server 11.3.0100 (the official SDK's `Device` class requires
//! it); on an older version they answer as unknown routes. Both address versions are
//! served on every version: the SDK reads addresses through v2 on every server it
//! supports (11.1.0400 and later), also right after adding one through v1.

use super::*;
use crate::adapter::version_at_least;
use crate::emulator::state::{AddressApi, DEVICES, DEVICES_SINCE, device_json};

/// Answers an address or device request, or `None` when `segs` is another route.
pub(super) fn route(st: &EmulatorState, req: &Req, segs: &[&str]) -> Option<ApiResult<Response>> {
    let (api, rest) = match segs {
        ["v2", "devices", ..] => return Some(devices(st, req, &segs[2..])),
        ["v2", "users", _, "addresses", ..] => (AddressApi::V2, &segs[1..]),
        ["users", _, "addresses", ..] => (AddressApi::V1, segs),
        _ => return None,
    };
    Some(addresses(st, req, api, rest))
}

fn has_devices(st: &EmulatorState) -> bool {
    version_at_least(&st.settings.version, DEVICES_SINCE)
}

fn addresses(st: &EmulatorState, req: &Req, api: AddressApi, segs: &[&str]) -> ApiResult<Response> {
    match (req.method.clone(), segs) {
        (Method::GET, ["users", id, "addresses"]) => ok(st.lock().addresses_json(id, api)?),
        (Method::POST, ["users", id, "addresses"]) => {
            let body = req.json()?;
            let mut i = st.lock();
            i.add_address(id, &body, api)?;
            created(i.addresses_json(id, api)?)
        }
        (Method::PUT, ["users", id, "addresses", address]) => {
            let body = req.json()?;
            let mut i = st.lock();
            i.update_address(id, address, &body, api)?;
            ok(i.addresses_json(id, api)?)
        }
        // The official SDK deletes through v1 only.
        (Method::DELETE, ["users", id, "addresses", address]) if api == AddressApi::V1 => {
            st.lock().delete_address(id, address)?;
            no_content()
        }
        (_, ["users", _, "addresses", ..]) if segs.len() <= 4 => Err(ApiError::no_method()),
        _ => Err(ApiError::no_route()),
    }
}

fn devices(st: &EmulatorState, req: &Req, segs: &[&str]) -> ApiResult<Response> {
    if !has_devices(st) {
        return Err(ApiError::no_route());
    }
    match (req.method.clone(), segs) {
        (Method::GET, []) => {
            let kind = req
                .param("deviceType")
                .filter(|k| !k.is_empty() && !k.eq_ignore_ascii_case("all"));
            let list: Vec<Value> = DEVICES
                .iter()
                .filter(|(_, _, t)| kind.is_none_or(|k| k.eq_ignore_ascii_case(t)))
                .filter_map(|(id, _, _)| device_json(id))
                .map(|d| select_fields(d, &req.fields()))
                .collect();
            ok(json!({ "devices": list }))
        }
        (Method::GET, [id]) => device_json(id)
            .map(|d| ok(select_fields(d, &req.fields())))
            .unwrap_or_else(|| Err(ApiError::not_found("Device", id))),
        _ => Err(ApiError::no_route()),
    }
}
