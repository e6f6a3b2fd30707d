//! Protected accounts: the handle refuses every write to them with `PermissionDenied`.

use idbridge_core::{ErrorKind, GroupChanges, Principal, UserChanges};

use super::{Ctx, Outcome, Verdict, ensure, expect_kind, scenarios};

scenarios! { "protected";
    users_refuse_writes [],
    groups_refuse_writes [],
}

async fn users_refuse_writes(cx: &Ctx) -> Outcome {
    let Some(id) = cx.h.protected().user_ids.iter().next().cloned() else {
        return Ok(Verdict::Ignored(
            "the adapter declares no protected users".to_string(),
        ));
    };
    let changes = UserChanges {
        display_name: Some(Some("must not change".to_string())),
        ..UserChanges::default()
    };
    let before = if cx.caps.users_get {
        Some(cx.h.get_user(&id).await?)
    } else {
        None
    };
    expect_kind(
        cx.h.update_user(&id, &changes).await,
        ErrorKind::PermissionDenied,
        "updating a protected user",
    )?;
    expect_kind(
        cx.h.set_user_enabled(&id, false).await,
        ErrorKind::PermissionDenied,
        "disabling a protected user",
    )?;
    expect_kind(
        cx.h.delete_user(&id).await,
        ErrorKind::PermissionDenied,
        "deleting a protected user",
    )?;
    expect_kind(
        cx.h.remove_member(&cx.missing_id(), &Principal::User(id.clone()))
            .await,
        ErrorKind::PermissionDenied,
        "removing a protected user from a group",
    )?;
    if let Some(before) = before {
        let after = cx.h.get_user(&id).await?;
        ensure!(after == before, "the protected user changed: {after:?}");
    }
    Ok(Verdict::Passed)
}

async fn groups_refuse_writes(cx: &Ctx) -> Outcome {
    let Some(id) = cx.h.protected().group_ids.iter().next().cloned() else {
        return Ok(Verdict::Ignored(
            "the adapter declares no protected groups".to_string(),
        ));
    };
    let changes = GroupChanges {
        description: Some(Some("must not change".to_string())),
        ..GroupChanges::default()
    };
    let before = if cx.caps.groups_get {
        Some(cx.h.get_group(&id).await?)
    } else {
        None
    };
    expect_kind(
        cx.h.update_group(&id, &changes).await,
        ErrorKind::PermissionDenied,
        "updating a protected group",
    )?;
    expect_kind(
        cx.h.delete_group(&id).await,
        ErrorKind::PermissionDenied,
        "deleting a protected group",
    )?;
    if let Some(before) = before {
        let after = cx.h.get_group(&id).await?;
        ensure!(after == before, "the protected group changed: {after:?}");
    }
    Ok(Verdict::Passed)
}
