//! Serde shapes of Squirro's JSON, lenient where the vendor sheet says the server may
//! return more fields or another wrapping.

use chrono::{DateTime, NaiveDateTime, Utc};
use idbridge_core::Secret;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The token exchange's answer. Not `Debug`: it holds tokens.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// The new access token.
    #[serde(deserialize_with = "Secret::deserialize_derived")]
    pub access_token: Secret,
    /// The refresh token to use from now on (may be the same one, or a rotated one).
    #[serde(default, deserialize_with = "Secret::deserialize_derived_opt")]
    pub refresh_token: Option<Secret>,
    /// The session the exchange belongs to.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The connecting user's id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The tenant of the token.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The connecting user's server role.
    #[serde(default)]
    pub role: Option<String>,
}

/// A user object as the user API returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireUser {
    /// The 22-character id.
    pub id: String,
    /// The e-mail address, which is also the login.
    #[serde(default)]
    pub email: Option<String>,
    /// The display name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// The server role.
    #[serde(default)]
    pub role: Option<String>,
    /// The groups the user is in (items with an `id`, or bare ids).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub groups: Vec<IdRef>,
    /// Every other key, custom values set through the user-data update included.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A reference to a record: an object with `id`, or a bare id string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRef(pub String);

impl<'de> Deserialize<'de> for IdRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Id(String),
            Obj { id: String },
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Id(id) | Raw::Obj { id } => IdRef(id),
        })
    }
}

/// `GET /users`: `{"users": [...]}`, or a bare array.
pub enum UsersResponse {
    /// The documented wrapped form.
    Wrapped {
        /// The users.
        users: Vec<WireUser>,
    },
    /// A bare array.
    Bare(Vec<WireUser>),
}

impl UsersResponse {
    /// The users, whatever the wrapping.
    pub fn into_users(self) -> Vec<WireUser> {
        match self {
            UsersResponse::Wrapped { users } | UsersResponse::Bare(users) => users,
        }
    }
}

/// A group object.
#[derive(Debug, Clone, Deserialize)]
pub struct WireGroup {
    /// The group id.
    pub id: String,
    /// The group name.
    pub name: String,
    /// The member users, as sent: every group object carries the list (`null` for none,
    /// as the documented examples of empty groups allow); `None` when the key is missing,
    /// which [`WireGroup::members`] refuses.
    #[serde(default, deserialize_with = "present_null_as_empty")]
    pub members: Option<Vec<WireUser>>,
}

impl WireGroup {
    /// The error for this group read from `endpoint` whose `field` is unusable.
    pub fn unusable(&self, endpoint: &str, field: &str, problem: &str) -> idbridge_core::Error {
        idbridge_core::Error::unusable_field(
            "Squirro",
            endpoint,
            &format!("group `{}`", self.id),
            field,
            problem,
        )
    }

    /// The member users.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] when the group came without its `members`
    /// list: it is never taken to have none, which would remove every membership.
    pub fn members(self, endpoint: &str) -> Result<Vec<WireUser>, idbridge_core::Error> {
        match self.members {
            Some(m) => Ok(m),
            None => Err(self.unusable(endpoint, "members", "is missing")),
        }
    }
}

/// `GET /groups`: a bare array, or `{"groups": [...]}`.
pub enum GroupsResponse {
    /// The documented bare array.
    Bare(Vec<WireGroup>),
    /// A wrapped form.
    Wrapped {
        /// The groups.
        groups: Vec<WireGroup>,
    },
}

impl GroupsResponse {
    /// The groups, whatever the wrapping.
    pub fn into_groups(self) -> Vec<WireGroup> {
        match self {
            GroupsResponse::Bare(groups) | GroupsResponse::Wrapped { groups } => groups,
        }
    }
}

/// One project member (a user or a group with a project role).
#[derive(Debug, Clone, Deserialize)]
pub struct WireMember {
    /// The user or group id.
    #[serde(alias = "id")]
    pub member_id: String,
    /// `user` or `group`.
    #[serde(default)]
    pub member_type: Option<String>,
    /// `reader`, `member`, `admin` (or `owner`).
    #[serde(default)]
    pub project_role: Option<String>,
}

/// `GET /projects/{id}/members`: `{"members": [...]}` or a bare array.
pub enum MembersResponse {
    /// The documented wrapped form.
    Wrapped {
        /// The members.
        members: Vec<WireMember>,
    },
    /// A bare array.
    Bare(Vec<WireMember>),
}

impl MembersResponse {
    /// The members, whatever the wrapping.
    pub fn into_members(self) -> Vec<WireMember> {
        match self {
            MembersResponse::Wrapped { members } | MembersResponse::Bare(members) => members,
        }
    }
}

/// A project from the topic API.
#[derive(Debug, Clone, Deserialize)]
pub struct WireProject {
    /// The project id.
    pub id: String,
    /// The project's title (its name in the UI).
    #[serde(default)]
    pub title: Option<String>,
}

/// `GET {T}/projects`: a bare array, or `{"projects": [...]}`.
pub enum ProjectsResponse {
    /// The documented bare array.
    Bare(Vec<WireProject>),
    /// A wrapped form.
    Wrapped {
        /// The projects.
        projects: Vec<WireProject>,
    },
}

impl ProjectsResponse {
    /// The projects, whatever the wrapping.
    pub fn into_projects(self) -> Vec<WireProject> {
        match self {
            ProjectsResponse::Bare(projects) | ProjectsResponse::Wrapped { projects } => projects,
        }
    }
}

/// One grant (a long-lived refresh token of a user).
#[derive(Debug, Clone, Deserialize)]
pub struct WireGrant {
    /// The grant id, which is also a session id.
    pub id: String,
    /// `user` or `service`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// When it was created (`YYYY-MM-DD HH:MM:SS`).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Until when it is valid.
    #[serde(default)]
    pub valid_to: Option<String>,
}

/// `GET /users/{id}/grants`: `{"grants": [...]}` or a bare array.
pub enum GrantsResponse {
    /// The documented wrapped form.
    Wrapped {
        /// The grants.
        grants: Vec<WireGrant>,
    },
    /// A bare array.
    Bare(Vec<WireGrant>),
}

impl GrantsResponse {
    /// The grants, whatever the wrapping.
    pub fn into_grants(self) -> Vec<WireGrant> {
        match self {
            GrantsResponse::Wrapped { grants } | GrantsResponse::Bare(grants) => grants,
        }
    }
}

/// A session object. Its shape is undocumented, so every field is optional and several
/// spellings are accepted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WireSession {
    /// The session id.
    #[serde(default, alias = "session_id")]
    pub id: Option<String>,
    /// The user's id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// When it started.
    #[serde(default, alias = "created")]
    pub created_at: Option<String>,
    /// When it was last used.
    #[serde(default, alias = "last_used", alias = "last_access")]
    pub last_activity: Option<String>,
    /// The client application it belongs to.
    #[serde(default)]
    pub client_id: Option<String>,
    /// `user`, `service`, or another kind of session.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// Reads `{"<key>": [...]}` or a bare `[...]` (`true` for the wrapped form). A mismatch
/// says which form was expected and names the position inside the list
/// (`users[2].groups`), where an untagged enum would only say that no variant matched.
fn wrapped_or_bare<'de, D, T>(d: D, key: &str) -> Result<(bool, Vec<T>), D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let expected = format!("expected a list, or an object with a `{key}` list");
    let (wrapped, items) = match Value::deserialize(d)? {
        items @ Value::Array(_) => (false, items),
        Value::Object(mut map) => match map.remove(key) {
            Some(items) => (true, items),
            None => {
                return Err(serde::de::Error::custom(format!(
                    "{expected}; found an object without `{key}`"
                )));
            }
        },
        other => {
            let found = match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "a string",
            };
            return Err(serde::de::Error::custom(format!(
                "{expected}; found {found}"
            )));
        }
    };
    serde_path_to_error::deserialize::<_, Vec<T>>(items)
        .map(|v| (wrapped, v))
        .map_err(|e| {
            let inner = e.path().to_string();
            let path = match (wrapped, inner.as_str()) {
                (true, ".") => key.to_string(),
                (true, p) => format!("{key}{p}"),
                (false, p) => p.to_string(),
            };
            serde::de::Error::custom(format!("at `{path}`: {}", e.into_inner()))
        })
}

impl<'de> Deserialize<'de> for UsersResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match wrapped_or_bare(d, "users")? {
            (true, users) => UsersResponse::Wrapped { users },
            (false, users) => UsersResponse::Bare(users),
        })
    }
}

impl<'de> Deserialize<'de> for GroupsResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match wrapped_or_bare(d, "groups")? {
            (true, groups) => GroupsResponse::Wrapped { groups },
            (false, groups) => GroupsResponse::Bare(groups),
        })
    }
}

impl<'de> Deserialize<'de> for MembersResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match wrapped_or_bare(d, "members")? {
            (true, members) => MembersResponse::Wrapped { members },
            (false, members) => MembersResponse::Bare(members),
        })
    }
}

impl<'de> Deserialize<'de> for ProjectsResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match wrapped_or_bare(d, "projects")? {
            (true, projects) => ProjectsResponse::Wrapped { projects },
            (false, projects) => ProjectsResponse::Bare(projects),
        })
    }
}

impl<'de> Deserialize<'de> for GrantsResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match wrapped_or_bare(d, "grants")? {
            (true, grants) => GrantsResponse::Wrapped { grants },
            (false, grants) => GrantsResponse::Bare(grants),
        })
    }
}

/// For a key that is present: `null` is an empty list. (A missing key is the field's
/// default, `None`, which tells it apart.)
fn present_null_as_empty<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default()))
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Parses Squirro's timestamps: `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS` (both UTC,
/// optionally with fractions), or RFC 3339.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// The `members` form field of group create/update: JSON text of `[{"id": ...}]`.
pub fn members_field<'a>(user_ids: impl IntoIterator<Item = &'a str>) -> String {
    let list: Vec<Value> = user_ids
        .into_iter()
        .map(|id| serde_json::json!({ "id": id }))
        .collect();
    Value::Array(list).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_accept_both_wrappings_and_keep_extra_keys() {
        let wrapped: UsersResponse = serde_json::from_str(
            r#"{"users": [{"id": "a", "email": "a@x.io", "full_name": "A", "role": "user",
                 "role_permissions": ["user"], "tenant": "t", "department": "Sales",
                 "groups": [{"id": "g1", "name": "G"}, "g2"]}]}"#,
        )
        .expect("wrapped");
        let users = wrapped.into_users();
        assert_eq!(users[0].extra["department"], Value::String("Sales".into()));
        assert_eq!(
            users[0].groups,
            vec![IdRef("g1".into()), IdRef("g2".into())]
        );
        let bare: UsersResponse =
            serde_json::from_str(r#"[{"id": "b", "groups": null}]"#).expect("bare");
        assert_eq!(bare.into_users()[0].id, "b");
    }

    #[test]
    fn groups_and_members_parse_the_documented_examples() {
        let groups: GroupsResponse = serde_json::from_str(
            r#"[{"id": "1jo-WmmyRvC8UYtPMIQaoQ", "name": "Team East", "members": [
                {"email": "u@x.io", "full_name": "User 1", "id": "H5Qv-WhgSBGW0WL8xolSCQ",
                 "role": "user", "role_permissions": ["user"], "tenant": "t"}]}]"#,
        )
        .expect("groups");
        let g = groups.into_groups();
        let members = g[0].clone().members("GET /groups").expect("listed");
        assert_eq!(members[0].id, "H5Qv-WhgSBGW0WL8xolSCQ");
        // A group without its members list is refused, not taken to have none; `null`
        // is an empty list.
        let bare: GroupsResponse = serde_json::from_str(
            r#"[{"id": "g", "name": "G", "members": null}, {"id": "h", "name": "H"}]"#,
        )
        .expect("groups");
        let mut groups = bare.into_groups().into_iter();
        let null = groups.next().expect("two groups");
        assert!(
            null.members("GET /groups")
                .expect("null is none")
                .is_empty()
        );
        for g in groups {
            let err = g.members("GET /groups").expect_err("no members list");
            assert!(
                err.message().contains("Squirro answered GET /groups")
                    && err.message().contains("`members` is missing"),
                "{}",
                err.message()
            );
        }
        let members: MembersResponse = serde_json::from_str(
            r#"{"members": [{"member_id": "u", "member_type": "user", "project_role": "reader",
                 "server_role": "user", "project_id": "p", "permissions": ["items.read.*"]}]}"#,
        )
        .expect("members");
        assert_eq!(
            members.into_members()[0].project_role.as_deref(),
            Some("reader")
        );
    }

    #[test]
    fn parses_both_timestamp_styles() {
        let a = parse_time("2012-12-21 16:00:01").expect("space");
        let b = parse_time("2012-12-21T16:00:01").expect("T");
        assert_eq!(a, b);
        assert!(parse_time("2012-12-21T16:00:01+00:00").is_some());
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn members_field_is_json_text() {
        assert_eq!(members_field(["a", "b"]), r#"[{"id":"a"},{"id":"b"}]"#);
    }

    #[test]
    fn a_list_that_does_not_match_names_the_position_and_the_expected_forms() {
        let err = |body: &str| {
            idbridge_core::http::parse_json::<UsersResponse>(body.as_bytes(), "user list")
                .err()
                .map(|e| e.message().to_string())
                .unwrap_or_default()
        };
        let wrapped = err(r#"{"users": [{"id": "a"}, {"id": "b", "groups": {"0": "g"}}]}"#);
        assert!(wrapped.contains("at `users[1].groups`"), "{wrapped}");
        let bare = err(r#"[{"id": 7}]"#);
        assert!(bare.contains("at `[0].id`"), "{bare}");
        let other = err(r#"{"items": []}"#);
        assert!(other.contains("an object without `users`"), "{other}");
        assert!(err("3").contains("found a number"));
        assert!(!wrapped.contains("variant"), "{wrapped}");
        let ok = idbridge_core::http::parse_json::<GroupsResponse>(
            br#"{"groups": [{"id": "g", "name": "n"}]}"#,
            "group list",
        )
        .expect("wrapped groups");
        assert_eq!(ok.into_groups()[0].name, "n");
    }
}
