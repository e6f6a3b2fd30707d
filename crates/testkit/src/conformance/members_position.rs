//! Scenarios of members by position (`members_by_position`): the positions name the users
//! `list_members` names, in the user listing of the version they were read under, and a
//! write makes a new version, so that no position is ever read against another listing.

use std::collections::BTreeSet;

use idbridge_core::{ErrorKind, Principal};

use super::{Ctx, Fail, Outcome, Verdict, ensure, expect_kind, scenarios};

scenarios! { "members";
    positions_agree_with_list_members ["users_create", "users_list", "groups_create", "members_add", "members_list", "members_by_position"],
    positions_follow_writes ["users_create", "users_list", "groups_create", "members_add", "members_by_position"],
}

/// The version the user listing was read under, and the listing's ids in order: the same
/// version before its first page and after its last, as nothing was written meanwhile.
async fn listing(cx: &Ctx) -> Result<(u64, Vec<String>), Fail> {
    let before = cx.h.listing_version().await?;
    let ids = cx.h.all_users().await?.into_iter().map(|u| u.id).collect();
    let after = cx.h.listing_version().await?;
    ensure!(
        before == after,
        "the listing version moved from {before} to {after} while users were listed, with nothing written"
    );
    Ok((before, ids))
}

/// The members of `group` under `version`, the positions turned into principals of `ids`,
/// checking that none is given twice or past the end.
async fn members_at(
    cx: &Ctx,
    group: &str,
    version: u64,
    ids: &[String],
) -> Result<Option<BTreeSet<Principal>>, Fail> {
    let Some(read) = cx.h.members_by_position(group, version).await? else {
        return Ok(None);
    };
    let mut out = BTreeSet::new();
    for p in read.users {
        let id = ids.get(p as usize).ok_or_else(|| {
            Fail(format!(
                "group {group}: position {p} past the {} users listed",
                ids.len()
            ))
        })?;
        ensure!(
            out.insert(Principal::User(id.clone())),
            "group {group}: user {id} given twice"
        );
    }
    for o in read.others {
        ensure!(
            !matches!(o, Principal::User(_)),
            "group {group}: user {o} given by reference, not by position"
        );
        ensure!(
            out.insert(o.clone()),
            "group {group}: member {o} given twice"
        );
    }
    Ok(Some(out))
}

async fn positions_agree_with_list_members(cx: &Ctx) -> Outcome {
    let one = cx.new_group().await?;
    let empty = cx.new_group().await?;
    let a = cx.new_user().await?;
    let _outsider = cx.new_user().await?;
    let b = cx.new_user().await?;
    cx.h.add_member(&one.id, &Principal::User(b.id.clone()))
        .await?;
    cx.h.add_member(&one.id, &Principal::User(a.id.clone()))
        .await?;
    if cx.caps.members_nested {
        cx.h.add_member(&one.id, &Principal::Group(empty.id.clone()))
            .await?;
    }
    let (version, ids) = listing(cx).await?;
    for g in [&one, &empty] {
        let listed: BTreeSet<Principal> = cx.h.all_members(&g.id).await?.into_iter().collect();
        let Some(at) = members_at(cx, &g.id, version, &ids).await? else {
            return Err(Fail(format!(
                "group {}: no members under version {version}, which the adapter still holds",
                g.id
            )));
        };
        ensure!(
            listed == at,
            "group {}: list_members gives {listed:?}, members_by_position gives {at:?}",
            g.id
        );
    }
    expect_kind(
        cx.h.members_by_position(&cx.missing_id(), version).await,
        ErrorKind::NotFound,
        "members_by_position of a missing group",
    )?;
    Ok(Verdict::Passed)
}

async fn positions_follow_writes(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let first = cx.new_user().await?;
    cx.h.add_member(&group.id, &Principal::User(first.id.clone()))
        .await?;
    let (old, _) = listing(cx).await?;
    let joiner = cx.new_user().await?;
    cx.h.add_member(&group.id, &Principal::User(joiner.id.clone()))
        .await?;
    let (new, ids) = listing(cx).await?;
    ensure!(
        new != old,
        "the listing version stayed {old} across a user's creation and a member's addition"
    );
    ensure!(
        cx.h.members_by_position(&group.id, old).await?.is_none(),
        "members_by_position answers for version {old} after writes made version {new}"
    );
    let at = members_at(cx, &group.id, new, &ids)
        .await?
        .unwrap_or_default();
    let expected = BTreeSet::from([
        Principal::User(first.id.clone()),
        Principal::User(joiner.id.clone()),
    ]);
    ensure!(
        at == expected,
        "after adding {} and {}, members_by_position gives {at:?}",
        first.id,
        joiner.id
    );
    Ok(Verdict::Passed)
}
