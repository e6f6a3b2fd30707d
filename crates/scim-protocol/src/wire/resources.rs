//! User and Group resources (RFC 7643 §4.1, §4.2) and their common `meta` (§3.1).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `meta` (RFC 7643 §3.1): what the server says about a resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `User`, `Group`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The resource's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Its version, an entity tag (RFC 7644 §3.14), e.g. `W/"3"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Everything else (`created`, `lastModified`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `name` (RFC 7643 §4.1.1); only `formatted` is read, the rest is kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Name {
    /// The full name as displayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// `familyName`, `givenName`, ...
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One of `emails` (RFC 7643 §4.1.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `work`, `home`, `other`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The preferred address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// `display`, ...
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One of a group's `members`, or of a user's read-only `groups` (RFC 7643 §4.2, §4.1.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id.
    pub value: String,
    /// `User` or `Group`; absent means a user for most servers.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The member's URI.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Member {
    /// Whether the member is a group (`type` is `Group`, any case).
    pub fn is_group(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("group"))
    }
}

/// A User (RFC 7643 §4.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserResource {
    /// The schemas the resource carries.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The server's id; absent on a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The client's id for it (idbridge: the source id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The unique login.
    #[serde(default)]
    pub user_name: String,
    /// The name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The name to display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// E-mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Email>,
    /// Whether the account may sign in; absent is read as active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The groups the user is in (read-only, RFC 7643 §4.1.2): never sent.
    #[serde(default, skip_serializing)]
    pub groups: Vec<Member>,
    /// `meta`; never sent.
    #[serde(default, skip_serializing)]
    pub meta: Option<Meta>,
    /// Every other attribute, extensions included.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl UserResource {
    /// The address idbridge manages: the `work` one, else the primary one, else the first.
    pub fn work_email(&self) -> Option<&str> {
        let pick = |f: &dyn Fn(&Email) -> bool| {
            self.emails
                .iter()
                .find(|e| f(e) && e.value.as_deref().is_some_and(|v| !v.is_empty()))
        };
        pick(&|e| e.kind.as_deref() == Some("work"))
            .or_else(|| pick(&|e| e.primary == Some(true)))
            .or_else(|| pick(&|_| true))
            .and_then(|e| e.value.as_deref())
    }

    /// The resource's version (`meta.version`), when the server keeps one.
    pub fn version(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.version.as_deref())
    }
}

/// A Group (RFC 7643 §4.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupResource {
    /// The schemas the resource carries.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The server's id; absent on a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The client's id for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The group's name.
    #[serde(default)]
    pub display_name: String,
    /// Its members; `None` when the answer left them out (`excludedAttributes=members`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
    /// `meta`; never sent.
    #[serde(default, skip_serializing)]
    pub meta: Option<Meta>,
    /// Every other attribute.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GroupResource {
    /// The resource's version (`meta.version`), when the server keeps one.
    pub fn version(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.version.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_user_keeps_what_it_does_not_model_and_never_sends_read_only_attributes() {
        let body = json!({
            "schemas": [crate::wire::USER_SCHEMA],
            "id": "2819c223", "userName": "bjensen", "title": "Tour Guide",
            "emails": [{"value": "b@home", "type": "home"}, {"value": "b@work", "type": "work"}],
            "groups": [{"value": "e9e3", "display": "Tour Guides"}],
            "meta": {"resourceType": "User", "version": "W/\"3694e05e\""}
        });
        let user: UserResource = serde_json::from_value(body).expect("a user");
        assert_eq!(user.work_email(), Some("b@work"));
        assert_eq!(user.version(), Some("W/\"3694e05e\""));
        assert_eq!(user.groups.len(), 1);
        let out = serde_json::to_value(&user).expect("serializes");
        assert_eq!(out["title"], "Tour Guide");
        assert!(
            out.get("groups").is_none() && out.get("meta").is_none(),
            "{out}"
        );
    }

    #[test]
    fn group_members_carry_type_and_ref() {
        let g: GroupResource = serde_json::from_value(json!({
            "id": "g", "displayName": "Ops",
            "members": [{"value": "u1", "$ref": "https://x/Users/u1", "type": "User"},
                        {"value": "g2", "type": "Group"}]
        }))
        .expect("a group");
        let members = g.members.expect("members");
        assert!(!members[0].is_group() && members[1].is_group());
        assert_eq!(members[0].reference.as_deref(), Some("https://x/Users/u1"));
        let excluded: GroupResource =
            serde_json::from_value(json!({"id": "g", "displayName": "Ops"})).expect("a group");
        assert!(excluded.members.is_none());
    }
}
