//! Serde shapes of the Strategy One REST API, accepting the variants servers send.
//!
//! Every struct ignores unknown fields. Booleans may arrive as `true` or `"true"`,
//! `type`/`subtype` as numbers or strings, and node names as `name` or `node`; the
//! helpers here accept each form.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// Accepts `true`, `"true"`, `1`, `"1"` (and the false forms); anything else is absent.
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

/// `{id, name}` as found in `memberships`, `owner`, project lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IdName {
    /// The object id.
    #[serde(default)]
    pub id: String,
    /// The object name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
}

/// A user (U2, U3, U4 responses), a member entry of a group listing (G6) or a user search
/// entry (U1). Groups listed as members use the same shape with subtype 8705.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectJson {
    /// The object id.
    pub id: String,
    /// The display name (a user's full name, a group's name).
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// The login name of a user.
    #[serde(default, deserialize_with = "lenient_string")]
    pub username: Option<String>,
    /// The abbreviation: a user's login name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub abbreviation: Option<String>,
    /// A user's full name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub full_name: Option<String>,
    /// Whether a user may log in.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub enabled: Option<bool>,
    /// The description.
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
    /// A user's default email address (newer servers).
    #[serde(default, deserialize_with = "lenient_string")]
    pub default_email_address: Option<String>,
    /// The object type (34 for users and groups).
    #[serde(default, rename = "type", deserialize_with = "lenient_int")]
    pub object_type: Option<i64>,
    /// The subtype (8704 user, 8705 group).
    #[serde(default, deserialize_with = "lenient_int")]
    pub subtype: Option<i64>,
    /// The same subtype under the casing used inside security roles.
    #[serde(default, rename = "subType", deserialize_with = "lenient_int")]
    pub sub_type: Option<i64>,
}

impl ObjectJson {
    /// The subtype under either spelling.
    pub fn subtype(&self) -> Option<i64> {
        self.subtype.or(self.sub_type)
    }

    /// Whether this entry is a user group; entries without a subtype count as users when
    /// they carry a login, as groups otherwise.
    pub fn is_group(&self) -> bool {
        match self.subtype() {
            Some(SUBTYPE_GROUP) => true,
            Some(_) => false,
            None => self.username.is_none() && self.abbreviation.is_none(),
        }
    }

    /// The user's login: `username`, else `abbreviation`.
    pub fn login(&self) -> Option<&str> {
        self.username
            .as_deref()
            .or(self.abbreviation.as_deref())
            .filter(|s| !s.is_empty())
    }
}

/// A user group (G2, G3, G4 responses, G1 entries).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupJson {
    /// The group id.
    pub id: String,
    /// The group name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// The description.
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
}

/// A member of a security role in one project.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoleMemberJson {
    /// The user or group id.
    pub id: String,
    /// Its name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// 8704 user, 8705 group (this endpoint spells it `subType`).
    #[serde(default, rename = "subType", deserialize_with = "lenient_int")]
    pub sub_type: Option<i64>,
    /// The same, spelt `subtype`.
    #[serde(default, deserialize_with = "lenient_int")]
    pub subtype: Option<i64>,
}

impl RoleMemberJson {
    /// Whether the member is a group.
    pub fn is_group(&self) -> bool {
        self.sub_type.or(self.subtype) == Some(SUBTYPE_GROUP)
    }
}

/// One project's members of a security role.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoleProjectJson {
    /// The project id.
    pub id: String,
    /// The project name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// Users and groups holding the role in this project.
    #[serde(default)]
    pub members: Vec<RoleMemberJson>,
}

/// A privilege inside a security role.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrivilegeJson {
    /// The numeric privilege id, as a string.
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    /// The privilege name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
}

/// A security role (S1 entries, S2 and S4 responses).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoleJson {
    /// The role id.
    pub id: String,
    /// The role name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// The privileges (S2 only).
    #[serde(default)]
    pub privileges: Vec<PrivilegeJson>,
    /// Members per project (S2 only).
    #[serde(default)]
    pub projects: Vec<RoleProjectJson>,
}

/// A project (P1 entries, P2 `projects` entries).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProjectJson {
    /// The project id.
    pub id: String,
    /// The project name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
}

/// P2: `{"projects": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MonitorProjects {
    /// The projects.
    #[serde(default)]
    pub projects: Vec<ProjectJson>,
}

/// One cluster node (C0).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeJson {
    /// The node name (`name`, or `node` on older servers).
    #[serde(default, deserialize_with = "lenient_string", alias = "node")]
    pub name: Option<String>,
    /// `running`, `stopped` or `unknown`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
}

impl NodeJson {
    /// Whether the node serves requests (user connections are listed only there).
    pub fn is_running(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("running"))
    }
}

/// C0: `{"nodes": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Nodes {
    /// The cluster nodes.
    #[serde(default)]
    pub nodes: Vec<NodeJson>,
}

/// One user connection (C1 entries).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionJson {
    /// The connection id (what C2 and C3 take).
    pub id: String,
    /// The user's login name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub username: Option<String>,
    /// When the connection was opened.
    #[serde(default, deserialize_with = "lenient_string")]
    pub date_connection_created: Option<String>,
    /// When the last job was submitted.
    #[serde(default, deserialize_with = "lenient_string")]
    pub date_last_job_submitted: Option<String>,
    /// The client host or application.
    #[serde(default, deserialize_with = "lenient_string")]
    pub client: Option<String>,
    /// The application type (e.g. `DSSScheduler`).
    #[serde(default, deserialize_with = "lenient_string")]
    pub application_type: Option<String>,
    /// The project name, empty for the configuration-level connection.
    #[serde(default, deserialize_with = "lenient_string")]
    pub project_name: Option<String>,
}

/// C1: `{"userConnections": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserConnections {
    /// The connections on this page.
    #[serde(default)]
    pub user_connections: Vec<ConnectionJson>,
}

/// One entry of a bulk-disconnect answer (C3).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DisconnectStatus {
    /// The connection id.
    #[serde(default)]
    pub id: String,
    /// An HTTP-like status: 2xx disconnected, 4xx refused.
    #[serde(default, deserialize_with = "lenient_int")]
    pub status: Option<i64>,
    /// The Intelligence Server's message, if any.
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
}

/// C3: `{"deleteUserConnectionsStatus": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectResult {
    /// One status per requested id.
    #[serde(default)]
    pub delete_user_connections_status: Vec<DisconnectStatus>,
}

/// A5: who the session belongs to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// The user id.
    #[serde(default)]
    pub id: String,
    /// The login, where the server includes it.
    #[serde(default, deserialize_with = "lenient_string")]
    pub username: Option<String>,
    /// The full name.
    #[serde(default, deserialize_with = "lenient_string")]
    pub full_name: Option<String>,
}

/// One operation of a PATCH `operationList`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// `replace`, `add`, `remove`, `addElement`, `removeElement`.
    pub op: &'static str,
    /// The camel-case field with a leading `/`.
    pub path: &'static str,
    /// The value.
    pub value: Value,
}

impl Operation {
    /// `replace` on a scalar field.
    pub fn replace(path: &'static str, value: impl Into<Value>) -> Self {
        Operation {
            op: "replace",
            path,
            value: value.into(),
        }
    }

    /// `add` of ids to a list field (the value is always an array, as the SDK sends it).
    pub fn add_ids(path: &'static str, ids: &[&str]) -> Self {
        Operation {
            op: "add",
            path,
            value: Value::from(ids.iter().map(|s| Value::from(*s)).collect::<Vec<_>>()),
        }
    }

    /// `remove` of ids from a list field.
    pub fn remove_ids(path: &'static str, ids: &[&str]) -> Self {
        Operation {
            op: "remove",
            path,
            value: Value::from(ids.iter().map(|s| Value::from(*s)).collect::<Vec<_>>()),
        }
    }
}

/// A PATCH body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationList {
    /// The operations, applied in order.
    pub operation_list: Vec<Operation>,
}

impl OperationList {
    /// A body of the given operations.
    pub fn of(ops: Vec<Operation>) -> Self {
        OperationList {
            operation_list: ops,
        }
    }
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
    fn user_accepts_string_booleans_and_numeric_strings() {
        let u: ObjectJson = serde_json::from_value(json!({
            "id": "A", "name": "Ada L", "abbreviation": "ada", "enabled": "false",
            "type": "34", "subtype": 8704
        }))
        .expect("parses");
        assert_eq!(u.enabled, Some(false));
        assert_eq!(u.object_type, Some(34));
        assert_eq!(u.login(), Some("ada"));
        assert!(!u.is_group());
        let g: ObjectJson =
            serde_json::from_value(json!({"id": "G", "name": "Sales", "subtype": "8705"}))
                .expect("parses");
        assert!(g.is_group());
    }

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
    fn nodes_accept_old_field_name() {
        let n: Nodes = serde_json::from_value(json!({"nodes": [
            {"node": "old-host", "status": "running"},
            {"name": "new-host", "status": "stopped"}
        ]}))
        .expect("parses");
        assert_eq!(n.nodes[0].name.as_deref(), Some("old-host"));
        assert!(n.nodes[0].is_running());
        assert!(!n.nodes[1].is_running());
    }

    #[test]
    fn operation_list_shape() {
        let body = OperationList::of(vec![
            Operation::replace("/enabled", false),
            Operation::add_ids("/members", &["A"]),
        ]);
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            json!({"operationList": [
                {"op": "replace", "path": "/enabled", "value": false},
                {"op": "add", "path": "/members", "value": ["A"]}
            ]})
        );
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
