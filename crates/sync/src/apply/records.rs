//! What an operation writes to the state file besides the target: its journal rows
//! (`started` before the write, the outcome after) and the links that follow its success.

use idbridge_store::{JsonText, Link, LinkKind, NewJournalEntry, Outcome, Write};
use serde::Serialize;

use super::ApplyContext;
use crate::plan::{Action, TargetPlan};

pub(super) fn to_json<T: Serialize>(v: &T) -> Option<JsonText> {
    JsonText::of(v)
}

fn before_of(action: &Action) -> Option<JsonText> {
    match (action.before_user(), action.before_group()) {
        (Some(u), _) => to_json(u),
        (None, Some(g)) => to_json(g),
        (None, None) => None,
    }
}

pub(super) fn journal_row(
    ctx: &ApplyContext<'_>,
    plan: &TargetPlan,
    action: &Action,
    outcome: Outcome,
    after: Option<JsonText>,
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
        Action::DisableUser(_) | Action::DeleteUser(_) | Action::DeleteGroup(_)
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
    after: Option<JsonText>,
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
    let source_id = action.source_id().unwrap_or_default();
    let fingerprint = action.fingerprint().unwrap_or_default();
    let fingerprint: &str = &fingerprint;
    let id = action.target_id().unwrap_or_default();
    match action {
        Action::CreateUser(_) => created
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
        Action::UpdateUser(_) | Action::EnableUser(_) | Action::LinkUser(_) => {
            vec![upsert(plan, LinkKind::User, source_id, id, fingerprint)]
        }
        Action::DisableUser(d) => match (&d.source_id, &d.fingerprint) {
            (Some(source_id), Some(fp)) => vec![upsert(plan, LinkKind::User, source_id, id, fp)],
            _ => Vec::new(),
        },
        Action::DeleteUser(d) => match &d.source_id {
            Some(source_id) => vec![delete_link(plan, LinkKind::User, source_id)],
            None => Vec::new(),
        },
        Action::CreateGroup(_) => created
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
        Action::UpdateGroup(_) | Action::LinkGroup(_) => {
            vec![upsert(plan, LinkKind::Group, source_id, id, fingerprint)]
        }
        Action::DeleteGroup(d) => match &d.source_id {
            Some(source_id) => vec![delete_link(plan, LinkKind::Group, source_id)],
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}
