//! Users, user groups, security roles and projects as the server sends them.

use idbridge_core::Error;
use serde::Deserialize;

use super::{Field, Origin, lenient_string};

use super::{SUBTYPE_GROUP, SUBTYPE_USER};

/// A user (U2, U3, U4 responses), a member entry of a group listing (G6) or a user search
/// entry (U1). Groups listed as members use the same shape with subtype 8705.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectJson {
    /// The object id.
    pub id: String,
    /// The display name (a user's full name, a group's name).
    #[serde(default)]
    pub name: Field<String>,
    /// The login name of a user (G6 entries and full user reads).
    #[serde(default)]
    pub username: Field<String>,
    /// The abbreviation: a user's login name (every listing carries it).
    #[serde(default)]
    pub abbreviation: Field<String>,
    /// A user's full name.
    #[serde(default)]
    pub full_name: Field<String>,
    /// Whether a user may log in (G6 entries and full user reads; U1 search entries
    /// leave it out).
    #[serde(default)]
    pub enabled: Field<bool>,
    /// The description.
    #[serde(default)]
    pub description: Field<String>,
    /// A user's default email address (newer servers).
    #[serde(default)]
    pub default_email_address: Field<String>,
    /// The object type (34 for users and groups).
    #[serde(default, rename = "type")]
    pub object_type: Field<i64>,
    /// The subtype (8704 user, 8705 group).
    #[serde(default)]
    pub subtype: Field<i64>,
    /// The same subtype under the casing used inside security roles.
    #[serde(default, rename = "subType")]
    pub sub_type: Field<i64>,
}

/// The subtype under either spelling, strictly: present with another type is an error.
fn subtype_of(
    origin: &Origin<'_>,
    subtype: &Field<i64>,
    sub_type: &Field<i64>,
) -> Result<Option<i64>, Error> {
    match origin.optional("subtype", subtype)? {
        Some(v) => Ok(Some(*v)),
        None => Ok(origin.optional("subType", sub_type)?.copied()),
    }
}

/// Whether a member entry is a group, from its subtype, which every member listing
/// carries: 8705 a group, 8704 a user; anything else, or none, is an error (a user taken
/// for a group, or the reverse, would change the wrong membership).
fn member_is_group(
    origin: &Origin<'_>,
    subtype: &Field<i64>,
    sub_type: &Field<i64>,
) -> Result<bool, Error> {
    match subtype_of(origin, subtype, sub_type)? {
        Some(SUBTYPE_GROUP) => Ok(true),
        Some(SUBTYPE_USER) => Ok(false),
        Some(other) => Err(origin.error(
            "subtype",
            &format!("is {other}, neither a user ({SUBTYPE_USER}) nor a group ({SUBTYPE_GROUP})"),
        )),
        None => Err(origin.error("subtype", "is missing")),
    }
}

impl ObjectJson {
    /// The subtype under either spelling.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when one is present with another type.
    pub fn subtype(&self, origin: &Origin<'_>) -> Result<Option<i64>, Error> {
        subtype_of(origin, &self.subtype, &self.sub_type)
    }

    /// Whether this entry of a listing is a user group, from its subtype.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when the subtype is missing, of another type,
    /// or neither a user's nor a group's.
    pub fn is_group(&self, origin: &Origin<'_>) -> Result<bool, Error> {
        member_is_group(origin, &self.subtype, &self.sub_type)
    }

    /// The user's login as far as it arrived (`username`, else `abbreviation`), for
    /// lookups that only compare it; converting a user reads it strictly instead.
    pub fn login(&self) -> Option<&str> {
        self.username
            .value()
            .or(self.abbreviation.value())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A user group (G2, G3, G4 responses, G1 entries).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupJson {
    /// The group id.
    pub id: String,
    /// The group name.
    #[serde(default)]
    pub name: Field<String>,
    /// The description.
    #[serde(default)]
    pub description: Field<String>,
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
    #[serde(default, rename = "subType")]
    pub sub_type: Field<i64>,
    /// The same, spelt `subtype`.
    #[serde(default)]
    pub subtype: Field<i64>,
}

impl RoleMemberJson {
    /// Whether the member is a group.
    ///
    /// # Errors
    /// As [`ObjectJson::is_group`].
    pub fn is_group(&self, origin: &Origin<'_>) -> Result<bool, Error> {
        member_is_group(origin, &self.subtype, &self.sub_type)
    }
}

/// One project's members of a security role.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoleProjectJson {
    /// The project id.
    pub id: String,
    /// The project name (the scope of the grants).
    #[serde(default)]
    pub name: Field<String>,
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
    #[serde(default)]
    pub name: Field<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::WireValue;
    use serde_json::json;

    #[test]
    fn user_accepts_string_booleans_and_numeric_strings() {
        let u: ObjectJson = serde_json::from_value(json!({
            "id": "A", "name": "Ada L", "abbreviation": "ada", "enabled": "false",
            "type": "34", "subtype": 8704
        }))
        .expect("parses");
        let origin = Origin::new("GET /api/users/A", "user", "A");
        assert_eq!(u.enabled, Field::Value(false));
        assert_eq!(u.object_type, Field::Value(34));
        assert_eq!(u.login(), Some("ada"));
        assert!(!u.is_group(&origin).expect("a user"));
        let g: ObjectJson =
            serde_json::from_value(json!({"id": "G", "name": "Sales", "subtype": "8705"}))
                .expect("parses");
        assert!(g.is_group(&origin).expect("a group"));
    }

    #[test]
    fn strict_fields_keep_what_arrived() {
        let u: ObjectJson = serde_json::from_value(json!({
            "id": "A", "username": 11, "enabled": "maybe", "fullName": null, "subtype": []
        }))
        .expect("a wrong type is kept, not a parse failure");
        assert_eq!(u.username, Field::Invalid("a number"));
        assert_eq!(u.enabled, Field::Invalid("a string"));
        assert_eq!(u.full_name, Field::Absent);
        assert_eq!(u.abbreviation, Field::Absent);
        assert_eq!(u.login(), None);
        let origin = Origin::new("GET /api/users/A", "user", "A");
        let err = origin
            .require("username", &u.username)
            .expect_err("a number");
        assert_eq!(err.kind(), idbridge_core::ErrorKind::Protocol);
        for needle in [
            "Strategy",
            "GET /api/users/A",
            "user `A`",
            "`username`",
            "a number",
        ] {
            assert!(
                err.message().contains(needle),
                "{needle}: {}",
                err.message()
            );
        }
        let err = origin
            .require("enabled", &u.enabled)
            .expect_err("not a boolean");
        assert!(err.message().contains("`enabled`"), "{}", err.message());
        let err = u.is_group(&origin).expect_err("subtype of the wrong type");
        assert!(err.message().contains("`subtype`"), "{}", err.message());
        let err = origin
            .require_text("name", &Field::Value(" ".to_string()))
            .expect_err("blank");
        assert!(err.message().contains("is empty"), "{}", err.message());
        // Numbers and "yes" are not booleans here, whatever lenient parsers make of them.
        for v in [json!(1), json!("yes"), json!("1")] {
            assert_eq!(bool::from_wire(&v), None, "{v}");
        }
    }
}
