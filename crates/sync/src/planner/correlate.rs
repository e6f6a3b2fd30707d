//! Correlate: which existing target record each source record is. Users by their stored
//! link first, then by the correlation keys (login, e-mail address); groups by link, then
//! by name. Protected accounts are marked, values that are unsafe or look alike are
//! refused, and an administrator account is never taken over by a key.

use std::borrow::Cow;

use hashbrown::{HashMap, HashSet};

use idbridge_store::Link;

use crate::plan::{Account, Conflict};
use crate::settings::CorrelationKey;
use crate::state::Effective;
use crate::table::{LinkRef, UserTable};
use crate::util::{norm, norm_key};

use super::lookalike;
use super::map::DesiredUser;
use super::source::SourceIndex;
use super::{MaybePosition, Planner, Slot, TargetInput, describe_group, index_insert};

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
pub(super) struct GroupMatch {
    /// Per source group: its target name, or `None` when it is not synced.
    pub(super) name: Vec<Option<String>>,
    /// Per source group: the target group it corresponds to.
    pub(super) claim: Vec<Option<usize>>,
    /// Per source group: whether it is in a conflict (then nothing is done with it).
    pub(super) conflicted: Vec<bool>,
    /// Target groups linked to a source group that no longer exists, with that source id.
    pub(super) orphans: Vec<(usize, String)>,
    pub(super) conflicts: Vec<Conflict>,
}

pub(super) fn match_groups(src: &SourceIndex<'_>, input: &TargetInput<'_>) -> GroupMatch {
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
pub(super) fn privileged_groups<'a>(
    input: &'a TargetInput<'a>,
) -> impl Iterator<Item = usize> + 'a {
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

/// The target's accounts by normalised login.
pub(super) fn login_index(tusers: &UserTable) -> HashMap<Cow<'_, str>, Slot> {
    let mut m = HashMap::with_capacity(tusers.len());
    for (i, t) in tusers.iter().enumerate() {
        index_insert(&mut m, norm_key(t.login), i);
    }
    m
}

impl<'i> Planner<'_, 'i> {
    /// Marks the protected accounts (by the adapter, or by the `protected` list).
    pub(super) fn mark_protected_accounts(&mut self) {
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
    pub(super) fn correlate_users(&mut self) -> usize {
        let (src, input) = (self.src, self.input);
        let users: &'i UserTable = &src.src.users;
        let tusers: &'i UserTable = &input.state.users;
        let s = self.s;
        // Correlate: links first. Looked up a chunk of users at a time, their links then
        // the accounts those name, so that the lookups' waits on memory overlap.
        const CHUNK: usize = 1024;
        let mut links_of_present = 0usize;
        let mut linked: Vec<(usize, LinkRef<'i>)> = Vec::with_capacity(CHUNK);
        for start in (0..users.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(users.len());
            linked.clear();
            let mut i = start;
            input
                .user_links
                .get_each((start..end).map(|i| users.id(i)), |l| {
                    if let Some(l) = l {
                        linked.push((i, l));
                    }
                    i += 1;
                });
            links_of_present += linked.len();
            let mut claimed = linked.iter();
            tusers.find_each(linked.iter().map(|(_, l)| l.target_id), |t| {
                let Some(&(i, l)) = claimed.next() else {
                    return;
                };
                if let Some(t) = t {
                    self.users.claim[i] = MaybePosition::some(t);
                    self.accounts.owner[t] = MaybePosition::some(i);
                    self.users.linked_fp[i] = l.fingerprint;
                    self.users.keeps_login[i] = l.keeps_login && !s.adopt_renames_login;
                }
            });
        }
        // Then correlation keys; collect claims so that a doubly claimed account is seen.
        let unclaimed = (0..users.len())
            .any(|i| self.users.claim[i].get().is_none() && self.users.desired[i].is_some());
        if unclaimed {
            self.correlate_by_keys();
        }
        links_of_present
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
    pub(super) fn refuse_unsafe_and_lookalike_users(&mut self) {
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
    pub(super) fn correlate_by_keys(&mut self) {
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
            if self.users.claim[i].get().is_some() {
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
                        if let Some(other) = self.accounts.owner[t].get() {
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
                .get()
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
                self.accounts.owner[t] = MaybePosition::some(claimants[0]);
            } else if claimants.len() > 1 {
                self.conflict_user(
                    claimants,
                    Some(t),
                    "several source users match this one target account; none is applied".into(),
                );
            } else {
                self.users.claim[claimants[0]] = MaybePosition::some(t);
                self.accounts.owner[t] = MaybePosition::some(claimants[0]);
                if let Some(&key) = keys.get(&claimants[0]) {
                    self.users.matched_by.insert(claimants[0], key);
                }
            }
        }
    }

    /// Why target account `t` may not be adopted: the privileged groups it is a member of
    /// (or whose members could not be read), unless `adopt_privileged` names it.
    pub(super) fn adoption_refusal(&self, t: usize) -> Option<String> {
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
}
