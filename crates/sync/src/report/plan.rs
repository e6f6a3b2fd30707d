//! The plan as readable text, written as it is rendered: a first sync of a million users
//! is 18 million operations and close to a gigabyte of text, which is never held whole.

use std::fmt::{self, Write};

use idbridge_core::{User, UserChanges};

use super::e;
use crate::guard::GuardViolation;
use crate::plan::{Action, Plan, PrincipalKind, TargetPlan};

/// `"value"` escaped, or `(none)`.
struct Quoted<'a>(Option<&'a str>);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, "\"{}\"", e(s)),
            None => f.write_str("(none)"),
        }
    }
}

fn q(v: &Option<String>) -> Quoted<'_> {
    Quoted(v.as_deref())
}

/// The changed fields of a user update, one line each after `indent`.
fn write_field_changes(
    out: &mut impl Write,
    indent: &str,
    before: &User,
    ch: &UserChanges,
) -> fmt::Result {
    if let Some(l) = &ch.login {
        writeln!(
            out,
            "{indent}login: \"{}\" -> \"{}\"",
            e(&before.login),
            e(l)
        )?;
    }
    if let Some(m) = &ch.email {
        writeln!(out, "{indent}email: {} -> {}", q(&before.email), q(m))?;
    }
    if let Some(n) = &ch.display_name {
        writeln!(
            out,
            "{indent}display_name: {} -> {}",
            q(&before.display_name),
            q(n)
        )?;
    }
    if let Some(a) = &ch.attributes {
        let mut keys: Vec<&String> = a.keys().chain(before.attributes.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let old = before.attributes.get(k).map(String::as_str);
            let new = a.get(k).map(String::as_str);
            if old != new {
                writeln!(
                    out,
                    "{indent}attributes.{}: {} -> {}",
                    e(k),
                    Quoted(old),
                    Quoted(new)
                )?;
            }
        }
    }
    Ok(())
}

fn kind_word(k: PrincipalKind) -> &'static str {
    match k {
        PrincipalKind::User => "user",
        PrincipalKind::Group => "group",
    }
}

/// Writes one operation as diff lines, each after `indent` and ending in a newline: the
/// first with its sign, details indented by four more spaces.
///
/// # Errors
/// The first error of `out`.
pub fn write_op(out: &mut impl Write, indent: &str, action: &Action) -> fmt::Result {
    match action {
        Action::CreateUser(user) => {
            write!(out, "{indent}+ create user {}", e(user.login()))?;
            match (user.display_name(), user.email()) {
                (Some(n), Some(m)) => write!(out, "  ({} <{}>)", e(n), e(m))?,
                (Some(n), None) => write!(out, "  ({})", e(n))?,
                (None, Some(m)) => write!(out, "  (<{}>)", e(m))?,
                (None, None) => {}
            }
            out.write_char('\n')
        }
        Action::UpdateUser(u) => {
            writeln!(out, "{indent}~ update user {}", e(&u.before.login))?;
            write_field_changes(out, &format!("{indent}    "), &u.before, &u.changes)
        }
        Action::EnableUser(u) => writeln!(
            out,
            "{indent}+ enable user {} (back in the source)",
            e(&u.before.login)
        ),
        Action::DisableUser(u) => writeln!(
            out,
            "{indent}- disable user {} ({})",
            e(&u.before.login),
            u.reason.as_str()
        ),
        Action::DeleteUser(u) => writeln!(
            out,
            "{indent}- delete user {} ({})",
            e(&u.before.login),
            u.reason.as_str()
        ),
        Action::RevokeSessions(r) => {
            write!(out, "{indent}! revoke sessions of {}", e(&r.login))?;
            if !r.sessions.is_empty() {
                write!(out, " ({} live)", r.sessions.len())?;
            }
            out.write_char('\n')
        }
        Action::LinkUser(l) if crate::planner::is_stripped_marker(&l.fingerprint) => writeln!(
            out,
            "{indent}= record that {} was stripped of its access (no write to the target)",
            e(&l.login)
        ),
        Action::LinkUser(l) if l.adopted_by.is_some() => writeln!(
            out,
            "{indent}= adopt user {} (matched by {}; an existing account idbridge did not manage)",
            e(&l.login),
            e(l.adopted_by.as_deref().unwrap_or_default())
        ),
        Action::LinkUser(l) => writeln!(
            out,
            "{indent}= link user {} (existing account, already matching)",
            e(&l.login)
        ),
        Action::CreateGroup(c) => writeln!(out, "{indent}+ create group {}", e(&c.group.name)),
        Action::UpdateGroup(u) => {
            let (before, changes) = (&u.before, &u.changes);
            writeln!(out, "{indent}~ update group {}", e(&before.name))?;
            if let Some(n) = &changes.name {
                writeln!(
                    out,
                    "{indent}    name: \"{}\" -> \"{}\"",
                    e(&before.name),
                    e(n)
                )?;
            }
            if let Some(d) = &changes.description {
                writeln!(
                    out,
                    "{indent}    description: {} -> {}",
                    q(&before.description),
                    q(d)
                )?;
            }
            Ok(())
        }
        Action::DeleteGroup(d) => writeln!(
            out,
            "{indent}- delete group {} (no longer in the source)",
            e(&d.before.name)
        ),
        Action::LinkGroup(l) => writeln!(
            out,
            "{indent}= link group {} (existing group, already matching)",
            e(&l.name)
        ),
        Action::AddMember { group, member } => writeln!(
            out,
            "{indent}+ add {} {} to group {}",
            kind_word(member.kind),
            e(&member.name),
            e(&group.name)
        ),
        Action::RemoveMember { group, member } => writeln!(
            out,
            "{indent}- remove {} {} from group {}",
            kind_word(member.kind),
            e(&member.name),
            e(&group.name)
        ),
        Action::Grant(r) => writeln!(
            out,
            "{indent}+ grant {} ({}) to {} {}",
            e(&r.role_name),
            e(&r.scope.to_string()),
            kind_word(r.principal.kind),
            e(&r.principal.name)
        ),
        Action::Revoke(r) => writeln!(
            out,
            "{indent}- revoke {} ({}) from {} {}",
            e(&r.role_name),
            e(&r.scope.to_string()),
            kind_word(r.principal.kind),
            e(&r.principal.name)
        ),
    }
}

/// One operation as diff lines (first line with its sign, details indented).
pub fn op_lines(action: &Action) -> Vec<String> {
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = write_op(&mut text, "", action);
    text.lines().map(str::to_string).collect()
}

/// The names operations are counted under, in [`count_label`]'s words.
const COUNTED: [(&str, &str); 16] = [
    ("create_user", "user(s) to create"),
    ("update_user", "user(s) to update"),
    ("enable_user", "user(s) to re-enable"),
    ("disable_user", "user(s) to disable"),
    ("delete_user", "user(s) to delete"),
    ("revoke_sessions", "session revocation(s)"),
    ("link_user", "user link(s) to record"),
    ("adopt_user", "existing account(s) to adopt"),
    ("create_group", "group(s) to create"),
    ("update_group", "group(s) to update"),
    ("delete_group", "group(s) to delete"),
    ("link_group", "group link(s) to record"),
    ("add_member", "member(s) to add"),
    ("remove_member", "member(s) to remove"),
    ("grant", "grant(s)"),
    ("revoke", "revocation(s) of roles"),
];

/// Where an operation is counted in [`COUNTED`].
fn counted_as(action: &Action) -> usize {
    match action {
        Action::CreateUser(_) => 0,
        Action::UpdateUser(_) => 1,
        Action::EnableUser(_) => 2,
        Action::DisableUser(_) => 3,
        Action::DeleteUser(_) => 4,
        Action::RevokeSessions(_) => 5,
        Action::LinkUser(l) if l.adopted_by.is_some() => 7,
        Action::LinkUser(_) => 6,
        Action::CreateGroup(_) => 8,
        Action::UpdateGroup(_) => 9,
        Action::DeleteGroup(_) => 10,
        Action::LinkGroup(_) => 11,
        Action::AddMember { .. } => 12,
        Action::RemoveMember { .. } => 13,
        Action::Grant(_) => 14,
        Action::Revoke(_) => 15,
    }
}

/// Operation counts by name (`adopt_user` for adoptions), in plan order of first
/// appearance.
pub fn counts(plan: &TargetPlan) -> Vec<(String, usize)> {
    let mut n = [0usize; COUNTED.len()];
    let mut order: Vec<usize> = Vec::new();
    for op in &plan.ops {
        let i = counted_as(&op.action);
        if n[i] == 0 {
            order.push(i);
        }
        n[i] += 1;
    }
    order
        .into_iter()
        .map(|i| (COUNTED[i].0.to_string(), n[i]))
        .collect()
}

/// `3 user(s) to create`.
fn count_label(name: &str, n: usize) -> String {
    let label = COUNTED
        .iter()
        .find(|(k, _)| *k == name)
        .map_or(name, |(_, label)| label);
    format!("{n} {label}")
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
    // Writing to a String cannot fail.
    let _ = write_plan(&mut out, plan, violations, max_ops);
    out
}

/// Writes the text of [`render_plan_limited`] to `out` as it is rendered, one line at a
/// time (`out` is best buffered).
///
/// # Errors
/// The first error of `out`; nothing more is written after it.
pub fn write_plan(
    out: &mut impl Write,
    plan: &Plan,
    violations: &[GuardViolation],
    max_ops: Option<usize>,
) -> fmt::Result {
    for tp in &plan.targets {
        write_target(out, tp, violations, max_ops)?;
    }
    let changed = plan.targets.iter().filter(|t| !t.ops.is_empty()).count();
    let down: Vec<String> = plan
        .unavailable()
        .map(|t| e(&t.target).to_string())
        .collect();
    if !down.is_empty() {
        writeln!(
            out,
            "{} of {} target(s) could not be reached or read and are skipped: {}.",
            down.len(),
            plan.targets.len(),
            down.join(", ")
        )?;
    }
    let stuck = plan.can_sign_in();
    if plan.is_empty() && stuck > 0 {
        writeln!(
            out,
            "Nothing to change, but {stuck} account(s) that should have no access can still sign in \
             (see above); deletion = \"delete\" removes them."
        )
    } else if plan.is_empty() && down.is_empty() {
        writeln!(out, "Nothing to change: every target matches the source.")
    } else if plan.is_empty() {
        writeln!(out, "Nothing to change in the targets that could be read.")
    } else {
        writeln!(
            out,
            "{} change(s) planned in {changed} of {} target(s).",
            plan.op_count(),
            plan.targets.len()
        )
    }
}

/// One target's part of [`write_plan`], with the empty line after it.
fn write_target(
    out: &mut impl Write,
    tp: &TargetPlan,
    violations: &[GuardViolation],
    max_ops: Option<usize>,
) -> fmt::Result {
    if let Some(why) = &tp.unavailable {
        return writeln!(
            out,
            "target {} ({}): UNAVAILABLE, skipped (nothing is planned or changed there): {why}\n",
            tp.target, tp.adapter
        );
    }
    writeln!(
        out,
        "target {} ({}): {} managed account(s)",
        e(&tp.target),
        tp.adapter,
        tp.managed_users
    )?;
    if tp.ops.is_empty() {
        writeln!(out, "  no changes")?;
    }
    let shown = max_ops.unwrap_or(usize::MAX);
    for op in tp.ops.iter().take(shown) {
        write_op(out, "  ", &op.action)?;
    }
    if tp.ops.len() > shown {
        writeln!(out, "  ... and {} more", tp.ops.len() - shown)?;
    }
    for h in &tp.held {
        writeln!(
            out,
            "  = {} held by offboard since {} (by {}): kept disabled; `idbridge offboard --lift {}` ends the hold",
            e(&h.login),
            h.since.format("%Y-%m-%d %H:%M UTC"),
            e(&h.by),
            e(&h.person)
        )?;
    }
    for c in &tp.can_sign_in {
        writeln!(
            out,
            "  ! {} ({}): {}",
            e(&c.login),
            c.reason.as_str(),
            e(&c.why)
        )?;
    }
    for c in &tp.conflicts {
        let target = c
            .target
            .as_ref()
            .map(|a| format!(" with target account `{}` ({})", e(&a.login), e(&a.id)))
            .unwrap_or_default();
        writeln!(
            out,
            "  ? conflict ({}): {}{target}: {}; nothing is done for it",
            c.kind,
            e(&c.sources.join(", ")),
            e(&c.reason)
        )?;
    }
    for r in &tp.refused {
        let verb = match r.op.as_str() {
            "adopt_user" => "adopt user",
            "add_member" => "add member",
            other => other,
        };
        writeln!(
            out,
            "  x refused: {verb} {}: {}",
            e(&r.resource),
            e(&r.reason)
        )?;
    }
    if !tp.protected.is_empty() {
        let names: Vec<&str> = tp.protected.iter().map(|a| a.login.as_str()).collect();
        writeln!(out, "  protected (never changed): {}", e(&names.join(", ")))?;
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
        writeln!(
            out,
            "  unmanaged (not in the source, never linked; left alone): {} account(s): {}",
            tp.unmanaged.len(),
            e(&names.join(", "))
        )?;
    }
    for n in &tp.notes {
        writeln!(out, "  note: {}", e(n))?;
    }
    let c = counts(tp);
    if !c.is_empty() {
        let parts: Vec<String> = c.iter().map(|(n, k)| count_label(n, *k)).collect();
        writeln!(out, "  summary: {}", parts.join(", "))?;
    }
    if let Some(v) = violations.iter().find(|v| v.target == tp.target) {
        writeln!(out, "  REFUSED: {}", e(&v.message))?;
    }
    out.write_char('\n')
}
