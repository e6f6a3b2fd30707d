//! What an operation writes to the state file besides the target: its journal rows
//! (`started` before the write, the outcome after) and the links that follow its success.

use idbridge_store::{Link, LinkKind, NewJournalEntry, Outcome, Write};
use serde::Serialize;
use serde_json::Value;

use super::ApplyContext;
use crate::plan::{Action, TargetPlan};

pub(super) fn to_json<T: Serialize>(v: &T) -> Option<Value> {
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

pub(super) fn journal_row(
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
pub(super) fn outcome_row(
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
pub(super) fn links_after(
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
