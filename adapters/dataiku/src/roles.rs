//! Roles and grants. DSS has no named roles, only permission flags; the adapter maps:
//!
//! - a **global role** to a DSS group that carries global permission flags (`admin`,
//!   `may…`). Its id is the group's name. A user holds it by being a member of that group.
//!   A group holds it by carrying all of the role group's flags itself (DSS groups cannot
//!   contain groups), so granting sets those flags on the group and revoking clears them.
//!   Groups with no flag set are plain groups, not roles.
//! - a **project role** to a named set of project permission flags (config key
//!   `project_roles`), held by a user or group through its entry in the project's
//!   permissions document (`GET`/`PUT /projects/{key}/permissions`, read-modify-write). Its
//!   id is `<PROJECT_KEY>:<role>` and its scope the project key; a grant may name the role
//!   alone.
//!
//! A principal holds a role when it carries all of the role's flags; when several roles
//! fit and one's flags contain another's, only the largest is reported, so an entry with
//! `contributor` flags is not also reported as `reader`. Revoking clears the role's flags
//! except those another role still held needs; a project entry left with no flag is removed.

use std::collections::{BTreeMap, BTreeSet};

use idbridge_core::{
    Error, ErrorKind, Grant, GrantFilter, Page, PageRequest, Principal, Result, Role, Roles, Scope,
    async_trait,
};
use reqwest::Method;
use serde_json::Value;

use crate::adapter::{DataikuAdapter, group_key, project_key};
use crate::client::ApiPath;
use crate::permissions::{check_applied, entry_principal, new_entry};
use crate::wire::{
    Doc, ProjectItem, group_name, true_entry_flags, true_global_flags, user_groups, user_login,
};

/// The group listing, as errors name it.
const GROUP_LIST: &str = "GET /admin/groups/";

/// Separates the project key from the role name in a project role's id.
pub const PROJECT_ROLE_SEPARATOR: char = ':';

/// The id of project role `role` in project `key`.
pub fn project_role_id(key: &str, role: &str) -> String {
    format!("{key}{PROJECT_ROLE_SEPARATOR}{role}")
}

/// The names of the roles whose flags `held` carries entirely, keeping only the largest
/// where one role's flags strictly contain another's. Roles with no flag never match.
pub fn maximal_roles<'a>(
    roles: &'a BTreeMap<String, BTreeSet<String>>,
    held: &BTreeSet<String>,
) -> Vec<&'a str> {
    let fitting: Vec<(&String, &BTreeSet<String>)> = roles
        .iter()
        .filter(|(_, flags)| !flags.is_empty() && flags.is_subset(held))
        .collect();
    fitting
        .iter()
        .filter(|(_, flags)| {
            !fitting
                .iter()
                .any(|(_, other)| flags.is_subset(other) && flags.len() < other.len())
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The flags of `role` that revoking it clears: those no other role still held needs. A
/// role with exactly the same flags is not another role here: DSS cannot tell the two
/// apart (a group granted a global role carries its flags and so reads as a role with the
/// same set), and keeping the flags for it would make the revoke a silent no-op.
fn flags_to_clear(
    roles: &BTreeMap<String, BTreeSet<String>>,
    held: &BTreeSet<String>,
    role: &str,
) -> BTreeSet<String> {
    let Some(mine) = roles.get(role) else {
        return BTreeSet::new();
    };
    let keep: BTreeSet<String> = maximal_roles(roles, held)
        .into_iter()
        .filter(|r| *r != role)
        .filter_map(|r| roles.get(r))
        .filter(|flags| *flags != mine)
        .flatten()
        .cloned()
        .collect();
    mine.difference(&keep).cloned().collect()
}

fn set_of(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

impl DataikuAdapter {
    /// `GET /projects/`.
    async fn projects(&self) -> Result<Vec<ProjectItem>> {
        self.client
            .get_json(ApiPath::dir(&["projects"]), &[], "project list")
            .await
    }

    /// The project a scope names: by key, then by name, then by name ignoring case.
    async fn resolve_project(&self, name: &str) -> Result<ProjectItem> {
        let projects = self.projects().await?;
        projects
            .iter()
            .find(|p| p.project_key == name)
            .or_else(|| projects.iter().find(|p| p.name.as_deref() == Some(name)))
            .or_else(|| {
                projects.iter().find(|p| {
                    p.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
            })
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!("no DSS project has the key or name `{name}`"))
                    .with_resource(name)
            })
    }

    fn project_role_sets(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.cfg
            .project_roles
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect()
    }

    /// The configured project role a grant names (`role` or `<key>:role`).
    fn project_role<'a>(&self, role_id: &'a str, key: &str) -> Result<&'a str> {
        let name = match role_id.split_once(PROJECT_ROLE_SEPARATOR) {
            Some((k, r)) if k == key => r,
            Some((k, _)) => {
                return Err(Error::invalid_input(format!(
                    "role `{role_id}` belongs to project `{k}`, not to `{key}`"
                )));
            }
            None => role_id,
        };
        if self.cfg.project_roles.contains_key(name) {
            Ok(name)
        } else {
            let known: Vec<&str> = self.cfg.project_roles.keys().map(String::as_str).collect();
            Err(Error::not_found(format!(
                "`{name}` is not a configured project role; configured: {}",
                known.join(", ")
            ))
            .with_resource(role_id))
        }
    }

    async fn permissions(&self, key: &str) -> Result<Doc> {
        self.client
            .get_json(
                ApiPath::new(&["projects", key, "permissions"]),
                &[],
                "project permissions",
            )
            .await
    }

    async fn put_permissions(&self, key: &str, doc: &Doc) -> Result<()> {
        self.client
            .write(
                Method::PUT,
                ApiPath::new(&["projects", key, "permissions"]),
                &[],
                Some(&Value::Object(doc.clone())),
            )
            .await
    }

    /// Role groups: every group carrying at least one global permission flag, with them.
    async fn role_groups(&self) -> Result<BTreeMap<String, BTreeSet<String>>> {
        let mut out = BTreeMap::new();
        for d in self.group_docs_with_flags().await? {
            let flags = set_of(true_global_flags(&d, GROUP_LIST)?);
            if !flags.is_empty() {
                out.insert(group_name(&d, GROUP_LIST)?.to_string(), flags);
            }
        }
        Ok(out)
    }

    /// A role group by name, with its flags.
    async fn role_group(&self, role: &str) -> Result<BTreeSet<String>> {
        let doc = self.group_doc(role).await?;
        let flags = set_of(true_global_flags(
            &doc,
            &format!("GET /admin/groups/{role}"),
        )?);
        if flags.is_empty() {
            return Err(Error::invalid_input(format!(
                "group `{role}` carries no permission flag, so it is not a role; make users members of it instead"
            ))
            .with_resource(role));
        }
        Ok(flags)
    }

    async fn global_grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>> {
        let mut out = Vec::new();
        let groups = self.group_docs_with_flags().await?;
        let mut roles: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for d in &groups {
            let flags = set_of(true_global_flags(d, GROUP_LIST)?);
            if !flags.is_empty() {
                roles.insert(group_name(d, GROUP_LIST)?.to_string(), flags);
            }
        }
        let want_users = !matches!(filter.principal, Some(Principal::Group(_)));
        let want_groups = !matches!(filter.principal, Some(Principal::User(_)));
        if want_users {
            let users = match &filter.principal {
                Some(Principal::User(login)) => match self.user_doc(login).await {
                    Ok(d) => vec![d],
                    Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
                    Err(e) => return Err(e),
                },
                _ => self.user_list_plain().await?,
            };
            for u in &users {
                let login = user_login(u, crate::users::USER_LIST)?;
                for g in user_groups(u, crate::users::USER_LIST)? {
                    if roles.contains_key(&g) {
                        out.push(Grant {
                            role: g,
                            principal: Principal::User(login.to_string()),
                            scope: Scope::Global,
                        });
                    }
                }
            }
        }
        if want_groups {
            for g in &groups {
                let name = group_name(g, GROUP_LIST)?;
                let mut others = roles.clone();
                others.remove(name);
                let held = set_of(true_global_flags(g, GROUP_LIST)?);
                for role in maximal_roles(&others, &held) {
                    out.push(Grant {
                        role: role.to_string(),
                        principal: Principal::Group(name.to_string()),
                        scope: Scope::Global,
                    });
                }
            }
        }
        Ok(out)
    }

    async fn project_grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>> {
        let projects = match &filter.scope {
            Some(Scope::Project(p)) => vec![self.resolve_project(p).await?],
            _ => self.projects().await?,
        };
        let roles = self.project_role_sets();
        let mut out = Vec::new();
        let known_flags: BTreeSet<&String> = roles.values().flatten().collect();
        for p in projects {
            let doc = self.permissions(&p.project_key).await?;
            let endpoint = format!("GET /projects/{}/permissions", p.project_key);
            let unusable = |record: &str, field: &str, problem: &str| {
                Error::unusable_field("DSS", &endpoint, record, field, problem)
            };
            if !matches!(doc.get("permissions"), Some(Value::Array(_))) {
                return Err(unusable("the permissions", "permissions", "is not a list"));
            }
            for entry in entries(&doc) {
                // Each entry names either a group or a user; one naming neither is not a
                // grant to nobody, it is an entry that cannot be read.
                let principal = entry_principal(entry).ok_or_else(|| {
                    unusable("a permission entry", "group` or `user", "is missing")
                })?;
                // A permission flag the roles are made of must be a boolean: text such as
                // `"true"` is read neither way.
                for flag in &known_flags {
                    if let Some(v) = entry.get(flag.as_str())
                        && !(v.is_boolean() || v.is_null())
                    {
                        return Err(unusable(
                            &format!("the entry of `{}`", principal.id()),
                            flag,
                            "is not a boolean",
                        ));
                    }
                }
                let held = set_of(true_entry_flags(entry));
                for role in maximal_roles(&roles, &held) {
                    out.push(Grant {
                        role: project_role_id(&p.project_key, role),
                        principal: principal.clone(),
                        scope: Scope::Project(p.project_key.clone()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Checks that the principal of a project grant exists (DSS may keep entries for
    /// unknown names, which would silently apply to a principal created later).
    async fn check_principal(&self, principal: &Principal) -> Result<()> {
        match principal {
            Principal::User(login) => self.user_doc(login).await.map(drop),
            Principal::Group(name) => self.group_doc(name).await.map(drop),
        }
    }

    async fn grant_project(&self, grant: &Grant, project: &str) -> Result<()> {
        let p = self.resolve_project(project).await?;
        let role = self.project_role(&grant.role, &p.project_key)?;
        self.check_principal(&grant.principal).await?;
        let flags: Vec<String> = self
            .project_role_sets()
            .remove(role)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let _guard = self.locks.lock(&project_key(&p.project_key)).await;
        let mut doc = self
            .read_for_update(
                ApiPath::new(&["projects", &p.project_key, "permissions"]),
                "project permissions",
            )
            .await?;
        let mut list = take_entries(&mut doc);
        let index = list.iter().position(|e| {
            e.as_object().and_then(entry_principal).as_ref() == Some(&grant.principal)
        });
        let changed = match index
            .and_then(|i| list.get_mut(i))
            .and_then(Value::as_object_mut)
        {
            Some(entry) => {
                let mut changed = false;
                for f in &flags {
                    if entry.get(f) != Some(&Value::Bool(true)) {
                        entry.insert(f.clone(), Value::Bool(true));
                        changed = true;
                    }
                }
                changed
            }
            None => {
                let entry = new_entry(&grant.principal, &flags, &list);
                list.push(entry);
                true
            }
        };
        if changed {
            doc.insert("permissions".into(), Value::Array(list));
            self.put_permissions(&p.project_key, &doc).await?;
            self.verify_permissions(&p.project_key, &grant.principal, &flags, &[])
                .await?;
        }
        Ok(())
    }

    /// Reads the permissions of `key` back after a write and checks the change took
    /// (see [`crate::permissions`]).
    async fn verify_permissions(
        &self,
        key: &str,
        principal: &Principal,
        set: &[String],
        cleared: &[String],
    ) -> Result<()> {
        let doc: Doc = self
            .client
            .get_json(
                ApiPath::new(&["projects", key, "permissions"]),
                &[],
                "project permissions",
            )
            .await?;
        check_applied(key, &doc, principal, set, cleared)
    }

    async fn revoke_project(&self, grant: &Grant, project: &str) -> Result<()> {
        let p = self.resolve_project(project).await?;
        let role = self.project_role(&grant.role, &p.project_key)?;
        let roles = self.project_role_sets();
        let _guard = self.locks.lock(&project_key(&p.project_key)).await;
        let mut doc = self
            .read_for_update(
                ApiPath::new(&["projects", &p.project_key, "permissions"]),
                "project permissions",
            )
            .await?;
        let mut list = take_entries(&mut doc);
        let Some(index) = list.iter().position(|e| {
            e.as_object().and_then(entry_principal).as_ref() == Some(&grant.principal)
        }) else {
            return Ok(());
        };
        let Some(entry) = list.get_mut(index).and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let held = set_of(true_entry_flags(entry));
        let clear = flags_to_clear(&roles, &held, role);
        let mut changed = false;
        for f in &clear {
            if entry.get(f) == Some(&Value::Bool(true)) {
                entry.insert(f.clone(), Value::Bool(false));
                changed = true;
            }
        }
        if !changed {
            return Ok(());
        }
        if true_entry_flags(entry).is_empty() {
            list.remove(index);
        }
        doc.insert("permissions".into(), Value::Array(list));
        self.put_permissions(&p.project_key, &doc).await?;
        let cleared: Vec<String> = clear.into_iter().collect();
        self.verify_permissions(&p.project_key, &grant.principal, &[], &cleared)
            .await
    }

    async fn grant_global(&self, grant: &Grant) -> Result<()> {
        let flags = self.role_group(&grant.role).await?;
        match &grant.principal {
            Principal::User(login) => self
                .set_membership(&grant.role, login, true)
                .await
                .map(drop),
            Principal::Group(name) if *name == grant.role => Ok(()),
            Principal::Group(name) => {
                self.refuse_protected_group(name)?;
                let _guard = self.locks.lock(&group_key(name)).await;
                let mut doc = self.group_doc_for_update(name).await?;
                let mut changed = false;
                for f in &flags {
                    if doc.get(f) != Some(&Value::Bool(true)) {
                        doc.insert(f.clone(), Value::Bool(true));
                        changed = true;
                    }
                }
                if changed {
                    self.put_group_doc(name, &doc).await?;
                }
                Ok(())
            }
        }
    }

    async fn revoke_global(&self, grant: &Grant) -> Result<()> {
        match &grant.principal {
            Principal::User(login) => {
                self.refuse_protected_user(login)?;
                match self.role_group(&grant.role).await {
                    Ok(_) => {}
                    // Not a role (any more): nothing is held.
                    Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidInput) => {
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                }
                self.set_membership(&grant.role, login, false)
                    .await
                    .map(drop)
            }
            Principal::Group(name) if *name == grant.role => Ok(()),
            Principal::Group(name) => {
                self.refuse_protected_group(name)?;
                let mut roles = self.role_groups().await?;
                roles.remove(name);
                if !roles.contains_key(&grant.role) {
                    return Ok(());
                }
                let _guard = self.locks.lock(&group_key(name)).await;
                let mut doc = self.group_doc_for_update(name).await?;
                let held = set_of(true_global_flags(
                    &doc,
                    &format!("GET /admin/groups/{name}"),
                )?);
                let mut changed = false;
                for f in flags_to_clear(&roles, &held, &grant.role) {
                    if doc.get(&f) == Some(&Value::Bool(true)) {
                        doc.insert(f, Value::Bool(false));
                        changed = true;
                    }
                }
                if changed {
                    self.put_group_doc(name, &doc).await?;
                }
                Ok(())
            }
        }
    }
}

/// The `permissions` entries of a project permissions document.
fn entries(doc: &Doc) -> Vec<&Doc> {
    match doc.get("permissions") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// Takes the `permissions` list out of the document (empty when absent); the caller puts
/// it back before writing.
fn take_entries(doc: &mut Doc) -> Vec<Value> {
    match doc.remove("permissions") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

#[async_trait]
impl Roles for DataikuAdapter {
    /// Role groups (global), then each configured project role in each project.
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        let mut all: Vec<Role> = self
            .role_groups()
            .await?
            .into_iter()
            .map(|(name, flags)| Role {
                id: name.clone(),
                name,
                scope: Scope::Global,
                privileges: flags.into_iter().collect(),
            })
            .collect();
        let mut projects = self.projects().await?;
        projects.sort_by(|a, b| a.project_key.cmp(&b.project_key));
        for p in projects {
            for (role, flags) in &self.cfg.project_roles {
                all.push(Role {
                    id: project_role_id(&p.project_key, role),
                    name: role.clone(),
                    scope: Scope::Project(p.project_key.clone()),
                    privileges: flags.clone(),
                });
            }
        }
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    async fn list_grants(&self, filter: &GrantFilter, page: PageRequest) -> Result<Page<Grant>> {
        let mut all = Vec::new();
        let scope = filter.scope.as_ref();
        if scope.is_none_or(Scope::is_global) {
            all.extend(self.global_grants(filter).await?);
        }
        if scope.is_none_or(|s| !s.is_global()) {
            all.extend(self.project_grants(filter).await?);
        }
        all.retain(|g| filter.matches(g));
        all.sort();
        all.dedup();
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    async fn grant(&self, grant: &Grant) -> Result<()> {
        match &grant.scope {
            Scope::Global => self.grant_global(grant).await,
            Scope::Project(p) => self.grant_project(grant, p).await,
        }
    }

    async fn revoke(&self, grant: &Grant) -> Result<()> {
        match &grant.scope {
            Scope::Global => self.revoke_global(grant).await,
            Scope::Project(p) => self.revoke_project(grant, p).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> BTreeMap<String, BTreeSet<String>> {
        crate::config::default_project_roles()
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().collect()))
            .collect()
    }

    fn flags(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn only_the_largest_fitting_role_is_held() {
        let r = roles();
        assert_eq!(
            maximal_roles(&r, &flags(&["readProjectContent", "readDashboards"])),
            ["reader"]
        );
        let contributor = r["contributor"].clone();
        assert_eq!(maximal_roles(&r, &contributor), ["contributor"]);
        let mut more = contributor.clone();
        more.insert("exportDatasetsData".into());
        assert_eq!(maximal_roles(&r, &more), ["contributor"]);
        assert!(maximal_roles(&r, &flags(&["writeProjectContent"])).is_empty());
        let admin = r["admin"].clone();
        assert_eq!(maximal_roles(&r, &admin), ["admin"]);
    }

    #[test]
    fn revoking_keeps_flags_another_held_role_needs() {
        let mut r = BTreeMap::new();
        r.insert("a".to_string(), flags(&["x", "y"]));
        r.insert("b".to_string(), flags(&["y", "z"]));
        let held = flags(&["x", "y", "z"]);
        assert_eq!(flags_to_clear(&r, &held, "a"), flags(&["x"]));
        // A role dominated by a held one clears nothing: it was never reported.
        let r = roles();
        let held = r["contributor"].clone();
        assert!(flags_to_clear(&r, &held, "reader").is_empty());
        assert_eq!(flags_to_clear(&r, &held, "contributor"), held);
        // A role with the very same flags does not keep them.
        let mut r = BTreeMap::new();
        r.insert("data_team".to_string(), flags(&["x", "y"]));
        r.insert("analysts".to_string(), flags(&["x", "y"]));
        let held = flags(&["x", "y"]);
        assert_eq!(flags_to_clear(&r, &held, "data_team"), held);
    }
}
