//! Users, user groups and their members: creation, changes and deletion.

use super::*;

impl Inner {
    pub(super) fn login_taken(&self, login: &str, except: Option<&str>) -> bool {
        self.index
            .user_with_login(login)
            .is_some_and(|id| Some(id) != except)
    }

    pub(super) fn group_name_taken(&self, name: &str, except: Option<&str>) -> bool {
        self.index
            .group_named(name)
            .is_some_and(|id| Some(id) != except)
    }

    /// Whether `id` is a user or a group.
    pub fn principal_exists(&self, id: &str) -> bool {
        self.users.contains_key(id) || self.groups.contains_key(id)
    }

    /// The direct parent groups of a user or group (Everyone included for users).
    pub fn parents_of(&self, id: &str) -> Vec<&GroupRec> {
        let is_user = self.users.contains_key(id);
        let everyone = is_user.then_some(EVERYONE_GROUP_ID);
        let mut ranked: Vec<(u64, &GroupRec)> = self
            .index
            .parents(id)
            .filter(|g| *g != EVERYONE_GROUP_ID)
            .chain(everyone)
            .filter_map(|g| Some((self.index.group_rank(g)?, self.groups.get(g)?)))
            .collect();
        ranked.sort_unstable_by_key(|(rank, _)| *rank);
        ranked.into_iter().map(|(_, g)| g).collect()
    }

    /// A group's direct members, in order (Everyone: every user).
    pub fn members_of(&self, group_id: &str) -> Vec<String> {
        if group_id == EVERYONE_GROUP_ID {
            return self.user_order.clone();
        }
        self.groups
            .get(group_id)
            .map(|g| g.members.clone())
            .unwrap_or_default()
    }

    /// Whether `group` is `ancestor` or nested (at any depth) inside it.
    pub(super) fn is_within(&self, group: &str, ancestor: &str) -> bool {
        let mut stack = vec![group.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(g) = stack.pop() {
            if g == ancestor {
                return true;
            }
            if !seen.insert(g.clone()) {
                continue;
            }
            for parent in self.parents_of(&g) {
                stack.push(parent.id.clone());
            }
        }
        false
    }

    /// Adds `member` to `group`; a present member is left alone.
    pub fn add_member(&mut self, group: &str, member: &str) -> ApiResult<()> {
        if !self.groups.contains_key(group) {
            return Err(ApiError::not_found("User group", group));
        }
        if !self.principal_exists(member) {
            return Err(ApiError::not_found("User or user group", member));
        }
        if group == EVERYONE_GROUP_ID {
            if self.users.contains_key(member) {
                return Ok(());
            }
            return Err(ApiError::invalid("Only users are members of Everyone"));
        }
        if self.groups.contains_key(member) && self.is_within(group, member) {
            return Err(ApiError::invalid(format!(
                "Adding group '{member}' to group '{group}' would create a cycle"
            )));
        }
        let t = now();
        if let Some(g) = self.groups.get_mut(group) {
            if !self.index.is_member(group, member) {
                g.members.push(member.to_string());
                g.modified = t;
                self.index.add_member(group, member);
            }
        }
        Ok(())
    }

    /// Removes `member` from `group`; an absent member is left alone.
    pub fn remove_member(&mut self, group: &str, member: &str) -> ApiResult<()> {
        if group == EVERYONE_GROUP_ID {
            return Err(ApiError::invalid("Users cannot be removed from Everyone"));
        }
        let t = now();
        let g = self
            .groups
            .get_mut(group)
            .ok_or_else(|| ApiError::not_found("User group", group))?;
        if self.index.is_member(group, member) {
            g.members.retain(|m| m != member);
            g.modified = t;
            self.index.remove_member(group, member);
        }
        Ok(())
    }

    /// Creates a user from a U3 body.
    pub fn create_user(&mut self, body: &Value) -> ApiResult<String> {
        let username = required_text(body, "username")?;
        let full_name = required_text(body, "fullName")?;
        if self.login_taken(&username, None) {
            return Err(ApiError::exists("User", &username));
        }
        let memberships = optional_ids(body.get("memberships"))?;
        for g in &memberships {
            if !self.groups.contains_key(g) {
                return Err(ApiError::not_found("User group", g));
            }
        }
        let t = now();
        let id = new_object_id();
        let mut extra = Map::new();
        for key in [
            "initials",
            "ldapdn",
            "trustId",
            "databaseAuthLogin",
            "passwordExpirationDate",
            "passwordExpirationFrequency",
            "passwordAutoExpire",
            "passwordModifiable",
            "standardAuth",
        ] {
            if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
                extra.insert(key.to_string(), v.clone());
            }
        }
        let user = UserRec {
            id: id.clone(),
            username,
            full_name,
            description: body
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            enabled: body.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            password: body
                .get("password")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            require_new_password: body
                .get("requireNewPassword")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            extra,
            privileges: BTreeSet::new(),
            addresses: body
                .get("defaultEmailAddress")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
                .map(|e| AddressRec::generic_email("Default Email", e, true))
                .into_iter()
                .collect(),
            created: t,
            modified: t,
        };
        self.index.set_login(None, &user.username, &id);
        self.users.insert(id.clone(), user);
        self.user_order.push(id.clone());
        for g in memberships {
            self.add_member(&g, &id)?;
        }
        Ok(id)
    }

    /// Applies a U4 `operationList`.
    pub fn patch_user(&mut self, id: &str, ops: &[PatchOp]) -> ApiResult<()> {
        if !self.users.contains_key(id) {
            return Err(ApiError::not_found("User", id));
        }
        // Validate everything first so a failing operation leaves the user unchanged.
        let mut staged = self
            .users
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("User", id))?;
        let mut member_changes: Vec<(bool, String)> = Vec::new();
        for op in ops {
            match (op.op.as_str(), op.path.as_str()) {
                (_, p) if p.starts_with("changeJournal") => {}
                ("replace", "username" | "abbreviation") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    let v = v.trim().to_string();
                    if v.is_empty() {
                        return Err(ApiError::invalid("The username cannot be empty"));
                    }
                    if self.login_taken(&v, Some(id)) {
                        return Err(ApiError::exists("User", &v));
                    }
                    staged.username = v;
                }
                ("replace", "fullName" | "name") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    if v.trim().is_empty() {
                        return Err(ApiError::invalid("The full name cannot be empty"));
                    }
                    staged.full_name = v;
                }
                ("replace", "description") => {
                    staged.description = as_str_value(&op.value, &op.path)?;
                }
                ("replace", "password") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    staged.password = (!v.is_empty()).then_some(v);
                }
                ("replace", "enabled") => staged.enabled = as_bool_value(&op.value, &op.path)?,
                ("replace", "requireNewPassword") => {
                    staged.require_new_password = as_bool_value(&op.value, &op.path)?;
                }
                (
                    "replace",
                    p @ ("initials"
                    | "ldapdn"
                    | "trustId"
                    | "passwordExpirationDate"
                    | "passwordModifiable"
                    | "passwordAutoExpire"
                    | "standardAuth"
                    | "passwordExpirationFrequency"
                    | "defaultTimezone"),
                ) => {
                    staged.extra.insert(p.to_string(), op.value.clone());
                }
                (o @ ("add" | "remove"), "memberships") => {
                    for g in ids_of(&op.value)? {
                        if !self.groups.contains_key(&g) {
                            return Err(ApiError::not_found("User group", &g));
                        }
                        member_changes.push((o == "add", g));
                    }
                }
                (o @ ("add" | "remove"), "privileges") => {
                    for p in ids_of(&op.value)? {
                        if o == "add" {
                            staged.privileges.insert(p);
                        } else {
                            staged.privileges.remove(&p);
                        }
                    }
                }
                (o, p) => {
                    return Err(ApiError::invalid(format!(
                        "Operation '{o}' on path '/{p}' is not supported for users"
                    )));
                }
            }
        }
        let disabled = !staged.enabled;
        staged.modified = now();
        let new_login = staged.username.clone();
        if let Some(old) = self.users.insert(id.to_string(), staged) {
            self.index.set_login(Some(&old.username), &new_login, id);
        }
        for (add, g) in member_changes {
            if add {
                self.add_member(&g, id)?;
            } else if g != EVERYONE_GROUP_ID {
                self.remove_member(&g, id)?;
            }
        }
        if disabled {
            self.end_sessions_of(id);
        }
        Ok(())
    }

    /// Deletes a user and every reference to it.
    pub fn delete_user(&mut self, id: &str) -> ApiResult<()> {
        if id == ADMINISTRATOR_USER_ID {
            return Err(ApiError::forbidden(
                "The built-in Administrator cannot be deleted",
            ));
        }
        let Some(gone) = self.users.remove(id) else {
            return Err(ApiError::not_found("User", id));
        };
        self.index.drop_login(&gone.username, id);
        self.user_order.retain(|u| u != id);
        self.forget_principal(id);
        self.end_sessions_of(id);
        Ok(())
    }

    pub(super) fn forget_principal(&mut self, id: &str) {
        for gid in self.index.take_member(id) {
            if let Some(g) = self.groups.get_mut(&gid) {
                g.members.retain(|m| m != id);
            }
        }
        for r in self.roles.values_mut() {
            for members in r.members.values_mut() {
                members.retain(|m| m != id);
            }
        }
        self.api_tokens.retain(|_, u| u != id);
        self.identity_tokens.retain(|_, u| u != id);
    }

    /// Creates a group from a G3 body.
    pub fn create_group(&mut self, body: &Value) -> ApiResult<String> {
        let name = required_text(body, "name")?;
        if self.group_name_taken(&name, None) {
            return Err(ApiError::exists("User group", &name));
        }
        let members = optional_ids(body.get("members"))?;
        let parents = optional_ids(body.get("memberships").or_else(|| body.get("membership")))?;
        for m in &members {
            if !self.principal_exists(m) {
                return Err(ApiError::not_found("User or user group", m));
            }
        }
        for p in &parents {
            if !self.groups.contains_key(p) {
                return Err(ApiError::not_found("User group", p));
            }
        }
        let t = now();
        let id = new_object_id();
        self.index.set_group_name(None, &name, &id);
        self.index.rank_group(&id);
        let mut extra = Map::new();
        if let Some(v) = body.get("ldapdn").filter(|v| !v.is_null()) {
            extra.insert("ldapdn".to_string(), v.clone());
        }
        self.groups.insert(
            id.clone(),
            GroupRec {
                id: id.clone(),
                name,
                description: body
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                members: Vec::new(),
                extra,
                privileges: BTreeSet::new(),
                created: t,
                modified: t,
            },
        );
        self.group_order.push(id.clone());
        for m in members {
            self.add_member(&id, &m)?;
        }
        for p in parents {
            self.add_member(&p, &id)?;
        }
        Ok(id)
    }

    /// Applies a G4 `operationList`.
    pub fn patch_group(&mut self, id: &str, ops: &[PatchOp]) -> ApiResult<()> {
        let mut staged = self
            .groups
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found("User group", id))?;
        let mut member_ops: Vec<(bool, String)> = Vec::new();
        let mut parent_ops: Vec<(bool, String)> = Vec::new();
        for op in ops {
            match (op.op.as_str(), op.path.as_str()) {
                (_, p) if p.starts_with("changeJournal") => {}
                ("replace", "name") => {
                    let v = as_str_value(&op.value, &op.path)?;
                    let v = v.trim().to_string();
                    if v.is_empty() {
                        return Err(ApiError::invalid("The name cannot be empty"));
                    }
                    if self.group_name_taken(&v, Some(id)) {
                        return Err(ApiError::exists("User group", &v));
                    }
                    staged.name = v;
                }
                ("replace", "description") => {
                    staged.description = as_str_value(&op.value, &op.path)?;
                }
                ("replace", p @ ("ldapdn" | "abbreviation")) => {
                    staged.extra.insert(p.to_string(), op.value.clone());
                }
                (o @ ("add" | "remove"), "members") => {
                    for m in ids_of(&op.value)? {
                        if o == "add" && !self.principal_exists(&m) {
                            return Err(ApiError::not_found("User or user group", &m));
                        }
                        member_ops.push((o == "add", m));
                    }
                }
                (o @ ("add" | "remove"), "memberships" | "membership") => {
                    for p in ids_of(&op.value)? {
                        if !self.groups.contains_key(&p) {
                            return Err(ApiError::not_found("User group", &p));
                        }
                        parent_ops.push((o == "add", p));
                    }
                }
                (o @ ("add" | "remove"), "privileges") => {
                    for p in ids_of(&op.value)? {
                        if o == "add" {
                            staged.privileges.insert(p);
                        } else {
                            staged.privileges.remove(&p);
                        }
                    }
                }
                (o, p) => {
                    return Err(ApiError::invalid(format!(
                        "Operation '{o}' on path '/{p}' is not supported for user groups"
                    )));
                }
            }
        }
        staged.modified = now();
        let new_name = staged.name.clone();
        if let Some(old) = self.groups.insert(id.to_string(), staged) {
            self.index.set_group_name(Some(&old.name), &new_name, id);
        }
        for (add, m) in member_ops {
            if add {
                self.add_member(id, &m)?;
            } else {
                self.remove_member(id, &m)?;
            }
        }
        for (add, p) in parent_ops {
            if add {
                self.add_member(&p, id)?;
            } else {
                self.remove_member(&p, id)?;
            }
        }
        Ok(())
    }

    /// Deletes a group and every reference to it. Built-in groups cannot be deleted.
    pub fn delete_group(&mut self, id: &str) -> ApiResult<()> {
        if [
            EVERYONE_GROUP_ID,
            SYSTEM_ADMINISTRATORS_GROUP_ID,
            SYSTEM_MONITORS_GROUP_ID,
            PUBLIC_GROUP_ID,
        ]
        .contains(&id)
        {
            return Err(ApiError::forbidden(
                "Built-in user groups cannot be deleted",
            ));
        }
        let Some(gone) = self.groups.remove(id) else {
            return Err(ApiError::not_found("User group", id));
        };
        self.index.drop_group(&gone.name, id);
        for m in &gone.members {
            self.index.remove_member(id, m);
        }
        self.group_order.retain(|g| g != id);
        self.forget_principal(id);
        Ok(())
    }
}
