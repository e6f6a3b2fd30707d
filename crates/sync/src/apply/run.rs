//! Running operations, alone or in a batch, the same way: every write is journaled as
//! `started` (durably) before it is sent, the answer is settled by
//! [`perform::settle`](super::perform::settle), and every outcome is journaled with its
//! links ([`journal_outcomes`]) before anything that depends on it starts. The call ends
//! with the answers ([`Called::Answered`]): the scheduler journals them outside the
//! call's place among the `concurrency` calls in flight, so that the next call is sent
//! while the state file takes the outcome.

use idbridge_core::{Error, Group, GroupWrite, MemberWrite, Result, User, UserWrite};
use idbridge_store::{Outcome, Write};

use super::batch::{group_write, user_write};
use super::perform::{Answer, Resolved, perform, settle};
use super::records::{journal_row, outcome_row, to_json};
use super::{ApplyContext, Done, Performed};
use crate::plan::{Action, TargetPlan};

/// How a call ends.
pub(super) enum Called {
    /// Its operations ended before anything was sent: their `started` rows could not be
    /// written.
    Ended(Vec<Done>),
    /// The target answered (or failed to): each operation's result, to journal with
    /// [`journal_outcomes`] before it counts as done.
    Answered(Vec<(usize, Result<Performed>)>),
}

/// Runs operation `i` alone.
pub(super) async fn run_one(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    i: usize,
    resolved: Result<Resolved>,
) -> Called {
    let action = &plan.ops[i].action;
    tracing::debug!(target = %plan.target, op = action.name(), resource = %action.resource(), "operation");
    // Every write is announced before it is sent, so that a process killed between the
    // target's answer and the result's row still leaves the write in the journal (and a
    // disable or delete leaves the record's last state there).
    if let Err(failed) = journal_started(ctx, plan, &[i]).await {
        return Called::Ended(failed);
    }
    let result = perform(ctx, plan, action, resolved).await;
    Called::Answered(vec![(i, result)])
}

/// Sends a batch of user writes in one call: each keeps its own journal rows (`started`
/// before the call, its own outcome after) and its own result.
pub(super) async fn run_batch(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    batch: Vec<usize>,
) -> Called {
    // Only user writes are batched (see `Action::is_user_write`). The writes are made
    // once their `started` rows are durable: a batch waits for the journal in the
    // meantime, and a write holds the whole record.
    let ids: Vec<usize> = batch
        .into_iter()
        .filter(|&i| plan.ops[i].action.is_user_write())
        .collect();
    if let Err(failed) = journal_started(ctx, plan, &ids).await {
        return Called::Ended(failed);
    }
    let batch_writes: Vec<UserWrite> = ids
        .iter()
        .filter_map(|&i| user_write(&plan.ops[i].action))
        .collect();
    tracing::debug!(target = %plan.target, writes = batch_writes.len(), "user write batch");
    let results = ctx.handle.write_users(batch_writes).await;
    settle_batch(ctx, plan, ids, results, |u: &User| &u.id, "user").await
}

/// Sends a batch of group writes in one call: each keeps its own journal rows (`started`
/// before the call, its own outcome after) and its own result, and its answer is settled
/// as a single write's is (a create that finds its group adopts it, a delete of a group
/// already gone is done).
pub(super) async fn run_group_batch(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    batch: Vec<usize>,
) -> Called {
    // Only group writes are batched here (see `Action::is_group_write`); made once
    // journaled, as user writes are.
    let ids: Vec<usize> = batch
        .into_iter()
        .filter(|&i| plan.ops[i].action.is_group_write())
        .collect();
    if let Err(failed) = journal_started(ctx, plan, &ids).await {
        return Called::Ended(failed);
    }
    let batch_writes: Vec<GroupWrite> = ids
        .iter()
        .filter_map(|&i| group_write(&plan.ops[i].action))
        .collect();
    tracing::debug!(target = %plan.target, writes = batch_writes.len(), "group write batch");
    let results = ctx.handle.write_groups(batch_writes).await;
    settle_batch(ctx, plan, ids, results, |g: &Group| &g.id, "group").await
}

/// Settles the answers of a batch of user or group writes (operations `ids`, in order),
/// each as a single write's answer is: a create must answer
/// its record (`id_of` gives the new id, `what` names the kind in the error), an answer
/// missing from the batch fails its operation.
async fn settle_batch<R: serde::Serialize>(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    ids: Vec<usize>,
    results: Vec<Result<Option<R>>>,
    id_of: impl Fn(&R) -> &str,
    what: &str,
) -> Called {
    let mut results = results.into_iter();
    let mut outcomes = Vec::with_capacity(ids.len());
    for i in ids {
        let action = &plan.ops[i].action;
        let raw = results.next().unwrap_or_else(|| {
            Err(Error::protocol(
                "the batch returned fewer results than writes",
            ))
        });
        let sent = raw.and_then(|record| {
            let created = if matches!(action, Action::CreateUser(_) | Action::CreateGroup(_)) {
                match &record {
                    Some(r) => Some(id_of(r).to_string()),
                    None => {
                        return Err(Error::protocol(format!(
                            "the target created a {what} but returned no record"
                        )));
                    }
                }
            } else {
                None
            };
            Ok(Answer {
                after: record.as_ref().and_then(to_json),
                created,
            })
        });
        outcomes.push((i, settle(ctx, plan, action, sent).await));
    }
    Called::Answered(outcomes)
}

/// Sends a batch of membership changes in one call: each keeps its own journal rows
/// (`started` before the call, its own outcome after) and its own result.
pub(super) async fn run_member_batch(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    batch: Vec<(usize, MemberWrite)>,
) -> Called {
    let (ids, writes): (Vec<usize>, Vec<MemberWrite>) = batch.into_iter().unzip();
    if let Err(failed) = journal_started(ctx, plan, &ids).await {
        return Called::Ended(failed);
    }
    tracing::debug!(target = %plan.target, writes = writes.len(), "membership batch");
    let mut results = ctx.handle.write_members(writes).await.into_iter();
    let mut outcomes = Vec::with_capacity(ids.len());
    for i in ids {
        let result = results.next().unwrap_or_else(|| {
            Err(Error::protocol(
                "the batch returned fewer results than writes",
            ))
        });
        let sent = result.map(|()| Answer {
            created: None,
            after: None,
        });
        outcomes.push((i, settle(ctx, plan, &plan.ops[i].action, sent).await));
    }
    Called::Answered(outcomes)
}

/// Journals a batch's writes as started, in one durable transaction, before anything is
/// sent; when that fails, nothing is sent and every operation of the batch fails with it.
async fn journal_started(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    ids: &[usize],
) -> std::result::Result<(), Vec<Done>> {
    // Sized at once: the rows wait in the journal's queue while other batches are sent,
    // and a list grown by doubling would hold up to twice their room.
    let mut started: Vec<Write> = Vec::with_capacity(ids.len());
    started.extend(
        ids.iter()
            .map(|&i| &plan.ops[i].action)
            .filter(|a| a.writes_target())
            .map(|a| journal_row(ctx, plan, a, Outcome::Started, None, None)),
    );
    ctx.journal.write(started).await.map_err(|e| {
        ids.iter()
            .map(|&i| Done {
                op: i,
                result: Err(e.clone()),
                fatal: Some(e.clone()),
            })
            .collect()
    })
}

/// Journals the outcomes of a batch in one transaction (each operation's outcome row and
/// links) and turns them into results; a journal failure is fatal, reported once.
pub(super) async fn journal_outcomes(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    outcomes: Vec<(usize, Result<Performed>)>,
) -> Vec<Done> {
    // Sized at once, as the `started` rows are.
    let rows = outcomes
        .iter()
        .map(|(_, p)| 1 + p.as_ref().map_or(0, |p| p.links.len()))
        .sum();
    let mut all_writes = Vec::with_capacity(rows);
    let mut out = Vec::with_capacity(outcomes.len());
    for (i, performed) in outcomes {
        let action = &plan.ops[i].action;
        match performed {
            Ok(p) => {
                all_writes.push(outcome_row(ctx, plan, action, Outcome::Ok, p.after, None));
                all_writes.extend(p.links);
                out.push(Done {
                    op: i,
                    result: Ok(p.created),
                    fatal: None,
                });
            }
            Err(e) => {
                all_writes.push(outcome_row(
                    ctx,
                    plan,
                    action,
                    Outcome::Failed,
                    None,
                    Some(e.to_string()),
                ));
                out.push(Done {
                    op: i,
                    result: Err(e),
                    fatal: None,
                });
            }
        }
    }
    if let Err(e) = ctx.journal.write(all_writes).await {
        if let Some(first) = out.first_mut() {
            first.fatal = Some(e);
        }
    }
    out
}
