//! Membership scenarios: list, add and remove (idempotent), nested groups, pagination.

use std::collections::HashSet;

use idbridge_core::{ErrorKind, PageRequest, Principal};

use super::paging::check_paged_listing;
use super::{Ctx, Outcome, Verdict, ensure, expect_kind, scenarios};

scenarios! { "members";
    add_then_list ["users_create", "groups_create", "members_add", "members_list"],
    add_is_idempotent ["users_create", "groups_create", "members_add", "members_list"],
    remove_then_list ["users_create", "groups_create", "members_add", "members_remove", "members_list"],
    remove_is_idempotent ["users_create", "groups_create", "members_remove"],
    nested_group_add_list_remove ["groups_create", "members_add", "members_remove", "members_list", "members_nested"],
    list_missing_group_not_found ["members_list"],
    pagination_three_pages ["users_create", "groups_create", "members_add", "members_list"],
}

async fn members(cx: &Ctx, group: &str) -> Result<Vec<Principal>, super::Fail> {
    Ok(cx.h.all_members(group).await?)
}

async fn add_then_list(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let a = cx.new_user().await?;
    let b = cx.new_user().await?;
    let outsider = cx.new_user().await?;
    for u in [&a, &b] {
        cx.h.add_member(&group.id, &Principal::User(u.id.clone()))
            .await?;
    }
    let listed = members(cx, &group.id).await?;
    for u in [&a, &b] {
        ensure!(
            listed.contains(&Principal::User(u.id.clone())),
            "user {} missing from the members of {}: {listed:?}",
            u.id,
            group.id
        );
    }
    ensure!(
        !listed.contains(&Principal::User(outsider.id.clone())),
        "a user never added is listed as a member"
    );
    Ok(Verdict::Passed)
}

async fn add_is_idempotent(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let user = cx.new_user().await?;
    let member = Principal::User(user.id.clone());
    cx.h.add_member(&group.id, &member).await?;
    cx.h.add_member(&group.id, &member).await?;
    let listed = members(cx, &group.id).await?;
    let n = listed.iter().filter(|m| **m == member).count();
    ensure!(n == 1, "after adding twice the user is listed {n} times");
    Ok(Verdict::Passed)
}

async fn remove_then_list(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let stay = cx.new_user().await?;
    let leave = cx.new_user().await?;
    let stay_p = Principal::User(stay.id.clone());
    let leave_p = Principal::User(leave.id.clone());
    cx.h.add_member(&group.id, &stay_p).await?;
    cx.h.add_member(&group.id, &leave_p).await?;
    cx.h.remove_member(&group.id, &leave_p).await?;
    let listed = members(cx, &group.id).await?;
    ensure!(!listed.contains(&leave_p), "removed member still listed");
    ensure!(
        listed.contains(&stay_p),
        "removing one member removed another"
    );
    Ok(Verdict::Passed)
}

async fn remove_is_idempotent(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let user = cx.new_user().await?;
    let member = Principal::User(user.id.clone());
    cx.h.remove_member(&group.id, &member).await?;
    if cx.caps.members_add {
        cx.h.add_member(&group.id, &member).await?;
        cx.h.remove_member(&group.id, &member).await?;
        cx.h.remove_member(&group.id, &member).await?;
    }
    if cx.caps.members_list {
        ensure!(
            !members(cx, &group.id).await?.contains(&member),
            "member listed after removal"
        );
    }
    Ok(Verdict::Passed)
}

async fn nested_group_add_list_remove(cx: &Ctx) -> Outcome {
    let parent = cx.new_group().await?;
    let child = cx.new_group().await?;
    let child_p = Principal::Group(child.id.clone());
    cx.h.add_member(&parent.id, &child_p).await?;
    cx.h.add_member(&parent.id, &child_p).await?;
    let listed = members(cx, &parent.id).await?;
    let n = listed.iter().filter(|m| **m == child_p).count();
    ensure!(
        n == 1,
        "nested group listed {n} times after adding twice: {listed:?}"
    );
    ensure!(
        !members(cx, &child.id)
            .await?
            .contains(&Principal::Group(parent.id.clone())),
        "nesting was recorded the wrong way round"
    );
    cx.h.remove_member(&parent.id, &child_p).await?;
    cx.h.remove_member(&parent.id, &child_p).await?;
    ensure!(
        !members(cx, &parent.id).await?.contains(&child_p),
        "nested group still listed after removal"
    );
    Ok(Verdict::Passed)
}

async fn list_missing_group_not_found(cx: &Ctx) -> Outcome {
    expect_kind(
        cx.h.list_members(&cx.missing_id(), PageRequest::first())
            .await,
        ErrorKind::NotFound,
        "listing the members of a missing group",
    )?;
    Ok(Verdict::Passed)
}

async fn pagination_three_pages(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let mut created = HashSet::new();
    for _ in 0..7 {
        let user = cx.new_user().await?;
        cx.h.add_member(&group.id, &Principal::User(user.id.clone()))
            .await?;
        created.insert(user.id);
    }
    let group_id = group.id.as_str();
    check_paged_listing(
        &created,
        |req| cx.h.list_members(group_id, req),
        |p: &Principal| p.id().to_string(),
    )
    .await
}
