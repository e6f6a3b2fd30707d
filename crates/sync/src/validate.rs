//! Checking a saved plan against the targets' current state before applying it exactly.
//!
//! A plan is stale when an operation no longer makes sense: the account it updates was
//! changed or removed, the login it creates now exists, a link appeared for a user it
//! creates (another run got there first), a role it grants is gone. Applying a stale plan
//! could undo someone's change or create a duplicate, so it is refused as a whole.

use std::collections::{HashMap, HashSet};

use idbridge_core::{Group, User};
use idbridge_store::Link;

use crate::plan::{Action, PrincipalKind, Ref, TargetPlan};
use crate::state::{SourceState, TargetState};
use crate::table::{LinkTable, UserRef};
use crate::util::norm;

mod digests;
use digests::DigestSet;

fn user_diff(before: &User, now: UserRef<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let show = |v: Option<&str>| v.map_or("(none)".to_string(), |s| format!("`{s}`"));
    if before.login != now.login {
        out.push(format!("login `{}` -> `{}`", before.login, now.login));
    }
    if before.email.as_deref() != now.email {
        out.push(format!(
            "email {} -> {}",
            show(before.email.as_deref()),
            show(now.email)
        ));
    }
    if before.display_name.as_deref() != now.display_name {
        out.push(format!(
            "display_name {} -> {}",
            show(before.display_name.as_deref()),
            show(now.display_name)
        ));
    }
    if before.enabled != now.enabled {
        out.push(format!("enabled {} -> {}", before.enabled, now.enabled));
    }
    if &before.attributes != now.attributes {
        out.push("attributes changed".to_string());
    }
    out
}

fn group_diff(before: &Group, now: &Group) -> Vec<String> {
    let mut out = Vec::new();
    if before.name != now.name {
        out.push(format!("name `{}` -> `{}`", before.name, now.name));
    }
    if before.description != now.description {
        out.push("description changed".to_string());
    }
    out
}

/// The reasons `plan` can no longer be applied to a target in state `now` with the stored
/// links `user_links` and `group_links`; empty when it can.
pub fn stale_reasons(
    plan: &TargetPlan,
    now: &TargetState,
    user_links: &LinkTable,
    group_links: &[Link],
) -> Vec<String> {
    let users: HashMap<&str, UserRef<'_>> = now.users.iter().map(|u| (u.id, u)).collect();
    let logins: HashMap<String, UserRef<'_>> =
        now.users.iter().map(|u| (norm(u.login), u)).collect();
    let groups: HashMap<&str, &Group> = now.groups.iter().map(|g| (g.id.as_str(), g)).collect();
    let group_names: HashMap<String, &Group> =
        now.groups.iter().map(|g| (norm(&g.name), g)).collect();
    let roles: HashSet<&str> = now.roles.iter().map(|r| r.id.as_str()).collect();
    let glinks: HashMap<&str, &Link> = group_links
        .iter()
        .map(|l| (l.source_id.as_str(), l))
        .collect();
    let mut out = Vec::new();
    let mut say = |i: usize, action: &Action, why: String| {
        out.push(format!(
            "operation {i} ({} {}): {why}",
            action.name(),
            action.resource()
        ));
    };
    let user_gone = |id: &str| !users.contains_key(id);
    for (step, op) in plan.ops.iter().enumerate() {
        let a = &op.action;
        match a {
            Action::CreateUser(c) => {
                let source_id = c.source_id();
                if let Some(existing) = logins.get(&norm(c.login())) {
                    say(
                        step,
                        a,
                        format!(
                            "an account with this login now exists (id `{}`)",
                            existing.id
                        ),
                    );
                } else if let Some(l) = user_links.get(source_id) {
                    if users.contains_key(l.target_id) {
                        say(
                            step,
                            a,
                            format!("the source user is now linked to account `{}`", l.target_id),
                        );
                    }
                }
            }
            Action::UpdateUser(_)
            | Action::EnableUser(_)
            | Action::DisableUser(_)
            | Action::DeleteUser(_) => match a.target_id().and_then(|id| users.get(id)) {
                None => say(step, a, "the account no longer exists".into()),
                Some(now) => {
                    let Some(before) = a.before_user() else {
                        continue;
                    };
                    let d = user_diff(before, *now);
                    if !d.is_empty() {
                        say(
                            step,
                            a,
                            format!(
                                "the account changed since the plan was made: {}",
                                d.join(", ")
                            ),
                        );
                    }
                }
            },
            Action::RevokeSessions(_) | Action::LinkUser(_) => {
                if a.target_id().is_none_or(user_gone) {
                    say(step, a, "the account no longer exists".into());
                }
            }
            Action::CreateGroup(c) => {
                let (source_id, group) = (&c.source_id, &c.group);
                if let Some(existing) = group_names.get(&norm(&group.name)) {
                    say(
                        step,
                        a,
                        format!("a group with this name now exists (id `{}`)", existing.id),
                    );
                } else if let Some(l) = glinks.get(source_id.as_str()) {
                    if groups.contains_key(l.target_id.as_str()) {
                        say(
                            step,
                            a,
                            format!("the source group is now linked to group `{}`", l.target_id),
                        );
                    }
                }
            }
            Action::UpdateGroup(_) | Action::DeleteGroup(_) => {
                match a.target_id().and_then(|id| groups.get(id)) {
                    None => say(step, a, "the group no longer exists".into()),
                    Some(now) => {
                        let Some(before) = a.before_group() else {
                            continue;
                        };
                        let d = group_diff(before, now);
                        if !d.is_empty() {
                            say(
                                step,
                                a,
                                format!(
                                    "the group changed since the plan was made: {}",
                                    d.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
            Action::LinkGroup(l) => {
                if !groups.contains_key(l.id.as_str()) {
                    say(step, a, "the group no longer exists".into());
                }
            }
            Action::AddMember { group, member } | Action::RemoveMember { group, member } => {
                if let Ref::Id(g) = &group.at {
                    if !groups.contains_key(g.as_ref()) {
                        say(step, a, format!("group `{}` no longer exists", group.name));
                    }
                }
                if let Ref::Id(m) = &member.at {
                    let gone = match member.kind {
                        PrincipalKind::User => user_gone(m),
                        PrincipalKind::Group => !groups.contains_key(m.as_ref()),
                    };
                    if gone {
                        say(
                            step,
                            a,
                            format!("member `{}` no longer exists", member.name),
                        );
                    }
                }
            }
            Action::Grant(r) | Action::Revoke(r) => {
                let (role, principal, role_name) = (&r.role, &r.principal, &r.role_name);
                if !roles.contains(role.as_str()) {
                    say(step, a, format!("role `{role_name}` no longer exists"));
                }
                if let Ref::Id(m) = &principal.at {
                    let gone = match principal.kind {
                        PrincipalKind::User => user_gone(m),
                        PrincipalKind::Group => !groups.contains_key(m.as_ref()),
                    };
                    if gone {
                        say(step, a, format!("`{}` no longer exists", principal.name));
                    }
                }
            }
        }
    }
    out
}

/// What identifies an operation across two plans of the same target: its kind and the
/// records it addresses, with the fingerprint of the desired state when it has one, but
/// not its number or what it saw of the target (that is [`stale_reasons`]' concern).
/// Written into `out` as text; two operations are alike when their texts are the same.
fn write_op_key(
    out: &mut impl std::fmt::Write,
    plan: &TargetPlan,
    action: &Action,
) -> std::fmt::Result {
    let name = action.name();
    let source_id = action.source_id().unwrap_or_default();
    let fingerprint = action.fingerprint().unwrap_or_default();
    let id = action.target_id().unwrap_or_default();
    let at = |r| At(plan, r);
    match action {
        Action::CreateUser(_)
        | Action::CreateGroup(_)
        | Action::LinkUser(_)
        | Action::LinkGroup(_) => write!(out, "{name} {source_id} {fingerprint}"),
        Action::UpdateUser(_) | Action::EnableUser(_) | Action::UpdateGroup(_) => {
            write!(out, "{name} {source_id} {id} {fingerprint}")
        }
        Action::DisableUser(d) => {
            write!(out, "{name} {id} {} {:?}", d.reason.as_str(), d.fingerprint)
        }
        Action::DeleteUser(d) => write!(out, "{name} {id} {}", d.reason.as_str()),
        Action::DeleteGroup(_) | Action::RevokeSessions(_) => write!(out, "{name} {id}"),
        Action::AddMember { group, member } | Action::RemoveMember { group, member } => write!(
            out,
            "{name} {} {:?} {}",
            at(&group.at),
            member.kind,
            at(&member.at)
        ),
        Action::Grant(r) | Action::Revoke(r) => write!(
            out,
            "{name} {} {} {:?} {}",
            r.role,
            r.scope,
            r.principal.kind,
            at(&r.principal.at)
        ),
    }
}

/// A record an operation addresses, as its key names it: an existing record by id, one
/// the plan creates by its source record (the numbers of two plans differ).
struct At<'a>(&'a TargetPlan, &'a Ref);

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Ref::Id(id) => write!(f, "id:{id}"),
            Ref::Created(n) => match self.0.ops.get(*n).map(|o| &o.action) {
                Some(Action::CreateUser(c)) => write!(f, "new-user:{}", c.source_id()),
                Some(Action::CreateGroup(c)) => write!(f, "new-group:{}", c.source_id),
                _ => write!(f, "new:{n}"),
            },
        }
    }
}

/// A 128-bit digest of an operation's key (two SipHashes with fixed keys, fed the key as
/// it is written: no text is made), compared only within one process: two distinct keys
/// share one with odds of about 2^-100 for a plan of millions of operations.
fn key_digest(plan: &TargetPlan, action: &Action) -> u128 {
    use std::hash::{Hash, Hasher};
    struct Digest([std::hash::DefaultHasher; 2]);
    impl std::fmt::Write for Digest {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for h in &mut self.0 {
                h.write(s.as_bytes());
            }
            Ok(())
        }
    }
    let mut d = Digest([
        std::hash::DefaultHasher::new(),
        std::hash::DefaultHasher::new(),
    ]);
    for (salt, h) in (0u8..).zip(&mut d.0) {
        salt.hash(h);
    }
    // Writing into hashers cannot fail.
    let _ = write_op_key(&mut d, plan, action);
    let [a, b] = d.0.map(|h| h.finish());
    (u128::from(a) << 64) | u128::from(b)
}

/// The operations of a saved target plan that the source no longer calls for: `fresh` is
/// the plan made now from the current source and target state, and `source` the source
/// as read now. An operation of `saved` with no like operation in `fresh` is stale: its
/// source record vanished or changed since the plan was made (or the source's groups,
/// memberships or roles it follows did). Returns each stale operation's number with why,
/// naming the source record. `fresh` is used up as it is read, so that it and what is
/// kept of it are not held whole at once.
pub fn source_stale(
    saved: &TargetPlan,
    mut fresh: TargetPlan,
    source: &SourceState,
) -> Vec<(usize, String)> {
    // 128-bit digests of the keys rather than the keys, sorted in one list: a plan of
    // millions of operations is compared without a string or a hash table entry per
    // operation. Taken from the last operation back (an operation's key names only
    // earlier ones), each freed once read, and the list of operations shortened as it
    // goes, so that the digests take the room the operations leave.
    let mut wanted: Vec<u128> = Vec::with_capacity(fresh.ops.len());
    while let Some(action) = fresh.ops.pop() {
        wanted.push(key_digest(&fresh, &action));
        if fresh.ops.len() % (1 << 20) == 0 {
            fresh.ops.shrink_to_fit();
        }
    }
    drop(fresh);
    let wanted = DigestSet::new(wanted);
    let group_names: HashMap<&str, &str> = source
        .groups
        .iter()
        .flatten()
        .map(|g| (g.id.as_str(), g.name.as_str()))
        .collect();
    let mut out = Vec::new();
    for (step, op) in saved.ops.iter().enumerate() {
        let a = &op.action;
        if wanted.contains(key_digest(saved, a)) {
            continue;
        }
        let is_group = matches!(
            a,
            Action::CreateGroup(_)
                | Action::UpdateGroup(_)
                | Action::LinkGroup(_)
                | Action::DeleteGroup(_)
        );
        let why = match a.source_id() {
            Some(sid) if is_group => match group_names.get(sid) {
                None => format!("the source group `{sid}` is no longer in the source"),
                Some(name) => {
                    format!("the source group `{sid}` (`{name}`) changed since the plan was made")
                }
            },
            Some(sid) => match source.users.find(sid).map(|p| source.users.get(p)) {
                None => format!("the source user `{sid}` is no longer in the source"),
                Some(u) if matches!(a, Action::DisableUser(_) | Action::DeleteUser(_)) => {
                    format!(
                        "the source user `{sid}` (`{}`) changed since the plan was made, \
                        and no longer calls for it",
                        u.login
                    )
                }
                Some(u) => format!(
                    "the source user `{sid}` (`{}`) changed since the plan was made",
                    u.login
                ),
            },
            None => "the source no longer calls for it (its records changed since the plan \
            was made)"
                .to_string(),
        };
        out.push((
            step,
            format!("operation {} ({} {}): {why}", step, a.name(), a.resource()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{CreateUser, DisableUser, Reason};
    use crate::table::UserTable;
    use idbridge_core::NewUser;

    fn user(id: &str, login: &str) -> User {
        User {
            id: id.into(),
            login: login.into(),
            email: None,
            display_name: None,
            enabled: true,
            attributes: Default::default(),
        }
    }

    #[test]
    fn unchanged_targets_accept_the_plan_and_changed_ones_refuse_it() {
        let mut plan = TargetPlan::new("bi", "file");
        plan.push(
            Action::DisableUser(Box::new(DisableUser {
                source_id: None,
                id: "T1".into(),
                before: user("T1", "bob"),
                reason: Reason::Left,
                fingerprint: None,
            })),
            vec![],
        );
        plan.push(
            Action::CreateUser(CreateUser::new("s2", &NewUser::new("ada"), "f")),
            vec![],
        );
        let state = |users: Vec<User>| TargetState {
            users: UserTable::from_users(users).expect("users"),
            ..Default::default()
        };
        let none = LinkTable::new();
        let now = state(vec![user("T1", "bob")]);
        assert!(stale_reasons(&plan, &now, &none, &[]).is_empty());

        let mut bob = user("T1", "bob");
        bob.enabled = false;
        let now = state(vec![bob, user("T7", "ADA")]);
        let reasons = stale_reasons(&plan, &now, &none, &[]);
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("enabled true -> false"), "{reasons:?}");
        assert!(reasons[1].contains("now exists (id `T7`)"), "{reasons:?}");

        let reasons = stale_reasons(&plan, &state(vec![]), &none, &[]);
        assert!(reasons[0].contains("no longer exists"), "{reasons:?}");
    }
}
