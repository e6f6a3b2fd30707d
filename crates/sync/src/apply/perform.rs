//! Performing one operation: sending it to the target ([`send`], or a batch call) and
//! interpreting the answer ([`settle`]), the one place where "already exists" on a create
//! becomes an adoption of the existing record and "not found" on a delete is done.

use idbridge_core::{
    AdapterHandle, Error, ErrorKind, Grant, GroupChanges, NewGroup, NewUser, Principal, Result,
    User, UserChanges,
};
use idbridge_store::JsonText;

use super::created::CreatedIds;
use super::records::{links_after, to_json};
use super::{ApplyContext, Performed};
use crate::plan::{Action, PrincipalKind, PrincipalRef, Ref, TargetPlan};
use crate::util::{norm, norm_eq};

/// What the target answered to a successful write, before [`settle`] interprets it.
pub(super) struct Answer {
    /// The id of the record a create made.
    pub created: Option<String>,
    /// The record after the write, as the journal keeps it.
    pub after: Option<JsonText>,
}

/// Ids of the records an operation addresses through [`Ref::Created`], resolved.
#[derive(Default)]
pub(super) struct Resolved {
    pub group: Option<String>,
    pub principal: Option<String>,
}

fn resolve_ref(r: &Ref, created: &CreatedIds) -> Result<String> {
    match r {
        Ref::Id(id) => Ok(id.to_string()),
        Ref::Created(n) => created.get(*n).map(str::to_string).ok_or_else(|| {
            Error::conflict(format!(
                "operation {n} should have created this record, but reported no id"
            ))
        }),
    }
}

pub(super) fn resolve(plan: &TargetPlan, i: usize, created: &CreatedIds) -> Result<Resolved> {
    match &plan.ops[i].action {
        Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
            Ok(Resolved {
                group: Some(resolve_ref(&group.at, created)?),
                principal: Some(resolve_ref(&member.at, created)?),
            })
        }
        Action::Grant(r) | Action::Revoke(r) => Ok(Resolved {
            group: None,
            principal: Some(resolve_ref(&r.principal.at, created)?),
        }),
        _ => Ok(Resolved::default()),
    }
}

pub(super) fn principal(p: &PrincipalRef, id: String) -> Principal {
    match p.kind {
        PrincipalKind::User => Principal::User(id),
        PrincipalKind::Group => Principal::Group(id),
    }
}

/// Performs operation `action` alone: sends it, then settles the answer.
pub(super) async fn perform(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    resolved: Result<Resolved>,
) -> Result<Performed> {
    let sent = send(ctx.handle, action, resolved?).await;
    settle(ctx, plan, action, sent).await
}

/// What the target's answer to `action` (sent alone or in a batch) means: the record it
/// created or wrote and the links that follow; a create that finds its record already
/// there adopts it ([`adopt_existing_user`], [`adopt_existing_group`]); a delete of a
/// record already gone is done.
pub(super) async fn settle(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    sent: Result<Answer>,
) -> Result<Performed> {
    match (action, sent) {
        (_, Ok(answer)) => Ok(Performed {
            links: links_after(plan, action, answer.created.as_deref(), None),
            created: answer.created,
            after: answer.after,
        }),
        (Action::CreateUser(c), Err(e)) if e.kind() == ErrorKind::AlreadyExists => {
            adopt_existing_user(ctx, plan, action, &c.user(), e).await
        }
        (Action::CreateGroup(c), Err(e)) if e.kind() == ErrorKind::AlreadyExists => {
            adopt_existing_group(ctx, plan, action, &c.group, e).await
        }
        (Action::DeleteUser(_) | Action::DeleteGroup(_), Err(e))
            if e.kind() == ErrorKind::NotFound =>
        {
            Ok(Performed {
                created: None,
                after: None,
                links: links_after(plan, action, None, None),
            })
        }
        (_, Err(e)) => Err(e),
    }
}

/// Sends one operation to the target: the call itself, its answer not yet interpreted
/// (see [`settle`]).
async fn send(h: &AdapterHandle, action: &Action, resolved: Resolved) -> Result<Answer> {
    let simple = |after: Option<JsonText>| Answer {
        created: None,
        after,
    };
    match action {
        Action::CreateUser(c) => {
            let u = h.create_user(&c.user()).await?;
            Ok(Answer {
                after: to_json(&u),
                created: Some(u.id),
            })
        }
        Action::UpdateUser(u) => {
            let u = h.update_user(&u.id, &u.changes).await?;
            Ok(simple(to_json(&u)))
        }
        Action::EnableUser(u) => {
            let u = h.set_user_enabled(&u.id, true).await?;
            Ok(simple(to_json(&u)))
        }
        Action::DisableUser(u) => {
            let u = h.set_user_enabled(&u.id, false).await?;
            Ok(simple(to_json(&u)))
        }
        Action::DeleteUser(u) => {
            h.delete_user(&u.id).await?;
            Ok(simple(None))
        }
        Action::RevokeSessions(r) => {
            let id = &r.id;
            let caps = h.capabilities();
            let revoked = if caps.sessions_revoke_user {
                h.revoke_user_sessions(id).await?
            } else {
                let sessions = h.all_sessions(Some(id)).await?;
                let mut n = 0u64;
                for s in sessions {
                    match h.revoke_session(&s.id).await {
                        Ok(()) => n += 1,
                        Err(e) if e.kind() == ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                n
            };
            Ok(simple(to_json(
                &serde_json::json!({ "sessions_revoked": revoked }),
            )))
        }
        Action::LinkUser(_) | Action::LinkGroup(_) => Ok(simple(None)),
        Action::CreateGroup(c) => {
            let g = h.create_group(&c.group).await?;
            Ok(Answer {
                after: to_json(&g),
                created: Some(g.id),
            })
        }
        Action::UpdateGroup(u) => {
            let g = h.update_group(&u.id, &u.changes).await?;
            Ok(simple(to_json(&g)))
        }
        Action::DeleteGroup(d) => {
            h.delete_group(&d.id).await?;
            Ok(simple(None))
        }
        Action::AddMember { member, .. } | Action::RemoveMember { member, .. } => {
            let (Some(group), Some(pid)) = (resolved.group, resolved.principal) else {
                return Err(Error::protocol(
                    "membership operation without a group or member",
                ));
            };
            let p = principal(member, pid);
            if matches!(action, Action::AddMember { .. }) {
                h.add_member(&group, &p).await?;
            } else {
                h.remove_member(&group, &p).await?;
            }
            Ok(simple(None))
        }
        Action::Grant(r) | Action::Revoke(r) => {
            let (role, p, scope) = (&r.role, &r.principal, &r.scope);
            let Some(pid) = resolved.principal else {
                return Err(Error::protocol("grant operation without a principal"));
            };
            let grant = Grant {
                role: role.clone(),
                principal: principal(p, pid),
                scope: scope.clone(),
            };
            if matches!(action, Action::Grant(_)) {
                h.grant(&grant).await?;
            } else {
                h.revoke(&grant).await?;
            }
            Ok(simple(None))
        }
    }
}

/// A create said "already exists": a run that stopped after creating but before linking,
/// a retried create whose first attempt the target carried out although its answer was
/// lost, or someone else created the account meanwhile. Where the target correlates by
/// login, the existing account is adopted instead of failing: fields that differ from the
/// account the plan wanted to create are updated, and the account is linked. When it
/// cannot be updated, it is linked with an empty fingerprint, so that the next run compares
/// every field.
async fn adopt_existing_user(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    wanted: &NewUser,
    original: Error,
) -> Result<Performed> {
    if !ctx.adopt_existing_login {
        return Err(original);
    }
    let key = norm(&wanted.login);
    let all = ctx.handle.all_users().await?;
    let found = match all.into_iter().find(|u| norm(&u.login) == key) {
        Some(found) if !ctx.handle.protected().user(&found.id) => found,
        _ => return Err(original),
    };
    let changes = adopt_changes(&found, wanted);
    if changes.is_empty() || ctx.handle.capabilities().users_update {
        let account = if changes.is_empty() {
            found
        } else {
            ctx.handle.update_user(&found.id, &changes).await?
        };
        tracing::info!(target = %plan.target, login = %wanted.login, id = %account.id, "account already existed; adopted it");
        return Ok(Performed {
            after: to_json(&account),
            links: links_after(plan, action, Some(&account.id), None),
            created: Some(account.id),
        });
    }
    tracing::info!(target = %plan.target, login = %wanted.login, id = %found.id, "account already existed; linked it");
    Ok(Performed {
        after: to_json(&found),
        links: links_after(plan, action, Some(&found.id), Some("")),
        created: Some(found.id),
    })
}

/// What turns an existing account into the one a create wanted: the email, display name
/// and attributes it asked for, where the account differs.
fn adopt_changes(found: &User, wanted: &NewUser) -> UserChanges {
    let mut changes = UserChanges::default();
    if let Some(email) = &wanted.email {
        if !norm_eq(Some(email), found.email.as_deref()) {
            changes.email = Some(Some(email.clone()));
        }
    }
    if let Some(name) = &wanted.display_name {
        if Some(name.trim()) != found.display_name.as_deref().map(str::trim) {
            changes.display_name = Some(Some(name.clone()));
        }
    }
    if !wanted.attributes.is_empty() && wanted.attributes != found.attributes {
        changes.attributes = Some(wanted.attributes.clone());
    }
    changes
}

/// A group create said "already exists" (see [`adopt_existing_user`]): the group of that
/// name is adopted, its description set where it differs and the target keeps one.
async fn adopt_existing_group(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    wanted: &NewGroup,
    original: Error,
) -> Result<Performed> {
    let h = ctx.handle;
    let key = norm(&wanted.name);
    let all = h.all_groups().await?;
    let found = match all.into_iter().find(|g| norm(&g.name) == key) {
        Some(found) if !h.protected().group(&found.id) => found,
        _ => return Err(original),
    };
    let description = wanted
        .description
        .as_ref()
        .filter(|d| Some(d.trim()) != found.description.as_deref().map(str::trim));
    let caps = h.capabilities();
    let (group, fingerprint) = match description {
        None => (found, None),
        Some(d) if caps.groups_update && caps.groups_description => {
            let changes = GroupChanges {
                description: Some(Some(d.clone())),
                ..Default::default()
            };
            (h.update_group(&found.id, &changes).await?, None)
        }
        Some(_) => (found, Some("")),
    };
    tracing::info!(target = %plan.target, name = %wanted.name, id = %group.id, "group already existed; adopted it");
    Ok(Performed {
        after: to_json(&group),
        links: links_after(plan, action, Some(&group.id), fingerprint),
        created: Some(group.id),
    })
}

#[cfg(test)]
mod tests {
    //! The answer to an operation is settled the same way whether it went alone or in a
    //! batch.

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use idbridge_core::{
        Adapter, Capabilities, Groups, Memberships, Page, PageRequest, Roles, Sessions, Users,
        async_trait,
    };
    use idbridge_store::{Link, LinkKind, Store, Write};

    use super::*;
    use crate::apply::{ApplyContext, Stop, apply_target};
    use crate::journal::JournalWriter;
    use crate::plan::Reason;

    /// A target that already has `ada` and no longer has `gone`: a create of `ada` says
    /// "already exists" and a delete of `gone` says "not found", alone or in a batch.
    struct Target {
        caps: Capabilities,
    }

    fn ada() -> User {
        User {
            id: "u-ada".into(),
            login: "ada".into(),
            email: None,
            display_name: None,
            enabled: true,
            attributes: BTreeMap::new(),
        }
    }

    #[async_trait]
    impl Users for Target {
        async fn list_users(&self, _page: PageRequest) -> Result<Page<User>> {
            Ok(Page::last(vec![ada()]))
        }
        async fn create_user(&self, user: &NewUser) -> Result<User> {
            Err(Error::already_exists(format!("`{}` exists", user.login)))
        }
        async fn delete_user(&self, id: &str) -> Result<()> {
            Err(Error::not_found(format!("no user `{id}`")))
        }
    }
    #[async_trait]
    impl Groups for Target {}
    #[async_trait]
    impl Memberships for Target {}
    #[async_trait]
    impl Roles for Target {}
    #[async_trait]
    impl Sessions for Target {}
    #[async_trait]
    impl Adapter for Target {
        fn kind(&self) -> &'static str {
            "target"
        }
        fn capabilities(&self) -> Capabilities {
            self.caps
        }
    }

    /// Applies a create of `ada` and a delete of `gone`; returns the report and the state
    /// file (with the directory holding it).
    async fn apply_create_and_delete(
        batch_max: Option<usize>,
    ) -> (crate::TargetReport, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("store");
        let gone = User {
            id: "u-gone".into(),
            login: "gone".into(),
            ..ada()
        };
        store
            .commit(&[Write::UpsertLink(Link {
                target: "t".into(),
                kind: LinkKind::User,
                source_id: "s-gone".into(),
                target_id: gone.id.clone(),
                fingerprint: String::new(),
                updated: chrono::Utc::now(),
            })])
            .expect("link");
        let mut plan = TargetPlan::new("t", "target");
        plan.push(
            Action::CreateUser(crate::plan::CreateUser::new(
                "s-ada",
                &NewUser::new("ada"),
                "fp",
            )),
            Vec::new(),
        );
        plan.push(
            Action::DeleteUser(Box::new(crate::plan::DeleteUser {
                source_id: Some("s-gone".into()),
                id: gone.id.clone(),
                before: gone,
                reason: Reason::Left,
            })),
            Vec::new(),
        );
        let caps = Capabilities {
            users_list: true,
            users_create: true,
            users_update: true,
            users_delete: true,
            users_batch_max: batch_max,
            ..Capabilities::default()
        };
        let handle = AdapterHandle::new("t", Arc::new(Target { caps }));
        let run = store.begin_run("apply").expect("run");
        let journal = JournalWriter::start(store.clone()).expect("journal");
        let stop = Stop::new();
        let ctx = ApplyContext {
            handle: &handle,
            concurrency: 1,
            journal: &journal,
            run,
            stop: &stop,
            events: &crate::events::Emitter::default(),
            adopt_existing_login: true,
        };
        let report = apply_target(&ctx, &plan).await;
        (report, store, dir)
    }

    #[tokio::test]
    async fn an_existing_record_is_adopted_and_a_gone_one_is_deleted_alone_or_in_a_batch() {
        for batch_max in [None, Some(10)] {
            let (report, store, _dir) = apply_create_and_delete(batch_max).await;
            assert_eq!(
                (report.ok, report.failed),
                (2, 0),
                "{batch_max:?}: {report:?}"
            );
            let ada = store
                .link("t", LinkKind::User, "s-ada")
                .expect("read")
                .expect("the existing account is linked");
            assert_eq!(ada.target_id, "u-ada", "{batch_max:?}");
            assert!(
                store
                    .link("t", LinkKind::User, "s-gone")
                    .expect("read")
                    .is_none(),
                "{batch_max:?}: the deleted account's link is dropped"
            );
        }
    }
}
