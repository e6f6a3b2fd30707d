//! Scenarios of the all-memberships read (`members_list_all`): it agrees with the listing
//! of each group, lists every membership once, and follows adds and removes.

use std::collections::{BTreeMap, BTreeSet};

use idbridge_core::{Membership, Principal};

use super::{Ctx, Fail, Outcome, Verdict, ensure, scenarios};

scenarios! { "members";
    list_all_agrees_with_list_members ["users_create", "groups_create", "members_add", "members_list", "members_list_all"],
    list_all_follows_add_and_remove ["users_create", "groups_create", "members_add", "members_remove", "members_list_all"],
}

/// The all-memberships read, grouped by group, checking that no membership is listed twice.
async fn all_by_group(cx: &Ctx) -> Result<BTreeMap<String, BTreeSet<Principal>>, Fail> {
    let all: Vec<Membership> = cx.h.list_all_members().await?;
    let mut out: BTreeMap<String, BTreeSet<Principal>> = BTreeMap::new();
    for m in all {
        let listed_twice = !out
            .entry(m.group.clone())
            .or_default()
            .insert(m.member.clone());
        ensure!(
            !listed_twice,
            "list_all_members lists {} in group {} twice",
            m.member,
            m.group
        );
    }
    Ok(out)
}

async fn list_all_agrees_with_list_members(cx: &Ctx) -> Outcome {
    let one = cx.new_group().await?;
    let two = cx.new_group().await?;
    let empty = cx.new_group().await?;
    let a = cx.new_user().await?;
    let b = cx.new_user().await?;
    let outsider = cx.new_user().await?;
    let pa = Principal::User(a.id.clone());
    let pb = Principal::User(b.id.clone());
    cx.h.add_member(&one.id, &pa).await?;
    cx.h.add_member(&one.id, &pb).await?;
    cx.h.add_member(&two.id, &pb).await?;
    let mut nested = None;
    if cx.caps.members_nested {
        let child = Principal::Group(empty.id.clone());
        cx.h.add_member(&two.id, &child).await?;
        nested = Some(child);
    }
    let all = all_by_group(cx).await?;
    for g in [&one, &two, &empty] {
        let per_group: BTreeSet<Principal> = cx.h.all_members(&g.id).await?.into_iter().collect();
        let from_all = all.get(&g.id).cloned().unwrap_or_default();
        ensure!(
            per_group == from_all,
            "group {}: list_members gives {per_group:?}, list_all_members gives {from_all:?}",
            g.id
        );
    }
    let listed = |g: &str, p: &Principal| all.get(g).is_some_and(|s| s.contains(p));
    ensure!(listed(&one.id, &pa), "{pa} missing from group {}", one.id);
    ensure!(listed(&one.id, &pb), "{pb} missing from group {}", one.id);
    ensure!(listed(&two.id, &pb), "{pb} missing from group {}", two.id);
    ensure!(
        !listed(&two.id, &pa),
        "{pa} listed in group {} it never joined",
        two.id
    );
    if let Some(child) = &nested {
        ensure!(
            listed(&two.id, child),
            "nested group {child} missing from {}",
            two.id
        );
    }
    let outsider_p = Principal::User(outsider.id.clone());
    ensure!(
        !all.values().any(|s| s.contains(&outsider_p)),
        "a user never added to a group is listed as a member"
    );
    Ok(Verdict::Passed)
}

async fn list_all_follows_add_and_remove(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let stay = cx.new_user().await?;
    let leave = cx.new_user().await?;
    let stay_p = Principal::User(stay.id.clone());
    let leave_p = Principal::User(leave.id.clone());
    let before = all_by_group(cx).await?;
    ensure!(
        before.get(&group.id).is_none_or(BTreeSet::is_empty),
        "a new group already has members: {:?}",
        before.get(&group.id)
    );
    cx.h.add_member(&group.id, &stay_p).await?;
    cx.h.add_member(&group.id, &leave_p).await?;
    cx.h.remove_member(&group.id, &leave_p).await?;
    let after = all_by_group(cx).await?;
    let members = after.get(&group.id).cloned().unwrap_or_default();
    ensure!(
        members == BTreeSet::from([stay_p.clone()]),
        "after adding {stay_p} and {leave_p} and removing {leave_p}, list_all_members gives {members:?}"
    );
    Ok(Verdict::Passed)
}
