//! Capability scenarios: everything undeclared is refused with `Unsupported` through the
//! handle and not implemented by the adapter itself, and everything declared is implemented.

use idbridge_core::{
    ErrorKind, Grant, GrantFilter, GroupChanges, GroupWrite, NewGroup, Operation, PageRequest,
    Principal, Result, Scope, UserChanges, UserWrite,
};

use super::{Ctx, Fail, Outcome, Verdict, ensure, scenarios};

scenarios! { "capabilities";
    check_passes [],
    undeclared_are_unsupported [],
    undeclared_qualifiers_are_unsupported [],
    undeclared_are_not_implemented [],
    declared_are_implemented [],
}

/// Calls `op` on `target` (the handle, or the adapter behind it) with harmless arguments
/// (missing ids), keeping only the error. Creates are only called when `allow_create` is
/// set, because an adapter that implements them would really create a record. A macro, as
/// the handle's inherent methods and the adapter's trait methods share names, not a trait.
macro_rules! call {
    ($cx:expr, $target:expr, $op:expr, $allow_create:expr) => {{
        let cx: &Ctx = $cx;
        let target = $target;
        let missing = cx.missing_id();
        let user = Principal::User(missing.clone());
        let grant = Grant {
            role: missing.clone(),
            principal: user.clone(),
            scope: Scope::Global,
        };
        let first = PageRequest::first();
        let result: Option<Result<()>> = match $op {
            Operation::UsersList => Some(target.list_users(first).await.map(drop)),
            Operation::UsersGet => Some(target.get_user(&missing).await.map(drop)),
            Operation::UsersCreate if $allow_create => Some(
                target
                    .create_user(&cx.user_spec())
                    .await
                    .map(|u| cx.remember_user(&u.id)),
            ),
            Operation::UsersUpdate => Some(
                target
                    .update_user(&missing, &UserChanges::default())
                    .await
                    .map(drop),
            ),
            Operation::UsersSetEnabled => {
                Some(target.set_user_enabled(&missing, false).await.map(drop))
            }
            Operation::UsersDelete => Some(target.delete_user(&missing).await),
            Operation::UsersActivity => Some(target.user_activity(&missing).await.map(drop)),
            Operation::GroupsList => Some(target.list_groups(first).await.map(drop)),
            Operation::GroupsGet => Some(target.get_group(&missing).await.map(drop)),
            Operation::GroupsCreate if $allow_create => Some(
                target
                    .create_group(&NewGroup {
                        name: cx.unique("g"),
                        description: None,
                    })
                    .await
                    .map(|g| cx.remember_group(&g.id)),
            ),
            Operation::UsersCreate | Operation::GroupsCreate => None,
            Operation::GroupsUpdate => Some(
                target
                    .update_group(&missing, &GroupChanges::default())
                    .await
                    .map(drop),
            ),
            Operation::GroupsDelete => Some(target.delete_group(&missing).await),
            Operation::MembersList => Some(target.list_members(&missing, first).await.map(drop)),
            Operation::MembersAdd => Some(target.add_member(&missing, &user).await),
            Operation::MembersRemove => Some(target.remove_member(&missing, &user).await),
            Operation::MembersListAll => Some(target.list_all_members().await.map(drop)),
            Operation::MembersByPosition => Some(match target.listing_version().await {
                Ok(v) => target.members_by_position(&missing, v).await.map(drop),
                Err(e) => Err(e),
            }),
            Operation::RolesList => Some(target.list_roles(first).await.map(drop)),
            Operation::GrantsList => Some(
                target
                    .list_grants(&GrantFilter::default(), first)
                    .await
                    .map(drop),
            ),
            Operation::GrantsGrant => Some(target.grant(&grant).await),
            Operation::GrantsRevoke => Some(target.revoke(&grant).await),
            Operation::SessionsList => Some(target.list_sessions(None, first).await.map(drop)),
            Operation::SessionsRevoke => Some(target.revoke_session(&missing).await),
            Operation::SessionsRevokeUser => {
                Some(target.revoke_user_sessions(&missing).await.map(drop))
            }
        };
        result
    }};
}

fn expect_unsupported(result: Result<()>, what: &str) -> std::result::Result<(), Fail> {
    match result {
        Err(e) if e.kind() == ErrorKind::Unsupported => Ok(()),
        Err(e) => Err(Fail(format!(
            "{what}: expected unsupported, got {}: {e}",
            e.kind()
        ))),
        Ok(()) => Err(Fail(format!("{what}: expected unsupported, got Ok"))),
    }
}

async fn check_passes(cx: &Ctx) -> Outcome {
    cx.h.check().await?;
    Ok(Verdict::Passed)
}

/// Through the handle every undeclared operation, single or in a batch, is refused.
async fn undeclared_are_unsupported(cx: &Ctx) -> Outcome {
    let undeclared = cx.caps.unsupported();
    if undeclared.is_empty() {
        return Ok(Verdict::Ignored(
            "the adapter declares every operation".to_string(),
        ));
    }
    for op in &undeclared {
        // The handle refuses before the adapter runs, so creates are harmless here.
        if let Some(result) = call!(cx, &cx.h, *op, true) {
            expect_unsupported(result, &format!("{op} through the handle"))?;
        }
        let write = match op {
            Operation::UsersCreate => Some(UserWrite::Create {
                user: cx.user_spec(),
            }),
            Operation::UsersUpdate => Some(UserWrite::Update {
                id: cx.missing_id(),
                changes: UserChanges::default(),
            }),
            Operation::UsersSetEnabled => Some(UserWrite::SetEnabled {
                id: cx.missing_id(),
                enabled: false,
            }),
            Operation::UsersDelete => Some(UserWrite::Delete {
                id: cx.missing_id(),
            }),
            _ => None,
        };
        if let Some(write) = write {
            let mut results = cx.h.write_users(vec![write]).await;
            ensure!(
                results.len() == 1,
                "one batch write gave {} results",
                results.len()
            );
            let result = results.remove(0).map(drop);
            expect_unsupported(result, &format!("{op} in a batch"))?;
        }
        let group_write = match op {
            Operation::GroupsCreate => Some(GroupWrite::Create {
                group: cx.group_spec(),
            }),
            Operation::GroupsUpdate => Some(GroupWrite::Update {
                id: cx.missing_id(),
                changes: GroupChanges::default(),
            }),
            Operation::GroupsDelete => Some(GroupWrite::Delete {
                id: cx.missing_id(),
            }),
            _ => None,
        };
        if let Some(write) = group_write {
            let mut results = cx.h.write_groups(vec![write]).await;
            ensure!(
                results.len() == 1,
                "one batch group write gave {} results",
                results.len()
            );
            let result = results.remove(0).map(drop);
            expect_unsupported(result, &format!("{op} in a batch"))?;
        }
    }
    Ok(Verdict::Passed)
}

/// Undeclared qualifiers (nested members, grant scopes, grants to groups) are refused.
async fn undeclared_qualifiers_are_unsupported(cx: &Ctx) -> Outcome {
    let c = cx.caps;
    let missing = cx.missing_id();
    let mut checked = 0;
    if c.members_add && !c.members_nested {
        let r =
            cx.h.add_member(&missing, &Principal::Group(cx.missing_id()))
                .await;
        expect_unsupported(r, "adding a group to a group without members_nested")?;
        checked += 1;
    }
    let grant_ops = c.grants_grant || c.grants_revoke;
    let shapes = [
        (
            !c.grants_global,
            Principal::User(missing.clone()),
            Scope::Global,
            "a global grant without grants_global",
        ),
        (
            !c.grants_project,
            Principal::User(missing.clone()),
            Scope::Project(cx.unique("p")),
            "a project grant without grants_project",
        ),
        (
            !c.grants_to_groups,
            Principal::Group(missing.clone()),
            if c.grants_global {
                Scope::Global
            } else {
                Scope::Project(cx.unique("p"))
            },
            "a grant to a group without grants_to_groups",
        ),
        (
            c.grants_global && c.grants_to_groups && !c.grants_global_to_groups,
            Principal::Group(missing.clone()),
            Scope::Global,
            "a global grant to a group without grants_global_to_groups",
        ),
    ];
    for (applies, principal, scope, what) in shapes {
        if !(applies && grant_ops) {
            continue;
        }
        let grant = Grant {
            role: missing.clone(),
            principal,
            scope,
        };
        if c.grants_grant {
            expect_unsupported(cx.h.grant(&grant).await, what)?;
        }
        if c.grants_revoke {
            expect_unsupported(cx.h.revoke(&grant).await, what)?;
        }
        checked += 1;
    }
    if checked == 0 {
        return Ok(Verdict::Ignored(
            "the adapter declares every qualifier of the operations it offers".to_string(),
        ));
    }
    Ok(Verdict::Passed)
}

/// The adapter itself (bypassing the handle) answers `Unimplemented` (the trait default) or
/// `Unsupported` for what it does not declare: an implementation whose flag was forgotten is unreachable and is reported here.
/// Creates are left out, since a forgotten flag there would really create a record.
async fn undeclared_are_not_implemented(cx: &Ctx) -> Outcome {
    let undeclared = cx.caps.unsupported();
    if undeclared.is_empty() {
        return Ok(Verdict::Ignored(
            "the adapter declares every operation".to_string(),
        ));
    }
    let inner = cx.h.inner().clone();
    for op in undeclared {
        if let Some(result) = call!(cx, inner.as_ref(), op, false) {
            match result {
                Err(e) if matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::Unimplemented) => {
                }
                Err(e) => {
                    return Err(Fail(format!(
                        "{op} called on the adapter directly (implemented but not declared?): expected unimplemented or unsupported, got {}: {e}",
                        e.kind()
                    )));
                }
                Ok(()) => {
                    return Err(Fail(format!(
                        "{op} called on the adapter directly (implemented but not declared?): expected unimplemented or unsupported, got Ok"
                    )));
                }
            }
        }
    }
    Ok(Verdict::Passed)
}

/// Every declared operation is implemented: called through the handle with harmless
/// arguments, none answers with the trait's default body (`Unimplemented`). Other errors
/// (a missing id) are fine here; the other scenarios check them.
async fn declared_are_implemented(cx: &Ctx) -> Outcome {
    let mut missing = Vec::new();
    for op in cx.caps.supported() {
        if let Some(Err(e)) = call!(cx, &cx.h, op, true) {
            if e.kind() == ErrorKind::Unimplemented {
                missing.push(format!("{op} ({e})"));
            }
        }
    }
    if !missing.is_empty() {
        return Err(Fail(format!(
            "declared but unimplemented: {}",
            missing.join("; ")
        )));
    }
    Ok(Verdict::Passed)
}
