//! Role and grant scenarios. The suite cannot invent vendor roles, so grants use roles the
//! adapter lists (one whose scope fits) held by principals the scenario creates.

use std::collections::HashSet;

use idbridge_core::{Grant, GrantFilter, Principal, Role, Scope};

use super::{Ctx, Fail, Outcome, Verdict, ensure, scenarios};

scenarios! { "grants";
    roles_list ["roles_list"],
    list_and_filter ["grants_list"],
    grant_to_user_global ["users_create", "roles_list", "grants_grant", "grants_revoke", "grants_list", "grants_global"],
    grant_to_user_project ["users_create", "roles_list", "grants_grant", "grants_revoke", "grants_list", "grants_project"],
    grant_to_group_global ["groups_create", "roles_list", "grants_grant", "grants_revoke", "grants_list", "grants_global", "grants_to_groups", "grants_global_to_groups"],
    grant_to_group_project ["groups_create", "roles_list", "grants_grant", "grants_revoke", "grants_list", "grants_project", "grants_to_groups"],
    grant_is_idempotent ["users_create", "roles_list", "grants_grant", "grants_list"],
    revoke_is_idempotent ["users_create", "roles_list", "grants_revoke"],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Global,
    Project,
}

/// A listed role and a scope to grant it in, or the reason there is none.
async fn pick(cx: &Ctx, want: Want) -> Result<Result<(Role, Scope), String>, Fail> {
    let mut roles = cx.h.all_roles().await?;
    // Prefer the least powerful-looking roles when a platform offers a choice.
    roles.sort_by_key(|r| {
        let n = r.name.to_lowercase();
        n.contains("admin") || n.contains("owner")
    });
    match want {
        Want::Global => Ok(roles
            .into_iter()
            .find(|r| r.scope.is_global())
            .map(|r| (r, Scope::Global))
            .ok_or_else(|| "the adapter lists no global role to grant".to_string())),
        Want::Project => {
            if let Some(r) = roles.iter().find(|r| !r.scope.is_global()) {
                let scope = r.scope.clone();
                return Ok(Ok((r.clone(), scope)));
            }
            let Some(global) = roles.into_iter().find(|r| r.scope.is_global()) else {
                return Ok(Err(
                    "the adapter lists no role to grant in a project".to_string()
                ));
            };
            let mut project = cx.fixture.grant_project();
            if project.is_none() && cx.caps.grants_list {
                project =
                    cx.h.all_grants(&GrantFilter::default())
                        .await?
                        .into_iter()
                        .find_map(|g| match g.scope {
                            Scope::Project(p) => Some(p),
                            Scope::Global => None,
                        });
            }
            Ok(project.map(|p| (global, Scope::Project(p))).ok_or_else(|| {
                "no project-scoped role is listed and the fixture names no project".to_string()
            }))
        }
    }
}

/// The first scope the adapter grants in.
fn any_scope(cx: &Ctx) -> Want {
    if cx.caps.grants_global {
        Want::Global
    } else {
        Want::Project
    }
}

async fn held_by(cx: &Ctx, principal: &Principal) -> Result<Vec<Grant>, Fail> {
    let filter = GrantFilter {
        principal: Some(principal.clone()),
        ..GrantFilter::default()
    };
    Ok(cx.h.all_grants(&filter).await?)
}

async fn roles_list(cx: &Ctx) -> Outcome {
    let roles = cx.h.all_roles().await?;
    let mut ids = HashSet::new();
    for r in &roles {
        ensure!(!r.id.is_empty(), "a role has an empty id: {r:?}");
        ensure!(!r.name.is_empty(), "role {} has an empty name", r.id);
        ensure!(ids.insert(r.id.clone()), "role {} listed twice", r.id);
    }
    Ok(Verdict::Passed)
}

async fn list_and_filter(cx: &Ctx) -> Outcome {
    let all = cx.h.all_grants(&GrantFilter::default()).await?;
    let Some(sample) = all.first() else {
        return Ok(Verdict::Passed);
    };
    let filter = GrantFilter {
        role: Some(sample.role.clone()),
        ..GrantFilter::default()
    };
    let filtered = cx.h.all_grants(&filter).await?;
    ensure!(
        filtered.iter().all(|g| g.role == sample.role),
        "filtering by role {} returned other roles",
        sample.role
    );
    ensure!(
        filtered.contains(sample),
        "filtering by role {} lost the grant {sample:?}",
        sample.role
    );
    Ok(Verdict::Passed)
}

async fn lifecycle(cx: &Ctx, principal: Principal, want: Want) -> Outcome {
    let (role, scope) = match pick(cx, want).await? {
        Ok(found) => found,
        Err(reason) => return Ok(Verdict::Ignored(reason)),
    };
    let grant = Grant {
        role: role.id.clone(),
        principal: principal.clone(),
        scope,
    };
    cx.h.grant(&grant).await?;
    let held = held_by(cx, &principal).await?;
    ensure!(
        held.contains(&grant),
        "granted {grant:?} but {principal} holds {held:?}"
    );
    cx.h.revoke(&grant).await?;
    let held = held_by(cx, &principal).await?;
    ensure!(
        !held.contains(&grant),
        "revoked {grant:?} but it is still listed"
    );
    Ok(Verdict::Passed)
}

async fn grant_to_user_global(cx: &Ctx) -> Outcome {
    let user = cx.new_user().await?;
    lifecycle(cx, Principal::User(user.id), Want::Global).await
}

async fn grant_to_user_project(cx: &Ctx) -> Outcome {
    let user = cx.new_user().await?;
    lifecycle(cx, Principal::User(user.id), Want::Project).await
}

async fn grant_to_group_global(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    lifecycle(cx, Principal::Group(group.id), Want::Global).await
}

async fn grant_to_group_project(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    lifecycle(cx, Principal::Group(group.id), Want::Project).await
}

/// A grant of a role the platform offers, in any scope it grants in, to a new user; or
/// why there is none.
async fn grant_to_new_user(cx: &Ctx) -> Result<Result<Grant, String>, Fail> {
    let user = cx.new_user().await?;
    Ok(pick(cx, any_scope(cx)).await?.map(|(role, scope)| Grant {
        role: role.id,
        principal: Principal::User(user.id),
        scope,
    }))
}

async fn grant_is_idempotent(cx: &Ctx) -> Outcome {
    let grant = match grant_to_new_user(cx).await? {
        Ok(grant) => grant,
        Err(reason) => return Ok(Verdict::Ignored(reason)),
    };
    let principal = grant.principal.clone();
    cx.h.grant(&grant).await?;
    cx.h.grant(&grant).await?;
    let held = held_by(cx, &principal).await?;
    let n = held.iter().filter(|g| **g == grant).count();
    ensure!(n == 1, "after granting twice the grant is listed {n} times");
    Ok(Verdict::Passed)
}

async fn revoke_is_idempotent(cx: &Ctx) -> Outcome {
    let grant = match grant_to_new_user(cx).await? {
        Ok(grant) => grant,
        Err(reason) => return Ok(Verdict::Ignored(reason)),
    };
    let principal = grant.principal.clone();
    // Never held: revoking succeeds and changes nothing.
    cx.h.revoke(&grant).await?;
    if cx.caps.grants_grant {
        cx.h.grant(&grant).await?;
        cx.h.revoke(&grant).await?;
        cx.h.revoke(&grant).await?;
    }
    if cx.caps.grants_list {
        ensure!(
            !held_by(cx, &principal).await?.contains(&grant),
            "grant listed after revoking it"
        );
    }
    Ok(Verdict::Passed)
}
