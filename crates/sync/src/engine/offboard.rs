//! Offboarding a person now: a plan that disables (or, where a target cannot disable,
//! strips) every account found for the person in every target, and the hold that keeps
//! them disabled until it is lifted.

use idbridge_core::{AdapterHandle, Error, Result};
use idbridge_store::{LinkKind, NewHold};

use crate::plan::{Action, DisableUser, Plan, Reason, RevokeSessions, RoleChange, TargetPlan};
use crate::state::read_members;
use crate::util::norm;

use super::{Engine, Target};

impl Engine {
    /// Plans the offboarding of one person: disable the account in every target and
    /// revoke its sessions wherever the target can. The person is found by login or email
    /// (case-insensitive), through the source and the stored links first, then directly in
    /// each target.
    ///
    /// Offboarding is for emergencies, so nothing one system does stops it elsewhere: a
    /// source that cannot be read only loses the stored links as a way to find the
    /// account (the login or email still finds it), and a target that cannot be reached
    /// or read is planned as unavailable while the others are offboarded.
    ///
    /// # Errors
    /// A state file that cannot be read; [`idbridge_core::ErrorKind::NotFound`] when no target that
    /// could be read has such an account.
    pub async fn offboard_plan(&self, who: &str) -> Result<Plan> {
        let key = norm(who);
        let source_user = match find_user(&self.source, &key).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(system = %self.source.name(), error = %e, "cannot read the source; looking for the account by login and email only");
                None
            }
        };
        let mut plan = Plan::new();
        let mut found_any = false;
        for t in &self.targets {
            let mut tp = TargetPlan::new(t.name(), t.handle.kind());
            let users = match t.handle.all_users().await {
                Ok(users) => users,
                Err(e) => {
                    let u = self.unreadable(t, &e);
                    plan.targets
                        .push(TargetPlan::unavailable(&u.name, &u.adapter, u.reason));
                    continue;
                }
            };
            let links = self.store.links(t.name(), LinkKind::User)?;
            let linked_id = source_user.as_ref().and_then(|s| {
                links
                    .iter()
                    .find(|l| l.source_id == s.id)
                    .map(|l| l.target_id.clone())
            });
            let account = users
                .iter()
                .find(|u| Some(&u.id) == linked_id.as_ref())
                .or_else(|| {
                    users.iter().find(|u| {
                        norm(&u.login) == key
                            || u.email.as_deref().map(norm).as_deref() == Some(&key)
                    })
                });
            let Some(account) = account else {
                tp.notes
                    .push(format!("no account for `{who}` in this target"));
                plan.targets.push(tp);
                continue;
            };
            found_any = true;
            let caps = t.handle.capabilities();
            let protected = t.handle.protected().user(&account.id)
                || t.settings.protected.iter().any(|p| {
                    let p = norm(p);
                    p == norm(&account.login)
                        || p == norm(&account.id)
                        || account.email.as_deref().is_some_and(|e| norm(e) == p)
                });
            if protected {
                tp.notes.push(format!(
                    "`{}` is protected in this target and is left alone",
                    account.login
                ));
                plan.targets.push(tp);
                continue;
            }
            tp.managed_users = 1;
            let source_id = source_user.as_ref().map(|s| s.id.clone());
            let mut deps = Vec::new();
            if !caps.users_set_enabled && account.enabled {
                // The nearest thing to disabling: no group, no role, no session.
                deps = strip_account(t, account, &mut tp).await?;
                let sessions =
                    if caps.sessions_revoke_user || (caps.sessions_list && caps.sessions_revoke) {
                        "sessions revoked"
                    } else {
                        "sessions cannot be revoked here"
                    };
                tp.can_sign_in.push(crate::plan::CanSignIn {
                    id: account.id.clone(),
                    login: account.login.clone(),
                    reason: Reason::Offboard,
                    why: format!(
                        "cannot disable on this platform: memberships and roles removed, {sessions}; \
                         the account can still sign in"
                    ),
                    stripped_now: !deps.is_empty(),
                });
            }
            if account.enabled && caps.users_set_enabled {
                deps.push(tp.push(
                    Action::DisableUser(Box::new(DisableUser {
                        source_id: source_id.clone(),
                        id: account.id.clone(),
                        before: account.clone(),
                        reason: Reason::Offboard,
                        fingerprint: None,
                    })),
                    vec![],
                ));
            }
            if caps.sessions_revoke_user || (caps.sessions_list && caps.sessions_revoke) {
                tp.push(
                    Action::RevokeSessions(Box::new(RevokeSessions {
                        id: account.id.clone(),
                        login: account.login.clone(),
                        sessions: Vec::new(),
                    })),
                    deps,
                );
            } else {
                tp.notes.push(
                    "the target cannot revoke sessions; disabling the account is what cuts access there"
                        .to_string(),
                );
            }
            if source_user.as_ref().is_some_and(|s| s.enabled) {
                tp.notes.push(format!(
                    "`{who}` is still enabled in the source: a hold keeps the account disabled \
                     through every sync until `idbridge offboard --lift {who}`"
                ));
            }
            plan.targets.push(tp);
        }
        for u in self.unavailable() {
            plan.targets
                .push(TargetPlan::unavailable(&u.name, &u.adapter, u.reason));
        }
        if !found_any {
            let down: Vec<String> = plan
                .unavailable()
                .map(|t| {
                    format!(
                        "`{}` ({})",
                        t.target,
                        t.unavailable.as_deref().unwrap_or_default()
                    )
                })
                .collect();
            let also = if down.is_empty() {
                String::new()
            } else {
                format!("; these targets could not be searched: {}", down.join(", "))
            };
            return Err(Error::not_found(format!(
                "no target has an account for `{who}` (looked for the login or email, case-insensitively){also}"
            )));
        }
        Ok(plan)
    }
}

/// Plans the removal of every group membership and role grant of `account` in target
/// `t` (a target that cannot disable it), and returns the operations.
async fn strip_account(
    t: &Target,
    account: &idbridge_core::User,
    tp: &mut TargetPlan,
) -> Result<Vec<usize>> {
    use crate::plan::{GroupRef, PrincipalKind, PrincipalRef, Ref};
    use idbridge_core::{GrantFilter, Principal, Scope};
    use std::sync::Arc;
    let caps = t.handle.capabilities();
    let me = Principal::User(account.id.clone());
    let user_ref = PrincipalRef {
        kind: PrincipalKind::User,
        at: Ref::Id(account.id.as_str().into()),
        name: account.login.as_str().into(),
    };
    let mut ops = Vec::new();
    if caps.groups_list && caps.members_list && caps.members_remove {
        let groups = t.handle.all_groups().await?;
        let ids = groups.iter().map(|g| g.id.clone()).collect();
        let members = read_members(&t.handle, ids, t.settings.concurrency).await?;
        for g in &groups {
            let protected = t.handle.protected().group(&g.id)
                || t.settings
                    .protected
                    .iter()
                    .any(|p| norm(p) == norm(&g.name));
            if protected || !members.get(&g.id).is_some_and(|m| m.contains(&me)) {
                continue;
            }
            ops.push(tp.push(
                Action::RemoveMember {
                    group: Arc::new(GroupRef {
                        at: Ref::Id(g.id.as_str().into()),
                        name: g.name.as_str().into(),
                    }),
                    member: Arc::new(user_ref.clone()),
                },
                vec![],
            ));
        }
    } else {
        tp.notes.push(format!(
            "the target cannot list or remove group members; `{}` keeps its memberships",
            account.login
        ));
    }
    if caps.roles_list && caps.grants_list && caps.grants_revoke {
        let filter = GrantFilter {
            principal: Some(me.clone()),
            ..Default::default()
        };
        let (roles, grants) =
            futures::try_join!(t.handle.all_roles(), t.handle.all_grants(&filter))?;
        let name_of = |id: &str| {
            roles
                .iter()
                .find(|r| r.id == id)
                .map_or_else(|| id.to_string(), |r| r.name.clone())
        };
        let floor = caps.grants_global_floor;
        let mut floored = false;
        for g in grants.iter().filter(|g| g.principal == me) {
            let action = match floor {
                // One global role is always held: the least replaces the others.
                Some(f) if g.scope.is_global() => {
                    if g.role == f || floored || !caps.grants_grant {
                        continue;
                    }
                    floored = true;
                    Action::Grant(Box::new(RoleChange {
                        role: f.to_string(),
                        role_name: name_of(f),
                        principal: user_ref.clone(),
                        scope: Scope::Global,
                    }))
                }
                _ => Action::Revoke(Box::new(RoleChange {
                    role: g.role.clone(),
                    role_name: name_of(&g.role),
                    principal: user_ref.clone(),
                    scope: g.scope.clone(),
                })),
            };
            ops.push(tp.push(action, vec![]));
        }
    } else {
        tp.notes.push(format!(
            "the target cannot list or revoke role grants; `{}` keeps its roles",
            account.login
        ));
    }
    Ok(ops)
}

impl Engine {
    /// The hold an offboarding of `who` records: the person's source id and source login
    /// and email when the source has them, and the login and email of every account the
    /// offboarding plan addresses. `reason` says why (the command, and any reason given);
    /// the hold is placed by the operating-system user.
    ///
    /// # Errors
    /// A source that cannot be read.
    pub async fn offboard_hold(&self, who: &str, plan: &Plan, reason: &str) -> Result<NewHold> {
        // A source that cannot be read now must not stop the hold: the accounts the plan
        // addresses still name the person.
        let source_user = match find_user(&self.source, &norm(who)).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the source; the hold names the accounts found in the targets");
                None
            }
        };
        let mut keys = vec![who.to_string()];
        if let Some(s) = &source_user {
            keys.push(s.login.clone());
            keys.extend(s.email.clone());
        }
        for op in plan.targets.iter().flat_map(|t| &t.ops) {
            match &op.action {
                Action::DisableUser(d) => {
                    keys.push(d.before.login.clone());
                    keys.extend(d.before.email.clone());
                }
                Action::RevokeSessions(r) => keys.push(r.login.clone()),
                _ => {}
            }
        }
        for t in &plan.targets {
            keys.extend(t.can_sign_in.iter().map(|c| c.login.clone()));
        }
        Ok(NewHold {
            person: who.trim().to_string(),
            source_id: source_user.map(|s| s.id),
            keys,
            by: idbridge_store::os_user(),
            reason: reason.to_string(),
        })
    }
}

async fn find_user(h: &AdapterHandle, key: &str) -> Result<Option<idbridge_core::User>> {
    let users = h.all_users().await?;
    Ok(users
        .into_iter()
        .find(|u| norm(&u.login) == key || u.email.as_deref().map(norm).as_deref() == Some(key)))
}
