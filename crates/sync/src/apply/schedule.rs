//! Scheduling one target's operations: each starts once every operation it depends on
//! succeeded, at most `concurrency` calls at a time, user writes, group writes and
//! membership changes in batches where the adapter takes them; a failure is retried when [`Retries`] says so,
//! else it skips (and journals as skipped) only what depends on it.

use std::collections::VecDeque;

use futures::stream::{FuturesUnordered, StreamExt};
use idbridge_core::MemberBatchKey;
use idbridge_store::Outcome;

use super::batch::{MemberQueue, member_write, shrink_drained};
use super::created::CreatedIds;
use super::dependents::Dependents;
use super::perform::resolve;
use super::progress::{Progress, St};
use super::records::journal_row;
use super::retry::Retries;
use super::run::{Called, journal_outcomes, run_batch, run_group_batch, run_member_batch, run_one};
use super::{ApplyContext, Done, JournalFuture, OpFuture, OpOutcome, OpProblem, TargetReport};
use crate::events::{OperationOutcome, RunEvent};
use crate::plan::TargetPlan;

/// Applies one target's plan.
pub(crate) async fn apply_target(ctx: &ApplyContext<'_>, plan: &TargetPlan) -> TargetReport {
    let n = plan.ops.len();
    let mut report = TargetReport {
        target: plan.target.clone(),
        adapter: plan.adapter.clone(),
        planned: n,
        can_sign_in: plan.can_sign_in.clone(),
        ..Default::default()
    };
    // Dependencies are numbered in 32 bits (see `Ops`), and so is everything here: a
    // first sync of a million users is 6 million operations per target.
    let mut progress = Progress::for_plan(plan);
    let dependents = Dependents::of(plan);
    let mut created = CreatedIds::for_plan(plan);
    let batch_max = ctx.handle.capabilities().users_batch_max.filter(|m| *m > 1);
    let group_batch_max = ctx
        .handle
        .capabilities()
        .groups_batch_max
        .filter(|m| *m > 1);
    let mut ready_users: VecDeque<usize> = VecDeque::new();
    let mut ready_groups: VecDeque<usize> = VecDeque::new();
    let mut ready: VecDeque<usize> = VecDeque::new();
    let mut ready_members = MemberQueue::new(&ctx.handle.capabilities());
    let enqueue = |i: usize,
                   created: &CreatedIds,
                   ready: &mut VecDeque<usize>,
                   ready_users: &mut VecDeque<usize>,
                   ready_groups: &mut VecDeque<usize>,
                   ready_members: &mut Option<MemberQueue>| {
        if batch_max.is_some() && plan.ops[i].action.is_user_write() {
            ready_users.push_back(i);
            return;
        }
        if group_batch_max.is_some() && plan.ops[i].action.is_group_write() {
            ready_groups.push_back(i);
            return;
        }
        if let Some(queue) = ready_members.as_mut() {
            // Ready means every operation it depends on is done, so its references resolve;
            // one that does not goes alone and fails there.
            if let Some(write) = member_write(plan, i, created) {
                match ctx.handle.member_batch_key(&write) {
                    MemberBatchKey::Alone => {}
                    key => {
                        // Only the number waits: a first sync queues millions of changes
                        // while the creates they follow run, and each write is made again
                        // when its batch is taken.
                        queue.push(i, key);
                        return;
                    }
                }
            }
        }
        ready.push_back(i);
    };
    for i in 0..n {
        if progress.waiting(i) == 0 {
            enqueue(
                i,
                &created,
                &mut ready,
                &mut ready_users,
                &mut ready_groups,
                &mut ready_members,
            );
        }
    }
    let mut inflight: FuturesUnordered<OpFuture<'_>> = FuturesUnordered::new();
    // Calls answered, their outcomes being journaled. A single operation's call is no
    // longer among the `concurrency` calls in flight, as it sends nothing more, so the
    // next is sent while the state file takes the outcome. A batch keeps its place until
    // its outcomes are journaled: they are thousands of rows holding the records written,
    // and when the journal is the slower side, more batches sent only queue at it (a
    // million users into `file` targets held fifteen batches a target, not eight).
    let mut journaling: FuturesUnordered<JournalFuture<'_>> = FuturesUnordered::new();
    let mut batches_journaling = 0usize;
    let mut finished = 0usize;
    let concurrency = ctx.concurrency.max(1);
    let mut retries = Retries::new(concurrency);
    loop {
        while report.fatal.is_none()
            && !ctx.stop.is_stopped()
            && inflight.len() + batches_journaling < concurrency
        {
            if let (Some(max), false) = (batch_max, ready_users.is_empty()) {
                let take = ready_users.len().min(max);
                let batch: Vec<usize> = ready_users.drain(..take).collect();
                shrink_drained(&mut ready_users);
                for &i in &batch {
                    progress.set(i, St::Running);
                }
                if batch.len() == 1 {
                    inflight.push(Box::pin(run_one(
                        ctx,
                        plan,
                        batch[0],
                        resolve(plan, batch[0], &created),
                    )));
                } else {
                    inflight.push(Box::pin(run_batch(ctx, plan, batch)));
                }
                continue;
            }
            if let (Some(max), false) = (group_batch_max, ready_groups.is_empty()) {
                let take = ready_groups.len().min(max);
                let batch: Vec<usize> = ready_groups.drain(..take).collect();
                shrink_drained(&mut ready_groups);
                for &i in &batch {
                    progress.set(i, St::Running);
                }
                if let [i] = batch[..] {
                    inflight.push(Box::pin(run_one(ctx, plan, i, resolve(plan, i, &created))));
                } else {
                    inflight.push(Box::pin(run_group_batch(ctx, plan, batch)));
                }
                continue;
            }
            if let Some(i) = ready.pop_front() {
                shrink_drained(&mut ready);
                progress.set(i, St::Running);
                inflight.push(Box::pin(run_one(ctx, plan, i, resolve(plan, i, &created))));
                continue;
            }
            // Membership changes go last, so that those waiting for the creates still
            // running can join the batches of their key.
            let Some(queue) = ready_members.as_mut().filter(|q| !q.is_empty()) else {
                break;
            };
            let (batch, alone) = queue.take(plan, &created);
            // Never the case: a queued change resolved when it was queued.
            ready.extend(alone);
            for (i, _) in &batch {
                progress.set(*i, St::Running);
            }
            match batch.as_slice() {
                [] => {}
                [(i, _)] => {
                    let i = *i;
                    inflight.push(Box::pin(run_one(ctx, plan, i, resolve(plan, i, &created))));
                }
                _ => inflight.push(Box::pin(run_member_batch(ctx, plan, batch))),
            }
        }
        let done = tokio::select! {
            // Outcomes first: they may free dependents to send.
            biased;
            Some(done) = journaling.next() => {
                if done.len() > 1 {
                    batches_journaling -= 1;
                }
                done
            }
            Some(called) = inflight.next() => match called {
                Called::Ended(done) => done,
                Called::Answered(outcomes) => {
                    if outcomes.len() > 1 {
                        batches_journaling += 1;
                    }
                    journaling.push(Box::pin(journal_outcomes(ctx, plan, outcomes)));
                    continue;
                }
            },
            else => break,
        };
        retries.count_call(done.iter().map(|d| &d.result));
        for d in done {
            let stopping = d.fatal.is_some() || report.fatal.is_some() || ctx.stop.is_stopped();
            if let (Some((wait, attempt)), Err(e)) =
                (retries.next_attempt(d.op, &d.result, stopping), &d.result)
            {
                let op = &plan.ops[d.op];
                tracing::info!(target = %plan.target, op = op.action.name(), resource = %op.action.resource(), attempt, wait_ms = wait.as_millis() as u64, error = %e, "operation failed; trying again");
                let (i, resolved, error) = (d.op, resolve(plan, d.op, &created), e.clone());
                inflight.push(Box::pin(async move {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => run_one(ctx, plan, i, resolved).await,
                        // A stop request ends the wait: the failure stands (it is
                        // journaled already) and nothing new is sent.
                        () = ctx.stop.stopped() => Called::Ended(vec![Done {
                            op: i,
                            result: Err(error),
                            fatal: None,
                        }]),
                    }
                }));
                continue;
            }
            finished += 1;
            if let Some(fatal) = d.fatal {
                if report.fatal.is_none() {
                    report.fatal = Some(format!(
                        "the journal could not be written, so the apply stopped: {fatal}"
                    ));
                }
            }
            let op = &plan.ops[d.op];
            match d.result {
                Ok(new_id) => {
                    progress.set(d.op, St::Ok);
                    report.ok += 1;
                    *report.done.entry(op.action.name().to_string()).or_default() += 1;
                    if let Some(id) = new_id {
                        created.insert(d.op, &id);
                    }
                    finished_event(ctx, plan, d.op, OperationOutcome::Done, finished);
                    for next in dependents.of_op(d.op) {
                        if progress.one_succeeded(next) == 0 && progress.state(next) == St::Pending
                        {
                            enqueue(
                                next,
                                &created,
                                &mut ready,
                                &mut ready_users,
                                &mut ready_groups,
                                &mut ready_members,
                            );
                        }
                    }
                }
                Err(e) => {
                    progress.set(d.op, St::Failed);
                    report.failed += 1;
                    tracing::warn!(target = %plan.target, op = op.action.name(), resource = %op.action.resource(), error = %e, "operation failed");
                    report.problems.push(OpProblem {
                        op: d.op,
                        operation: op.action.name().to_string(),
                        resource: op.action.resource(),
                        outcome: OpOutcome::Failed,
                        error: e.to_string(),
                    });
                    finished_event(
                        ctx,
                        plan,
                        d.op,
                        OperationOutcome::Failed { error: e },
                        finished,
                    );
                    let skipped = skip_dependents(d.op, &dependents, &mut progress);
                    if !skipped.is_empty() {
                        let why = format!(
                            "not attempted: it depends on operation {} ({} {}), which failed",
                            d.op,
                            op.action.name(),
                            op.action.resource()
                        );
                        let mut writes = Vec::new();
                        for &s in &skipped {
                            let sop = &plan.ops[s];
                            report.skipped += 1;
                            finished += 1;
                            report.problems.push(OpProblem {
                                op: s,
                                operation: sop.action.name().to_string(),
                                resource: sop.action.resource(),
                                outcome: OpOutcome::Skipped,
                                error: why.clone(),
                            });
                            finished_event(
                                ctx,
                                plan,
                                s,
                                OperationOutcome::Skipped { because: d.op },
                                finished,
                            );
                            writes.push(journal_row(
                                ctx,
                                plan,
                                &sop.action,
                                Outcome::Skipped,
                                None,
                                Some(why.clone()),
                            ));
                        }
                        if let Err(e) = ctx.journal.write(writes).await {
                            report.fatal.get_or_insert_with(|| {
                                format!(
                                    "the journal could not be written, so the apply stopped: {e}"
                                )
                            });
                        }
                    }
                }
            }
        }
    }
    report.not_started = progress.states().filter(|(_, s)| *s == St::Pending).count();
    report.problems.sort_by_key(|p| p.op);
    report
}

/// Reports how operation `op` ended, `done` operations of the target having finished.
fn finished_event(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    op: usize,
    outcome: OperationOutcome,
    done: usize,
) {
    ctx.events.emit(|| {
        let action = &plan.ops[op].action;
        RunEvent::OperationFinished {
            target: plan.target.clone(),
            op,
            operation: action.name().to_string(),
            resource: action.resource(),
            outcome,
            done,
            total: plan.ops.len(),
        }
    });
}

/// Marks every operation that (transitively) depends on `failed` as skipped; returns them.
fn skip_dependents(failed: usize, dependents: &Dependents, progress: &mut Progress) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![failed];
    while let Some(x) = stack.pop() {
        for d in dependents.of_op(x) {
            if progress.state(d) == St::Pending {
                progress.set(d, St::Skipped);
                out.push(d);
                stack.push(d);
            }
        }
    }
    out.sort_unstable();
    out
}
