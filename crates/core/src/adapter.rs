//! The [`Adapter`] trait, and [`AdapterHandle`]: the one place that enforces capabilities,
//! protects built-in accounts and adds context to errors.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::http::RequestCounts;
use crate::model::{
    Grant, GrantFilter, Group, GroupChanges, NewGroup, NewUser, Principal, Role, Session, User,
    UserActivity, UserChanges, UserWrite, UserWriteResult,
};
use crate::model::{MemberWrite, MemberWriteResult, Membership};
use crate::traits::{Groups, Memberships, Page, PageRequest, Roles, Sessions, Users};
use crate::{Capabilities, Error, Operation, Result};

/// Accounts and groups an adapter never modifies or deletes, whatever a plan says.
///
/// Each adapter fills it with its platform's built-ins and the connecting account. The
/// [`AdapterHandle`] refuses, with [`crate::ErrorKind::PermissionDenied`]: updating,
/// disabling or deleting a protected user; removing a protected user from a group;
/// updating or deleting a protected group; adding any member to a privileged group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Protected {
    /// Protected user ids.
    pub user_ids: BTreeSet<String>,
    /// Protected group ids.
    pub group_ids: BTreeSet<String>,
    /// Privileged group ids: groups whose members administer the platform (its
    /// administrators group). Nothing is ever added to them, and the sync engine never
    /// adopts one of their members without a named override. Default: none.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub privileged_group_ids: BTreeSet<String>,
}

impl Protected {
    /// Whether a user id is protected.
    pub fn user(&self, id: &str) -> bool {
        self.user_ids.contains(id)
    }

    /// Whether a group id is protected.
    pub fn group(&self, id: &str) -> bool {
        self.group_ids.contains(id)
    }

    /// Whether a group id is privileged (membership grants administration).
    pub fn privileged_group(&self, id: &str) -> bool {
        self.privileged_group_ids.contains(id)
    }
}

/// A connected platform: its identity, what it can do, and the five concept traits.
///
/// Implementors write the traits for what their platform offers and declare it in
/// [`Adapter::capabilities`]. Construct adapters through the registry
/// ([`crate::registry::build`]), which wraps them in an [`AdapterHandle`].
#[async_trait]
pub trait Adapter: Users + Groups + Memberships + Roles + Sessions + Send + Sync + 'static {
    /// The registered adapter name (`file`, ...).
    fn kind(&self) -> &'static str;

    /// What this adapter instance can do. May depend on the server (for example a version
    /// probe done at connect time), but must not change afterwards.
    fn capabilities(&self) -> Capabilities;

    /// Built-in and connecting accounts that must never be modified. Default: none.
    fn protected(&self) -> Protected {
        Protected::default()
    }

    /// Checks connectivity and credentials with one cheap read.
    ///
    /// The default reads the first user page of size 1.
    async fn check(&self) -> Result<()> {
        self.list_users(PageRequest::with_size(1)).await.map(|_| ())
    }

    /// Releases server-side resources (logs out). Default: nothing to do.
    async fn close(&self) -> Result<()> {
        Ok(())
    }

    /// Requests sent so far, for tests and benchmarks; `None` for adapters without HTTP.
    fn request_counts(&self) -> Option<RequestCounts> {
        None
    }
}

/// A named, checked adapter instance: what the CLI, the sync engine and the conformance
/// suite hold.
///
/// Every call is checked against the adapter's [`Capabilities`] first (undeclared ⇒
/// [`crate::ErrorKind::Unsupported`] naming instance and operation, without touching the
/// adapter), then against [`Protected`], and every error leaves with the instance name,
/// the operation and the resource attached. Cheap to clone.
#[derive(Clone)]
pub struct AdapterHandle {
    name: Arc<str>,
    inner: Arc<dyn Adapter>,
    caps: Capabilities,
    protected: Arc<Protected>,
}

impl std::fmt::Debug for AdapterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterHandle")
            .field("name", &self.name)
            .field("kind", &self.inner.kind())
            .finish()
    }
}

impl AdapterHandle {
    /// Wraps an adapter under an instance name (`source`, or a target name such as `bi`).
    pub fn new(name: impl Into<String>, adapter: Arc<dyn Adapter>) -> Self {
        let caps = adapter.capabilities();
        let protected = Arc::new(adapter.protected());
        AdapterHandle {
            name: Arc::from(name.into()),
            inner: adapter,
            caps,
            protected,
        }
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The adapter kind (registered name).
    pub fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    /// The declared capabilities.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// The protected accounts and groups.
    pub fn protected(&self) -> &Protected {
        &self.protected
    }

    /// Requests sent so far, if the adapter counts them.
    pub fn request_counts(&self) -> Option<RequestCounts> {
        self.inner.request_counts()
    }

    /// The wrapped adapter, for adapter-specific extensions.
    pub fn inner(&self) -> &Arc<dyn Adapter> {
        &self.inner
    }

    /// Checks connectivity (see [`Adapter::check`]).
    ///
    /// # Errors
    /// Whatever the adapter's check returns, with the instance name attached.
    pub async fn check(&self) -> Result<()> {
        self.inner
            .check()
            .await
            .map_err(|e| e.with_adapter(self.name.as_ref()).with_operation("check"))
    }

    /// Logs out / releases resources (see [`Adapter::close`]).
    ///
    /// # Errors
    /// Whatever the adapter's close returns, with the instance name attached.
    pub async fn close(&self) -> Result<()> {
        self.inner
            .close()
            .await
            .map_err(|e| e.with_adapter(self.name.as_ref()).with_operation("close"))
    }

    fn gate(&self, op: Operation) -> Result<()> {
        if self.caps.supports(op) {
            Ok(())
        } else {
            Err(Error::unsupported(self.name.as_ref(), op.as_str()))
        }
    }

    fn protect_user(&self, op: Operation, id: &str) -> Result<()> {
        if self.protected.user(id) {
            return Err(Error::permission_denied(format!(
                "user `{id}` is protected (a built-in or the connecting account) and is never modified"
            ))
            .with_adapter(self.name.as_ref())
            .with_operation(op.as_str())
            .with_resource(id));
        }
        Ok(())
    }

    fn protect_group(&self, op: Operation, id: &str) -> Result<()> {
        if self.protected.group(id) {
            return Err(Error::permission_denied(format!(
                "group `{id}` is protected (a built-in) and is never modified"
            ))
            .with_adapter(self.name.as_ref())
            .with_operation(op.as_str())
            .with_resource(id));
        }
        Ok(())
    }

    /// Refuses any addition to a privileged group, whatever a plan says: membership there
    /// is administration of the platform, which idbridge never hands out.
    fn protect_privileged(&self, op: Operation, group: &str) -> Result<()> {
        if self.protected.privileged_group(group) {
            return Err(Error::permission_denied(format!(
                "group `{group}` is privileged (its members administer the platform); idbridge never adds members to it"
            ))
            .with_adapter(self.name.as_ref())
            .with_operation(op.as_str())
            .with_resource(group));
        }
        Ok(())
    }

    async fn run<T, F>(&self, op: Operation, resource: Option<&str>, fut: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        self.gate(op)?;
        fut.await.map_err(|e| {
            let e = e
                .with_adapter(self.name.as_ref())
                .with_operation(op.as_str());
            match resource {
                Some(r) => e.with_resource(r),
                None => e,
            }
        })
    }
}

#[async_trait]
impl Users for AdapterHandle {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.run(Operation::UsersList, None, self.inner.list_users(page))
            .await
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        self.run(Operation::UsersGet, Some(id), self.inner.get_user(id))
            .await
    }

    async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.run(
            Operation::UsersCreate,
            Some(&user.login),
            self.inner.create_user(user),
        )
        .await
    }

    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        self.protect_user(Operation::UsersUpdate, id)?;
        self.run(
            Operation::UsersUpdate,
            Some(id),
            self.inner.update_user(id, changes),
        )
        .await
    }

    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        self.protect_user(Operation::UsersSetEnabled, id)?;
        self.run(
            Operation::UsersSetEnabled,
            Some(id),
            self.inner.set_user_enabled(id, enabled),
        )
        .await
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        self.protect_user(Operation::UsersDelete, id)?;
        self.run(Operation::UsersDelete, Some(id), self.inner.delete_user(id))
            .await
    }

    async fn user_activity(&self, id: &str) -> Result<UserActivity> {
        self.run(
            Operation::UsersActivity,
            Some(id),
            self.inner.user_activity(id),
        )
        .await
    }

    /// Checks every write first; rejected writes get their error in place and only the
    /// accepted ones reach the adapter, in one batch.
    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        let mut results: Vec<Option<UserWriteResult>> = Vec::with_capacity(batch.len());
        let mut accepted = Vec::new();
        let mut accepted_meta = Vec::new();
        for write in batch {
            let op = write.operation();
            let resource = write.resource().to_string();
            let check = self.gate(op).and_then(|()| match &write {
                UserWrite::Create { .. } => Ok(()),
                UserWrite::Update { id, .. }
                | UserWrite::SetEnabled { id, .. }
                | UserWrite::Delete { id } => self.protect_user(op, id),
            });
            match check {
                Ok(()) => {
                    accepted_meta.push((results.len(), op, resource));
                    results.push(None);
                    accepted.push(write);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if !accepted.is_empty() {
            let expected = accepted.len();
            let mut outcomes = self.inner.write_users(accepted).await.into_iter();
            for (slot, op, resource) in accepted_meta {
                let outcome = outcomes.next().unwrap_or_else(|| {
                    Err(Error::protocol(format!(
                        "the adapter returned fewer results than the {expected} writes it was given"
                    )))
                });
                results[slot] = Some(outcome.map_err(|e| {
                    e.with_adapter(self.name.as_ref())
                        .with_operation(op.as_str())
                        .with_resource(resource)
                }));
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::protocol("batch slot left without a result"))))
            .collect()
    }
}

#[async_trait]
impl Groups for AdapterHandle {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        self.run(Operation::GroupsList, None, self.inner.list_groups(page))
            .await
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        self.run(Operation::GroupsGet, Some(id), self.inner.get_group(id))
            .await
    }

    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        self.run(
            Operation::GroupsCreate,
            Some(&group.name),
            self.inner.create_group(group),
        )
        .await
    }

    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        self.protect_group(Operation::GroupsUpdate, id)?;
        self.run(
            Operation::GroupsUpdate,
            Some(id),
            self.inner.update_group(id, changes),
        )
        .await
    }

    async fn delete_group(&self, id: &str) -> Result<()> {
        self.protect_group(Operation::GroupsDelete, id)?;
        self.run(
            Operation::GroupsDelete,
            Some(id),
            self.inner.delete_group(id),
        )
        .await
    }
}

#[async_trait]
impl Memberships for AdapterHandle {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.run(
            Operation::MembersList,
            Some(group),
            self.inner.list_members(group, page),
        )
        .await
    }

    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        if member.is_group() && !self.caps.members_nested {
            return Err(Error::unsupported(self.name.as_ref(), "members_nested")
                .with_resource(format!("{member} in group {group}")));
        }
        self.protect_privileged(Operation::MembersAdd, group)?;
        self.run(
            Operation::MembersAdd,
            Some(group),
            self.inner.add_member(group, member),
        )
        .await
    }

    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        if let Principal::User(id) = member {
            self.protect_user(Operation::MembersRemove, id)?;
        }
        self.run(
            Operation::MembersRemove,
            Some(group),
            self.inner.remove_member(group, member),
        )
        .await
    }

    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        self.run(
            Operation::MembersListAll,
            None,
            self.inner.list_all_members(),
        )
        .await
    }

    /// Checks every write as the single-write methods do (capability, nesting, protected
    /// users, privileged groups); rejected writes get their error in place and only the accepted ones reach
    /// the adapter, in one batch.
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        let mut results: Vec<Option<MemberWriteResult>> = Vec::with_capacity(batch.len());
        let mut accepted = Vec::new();
        let mut accepted_meta = Vec::new();
        for write in batch {
            let op = write.operation();
            let group = write.group().to_string();
            let check = self.gate(op).and_then(|()| match &write {
                MemberWrite::Add { member, .. }
                    if member.is_group() && !self.caps.members_nested =>
                {
                    Err(Error::unsupported(self.name.as_ref(), "members_nested")
                        .with_resource(format!("{member} in group {group}")))
                }
                MemberWrite::Add { .. } => self.protect_privileged(op, &group),
                MemberWrite::Remove {
                    member: Principal::User(id),
                    ..
                } => self.protect_user(op, id),
                _ => Ok(()),
            });
            match check {
                Ok(()) => {
                    accepted_meta.push((results.len(), op, group));
                    results.push(None);
                    accepted.push(write);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if !accepted.is_empty() {
            let expected = accepted.len();
            let mut outcomes = self.inner.write_members(accepted).await.into_iter();
            for (slot, op, group) in accepted_meta {
                let outcome = outcomes.next().unwrap_or_else(|| {
                    Err(Error::protocol(format!(
                        "the adapter returned fewer results than the {expected} membership writes it was given"
                    )))
                });
                results[slot] = Some(outcome.map_err(|e| {
                    e.with_adapter(self.name.as_ref())
                        .with_operation(op.as_str())
                        .with_resource(group)
                }));
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::protocol("batch slot left without a result"))))
            .collect()
    }
}

#[async_trait]
impl Roles for AdapterHandle {
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        self.run(Operation::RolesList, None, self.inner.list_roles(page))
            .await
    }

    async fn list_grants(&self, filter: &GrantFilter, page: PageRequest) -> Result<Page<Grant>> {
        self.run(
            Operation::GrantsList,
            None,
            self.inner.list_grants(filter, page),
        )
        .await
    }

    async fn grant(&self, grant: &Grant) -> Result<()> {
        self.check_grant_shape(Operation::GrantsGrant, grant)?;
        if grant.scope.is_global() {
            // A platform whose global roles are groups: granting the role is joining the group.
            self.protect_privileged(Operation::GrantsGrant, &grant.role)?;
        }
        self.run(
            Operation::GrantsGrant,
            Some(&grant.role),
            self.inner.grant(grant),
        )
        .await
    }

    async fn revoke(&self, grant: &Grant) -> Result<()> {
        self.check_grant_shape(Operation::GrantsRevoke, grant)?;
        self.run(
            Operation::GrantsRevoke,
            Some(&grant.role),
            self.inner.revoke(grant),
        )
        .await
    }
}

impl AdapterHandle {
    fn check_grant_shape(&self, op: Operation, grant: &Grant) -> Result<()> {
        let unsupported = |what: &str| {
            Err(Error::unsupported(self.name.as_ref(), what)
                .with_operation(op.as_str())
                .with_resource(grant.role.clone()))
        };
        if grant.scope.is_global() && !self.caps.grants_global {
            return unsupported("grants_global");
        }
        if !grant.scope.is_global() && !self.caps.grants_project {
            return unsupported("grants_project");
        }
        if grant.principal.is_group() && !self.caps.grants_to_groups {
            return unsupported("grants_to_groups");
        }
        if grant.principal.is_group()
            && grant.scope.is_global()
            && !self.caps.grants_global_to_groups
        {
            return unsupported("grants_global_to_groups");
        }
        Ok(())
    }
}

#[async_trait]
impl Sessions for AdapterHandle {
    async fn list_sessions(&self, user: Option<&str>, page: PageRequest) -> Result<Page<Session>> {
        self.run(
            Operation::SessionsList,
            user,
            self.inner.list_sessions(user, page),
        )
        .await
    }

    async fn revoke_session(&self, id: &str) -> Result<()> {
        self.run(
            Operation::SessionsRevoke,
            Some(id),
            self.inner.revoke_session(id),
        )
        .await
    }

    async fn revoke_user_sessions(&self, user: &str) -> Result<u64> {
        self.run(
            Operation::SessionsRevokeUser,
            Some(user),
            self.inner.revoke_user_sessions(user),
        )
        .await
    }
}

/// Convenience on top of the traits: collect every page of a listing.
#[async_trait]
pub trait AdapterExt: Users + Groups + Memberships + Roles + Sessions {
    /// Every user.
    async fn all_users(&self) -> Result<Vec<User>> {
        collect_pages(|p| self.list_users(p)).await
    }
    /// Every group.
    async fn all_groups(&self) -> Result<Vec<Group>> {
        collect_pages(|p| self.list_groups(p)).await
    }
    /// Every direct member of a group.
    async fn all_members(&self, group: &str) -> Result<Vec<Principal>> {
        collect_pages(|p| self.list_members(group, p)).await
    }
    /// Every role.
    async fn all_roles(&self) -> Result<Vec<Role>> {
        collect_pages(|p| self.list_roles(p)).await
    }
    /// Every grant matching `filter`.
    async fn all_grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>> {
        collect_pages(|p| self.list_grants(filter, p)).await
    }
    /// Every session, of one user or of everyone.
    async fn all_sessions(&self, user: Option<&str>) -> Result<Vec<Session>> {
        collect_pages(|p| self.list_sessions(user, p)).await
    }
}

impl<T: Users + Groups + Memberships + Roles + Sessions + ?Sized> AdapterExt for T {}

/// The most pages [`collect_pages`] follows before deciding the server is looping.
pub const MAX_PAGES: usize = 1_000_000;

/// Follows `next` cursors until the last page and concatenates the items.
///
/// # Errors
/// The first page error; [`crate::ErrorKind::Protocol`] when a server repeats a cursor
/// (which would otherwise loop forever).
pub async fn collect_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>>> + Send,
    T: Send,
{
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let page = fetch(PageRequest {
            cursor: cursor.clone(),
            size: None,
        })
        .await?;
        out.extend(page.items);
        match page.next {
            None => return Ok(out),
            Some(next) => {
                if !seen.insert(next.clone()) {
                    return Err(Error::protocol(format!(
                        "the server returned page cursor `{next}` twice; stopping to avoid a loop"
                    )));
                }
                cursor = Some(next);
            }
        }
    }
    Err(Error::protocol(format!(
        "listing did not end after {MAX_PAGES} pages"
    )))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ErrorKind;

    /// Records what reaches it; adds to group `missing` fail with NotFound.
    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<String>>,
        protected: Protected,
        caps: Capabilities,
    }

    #[async_trait]
    impl Users for Recorder {}
    #[async_trait]
    impl Groups for Recorder {}
    #[async_trait]
    impl Roles for Recorder {}
    #[async_trait]
    impl Sessions for Recorder {}
    #[async_trait]
    impl Memberships for Recorder {
        async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
            self.seen
                .lock()
                .expect("lock")
                .push(format!("add {group} {member}"));
            if group == "missing" {
                return Err(Error::not_found("no such group"));
            }
            Ok(())
        }

        async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
            self.seen
                .lock()
                .expect("lock")
                .push(format!("remove {group} {member}"));
            Ok(())
        }
    }

    #[async_trait]
    impl Adapter for Recorder {
        fn kind(&self) -> &'static str {
            "recorder"
        }
        fn capabilities(&self) -> Capabilities {
            self.caps
        }
        fn protected(&self) -> Protected {
            self.protected.clone()
        }
    }

    fn user(id: &str) -> Principal {
        Principal::User(id.to_string())
    }

    #[tokio::test]
    async fn write_members_checks_each_write_and_runs_the_rest_one_by_one_in_order() {
        let rec = Arc::new(Recorder {
            caps: Capabilities {
                members_add: true,
                members_remove: true,
                ..Capabilities::default()
            },
            protected: Protected {
                user_ids: ["admin".to_string()].into_iter().collect(),
                ..Protected::default()
            },
            ..Recorder::default()
        });
        let h = AdapterHandle::new("t", rec.clone());
        let results = h
            .write_members(vec![
                MemberWrite::Add {
                    group: "g1".into(),
                    member: user("a"),
                },
                MemberWrite::Remove {
                    group: "g1".into(),
                    member: user("admin"),
                },
                MemberWrite::Add {
                    group: "g2".into(),
                    member: Principal::Group("g1".into()),
                },
                MemberWrite::Add {
                    group: "missing".into(),
                    member: user("b"),
                },
                MemberWrite::Remove {
                    group: "g2".into(),
                    member: user("c"),
                },
            ])
            .await;
        assert_eq!(results.len(), 5);
        assert!(results[0].is_ok());
        let denied = results[1].as_ref().expect_err("protected");
        assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
        let nested = results[2].as_ref().expect_err("no nesting");
        assert_eq!(nested.kind(), ErrorKind::Unsupported);
        let missing = results[3].as_ref().expect_err("missing group");
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert!(missing.to_string().contains("missing"), "{missing}");
        assert!(results[4].is_ok());
        assert_eq!(
            *rec.seen.lock().expect("lock"),
            vec![
                "add g1 user a".to_string(),
                "add missing user b".to_string(),
                "remove g2 user c".to_string(),
            ],
            "only the accepted writes reach the adapter, in order"
        );
    }

    #[tokio::test]
    async fn write_members_refuses_undeclared_operations_per_write() {
        let rec = Arc::new(Recorder {
            caps: Capabilities {
                members_add: true,
                ..Capabilities::default()
            },
            ..Recorder::default()
        });
        let h = AdapterHandle::new("t", rec.clone());
        let results = h
            .write_members(vec![
                MemberWrite::Remove {
                    group: "g".into(),
                    member: user("a"),
                },
                MemberWrite::Add {
                    group: "g".into(),
                    member: user("a"),
                },
            ])
            .await;
        let refused = results[0].as_ref().expect_err("undeclared");
        assert_eq!(refused.kind(), ErrorKind::Unsupported);
        assert!(results[1].is_ok());
        assert_eq!(rec.seen.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn a_forged_addition_to_a_privileged_group_is_refused() {
        let rec = Arc::new(Recorder {
            caps: Capabilities {
                members_add: true,
                members_remove: true,
                ..Capabilities::default()
            },
            protected: Protected {
                privileged_group_ids: ["admins".to_string()].into_iter().collect(),
                ..Protected::default()
            },
            ..Recorder::default()
        });
        let h = AdapterHandle::new("bi", rec.clone());
        let err = h
            .add_member("admins", &user("evil"))
            .await
            .expect_err("privileged");
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("`admins` is privileged"), "{err}");
        let results = h
            .write_members(vec![
                MemberWrite::Add {
                    group: "admins".into(),
                    member: user("evil"),
                },
                MemberWrite::Add {
                    group: "eng".into(),
                    member: user("evil"),
                },
                MemberWrite::Remove {
                    group: "admins".into(),
                    member: user("gone"),
                },
            ])
            .await;
        let denied = results[0].as_ref().expect_err("privileged in a batch");
        assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
        assert!(results[1].is_ok() && results[2].is_ok());
        assert_eq!(
            *rec.seen.lock().expect("lock"),
            vec![
                "add eng user evil".to_string(),
                "remove admins user gone".to_string()
            ],
            "nothing is added to the privileged group"
        );
    }
}
