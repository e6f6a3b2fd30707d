//! Map, correlate and diff: from the source and one target's current state to that
//! target's [`TargetPlan`]. Pure: no I/O, so it can be tested and benchmarked on its own.
//!
//! The data's path, one module per stage:
//! - [`source`](SourceIndex): the source indexed once for every target;
//! - `map`: each source user's desired state in the target (templates, fingerprints);
//! - `correlate`: which target record each source record is (link, then correlation key),
//!   with protected accounts marked and unsafe or look-alike values (`lookalike`) refused;
//! - the diff, by kind of record: `users`, `groups`, `members`, `grants`;
//! - `deactivate`: the accounts that lose access, disabled, deleted or contained (stripped
//!   of their access where the target cannot disable them), planned last.
//!
//! The planner's state is kept per source user, per target account and per
//! group, each in a struct of vectors indexed by position. Records are addressed by their
//! positions in the snapshot's tables ([`crate::table`]); what must be found by a key (a
//! login, an email, a name) is indexed once in a hash map of normalised keys
//! ([`crate::util::norm`]), built only when the plan needs it. There is no loop over one
//! collection inside a loop over another, so the cost grows linearly with the number of
//! users, groups, memberships and grants.

use std::borrow::Cow;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use idbridge_core::{Capabilities, Group, Principal, Protected, Result};
use idbridge_store::{Hold, Link};

use crate::plan::{
    Account, Action, Conflict, GroupRef, PrincipalKind, PrincipalRef, Reason, Ref, RevokeSessions,
    TargetPlan,
};
use crate::settings::TargetSettings;
use crate::state::{Effective, TargetState};
use crate::table::{KEEPS_LOGIN, LinkTable, UserRef, UserTable};
use crate::util::{fingerprint_text, norm, norm_key};

mod correlate;
mod deactivate;
mod grants;
mod groups;
mod lookalike;
mod map;
mod members;
mod source;
mod users;

pub use correlate::groups_needing_members;
pub use deactivate::is_stripped_marker;
pub use map::{group_link_fingerprint, user_link_fingerprint};
pub use source::SourceIndex;

use correlate::{GroupMatch, login_index, privileged_groups};
use map::DesiredUser;

/// Everything the planner needs about one target.
pub struct TargetInput<'a> {
    /// The target's name.
    pub name: &'a str,
    /// Its adapter kind.
    pub adapter: &'a str,
    /// Its capabilities.
    pub caps: Capabilities,
    /// The adapter's protected accounts.
    pub protected: &'a Protected,
    /// The engine settings.
    pub settings: &'a TargetSettings,
    /// The current state.
    pub state: &'a TargetState,
    /// Stored user links.
    pub user_links: &'a LinkTable,
    /// Stored group links.
    pub group_links: &'a [Link],
    /// Normalised logins of accounts idbridge journaled a create of in a run that did not
    /// succeed: linking one again is no adoption of a foreign account.
    pub own_creates: &'a HashSet<String>,
}

/// A value found once, or more than once, under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    One(usize),
    Many,
}

fn index_insert<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Slot>, key: K, i: usize) {
    map.entry(key)
        .and_modify(|s| *s = Slot::Many)
        .or_insert(Slot::One(i));
}

fn describe(u: UserRef<'_>) -> String {
    format!("{} ({})", u.id, idbridge_core::text::Escaped(u.login))
}

/// A source group as a conflict names it.
fn describe_group(g: &Group) -> String {
    format!("{} ({})", g.id, idbridge_core::text::Escaped(&g.name))
}

/// Plans one target.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] naming the key path when a role mapping names a
/// role or group that does not exist.
pub fn plan_target(
    src: &SourceIndex<'_>,
    input: &TargetInput<'_>,
    effective: &Effective,
) -> Result<TargetPlan> {
    let mut p = Planner::new(src, input, effective);
    p.users();
    if effective.groups {
        p.diff_groups();
    }
    p.user_refs();
    if effective.groups && effective.memberships {
        p.memberships();
    }
    if effective.groups {
        p.strip_memberships();
    }
    if effective.roles {
        p.roles()?;
    }
    if effective.grants {
        p.strip_grants();
    }
    p.deactivations();
    if effective.groups {
        p.orphan_groups();
    }
    Ok(p.finish())
}

/// A position in a [`UserTable`], or none: an `Option<usize>` in four bytes, for the
/// planner's arrays of one entry per user (a million users, three targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MaybePosition(u32);

impl MaybePosition {
    const NONE: MaybePosition = MaybePosition(u32::MAX);

    /// Position `p` of a table: below `u32::MAX`, which [`UserTable::push`] refuses.
    fn some(p: usize) -> MaybePosition {
        MaybePosition(u32::try_from(p).unwrap_or(u32::MAX))
    }

    fn get(self) -> Option<usize> {
        (self != MaybePosition::NONE).then_some(self.0 as usize)
    }
}

/// What a source user is in one target's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserTarget {
    /// Nothing: not mapped, in a conflict, protected or not provisioned.
    Absent,
    /// The existing account at this position of the target's users.
    Existing(usize),
    /// The account the operation at this index creates.
    Created(usize),
}

/// One target's planning: the inputs, the plan being built, and what is known so far
/// about the source users, the target's accounts and the groups.
struct Planner<'s, 'i> {
    src: &'i SourceIndex<'s>,
    input: &'i TargetInput<'i>,
    eff: &'i Effective,
    caps: Capabilities,
    s: &'i TargetSettings,
    plan: TargetPlan,
    users: SourceUsers<'i>,
    accounts: Accounts<'i>,
    groups: Groups<'i>,
}

/// Per source user (by position in the source's users table).
struct SourceUsers<'i> {
    /// The desired state in the target; `None` when the user does not map.
    desired: Vec<Option<DesiredUser<'i>>>,
    /// The target account claimed for it (by link or correlation key).
    claim: Vec<MaybePosition>,
    /// In a conflict: nothing is done with it.
    conflicted: Vec<bool>,
    /// Claimed through its stored link: that link's fingerprint.
    linked_fp: Vec<Option<u64>>,
    /// The offboarding hold that keeps it disabled, for the few users one holds.
    held: HashMap<usize, &'i Hold>,
    /// The operation that creates its account.
    created: Vec<Option<usize>>,
    /// What it is in the plan, for memberships and grants (set once users are planned).
    target: Vec<UserTarget>,
    /// Claimed by a correlation key rather than its link: the key (an adoption of an
    /// existing account), for the few users that are.
    matched_by: HashMap<usize, &'static str>,
    /// Claimed through a link that says the account keeps its own login.
    keeps_login: Vec<bool>,
}

/// Per target account (by position in the target's users table).
struct Accounts<'i> {
    /// The accounts by normalised login, built when first needed.
    by_login: Option<HashMap<Cow<'i, str>, Slot>>,
    /// The source user that claims it.
    owner: Vec<MaybePosition>,
    /// Protected: never touched.
    protected: Vec<bool>,
    /// Claimed by a mapped source user (and not protected).
    active: Vec<bool>,
    /// It should have no access but the target cannot disable it, so its memberships,
    /// grants and sessions are removed instead (see [`Planner::contains`]).
    contained: Vec<bool>,
    /// The last operation planned on it, which the next one follows.
    last_op: HashMap<usize, usize>,
    /// Accounts to deactivate, planned after the additive operations.
    pending_deactivations: Vec<Deactivation>,
    /// Per contained account: the operations that strip it, which its session revocation
    /// follows.
    strip_ops: HashMap<usize, Vec<usize>>,
}

/// An account queued for deactivation.
struct Deactivation {
    /// Its position in the target's users.
    account: usize,
    reason: Reason,
    /// The source user it belongs to, if any.
    source_id: Option<String>,
    /// The desired state's fingerprint, for a source user's account.
    fingerprint: Option<u64>,
}

/// The groups: how source groups meet the target's, and the target's groups' standing.
struct Groups<'i> {
    /// How source groups meet the target's groups (once groups are planned).
    matched: Option<GroupMatch>,
    /// Per source group: its group in the target (existing or created by the plan).
    refs: Vec<Option<Arc<GroupRef>>>,
    /// Target group ids claimed by synced source groups.
    active: HashSet<&'i str>,
    /// Target groups by id.
    by_id: HashMap<&'i str, usize>,
    /// Per target group: privileged (its members administer the platform).
    privileged: Vec<bool>,
    /// The configured `protected` entries, normalised.
    protected_names: HashSet<String>,
}

/// The member reference of source user `u` in one target, its login shared with the
/// other targets' references to the same user (see [`SourceIndex::login`]).
fn user_principal(
    src: &SourceIndex<'_>,
    u: usize,
    at: UserTarget,
    tusers: &UserTable,
    desired: Option<&DesiredUser<'_>>,
) -> Option<PrincipalRef> {
    match at {
        UserTarget::Absent => None,
        UserTarget::Existing(t) => {
            let cur = tusers.get(t);
            Some(PrincipalRef {
                kind: PrincipalKind::User,
                at: Ref::Id(Arc::from(cur.id)),
                name: src.login(u, cur.login),
            })
        }
        UserTarget::Created(op) => desired.map(|d| PrincipalRef {
            kind: PrincipalKind::User,
            at: Ref::Created(op),
            name: src.login(u, &d.login),
        }),
    }
}

impl<'s, 'i> Planner<'s, 'i> {
    fn new(src: &'i SourceIndex<'s>, input: &'i TargetInput<'i>, eff: &'i Effective) -> Self {
        let tusers = &input.state.users;
        let sources = src.src.users.len();
        let plan = TargetPlan::new(input.name, input.adapter);
        Planner {
            src,
            input,
            eff,
            caps: input.caps,
            s: input.settings,
            plan,
            users: SourceUsers {
                desired: Vec::new(),
                claim: vec![MaybePosition::NONE; sources],
                conflicted: vec![false; sources],
                linked_fp: vec![None; sources],
                held: HashMap::new(),
                created: vec![None; sources],
                target: Vec::new(),
                matched_by: HashMap::new(),
                keeps_login: vec![false; sources],
            },
            accounts: Accounts {
                by_login: None,
                owner: vec![MaybePosition::NONE; tusers.len()],
                protected: vec![false; tusers.len()],
                active: vec![false; tusers.len()],
                contained: vec![false; tusers.len()],
                last_op: HashMap::new(),
                pending_deactivations: Vec::new(),
                strip_ops: HashMap::new(),
            },
            groups: Groups {
                matched: None,
                refs: Vec::new(),
                active: HashSet::new(),
                by_id: input
                    .state
                    .groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (g.id.as_str(), i))
                    .collect(),
                privileged: {
                    let mut v = vec![false; input.state.groups.len()];
                    for g in privileged_groups(input) {
                        v[g] = true;
                    }
                    v
                },
                protected_names: input.settings.protected.iter().map(|p| norm(p)).collect(),
            },
        }
    }

    /// Whether target group `g` (a position) is privileged.
    fn group_privileged(&self, g: &Group) -> bool {
        self.groups
            .by_id
            .get(g.id.as_str())
            .is_some_and(|&t| self.groups.privileged[t])
    }

    /// A user link fingerprint of target account `t`, as stored (see [`Self::user_fp_text`]).
    fn account_fp_text(&self, t: usize, fp: u64) -> String {
        match self.accounts.owner[t].get() {
            Some(i) => self.user_fp_text(i, fp),
            None => fingerprint_text(fp),
        }
    }

    /// A user link fingerprint as stored: marked when the account keeps its own login.
    fn user_fp_text(&self, i: usize, fp: u64) -> String {
        let text = fingerprint_text(fp);
        if self.users.keeps_login[i] {
            text + KEEPS_LOGIN
        } else {
            text
        }
    }

    /// Whether a target group is protected (by its adapter, or by the `protected` list),
    /// or privileged (its members are never changed either).
    fn group_protected(&self, g: &Group) -> bool {
        self.input.protected.group(&g.id)
            || self.group_privileged(g)
            || (!self.groups.protected_names.is_empty()
                && (self
                    .groups
                    .protected_names
                    .contains(norm_key(&g.name).as_ref())
                    || self
                        .groups
                        .protected_names
                        .contains(norm_key(&g.id).as_ref())))
    }

    /// Which target account holds a normalised login.
    fn login_slot(&mut self, key: &str) -> Option<Slot> {
        let tusers = &self.input.state.users;
        self.accounts
            .by_login
            .get_or_insert_with(|| login_index(tusers))
            .get(key)
            .copied()
    }

    fn conflict_user(&mut self, sources: Vec<usize>, target: Option<usize>, reason: String) {
        for &i in &sources {
            self.users.conflicted[i] = true;
        }
        let users = &self.src.src.users;
        let tusers = &self.input.state.users;
        self.plan.conflicts.push(Conflict {
            kind: "user".into(),
            sources: sources.iter().map(|&i| describe(users.get(i))).collect(),
            target: target.map(|t| {
                let cur = tusers.get(t);
                Account {
                    id: cur.id.to_string(),
                    login: cur.login.to_string(),
                }
            }),
            reason,
        });
    }

    /// Pushes the revocation of the live sessions `live` of target account `t`, after
    /// `deps`; returns its step.
    fn revoke_sessions(&mut self, t: usize, live: Vec<String>, deps: Vec<usize>) -> usize {
        let cur = self.input.state.users.get(t);
        let action = Action::RevokeSessions(Box::new(RevokeSessions {
            id: cur.id.to_string(),
            login: cur.login.to_string(),
            sessions: live,
        }));
        self.push_user_op(Some(t), action, deps)
    }

    /// Pushes a user operation, chained after any earlier operation on the same account
    /// (so that two writes to one account never run at once or share a batch).
    fn push_user_op(&mut self, t: Option<usize>, action: Action, mut deps: Vec<usize>) -> usize {
        if let Some(prev) = t.and_then(|t| self.accounts.last_op.get(&t)) {
            deps.push(*prev);
        }
        let id = self.plan.push(action, deps);
        if let Some(t) = t {
            self.accounts.last_op.insert(t, id);
        }
        id
    }

    /// The member reference of source user `u`.
    fn user_ref(&self, u: usize) -> Option<PrincipalRef> {
        user_principal(
            self.src,
            u,
            self.users.target[u],
            &self.input.state.users,
            self.users.desired[u].as_ref(),
        )
    }

    fn group_principal(&self, g: usize) -> Option<PrincipalRef> {
        self.groups
            .refs
            .get(g)
            .and_then(|r| r.as_ref())
            .map(|r| PrincipalRef {
                kind: PrincipalKind::Group,
                at: r.at.clone(),
                name: r.name.clone(),
            })
    }

    fn deps_of(refs: &[&Ref]) -> Vec<usize> {
        refs.iter()
            .filter_map(|r| match r {
                Ref::Created(n) => Some(*n),
                Ref::Id(_) => None,
            })
            .collect()
    }

    fn is_active_principal(&self, p: &Principal) -> bool {
        match p {
            Principal::User(id) => self
                .input
                .state
                .users
                .find(id)
                .is_some_and(|t| self.accounts.active[t]),
            Principal::Group(id) => self.groups.active.contains(id.as_str()),
        }
    }

    fn principal_ref_of(&self, p: &Principal) -> PrincipalRef {
        match p {
            Principal::User(id) => PrincipalRef {
                kind: PrincipalKind::User,
                at: Ref::Id(Arc::from(id.as_str())),
                name: Arc::from(
                    self.input
                        .state
                        .users
                        .find(id)
                        .map(|t| self.input.state.users.get(t).login)
                        .unwrap_or(id.as_str()),
                ),
            },
            Principal::Group(id) => PrincipalRef {
                kind: PrincipalKind::Group,
                at: Ref::Id(Arc::from(id.as_str())),
                name: Arc::from(
                    self.groups
                        .by_id
                        .get(id.as_str())
                        .map(|&t| self.input.state.groups[t].name.as_str())
                        .unwrap_or(id.as_str()),
                ),
            },
        }
    }

    fn finish(mut self) -> TargetPlan {
        let _ = self.eff;
        self.plan.notes.dedup();
        self.plan
    }
}

#[cfg(test)]
mod tests;
