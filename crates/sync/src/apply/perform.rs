//! Performing one operation: sending it to the target ([`send`], or a batch call) and
//! interpreting the answer ([`settle`]), the one place where "already exists" on a create
//! becomes an adoption of the existing record and "not found" on a delete is done.

use std::collections::HashMap;

use idbridge_core::{
    AdapterExt, AdapterHandle, Error, ErrorKind, Grant, GroupChanges, Groups, Memberships,
    NewGroup, NewUser, Principal, Result, Roles, Sessions, User, UserChanges, Users,
};
use serde_json::Value;

use super::records::{links_after, to_json};
use super::{ApplyContext, Performed};
use crate::plan::{Action, PrincipalKind, PrincipalRef, Ref, TargetPlan};
use crate::util::{norm, norm_eq};

/// What the target answered to a successful write, before [`settle`] interprets it.
pub(super) struct Answer {
    /// The id of the record a create made.
    pub created: Option<String>,
    /// The record after the write, as the journal keeps it.
    pub after: Option<Value>,
}

/// Ids of the records an operation addresses through [`Ref::Created`], resolved.
#[derive(Default)]
pub(super) struct Resolved {
    pub group: Option<String>,
    pub principal: Option<String>,
}

fn resolve_ref(r: &Ref, created: &HashMap<usize, String>) -> Result<String> {
    match r {
        Ref::Id(id) => Ok(id.to_string()),
        Ref::Created(n) => created.get(n).cloned().ok_or_else(|| {
            Error::conflict(format!(
                "operation {n} should have created this record, but reported no id"
            ))
        }),
    }
}

pub(super) fn resolve(
    plan: &TargetPlan,
    i: usize,
    created: &HashMap<usize, String>,
) -> Result<Resolved> {
    match &plan.ops[i].action {
        Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
            Ok(Resolved {
                group: Some(resolve_ref(&group.at, created)?),
                principal: Some(resolve_ref(&member.at, created)?),
            })
        }
        Action::Grant { principal, .. } | Action::Revoke { principal, .. } => Ok(Resolved {
            group: None,
            principal: Some(resolve_ref(&principal.at, created)?),
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
        (Action::CreateUser { user, .. }, Err(e)) if e.kind() == ErrorKind::AlreadyExists => {
            adopt_existing_user(ctx, plan, action, user, e).await
        }
        (Action::CreateGroup { group, .. }, Err(e)) if e.kind() == ErrorKind::AlreadyExists => {
            adopt_existing_group(ctx, plan, action, group, e).await
        }
        (Action::DeleteUser { .. } | Action::DeleteGroup { .. }, Err(e))
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
    let simple = |after: Option<Value>| Answer {
        created: None,
        after,
    };
    match action {
        Action::CreateUser { user, .. } => {
            let u = h.create_user(user).await?;
            Ok(Answer {
                after: to_json(&u),
                created: Some(u.id),
            })
        }
        Action::UpdateUser { id, changes, .. } => {
            let u = h.update_user(id, changes).await?;
            Ok(simple(to_json(&u)))
        }
        Action::EnableUser { id, .. } => {
            let u = h.set_user_enabled(id, true).await?;
            Ok(simple(to_json(&u)))
        }
        Action::DisableUser { id, .. } => {
            let u = h.set_user_enabled(id, false).await?;
            Ok(simple(to_json(&u)))
        }
        Action::DeleteUser { id, .. } => {
            h.delete_user(id).await?;
            Ok(simple(None))
        }
        Action::RevokeSessions { id, .. } => {
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
            Ok(simple(Some(
                serde_json::json!({ "sessions_revoked": revoked }),
            )))
        }
        Action::LinkUser { .. } | Action::LinkGroup { .. } => Ok(simple(None)),
        Action::CreateGroup { group, .. } => {
            let g = h.create_group(group).await?;
            Ok(Answer {
                after: to_json(&g),
                created: Some(g.id),
            })
        }
        Action::UpdateGroup { id, changes, .. } => {
            let g = h.update_group(id, changes).await?;
            Ok(simple(to_json(&g)))
        }
        Action::DeleteGroup { id, .. } => {
            h.delete_group(id).await?;
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
        Action::Grant {
            role,
            principal: p,
            scope,
            ..
        }
        | Action::Revoke {
            role,
            principal: p,
            scope,
            ..
        } => {
            let Some(pid) = resolved.principal else {
                return Err(Error::protocol("grant operation without a principal"));
            };
            let grant = Grant {
                role: role.clone(),
                principal: principal(p, pid),
                scope: scope.clone(),
            };
            if matches!(action, Action::Grant { .. }) {
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
