//! Roles. Squirro has two kinds:
//!
//! - **server roles** (`admin`, `user`, `demo`, `reader`): every user holds exactly one;
//!   they are neutral roles in the global scope, held by users only;
//! - **project roles** (`reader`, `member`, `admin`): a user or a group holds at most one
//!   per project, through the project's members; they are neutral roles scoped to the
//!   project, named by its title (projects are looked up through the topic API). Their
//!   role id is `<role>@<project>` (`member@Sales`), so that every listed role has its own
//!   id; grants and revokes also accept the bare `<role>` with a project scope.
//!
//! A grant of another role where one is already held changes it (one role per user, or per
//! principal and project). Revoking a user's server role gives the user `default_role`
//! (or `reader` when the revoked role is the default), since a Squirro user always has one.

use idbridge_core::{
    Error, ErrorKind, Grant, GrantFilter, Page, PageRequest, Principal, Result, Role, Roles, Scope,
    async_trait,
};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::adapter::SquirroAdapter;
use crate::client::{Body, seg};
use crate::config::{PROJECT_ROLES, SERVER_ROLES};
use crate::wire::{MembersResponse, ProjectsResponse, WireMember, WireProject};

/// The project role Squirro gives a project's creator; it can be read but not set.
pub const OWNER_ROLE: &str = "owner";

/// The permissions each project role carries, from the vendor documentation.
pub fn project_role_privileges(role: &str) -> Vec<String> {
    let list: &[&str] = match role {
        "admin" | OWNER_ROLE => &["*"],
        "member" => &[
            "fingerprints.*",
            "items.*",
            "previews.*",
            "projects.read.*",
            "projects.write.*",
            "savedsearches.*",
            "scores.*",
            "signals.*",
            "sources.*",
        ],
        "reader" => &[
            "fingerprints.read.*",
            "fingerprints.write.create.adhoc",
            "items.read.*",
            "previews.read.*",
            "projects.read.*",
            "savedsearches.read.*",
            "scores.read.*",
            "signals.read.*",
            "sources.read.*",
        ],
        _ => &[],
    };
    list.iter().map(|s| (*s).to_string()).collect()
}

/// The server-level permissions of a server role, as far as the vendor documents them.
pub fn server_role_privileges(role: &str) -> Vec<String> {
    let list: &[&str] = match role {
        "admin" => &["admin", "profile.write.update", "projects.write.create"],
        "user" => &["user"],
        _ => &[],
    };
    list.iter().map(|s| (*s).to_string()).collect()
}

/// The role id of project role `role` in the project called `scope_name`.
pub fn project_role_id(role: &str, scope_name: &str) -> String {
    format!("{role}@{scope_name}")
}

/// Splits a project role id into the role and, when qualified, the project name.
pub fn split_project_role(id: &str) -> (&str, Option<&str>) {
    match id.split_once('@') {
        Some((role, project)) => (role, Some(project)),
        None => (id, None),
    }
}

/// Every project with its scope name: the title, or the id when the project has no title
/// or shares its title with another project.
fn scope_names(projects: Vec<WireProject>) -> Vec<(WireProject, String)> {
    let titles: Vec<Option<String>> = projects
        .iter()
        .map(|p| p.title.as_ref().map(|t| t.to_lowercase()))
        .collect();
    projects
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let shared =
                titles[i].is_some() && titles.iter().filter(|t| **t == titles[i]).count() > 1;
            let name = match &p.title {
                Some(t) if !shared => t.clone(),
                _ => p.id.clone(),
            };
            (p, name)
        })
        .collect()
}

fn find_project<'a>(projects: &'a [WireProject], name: &str) -> Option<&'a WireProject> {
    projects
        .iter()
        .find(|p| p.title.as_deref() == Some(name))
        .or_else(|| {
            projects.iter().find(|p| {
                p.title
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(name))
            })
        })
        .or_else(|| projects.iter().find(|p| p.id == name))
}

fn member_is(m: &WireMember, principal: &Principal) -> bool {
    if m.member_id != principal.id() {
        return false;
    }
    matches!(
        (m.member_type.as_deref(), principal),
        (None, _) | (Some("user"), Principal::User(_)) | (Some("group"), Principal::Group(_))
    )
}

fn check_server_role(role: &str) -> Result<()> {
    if SERVER_ROLES.contains(&role) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "`{role}` is not a Squirro server role; expected one of {}",
            SERVER_ROLES.join(", ")
        )))
    }
}

fn check_project_role(role: &str, allow_owner: bool) -> Result<()> {
    if PROJECT_ROLES.contains(&role) || (allow_owner && role == OWNER_ROLE) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "`{role}` is not a Squirro project role that can be granted; expected one of {}",
            PROJECT_ROLES.join(", ")
        )))
    }
}

fn global_user(grant: &Grant) -> Result<&str> {
    match &grant.principal {
        Principal::User(id) => Ok(id),
        Principal::Group(id) => Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "group `{id}` cannot hold a server role: on Squirro only users have one; grant a project role instead"
            ),
        )),
    }
}

impl SquirroAdapter {
    async fn fetch_projects(&self) -> Result<Vec<WireProject>> {
        let url = self.client.topic_url("/projects")?;
        let resp: ProjectsResponse = self.client.get_json(&url, &[], "project list").await?;
        Ok(resp.into_projects())
    }

    /// The projects, from the cache unless `refresh`.
    async fn projects(&self, refresh: bool) -> Result<Vec<WireProject>> {
        let mut cache = self.projects.lock().await;
        if refresh || cache.is_none() {
            *cache = Some(self.fetch_projects().await?);
        }
        Ok(cache.clone().unwrap_or_default())
    }

    /// The project named `name` (title, then case-insensitive title, then id).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when no project matches, even after re-reading the list.
    pub async fn resolve_project(&self, name: &str) -> Result<WireProject> {
        for refresh in [false, true] {
            let projects = self.projects(refresh).await?;
            if let Some(p) = find_project(&projects, name) {
                return Ok(p.clone());
            }
        }
        Err(Error::not_found(format!("no Squirro project is named `{name}`")).with_resource(name))
    }

    /// The project `name` names now, when it is another than `stale` (a project deleted
    /// and created again under the same name has a new id): read after the server did not
    /// find `stale`. `None` when the name still names `stale`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when no project has that name any more.
    async fn moved_project(&self, name: &str, stale: &WireProject) -> Result<Option<WireProject>> {
        let projects = self.projects(true).await?;
        match find_project(&projects, name) {
            Some(p) if p.id != stale.id => Ok(Some(p.clone())),
            Some(_) => Ok(None),
            None => Err(
                Error::not_found(format!("no Squirro project is named `{name}`"))
                    .with_resource(name),
            ),
        }
    }

    /// The project role and project of a project-scoped grant: the role id may be bare
    /// (`member`) or qualified (`member@Sales`), in which case the qualifier must name the
    /// scope's project.
    async fn project_grant_target(
        &self,
        grant: &Grant,
        scope_name: &str,
        allow_owner: bool,
    ) -> Result<(String, WireProject)> {
        let (role, qualifier) = split_project_role(&grant.role);
        check_project_role(role, allow_owner)?;
        let project = self.resolve_project(scope_name).await?;
        if let Some(q) = qualifier {
            let named = self.resolve_project(q).await?;
            if named.id != project.id {
                return Err(Error::invalid_input(format!(
                    "role `{}` belongs to project `{q}`, but the grant's scope is project `{scope_name}`",
                    grant.role
                )));
            }
        }
        Ok((role.to_string(), project))
    }

    /// Grants project role `role` in `project` (named `name` in the grant): a member
    /// already holding it is left alone, one holding another role gets this one.
    async fn grant_in(
        &self,
        grant: &Grant,
        name: &str,
        role: &str,
        project: &WireProject,
    ) -> Result<()> {
        let members = self.project_members(&project.id).await?;
        match members.iter().find(|m| member_is(m, &grant.principal)) {
            Some(m) if m.project_role.as_deref() == Some(role) => Ok(()),
            Some(m) => {
                if m.project_role.as_deref() == Some(OWNER_ROLE) {
                    return Err(Error::permission_denied(format!(
                        "{} owns project `{name}`; its role is changed in Squirro itself",
                        grant.principal
                    )));
                }
                let url = self.member_url(&project.id, grant.principal.id())?;
                self.client
                    .send(Method::PUT, &url, &[], Body::form([("role", role)]), None)
                    .await
                    .map(|_| ())
            }
            None => {
                let key = if grant.principal.is_group() {
                    "group_id"
                } else {
                    "user_id"
                };
                let url = self.members_url(&project.id)?;
                let body = Body::form([("role", role), (key, grant.principal.id())]);
                match self.client.send(Method::POST, &url, &[], body, None).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Revokes project role `role` in `project` (named `name` in the grant) when the
    /// principal holds it there.
    async fn revoke_in(
        &self,
        grant: &Grant,
        name: &str,
        role: &str,
        project: &WireProject,
    ) -> Result<()> {
        let members = self.project_members(&project.id).await?;
        let Some(m) = members.iter().find(|m| member_is(m, &grant.principal)) else {
            return Ok(());
        };
        if m.project_role.as_deref() != Some(role) {
            return Ok(());
        }
        if role == OWNER_ROLE {
            return Err(Error::permission_denied(format!(
                "{} owns project `{name}`; ownership is changed in Squirro itself",
                grant.principal
            )));
        }
        let url = self.member_url(&project.id, grant.principal.id())?;
        match self
            .client
            .send(Method::DELETE, &url, &[], Body::None, None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn members_url(&self, project_id: &str) -> Result<String> {
        self.client
            .user_url(&format!("/projects/{}/members", seg(project_id)))
    }

    fn member_url(&self, project_id: &str, member_id: &str) -> Result<String> {
        self.client.user_url(&format!(
            "/projects/{}/members/{}",
            seg(project_id),
            seg(member_id)
        ))
    }

    async fn project_members(&self, project_id: &str) -> Result<Vec<WireMember>> {
        let url = self.members_url(project_id)?;
        let resp: MembersResponse = self.client.get_json(&url, &[], "project members").await?;
        Ok(resp.into_members())
    }

    async fn set_server_role(&self, user: &str, role: &str) -> Result<()> {
        let mut body = Map::new();
        body.insert("role".into(), Value::String(role.to_string()));
        // No official call changes an existing user's server role; the user-data update
        // is read back, so a server that keeps `role` as free-form data fails the grant.
        self.write_user_data(user, body).await.map(|_| ())
    }

    /// The role a user gets when its server role `revoked` is taken away.
    fn fallback_role(&self, revoked: &str) -> Result<&str> {
        if self.default_role != revoked {
            Ok(&self.default_role)
        } else if revoked != "reader" {
            Ok("reader")
        } else {
            Err(Error::conflict(
                "a Squirro user always holds one server role; grant the role it should have instead of revoking `reader`",
            ))
        }
    }

    async fn global_grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>> {
        let users = match &filter.principal {
            Some(Principal::Group(_)) => return Ok(Vec::new()),
            Some(Principal::User(id)) => match self.wire_user(id).await {
                Ok(u) => vec![u],
                Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            },
            None => self.wire_users().await?,
        };
        users
            .into_iter()
            .map(|u| {
                // Every Squirro user has a server role; one without is an unreadable record,
                // not a user without a grant (which would revoke it everywhere).
                let role = u.role.filter(|r| !r.is_empty()).ok_or_else(|| {
                    Error::unusable_field(
                        "Squirro",
                        "GET /users",
                        &format!("user `{}`", u.id),
                        "role",
                        "is missing",
                    )
                })?;
                Ok(Grant {
                    role,
                    principal: Principal::User(u.id),
                    scope: Scope::Global,
                })
            })
            .collect()
    }

    /// The project grants the filter matches, from projects read afresh.
    async fn project_grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>> {
        let projects = self.projects(true).await?;
        let targets: Vec<(WireProject, String)> = match &filter.scope {
            Some(Scope::Project(name)) => match find_project(&projects, name) {
                Some(p) => vec![(p.clone(), name.clone())],
                None => {
                    return Err(
                        Error::not_found(format!("no Squirro project is named `{name}`"))
                            .with_resource(name),
                    );
                }
            },
            _ => scope_names(projects),
        };
        let mut out = Vec::new();
        for (project, scope_name) in targets {
            let endpoint = format!("GET /projects/{}/members", project.id);
            for m in self.project_members(&project.id).await? {
                let bad = |field: &str, problem: &str| {
                    Error::unusable_field(
                        "Squirro",
                        &endpoint,
                        &format!("member `{}`", m.member_id),
                        field,
                        problem,
                    )
                };
                let Some(role) = m.project_role.clone().filter(|r| !r.is_empty()) else {
                    return Err(bad("project_role", "is missing"));
                };
                let principal = match m.member_type.as_deref() {
                    Some("group") => Principal::Group(m.member_id),
                    Some("user") => Principal::User(m.member_id),
                    Some(other) => {
                        return Err(bad(
                            "member_type",
                            &format!("is `{other}`, neither `user` nor `group`"),
                        ));
                    }
                    None => return Err(bad("member_type", "is missing")),
                };
                out.push(Grant {
                    role: project_role_id(&role, &scope_name),
                    principal,
                    scope: Scope::Project(scope_name.clone()),
                });
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Roles for SquirroAdapter {
    /// The four server roles (global), then the three project roles of every project
    /// (ids `<role>@<project>`).
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        let mut all: Vec<Role> = SERVER_ROLES
            .iter()
            .map(|r| Role {
                id: (*r).to_string(),
                name: (*r).to_string(),
                scope: Scope::Global,
                privileges: server_role_privileges(r),
            })
            .collect();
        for (_, name) in scope_names(self.projects(true).await?) {
            for r in PROJECT_ROLES {
                all.push(Role {
                    id: project_role_id(r, &name),
                    name: r.to_string(),
                    scope: Scope::Project(name.clone()),
                    privileges: project_role_privileges(r),
                });
            }
        }
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    /// Server roles from the user list, project roles from each project's members.
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
        let size = all.len().max(1);
        Page::slice(all, &page, size)
    }

    /// Global: sets the user's server role through the user-data update and reads the user
    /// back to check it changed (it fails otherwise). Project: adds the
    /// principal to the project's members (`POST .../members`, form `role` and `user_id`
    /// or `group_id`), or changes its role (`PUT .../members/{id}`, form `role`).
    async fn grant(&self, grant: &Grant) -> Result<()> {
        match &grant.scope {
            Scope::Global => {
                let user = global_user(grant)?;
                check_server_role(&grant.role)?;
                let current = self.wire_user(user).await?;
                if current.role.as_deref() == Some(grant.role.as_str()) {
                    return Ok(());
                }
                self.refuse_connecting_user(user, "changes the server role of")?;
                self.set_server_role(user, &grant.role).await
            }
            Scope::Project(name) => {
                let (role, project) = self.project_grant_target(grant, name, false).await?;
                match self.grant_in(grant, name, &role, &project).await {
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        match self.moved_project(name, &project).await? {
                            Some(moved) => self.grant_in(grant, name, &role, &moved).await,
                            None => Err(e),
                        }
                    }
                    done => done,
                }
            }
        }
    }

    /// Global: gives the user its fallback server role when it holds `role`. Project:
    /// removes the principal from the project's members when it holds `role` there.
    async fn revoke(&self, grant: &Grant) -> Result<()> {
        match &grant.scope {
            Scope::Global => {
                let user = global_user(grant)?;
                check_server_role(&grant.role)?;
                let current = self.wire_user(user).await?;
                if current.role.as_deref() != Some(grant.role.as_str()) {
                    return Ok(());
                }
                self.refuse_connecting_user(user, "changes the server role of")?;
                let fallback = self.fallback_role(&grant.role)?.to_string();
                self.set_server_role(user, &fallback).await
            }
            Scope::Project(name) => {
                let (role, project) = self.project_grant_target(grant, name, true).await?;
                match self.revoke_in(grant, name, &role, &project).await {
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        match self.moved_project(name, &project).await? {
                            Some(moved) => self.revoke_in(grant, name, &role, &moved).await,
                            None => Err(e),
                        }
                    }
                    done => done,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, title: &str) -> WireProject {
        WireProject {
            id: id.into(),
            title: Some(title.into()),
        }
    }

    #[test]
    fn projects_are_found_by_title_then_case_then_id() {
        let ps = vec![p("id1", "Sales"), p("id2", "sales"), p("id3", "Ops")];
        assert_eq!(
            find_project(&ps, "sales").map(|p| p.id.as_str()),
            Some("id2")
        );
        assert_eq!(find_project(&ps, "OPS").map(|p| p.id.as_str()), Some("id3"));
        assert_eq!(find_project(&ps, "id1").map(|p| p.id.as_str()), Some("id1"));
        assert!(find_project(&ps, "nope").is_none());
    }

    #[test]
    fn member_match_respects_the_type() {
        let m = WireMember {
            member_id: "x".into(),
            member_type: Some("group".into()),
            project_role: Some("reader".into()),
        };
        assert!(member_is(&m, &Principal::Group("x".into())));
        assert!(!member_is(&m, &Principal::User("x".into())));
    }

    #[test]
    fn project_role_ids_are_qualified_and_unique() {
        assert_eq!(project_role_id("member", "Sales"), "member@Sales");
        assert_eq!(
            split_project_role("member@Sales"),
            ("member", Some("Sales"))
        );
        assert_eq!(split_project_role("member@a@b"), ("member", Some("a@b")));
        assert_eq!(split_project_role("member"), ("member", None));
        let named = scope_names(vec![p("i1", "Sales"), p("i2", "sales"), p("i3", "Ops")]);
        let names: Vec<&str> = named.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["i1", "i2", "Ops"]);
    }

    #[test]
    fn role_names_are_checked() {
        assert!(check_server_role("demo").is_ok());
        assert!(check_server_role("member").is_err());
        assert!(check_project_role("member", false).is_ok());
        assert!(check_project_role("owner", false).is_err());
        assert!(check_project_role("owner", true).is_ok());
    }
}
