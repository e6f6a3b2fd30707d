//! Security roles: creation, PATCH of privileges and project members, deletion.

use super::*;

impl Inner {
    /// Creates a role from an S3 body.
    pub fn create_role(&mut self, body: &Value) -> ApiResult<String> {
        let name = required_text(body, "name")?;
        if self
            .roles
            .values()
            .any(|r| r.name.eq_ignore_ascii_case(&name))
        {
            return Err(ApiError::exists("Security role", &name));
        }
        let privileges = optional_ids(body.get("privileges"))?;
        let t = now();
        let id = new_object_id();
        self.roles.insert(
            id.clone(),
            RoleRec {
                id: id.clone(),
                name,
                description: body
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                privileges: privileges.into_iter().collect(),
                members: BTreeMap::new(),
                created: t,
                modified: t,
            },
        );
        Ok(id)
    }

    /// Applies an S4 `operationList`.
    pub fn patch_role(&mut self, id: &str, ops: &[PatchOp]) -> ApiResult<()> {
        let mut staged = self
            .roles
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("Security role", id))?;
        for op in ops {
            match (op.op.as_str(), op.path.as_str()) {
                (_, p) if p.starts_with("changeJournal") => {}
                ("replace", "name") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    if v.trim().is_empty() {
                        return Err(ApiError::invalid("The name cannot be empty"));
                    }
                    if self
                        .roles
                        .values()
                        .any(|r| r.id != id && r.name.eq_ignore_ascii_case(v.trim()))
                    {
                        return Err(ApiError::exists("Security role", &v));
                    }
                    staged.name = v.trim().to_string();
                }
                ("replace", "description") => {
                    staged.description = as_str_value(&op.value, &op.path)?;
                }
                (
                    o @ ("addelement" | "addelements" | "add" | "removeelement" | "removeelements"
                    | "remove" | "replace"),
                    "privileges",
                ) => {
                    let ids = ids_of(&op.value)?;
                    if o == "replace" {
                        staged.privileges = ids.into_iter().collect();
                    } else if o.starts_with("add") {
                        staged.privileges.extend(ids);
                    } else {
                        for p in ids {
                            staged.privileges.remove(&p);
                        }
                    }
                }
                (
                    o @ ("add" | "remove" | "replace" | "addelement" | "addelements"
                    | "removeelement" | "removeelements"),
                    "members",
                ) => {
                    let project = op
                        .value
                        .get("projectId")
                        .and_then(Value::as_str)
                        .ok_or_else(|| ApiError::missing("projectId"))?;
                    let project = self
                        .projects
                        .iter()
                        .find(|p| p.id.eq_ignore_ascii_case(project))
                        .map(|p| p.id.clone())
                        .ok_or_else(|| ApiError::not_found("Project", project))?;
                    let member_ids = ids_of(
                        op.value
                            .get("memberIds")
                            .ok_or_else(|| ApiError::missing("memberIds"))?,
                    )?;
                    for m in &member_ids {
                        if !self.principal_exists(m) {
                            return Err(ApiError::not_found("User or user group", m));
                        }
                    }
                    let list = staged.members.entry(project).or_default();
                    match o {
                        "add" | "addelement" | "addelements" => {
                            for m in member_ids {
                                if !list.contains(&m) {
                                    list.push(m);
                                }
                            }
                        }
                        "remove" | "removeelement" | "removeelements" => {
                            list.retain(|m| !member_ids.contains(m))
                        }
                        _ => *list = member_ids,
                    }
                }
                (o, p) => {
                    return Err(ApiError::invalid(format!(
                        "Operation '{o}' on path '/{p}' is not supported for security roles"
                    )));
                }
            }
        }
        staged.members.retain(|_, m| !m.is_empty());
        staged.modified = now();
        self.roles.insert(id.to_string(), staged);
        Ok(())
    }

    /// Deletes a role.
    pub fn delete_role(&mut self, id: &str) -> ApiResult<()> {
        self.roles
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found("Security role", id))
    }
}
