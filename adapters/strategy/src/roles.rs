//! Security roles and who holds them in which project.
//!
//! A Strategy security role is defined once for the server and held per project: a
//! neutral grant `(role, principal, Scope::Project(p))` is the pair (security role,
//! project) with the user or group among that project's members of the role. Roles have
//! no server-wide grants, so the adapter does not declare `grants_global`.
//!
//! Grant and revoke send, as the official SDK does,
//! `{"op": "addElement"|"removeElement", "path": "/members", "value": {"projectId",
//! "memberIds"}}`: to `PATCH /api/securityRoles/{id}/members` on servers from 11.6.0400,
//! to `PATCH /api/securityRoles/{id}` before (and when the version is unknown). The role
//! is read first (one GET) so a grant already held or a revoke of a grant not held sends
//! nothing.

use idbridge_core::{
    Error, Grant, GrantFilter, Page, PageRequest, Principal, Result, Role, Roles, Scope,
};
use reqwest::Method;
use serde_json::json;

use crate::adapter::{ROLE_MEMBERS_ENDPOINT_SINCE, StrategyAdapter, version_at_least};
use crate::client::Call;
use crate::users::not_found_id;
use crate::wire::{self, Origin, RoleJson};

impl StrategyAdapter {
    async fn role_json(&self, id: &str) -> Result<RoleJson> {
        if !wire::is_object_id(id) {
            return Err(not_found_id("security role", id));
        }
        self.client
            .json(
                &Call::get(format!("/api/securityRoles/{id}")),
                "security role",
            )
            .await
    }

    /// The project a grant's scope names, as `(id, name)`.
    async fn grant_project(&self, grant: &Grant) -> Result<(String, String)> {
        match &grant.scope {
            Scope::Project(p) => self.resolve_project(p).await,
            Scope::Global => Err(Error::invalid_input(
                "Strategy security roles are held per project; give the grant a project scope",
            )),
        }
    }

    /// The grants of a role read from `endpoint`, with each one's project id.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Protocol`] naming the role and the field when a project
    /// has no name (the grants' scope) or a member no id or no user/group subtype: a grant
    /// is never put in a scope named after an id, nor given to a user that is a group.
    pub(crate) fn grants_of(role: &RoleJson, endpoint: &str) -> Result<Vec<(Grant, String)>> {
        let origin = Origin::new(endpoint, "security role", &role.id);
        let mut out = Vec::new();
        for project in &role.projects {
            if project.id.trim().is_empty() {
                return Err(origin.error("projects[].id", "is empty"));
            }
            let scope = Scope::Project(
                origin
                    .require_text(&format!("projects[{}].name", project.id), &project.name)?
                    .to_string(),
            );
            for m in &project.members {
                let field = format!("projects[{}].members[{}]", project.id, m.id);
                let member = Origin::new(endpoint, "security role", &role.id);
                if m.id.trim().is_empty() {
                    return Err(member.error(&format!("{field}.id"), "is empty"));
                }
                let is_group = m.is_group(&member).map_err(|_| {
                    member.error(
                        &format!("{field}.subType"),
                        "is missing or not a user's or a group's",
                    )
                })?;
                let principal = if is_group {
                    Principal::Group(m.id.clone())
                } else {
                    Principal::User(m.id.clone())
                };
                out.push((
                    Grant {
                        role: role.id.clone(),
                        principal,
                        scope: scope.clone(),
                    },
                    project.id.clone(),
                ));
            }
        }
        Ok(out)
    }

    /// The project a listing's scope names: on the first page from projects read afresh.
    async fn project_of_listing(
        &self,
        project: &str,
        page: &PageRequest,
    ) -> Result<(String, String)> {
        if page.cursor.is_none() {
            self.forget_projects().await;
        }
        self.resolve_project(project).await
    }

    async fn change_role_members(&self, grant: &Grant, add: bool) -> Result<()> {
        let role = self.role_json(&grant.role).await?;
        let (project_id, _) = self.grant_project(grant).await?;
        let endpoint = format!("GET /api/securityRoles/{}", grant.role);
        let held = Self::grants_of(&role, &endpoint)?.iter().any(|(g, pid)| {
            pid.eq_ignore_ascii_case(&project_id) && g.principal == grant.principal
        });
        if held == add {
            return Ok(());
        }
        let body = json!({"operationList": [{
            "op": if add { "addElement" } else { "removeElement" },
            "path": "/members",
            "value": {"projectId": project_id, "memberIds": [grant.principal.id()]},
        }]});
        let path = if self
            .version
            .as_deref()
            .is_some_and(|v| version_at_least(v, ROLE_MEMBERS_ENDPOINT_SINCE))
        {
            format!("/api/securityRoles/{}/members", grant.role)
        } else {
            format!("/api/securityRoles/{}", grant.role)
        };
        let call = Call::new(Method::PATCH, path).json(body).idempotent();
        self.client.ok(&call).await
    }
}

#[idbridge_core::async_trait]
impl Roles for StrategyAdapter {
    /// Every security role. With a configured `project`, roles carry that project as
    /// their scope (where their grants go by default); otherwise the global scope.
    ///
    /// The first page drops the projects read before, so that the project name and the
    /// grants written after this listing come from projects read in this run.
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        if page.cursor.is_none() {
            self.forget_projects().await;
        }
        let roles: Vec<RoleJson> = self
            .client
            .list(&Call::get("/api/securityRoles"), "security roles")
            .await?;
        let scope = match &self.cfg.project {
            Some(p) => Scope::Project(self.resolve_project(p).await?.1),
            None => Scope::Global,
        };
        let all = roles
            .into_iter()
            .map(|r| {
                let origin = Origin::new("GET /api/securityRoles", "security role", &r.id);
                if r.id.trim().is_empty() {
                    return Err(origin.error("id", "is empty"));
                }
                Ok(Role {
                    name: origin.require_text("name", &r.name)?.to_string(),
                    privileges: r
                        .privileges
                        .iter()
                        .filter_map(|p| p.name.clone().or_else(|| p.id.clone()))
                        .collect(),
                    id: r.id,
                    scope: scope.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Page::slice(all, &page, self.client.page_size())
    }

    /// The grants the filter matches. With a project scope, the first page reads the
    /// projects afresh, so that the scope names the project as it is now.
    async fn list_grants(&self, filter: &GrantFilter, page: PageRequest) -> Result<Page<Grant>> {
        let project_id = match &filter.scope {
            None => None,
            Some(Scope::Global) => return Page::slice(Vec::new(), &page, 1),
            Some(Scope::Project(p)) => match self.project_of_listing(p, &page).await {
                Ok((id, _)) => Some(id),
                Err(e) if e.kind() == idbridge_core::ErrorKind::NotFound => {
                    return Page::slice(Vec::new(), &page, 1);
                }
                Err(e) => return Err(e),
            },
        };
        let role_ids: Vec<String> = match &filter.role {
            Some(r) => vec![r.clone()],
            None => self
                .client
                .list::<RoleJson>(&Call::get("/api/securityRoles"), "security roles")
                .await?
                .into_iter()
                .map(|r| r.id)
                .collect(),
        };
        let mut all = Vec::new();
        for id in role_ids {
            let role = match self.role_json(&id).await {
                Ok(r) => r,
                // A filter naming a role that does not exist matches nothing.
                Err(e)
                    if e.kind() == idbridge_core::ErrorKind::NotFound && filter.role.is_some() =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            for (grant, pid) in Self::grants_of(&role, &format!("GET /api/securityRoles/{id}"))? {
                if project_id
                    .as_ref()
                    .is_some_and(|want| !want.eq_ignore_ascii_case(&pid))
                {
                    continue;
                }
                if filter
                    .principal
                    .as_ref()
                    .is_some_and(|p| p != &grant.principal)
                {
                    continue;
                }
                all.push(grant);
            }
        }
        all.sort();
        Page::slice(all, &page, self.client.page_size())
    }

    async fn grant(&self, grant: &Grant) -> Result<()> {
        self.change_role_members(grant, true).await
    }

    async fn revoke(&self, grant: &Grant) -> Result<()> {
        self.change_role_members(grant, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grants(role: serde_json::Value) -> Result<Vec<(Grant, String)>> {
        let role: RoleJson = serde_json::from_value(role).expect("parses");
        StrategyAdapter::grants_of(&role, "GET /api/securityRoles/R")
    }

    #[test]
    fn grants_come_from_named_projects_and_typed_members() {
        let ok = grants(json!({"id": "R", "name": "Normal Users", "projects": [
            {"id": "P", "name": "Tutorial", "members": [
                {"id": "U", "name": "ada", "subType": 8704},
                {"id": "G", "name": "sales", "subType": "8705"}
            ]}
        ]}))
        .expect("valid");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].0.scope, Scope::Project("Tutorial".into()));
        assert_eq!(ok[1].0.principal, Principal::Group("G".into()));
    }

    /// A project without a name (the grants' scope) or a member that is neither a user
    /// nor a group fails the role: no grant lands in a scope named after an id, and no
    /// group is taken for a user.
    #[test]
    fn a_garbled_project_or_member_fails_the_role() {
        for (role, needle) in [
            (
                json!({"id": "R", "projects": [{"id": "P", "members": []}]}),
                "`projects[P].name` is missing",
            ),
            (
                json!({"id": "R", "projects": [{"id": "P", "name": 4, "members": []}]}),
                "`projects[P].name` is a number",
            ),
            (
                json!({"id": "R", "projects": [{"id": "P", "name": "T", "members": [{"id": "G"}]}]}),
                "`projects[P].members[G].subType`",
            ),
        ] {
            let err = grants(role.clone()).expect_err(&role.to_string());
            assert!(
                err.message()
                    .contains("Strategy answered GET /api/securityRoles/R")
                    && err.message().contains(needle),
                "{role}: {}",
                err.message()
            );
        }
    }
}
