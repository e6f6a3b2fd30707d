//! Applying one target's plan: dependency order, bounded concurrency, batches where the
//! adapter takes them, every write announced in the journal (`started`, durably) before
//! it is sent and every result journaled (durably) before anything that depends on it
//! starts, a write whose outcome is unknown (its answer lost) tried again a few times
//! (unless the target looks down), and a failure skipping only its dependents.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{FuturesUnordered, StreamExt};
use idbridge_core::{
    AdapterExt, AdapterHandle, Capabilities, Error, ErrorKind, Grant, GroupChanges, Groups,
    MemberWrite, Memberships, NewGroup, NewUser, Principal, Result, Roles, Sessions, User,
    UserChanges, UserWrite, Users,
};
use idbridge_store::{Link, LinkKind, NewJournalEntry, Outcome, Write};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::journal::JournalWriter;
use crate::plan::{Action, CanSignIn, PrincipalKind, PrincipalRef, Ref, TargetPlan};
use crate::util::{norm, norm_eq};

/// A request to stop: operations in flight finish and are journaled, nothing new starts.
/// Cheap to clone; all clones share the request.
#[derive(Clone, Default)]
pub struct Stop(Arc<StopInner>);

#[derive(Default)]
struct StopInner {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stop({})", self.is_stopped())
    }
}

impl Stop {
    /// A fresh, unset request.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks everything holding a clone to stop.
    pub fn stop(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether a stop was requested.
    pub fn is_stopped(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    /// Waits until a stop is requested.
    pub async fn stopped(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// Progress of an apply, reported after each finished operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressEvent {
    /// The target.
    pub target: String,
    /// Operations finished (in any way) so far.
    pub done: usize,
    /// Operations planned.
    pub total: usize,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// How one operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    /// Done.
    Ok,
    /// The target refused it or could not be reached.
    Failed,
    /// Not attempted because an operation it depends on failed.
    Skipped,
    /// Not attempted because the run was stopped first.
    NotStarted,
}

/// One operation that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpProblem {
    /// Its number in the target plan.
    pub op: usize,
    /// The operation's name.
    pub operation: String,
    /// What it addressed.
    pub resource: String,
    /// How it ended.
    pub outcome: OpOutcome,
    /// Why.
    pub error: String,
}

/// What happened in one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    /// The target.
    pub target: String,
    /// Its adapter kind.
    pub adapter: String,
    /// Operations planned.
    pub planned: usize,
    /// Operations done.
    pub ok: usize,
    /// Operations failed.
    pub failed: usize,
    /// Operations skipped because something they depend on failed.
    pub skipped: usize,
    /// Operations not started because the run was stopped.
    pub not_started: usize,
    /// Operations done, by name.
    pub done: BTreeMap<String, usize>,
    /// Why the target was not changed at all (guard, stale plan), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// A failure that stopped the target's apply (the state file could not be written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatal: Option<String>,
    /// Why the target could not be connected to or read, if so: nothing was changed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Failed and skipped operations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<OpProblem>,
    /// Accounts that should have no access but can still sign in, because the target
    /// cannot disable them (from the plan). The target has not converged while any remain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub can_sign_in: Vec<CanSignIn>,
}

impl TargetReport {
    /// A report for a target whose plan was not applied at all.
    pub fn refused(plan: &TargetPlan, why: String) -> TargetReport {
        TargetReport {
            target: plan.target.clone(),
            adapter: plan.adapter.clone(),
            planned: plan.ops.len(),
            not_started: plan.ops.len(),
            refused: Some(why),
            can_sign_in: plan.can_sign_in.clone(),
            ..Default::default()
        }
    }

    /// A report for a target that could not be connected to or read: nothing was done.
    pub fn unavailable(plan: &TargetPlan, why: String) -> TargetReport {
        TargetReport {
            target: plan.target.clone(),
            adapter: plan.adapter.clone(),
            planned: plan.ops.len(),
            not_started: plan.ops.len(),
            unavailable: Some(why),
            ..Default::default()
        }
    }

    /// Whether everything planned was done and no account that should have no access
    /// can still sign in.
    pub fn converged(&self) -> bool {
        self.refused.is_none()
            && self.fatal.is_none()
            && self.unavailable.is_none()
            && self.ok == self.planned
            && self.can_sign_in.is_empty()
    }
}

/// What the apply of one target needs besides the plan.
pub(crate) struct ApplyContext<'a> {
    pub handle: &'a AdapterHandle,
    pub concurrency: usize,
    pub journal: &'a JournalWriter,
    pub run: i64,
    pub stop: &'a Stop,
    pub progress: Option<&'a ProgressFn>,
    /// Whether an account found by login when a create says "already exists" may be
    /// linked (the target correlates by login).
    pub adopt_existing_login: bool,
}

/// Attempts of one operation, the first included, while its request reached the target
/// and its outcome is unknown ([`Error::is_outcome_unknown`]: the answer to a write that is
/// not idempotent was lost, so the HTTP layer could not send it again). Every other
/// transient failure was retried by the HTTP layer already and is not retried here, so
/// that retries do not multiply. A retried create that the target did carry out finds
/// the account already there and adopts it (see [`adopt_existing_user`]).
const OP_ATTEMPTS: u32 = 4;

/// Retryable failures in a row, with no success in between, after which a target is taken
/// to be down: its failures are no longer retried in this run, so that an unreachable
/// target fails fast instead of having every operation wait through every attempt.
fn down_after(concurrency: usize) -> usize {
    2 * concurrency + 8
}

/// The pause before retry number `retry` (1-based) of an operation: the target's
/// `Retry-After` where it sent one (at most a minute), else 250 ms doubling to 4 s
/// (1.75 s in all over the three retries).
fn retry_wait(error: &Error, retry: u32) -> std::time::Duration {
    use std::time::Duration;
    match error.retry_after() {
        Some(after) => after.min(Duration::from_secs(60)),
        None => Duration::from_millis(250)
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(Duration::from_secs(4)),
    }
}

struct Done {
    op: usize,
    result: Result<Option<String>>,
    fatal: Option<Error>,
}

type OpFuture<'a> = Pin<Box<dyn Future<Output = Vec<Done>> + Send + 'a>>;

/// What a successful call produced.
struct Performed {
    created: Option<String>,
    after: Option<Value>,
    links: Vec<Write>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Pending,
    Running,
    Ok,
    Failed,
    Skipped,
}

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
    let mut remaining: Vec<usize> = plan.ops.iter().map(|o| o.depends_on.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for op in &plan.ops {
        for &d in &op.depends_on {
            if d < n {
                dependents[d].push(op.id);
            }
        }
    }
    let mut state = vec![St::Pending; n];
    let mut attempts = vec![1u32; n];
    let mut failing_in_a_row = 0usize;
    let mut created: HashMap<usize, String> = HashMap::new();
    let batch_max = ctx.handle.capabilities().users_batch_max.filter(|m| *m > 1);
    let mut ready_users: VecDeque<usize> = VecDeque::new();
    let mut ready: VecDeque<usize> = VecDeque::new();
    let mut ready_members = MemberQueue::new(&ctx.handle.capabilities());
    let enqueue = |i: usize,
                   created: &HashMap<usize, String>,
                   ready: &mut VecDeque<usize>,
                   ready_users: &mut VecDeque<usize>,
                   ready_members: &mut Option<MemberQueue>| {
        if batch_max.is_some() && plan.ops[i].action.is_user_write() {
            ready_users.push_back(i);
            return;
        }
        if let Some(queue) = ready_members.as_mut() {
            // Ready means every operation it depends on is done, so its references resolve;
            // one that does not goes alone and fails there.
            if let Some(write) = member_write(plan, i, created) {
                queue.push(i, write);
                return;
            }
        }
        ready.push_back(i);
    };
    for (i, r) in remaining.iter().enumerate() {
        if *r == 0 {
            enqueue(
                i,
                &created,
                &mut ready,
                &mut ready_users,
                &mut ready_members,
            );
        }
    }
    let mut inflight: FuturesUnordered<OpFuture<'_>> = FuturesUnordered::new();
    let mut finished = 0usize;
    let concurrency = ctx.concurrency.max(1);
    loop {
        while report.fatal.is_none() && !ctx.stop.is_stopped() && inflight.len() < concurrency {
            if let (Some(max), false) = (batch_max, ready_users.is_empty()) {
                let take = ready_users.len().min(max);
                let batch: Vec<usize> = ready_users.drain(..take).collect();
                for &i in &batch {
                    state[i] = St::Running;
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
            if let Some(i) = ready.pop_front() {
                state[i] = St::Running;
                inflight.push(Box::pin(run_one(ctx, plan, i, resolve(plan, i, &created))));
                continue;
            }
            // Membership changes go last, so that those waiting for the creates still
            // running can join the batches of their group (or member).
            let Some(queue) = ready_members.as_mut().filter(|q| !q.is_empty()) else {
                break;
            };
            let batch = queue.take();
            for (i, _) in &batch {
                state[*i] = St::Running;
            }
            if let [(i, _)] = batch.as_slice() {
                let i = *i;
                inflight.push(Box::pin(run_one(ctx, plan, i, resolve(plan, i, &created))));
            } else {
                inflight.push(Box::pin(run_member_batch(ctx, plan, batch)));
            }
        }
        let Some(done) = inflight.next().await else {
            break;
        };
        // A batch is one request: its operations failing together count as one failure,
        // so that one lost answer to a large batch does not make the target look down.
        if done.iter().any(|d| d.result.is_ok()) {
            failing_in_a_row = 0;
        } else if done
            .iter()
            .any(|d| matches!(&d.result, Err(e) if e.is_retryable()))
        {
            failing_in_a_row += 1;
        }
        for d in done {
            if let Err(e) = &d.result {
                let retry = e.is_outcome_unknown()
                    && attempts[d.op] < OP_ATTEMPTS
                    && failing_in_a_row <= down_after(concurrency)
                    && d.fatal.is_none()
                    && report.fatal.is_none()
                    && !ctx.stop.is_stopped();
                if retry {
                    let wait = retry_wait(e, attempts[d.op]);
                    attempts[d.op] += 1;
                    let op = &plan.ops[d.op];
                    tracing::info!(target = %plan.target, op = op.action.name(), resource = %op.action.resource(), attempt = attempts[d.op], wait_ms = wait.as_millis() as u64, error = %e, "operation failed; trying again");
                    let (i, resolved, error) = (d.op, resolve(plan, d.op, &created), e.clone());
                    inflight.push(Box::pin(async move {
                        tokio::select! {
                            () = tokio::time::sleep(wait) => run_one(ctx, plan, i, resolved).await,
                            // A stop request ends the wait: the failure stands (it is
                            // journaled already) and nothing new is sent.
                            () = ctx.stop.stopped() => vec![Done {
                                op: i,
                                result: Err(error),
                                fatal: None,
                            }],
                        }
                    }));
                    continue;
                }
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
                    state[d.op] = St::Ok;
                    report.ok += 1;
                    *report.done.entry(op.action.name().to_string()).or_default() += 1;
                    if let Some(id) = new_id {
                        created.insert(d.op, id);
                    }
                    for &next in &dependents[d.op] {
                        remaining[next] = remaining[next].saturating_sub(1);
                        if remaining[next] == 0 && state[next] == St::Pending {
                            enqueue(
                                next,
                                &created,
                                &mut ready,
                                &mut ready_users,
                                &mut ready_members,
                            );
                        }
                    }
                }
                Err(e) => {
                    state[d.op] = St::Failed;
                    report.failed += 1;
                    tracing::warn!(target = %plan.target, op = op.action.name(), resource = %op.action.resource(), error = %e, "operation failed");
                    report.problems.push(OpProblem {
                        op: d.op,
                        operation: op.action.name().to_string(),
                        resource: op.action.resource(),
                        outcome: OpOutcome::Failed,
                        error: e.to_string(),
                    });
                    let skipped = skip_dependents(d.op, &dependents, &mut state);
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
            if let Some(progress) = ctx.progress {
                progress(&ProgressEvent {
                    target: plan.target.clone(),
                    done: finished,
                    total: n,
                });
            }
        }
    }
    report.not_started = state.iter().filter(|s| **s == St::Pending).count();
    report.problems.sort_by_key(|p| p.op);
    report
}

/// Marks every operation that (transitively) depends on `failed` as skipped; returns them.
fn skip_dependents(failed: usize, dependents: &[Vec<usize>], state: &mut [St]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![failed];
    while let Some(x) = stack.pop() {
        for &d in &dependents[x] {
            if state[d] == St::Pending {
                state[d] = St::Skipped;
                out.push(d);
                stack.push(d);
            }
        }
    }
    out.sort_unstable();
    out
}

/// Ids of the records an operation addresses through [`Ref::Created`], resolved.
#[derive(Default)]
struct Resolved {
    group: Option<String>,
    principal: Option<String>,
}

fn resolve_ref(r: &Ref, created: &HashMap<usize, String>) -> Result<String> {
    match r {
        Ref::Id(id) => Ok(id.to_string()),
        Ref::Created(n) => created.get(n).cloned().ok_or_else(|| {
            Error::conflict(format!(
                "operation {n} should have created this record, but reported no id"
            ))
        }),
    }
}

fn resolve(plan: &TargetPlan, i: usize, created: &HashMap<usize, String>) -> Result<Resolved> {
    match &plan.ops[i].action {
        Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
            Ok(Resolved {
                group: Some(resolve_ref(&group.at, created)?),
                principal: Some(resolve_ref(&member.at, created)?),
            })
        }
        Action::Grant { principal, .. } | Action::Revoke { principal, .. } => Ok(Resolved {
            group: None,
            principal: Some(resolve_ref(&principal.at, created)?),
        }),
        _ => Ok(Resolved::default()),
    }
}

fn principal(p: &PrincipalRef, id: String) -> Principal {
    match p.kind {
        PrincipalKind::User => Principal::User(id),
        PrincipalKind::Group => Principal::Group(id),
    }
}

fn to_json<T: Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

fn before_of(action: &Action) -> Option<Value> {
    match action {
        Action::UpdateUser { before, .. }
        | Action::EnableUser { before, .. }
        | Action::DisableUser { before, .. }
        | Action::DeleteUser { before, .. } => to_json(before),
        Action::UpdateGroup { before, .. } | Action::DeleteGroup { before, .. } => to_json(before),
        _ => None,
    }
}

fn journal_row(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    outcome: Outcome,
    after: Option<Value>,
    error: Option<String>,
) -> Write {
    Write::Journal(NewJournalEntry {
        run: ctx.run,
        target: plan.target.clone(),
        operation: action.name().to_string(),
        resource: action.resource(),
        before: before_of(action),
        after,
        outcome,
        error,
    })
}

/// Whether an operation disables or deletes something: its `started` row, with the
/// record's last state, then stays as it is and the outcome gets a row of its own.
fn destructive(action: &Action) -> bool {
    matches!(
        action,
        Action::DisableUser { .. } | Action::DeleteUser { .. } | Action::DeleteGroup { .. }
    )
}

/// The journal row of an operation's outcome: it completes the operation's `started` row
/// in place (one row per attempt), except for a disable or delete, whose last-state row
/// stays beside it.
fn outcome_row(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    outcome: Outcome,
    after: Option<Value>,
    error: Option<String>,
) -> Write {
    match journal_row(ctx, plan, action, outcome, after, error) {
        Write::Journal(row) if !destructive(action) => Write::FinishJournal(row),
        other => other,
    }
}

fn upsert(plan: &TargetPlan, kind: LinkKind, source_id: &str, target_id: &str, fp: &str) -> Write {
    Write::UpsertLink(Link {
        target: plan.target.clone(),
        kind,
        source_id: source_id.to_string(),
        target_id: target_id.to_string(),
        fingerprint: fp.to_string(),
        updated: chrono::Utc::now(),
    })
}

fn delete_link(plan: &TargetPlan, kind: LinkKind, source_id: &str) -> Write {
    Write::DeleteLink {
        target: plan.target.clone(),
        kind,
        source_id: source_id.to_string(),
    }
}

/// The link changes that follow a successful operation.
fn links_after(
    plan: &TargetPlan,
    action: &Action,
    created: Option<&str>,
    fp_override: Option<&str>,
) -> Vec<Write> {
    match action {
        Action::CreateUser {
            source_id,
            fingerprint,
            ..
        } => created
            .map(|id| {
                vec![upsert(
                    plan,
                    LinkKind::User,
                    source_id,
                    id,
                    fp_override.unwrap_or(fingerprint),
                )]
            })
            .unwrap_or_default(),
        Action::UpdateUser {
            source_id,
            id,
            fingerprint,
            ..
        }
        | Action::EnableUser {
            source_id,
            id,
            fingerprint,
            ..
        }
        | Action::LinkUser {
            source_id,
            id,
            fingerprint,
            ..
        } => vec![upsert(plan, LinkKind::User, source_id, id, fingerprint)],
        Action::DisableUser {
            source_id: Some(source_id),
            id,
            fingerprint: Some(fp),
            ..
        } => vec![upsert(plan, LinkKind::User, source_id, id, fp)],
        Action::DeleteUser {
            source_id: Some(source_id),
            ..
        } => vec![delete_link(plan, LinkKind::User, source_id)],
        Action::CreateGroup {
            source_id,
            fingerprint,
            ..
        } => created
            .map(|id| {
                vec![upsert(
                    plan,
                    LinkKind::Group,
                    source_id,
                    id,
                    fp_override.unwrap_or(fingerprint),
                )]
            })
            .unwrap_or_default(),
        Action::UpdateGroup {
            source_id,
            id,
            fingerprint,
            ..
        }
        | Action::LinkGroup {
            source_id,
            id,
            fingerprint,
            ..
        } => vec![upsert(plan, LinkKind::Group, source_id, id, fingerprint)],
        Action::DeleteGroup {
            source_id: Some(source_id),
            ..
        } => vec![delete_link(plan, LinkKind::Group, source_id)],
        _ => Vec::new(),
    }
}

/// Journals one result and turns it into a [`Done`].
async fn finish(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    i: usize,
    result: Result<Performed>,
) -> Done {
    let action = &plan.ops[i].action;
    let (writes, outcome) = match result {
        Ok(p) => {
            let mut writes = vec![outcome_row(ctx, plan, action, Outcome::Ok, p.after, None)];
            writes.extend(p.links);
            (writes, Ok(p.created))
        }
        Err(e) => (
            vec![outcome_row(
                ctx,
                plan,
                action,
                Outcome::Failed,
                None,
                Some(e.to_string()),
            )],
            Err(e),
        ),
    };
    let fatal = ctx.journal.write(writes).await.err();
    Done {
        op: i,
        result: outcome,
        fatal,
    }
}

async fn run_one(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    i: usize,
    resolved: Result<Resolved>,
) -> Vec<Done> {
    let action = &plan.ops[i].action;
    tracing::debug!(target = %plan.target, op = action.name(), resource = %action.resource(), "operation");
    // Every write is announced before it is sent, so that a process killed between the
    // target's answer and the result's row still leaves the write in the journal (and a
    // disable or delete leaves the record's last state there).
    if action.writes_target() {
        let started = journal_row(ctx, plan, action, Outcome::Started, None, None);
        if let Err(e) = ctx.journal.write(vec![started]).await {
            return vec![Done {
                op: i,
                result: Err(e.clone()),
                fatal: Some(e),
            }];
        }
    }
    let result = match resolved {
        Ok(r) => perform(ctx, plan, &plan.ops[i].action, r).await,
        Err(e) => Err(e),
    };
    vec![finish(ctx, plan, i, result).await]
}

async fn run_batch(ctx: &ApplyContext<'_>, plan: &TargetPlan, batch: Vec<usize>) -> Vec<Done> {
    let mut writes = Vec::with_capacity(batch.len());
    for &i in &batch {
        let w = match &plan.ops[i].action {
            Action::CreateUser { user, .. } => UserWrite::Create {
                user: user.as_ref().clone(),
            },
            Action::UpdateUser { id, changes, .. } => UserWrite::Update {
                id: id.clone(),
                changes: changes.as_ref().clone(),
            },
            Action::EnableUser { id, .. } => UserWrite::SetEnabled {
                id: id.clone(),
                enabled: true,
            },
            Action::DisableUser { id, .. } => UserWrite::SetEnabled {
                id: id.clone(),
                enabled: false,
            },
            Action::DeleteUser { id, .. } => UserWrite::Delete { id: id.clone() },
            // Only user writes are batched (see `Action::is_user_write`).
            _ => continue,
        };
        writes.push((i, w));
    }
    let (ids, batch_writes): (Vec<usize>, Vec<UserWrite>) = writes.into_iter().unzip();
    if let Err(failed) = journal_started(ctx, plan, &ids).await {
        return failed;
    }
    tracing::debug!(target = %plan.target, writes = batch_writes.len(), "user write batch");
    let results = ctx.handle.write_users(batch_writes).await;
    let mut results = results.into_iter();
    let mut outcomes = Vec::new();
    for i in ids {
        let action = &plan.ops[i].action;
        let raw = results.next().unwrap_or_else(|| {
            Err(Error::protocol(
                "the batch returned fewer results than writes",
            ))
        });
        let performed = match (action, raw) {
            (Action::CreateUser { user, .. }, Err(e)) if e.kind() == ErrorKind::AlreadyExists => {
                adopt_existing_user(ctx, plan, action, user, e).await
            }
            (Action::DeleteUser { .. }, Err(e)) if e.kind() == ErrorKind::NotFound => {
                Ok(Performed {
                    created: None,
                    after: None,
                    links: links_after(plan, action, None, None),
                })
            }
            (_, Err(e)) => Err(e),
            (_, Ok(record)) => {
                let created = match action {
                    Action::CreateUser { .. } => match &record {
                        Some(u) => Some(u.id.clone()),
                        None => {
                            outcomes.push((
                                i,
                                Err(Error::protocol(
                                    "the target created a user but returned no record",
                                )),
                            ));
                            continue;
                        }
                    },
                    _ => None,
                };
                Ok(Performed {
                    after: record.as_ref().and_then(to_json),
                    links: links_after(plan, action, created.as_deref(), None),
                    created,
                })
            }
        };
        outcomes.push((i, performed));
    }
    journal_outcomes(ctx, plan, outcomes).await
}

/// Journals a batch's writes as started, in one durable transaction, before anything is
/// sent; when that fails, nothing is sent and every operation of the batch fails with it.
async fn journal_started(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    ids: &[usize],
) -> std::result::Result<(), Vec<Done>> {
    let started: Vec<Write> = ids
        .iter()
        .map(|&i| &plan.ops[i].action)
        .filter(|a| a.writes_target())
        .map(|a| journal_row(ctx, plan, a, Outcome::Started, None, None))
        .collect();
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
async fn journal_outcomes(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    outcomes: Vec<(usize, Result<Performed>)>,
) -> Vec<Done> {
    let mut all_writes = Vec::new();
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

/// Ready membership changes waiting to be sent in batches (see
/// [`Capabilities::members_batch_max`]): by group, or by member where the platform keeps
/// memberships on the member, in the order they became ready.
pub(crate) struct MemberQueue {
    max: usize,
    by_member: bool,
    bulk: bool,
    sets: HashMap<String, VecDeque<(usize, MemberWrite)>>,
    order: VecDeque<String>,
    len: usize,
}

impl MemberQueue {
    /// A queue for a target that takes membership batches, else `None`.
    pub(crate) fn new(caps: &Capabilities) -> Option<MemberQueue> {
        let max = caps.members_batch_max.filter(|m| *m > 1)?;
        Some(MemberQueue {
            max,
            by_member: caps.members_batch_by_member,
            bulk: caps.members_batch_bulk,
            sets: HashMap::new(),
            order: VecDeque::new(),
            len: 0,
        })
    }

    fn key(&self, write: &MemberWrite) -> String {
        if self.by_member {
            match write.member() {
                Principal::User(id) => format!("u:{id}"),
                Principal::Group(id) => format!("g:{id}"),
            }
        } else {
            write.group().to_string()
        }
    }

    /// Queues operation `i`.
    pub(crate) fn push(&mut self, i: usize, write: MemberWrite) {
        let key = self.key(&write);
        let set = self.sets.entry(key.clone()).or_default();
        if set.is_empty() {
            self.order.push_back(key);
        }
        set.push_back((i, write));
        self.len += 1;
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next batch: the ready changes of the group (member) that has waited longest, at
    /// most `max`; on a bulk platform, followed by whole sets of the next ones while they
    /// fit. Two changes of the same membership never share a batch: the later one waits
    /// for the next.
    pub(crate) fn take(&mut self) -> Vec<(usize, MemberWrite)> {
        let mut batch: Vec<(usize, MemberWrite)> = Vec::new();
        let mut pairs: HashSet<(String, Principal)> = HashSet::new();
        while let Some(key) = self.order.front().cloned() {
            let Some(set) = self.sets.get_mut(&key) else {
                self.order.pop_front();
                continue;
            };
            if !batch.is_empty() && (!self.bulk || set.len() > self.max - batch.len()) {
                break;
            }
            let mut left = VecDeque::new();
            while let Some((i, write)) = set.pop_front() {
                if batch.len() < self.max
                    && pairs.insert((write.group().to_string(), write.member().clone()))
                {
                    batch.push((i, write));
                } else {
                    left.push_back((i, write));
                }
            }
            if left.is_empty() {
                self.sets.remove(&key);
                self.order.pop_front();
            } else {
                // What did not fit (or repeats a membership) heads the next batch.
                *set = left;
                break;
            }
            if !self.bulk || batch.len() >= self.max {
                break;
            }
        }
        self.len -= batch.len();
        batch
    }
}

/// The membership write of operation `i`, if it is one and its references resolve.
fn member_write(
    plan: &TargetPlan,
    i: usize,
    created: &HashMap<usize, String>,
) -> Option<MemberWrite> {
    let (Action::AddMember { member, .. } | Action::RemoveMember { member, .. }) =
        &plan.ops[i].action
    else {
        return None;
    };
    let resolved = resolve(plan, i, created).ok()?;
    let (group, pid) = (resolved.group?, resolved.principal?);
    let member = principal(member, pid);
    Some(match plan.ops[i].action {
        Action::AddMember { .. } => MemberWrite::Add { group, member },
        _ => MemberWrite::Remove { group, member },
    })
}

/// Sends a batch of membership changes in one call: each keeps its own journal rows
/// (`started` before the call, its own outcome after) and its own result.
async fn run_member_batch(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    batch: Vec<(usize, MemberWrite)>,
) -> Vec<Done> {
    let (ids, writes): (Vec<usize>, Vec<MemberWrite>) = batch.into_iter().unzip();
    if let Err(failed) = journal_started(ctx, plan, &ids).await {
        return failed;
    }
    tracing::debug!(target = %plan.target, writes = writes.len(), "membership batch");
    let mut results = ctx.handle.write_members(writes).await.into_iter();
    let outcomes = ids
        .into_iter()
        .map(|i| {
            let result = results.next().unwrap_or_else(|| {
                Err(Error::protocol(
                    "the batch returned fewer results than writes",
                ))
            });
            let performed = result.map(|()| Performed {
                created: None,
                after: None,
                links: Vec::new(),
            });
            (i, performed)
        })
        .collect();
    journal_outcomes(ctx, plan, outcomes).await
}

/// A create said "already exists": a run that stopped after creating but before linking,
/// a retried create whose first attempt the target carried out although its answer was
/// lost, or someone else created the account meanwhile. Where the target correlates by
/// login, the existing account is adopted instead of failing: fields that differ from the
/// account the plan wanted to create are updated, and the account is linked. When it
/// cannot be updated, it is linked with an empty fingerprint, so that the next run compares
/// every field.
async fn adopt_existing_user(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    wanted: &NewUser,
    original: Error,
) -> Result<Performed> {
    if !ctx.adopt_existing_login {
        return Err(original);
    }
    let key = norm(&wanted.login);
    let all = ctx.handle.all_users().await?;
    let found = match all.into_iter().find(|u| norm(&u.login) == key) {
        Some(found) if !ctx.handle.protected().user(&found.id) => found,
        _ => return Err(original),
    };
    let changes = adopt_changes(&found, wanted);
    if changes.is_empty() || ctx.handle.capabilities().users_update {
        let account = if changes.is_empty() {
            found
        } else {
            ctx.handle.update_user(&found.id, &changes).await?
        };
        tracing::info!(target = %plan.target, login = %wanted.login, id = %account.id, "account already existed; adopted it");
        return Ok(Performed {
            after: to_json(&account),
            links: links_after(plan, action, Some(&account.id), None),
            created: Some(account.id),
        });
    }
    tracing::info!(target = %plan.target, login = %wanted.login, id = %found.id, "account already existed; linked it");
    Ok(Performed {
        after: to_json(&found),
        links: links_after(plan, action, Some(&found.id), Some("")),
        created: Some(found.id),
    })
}

/// What turns an existing account into the one a create wanted: the email, display name
/// and attributes it asked for, where the account differs.
fn adopt_changes(found: &User, wanted: &NewUser) -> UserChanges {
    let mut changes = UserChanges::default();
    if let Some(email) = &wanted.email {
        if !norm_eq(Some(email), found.email.as_deref()) {
            changes.email = Some(Some(email.clone()));
        }
    }
    if let Some(name) = &wanted.display_name {
        if Some(name.trim()) != found.display_name.as_deref().map(str::trim) {
            changes.display_name = Some(Some(name.clone()));
        }
    }
    if !wanted.attributes.is_empty() && wanted.attributes != found.attributes {
        changes.attributes = Some(wanted.attributes.clone());
    }
    changes
}

/// A group create said "already exists" (see [`adopt_existing_user`]): the group of that
/// name is adopted, its description set where it differs and the target keeps one.
async fn adopt_existing_group(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    wanted: &NewGroup,
    original: Error,
) -> Result<Performed> {
    let h = ctx.handle;
    let key = norm(&wanted.name);
    let all = h.all_groups().await?;
    let found = match all.into_iter().find(|g| norm(&g.name) == key) {
        Some(found) if !h.protected().group(&found.id) => found,
        _ => return Err(original),
    };
    let description = wanted
        .description
        .as_ref()
        .filter(|d| Some(d.trim()) != found.description.as_deref().map(str::trim));
    let caps = h.capabilities();
    let (group, fingerprint) = match description {
        None => (found, None),
        Some(d) if caps.groups_update && caps.groups_description => {
            let changes = GroupChanges {
                description: Some(Some(d.clone())),
                ..Default::default()
            };
            (h.update_group(&found.id, &changes).await?, None)
        }
        Some(_) => (found, Some("")),
    };
    tracing::info!(target = %plan.target, name = %wanted.name, id = %group.id, "group already existed; adopted it");
    Ok(Performed {
        after: to_json(&group),
        links: links_after(plan, action, Some(&group.id), fingerprint),
        created: Some(group.id),
    })
}

async fn perform(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    resolved: Resolved,
) -> Result<Performed> {
    let h = ctx.handle;
    let simple = |after: Option<Value>| Performed {
        created: None,
        after,
        links: links_after(plan, action, None, None),
    };
    match action {
        Action::CreateUser { user, .. } => match h.create_user(user).await {
            Ok(u) => Ok(Performed {
                after: to_json(&u),
                links: links_after(plan, action, Some(&u.id), None),
                created: Some(u.id),
            }),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                adopt_existing_user(ctx, plan, action, user, e).await
            }
            Err(e) => Err(e),
        },
        Action::UpdateUser { id, changes, .. } => {
            let u = h.update_user(id, changes).await?;
            Ok(simple(to_json(&u)))
        }
        Action::EnableUser { id, .. } => {
            let u = h.set_user_enabled(id, true).await?;
            Ok(simple(to_json(&u)))
        }
        Action::DisableUser { id, .. } => {
            let u = h.set_user_enabled(id, false).await?;
            Ok(simple(to_json(&u)))
        }
        Action::DeleteUser { id, .. } => match h.delete_user(id).await {
            Ok(()) => Ok(simple(None)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(simple(None)),
            Err(e) => Err(e),
        },
        Action::RevokeSessions { id, .. } => {
            let caps = h.capabilities();
            let revoked = if caps.sessions_revoke_user {
                h.revoke_user_sessions(id).await?
            } else {
                let sessions = h.all_sessions(Some(id)).await?;
                let mut n = 0u64;
                for s in sessions {
                    match h.revoke_session(&s.id).await {
                        Ok(()) => n += 1,
                        Err(e) if e.kind() == ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                n
            };
            Ok(simple(Some(
                serde_json::json!({ "sessions_revoked": revoked }),
            )))
        }
        Action::LinkUser { .. } | Action::LinkGroup { .. } => Ok(simple(None)),
        Action::CreateGroup { group, .. } => match h.create_group(group).await {
            Ok(g) => Ok(Performed {
                after: to_json(&g),
                links: links_after(plan, action, Some(&g.id), None),
                created: Some(g.id),
            }),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                adopt_existing_group(ctx, plan, action, group, e).await
            }
            Err(e) => Err(e),
        },
        Action::UpdateGroup { id, changes, .. } => {
            let g = h.update_group(id, changes).await?;
            Ok(simple(to_json(&g)))
        }
        Action::DeleteGroup { id, .. } => match h.delete_group(id).await {
            Ok(()) => Ok(simple(None)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(simple(None)),
            Err(e) => Err(e),
        },
        Action::AddMember { member, .. } | Action::RemoveMember { member, .. } => {
            let (Some(group), Some(pid)) = (resolved.group, resolved.principal) else {
                return Err(Error::protocol(
                    "membership operation without a group or member",
                ));
            };
            let p = principal(member, pid);
            if matches!(action, Action::AddMember { .. }) {
                h.add_member(&group, &p).await?;
            } else {
                h.remove_member(&group, &p).await?;
            }
            Ok(simple(None))
        }
        Action::Grant {
            role,
            principal: p,
            scope,
            ..
        }
        | Action::Revoke {
            role,
            principal: p,
            scope,
            ..
        } => {
            let Some(pid) = resolved.principal else {
                return Err(Error::protocol("grant operation without a principal"));
            };
            let grant = Grant {
                role: role.clone(),
                principal: principal(p, pid),
                scope: scope.clone(),
            };
            if matches!(action, Action::Grant { .. }) {
                h.grant(&grant).await?;
            } else {
                h.revoke(&grant).await?;
            }
            Ok(simple(None))
        }
    }
}

#[cfg(test)]
mod tests;
