//! The JSON views of users, groups, roles and projects, as the REST API answers them.

use super::*;

impl Inner {
    /// The summary of a user as listings show it.
    pub fn user_summary(&self, u: &UserRec) -> Value {
        json!({
            "name": u.full_name,
            "id": u.id,
            "type": TYPE_USER_OR_GROUP,
            "subtype": SUBTYPE_USER,
            "abbreviation": u.username,
            "description": u.description,
            "dateCreated": ts(u.created),
            "dateModified": ts(u.modified),
            "version": version_of(u.modified),
            "acg": 255,
            "owner": owner(),
            "extType": 0,
            "username": u.username,
            "fullName": u.full_name,
            "enabled": u.enabled,
        })
    }

    /// The full user (U2).
    pub fn user_json(&self, u: &UserRec) -> Value {
        let mut v = self.user_summary(u);
        let memberships: Vec<Value> = self
            .parents_of(&u.id)
            .iter()
            .map(|g| json!({"name": g.name, "id": g.id}))
            .collect();
        if let Value::Object(map) = &mut v {
            map.insert(
                "ancestors".into(),
                json!([{"name": "Users", "id": "73F7482111D3596C60001B8F67019608", "level": 1}]),
            );
            map.insert("acl".into(), json!([]));
            map.insert("initials".into(), Value::from(initials(&u.full_name)));
            map.insert("passwordModifiable".into(), Value::from(true));
            map.insert(
                "requireNewPassword".into(),
                Value::from(u.require_new_password),
            );
            map.insert("standardAuth".into(), Value::from(true));
            map.insert("passwordAutoExpire".into(), Value::from(false));
            map.insert("passwordExpirationFrequency".into(), Value::from(0));
            map.insert("ldapdn".into(), Value::from(""));
            map.insert("trustId".into(), Value::from(""));
            map.insert("memberships".into(), Value::from(memberships));
            for (k, val) in &u.extra {
                map.insert(k.clone(), val.clone());
            }
            if let Some(a) = u.addresses.iter().find(|a| a.is_default_email()) {
                map.insert("defaultEmailAddress".into(), Value::from(a.value.as_str()));
            }
        }
        v
    }

    /// The summary of a group as listings show it.
    pub fn group_summary(&self, g: &GroupRec) -> Value {
        json!({
            "name": g.name,
            "id": g.id,
            "type": TYPE_USER_OR_GROUP,
            "subtype": SUBTYPE_GROUP,
            "abbreviation": g.extra.get("abbreviation").cloned().unwrap_or(Value::from("")),
            "description": g.description,
            "dateCreated": ts(g.created),
            "dateModified": ts(g.modified),
            "version": version_of(g.modified),
            "acg": 255,
            "owner": owner(),
            "extType": 0,
        })
    }

    /// The full group (G2), members and parent groups included.
    pub fn group_json(&self, g: &GroupRec) -> Value {
        let mut v = self.group_summary(g);
        let members: Vec<Value> = self
            .members_of(&g.id)
            .iter()
            .filter_map(|m| self.principal_ref(m))
            .collect();
        let memberships: Vec<Value> = self
            .parents_of(&g.id)
            .iter()
            .map(|p| json!({"name": p.name, "id": p.id}))
            .collect();
        if let Value::Object(map) = &mut v {
            map.insert("ancestors".into(), json!([{"name": "User Groups", "id": "73F7482211D3596C60001B8F67019608", "level": 1}]));
            map.insert("acl".into(), json!([]));
            map.insert(
                "ldapdn".into(),
                g.extra.get("ldapdn").cloned().unwrap_or(Value::from("")),
            );
            map.insert("members".into(), Value::from(members));
            map.insert("memberships".into(), Value::from(memberships));
        }
        v
    }

    /// A user or group as a member entry (G6): the summary, users with login fields.
    pub fn member_entry(&self, id: &str) -> Option<Value> {
        if let Some(u) = self.users.get(id) {
            return Some(self.user_summary(u));
        }
        self.groups.get(id).map(|g| self.group_summary(g))
    }

    /// `{id, name, subType}` of a user or group, as role members and group members show.
    pub fn principal_ref(&self, id: &str) -> Option<Value> {
        if let Some(u) = self.users.get(id) {
            return Some(
                json!({"id": u.id, "name": u.full_name, "type": TYPE_USER_OR_GROUP, "subType": SUBTYPE_USER}),
            );
        }
        self.groups.get(id).map(
            |g| json!({"id": g.id, "name": g.name, "type": TYPE_USER_OR_GROUP, "subType": SUBTYPE_GROUP}),
        )
    }

    /// The summary of a security role (S1).
    pub fn role_summary(&self, r: &RoleRec) -> Value {
        json!({
            "name": r.name,
            "id": r.id,
            "type": TYPE_SECURITY_ROLE,
            "subtype": SUBTYPE_ROLE,
            "description": r.description,
            "dateCreated": ts(r.created),
            "dateModified": ts(r.modified),
            "version": version_of(r.modified),
            "acg": 255,
            "owner": owner(),
            "extType": 0,
        })
    }

    /// The full security role (S2): privileges (`name` before `id`, as the server writes
    /// them) and members per project, one entry per project.
    pub fn role_json(&self, r: &RoleRec) -> RoleBody {
        let mut common = match self.role_summary(r) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        common.insert("acl".into(), json!([]));
        let privileges = r
            .privileges
            .iter()
            .map(|p| PrivilegeOut {
                name: PRIVILEGES
                    .iter()
                    .find(|(id, _, _)| id == p)
                    .map_or("Privilege", |(_, n, _)| n)
                    .to_string(),
                id: p.clone(),
            })
            .collect();
        let projects = self
            .projects
            .iter()
            .map(|p| {
                let members: Vec<Value> = r
                    .members
                    .get(&p.id)
                    .map(|ms| ms.iter().filter_map(|m| self.principal_ref(m)).collect())
                    .unwrap_or_default();
                json!({"id": p.id, "name": p.name, "members": members})
            })
            .collect();
        RoleBody {
            common,
            privileges: Some(privileges),
            projects: Some(projects),
        }
    }

    /// A project (P1).
    pub fn project_json(&self, p: &ProjectRec) -> Value {
        json!({
            "id": p.id,
            "name": p.name,
            "alias": "",
            "description": p.description,
            "status": 0,
            "dateCreated": "2001-01-02T20:48:05.000+0000",
            "dateModified": ts(now()),
            "owner": owner(),
        })
    }

    /// Finds a project by id or name.
    pub fn project(&self, key: &str) -> Option<&ProjectRec> {
        self.projects
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(key) || p.name == key)
    }
}

fn initials(full_name: &str) -> String {
    full_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(3)
        .collect::<String>()
        .to_uppercase()
}
