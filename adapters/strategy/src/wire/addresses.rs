//! Users' contact addresses and the delivery devices they point at.
//!
//! Two API versions: v1 `/api/users/{id}/addresses` (`{name, deliveryMode, device, value,
//! isDefault}`) and v2 `/api/v2/users/{id}/addresses` (`{name, physicalAddress,
//! deliveryType, deviceId, deviceName, isDefault}`), with the devices at `/api/v2/devices`.
//! The bodies are those the official SDK (mstrio-py) sends.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{lenient_bool, lenient_string};

/// The name of the address the official SDK gives a new user's default e-mail.
pub const DEFAULT_EMAIL_NAME: &str = "Default Email";
/// The name the official SDK looks the generic e-mail device up by.
pub const GENERIC_EMAIL_DEVICE: &str = "Generic email";
/// The delivery type of e-mail addresses and devices (v2).
pub const EMAIL_DELIVERY: &str = "email";

/// One contact address, in either version's shape.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressJson {
    /// The address id.
    #[serde(default)]
    pub id: String,
    /// The user-chosen name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// The address itself (v2).
    #[serde(default, deserialize_with = "lenient_string")]
    pub physical_address: Option<String>,
    /// The address itself (v1).
    #[serde(default, deserialize_with = "lenient_string")]
    pub value: Option<String>,
    /// `email`, `file`, ... (v2).
    #[serde(default, deserialize_with = "lenient_string")]
    pub delivery_type: Option<String>,
    /// `EMAIL`, ... (v1).
    #[serde(default, deserialize_with = "lenient_string")]
    pub delivery_mode: Option<String>,
    /// The device id (v2).
    #[serde(default, deserialize_with = "lenient_string")]
    pub device_id: Option<String>,
    /// Whether it is the user's default address.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_default: Option<bool>,
}

impl AddressJson {
    /// Whether this is the user's default e-mail address: marked default, delivered by
    /// e-mail (an address without a delivery type is taken as e-mail, as v1 lists only
    /// e-mail addresses on old servers).
    pub fn is_default_email(&self) -> bool {
        let kind = self
            .delivery_type
            .as_deref()
            .or(self.delivery_mode.as_deref())
            .unwrap_or(EMAIL_DELIVERY);
        kind.eq_ignore_ascii_case(EMAIL_DELIVERY) && self.is_default == Some(true)
    }

    /// The address itself, under either version's name.
    pub fn address(&self) -> Option<&str> {
        self.physical_address
            .as_deref()
            .or(self.value.as_deref())
            .map(str::trim)
    }
}

/// `{"addresses": [...]}`: a user's addresses (both versions, and the answer of a v1 or
/// v2 address creation).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Addresses {
    /// The addresses.
    #[serde(default)]
    pub addresses: Vec<AddressJson>,
}

impl Addresses {
    /// The user's default e-mail address, if any.
    pub fn default_email(self) -> Option<AddressJson> {
        self.addresses
            .into_iter()
            .find(AddressJson::is_default_email)
    }
}

/// One delivery device (`/api/v2/devices` entries).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceJson {
    /// The device id.
    #[serde(default)]
    pub id: String,
    /// The device name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// `email`, `file`, ...
    #[serde(default, deserialize_with = "lenient_string")]
    pub device_type: Option<String>,
}

/// `{"devices": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Devices {
    /// The devices.
    #[serde(default)]
    pub devices: Vec<DeviceJson>,
}

impl Devices {
    /// The id of the generic e-mail device, found as the official SDK finds it: an e-mail
    /// device named "Generic email" (compared without case).
    pub fn generic_email(&self) -> Option<&str> {
        self.devices
            .iter()
            .find(|d| {
                d.device_type
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(EMAIL_DELIVERY))
                    && d.name
                        .as_deref()
                        .is_some_and(|n| n.trim().eq_ignore_ascii_case(GENERIC_EMAIL_DEVICE))
                    && !d.id.is_empty()
            })
            .map(|d| d.id.as_str())
    }

    /// The names of the e-mail devices offered, for an error naming them.
    pub fn email_device_names(&self) -> Vec<&str> {
        self.devices
            .iter()
            .filter(|d| {
                d.device_type
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case(EMAIL_DELIVERY))
            })
            .filter_map(|d| d.name.as_deref())
            .collect()
    }
}

/// A v2 e-mail address body (create and update): the fields the official SDK's
/// `User.add_address` and `User.update_address` send.
pub fn email_address_v2(name: &str, email: &str, device_id: &str) -> Value {
    json!({
        "name": name,
        "physicalAddress": email,
        "deliveryType": EMAIL_DELIVERY,
        "deviceId": device_id,
        "isDefault": true,
    })
}

/// A v1 e-mail address body on the generic e-mail device: what the official SDK's
/// `User.add_address` sends when no device is named (`_create_address_v1`).
pub fn email_address_v1(name: &str, email: &str) -> Value {
    json!({
        "name": name,
        "deliveryMode": "EMAIL",
        "device": "GENERIC_EMAIL",
        "value": email,
        "default": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_email_in_either_version() {
        let v2: Addresses = serde_json::from_value(json!({"addresses": [
            {"id": "F", "physicalAddress": "/tmp", "deliveryType": "file", "isDefault": true},
            {"id": "A", "physicalAddress": "old@example.com", "deliveryType": "email", "isDefault": false},
            {"id": "B", "physicalAddress": "ada@example.com", "deliveryType": "email", "isDefault": true},
        ]}))
        .expect("parses");
        let found = v2.default_email().expect("a default e-mail");
        assert_eq!(
            (found.id.as_str(), found.address()),
            ("B", Some("ada@example.com"))
        );
        let v1: Addresses = serde_json::from_value(json!({"addresses": [
            {"id": "C", "value": "bob@example.com", "deliveryMode": "EMAIL", "isDefault": "true"},
        ]}))
        .expect("parses");
        assert_eq!(
            v1.default_email().expect("found").address(),
            Some("bob@example.com")
        );
    }

    #[test]
    fn generic_email_device_by_type_and_name() {
        let d: Devices = serde_json::from_value(json!({"devices": [
            {"id": "F", "name": "Generic email", "deviceType": "file"},
            {"id": "X", "name": "Corporate mail", "deviceType": "email"},
            {"id": "E", "name": "Generic Email", "deviceType": "email"},
        ]}))
        .expect("parses");
        assert_eq!(d.generic_email(), Some("E"));
        assert_eq!(d.email_device_names(), ["Corporate mail", "Generic Email"]);
        let none: Devices = serde_json::from_value(json!({"devices": []})).expect("parses");
        assert_eq!(none.generic_email(), None);
    }
}
