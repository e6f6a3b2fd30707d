//! Contact addresses of users and the delivery devices they point at, in both API
//! versions over one store: what `/api/v2/users/{id}/addresses` writes,
//! `/api/users/{id}/addresses` reads, and the other way round.
//!
//! The shapes are those the official SDK sends and reads: v2 `{name, physicalAddress,
//! deliveryType, deviceId, deviceName, isDefault}`; v1 `{name, deliveryMode: "EMAIL",
//! device: "GENERIC_EMAIL", value, default|isDefault}`. What the vendor does not show, the
//! emulator assumes and says so here:
//! - an address created without `isDefault` (the SDK's `User.add_address` spells the flag
//!   `idDefault`) becomes the default when the user has no default address of that
//!   delivery type yet;
//! - marking an address default unmarks the other defaults of its delivery type;
//! - v1 lists every address with `deliveryMode` upper-cased and `device` as
//!   `GENERIC_EMAIL` for the generic e-mail device, else the device id.

use super::*;

/// The id of the seeded "Generic email" device.
pub const GENERIC_EMAIL_DEVICE_ID: &str = "1D32F4F011D4A9B3C000AA9867019608";
/// The name the official SDK looks the generic e-mail device up by.
pub const GENERIC_EMAIL_DEVICE_NAME: &str = "Generic email";
/// The v1 name of the generic e-mail device.
const V1_GENERIC_EMAIL: &str = "GENERIC_EMAIL";

/// The first server version with the delivery devices (`/api/v2/devices`; the official
/// SDK's `Device` class requires it).
pub const DEVICES_SINCE: &str = "11.3.0100";

/// The seeded devices: `(id, name, deliveryType)`.
pub const DEVICES: [(&str, &str, &str); 3] = [
    (GENERIC_EMAIL_DEVICE_ID, GENERIC_EMAIL_DEVICE_NAME, "email"),
    ("1D32F4F111D4A9B3C000AA9867019608", "Generic file", "file"),
    (
        "1D32F4F211D4A9B3C000AA9867019608",
        "Generic printer",
        "printer",
    ),
];

/// A contact address of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRec {
    /// Address id (32 hex).
    pub id: String,
    /// The user-chosen name.
    pub name: String,
    /// The physical address (an e-mail address for `email`).
    pub value: String,
    /// The delivery type, lower case (`email`, `file`, ...).
    pub delivery_type: String,
    /// The device the address is delivered through.
    pub device_id: String,
    /// Whether it is the user's default address of its delivery type.
    pub is_default: bool,
}

/// Which API version an address request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressApi {
    /// `/api/users/{id}/addresses`.
    V1,
    /// `/api/v2/users/{id}/addresses`.
    V2,
}

/// A seeded device's JSON (`/api/v2/devices` entries).
pub fn device_json(id: &str) -> Option<Value> {
    DEVICES
        .iter()
        .find(|(d, _, _)| *d == id)
        .map(|(id, name, kind)| {
            json!({
                "id": id,
                "name": name,
                "description": format!("{name} device"),
                "deviceType": kind,
                // The SDK reformats both dates of every listed device.
                "dateCreated": "2019-03-04T17:55:07+0000",
                "dateModified": "2019-03-04T17:55:07+0000",
            })
        })
}

fn device_name(id: &str) -> &'static str {
    DEVICES
        .iter()
        .find(|(d, _, _)| *d == id)
        .map_or("", |(_, name, _)| name)
}

impl AddressRec {
    /// An e-mail address on the generic e-mail device.
    pub fn generic_email(name: &str, value: &str, is_default: bool) -> Self {
        AddressRec {
            id: new_object_id(),
            name: name.to_string(),
            value: value.to_string(),
            delivery_type: "email".to_string(),
            device_id: GENERIC_EMAIL_DEVICE_ID.to_string(),
            is_default,
        }
    }

    /// The JSON shape of `api`.
    pub fn to_json(&self, api: AddressApi) -> Value {
        match api {
            AddressApi::V1 => json!({
                "id": self.id,
                "name": self.name,
                "deliveryMode": self.delivery_type.to_ascii_uppercase(),
                "device": if self.device_id == GENERIC_EMAIL_DEVICE_ID {
                    V1_GENERIC_EMAIL
                } else {
                    self.device_id.as_str()
                },
                "value": self.value,
                "isDefault": self.is_default,
            }),
            AddressApi::V2 => json!({
                "id": self.id,
                "name": self.name,
                "physicalAddress": self.value,
                "deliveryType": self.delivery_type,
                "deviceId": self.device_id,
                "deviceName": device_name(&self.device_id),
                "isDefault": self.is_default,
            }),
        }
    }

    /// Whether this is the user's default e-mail address.
    pub fn is_default_email(&self) -> bool {
        self.is_default && self.delivery_type == "email"
    }
}

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Parses a request body of `api` into an address with `id`; `None` for `isDefault` when
/// the body leaves it out.
fn parse(body: &Value, api: AddressApi, id: String) -> ApiResult<(AddressRec, Option<bool>)> {
    let (value_key, type_key) = match api {
        AddressApi::V1 => ("value", "deliveryMode"),
        AddressApi::V2 => ("physicalAddress", "deliveryType"),
    };
    let value = text(body, value_key).ok_or_else(|| ApiError::missing(value_key))?;
    let delivery_type = match (api, text(body, type_key)) {
        (_, Some(t)) => t.to_ascii_lowercase(),
        (AddressApi::V1, None) => "email".to_string(),
        (AddressApi::V2, None) => return Err(ApiError::missing(type_key)),
    };
    let device_id = match api {
        AddressApi::V1 => match text(body, "device") {
            None => GENERIC_EMAIL_DEVICE_ID.to_string(),
            Some(d) if d.eq_ignore_ascii_case(V1_GENERIC_EMAIL) => {
                GENERIC_EMAIL_DEVICE_ID.to_string()
            }
            Some(d) => d.to_string(),
        },
        AddressApi::V2 => text(body, "deviceId")
            .ok_or_else(|| ApiError::missing("deviceId"))?
            .to_string(),
    };
    let Some((_, _, kind)) = DEVICES.iter().find(|(d, _, _)| *d == device_id) else {
        return Err(ApiError::not_found("Device", &device_id));
    };
    if *kind != delivery_type {
        return Err(ApiError::invalid(format!(
            "The device '{device_id}' delivers by {kind}, not by {delivery_type}"
        )));
    }
    if delivery_type == "email" && !value.contains('@') {
        return Err(ApiError::invalid(format!(
            "'{value}' is not an email address"
        )));
    }
    let is_default = match body.get("isDefault").or_else(|| body.get("default")) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_bool()
                .ok_or_else(|| ApiError::invalid("Expected a boolean value for 'isDefault'"))?,
        ),
    };
    let address = AddressRec {
        id,
        name: text(body, "name").unwrap_or("Email").to_string(),
        value: value.to_string(),
        delivery_type,
        device_id,
        is_default: is_default.unwrap_or(false),
    };
    Ok((address, is_default))
}

impl Inner {
    fn user_mut(&mut self, user: &str) -> ApiResult<&mut UserRec> {
        self.users
            .get_mut(user)
            .ok_or_else(|| ApiError::not_found("User", user))
    }

    /// A user's addresses in the shape of `api`: `{"addresses": [...]}`.
    pub fn addresses_json(&self, user: &str, api: AddressApi) -> ApiResult<Value> {
        let u = self
            .users
            .get(user)
            .ok_or_else(|| ApiError::not_found("User", user))?;
        let list: Vec<Value> = u.addresses.iter().map(|a| a.to_json(api)).collect();
        Ok(json!({ "addresses": list }))
    }

    /// Adds an address sent through `api`.
    pub fn add_address(&mut self, user: &str, body: &Value, api: AddressApi) -> ApiResult<()> {
        let (mut address, flag) = parse(body, api, new_object_id())?;
        let u = self.user_mut(user)?;
        let has_default = u
            .addresses
            .iter()
            .any(|a| a.is_default && a.delivery_type == address.delivery_type);
        address.is_default = flag.unwrap_or(!has_default);
        push_address(u, address);
        Ok(())
    }

    /// Replaces address `id` with the one sent through `api` (a missing `isDefault` keeps
    /// the address's flag).
    pub fn update_address(
        &mut self,
        user: &str,
        id: &str,
        body: &Value,
        api: AddressApi,
    ) -> ApiResult<()> {
        let (mut address, flag) = parse(body, api, id.to_string())?;
        let u = self.user_mut(user)?;
        let Some(pos) = u.addresses.iter().position(|a| a.id == id) else {
            return Err(ApiError::not_found("Address", id));
        };
        let old = u.addresses.remove(pos);
        address.is_default = flag.unwrap_or(old.is_default);
        if address.is_default {
            unmark_defaults(u, &address.delivery_type);
        }
        u.addresses.insert(pos, address);
        u.modified = now();
        Ok(())
    }

    /// Deletes address `id`.
    pub fn delete_address(&mut self, user: &str, id: &str) -> ApiResult<()> {
        let u = self.user_mut(user)?;
        let before = u.addresses.len();
        u.addresses.retain(|a| a.id != id);
        if u.addresses.len() == before {
            return Err(ApiError::not_found("Address", id));
        }
        u.modified = now();
        Ok(())
    }
}

fn unmark_defaults(u: &mut UserRec, delivery_type: &str) {
    for a in &mut u.addresses {
        if a.delivery_type == delivery_type {
            a.is_default = false;
        }
    }
}

fn push_address(u: &mut UserRec, address: AddressRec) {
    if address.is_default {
        unmark_defaults(u, &address.delivery_type);
    }
    u.addresses.push(address);
    u.modified = now();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> EmulatorState {
        EmulatorState::new("admin", "pw", Settings::default())
    }

    #[test]
    fn what_v2_writes_v1_reads_and_back() {
        let st = state();
        let mut i = st.lock();
        let id = ADMINISTRATOR_USER_ID;
        i.add_address(
            id,
            &json!({"name": "Default Email", "physicalAddress": "a@example.com",
                    "deliveryType": "email", "deviceId": GENERIC_EMAIL_DEVICE_ID,
                    "idDefault": true}),
            AddressApi::V2,
        )
        .expect("v2 add");
        let v1 = i.addresses_json(id, AddressApi::V1).expect("v1 list");
        assert_eq!(v1["addresses"][0]["value"], "a@example.com");
        assert_eq!(v1["addresses"][0]["device"], "GENERIC_EMAIL");
        assert_eq!(
            v1["addresses"][0]["isDefault"], true,
            "first becomes default"
        );
        let addr = v1["addresses"][0]["id"].as_str().expect("id").to_string();
        i.update_address(
            id,
            &addr,
            &json!({"deliveryMode": "EMAIL", "device": "GENERIC_EMAIL", "value": "b@example.com"}),
            AddressApi::V1,
        )
        .expect("v1 update");
        let v2 = i.addresses_json(id, AddressApi::V2).expect("v2 list");
        assert_eq!(v2["addresses"][0]["physicalAddress"], "b@example.com");
        assert_eq!(v2["addresses"][0]["deviceName"], GENERIC_EMAIL_DEVICE_NAME);
        assert_eq!(v2["addresses"][0]["isDefault"], true, "kept");
        // A second default unmarks the first.
        i.add_address(
            id,
            &json!({"value": "c@example.com", "default": true}),
            AddressApi::V1,
        )
        .expect("v1 add");
        let list = &i.users[id].addresses;
        assert_eq!(list.iter().filter(|a| a.is_default_email()).count(), 1);
        assert!(list[1].is_default);
    }

    #[test]
    fn bad_bodies_are_refused() {
        let st = state();
        let mut i = st.lock();
        let id = ADMINISTRATOR_USER_ID;
        for body in [
            json!({"physicalAddress": "a@example.com", "deliveryType": "email"}),
            json!({"physicalAddress": "a@example.com", "deviceId": GENERIC_EMAIL_DEVICE_ID}),
            json!({"physicalAddress": "nope", "deliveryType": "email", "deviceId": GENERIC_EMAIL_DEVICE_ID}),
            json!({"physicalAddress": "a@example.com", "deliveryType": "file", "deviceId": GENERIC_EMAIL_DEVICE_ID}),
            json!({"physicalAddress": "a@example.com", "deliveryType": "email", "deviceId": "0123"}),
        ] {
            assert!(i.add_address(id, &body, AddressApi::V2).is_err(), "{body}");
        }
        assert!(i.users[id].addresses.is_empty());
    }
}
