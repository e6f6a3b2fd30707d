//! Serde shapes of the Strategy One REST API, accepting the variants servers send.
//!
//! Every struct ignores unknown fields. Booleans may arrive as `true` or `"true"`,
//! `type`/`subtype` as numbers or strings, and node names as `name` or `node`; the
//! helpers here accept each form.
//!
//! Fields the engine acts on (ids, logins, names, the enabled flag, subtypes that decide
//! whether a member is a user or a group) are read strictly as [`Field`]s: a value that is
//! missing where the server always sends it, or of another JSON type, makes the record an
//! error naming the endpoint, the record and the field ([`Origin`]). It never becomes a
//! default: an absent `enabled` is not "enabled", a numeric login is not a login, a group
//! without a name is not named after its id.

use chrono::{DateTime, NaiveDateTime, Utc};
use idbridge_core::Error;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;

mod addresses;
mod objects;
mod patch;
mod sessions;

pub use addresses::*;
pub use objects::*;
pub use patch::*;
pub use sessions::*;

/// The built-in Everyone group: every user is a member.
pub const EVERYONE_GROUP_ID: &str = "C82C6B1011D2894CC0009D9F29718E4F";
/// The built-in Administrator user.
pub const ADMINISTRATOR_USER_ID: &str = "54F3D26011D2896560009A8E67019608";
/// The built-in System Administrators group.
pub const SYSTEM_ADMINISTRATORS_GROUP_ID: &str = "5F3FAFE111D2D8CC6000CC8E67019608";
/// The built-in System Monitors group.
pub const SYSTEM_MONITORS_GROUP_ID: &str = "5F3FAFE011D2D8CC6000CC8E67019608";
/// The built-in Public / Guest group.
pub const PUBLIC_GROUP_ID: &str = "294DEDC011D2F1D56000D98E67019608";

/// The groups that are never modified or deleted.
pub const SYSTEM_GROUP_IDS: [&str; 4] = [
    EVERYONE_GROUP_ID,
    SYSTEM_ADMINISTRATORS_GROUP_ID,
    SYSTEM_MONITORS_GROUP_ID,
    PUBLIC_GROUP_ID,
];

/// The groups whose members administer the platform (System Administrators, and System
/// Monitors, who watch and cancel every session and job): never given members.
pub const PRIVILEGED_GROUP_IDS: [&str; 2] =
    [SYSTEM_ADMINISTRATORS_GROUP_ID, SYSTEM_MONITORS_GROUP_ID];

/// The object type of users and user groups.
pub const TYPE_USER_OR_GROUP: i64 = 34;
/// The object subtype of a user.
pub const SUBTYPE_USER: i64 = 8704;
/// The object subtype of a user group.
pub const SUBTYPE_GROUP: i64 = 8705;
/// The object type of a security role.
pub const TYPE_SECURITY_ROLE: i64 = 44;

/// Whether `id` has the shape of a Strategy object id (32 upper-case hex characters).
pub fn is_object_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// A JSON type that a strict [`Field`] accepts, and the forms Strategy sends it in.
pub trait WireValue: Sized {
    /// What the field should hold, for error messages (`a string`).
    const EXPECTED: &'static str;
    /// The value, when `v` is one of the accepted forms.
    fn from_wire(v: &Value) -> Option<Self>;
}

impl WireValue for String {
    const EXPECTED: &'static str = "a string";
    fn from_wire(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_string)
    }
}

impl WireValue for bool {
    const EXPECTED: &'static str = "a boolean";
    /// A JSON boolean, or the text `"true"`/`"false"` that old servers send (the REST
    /// documentation's samples show both); nothing else, not even `1` or `"yes"`.
    fn from_wire(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
}

impl WireValue for i64 {
    const EXPECTED: &'static str = "a whole number";
    /// A JSON integer or its decimal text (`type`/`subtype` arrive either way).
    fn from_wire(v: &Value) -> Option<Self> {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// The JSON type of a value, for error messages.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One field of a record, read strictly: absent (or `null`), a value in an accepted form,
/// or something else (kept as the JSON type that arrived, never as the value, which could
/// be anything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Not in the answer, or `null`.
    #[default]
    Absent,
    /// A value in an accepted form.
    Value(T),
    /// Present in a form that is not accepted; holds the JSON type that arrived.
    Invalid(&'static str),
}

impl<'de, T: WireValue> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Field::Absent,
            v => match T::from_wire(&v) {
                Some(t) => Field::Value(t),
                None => Field::Invalid(json_type(&v)),
            },
        })
    }
}

impl<T> Field<T> {
    /// The value, when one arrived in an accepted form (for fields nothing depends on).
    pub fn value(&self) -> Option<&T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<T> for Field<T> {
    fn from(v: T) -> Self {
        Field::Value(v)
    }
}

/// Where a record was read: the endpoint, what the record is and its id. Names all three
/// (and the vendor) in the errors of a record the adapter refuses to use.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The request, `GET /api/users/{id}`.
    pub endpoint: &'a str,
    /// What the record is: `user`, `user group`, `security role`.
    pub what: &'a str,
    /// The record's id, as far as known.
    pub id: &'a str,
}

impl<'a> Origin<'a> {
    /// A record of `what` with `id` read from `endpoint`.
    pub fn new(endpoint: &'a str, what: &'a str, id: &'a str) -> Self {
        Origin { endpoint, what, id }
    }

    /// The error for field `field` of this record, which `problem` describes.
    pub fn error(&self, field: &str, problem: &str) -> Error {
        let record = if self.id.is_empty() {
            format!("a {} without an id", self.what)
        } else {
            format!("{} `{}`", self.what, self.id)
        };
        Error::unusable_field("Strategy", self.endpoint, &record, field, problem)
    }

    /// The field's value, which must be there and of its type.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] naming the field when it is absent or of
    /// another type.
    pub fn require<'f, T: WireValue>(&self, field: &str, f: &'f Field<T>) -> Result<&'f T, Error> {
        match self.optional(field, f)? {
            Some(v) => Ok(v),
            None => Err(self.error(field, "is missing")),
        }
    }

    /// The field's value if present; an absent field is `None`.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when it is present with another type.
    pub fn optional<'f, T: WireValue>(
        &self,
        field: &str,
        f: &'f Field<T>,
    ) -> Result<Option<&'f T>, Error> {
        match f {
            Field::Absent => Ok(None),
            Field::Value(v) => Ok(Some(v)),
            Field::Invalid(got) => {
                Err(self.error(field, &format!("is {got} where {} belongs", T::EXPECTED)))
            }
        }
    }

    /// A string field that must be there and not blank.
    ///
    /// # Errors
    /// As [`Origin::require`], and when the text is blank.
    pub fn require_text<'f>(&self, field: &str, f: &'f Field<String>) -> Result<&'f str, Error> {
        let v = self.require(field, f)?;
        if v.trim().is_empty() {
            return Err(self.error(field, "is empty"));
        }
        Ok(v)
    }
}

/// Accepts `true`, `"true"`, `1`, `"1"` (and the false forms); anything else is absent.
/// Only for fields nothing is decided on (session listings, nodes).
pub fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        Some(Value::Number(n)) => n.as_i64().map(|i| i != 0),
        _ => None,
    })
}

/// Accepts a number or a numeric string.
pub fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Accepts a string or a number (rendered as text); anything else is absent.
pub fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Parses Strategy timestamps: `2019-03-04T17:55:07.000+0000`, with or without the
/// fraction, with `Z`, a `+00:00` offset, or no offset (taken as UTC).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// Formats a timestamp the way Strategy writes them.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// `{id, name}` as found in `memberships`, `owner`, project lists. The id is required: a
/// parent group without one cannot be told apart from any other.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IdName {
    /// The object id.
    pub id: String,
    /// The object name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
}

/// Deserializes a bare JSON array, or an object wrapping one array under any key (some
/// servers wrap list answers), into a list.
pub fn list_of<T: serde::de::DeserializeOwned>(value: Value) -> Result<Vec<T>, serde_json::Error> {
    match value {
        Value::Array(_) => serde_json::from_value(value),
        Value::Object(map) => {
            let arrays: Vec<Value> = map
                .into_iter()
                .map(|(_, v)| v)
                .filter(Value::is_array)
                .collect();
            match <[Value; 1]>::try_from(arrays) {
                Ok([only]) => serde_json::from_value(only),
                Err(_) => Err(de::Error::custom("expected a JSON array")),
            }
        }
        _ => Err(de::Error::custom("expected a JSON array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_every_form() {
        let expect = "2019-03-04T17:55:07Z";
        for s in [
            "2019-03-04T17:55:07.000+0000",
            "2019-03-04T17:55:07+0000",
            "2019-03-04T17:55:07Z",
            "2019-03-04T17:55:07.000Z",
            "2019-03-04T17:55:07",
            "2019-03-04T18:55:07.000+0100",
        ] {
            let t = parse_timestamp(s).unwrap_or_else(|| panic!("{s} parses"));
            assert_eq!(
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                expect,
                "{s}"
            );
        }
        assert_eq!(parse_timestamp("yesterday"), None);
        let t = parse_timestamp("2019-03-04T17:55:07.000+0000").expect("parses");
        assert_eq!(format_timestamp(t), "2019-03-04T17:55:07.000+0000");
    }

    #[test]
    fn object_ids() {
        assert!(is_object_id(EVERYONE_GROUP_ID));
        assert!(!is_object_id("c82c6b1011d2894cc0009d9f29718e4f"));
        assert!(!is_object_id("nope"));
    }

    #[test]
    fn list_of_accepts_bare_and_wrapped() {
        let bare: Vec<IdName> = list_of(json!([{"id": "a"}])).expect("bare");
        let wrapped: Vec<IdName> = list_of(json!({"roles": [{"id": "a"}]})).expect("wrapped");
        assert_eq!(bare, wrapped);
        assert!(list_of::<IdName>(json!("x")).is_err());
    }
}
