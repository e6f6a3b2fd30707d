//! Projects (the topic API) and their members.

use super::*;

impl State {
    pub(super) fn project_json(p: &EProject) -> Value {
        json!({
            "id": p.id,
            "title": p.title,
            "description": p.description,
            "type": p.project_type,
            "project_type": p.project_type,
        })
    }

    pub(super) fn member_json(inner: &Inner, p: &EProject, m: &EMember) -> Value {
        let mut out = json!({
            "member_id": m.member_id,
            "member_type": if m.is_group { "group" } else { "user" },
            "project_role": m.role,
            "project_id": p.id,
            "permissions": project_role_privileges(&m.role),
        });
        if m.is_group {
            if let Some(g) = inner.group(&m.member_id) {
                out["name"] = json!(g.name);
            }
            out["server_role"] = Value::Null;
        } else if let Some(u) = inner.user(&m.member_id) {
            out["email"] = json!(u.email);
            out["full_name"] = json!(u.full_name);
            out["server_role"] = json!(u.role);
        }
        out
    }

    pub(super) fn may_manage_project(inner: &Inner, caller: &Caller, project: &EProject) -> bool {
        caller.is_admin()
            || project.members.iter().any(|m| {
                (m.role == "admin" || m.role == "owner")
                    && ((!m.is_group && m.member_id == caller.user_id)
                        || (m.is_group && inner.in_group(&m.member_id, &caller.user_id)))
            })
    }

    pub(super) fn may_see_project(inner: &Inner, caller: &Caller, project: &EProject) -> bool {
        caller.is_admin()
            || project.members.iter().any(|m| {
                (!m.is_group && m.member_id == caller.user_id)
                    || (m.is_group && inner.in_group(&m.member_id, &caller.user_id))
            })
    }

    /// `GET {T}/projects`: the projects the caller can see, as a bare array.
    pub fn list_projects(&self, caller: &Caller) -> Value {
        let inner = self.lock();
        Value::Array(
            inner
                .projects
                .iter()
                .filter(|p| Self::may_see_project(&inner, caller, p))
                .map(Self::project_json)
                .collect(),
        )
    }

    /// `GET {T}/projects/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn get_project(&self, caller: &Caller, id: &str) -> ApiResult<Value> {
        let inner = self.lock();
        let p = inner
            .projects
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found("Project", id))?;
        if !Self::may_see_project(&inner, caller, p) {
            return Err(forbidden());
        }
        Ok(Self::project_json(p))
    }

    /// `POST {T}/projects`: form `title` and optional `project_id`, `description`,
    /// `project_type`. The caller (or `owner_id`) becomes the project's owner.
    ///
    /// # Errors
    /// 400 for a missing title or a taken id; 403 for readers.
    pub fn create_project(&self, caller: &Caller, fields: &Map<String, Value>) -> ApiResult<Value> {
        if caller.role == "reader" {
            return Err(forbidden());
        }
        let title = fields
            .get("title")
            .and_then(value_text)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ApiError::new(400, "A project title is required"))?;
        let id = fields
            .get("project_id")
            .and_then(value_text)
            .unwrap_or_else(new_id);
        let owner = fields
            .get("owner_id")
            .and_then(value_text)
            .unwrap_or_else(|| caller.user_id.clone());
        let mut inner = self.lock();
        if inner.projects.iter().any(|p| p.id == id) {
            return Err(ApiError::new(400, format!("Project id {id} is taken")));
        }
        let project = EProject {
            id,
            title,
            description: fields.get("description").and_then(value_text),
            project_type: fields
                .get("project_type")
                .and_then(value_text)
                .unwrap_or_else(|| "normal".into()),
            members: vec![EMember {
                member_id: owner,
                is_group: false,
                role: "owner".into(),
            }],
        };
        let out = Self::project_json(&project);
        inner.projects.push(project);
        Ok(out)
    }

    /// `DELETE {T}/projects/{id}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn delete_project(&self, caller: &Caller, id: &str) -> ApiResult<()> {
        let mut inner = self.lock();
        let p = inner
            .projects
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found("Project", id))?;
        if !Self::may_manage_project(&inner, caller, p) {
            return Err(forbidden());
        }
        inner.projects.retain(|p| p.id != id);
        Ok(())
    }

    pub(super) fn project_index(
        inner: &Inner,
        caller: &Caller,
        id: &str,
        manage: bool,
    ) -> ApiResult<usize> {
        let idx = inner
            .projects
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| not_found("Project", id))?;
        let p = &inner.projects[idx];
        let allowed = if manage {
            Self::may_manage_project(inner, caller, p)
        } else {
            Self::may_see_project(inner, caller, p)
        };
        if allowed { Ok(idx) } else { Err(forbidden()) }
    }

    /// `GET /projects/{id}/members`: `{"members": [...]}`.
    ///
    /// # Errors
    /// 403; 404.
    pub fn project_members(&self, caller: &Caller, id: &str) -> ApiResult<Value> {
        let inner = self.lock();
        let idx = Self::project_index(&inner, caller, id, false)?;
        let p = &inner.projects[idx];
        let members: Vec<Value> = p
            .members
            .iter()
            .map(|m| Self::member_json(&inner, p, m))
            .collect();
        Ok(json!({ "members": members }))
    }

    /// `POST /projects/{id}/members`: form `role` and exactly one of `user_id` and
    /// `group_id`.
    ///
    /// # Errors
    /// 400 for a bad role or not exactly one principal; 403; 404 for an unknown project,
    /// user or group; 409 when the principal is already a member.
    pub fn add_project_member(
        &self,
        caller: &Caller,
        id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        let role = project_role(fields)?;
        let user_id = fields.get("user_id").and_then(value_text);
        let group_id = fields.get("group_id").and_then(value_text);
        let (member_id, is_group) = match (user_id, group_id) {
            (Some(u), None) => (u, false),
            (None, Some(g)) => (g, true),
            _ => {
                return Err(ApiError::new(
                    400,
                    "Exactly one of user_id and group_id is required",
                ));
            }
        };
        let mut inner = self.lock();
        let idx = Self::project_index(&inner, caller, id, true)?;
        if is_group {
            if inner.group(&member_id).is_none() {
                return Err(not_found("Group", &member_id));
            }
        } else if inner.user(&member_id).is_none() {
            return Err(not_found("User", &member_id));
        }
        if inner.projects[idx]
            .members
            .iter()
            .any(|m| m.member_id == member_id && m.is_group == is_group)
        {
            return Err(ApiError::new(
                409,
                format!("{member_id} is already a member of the project"),
            ));
        }
        let member = EMember {
            member_id,
            is_group,
            role,
        };
        inner.projects[idx].members.push(member.clone());
        let p = &inner.projects[idx];
        Ok(Self::member_json(&inner, p, &member))
    }

    /// `PUT /projects/{id}/members/{member}`: form `role`.
    ///
    /// # Errors
    /// 400 for a bad role; 403 (also for changing the owner); 404.
    pub fn update_project_member(
        &self,
        caller: &Caller,
        id: &str,
        member_id: &str,
        fields: &Map<String, Value>,
    ) -> ApiResult<Value> {
        let role = project_role(fields)?;
        let mut inner = self.lock();
        let (idx, pos) = Self::member_position(&inner, caller, id, member_id)
            .and_then(|at| not_owner(&inner, at, "The project owner's role cannot be changed"))?;
        let m = &mut inner.projects[idx].members[pos];
        m.role = role;
        let m = m.clone();
        let p = &inner.projects[idx];
        Ok(Self::member_json(&inner, p, &m))
    }

    /// `DELETE /projects/{id}/members/{member}`.
    ///
    /// # Errors
    /// 403 (also for removing the owner); 404.
    pub fn remove_project_member(
        &self,
        caller: &Caller,
        id: &str,
        member_id: &str,
    ) -> ApiResult<()> {
        let mut inner = self.lock();
        let (idx, pos) = Self::member_position(&inner, caller, id, member_id)
            .and_then(|at| not_owner(&inner, at, "The project owner cannot be removed"))?;
        inner.projects[idx].members.remove(pos);
        Ok(())
    }

    /// Where the member `member_id` of project `id` is: `(project, member)` positions.
    ///
    /// # Errors
    /// 403 or 404 for the project (see `project_index`); 404 for the member.
    fn member_position(
        inner: &Inner,
        caller: &Caller,
        id: &str,
        member_id: &str,
    ) -> ApiResult<(usize, usize)> {
        let idx = Self::project_index(inner, caller, id, true)?;
        let pos = inner.projects[idx]
            .members
            .iter()
            .position(|m| m.member_id == member_id)
            .ok_or_else(|| not_found("Member", member_id))?;
        Ok((idx, pos))
    }
}

/// The `role` field: required, one of the project roles (400 otherwise).
fn project_role(fields: &Map<String, Value>) -> ApiResult<String> {
    let role = fields
        .get("role")
        .and_then(value_text)
        .ok_or_else(|| ApiError::new(400, "role is required"))?;
    if PROJECT_ROLES.contains(&role.as_str()) {
        Ok(role)
    } else {
        Err(ApiError::new(400, format!("Invalid role {role}")))
    }
}

/// `at` unless the member there is the project's owner (403 `refusal`).
fn not_owner(inner: &Inner, at: (usize, usize), refusal: &str) -> ApiResult<(usize, usize)> {
    if inner.projects[at.0].members[at.1].role == "owner" {
        Err(ApiError::new(403, refusal))
    } else {
        Ok(at)
    }
}
