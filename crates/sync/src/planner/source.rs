//! The source indexed once for every target's planning: groups and roles by id and by
//! normalised name, each group's direct members and child groups, and the users of a group
//! through its nesting (computed when first asked).

use std::sync::{Arc, OnceLock};

use hashbrown::HashMap;

use idbridge_core::{Group, Principal, Role};

use crate::holds::HoldIndex;
use crate::plan::{CreateUser, PrincipalRef};
use crate::state::SourceState;
use crate::util::norm;

/// Source records indexed once and shared by every target's planning.
pub struct SourceIndex<'a> {
    /// The source records.
    pub src: &'a SourceState,
    pub(super) groups: &'a [Group],
    pub(super) group_by_id: HashMap<&'a str, usize>,
    pub(super) group_by_name: HashMap<String, usize>,
    pub(super) role_by_id: HashMap<&'a str, usize>,
    pub(super) role_by_name: HashMap<String, usize>,
    pub(super) direct_users: Vec<Vec<usize>>,
    pub(super) child_groups: Vec<Vec<usize>>,
    pub(super) closure: Vec<OnceLock<Vec<usize>>>,
    pub(super) holds: Option<&'a HoldIndex>,
    /// Per source user, the member reference the first target planned gave it (see
    /// [`SourceIndex::member`]).
    members: Vec<OnceLock<Arc<PrincipalRef>>>,
    /// Per source user, the account the first target planned to create for it (see
    /// [`SourceIndex::create`]); made at the first creation, so that a plan that creates
    /// nobody does not hold an entry per user.
    creates: OnceLock<Vec<OnceLock<CreateUser>>>,
}

impl<'a> SourceIndex<'a> {
    /// Indexes the source.
    pub fn new(src: &'a SourceState) -> SourceIndex<'a> {
        let groups: &[Group] = src.groups.as_deref().unwrap_or(&[]);
        let group_by_id: HashMap<&str, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.as_str(), i))
            .collect();
        let group_by_name = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (norm(&g.name), i))
            .collect();
        let roles: &[Role] = src.roles.as_deref().unwrap_or(&[]);
        let role_by_id = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let role_by_name = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (norm(&r.name), i))
            .collect();
        let mut direct_users = vec![Vec::new(); groups.len()];
        let mut child_groups = vec![Vec::new(); groups.len()];
        for (gid, members) in src.members.iter() {
            let Some(&g) = group_by_id.get(gid) else {
                continue;
            };
            direct_users[g].extend(members.users.iter().map(|&u| u as usize));
            for m in &members.others {
                // Users the source's listing does not show cannot be provisioned.
                if let Principal::Group(c) = m {
                    if let Some(&c) = group_by_id.get(c.as_str()) {
                        if c != g {
                            child_groups[g].push(c);
                        }
                    }
                }
            }
        }
        for v in direct_users.iter_mut().chain(child_groups.iter_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        let closure = (0..groups.len()).map(|_| OnceLock::new()).collect();
        SourceIndex {
            src,
            groups,
            group_by_id,
            group_by_name,
            role_by_id,
            role_by_name,
            direct_users,
            child_groups,
            closure,
            holds: None,
            members: (0..src.users.len()).map(|_| OnceLock::new()).collect(),
            creates: OnceLock::new(),
        }
    }

    /// The same index, with the offboarding holds every target's plan keeps.
    pub fn with_holds(mut self, holds: &'a HoldIndex) -> SourceIndex<'a> {
        self.holds = (!holds.is_empty()).then_some(holds);
        self
    }

    /// Source user `u`'s login in a target, as one shared text: the same as another
    /// target's when the login is the same there (the usual case), so that a first sync
    /// into several targets keeps each login once rather than once per target.
    pub(super) fn login(&self, u: usize, login: &str) -> Arc<str> {
        match self.members.get(u).and_then(OnceLock::get) {
            Some(shared) if *shared.name == *login => shared.name.clone(),
            _ => Arc::from(login),
        }
    }

    /// Source user `u`'s member reference in a target, shared with another target's
    /// when it is the same there (the same login, and the same existing account or the
    /// same numbered create: targets alike get plans alike), else with its login shared
    /// where that is the same (see [`SourceIndex::login`]).
    pub(super) fn member(&self, u: usize, member: PrincipalRef) -> Arc<PrincipalRef> {
        let Some(cell) = self.members.get(u) else {
            return Arc::new(member);
        };
        if let Some(shared) = cell.get() {
            if member == **shared {
                return shared.clone();
            }
            let mut member = member;
            if *member.name == *shared.name {
                member.name = shared.name.clone();
            }
            return Arc::new(member);
        }
        let member = Arc::new(member);
        // Planning runs on one thread: the cell is empty here.
        let _ = cell.set(member.clone());
        member
    }

    /// The creation of source user `u`'s account in a target, sharing its one allocation
    /// with another target's when it is the same there (the same login, e-mail, name,
    /// attributes and fingerprint: targets mapped alike), so that a first sync into
    /// several such targets holds each new account once.
    pub(super) fn create(&self, u: usize, create: CreateUser) -> CreateUser {
        let Some(cell) = self.creates().get(u) else {
            return create;
        };
        match cell.get() {
            Some(shared) if *shared == create => shared.clone(),
            Some(_) => create,
            None => {
                // Planning runs on one thread: the cell is empty here.
                let _ = cell.set(create.clone());
                create
            }
        }
    }

    /// Offers the account creations of `plan`, a plan already held (a saved plan being
    /// checked), to be shared by the creations planned alike (see [`SourceIndex::create`]),
    /// so that planning again holds no second copy of them. A creation whose source user
    /// is not in the source is left out.
    pub(crate) fn share_creates(&self, plan: &crate::plan::Plan) {
        for op in plan.targets.iter().flat_map(|t| &t.ops) {
            if let crate::plan::Action::CreateUser(c) = &op.action {
                if let Some(cell) = self
                    .src
                    .users
                    .find(c.source_id())
                    .and_then(|u| self.creates().get(u))
                {
                    let _ = cell.set(c.clone());
                }
            }
        }
    }

    /// One cell per source user for [`SourceIndex::create`].
    fn creates(&self) -> &[OnceLock<CreateUser>] {
        self.creates
            .get_or_init(|| (0..self.src.users.len()).map(|_| OnceLock::new()).collect())
    }

    /// Every user of group `g`, directly or through nested groups (cycles are harmless).
    pub(super) fn users_in(&self, g: usize) -> &[usize] {
        self.closure[g].get_or_init(|| {
            let mut seen = vec![false; self.groups.len()];
            let mut stack = vec![g];
            seen[g] = true;
            let mut out = Vec::new();
            while let Some(x) = stack.pop() {
                out.extend_from_slice(&self.direct_users[x]);
                for &c in &self.child_groups[x] {
                    if !seen[c] {
                        seen[c] = true;
                        stack.push(c);
                    }
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        })
    }
}
