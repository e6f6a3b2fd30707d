//! Map, correlate and diff: from the source and one target's current state to that
//! target's [`TargetPlan`]. Pure: no I/O, so it can be tested and benchmarked on its own.
//!
//! Records are addressed by their positions in the snapshot's tables ([`crate::table`]);
//! what must be found by a key (a login, an email, a name) is indexed once in a hash map of
//! normalised keys ([`crate::util::norm`]), built only when the plan needs it. There is no
//! loop over one collection inside a loop over another, so the cost grows linearly with
//! the number of users, groups, memberships and grants.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use hashbrown::{HashMap, HashSet};

use idbridge_core::{
    Capabilities, Grant, Group, GroupChanges, NewGroup, NewUser, Principal, Protected, Result,
    Role, Scope, UserChanges,
};
use idbridge_store::{Hold, Link};

use crate::holds::HoldIndex;
use crate::plan::{
    Account, Action, CanSignIn, Conflict, GroupRef, HeldAccount, PrincipalKind, PrincipalRef,
    Reason, Ref, Refused, TargetPlan,
};
use crate::settings::{
    Adopt, AttributeRule, CorrelationKey, DeletionPolicy, RoleTarget, ScopeRule, TargetSettings,
};
use crate::state::{Effective, SourceState, TargetState};
use crate::table::{KEEPS_LOGIN, LinkTable, UserRef, UserTable};
use crate::util::{Fingerprinter, fingerprint_text, norm, norm_eq, norm_key};

/// The fingerprint a leaver's link carries once a target that cannot disable it has been
/// stripped of its access (memberships, roles, sessions): the next runs then do not
/// revoke its sessions again unless something changed. It is no source user's
/// fingerprint, so a leaver who returns is compared field by field.
const STRIPPED: u64 = 0x5354_5249_5050_4544;

/// Whether a link fingerprint is the record that an account was stripped of its access on
/// a target that cannot disable it (a link operation carrying it writes nothing there).
pub fn is_stripped_marker(fingerprint: &str) -> bool {
    fingerprint == fingerprint_text(STRIPPED)
}

/// Source records indexed once and shared by every target's planning.
pub struct SourceIndex<'a> {
    /// The source records.
    pub src: &'a SourceState,
    groups: &'a [Group],
    group_by_id: HashMap<&'a str, usize>,
    group_by_name: HashMap<String, usize>,
    role_by_id: HashMap<&'a str, usize>,
    role_by_name: HashMap<String, usize>,
    direct_users: Vec<Vec<usize>>,
    child_groups: Vec<Vec<usize>>,
    closure: Vec<OnceLock<Vec<usize>>>,
    holds: Option<&'a HoldIndex>,
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
        }
    }

    /// The same index, with the offboarding holds every target's plan keeps.
    pub fn with_holds(mut self, holds: &'a HoldIndex) -> SourceIndex<'a> {
        self.holds = (!holds.is_empty()).then_some(holds);
        self
    }

    /// Every user of group `g`, directly or through nested groups (cycles are harmless).
    fn users_in(&self, g: usize) -> &[usize] {
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

/// A source user mapped to what the target should hold.
#[derive(Debug, Clone)]
struct DesiredUser<'a> {
    login: Cow<'a, str>,
    email: Option<Cow<'a, str>>,
    display_name: Option<Cow<'a, str>>,
    attributes: Option<BTreeMap<String, String>>,
    enabled: bool,
    fingerprint: u64,
}

fn trimmed(v: Cow<'_, str>) -> Cow<'_, str> {
    match v {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) if o.trim().len() == o.len() => Cow::Owned(o),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    }
}

fn map_user<'a>(
    user: UserRef<'a>,
    s: &TargetSettings,
    login_is_email: bool,
) -> std::result::Result<DesiredUser<'a>, String> {
    // Where the platform's login is the email, the login follows the email template unless
    // the configuration says otherwise.
    let login_template = if login_is_email && !s.login_configured {
        &s.email
    } else {
        &s.login
    };
    let login = login_template
        .render(user)
        .map(trimmed)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            format!(
                "source user `{}` ({}): the login template gives no value; skipped",
                user.id, user.login
            )
        })?;
    let email = s.email.render(user).map(trimmed);
    let display_name = s.display_name.render(user);
    let attributes = match &s.attributes {
        AttributeRule::None => None,
        AttributeRule::All => Some(user.attributes.clone()),
        AttributeRule::Map(m) => Some(
            m.iter()
                .filter_map(|(k, t)| t.render(user).map(|v| (k.clone(), v.into_owned())))
                .collect(),
        ),
    };
    let mut fp = Fingerprinter::default();
    fp.str(&login)
        .opt(email.as_deref())
        .opt(display_name.as_deref())
        .flag(user.enabled);
    match &attributes {
        None => {
            fp.flag(false);
        }
        Some(a) => {
            fp.flag(true);
            for (k, v) in a {
                fp.str(k).str(v);
            }
        }
    }
    Ok(DesiredUser {
        login,
        email,
        display_name,
        attributes,
        enabled: user.enabled,
        fingerprint: fp.value(),
    })
}

fn group_fingerprint(name: &str, description: Option<&str>) -> String {
    Fingerprinter::default().str(name).opt(description).finish()
}

/// The fingerprint the link of a source user carries once its account in a target with
/// these settings and capabilities matches it (what an apply stores); `None` when the user
/// does not map (its login template gives no value).
pub fn user_link_fingerprint(
    user: UserRef<'_>,
    settings: &TargetSettings,
    caps: &Capabilities,
) -> Option<String> {
    map_user(user, settings, caps.users_login_is_email)
        .ok()
        .map(|d| fingerprint_text(d.fingerprint))
}

/// The fingerprint the link of a source group carries once its target group matches it;
/// `None` when the settings do not sync this group.
pub fn group_link_fingerprint(
    group: &Group,
    settings: &TargetSettings,
    caps: &Capabilities,
) -> Option<String> {
    let name = settings.groups.target_name(&group.name)?;
    let description = group
        .description
        .as_deref()
        .filter(|_| caps.groups_description);
    Some(group_fingerprint(&name, description))
}

fn describe(u: UserRef<'_>) -> String {
    format!("{} ({})", u.id, idbridge_core::text::Escaped(u.login))
}

/// A source group as a conflict names it.
fn describe_group(g: &Group) -> String {
    format!("{} ({})", g.id, idbridge_core::text::Escaped(&g.name))
}

/// A source user's field that is checked for look-alikes before anything is planned.
#[derive(Debug, Clone, Copy)]
enum UserField {
    Login,
    Email,
}

impl UserField {
    /// The field's value in the desired state (an empty address is no address).
    fn of<'d>(self, d: &'d DesiredUser<'_>) -> Option<&'d str> {
        match self {
            UserField::Login => Some(d.login.as_ref()),
            UserField::Email => d.email.as_deref().filter(|e| !e.is_empty()),
        }
    }

    fn label(self) -> &'static str {
        match self {
            UserField::Login => "login",
            UserField::Email => "e-mail address",
        }
    }
}

/// How source groups meet one target's groups.
struct GroupMatch {
    /// Per source group: its target name, or `None` when it is not synced.
    name: Vec<Option<String>>,
    /// Per source group: the target group it corresponds to.
    claim: Vec<Option<usize>>,
    /// Per source group: whether it is in a conflict (then nothing is done with it).
    conflicted: Vec<bool>,
    /// Target groups linked to a source group that no longer exists, with that source id.
    orphans: Vec<(usize, String)>,
    conflicts: Vec<Conflict>,
}

fn match_groups(src: &SourceIndex<'_>, input: &TargetInput<'_>) -> GroupMatch {
    let groups = src.groups;
    let tgroups = &input.state.groups;
    let t_by_id: HashMap<&str, usize> = tgroups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id.as_str(), i))
        .collect();
    let mut t_by_name: HashMap<String, Slot> = HashMap::with_capacity(tgroups.len());
    for (i, g) in tgroups.iter().enumerate() {
        index_insert(&mut t_by_name, norm(&g.name), i);
    }
    let links: HashMap<&str, &Link> = input
        .group_links
        .iter()
        .map(|l| (l.source_id.as_str(), l))
        .collect();
    let name: Vec<Option<String>> = groups
        .iter()
        .map(|g| input.settings.groups.target_name(&g.name))
        .collect();
    let mut claim = vec![None; groups.len()];
    let mut owner: Vec<Option<usize>> = vec![None; tgroups.len()];
    let mut conflicted = vec![false; groups.len()];
    let mut conflicts = Vec::new();
    // Names a target would show wrongly or take for one another: nothing is done with
    // those groups, linked or not.
    let values: Vec<Option<&str>> = name.iter().map(|n| n.as_deref()).collect();
    let checked = lookalike::check(&values, "source groups", "group name");
    for (i, reason) in checked.unsafe_values {
        conflicted[i] = true;
        conflicts.push(Conflict {
            kind: "group".into(),
            sources: vec![describe_group(&groups[i])],
            target: None,
            reason,
        });
    }
    for (sources, reason) in checked.collisions {
        for &i in &sources {
            conflicted[i] = true;
        }
        conflicts.push(Conflict {
            kind: "group".into(),
            sources: sources
                .iter()
                .map(|&i| describe_group(&groups[i]))
                .collect(),
            target: None,
            reason,
        });
    }
    // Links first.
    for (i, g) in groups.iter().enumerate() {
        if name[i].is_none() {
            continue;
        }
        // A group in conflict keeps the claim of its link, so that its target group is
        // not taken for an orphan; nothing is done with it.
        if let Some(&t) = links
            .get(g.id.as_str())
            .and_then(|l| t_by_id.get(l.target_id.as_str()))
        {
            claim[i] = Some(t);
            owner[t] = Some(i);
        }
    }
    // Then names; two source groups wanting one target group is a conflict.
    let mut wanted: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, n) in name.iter().enumerate() {
        if let (Some(n), None, false) = (n, claim[i], conflicted[i]) {
            wanted.entry(norm(n)).or_default().push(i);
        }
    }
    // Linked groups keep their names' claim too: a new group may not take a name a
    // linked group is about to leave only if that group is renamed; keep it simple and
    // strict: a name held by a linked group of another source group is a conflict.
    let mut wanted: Vec<(String, Vec<usize>)> = wanted.into_iter().collect();
    wanted.sort_by_key(|(_, v)| v[0]);
    for (key, claimants) in wanted {
        if claimants.len() > 1 {
            for &i in &claimants {
                conflicted[i] = true;
            }
            conflicts.push(Conflict {
                kind: "group".into(),
                sources: claimants
                    .iter()
                    .map(|&i| describe_group(&groups[i]))
                    .collect(),
                target: None,
                reason: format!("several source groups map to the target group name `{key}`"),
            });
            continue;
        }
        let i = claimants[0];
        match t_by_name.get(&key) {
            None => {}
            Some(Slot::Many) => {
                conflicted[i] = true;
                conflicts.push(Conflict {
                    kind: "group".into(),
                    sources: vec![describe_group(&groups[i])],
                    target: None,
                    reason: format!("the target has several groups named `{key}`"),
                });
            }
            Some(Slot::One(t)) => match owner[*t] {
                Some(other) => {
                    conflicted[i] = true;
                    conflicts.push(Conflict {
                        kind: "group".into(),
                        sources: vec![describe_group(&groups[i])],
                        target: Some(Account {
                            id: tgroups[*t].id.clone(),
                            login: tgroups[*t].name.clone(),
                        }),
                        reason: format!(
                            "the target group is linked to source group `{}`",
                            groups[other].id
                        ),
                    });
                }
                None => {
                    claim[i] = Some(*t);
                    owner[*t] = Some(i);
                }
            },
        }
    }
    let mut orphans = Vec::new();
    for l in input.group_links {
        if src.group_by_id.contains_key(l.source_id.as_str()) {
            continue;
        }
        if let Some(&t) = t_by_id.get(l.target_id.as_str()) {
            if owner[t].is_none() {
                orphans.push((t, l.source_id.clone()));
            }
        }
    }
    GroupMatch {
        name,
        claim,
        conflicted,
        orphans,
        conflicts,
    }
}

/// The existing target groups whose members the plan needs (synced groups that already
/// exist, and orphaned linked groups). On a target that cannot disable accounts, every
/// group: an account that should lose access is removed from all of them.
pub fn groups_needing_members(
    src: &SourceIndex<'_>,
    input: &TargetInput<'_>,
    effective: &Effective,
) -> Vec<String> {
    let caps = &input.caps;
    if effective.groups && !caps.users_set_enabled && caps.members_list && caps.members_remove {
        return input.state.groups.iter().map(|g| g.id.clone()).collect();
    }
    // Who is an administrator decides what may be adopted.
    let mut privileged: Vec<String> = if caps.members_list {
        privileged_groups(input)
            .map(|t| input.state.groups[t].id.clone())
            .collect()
    } else {
        Vec::new()
    };
    if !effective.groups || !effective.memberships {
        return privileged;
    }
    let m = match_groups(src, input);
    let mut out: Vec<String> = m
        .claim
        .iter()
        .enumerate()
        .filter(|(i, _)| !m.conflicted[*i])
        .filter_map(|(_, c)| c.map(|t| input.state.groups[t].id.clone()))
        .collect();
    out.extend(
        m.orphans
            .iter()
            .map(|(t, _)| input.state.groups[*t].id.clone()),
    );
    out.append(&mut privileged);
    out.sort();
    out.dedup();
    out
}

/// The positions of the target's privileged groups: those its adapter declares, and those
/// the target's `privileged_groups` names (by name or id).
fn privileged_groups<'a>(input: &'a TargetInput<'a>) -> impl Iterator<Item = usize> + 'a {
    let named: HashSet<String> = input
        .settings
        .privileged_groups
        .iter()
        .map(|p| norm(p))
        .collect();
    input
        .state
        .groups
        .iter()
        .enumerate()
        .filter(move |(_, g)| {
            input.protected.privileged_group(&g.id)
                || (!named.is_empty()
                    && (named.contains(norm_key(&g.name).as_ref())
                        || named.contains(norm_key(&g.id).as_ref())))
        })
        .map(|(i, _)| i)
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

/// A current member the plan removes.
enum Member {
    /// The account at this position of the target's users.
    Account(usize),
    /// Any other member (a group).
    Other(Principal),
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
    claim: Vec<Option<usize>>,
    /// In a conflict: nothing is done with it.
    conflicted: Vec<bool>,
    /// Claimed through its stored link: that link's fingerprint.
    linked_fp: Vec<Option<u64>>,
    /// The offboarding hold that keeps it disabled.
    held: Vec<Option<&'i Hold>>,
    /// The operation that creates its account.
    created: Vec<Option<usize>>,
    /// What it is in the plan, for memberships and grants (set once users are planned).
    target: Vec<UserTarget>,
    /// Claimed by a correlation key rather than its link: the key (an adoption of an
    /// existing account).
    matched_by: Vec<Option<&'static str>>,
    /// Claimed through a link that says the account keeps its own login.
    keeps_login: Vec<bool>,
}

/// Per target account (by position in the target's users table).
struct Accounts<'i> {
    /// The accounts by normalised login, built when first needed.
    by_login: Option<HashMap<Cow<'i, str>, Slot>>,
    /// The source user that claims it.
    owner: Vec<Option<usize>>,
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
    refs: Vec<Option<GroupRef>>,
    /// Target group ids claimed by synced source groups.
    active: HashSet<&'i str>,
    /// Target groups by id.
    by_id: HashMap<&'i str, usize>,
    /// Per target group: privileged (its members administer the platform).
    privileged: Vec<bool>,
    /// The configured `protected` entries, normalised.
    protected_names: HashSet<String>,
}

/// The target's accounts by normalised login.
fn login_index(tusers: &UserTable) -> HashMap<Cow<'_, str>, Slot> {
    let mut m = HashMap::with_capacity(tusers.len());
    for (i, t) in tusers.iter().enumerate() {
        index_insert(&mut m, norm_key(t.login), i);
    }
    m
}

/// The member reference of a source user in one target.
fn user_principal(
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
                name: Arc::from(cur.login),
            })
        }
        UserTarget::Created(op) => desired.map(|d| PrincipalRef {
            kind: PrincipalKind::User,
            at: Ref::Created(op),
            name: Arc::from(d.login.as_ref()),
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
                claim: vec![None; sources],
                conflicted: vec![false; sources],
                linked_fp: vec![None; sources],
                held: vec![None; sources],
                created: vec![None; sources],
                target: Vec::new(),
                matched_by: vec![None; sources],
                keeps_login: vec![false; sources],
            },
            accounts: Accounts {
                by_login: None,
                owner: vec![None; tusers.len()],
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

    /// Why target account `t` may not be adopted: the privileged groups it is a member of
    /// (or whose members could not be read), unless `adopt_privileged` names it.
    fn adoption_refusal(&self, t: usize) -> Option<String> {
        let cur = self.input.state.users.get(t);
        let allowed = |key: &str| {
            self.s
                .adopt_privileged
                .iter()
                .any(|a| norm_key(a) == norm_key(key))
        };
        if allowed(cur.id) || allowed(cur.login) || cur.email.is_some_and(allowed) {
            return None;
        }
        let mut member_of = Vec::new();
        let mut unread = Vec::new();
        for (g, grp) in self.input.state.groups.iter().enumerate() {
            if !self.groups.privileged[g] {
                continue;
            }
            match self.input.state.members.get(&grp.id) {
                Some(m) if m.users.binary_search(&(t as u32)).is_ok() => {
                    member_of.push(format!("`{}`", grp.name));
                }
                Some(_) => {}
                None => unread.push(format!("`{}`", grp.name)),
            }
        }
        let why = if !member_of.is_empty() {
            format!(
                "it is a member of the privileged group {}",
                member_of.join(", ")
            )
        } else if !unread.is_empty() {
            format!(
                "the members of the privileged group {} could not be read",
                unread.join(", ")
            )
        } else {
            return None;
        };
        Some(format!(
            "{why}; an administrator account is never taken over by correlation. To adopt it \
             anyway, list `{}` in `{}.adopt_privileged`",
            cur.login, self.s.key_path
        ))
    }

    /// A user link fingerprint of target account `t`, as stored (see [`Self::user_fp_text`]).
    fn account_fp_text(&self, t: usize, fp: u64) -> String {
        match self.accounts.owner[t] {
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

    /// Whether an account that should lose access for `reason` is stripped of its access
    /// instead: the target cannot disable accounts, and the deletion policy does not
    /// delete it (or the target cannot delete either).
    fn contains(&self, reason: Reason) -> bool {
        if self.caps.users_set_enabled {
            return false;
        }
        let deletes = self.s.deletion == DeletionPolicy::Delete && self.caps.users_delete;
        match reason {
            // The source (or a hold) says so, whatever the policy.
            Reason::DisabledInSource | Reason::Held | Reason::Offboard => !deletes,
            Reason::Left | Reason::NotInSource => match self.s.deletion {
                DeletionPolicy::Disable => true,
                DeletionPolicy::Delete => !self.caps.users_delete,
                DeletionPolicy::Ignore => false,
            },
        }
    }

    /// Queues account `t` for deactivation, marking it contained when the target cannot
    /// disable it (then it is no one's member and holds no role in this plan).
    fn deactivate(&mut self, t: usize, reason: Reason, source_id: Option<String>, fp: Option<u64>) {
        if self.contains(reason) && self.input.state.users.get(t).enabled {
            self.accounts.contained[t] = true;
            self.accounts.active[t] = false;
        }
        self.accounts.pending_deactivations.push(Deactivation {
            account: t,
            reason,
            source_id,
            fingerprint: fp,
        });
    }

    /// Lists account `t` as held by an offboarding in the plan.
    fn list_held(&mut self, t: usize, h: &Hold) {
        let cur = self.input.state.users.get(t);
        self.plan.held.push(HeldAccount {
            id: cur.id.to_string(),
            login: cur.login.to_string(),
            person: h.person.clone(),
            since: h.created,
            by: h.created_by.clone(),
        });
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

    /// Plans the source users and the target accounts: map, correlate, then diff.
    fn users(&mut self) {
        self.map_users();
        self.refuse_unsafe_and_colliding_logins();
        self.mark_protected_accounts();
        let links_of_present = self.correlate_users();
        let desired = std::mem::take(&mut self.users.desired);
        let freed = self.diff_claimed_users(&desired);
        self.create_users(&desired, &freed);
        self.users.desired = desired;
        self.unclaimed_accounts(links_of_present);
    }

    /// Maps every source user to its desired state in the target; a user held by an
    /// offboarding is desired disabled.
    fn map_users(&mut self) {
        let src = self.src;
        let users: &'i UserTable = &src.src.users;
        let s = self.s;
        let holds: Option<&'i HoldIndex> = src.holds;
        // Map.
        let mut desired = Vec::with_capacity(users.len());
        for (i, u) in users.iter().enumerate() {
            match map_user(u, s, self.caps.users_login_is_email) {
                Ok(mut d) => {
                    if let Some(h) = holds.and_then(|x| x.source_user(u)) {
                        // Held by an offboarding: disabled whatever the source says, with
                        // a state of its own, so that lifting the hold is a change.
                        d.enabled = false;
                        d.fingerprint = Fingerprinter::default()
                            .str(&fingerprint_text(d.fingerprint))
                            .str("held")
                            .value();
                        self.users.held[i] = Some(h);
                    }
                    desired.push(Some(d));
                }
                Err(note) => {
                    self.plan.notes.push(note);
                    desired.push(None);
                }
            }
        }
        self.users.desired = desired;
    }

    /// Marks the protected accounts (by the adapter, or by the `protected` list).
    fn mark_protected_accounts(&mut self) {
        let input = self.input;
        let tusers: &'i UserTable = &input.state.users;
        // Protected accounts (by the adapter, or by the `protected` list).
        let protected_names = std::mem::take(&mut self.groups.protected_names);
        if !input.protected.user_ids.is_empty() || !protected_names.is_empty() {
            for (i, t) in tusers.iter().enumerate() {
                self.accounts.protected[i] = input.protected.user(t.id)
                    || (!protected_names.is_empty()
                        && (protected_names.contains(norm_key(t.login).as_ref())
                            || protected_names.contains(&norm(t.id))
                            || t.email
                                .is_some_and(|e| protected_names.contains(norm_key(e).as_ref()))));
            }
        }
        self.groups.protected_names = protected_names;
    }

    /// Claims target accounts for source users, by stored link first, then by the
    /// correlation keys; returns how many links belong to present source users.
    fn correlate_users(&mut self) -> usize {
        let (src, input) = (self.src, self.input);
        let users: &'i UserTable = &src.src.users;
        let tusers: &'i UserTable = &input.state.users;
        let s = self.s;
        // Correlate: links first.
        let mut links_of_present = 0usize;
        for (i, u) in users.iter().enumerate() {
            let Some(l) = input.user_links.get(u.id) else {
                continue;
            };
            links_of_present += 1;
            if let Some(t) = tusers.find(l.target_id) {
                self.users.claim[i] = Some(t);
                self.accounts.owner[t] = Some(i);
                self.users.linked_fp[i] = l.fingerprint;
                self.users.keeps_login[i] = l.keeps_login && !s.adopt_renames_login;
            }
        }
        // Then correlation keys; collect claims so that a doubly claimed account is seen.
        let unclaimed = (0..users.len())
            .any(|i| self.users.claim[i].is_none() && self.users.desired[i].is_some());
        if unclaimed {
            self.correlate_by_keys();
        }
        links_of_present
    }

    /// Diffs the claimed accounts against their desired state; returns the logins renames
    /// free up, with the operation that frees each.
    fn diff_claimed_users(
        &mut self,
        desired: &[Option<DesiredUser<'i>>],
    ) -> HashMap<String, usize> {
        let (src, input) = (self.src, self.input);
        let users: &'i UserTable = &src.src.users;
        let tusers: &'i UserTable = &input.state.users;
        let s = self.s;
        // Diff claimed accounts; remember which logins renames free up.
        let mut freed: HashMap<String, usize> = HashMap::new();
        for (i, u) in users.iter().enumerate() {
            let Some(t) = self.users.claim[i] else {
                continue;
            };
            if self.users.conflicted[i] {
                continue;
            }
            let cur = tusers.get(t);
            if self.accounts.protected[t] {
                self.plan.protected.push(Account {
                    id: cur.id.to_string(),
                    login: cur.login.to_string(),
                });
                continue;
            }
            let matched_by = self.users.matched_by[i];
            if matched_by.is_some() && desired[i].is_some() {
                if let Some(why) = self.adoption_refusal(t) {
                    self.plan.refused.push(Refused {
                        op: "adopt_user".into(),
                        resource: format!("{} (source user {})", cur.login, describe(u)),
                        reason: why,
                    });
                    // Neither adopted nor created next to it: the source user is left out.
                    self.users.conflicted[i] = true;
                    continue;
                }
            }
            // An account an interrupted run created is linked again, not adopted.
            let adopted_by =
                matched_by.filter(|_| !input.own_creates.contains(norm_key(cur.login).as_ref()));
            self.plan.managed_users += 1;
            let Some(d) = &desired[i] else {
                // In the source but not mappable: left as it is (noted already).
                continue;
            };
            self.accounts.active[t] = true;
            // Claimed through its link, so the link names this very account.
            let link_current = self.users.linked_fp[i] == Some(d.fingerprint);
            let mut ch = user_changes(cur, d, link_current);
            if let Some(key) = adopted_by {
                // Adoption is an operation of its own, shown and counted; the account keeps
                // its login unless configured otherwise.
                // Only an account whose login differs is marked: one found by its login
                // follows later renames in the source like any linked account.
                self.users.keeps_login[i] = !s.adopt_renames_login && ch.login.is_some();
                let more = {
                    let mut c = ch.clone();
                    if self.users.keeps_login[i] {
                        c.login = None;
                    }
                    !(c.is_empty() && d.enabled && cur.enabled)
                };
                // When writes follow, the link records no desired state yet, so that a
                // failed write is retried by the next run.
                let fp = if more {
                    Fingerprinter::default()
                        .str(&fingerprint_text(d.fingerprint))
                        .str("adopted")
                        .value()
                } else {
                    d.fingerprint
                };
                let fingerprint = self.user_fp_text(i, fp);
                self.push_user_op(
                    Some(t),
                    Action::LinkUser {
                        source_id: u.id.to_string(),
                        id: cur.id.to_string(),
                        login: cur.login.to_string(),
                        fingerprint,
                        adopted_by: Some(key.to_string()),
                    },
                    vec![],
                );
            }
            if self.users.keeps_login[i] {
                // An adopted account keeps its own login (`adopt_renames_login = false`).
                ch.login = None;
            }
            let adopted = adopted_by.is_some();
            if self.caps.users_login_immutable {
                if let Some(wanted) = ch.login.take() {
                    // The platform keys accounts by login: the account keeps its login,
                    // and the plan says so on every run (a silent drop reads as "renamed").
                    self.plan.notes.push(format!(
                        "login stays `{}` on {}: the platform cannot change logins (the source renamed it to `{wanted}`)",
                        cur.login, input.name
                    ));
                }
            }
            if let Some(new_login) = &ch.login {
                let key = norm(new_login);
                let occupied = match self.login_slot(&key) {
                    Some(Slot::One(o)) => o != t,
                    Some(Slot::Many) => true,
                    None => false,
                };
                if occupied && !freed.contains_key(&key) {
                    self.plan.conflicts.push(Conflict {
                        kind: "user".into(),
                        sources: vec![describe(u)],
                        target: Some(Account {
                            id: cur.id.to_string(),
                            login: cur.login.to_string(),
                        }),
                        reason: format!(
                            "cannot rename to `{new_login}`: another target account has that login"
                        ),
                    });
                    ch.login = None;
                }
            }
            let mut wrote = false;
            if !ch.is_empty() {
                if self.caps.users_update {
                    let renames = ch.login.is_some();
                    let fingerprint = self.user_fp_text(i, d.fingerprint);
                    let id = self.push_user_op(
                        Some(t),
                        Action::UpdateUser {
                            source_id: u.id.to_string(),
                            id: cur.id.to_string(),
                            before: Box::new(cur.to_user()),
                            changes: Box::new(ch),
                            fingerprint,
                        },
                        vec![],
                    );
                    if renames {
                        freed.insert(norm(cur.login), id);
                    }
                    wrote = true;
                } else {
                    self.plan.notes.push(format!(
                        "`{}` differs from the source but the target cannot update users",
                        cur.login
                    ));
                }
            }
            if d.enabled && !cur.enabled {
                if self.caps.users_set_enabled {
                    let fingerprint = self.user_fp_text(i, d.fingerprint);
                    self.push_user_op(
                        Some(t),
                        Action::EnableUser {
                            source_id: u.id.to_string(),
                            id: cur.id.to_string(),
                            before: Box::new(cur.to_user()),
                            fingerprint,
                        },
                        vec![],
                    );
                    wrote = true;
                } else {
                    self.plan.notes.push(format!(
                        "`{}` is disabled in the target but enabled in the source; the target cannot enable users",
                        cur.login
                    ));
                }
            }
            if !d.enabled {
                let reason = match self.users.held[i] {
                    Some(h) => {
                        self.list_held(t, h);
                        Reason::Held
                    }
                    None => Reason::DisabledInSource,
                };
                self.deactivate(t, reason, Some(u.id.to_string()), Some(d.fingerprint));
                wrote = true;
            }
            if !wrote && !link_current && !adopted {
                let fingerprint = self.user_fp_text(i, d.fingerprint);
                self.push_user_op(
                    Some(t),
                    Action::LinkUser {
                        source_id: u.id.to_string(),
                        id: cur.id.to_string(),
                        login: cur.login.to_string(),
                        fingerprint,
                        adopted_by: None,
                    },
                    vec![],
                );
            }
        }
        freed
    }

    /// Creates accounts for the enabled source users no account was claimed for.
    fn create_users(
        &mut self,
        desired: &[Option<DesiredUser<'i>>],
        freed: &HashMap<String, usize>,
    ) {
        let src = self.src;
        let users: &'i UserTable = &src.src.users;
        // Create the rest.
        let mut cannot_create = 0usize;
        for (i, u) in users.iter().enumerate() {
            if self.users.claim[i].is_some() || self.users.conflicted[i] {
                continue;
            }
            let Some(d) = &desired[i] else {
                continue;
            };
            if !d.enabled {
                // Disabled in the source and absent from the target: nothing to provision.
                continue;
            }
            if !self.caps.users_create {
                cannot_create += 1;
                continue;
            }
            let key = norm(&d.login);
            let mut deps = Vec::new();
            if let Some(holder) = self.login_slot(&key) {
                match (holder, freed.get(&key)) {
                    (Slot::One(_), Some(op)) => deps.push(*op),
                    (holder, _) => {
                        let target = match holder {
                            Slot::One(t) => Some(t),
                            Slot::Many => None,
                        };
                        self.conflict_user(
                            vec![i],
                            target,
                            format!(
                                "login `{}` is taken by a target account idbridge does not manage",
                                d.login
                            ),
                        );
                        continue;
                    }
                }
            }
            let op = self.push_user_op(
                None,
                Action::CreateUser {
                    source_id: u.id.to_string(),
                    user: Box::new(NewUser {
                        login: d.login.to_string(),
                        email: d.email.as_deref().map(str::to_string),
                        display_name: d.display_name.as_deref().map(str::to_string),
                        enabled: true,
                        attributes: d.attributes.clone().unwrap_or_default(),
                        password: None,
                    }),
                    fingerprint: fingerprint_text(d.fingerprint),
                },
                deps,
            );
            self.users.created[i] = Some(op);
        }
        if cannot_create > 0 {
            self.plan.notes.push(format!(
                "{cannot_create} source user(s) have no account and the target cannot create users"
            ));
        }
    }

    /// Target accounts no present source user claims: leavers, adopted, or unmanaged.
    fn unclaimed_accounts(&mut self, links_of_present: usize) {
        let (src, input) = (self.src, self.input);
        let users: &'i UserTable = &src.src.users;
        let tusers: &'i UserTable = &input.state.users;
        let holds: Option<&'i HoldIndex> = src.holds;
        // Target accounts no present source user claims: leavers, adopted, or unmanaged.
        // Links whose source user is gone name the leavers; when every link belongs to a
        // present source user there are none to look for.
        let linked_owner: HashMap<&str, &str> = if links_of_present == input.user_links.len() {
            HashMap::new()
        } else {
            input
                .user_links
                .iter()
                .filter(|l| users.find(l.source_id).is_none())
                .map(|l| (l.target_id, l.source_id))
                .collect()
        };
        for (t, cur) in tusers.iter().enumerate() {
            if self.accounts.owner[t].is_some() {
                continue;
            }
            if self.accounts.protected[t] {
                continue;
            }
            let hold = holds.and_then(|x| x.account(cur));
            if let Some(h) = hold {
                self.list_held(t, h);
            }
            if let Some(source_id) = linked_owner.get(cur.id) {
                self.plan.managed_users += 1;
                // A held leaver is disabled even where leavers are left alone.
                let reason = match hold {
                    Some(_) if self.s.deletion == DeletionPolicy::Ignore => Reason::Held,
                    _ => Reason::Left,
                };
                self.deactivate(t, reason, Some((*source_id).to_string()), None);
            } else if self.s.adopt == Adopt::All {
                self.plan.managed_users += 1;
                let reason = hold.map_or(Reason::NotInSource, |_| Reason::Held);
                self.deactivate(t, reason, None, None);
            } else if hold.is_some() {
                // An account offboarding found directly in the target: kept disabled.
                self.plan.managed_users += 1;
                self.deactivate(t, Reason::Held, None, None);
            } else {
                self.plan.unmanaged.push(Account {
                    id: cur.id.to_string(),
                    login: cur.login.to_string(),
                });
            }
        }
    }

    /// Puts in conflict, so that nothing is done with them, the source users whose login
    /// or e-mail address would be unsafe on a target or would name the same account as
    /// another's.
    ///
    /// A value with a control, zero-width or bidirectional character
    /// ([`idbridge_core::text::is_unsafe`]) shows as another (`admin\u{202e}` reads
    /// backwards, `ada\u{200b}` looks like `ada`), so it is never written to a target. Two
    /// source users whose logins (or e-mail addresses) are equal once compared as the
    /// targets compare them ([`norm`]: Unicode NFC, case folded, so `zoë` precomposed and
    /// `zoe` + U+0308 are one login) would become one account or two look-alike ones; both
    /// are named instead. Logins are checked first: a user in conflict for its login is not
    /// named again for its address.
    fn refuse_unsafe_and_colliding_logins(&mut self) {
        for field in [UserField::Login, UserField::Email] {
            let values: Vec<Option<&str>> = self
                .users
                .desired
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    d.as_ref()
                        .filter(|_| !self.users.conflicted[i])
                        .and_then(|d| field.of(d))
                })
                .collect();
            let checked = lookalike::check(&values, "source users", field.label());
            for (i, reason) in checked.unsafe_values {
                self.conflict_user(vec![i], None, reason);
            }
            for (sources, reason) in checked.collisions {
                self.conflict_user(sources, None, reason);
            }
        }
    }

    /// Claims target accounts for the source users no link claimed, by the configured
    /// correlation keys.
    fn correlate_by_keys(&mut self) {
        let tusers: &'i UserTable = &self.input.state.users;
        let s = self.s;
        let mut t_by_email: HashMap<Cow<'i, str>, Slot> = HashMap::new();
        for (i, t) in tusers.iter().enumerate() {
            if let Some(e) = t.email {
                index_insert(&mut t_by_email, norm_key(e), i);
            }
        }
        let t_by_login = self
            .accounts
            .by_login
            .take()
            .unwrap_or_else(|| login_index(tusers));
        let mut claims: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut keys: HashMap<usize, &'static str> = HashMap::new();
        let mut ambiguous: Vec<(usize, &'static str)> = Vec::new();
        let mut taken: Vec<(usize, usize)> = Vec::new();
        for (i, d) in self.users.desired.iter().enumerate() {
            let Some(d) = d else { continue };
            if self.users.claim[i].is_some() {
                continue;
            }
            for key in &s.correlate {
                let (slot, what) = match key {
                    CorrelationKey::Login => (t_by_login.get(norm_key(&d.login).as_ref()), "login"),
                    CorrelationKey::Email => match &d.email {
                        Some(e) => (t_by_email.get(norm_key(e).as_ref()), "email"),
                        None => (None, "email"),
                    },
                };
                match slot {
                    None => continue,
                    Some(Slot::Many) => {
                        ambiguous.push((i, what));
                        break;
                    }
                    Some(Slot::One(t)) => {
                        let t = *t;
                        if let Some(other) = self.accounts.owner[t] {
                            // Linked to another source user: if that user is renamed away
                            // from this login, the account is not this user's; it will be
                            // created after the rename.
                            let renamed_away = matches!(key, CorrelationKey::Login)
                                && self.users.desired[other].as_ref().is_some_and(|od| {
                                    norm_key(&od.login) != norm_key(tusers.get(t).login)
                                });
                            if renamed_away {
                                continue;
                            }
                            taken.push((i, t));
                            break;
                        }
                        claims.entry(t).or_default().push(i);
                        keys.insert(i, what);
                        break;
                    }
                }
            }
        }
        self.accounts.by_login = Some(t_by_login);
        // A source user already in conflict (an unsafe or colliding login) is named once,
        // for that; what it matches here only keeps its account from looking unclaimed.
        ambiguous.retain(|(i, _)| !self.users.conflicted[*i]);
        taken.retain(|(i, _)| !self.users.conflicted[*i]);
        for (i, what) in ambiguous {
            let login = self.users.desired[i]
                .as_ref()
                .map(|d| d.login.to_string())
                .unwrap_or_default();
            self.conflict_user(
                vec![i],
                None,
                format!("several target accounts match by {what} (`{login}`); none is chosen"),
            );
        }
        for (i, t) in taken {
            let other = self.accounts.owner[t]
                .map(|o| self.src.src.users.id(o).to_string())
                .unwrap_or_default();
            self.conflict_user(
                vec![i],
                Some(t),
                format!("the matching target account is linked to source user `{other}`"),
            );
        }
        let mut claims: Vec<(usize, Vec<usize>)> = claims.into_iter().collect();
        claims.sort_unstable_by_key(|(t, _)| *t);
        for (t, claimants) in claims {
            if claimants.len() > 1 && claimants.iter().all(|&i| self.users.conflicted[i]) {
                self.accounts.owner[t] = Some(claimants[0]);
            } else if claimants.len() > 1 {
                self.conflict_user(
                    claimants,
                    Some(t),
                    "several source users match this one target account; none is applied".into(),
                );
            } else {
                self.users.claim[claimants[0]] = Some(t);
                self.accounts.owner[t] = Some(claimants[0]);
                self.users.matched_by[claimants[0]] = keys.get(&claimants[0]).copied();
            }
        }
    }

    fn diff_groups(&mut self) {
        let (src, input) = (self.src, self.input);
        let gm = match_groups(src, input);
        self.plan.conflicts.extend(gm.conflicts.iter().cloned());
        self.plan.managed_groups += gm.orphans.len();
        let groups = src.groups;
        let tgroups = &input.state.groups;
        let links: HashMap<&str, &Link> = self
            .input
            .group_links
            .iter()
            .map(|l| (l.source_id.as_str(), l))
            .collect();
        self.groups.refs = vec![None; groups.len()];
        let mut cannot_create = 0usize;
        let mut unkept_descriptions = 0usize;
        for (i, g) in groups.iter().enumerate() {
            let Some(name) = gm.name[i].clone() else {
                continue;
            };
            if gm.conflicted[i] {
                continue;
            }
            if !self.caps.groups_description
                && g.description
                    .as_deref()
                    .is_some_and(|d| !d.trim().is_empty())
            {
                unkept_descriptions += 1;
            }
            let description = g
                .description
                .clone()
                .filter(|_| self.caps.groups_description);
            let fp = group_fingerprint(&name, description.as_deref());
            match gm.claim[i] {
                Some(t) => {
                    let cur = &tgroups[t];
                    self.groups.refs[i] = Some(GroupRef {
                        at: Ref::Id(Arc::from(cur.id.as_str())),
                        name: Arc::from(cur.name.as_str()),
                    });
                    if self.group_protected(cur) {
                        self.plan.notes.push(format!(
                            "group `{}` is protected: its name, description and members are left as they are",
                            cur.name
                        ));
                        continue;
                    }
                    self.groups.active.insert(cur.id.as_str());
                    self.plan.managed_groups += 1;
                    let link = links.get(g.id.as_str()).copied();
                    let fp_same =
                        link.is_some_and(|l| l.fingerprint == fp && l.target_id == cur.id);
                    let mut ch = GroupChanges::default();
                    if norm(&name) != norm(&cur.name) {
                        ch.name = Some(name.clone());
                    }
                    if let Some(d) = &description {
                        let differs = Some(d.trim()) != cur.description.as_deref().map(str::trim);
                        let unkept = fp_same && cur.description.is_none();
                        if differs && !unkept {
                            ch.description = Some(Some(d.clone()));
                        }
                    }
                    if !ch.is_empty() && self.caps.groups_update {
                        self.plan.push(
                            Action::UpdateGroup {
                                source_id: g.id.clone(),
                                id: cur.id.clone(),
                                before: Box::new(cur.clone()),
                                changes: Box::new(ch),
                                fingerprint: fp,
                            },
                            vec![],
                        );
                    } else if !link.is_some_and(|l| l.target_id == cur.id && l.fingerprint == fp) {
                        if !ch.is_empty() {
                            self.plan.notes.push(format!(
                                "group `{}` differs from the source but the target cannot update groups",
                                cur.name
                            ));
                        }
                        self.plan.push(
                            Action::LinkGroup {
                                source_id: g.id.clone(),
                                id: cur.id.clone(),
                                name: cur.name.clone(),
                                fingerprint: fp,
                            },
                            vec![],
                        );
                    }
                }
                None => {
                    if !self.caps.groups_create {
                        cannot_create += 1;
                        continue;
                    }
                    let op = self.plan.push(
                        Action::CreateGroup {
                            source_id: g.id.clone(),
                            group: NewGroup {
                                name: name.clone(),
                                description,
                            },
                            fingerprint: fp,
                        },
                        vec![],
                    );
                    self.groups.refs[i] = Some(GroupRef {
                        at: Ref::Created(op),
                        name: Arc::from(name.as_str()),
                    });
                }
            }
        }
        if cannot_create > 0 {
            self.plan.notes.push(format!(
                "{cannot_create} source group(s) have no counterpart and the target cannot create groups"
            ));
        }
        if unkept_descriptions > 0 {
            self.plan.notes.push(format!(
                "{unkept_descriptions} group description(s) are not synced: the platform has no group descriptions"
            ));
        }
        self.groups.matched = Some(gm);
    }

    /// What every source user is in this target, for memberships and grants.
    fn user_refs(&mut self) {
        let mut refs = Vec::with_capacity(self.users.desired.len());
        for i in 0..self.users.desired.len() {
            let r = match (
                &self.users.desired[i],
                self.users.claim[i],
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

    /// The member reference of source user `u`.
    fn user_ref(&self, u: usize) -> Option<PrincipalRef> {
        user_principal(
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

    fn memberships(&mut self) {
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
        let mut removals: Vec<(GroupRef, Member)> = Vec::new();
        let mut ref_cache: Vec<Option<PrincipalRef>> = vec![None; self.users.desired.len()];
        // A few Arcs per group; the loop below needs `self` for the rest.
        let group_refs = self.groups.refs.clone();
        let (mut skipped_adds, mut skipped_removals) = (0usize, 0usize);
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
            let mut adds: Vec<PrincipalRef> = Vec::new();
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
                    // One reference per user, shared by all its operations.
                    if ref_cache[u].is_none() {
                        ref_cache[u] = self.user_ref(u);
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
                    adds.push(p);
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
                let gref = GroupRef {
                    at: Ref::Id(Arc::from(cur.id.as_str())),
                    name: Arc::from(cur.name.as_str()),
                };
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
                    PrincipalRef {
                        kind: PrincipalKind::User,
                        at: Ref::Id(Arc::from(cur.id)),
                        name: Arc::from(cur.login),
                    }
                }
                Member::Other(p) => self.principal_ref_of(&p),
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
    fn refuse_privileged_adds(
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

    /// Removes every contained account from every group whose members were read (not
    /// only the synced ones: a group it kept is access it kept), except protected groups.
    fn strip_memberships(&mut self) {
        if !self.accounts.contained.contains(&true) {
            return;
        }
        let tusers: &'i UserTable = &self.input.state.users;
        let tgroups = &self.input.state.groups;
        for cur in tgroups {
            let Some(list) = self.input.state.members.get(&cur.id) else {
                continue;
            };
            if self.group_protected(cur) {
                continue;
            }
            for &u in &list.users {
                let t = u as usize;
                if !self.accounts.contained[t] || !self.caps.members_remove {
                    continue;
                }
                let acc = tusers.get(t);
                let op = self.plan.push(
                    Action::RemoveMember {
                        group: GroupRef {
                            at: Ref::Id(Arc::from(cur.id.as_str())),
                            name: Arc::from(cur.name.as_str()),
                        },
                        member: PrincipalRef {
                            kind: PrincipalKind::User,
                            at: Ref::Id(Arc::from(acc.id)),
                            name: Arc::from(acc.login),
                        },
                    },
                    vec![],
                );
                self.accounts.strip_ops.entry(t).or_default().push(op);
            }
        }
    }

    /// Revokes every role grant a contained account holds directly, whichever role. Where
    /// every user holds one global role (`grants_global_floor`), a global role above the
    /// least is replaced by the least, granted once.
    fn strip_grants(&mut self) {
        if !self.accounts.contained.contains(&true) || !self.caps.grants_revoke {
            return;
        }
        let tusers: &'i UserTable = &self.input.state.users;
        let troles = &self.input.state.roles;
        let role_name = |id: &str| {
            troles
                .iter()
                .find(|r| r.id == id)
                .map_or_else(|| id.to_string(), |r| r.name.clone())
        };
        let floor = self.caps.grants_global_floor;
        let mut floored: HashSet<usize> = HashSet::new();
        for g in &self.input.state.grants {
            let Principal::User(id) = &g.principal else {
                continue;
            };
            let Some(t) = tusers.find(id).filter(|&t| self.accounts.contained[t]) else {
                continue;
            };
            let action = match floor {
                Some(f) if g.scope.is_global() => {
                    if g.role == f || !self.caps.grants_grant || !floored.insert(t) {
                        continue;
                    }
                    Action::Grant {
                        role: f.to_string(),
                        role_name: role_name(f),
                        principal: self.principal_ref_of(&g.principal),
                        scope: Scope::Global,
                    }
                }
                _ => Action::Revoke {
                    role: g.role.clone(),
                    role_name: role_name(&g.role),
                    principal: self.principal_ref_of(&g.principal),
                    scope: g.scope.clone(),
                },
            };
            let op = self.plan.push(action, vec![]);
            self.accounts.strip_ops.entry(t).or_default().push(op);
        }
    }

    /// Plans what takes the place of a disable for a contained account: its sessions are
    /// revoked after its memberships and grants are removed, and it is listed as able to
    /// sign in. Runs once per change: sessions are revoked when something was stripped,
    /// when live sessions are listed, or when no earlier run recorded the account as
    /// stripped (its link carries [`STRIPPED`] for a leaver, the desired state's
    /// fingerprint otherwise).
    fn contain(
        &mut self,
        t: usize,
        reason: Reason,
        source_id: Option<String>,
        fingerprint: Option<u64>,
        live: Vec<String>,
    ) {
        let cur = self.input.state.users.get(t);
        let stripped = self.accounts.strip_ops.remove(&t).unwrap_or_default();
        let marker = fingerprint.unwrap_or(STRIPPED);
        let recorded = match &source_id {
            Some(sid) => self
                .input
                .user_links
                .get(sid)
                .is_some_and(|l| l.target_id == cur.id && l.fingerprint == Some(marker)),
            // Adopted accounts have no link to record it in: revoke only with a change.
            None => true,
        };
        let revoke = self.eff.sessions_revoke
            && (!live.is_empty()
                || (!self.eff.sessions_list && (!stripped.is_empty() || !recorded)));
        let mut last = stripped.clone();
        if revoke {
            let op = self.push_user_op(
                Some(t),
                Action::RevokeSessions {
                    id: cur.id.to_string(),
                    login: cur.login.to_string(),
                    sessions: live,
                },
                stripped.clone(),
            );
            last = vec![op];
        }
        // Only where sessions cannot be listed does a later run need the record.
        let record = self.eff.sessions_revoke && !self.eff.sessions_list && !recorded;
        if let (Some(sid), true) = (&source_id, record) {
            self.push_user_op(
                Some(t),
                Action::LinkUser {
                    source_id: sid.clone(),
                    id: cur.id.to_string(),
                    login: cur.login.to_string(),
                    fingerprint: fingerprint_text(marker),
                    adopted_by: None,
                },
                last,
            );
        }
        let memberships = if self.eff.groups && self.caps.members_remove {
            "memberships removed"
        } else {
            "its group memberships could not be read or removed here"
        };
        let roles = if self.eff.grants {
            "roles removed"
        } else {
            "its roles could not be read or revoked here"
        };
        let sessions = if self.eff.sessions_revoke {
            "sessions revoked"
        } else {
            "sessions cannot be revoked here"
        };
        let both = match (self.eff.groups && self.caps.members_remove, self.eff.grants) {
            (true, true) => "memberships and roles removed".to_string(),
            _ => format!("{memberships}, {roles}"),
        };
        self.plan.can_sign_in.push(CanSignIn {
            id: cur.id.to_string(),
            login: cur.login.to_string(),
            reason,
            why: format!(
                "cannot disable on this platform: {both}, {sessions}; the account can still sign in"
            ),
            stripped_now: !stripped.is_empty(),
        });
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

    fn roles(&mut self) -> Result<()> {
        let s = self.s;
        self.plan.managed_grants = self.input.state.grants.len();
        let troles = &self.input.state.roles;
        let mut t_role_by_id: HashMap<&str, usize> = HashMap::new();
        let mut t_role_by_name: HashMap<String, Slot> = HashMap::new();
        for (i, r) in troles.iter().enumerate() {
            t_role_by_id.insert(r.id.as_str(), i);
            index_insert(&mut t_role_by_name, norm(&r.name), i);
        }
        let lookup = |name: &str| -> std::result::Result<usize, String> {
            if let Some(&i) = t_role_by_id.get(name) {
                return Ok(i);
            }
            match t_role_by_name.get(&norm(name)) {
                Some(Slot::One(i)) => Ok(*i),
                Some(Slot::Many) => Err(format!(
                    "the target has several roles named `{name}`; give the role's id"
                )),
                None => {
                    let mut known: Vec<&str> = troles.iter().map(|r| r.name.as_str()).collect();
                    known.sort_unstable();
                    known.truncate(30);
                    Err(format!(
                        "target `{}` has no role `{name}`; its roles: {}",
                        self.input.name,
                        known.join(", ")
                    ))
                }
            }
        };
        // Source role index -> (target role index, scope rule).
        let mut role_map: HashMap<usize, (usize, ScopeRule)> = HashMap::new();
        for (name, rt) in &s.roles {
            let Some(&sr) = self.src.role_by_name.get(&norm(name)) else {
                return Err(s.error_at(&rt.key_path, format!("the source has no role `{name}`")));
            };
            let tr =
                lookup(&rt.role).map_err(|e| s.error_at(&format!("{}.role", rt.key_path), e))?;
            role_map.insert(sr, (tr, rt.scope.clone()));
        }
        // Roles are synced only through explicit mappings: platforms name and scope roles
        // too differently (and some give every user exactly one) for a same-name guess to
        // be safe.
        let mut group_role_map: Vec<(usize, usize, &RoleTarget)> = Vec::new();
        for (gname, targets) in &s.group_roles {
            let Some(&g) = self.src.group_by_name.get(&norm(gname)) else {
                let path = format!("{}.group_roles.{gname}", s.key_path);
                return Err(s.error_at(&path, format!("the source has no group `{gname}`")));
            };
            for rt in targets {
                let tr = lookup(&rt.role)
                    .map_err(|e| s.error_at(&format!("{}.role", rt.key_path), e))?;
                group_role_map.push((g, tr, rt));
            }
        }
        let managed_roles: HashSet<&str> = role_map
            .values()
            .map(|(t, _)| troles[*t].id.as_str())
            .chain(
                group_role_map
                    .iter()
                    .map(|(_, t, _)| troles[*t].id.as_str()),
            )
            .collect();
        // Desired grants.
        let (to_groups, global_to_groups) = (
            self.caps.grants_to_groups,
            self.caps.grants_global_to_groups,
        );
        let group_ok = |scope: &Scope| to_groups && (!scope.is_global() || global_to_groups);
        let mut desired: Vec<(usize, PrincipalRef, Scope)> = Vec::new();
        let mut seen: HashSet<(usize, PrincipalRef, Scope)> = HashSet::new();
        let mut skipped_scopes = 0usize;
        let caps = self.caps;
        let mut want = |tr: usize, p: PrincipalRef, scope: Scope, desired: &mut Vec<_>| {
            let ok = if scope.is_global() {
                caps.grants_global
            } else {
                caps.grants_project
            };
            if !ok {
                skipped_scopes += 1;
                return;
            }
            let key = (tr, p, scope);
            if seen.insert(key.clone()) {
                desired.push(key);
            }
        };
        let scope_for = |rule: &ScopeRule, source: &Scope, role: &Role| match rule {
            ScopeRule::Source => source.clone(),
            ScopeRule::Global => Scope::Global,
            ScopeRule::Project(p) => {
                let _ = role;
                Scope::Project(p.clone())
            }
        };
        for grant in &self.src.src.grants {
            let Some(&sr) = self.src.role_by_id.get(grant.role.as_str()) else {
                continue;
            };
            let Some((tr, rule)) = role_map.get(&sr) else {
                continue;
            };
            let scope = scope_for(rule, &grant.scope, &troles[*tr]);
            match &grant.principal {
                Principal::User(uid) => {
                    if let Some(r) = self.src.src.users.find(uid).and_then(|u| self.user_ref(u)) {
                        want(*tr, r, scope, &mut desired);
                    }
                }
                Principal::Group(gid) => {
                    let Some(&g) = self.src.group_by_id.get(gid.as_str()) else {
                        continue;
                    };
                    match self
                        .group_principal(g)
                        .filter(|_| self.eff.groups && group_ok(&scope))
                    {
                        Some(p) => want(*tr, p, scope, &mut desired),
                        None => {
                            for &u in self.src.users_in(g) {
                                if let Some(r) = self.user_ref(u) {
                                    want(*tr, r, scope.clone(), &mut desired);
                                }
                            }
                        }
                    }
                }
            }
        }
        for (g, tr, rt) in &group_role_map {
            let scope = match &rt.scope {
                ScopeRule::Source => troles[*tr].scope.clone(),
                ScopeRule::Global => Scope::Global,
                ScopeRule::Project(p) => Scope::Project(p.clone()),
            };
            match self
                .group_principal(*g)
                .filter(|_| self.eff.groups && group_ok(&scope))
            {
                Some(p) => want(*tr, p, scope, &mut desired),
                None => {
                    for &u in self.src.users_in(*g) {
                        if let Some(r) = self.user_ref(u) {
                            want(*tr, r, scope.clone(), &mut desired);
                        }
                    }
                }
            }
        }
        if skipped_scopes > 0 {
            self.plan.notes.push(format!(
                "{skipped_scopes} grant(s) are in a scope the target cannot grant in and were skipped"
            ));
        }
        // Current managed grants.
        let current: Vec<&Grant> = self
            .input
            .state
            .grants
            .iter()
            .filter(|g| {
                managed_roles.contains(g.role.as_str()) && self.is_active_principal(&g.principal)
            })
            .collect();
        let current_set: HashSet<(&str, bool, &str, &Scope)> = current
            .iter()
            .map(|g| {
                (
                    g.role.as_str(),
                    g.principal.is_group(),
                    g.principal.id(),
                    &g.scope,
                )
            })
            .collect();
        let mut wanted_set: HashSet<(&str, bool, String, Scope)> = HashSet::new();
        let mut skipped_grants = 0usize;
        {
            for (tr, p, scope) in &desired {
                let role = &troles[*tr];
                let present = match &p.at {
                    Ref::Id(id) => current_set.contains(&(
                        role.id.as_str(),
                        p.kind == PrincipalKind::Group,
                        id.as_ref(),
                        scope,
                    )),
                    Ref::Created(_) => false,
                };
                if !present && !self.caps.grants_grant {
                    skipped_grants += 1;
                } else if !present
                    && scope.is_global()
                    && self.input.protected.privileged_group(&role.id)
                {
                    // A global role that is the platform's administrators group.
                    self.plan.refused.push(Refused {
                        op: "grant".into(),
                        resource: format!("{} ({scope}) -> {}", role.name, p.name),
                        reason: format!(
                            "role `{}` is membership of a privileged group; idbridge never grants it",
                            role.name
                        ),
                    });
                } else if !present {
                    let deps = Self::deps_of(&[&p.at]);
                    self.plan.push(
                        Action::Grant {
                            role: role.id.clone(),
                            role_name: role.name.clone(),
                            principal: p.clone(),
                            scope: scope.clone(),
                        },
                        deps,
                    );
                }
            }
        }
        for (tr, p, scope) in &desired {
            if let Ref::Id(id) = &p.at {
                wanted_set.insert((
                    troles[*tr].id.as_str(),
                    p.kind == PrincipalKind::Group,
                    id.to_string(),
                    scope.clone(),
                ));
            }
        }
        if skipped_grants > 0 {
            self.plan.notes.push(format!(
                "{skipped_grants} role grant(s) are wanted but the target cannot grant roles"
            ));
        }
        let mut skipped_revokes = 0usize;
        {
            for g in current {
                let key = (
                    g.role.as_str(),
                    g.principal.is_group(),
                    g.principal.id().to_string(),
                    g.scope.clone(),
                );
                if wanted_set.contains(&key) {
                    continue;
                }
                if !self.caps.grants_revoke {
                    skipped_revokes += 1;
                    continue;
                }
                let role_name = t_role_by_id
                    .get(g.role.as_str())
                    .map(|&i| troles[i].name.clone())
                    .unwrap_or_else(|| g.role.clone());
                let principal = self.principal_ref_of(&g.principal);
                self.plan.push(
                    Action::Revoke {
                        role: g.role.clone(),
                        role_name,
                        principal,
                        scope: g.scope.clone(),
                    },
                    vec![],
                );
            }
        }
        if skipped_revokes > 0 {
            self.plan.notes.push(format!(
                "{skipped_revokes} role grant(s) should be revoked but the target cannot revoke roles"
            ));
        }
        Ok(())
    }

    fn deactivations(&mut self) {
        let tusers = &self.input.state.users;
        let mut sessions: HashMap<&str, Vec<String>> = HashMap::new();
        if let Some(list) = &self.input.state.sessions {
            for s in list {
                sessions
                    .entry(s.user.as_str())
                    .or_default()
                    .push(s.id.clone());
            }
        }
        let pending = std::mem::take(&mut self.accounts.pending_deactivations);
        let policy = self.s.deletion;
        let caps = self.caps;
        let mut cannot = Vec::new();
        for Deactivation {
            account: t,
            reason,
            source_id,
            fingerprint,
        } in pending
        {
            let cur = tusers.get(t);
            let live = sessions.get(cur.id).cloned().unwrap_or_default();
            if self.accounts.contained[t] {
                self.contain(t, reason, source_id, fingerprint, live);
                continue;
            }
            // What to do: a source-disabled user is disabled whatever the policy (the
            // source says so); a leaver follows the policy.
            // Disabled in the source, or held by an offboarding: off whatever the policy.
            let forced = matches!(reason, Reason::DisabledInSource | Reason::Held);
            let want_delete = if forced {
                !caps.users_set_enabled && policy == DeletionPolicy::Delete
            } else {
                policy == DeletionPolicy::Delete
            };
            let want_disable = if forced {
                caps.users_set_enabled
            } else {
                policy == DeletionPolicy::Disable
            };
            if policy == DeletionPolicy::Ignore && !forced {
                continue;
            }
            if want_delete {
                if !caps.users_delete {
                    cannot.push(cur.login.to_string());
                    continue;
                }
                let mut deps = Vec::new();
                if self.eff.sessions_revoke {
                    let r = self.push_user_op(
                        Some(t),
                        Action::RevokeSessions {
                            id: cur.id.to_string(),
                            login: cur.login.to_string(),
                            sessions: live,
                        },
                        vec![],
                    );
                    deps.push(r);
                }
                self.push_user_op(
                    Some(t),
                    Action::DeleteUser {
                        source_id,
                        id: cur.id.to_string(),
                        before: Box::new(cur.to_user()),
                        reason,
                    },
                    deps,
                );
            } else if want_disable {
                if !caps.users_set_enabled {
                    cannot.push(cur.login.to_string());
                    continue;
                }
                if cur.enabled {
                    self.push_user_op(
                        Some(t),
                        Action::DisableUser {
                            source_id,
                            id: cur.id.to_string(),
                            before: Box::new(cur.to_user()),
                            reason,
                            fingerprint: fingerprint.map(|fp| self.account_fp_text(t, fp)),
                        },
                        vec![],
                    );
                    if self.eff.sessions_revoke {
                        self.push_user_op(
                            Some(t),
                            Action::RevokeSessions {
                                id: cur.id.to_string(),
                                login: cur.login.to_string(),
                                sessions: live,
                            },
                            vec![],
                        );
                    }
                } else if !live.is_empty() && self.eff.sessions_revoke {
                    // Disabled already (perhaps by a run that stopped before revoking),
                    // yet sessions are live: finish the job.
                    self.push_user_op(
                        Some(t),
                        Action::RevokeSessions {
                            id: cur.id.to_string(),
                            login: cur.login.to_string(),
                            sessions: live,
                        },
                        vec![],
                    );
                } else if let (Some(source_id), Some(fp)) = (&source_id, &fingerprint) {
                    let link_current = self
                        .input
                        .user_links
                        .get(source_id)
                        .is_some_and(|l| l.target_id == cur.id && l.fingerprint == Some(*fp));
                    if !link_current {
                        self.push_user_op(
                            Some(t),
                            Action::LinkUser {
                                source_id: source_id.clone(),
                                id: cur.id.to_string(),
                                login: cur.login.to_string(),
                                fingerprint: self.account_fp_text(t, *fp),
                                adopted_by: None,
                            },
                            vec![],
                        );
                    }
                }
            } else {
                cannot.push(cur.login.to_string());
            }
        }
        if !cannot.is_empty() {
            let n = cannot.len();
            cannot.truncate(10);
            self.plan.notes.push(format!(
                "{n} account(s) should lose access ({}{}) but the target cannot {} them; \
                 set `deletion` to a policy the target supports",
                cannot.join(", "),
                if n > 10 { ", ..." } else { "" },
                match policy {
                    DeletionPolicy::Delete => "delete",
                    _ => "disable",
                }
            ));
        }
    }

    fn orphan_groups(&mut self) {
        let Some(gm) = self.groups.matched.take() else {
            return;
        };
        let tgroups = &self.input.state.groups;
        for (t, source_id) in &gm.orphans {
            let cur = &tgroups[*t];
            if self.group_protected(cur) {
                continue;
            }
            match self.s.deletion {
                DeletionPolicy::Delete if self.caps.groups_delete => {
                    self.plan.push(
                        Action::DeleteGroup {
                            source_id: Some(source_id.clone()),
                            id: cur.id.clone(),
                            before: Box::new(cur.clone()),
                        },
                        vec![],
                    );
                }
                DeletionPolicy::Ignore => {}
                DeletionPolicy::Delete => self.plan.notes.push(format!(
                    "group `{}` is no longer in the source; it is kept because the target cannot delete groups \
                     (its managed members are removed)",
                    cur.name
                )),
                DeletionPolicy::Disable => self.plan.notes.push(format!(
                    "group `{}` is no longer in the source; it is kept (its managed members are removed; \
                     deletion = \"delete\" deletes it)",
                    cur.name
                )),
            }
        }
        self.groups.matched = Some(gm);
    }

    fn finish(mut self) -> TargetPlan {
        let _ = self.eff;
        self.plan.notes.dedup();
        self.plan
    }
}

/// What changes turn `cur` into `d`. Values compare case- and space-insensitively for the
/// login and email. A field the target shows empty although idbridge already wrote this
/// exact desired state (`fp_same`) is a field the target does not keep: not a change.
fn user_changes(cur: UserRef<'_>, d: &DesiredUser, fp_same: bool) -> UserChanges {
    let mut ch = UserChanges::default();
    if norm_key(&d.login) != norm_key(cur.login) {
        ch.login = Some(d.login.to_string());
    }
    if let Some(e) = &d.email {
        if !(norm_eq(Some(e), cur.email) || (fp_same && cur.email.is_none())) {
            ch.email = Some(Some(e.to_string()));
        }
    }
    if let Some(n) = &d.display_name {
        let differs = Some(n.trim()) != cur.display_name.map(str::trim);
        if differs && !(fp_same && cur.display_name.is_none()) {
            ch.display_name = Some(Some(n.to_string()));
        }
    }
    if let Some(a) = &d.attributes {
        if a != cur.attributes && !(fp_same && cur.attributes.is_empty()) {
            ch.attributes = Some(a.clone());
        }
    }
    ch
}

mod lookalike;

#[cfg(test)]
mod tests;
