//! Diff of the users: what the claimed accounts need (update, enable, adopt, link), the
//! accounts to create, and what becomes of the accounts no source user claims (leavers,
//! adopted accounts, unmanaged ones).

use hashbrown::HashMap;

use idbridge_core::UserChanges;

use crate::holds::HoldIndex;
use crate::plan::{
    Account, Action, Conflict, CreateUser, EnableUser, LinkUser, Reason, Refused, UpdateUser,
};
use crate::settings::{Adopt, DeletionPolicy};
use crate::table::{UserRef, UserTable};
use crate::util::{Fingerprinter, fingerprint_text, norm, norm_eq, norm_key};

use super::map::DesiredUser;
use super::{Planner, Slot, describe};

impl<'i> Planner<'_, 'i> {
    /// Plans the source users and the target accounts: map, correlate, then diff.
    pub(super) fn users(&mut self) {
        self.map_users();
        self.refuse_unsafe_and_lookalike_users();
        self.mark_protected_accounts();
        let links_of_present = self.correlate_users();
        let desired = std::mem::take(&mut self.users.desired);
        let freed = self.diff_claimed_users(&desired);
        self.create_users(&desired, &freed);
        self.users.desired = desired;
        self.unclaimed_accounts(links_of_present);
    }

    /// Diffs the claimed accounts against their desired state; returns the logins renames
    /// free up, with the operation that frees each.
    pub(super) fn diff_claimed_users(
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
            let Some(t) = self.users.claim[i].get() else {
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
            let matched_by = self.users.matched_by.get(&i).copied();
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
                    Action::LinkUser(Box::new(LinkUser {
                        source_id: u.id.to_string(),
                        id: cur.id.to_string(),
                        login: cur.login.to_string(),
                        fingerprint,
                        adopted_by: Some(key.to_string()),
                    })),
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
                        Action::UpdateUser(Box::new(UpdateUser {
                            source_id: u.id.to_string(),
                            id: cur.id.to_string(),
                            before: cur.to_user(),
                            changes: ch,
                            fingerprint,
                        })),
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
                        Action::EnableUser(Box::new(EnableUser {
                            source_id: u.id.to_string(),
                            id: cur.id.to_string(),
                            before: cur.to_user(),
                            fingerprint,
                        })),
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
                let reason = match self.users.held.get(&i).copied() {
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
                    Action::LinkUser(Box::new(LinkUser {
                        source_id: u.id.to_string(),
                        id: cur.id.to_string(),
                        login: cur.login.to_string(),
                        fingerprint,
                        adopted_by: None,
                    })),
                    vec![],
                );
            }
        }
        freed
    }

    /// Creates accounts for the enabled source users no account was claimed for.
    pub(super) fn create_users(
        &mut self,
        desired: &[Option<DesiredUser<'i>>],
        freed: &HashMap<String, usize>,
    ) {
        let src = self.src;
        let users: &'i UserTable = &src.src.users;
        // Create the rest.
        let mut cannot_create = 0usize;
        for (i, u) in users.iter().enumerate() {
            if self.users.claim[i].get().is_some() || self.users.conflicted[i] {
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
                Action::CreateUser(
                    src.create(
                        i,
                        CreateUser::from_parts(
                            u.id,
                            &fingerprint_text(d.fingerprint),
                            &d.login,
                            d.email.as_deref(),
                            d.display_name.as_deref(),
                            true,
                            d.attributes
                                .iter()
                                .flatten()
                                .map(|(k, v)| (k.as_str(), v.as_str())),
                        ),
                    ),
                ),
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
    pub(super) fn unclaimed_accounts(&mut self, links_of_present: usize) {
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
            if self.accounts.owner[t].get().is_some() {
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
