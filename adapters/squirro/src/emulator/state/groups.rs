//! Groups and their members.

use super::*;

impl State {
    pub(super) fn group_json(
        inner: &Inner,
        g: &EGroup,
        tenant: &str,
        include_projects: bool,
    ) -> Value {
        let members: Vec<Value> = g
            .members
            .iter()
            .filter_map(|id| inner.user(id))
            .map(|u| Self::user_summary(u, tenant))
            .collect();
        let mut out = json!({"id": g.id, "name": g.name, "members": members});
        if include_projects {
            let projects = inner.projects_of(&g.id, true);
            out["projects"] = Value::Array(projects);
        }
        out
    }

    /// `GET /groups`: a bare array.
    ///
    /// # Errors
    /// 403 for non-administrators.
    pub fn list_groups(&self, caller: &Caller) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let inner = self.lock();
        Ok(Value::Array(
            inner
                .groups
                .iter()
                .map(|g| Self::group_json(&inner, g, &self.settings.tenant, false))
                .collect(),
        ))
    }

    /// `GET /groups/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_group(&self, caller: &Caller, id: &str, include_projects: bool) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let inner = self.lock();
        let g = inner.group(id).ok_or_else(|| not_found("Group", id))?;
        Ok(Self::group_json(
            &inner,
            g,
            &self.settings.tenant,
            include_projects,
        ))
    }

    /// Reads a `members` field: JSON text (form) or an array (JSON body) of `{"id"}`
    /// objects or ids; every id must be a user.
    pub(super) fn member_ids(inner: &Inner, value: Option<&Value>) -> ApiResult<Vec<String>> {
        let ids = parse_id_list(value, "members")?;
        for id in &ids {
            if inner.user(id).is_none() {
                return Err(ApiError::new(400, format!("Unknown user {id} in members")));
            }
        }
        Ok(ids)
    }

    /// 409 when another group than `except` has this name (in any case).
    fn group_name_free(inner: &Inner, except: Option<&str>, name: &str) -> ApiResult<()> {
        if inner.group_names.taken(name, except) {
            Err(ApiError::new(
                409,
                format!("A group named {name} already exists"),
            ))
        } else {
            Ok(())
        }
    }

    /// `POST /groups`: form `name` and optional `members` (JSON text).
    ///
    /// # Errors
    /// 400 for a missing name or bad members; 403; 409 for a taken name.
    pub fn create_group(&self, caller: &Caller, fields: &Map<String, Value>) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let name = required(fields, "name", "A group name is required")?;
        let mut inner = self.lock();
        Self::group_name_free(&inner, None, &name)?;
        let mut members = Vec::new();
        for id in Self::member_ids(&inner, fields.get("members"))? {
            if !members.contains(&id) {
                members.push(id);
            }
        }
        let group = EGroup {
            id: new_id(),
            name,
            members,
        };
        let out = Self::group_json(&inner, &group, &self.settings.tenant, false);
        inner.push_group(group);
        Ok(out)
    }

    /// `PUT /groups/{id}`: form `name` (required), optional `members` (JSON text; the
    /// users are added) and `projects` (JSON text: project ids or `{"id", "role"}`
    /// objects; the group is added to each, as `reader` unless a role is given).
    ///
    /// # Errors
    /// 400 for a missing name or bad lists; 403; 404; 409 for a taken name.
    pub fn update_group(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let name = required(fields, "name", "A group name is required")?;
        let mut inner = self.lock();
        let idx = inner
            .group_position(id)
            .ok_or_else(|| not_found("Group", id))?;
        Self::group_name_free(&inner, Some(id), &name)?;
        let new_members = Self::member_ids(&inner, fields.get("members"))?;
        let projects = parse_project_list(fields.get("projects"))?;
        for (pid, role) in &projects {
            if !inner.projects.iter().any(|p| &p.id == pid) {
                return Err(ApiError::new(
                    400,
                    format!("Unknown project {pid} in projects"),
                ));
            }
            if !PROJECT_ROLES.contains(&role.as_str()) {
                return Err(ApiError::new(400, format!("Invalid role {role}")));
            }
        }
        let old = std::mem::replace(&mut inner.groups[idx].name, name.clone());
        inner.group_names.remove(&old, id);
        inner.group_names.add(&name, id);
        for m in new_members {
            inner.add_to_group(idx, &m);
        }
        for (pid, role) in projects {
            if let Some(p) = inner.projects.iter_mut().find(|p| p.id == pid) {
                p.members.retain(|m| !(m.is_group && m.member_id == id));
                p.members.push(EMember {
                    member_id: id.to_string(),
                    is_group: true,
                    role,
                });
            }
        }
        let group = inner.groups[idx].clone();
        Ok(Self::group_json(
            &inner,
            &group,
            &self.settings.tenant,
            false,
        ))
    }

    /// `DELETE /groups/{id}`: also removes the group from every project.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_group(&self, caller: &Caller, id: &str) -> ApiResult<()> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let mut inner = self.lock();
        let Some(idx) = inner.group_position(id) else {
            return Err(not_found("Group", id));
        };
        let gone = inner.groups.remove(idx);
        inner.reindex_groups();
        inner.group_names.remove(&gone.name, id);
        for m in &gone.members {
            inner.groups_of.remove(id, m);
        }
        for p in &mut inner.projects {
            p.members.retain(|m| !(m.is_group && m.member_id == id));
        }
        Ok(())
    }

    /// `POST /groups/{id}`: form `user_id`; adding a present member changes nothing.
    ///
    /// # Errors
    /// 400 without `user_id`; 403; 404 for an unknown group or user.
    pub fn add_group_member(
        &self,
        caller: &Caller,
        group_id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let user_id = fields
            .get("user_id")
            .and_then(value_text)
            .ok_or_else(|| ApiError::new(400, "user_id is required"))?;
        let mut inner = self.lock();
        let user = inner
            .user(&user_id)
            .cloned()
            .ok_or_else(|| not_found("User", &user_id))?;
        let idx = inner
            .group_position(group_id)
            .ok_or_else(|| not_found("Group", group_id))?;
        inner.add_to_group(idx, &user_id);
        Ok(Self::user_summary(&user, &self.settings.tenant))
    }

    /// `DELETE /groups/{id}/members/{user}`.
    ///
    /// # Errors
    /// 403; 404 for an unknown group or a user that is not a member.
    pub fn remove_group_member(
        &self,
        caller: &Caller,
        group_id: &str,
        user_id: &str,
    ) -> ApiResult<()> {
        if !caller.is_admin() {
            return Err(forbidden());
        }
        let mut inner = self.lock();
        let idx = inner
            .group_position(group_id)
            .ok_or_else(|| not_found("Group", group_id))?;
        let group = &mut inner.groups[idx];
        let before = group.members.len();
        group.members.retain(|m| m != user_id);
        let removed = group.members.len() != before;
        if removed {
            inner.groups_of.remove(group_id, user_id);
        } else {
            return Err(ApiError::new(
                404,
                format!("User {user_id} is not a member of group {group_id}"),
            ));
        }
        Ok(())
    }
}
