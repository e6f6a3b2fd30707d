//! Membership writes in batches (`write_members`): mixed adds and removes over several
//! groups and users, a failure that fails only its own write, and a batch with nothing to
//! do, and batches cut by the adapter's own batch key as the sync engine cuts them. Every
//! adapter takes batches (the default runs them one by one), so these run wherever adding
//! and removing members is declared.

use std::collections::{BTreeSet, HashMap};

use idbridge_core::{ErrorKind, MemberBatchKey, MemberWrite, Principal};

use super::{Ctx, Fail, Outcome, Verdict, ensure, scenarios};

scenarios! { "members_batch";
    mixed_adds_and_removes_over_groups_and_users ["users_create", "groups_create", "members_add", "members_remove", "members_list"],
    a_missing_group_fails_only_its_writes ["users_create", "groups_create", "members_add", "members_list"],
    nothing_to_do_changes_nothing ["users_create", "groups_create", "members_add", "members_remove", "members_list"],
    batches_cut_by_the_adapters_key ["users_create", "groups_create", "members_add", "members_remove", "members_list"],
}

fn add(group: &str, user: &str) -> MemberWrite {
    MemberWrite::Add {
        group: group.to_string(),
        member: Principal::User(user.to_string()),
    }
}

fn remove(group: &str, user: &str) -> MemberWrite {
    MemberWrite::Remove {
        group: group.to_string(),
        member: Principal::User(user.to_string()),
    }
}

/// The members of `group` among `among` (the scenario's own users).
async fn members_among(cx: &Ctx, group: &str, among: &[&str]) -> Result<BTreeSet<String>, Fail> {
    Ok(cx
        .h
        .all_members(group)
        .await?
        .into_iter()
        .map(|p| p.id().to_string())
        .filter(|id| among.contains(&id.as_str()))
        .collect())
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn mixed_adds_and_removes_over_groups_and_users(cx: &Ctx) -> Outcome {
    let g1 = cx.new_group().await?;
    let g2 = cx.new_group().await?;
    let (a, b, c) = (
        cx.new_user().await?,
        cx.new_user().await?,
        cx.new_user().await?,
    );
    let (g1, g2) = (g1.id.as_str(), g2.id.as_str());
    let (a, b, c) = (a.id.as_str(), b.id.as_str(), c.id.as_str());
    cx.h.add_member(g1, &Principal::User(a.to_string())).await?;
    cx.h.add_member(g2, &Principal::User(c.to_string())).await?;
    let batch = vec![
        add(g1, b),
        add(g2, a),
        remove(g1, a),
        add(g2, b),
        remove(g2, c),
        add(g1, c),
    ];
    let n = batch.len();
    let results = cx.h.write_members(batch).await;
    ensure!(
        results.len() == n,
        "{} results for {n} writes",
        results.len()
    );
    for (i, r) in results.iter().enumerate() {
        ensure!(r.is_ok(), "write {i} failed: {r:?}");
    }
    let all = [a, b, c];
    let got1 = members_among(cx, g1, &all).await?;
    let got2 = members_among(cx, g2, &all).await?;
    ensure!(
        got1 == set(&[b, c]),
        "first group holds {got1:?}, expected {b} and {c}"
    );
    ensure!(
        got2 == set(&[a, b]),
        "second group holds {got2:?}, expected {a} and {b}"
    );
    Ok(Verdict::Passed)
}

async fn a_missing_group_fails_only_its_writes(cx: &Ctx) -> Outcome {
    let group = cx.new_group().await?;
    let (a, b) = (cx.new_user().await?, cx.new_user().await?);
    let (g, a, b) = (group.id.as_str(), a.id.as_str(), b.id.as_str());
    let missing = cx.missing_id();
    let results =
        cx.h.write_members(vec![
            add(g, a),
            add(&missing, a),
            add(g, b),
            add(&missing, b),
        ])
        .await;
    ensure!(results.len() == 4, "{} results for 4 writes", results.len());
    for i in [0, 2] {
        ensure!(
            results[i].is_ok(),
            "write {i} (an existing group) failed: {:?}",
            results[i]
        );
    }
    for i in [1, 3] {
        match &results[i] {
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            other => {
                return Err(Fail(format!(
                    "write {i} (a missing group): expected a NotFound error, got {other:?}"
                )));
            }
        }
    }
    let got = members_among(cx, g, &[a, b]).await?;
    ensure!(
        got == set(&[a, b]),
        "the group holds {got:?}, expected both users"
    );
    Ok(Verdict::Passed)
}

async fn nothing_to_do_changes_nothing(cx: &Ctx) -> Outcome {
    let g1 = cx.new_group().await?;
    let g2 = cx.new_group().await?;
    let (a, b) = (cx.new_user().await?, cx.new_user().await?);
    let (g1, g2, a, b) = (g1.id.as_str(), g2.id.as_str(), a.id.as_str(), b.id.as_str());
    cx.h.add_member(g1, &Principal::User(a.to_string())).await?;
    let empty = cx.h.write_members(Vec::new()).await;
    ensure!(
        empty.is_empty(),
        "an empty batch gave {} results",
        empty.len()
    );
    let results =
        cx.h.write_members(vec![
            add(g1, a),
            remove(g1, b),
            remove(g2, a),
            remove(g2, b),
        ])
        .await;
    ensure!(results.len() == 4, "{} results for 4 writes", results.len());
    for (i, r) in results.iter().enumerate() {
        ensure!(r.is_ok(), "write {i} (nothing to do) failed: {r:?}");
    }
    let got1 = members_among(cx, g1, &[a, b]).await?;
    let got2 = members_among(cx, g2, &[a, b]).await?;
    ensure!(
        got1 == set(&[a]),
        "first group holds {got1:?}, expected only {a}"
    );
    ensure!(
        got2.is_empty(),
        "second group holds {got2:?}, expected nobody"
    );
    Ok(Verdict::Passed)
}

/// The writes the sync engine would send together: one batch per key (a batch of one for
/// a write sent alone), at most `members_batch_max` writes each, in the order of `writes`.
fn cut_by_key(cx: &Ctx, writes: &[MemberWrite]) -> Result<Vec<Vec<MemberWrite>>, Fail> {
    let max = cx.h.capabilities().members_batch_max.unwrap_or(1).max(1);
    let mut batches: Vec<Vec<MemberWrite>> = Vec::new();
    let mut open: HashMap<MemberBatchKey, usize> = HashMap::new();
    for w in writes {
        let key = cx.h.member_batch_key(w);
        ensure!(
            key == cx.h.member_batch_key(w),
            "the batch key of {w:?} changed between two calls"
        );
        let slot = match (&key, open.get(&key)) {
            (MemberBatchKey::Alone, _) => None,
            (_, Some(&b)) if batches[b].len() < max => Some(b),
            _ => None,
        };
        match slot {
            Some(b) => batches[b].push(w.clone()),
            None => {
                if key != MemberBatchKey::Alone {
                    open.insert(key, batches.len());
                }
                batches.push(vec![w.clone()]);
            }
        }
    }
    Ok(batches)
}

async fn batches_cut_by_the_adapters_key(cx: &Ctx) -> Outcome {
    let g1 = cx.new_group().await?;
    let g2 = cx.new_group().await?;
    let (a, b, c) = (
        cx.new_user().await?,
        cx.new_user().await?,
        cx.new_user().await?,
    );
    let (g1, g2) = (g1.id.as_str(), g2.id.as_str());
    let (a, b, c) = (a.id.as_str(), b.id.as_str(), c.id.as_str());
    cx.h.add_member(g2, &Principal::User(c.to_string())).await?;
    let writes = vec![
        add(g1, a),
        add(g2, a),
        add(g1, b),
        remove(g2, c),
        add(g1, c),
        add(g2, b),
    ];
    for batch in cut_by_key(cx, &writes)? {
        let n = batch.len();
        let results = cx.h.write_members(batch).await;
        ensure!(
            results.len() == n,
            "{} results for {n} writes",
            results.len()
        );
        for (i, r) in results.iter().enumerate() {
            ensure!(r.is_ok(), "write {i} of a batch failed: {r:?}");
        }
    }
    let all = [a, b, c];
    let got1 = members_among(cx, g1, &all).await?;
    let got2 = members_among(cx, g2, &all).await?;
    ensure!(
        got1 == set(&[a, b, c]),
        "first group holds {got1:?}, expected {a}, {b} and {c}"
    );
    ensure!(
        got2 == set(&[a, b]),
        "second group holds {got2:?}, expected {a} and {b}"
    );
    Ok(Verdict::Passed)
}
