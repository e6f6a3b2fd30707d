//! Diff of the memberships: the members each synced group should have (flattened where
//! the target has no nested groups) against those it has; only managed members are
//! removed, and nothing is ever added to a privileged group.

use std::sync::Arc;

use hashbrown::HashSet;

use idbridge_core::Principal;

use crate::plan::{Action, GroupRef, PrincipalKind, PrincipalRef, Ref, Refused};
use crate::settings::DeletionPolicy;
use crate::table::UserTable;

use super::{Planner, UserTarget};

/// A current member the plan removes.
enum Member {
    /// The account at this position of the target's users.
    Account(usize),
    /// Any other member (a group).
    Other(Principal),
}

impl<'i> Planner<'_, 'i> {
    /// What every source user is in this target, for memberships and grants.
    pub(super) fn user_refs(&mut self) {
        let mut refs = Vec::with_capacity(self.users.desired.len());
        for i in 0..self.users.desired.len() {
            let r = match (
                &self.users.desired[i],
                self.users.claim[i].get(),
                self.users.created[i],
            ) {
                _ if self.users.conflicted[i] => UserTarget::Absent,
                (Some(_), Some(t), _)
                    if !self.accounts.protected[t] && !self.accounts.contained[t] =>
                {
                    UserTarget::Existing(t)
                }
                (Some(_), None, Some(op)) => UserTarget::Created(op),
                _ => UserTarget::Absent,
            };
            refs.push(r);
        }
        self.users.target = refs;
    }

    pub(super) fn memberships(&mut self) {
        let Some(gm) = self.groups.matched.take() else {
            return;
        };
        let nested = self.caps.members_nested;
        let tusers: &'i UserTable = &self.input.state.users;
        let tgroups = &self.input.state.groups;
        let members = &self.input.state.members;
        // Per-group marks, stamped with the group's index so that they need no clearing:
        // which source users were already taken, which accounts are wanted and which are
        // members now.
        let mut seen_src = vec![usize::MAX; self.users.desired.len()];
        let mut wanted_t = vec![usize::MAX; tusers.len()];
        let mut present_t = vec![usize::MAX; tusers.len()];
        let mut removals: Vec<(Arc<GroupRef>, Member)> = Vec::new();
        // One shared reference per user, named by all its operations in this target.
        let mut ref_cache: Vec<Option<Arc<PrincipalRef>>> = vec![None; self.users.desired.len()];
        // A few Arcs per group; the loop below needs `self` for the rest.
        let group_refs = self.groups.refs.clone();
        let (mut skipped_adds, mut skipped_removals) = (0usize, 0usize);
        // Room at once for the direct members of the groups this plan creates, which all
        // join: a list of millions of operations that doubles as it grows holds both
        // copies while it moves.
        let joining: usize = group_refs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.as_ref().is_some_and(|r| matches!(r.at, Ref::Created(_))))
            .map(|(g, _)| self.src.direct_users[g].len())
            .sum();
        self.plan.ops.reserve(joining);
        for (g, gref) in group_refs.iter().enumerate() {
            let Some(gref) = gref else { continue };
            if let Ref::Id(id) = &gref.at {
                let at = self.groups.by_id.get(id.as_ref()).copied();
                if at.is_some_and(|t| self.groups.privileged[t]) {
                    self.refuse_privileged_adds(g, gref, members.get(id));
                    continue;
                }
                if at.is_some_and(|t| self.group_protected(&tgroups[t])) {
                    continue;
                }
            }
            let current = match &gref.at {
                Ref::Id(id) => match members.get(id) {
                    Some(m) => Some(m),
                    None => {
                        self.plan.notes.push(format!(
                            "members of group `{}` were not read; its memberships are left as they are",
                            gref.name
                        ));
                        continue;
                    }
                },
                Ref::Created(_) => None,
            };
            if let Some(cur) = current {
                self.plan.managed_memberships += cur.len();
                for &t in &cur.users {
                    present_t[t as usize] = g;
                }
            }
            let current_others: HashSet<(bool, &str)> = current
                .map(|m| m.others.iter().map(|p| (p.is_group(), p.id())).collect())
                .unwrap_or_default();
            // Desired members, in a stable order: source users (directly or through groups
            // that are not synced), then groups.
            let mut users: Vec<usize> = Vec::new();
            let mut groups: Vec<PrincipalRef> = Vec::new();
            let mut take = |u: usize, users: &mut Vec<usize>| {
                if seen_src[u] != g {
                    seen_src[u] = g;
                    users.push(u);
                }
            };
            if nested {
                for &u in &self.src.direct_users[g] {
                    take(u, &mut users);
                }
                for &c in &self.src.child_groups[g] {
                    match self.group_principal(c) {
                        Some(p) => {
                            if !groups.contains(&p) {
                                groups.push(p);
                            }
                        }
                        None => {
                            for &u in self.src.users_in(c) {
                                take(u, &mut users);
                            }
                        }
                    }
                }
            } else {
                for &u in self.src.users_in(g) {
                    take(u, &mut users);
                }
            }
            let mut adds: Vec<Arc<PrincipalRef>> = Vec::new();
            for u in users {
                let add = match self.users.target[u] {
                    UserTarget::Absent => false,
                    UserTarget::Existing(t) => {
                        wanted_t[t] = g;
                        current.is_none() || present_t[t] != g
                    }
                    UserTarget::Created(_) => true,
                };
                if add {
                    if ref_cache[u].is_none() {
                        ref_cache[u] = self.user_ref(u).map(|m| self.src.member(u, m));
                    }
                    adds.extend(ref_cache[u].clone());
                }
            }
            let mut wanted_groups: HashSet<Arc<str>> = HashSet::new();
            for p in groups {
                let present = match &p.at {
                    Ref::Id(id) => {
                        wanted_groups.insert(id.clone());
                        current_others.contains(&(true, id.as_ref()))
                    }
                    Ref::Created(_) => false,
                };
                if !present {
                    adds.push(Arc::new(p));
                }
            }
            if !self.caps.members_add {
                skipped_adds += adds.len();
            } else {
                for m in adds {
                    let deps = Self::deps_of(&[&gref.at, &m.at]);
                    self.plan.push(
                        Action::AddMember {
                            group: gref.clone(),
                            member: m,
                        },
                        deps,
                    );
                }
            }
            if let (Some(cur), false) = (current, self.caps.members_remove) {
                skipped_removals += cur
                    .users
                    .iter()
                    .filter(|&&t| wanted_t[t as usize] != g && self.accounts.active[t as usize])
                    .count();
            }
            if let (Some(cur), true) = (current, self.caps.members_remove) {
                for &t in &cur.users {
                    let t = t as usize;
                    if wanted_t[t] != g && self.accounts.active[t] {
                        removals.push((gref.clone(), Member::Account(t)));
                    }
                }
                for p in &cur.others {
                    let wanted = p.is_group() && wanted_groups.contains(p.id());
                    if !wanted && self.is_active_principal(p) {
                        removals.push((gref.clone(), Member::Other(p.clone())));
                    }
                }
            }
        }
        if skipped_adds > 0 {
            self.plan.notes.push(format!(
                "{skipped_adds} member(s) should be added to groups but the target cannot add members"
            ));
        }
        if skipped_removals > 0 {
            self.plan.notes.push(format!(
                "{skipped_removals} member(s) should be removed from groups but the target cannot remove members"
            ));
        }
        // Members of orphaned groups (their source group is gone) lose that access, unless
        // the group itself is deleted or left alone by the deletion policy.
        // A group the policy would delete but the target cannot is emptied of them too.
        let keeps_orphans = match self.s.deletion {
            DeletionPolicy::Disable => true,
            DeletionPolicy::Delete => !self.caps.groups_delete,
            DeletionPolicy::Ignore => false,
        };
        if keeps_orphans && self.caps.members_remove {
            for (t, _) in &gm.orphans {
                let cur = &tgroups[*t];
                if self.group_protected(cur) {
                    continue;
                }
                let gref = Arc::new(GroupRef {
                    at: Ref::Id(Arc::from(cur.id.as_str())),
                    name: Arc::from(cur.name.as_str()),
                });
                if let Some(list) = members.get(&cur.id) {
                    self.plan.managed_memberships += list.len();
                    for &u in &list.users {
                        if self.accounts.active[u as usize] {
                            removals.push((gref.clone(), Member::Account(u as usize)));
                        }
                    }
                    for p in &list.others {
                        if self.is_active_principal(p) {
                            removals.push((gref.clone(), Member::Other(p.clone())));
                        }
                    }
                }
            }
        }
        for (gref, m) in removals {
            let member = match m {
                Member::Account(t) => {
                    let cur = tusers.get(t);
                    Arc::new(PrincipalRef {
                        kind: PrincipalKind::User,
                        at: Ref::Id(Arc::from(cur.id)),
                        name: Arc::from(cur.login),
                    })
                }
                Member::Other(p) => Arc::new(self.principal_ref_of(&p)),
            };
            self.plan.push(
                Action::RemoveMember {
                    group: gref,
                    member,
                },
                vec![],
            );
        }
        self.groups.matched = Some(gm);
    }

    /// Lists, as refused, the source members of synced group `g` that its privileged target
    /// group (`gref`, with its current members `current` when read) does not have.
    pub(super) fn refuse_privileged_adds(
        &mut self,
        g: usize,
        gref: &GroupRef,
        current: Option<&crate::table::MemberList>,
    ) {
        let mut seen = HashSet::new();
        for &u in self.src.users_in(g) {
            if !seen.insert(u) {
                continue;
            }
            let present = match (self.users.target[u], current) {
                (UserTarget::Existing(t), Some(m)) => m.users.binary_search(&(t as u32)).is_ok(),
                _ => false,
            };
            if present {
                continue;
            }
            let Some(member) = self.user_ref(u) else {
                continue;
            };
            self.plan.refused.push(Refused {
                op: "add_member".into(),
                resource: format!("{} <- {}", gref.name, member.name),
                reason: format!(
                    "group `{}` is privileged (its members administer the platform); idbridge never adds members to it",
                    gref.name
                ),
            });
        }
    }
}
