//! Readable renderings of plans and run reports (JSON is the serde form of each).
//!
//! Plans read like a diff: `+` creates, grants and additions, `~` updates with each
//! field's old and new value, `-` disables, deletes, removals and revocations, `!` session
//! revocations, `=` links recorded without a write.
//!
//! Every value that comes from data (logins, names, e-mails, role names, notes and errors
//! quoting them) goes through [`idbridge_core::text::Escaped`], so that a control character
//! in a name can neither act on the reviewer's terminal nor forge a line of the plan.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use idbridge_core::text::Escaped;
use idbridge_core::{User, UserChanges};

use crate::apply::OpOutcome;
use crate::engine::RunReport;
use crate::guard::GuardViolation;
use crate::plan::{Action, Plan, PrincipalKind, TargetPlan};

/// A value from data, escaped for showing.
fn e(s: &str) -> Escaped<'_> {
    Escaped(s)
}

fn q(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("\"{}\"", e(s)),
        None => "(none)".to_string(),
    }
}

fn field_changes(before: &User, ch: &UserChanges) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(l) = &ch.login {
        out.push(format!("login: \"{}\" -> \"{}\"", e(&before.login), e(l)));
    }
    if let Some(e) = &ch.email {
        out.push(format!("email: {} -> {}", q(&before.email), q(e)));
    }
    if let Some(n) = &ch.display_name {
        out.push(format!(
            "display_name: {} -> {}",
            q(&before.display_name),
            q(n)
        ));
    }
    if let Some(a) = &ch.attributes {
        let mut keys: Vec<&String> = a.keys().chain(before.attributes.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let old = before.attributes.get(k).cloned();
            let new = a.get(k).cloned();
            if old != new {
                out.push(format!("attributes.{}: {} -> {}", e(k), q(&old), q(&new)));
            }
        }
    }
    out
}

fn kind_word(k: PrincipalKind) -> &'static str {
    match k {
        PrincipalKind::User => "user",
        PrincipalKind::Group => "group",
    }
}

/// One operation as diff lines (first line with its sign, details indented).
pub fn op_lines(action: &Action) -> Vec<String> {
    match action {
        Action::CreateUser(user) => {
            let mut detail = Vec::new();
            if let Some(n) = user.display_name() {
                detail.push(e(n).to_string());
            }
            if let Some(e_) = user.email() {
                detail.push(format!("<{}>", e(e_)));
            }
            let tail = if detail.is_empty() {
                String::new()
            } else {
                format!("  ({})", detail.join(" "))
            };
            vec![format!("+ create user {}{tail}", e(user.login()))]
        }
        Action::UpdateUser(u) => {
            let mut v = vec![format!("~ update user {}", e(&u.before.login))];
            v.extend(
                field_changes(&u.before, &u.changes)
                    .into_iter()
                    .map(|c| format!("    {c}")),
            );
            v
        }
        Action::EnableUser(u) => {
            vec![format!(
                "+ enable user {} (back in the source)",
                e(&u.before.login)
            )]
        }
        Action::DisableUser(u) => {
            vec![format!(
                "- disable user {} ({})",
                e(&u.before.login),
                u.reason.as_str()
            )]
        }
        Action::DeleteUser(u) => {
            vec![format!(
                "- delete user {} ({})",
                e(&u.before.login),
                u.reason.as_str()
            )]
        }
        Action::RevokeSessions(r) => {
            let n = if r.sessions.is_empty() {
                String::new()
            } else {
                format!(" ({} live)", r.sessions.len())
            };
            vec![format!("! revoke sessions of {}{n}", e(&r.login))]
        }
        Action::LinkUser(l) if crate::planner::is_stripped_marker(&l.fingerprint) => {
            vec![format!(
                "= record that {} was stripped of its access (no write to the target)",
                e(&l.login)
            )]
        }
        Action::LinkUser(l) if l.adopted_by.is_some() => {
            vec![format!(
                "= adopt user {} (matched by {}; an existing account idbridge did not manage)",
                e(&l.login),
                e(l.adopted_by.as_deref().unwrap_or_default())
            )]
        }
        Action::LinkUser(l) => {
            vec![format!(
                "= link user {} (existing account, already matching)",
                e(&l.login)
            )]
        }
        Action::CreateGroup(c) => vec![format!("+ create group {}", e(&c.group.name))],
        Action::UpdateGroup(u) => {
            let (before, changes) = (&u.before, &u.changes);
            let mut v = vec![format!("~ update group {}", e(&before.name))];
            if let Some(n) = &changes.name {
                v.push(format!("    name: \"{}\" -> \"{}\"", e(&before.name), e(n)));
            }
            if let Some(d) = &changes.description {
                v.push(format!(
                    "    description: {} -> {}",
                    q(&before.description),
                    q(d)
                ));
            }
            v
        }
        Action::DeleteGroup(d) => {
            vec![format!(
                "- delete group {} (no longer in the source)",
                e(&d.before.name)
            )]
        }
        Action::LinkGroup(l) => {
            vec![format!(
                "= link group {} (existing group, already matching)",
                e(&l.name)
            )]
        }
        Action::AddMember { group, member } => vec![format!(
            "+ add {} {} to group {}",
            kind_word(member.kind),
            e(&member.name),
            e(&group.name)
        )],
        Action::RemoveMember { group, member } => vec![format!(
            "- remove {} {} from group {}",
            kind_word(member.kind),
            e(&member.name),
            e(&group.name)
        )],
        Action::Grant(r) => vec![format!(
            "+ grant {} ({}) to {} {}",
            e(&r.role_name),
            e(&r.scope.to_string()),
            kind_word(r.principal.kind),
            e(&r.principal.name)
        )],
        Action::Revoke(r) => vec![format!(
            "- revoke {} ({}) from {} {}",
            e(&r.role_name),
            e(&r.scope.to_string()),
            kind_word(r.principal.kind),
            e(&r.principal.name)
        )],
    }
}

fn count_label(name: &str, n: usize) -> String {
    let label = match name {
        "create_user" => "user(s) to create",
        "update_user" => "user(s) to update",
        "enable_user" => "user(s) to re-enable",
        "disable_user" => "user(s) to disable",
        "delete_user" => "user(s) to delete",
        "revoke_sessions" => "session revocation(s)",
        "link_user" => "user link(s) to record",
        "adopt_user" => "existing account(s) to adopt",
        "create_group" => "group(s) to create",
        "update_group" => "group(s) to update",
        "delete_group" => "group(s) to delete",
        "link_group" => "group link(s) to record",
        "add_member" => "member(s) to add",
        "remove_member" => "member(s) to remove",
        "grant" => "grant(s)",
        "revoke" => "revocation(s) of roles",
        other => other,
    };
    format!("{n} {label}")
}

/// Operation counts by name, in plan order of first appearance.
pub fn counts(plan: &TargetPlan) -> Vec<(String, usize)> {
    let mut order: Vec<String> = Vec::new();
    let mut map: BTreeMap<String, usize> = BTreeMap::new();
    for op in &plan.ops {
        let name = if op.action.is_adoption() {
            "adopt_user".to_string()
        } else {
            op.action.name().to_string()
        };
        let e = map.entry(name.clone()).or_insert(0);
        if *e == 0 {
            order.push(name);
        }
        *e += 1;
    }
    order
        .into_iter()
        .map(|n| {
            let c = map.get(&n).copied().unwrap_or_default();
            (n, c)
        })
        .collect()
}

/// The plan as a readable diff, grouped by target, with counts.
pub fn render_plan(plan: &Plan, violations: &[GuardViolation]) -> String {
    render_plan_limited(plan, violations, None)
}

/// Like [`render_plan`], showing at most `max_ops` operations per target (the counts
/// still cover all of them).
pub fn render_plan_limited(
    plan: &Plan,
    violations: &[GuardViolation],
    max_ops: Option<usize>,
) -> String {
    let mut out = String::new();
    for tp in &plan.targets {
        if let Some(why) = &tp.unavailable {
            let _ = writeln!(
                out,
                "target {} ({}): UNAVAILABLE, skipped (nothing is planned or changed there): {why}\n",
                tp.target, tp.adapter
            );
            continue;
        }
        let _ = writeln!(
            out,
            "target {} ({}): {} managed account(s)",
            e(&tp.target),
            tp.adapter,
            tp.managed_users
        );
        if tp.ops.is_empty() {
            let _ = writeln!(out, "  no changes");
        }
        let shown = max_ops.unwrap_or(usize::MAX);
        for op in tp.ops.iter().take(shown) {
            for line in op_lines(&op.action) {
                let _ = writeln!(out, "  {line}");
            }
        }
        if tp.ops.len() > shown {
            let _ = writeln!(out, "  ... and {} more", tp.ops.len() - shown);
        }
        for h in &tp.held {
            let _ = writeln!(
                out,
                "  = {} held by offboard since {} (by {}): kept disabled; `idbridge offboard --lift {}` ends the hold",
                e(&h.login),
                h.since.format("%Y-%m-%d %H:%M UTC"),
                e(&h.by),
                e(&h.person)
            );
        }
        for c in &tp.can_sign_in {
            let _ = writeln!(
                out,
                "  ! {} ({}): {}",
                e(&c.login),
                c.reason.as_str(),
                e(&c.why)
            );
        }
        for c in &tp.conflicts {
            let target = c
                .target
                .as_ref()
                .map(|a| format!(" with target account `{}` ({})", e(&a.login), e(&a.id)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  ? conflict ({}): {}{target}: {}; nothing is done for it",
                c.kind,
                e(&c.sources.join(", ")),
                e(&c.reason)
            );
        }
        for r in &tp.refused {
            let verb = match r.op.as_str() {
                "adopt_user" => "adopt user",
                "add_member" => "add member",
                other => other,
            };
            let _ = writeln!(
                out,
                "  x refused: {verb} {}: {}",
                e(&r.resource),
                e(&r.reason)
            );
        }
        if !tp.protected.is_empty() {
            let names: Vec<&str> = tp.protected.iter().map(|a| a.login.as_str()).collect();
            let _ = writeln!(out, "  protected (never changed): {}", e(&names.join(", ")));
        }
        if !tp.unmanaged.is_empty() {
            let mut names: Vec<&str> = tp
                .unmanaged
                .iter()
                .map(|a| a.login.as_str())
                .take(10)
                .collect();
            if tp.unmanaged.len() > 10 {
                names.push("...");
            }
            let _ = writeln!(
                out,
                "  unmanaged (not in the source, never linked; left alone): {} account(s): {}",
                tp.unmanaged.len(),
                e(&names.join(", "))
            );
        }
        for n in &tp.notes {
            let _ = writeln!(out, "  note: {}", e(n));
        }
        let c = counts(tp);
        if !c.is_empty() {
            let parts: Vec<String> = c.iter().map(|(n, k)| count_label(n, *k)).collect();
            let _ = writeln!(out, "  summary: {}", parts.join(", "));
        }
        if let Some(v) = violations.iter().find(|v| v.target == tp.target) {
            let _ = writeln!(out, "  REFUSED: {}", e(&v.message));
        }
        out.push('\n');
    }
    let changed = plan.targets.iter().filter(|t| !t.ops.is_empty()).count();
    let down: Vec<String> = plan
        .unavailable()
        .map(|t| e(&t.target).to_string())
        .collect();
    if !down.is_empty() {
        let _ = writeln!(
            out,
            "{} of {} target(s) could not be reached or read and are skipped: {}.",
            down.len(),
            plan.targets.len(),
            down.join(", ")
        );
    }
    let stuck = plan.can_sign_in();
    if plan.is_empty() && stuck > 0 {
        let _ = writeln!(
            out,
            "Nothing to change, but {stuck} account(s) that should have no access can still sign in \
             (see above); deletion = \"delete\" removes them."
        );
    } else if plan.is_empty() && down.is_empty() {
        let _ = writeln!(out, "Nothing to change: every target matches the source.");
    } else if plan.is_empty() {
        let _ = writeln!(out, "Nothing to change in the targets that could be read.");
    } else {
        let _ = writeln!(
            out,
            "{} change(s) planned in {changed} of {} target(s).",
            plan.op_count(),
            plan.targets.len()
        );
    }
    out
}

/// The accounts of a target that can still sign in, one line each.
fn can_sign_in_lines(out: &mut String, t: &crate::apply::TargetReport) {
    for c in &t.can_sign_in {
        let _ = writeln!(
            out,
            "  still able to sign in: {} ({}): {}",
            e(&c.login),
            c.reason.as_str(),
            e(&c.why)
        );
    }
}

/// A run report as text.
pub fn render_run(report: &RunReport) -> String {
    let mut out = String::new();
    for t in &report.targets {
        let _ = write!(out, "target {} ({}): ", e(&t.target), t.adapter);
        if let Some(why) = &t.unavailable {
            let _ = writeln!(out, "UNAVAILABLE, not changed: {}", e(why));
            continue;
        }
        if let Some(why) = &t.refused {
            let _ = writeln!(out, "not changed: {}", e(why));
            continue;
        }
        if t.planned == 0 {
            let _ = writeln!(out, "nothing to do");
            can_sign_in_lines(&mut out, t);
            continue;
        }
        let _ = write!(out, "{} of {} done", t.ok, t.planned);
        if t.failed > 0 {
            let _ = write!(out, ", {} failed", t.failed);
        }
        if t.skipped > 0 {
            let _ = write!(out, ", {} skipped (depend on a failure)", t.skipped);
        }
        if t.not_started > 0 {
            let _ = write!(out, ", {} not started (stopped)", t.not_started);
        }
        out.push('\n');
        if !t.done.is_empty() {
            let parts: Vec<String> = t
                .done
                .iter()
                .map(|(n, k)| format!("{} {k}", e(n)))
                .collect();
            let _ = writeln!(out, "  done: {}", parts.join(", "));
        }
        if let Some(f) = &t.fatal {
            let _ = writeln!(out, "  STOPPED: {}", e(f));
        }
        for p in t.problems.iter().filter(|p| p.outcome == OpOutcome::Failed) {
            let _ = writeln!(
                out,
                "  failed: {} {}: {}",
                e(&p.operation),
                e(&p.resource),
                e(&p.error)
            );
        }
        let skipped = t
            .problems
            .iter()
            .filter(|p| p.outcome == OpOutcome::Skipped)
            .count();
        if skipped > 0 {
            let _ = writeln!(
                out,
                "  skipped: {skipped} operation(s) that depend on the failures above"
            );
        }
        can_sign_in_lines(&mut out, t);
    }
    let stuck: usize = report.targets.iter().map(|t| t.can_sign_in.len()).sum();
    let only_stuck = stuck > 0
        && report.targets.iter().all(|t| {
            t.refused.is_none() && t.fatal.is_none() && t.unavailable.is_none() && t.ok == t.planned
        });
    let _ = writeln!(
        out,
        "run {}: {}",
        report.run,
        match report.outcome {
            idbridge_store::RunOutcome::Succeeded => "every target converged",
            idbridge_store::RunOutcome::Stopped =>
                "stopped on request; the next run finishes the job",
            idbridge_store::RunOutcome::Failed if only_stuck =>
                "not converged: accounts that should have no access can still sign in (see above); \
                 deletion = \"delete\" removes them",
            idbridge_store::RunOutcome::Failed if report.targets.iter().any(|t| t.converged()) =>
                "partly failed: some targets converged, others did not (see above); the next run retries them",
            idbridge_store::RunOutcome::Failed =>
                "some changes were not made (see above); the next run retries them",
            idbridge_store::RunOutcome::Running | idbridge_store::RunOutcome::Interrupted =>
                "did not finish",
        }
    );
    out
}
