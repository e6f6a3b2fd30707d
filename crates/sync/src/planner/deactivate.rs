//! Deactivations: accounts that should lose access (disabled in the source, held by an
//! offboarding, left the source) are disabled or deleted as the deletion policy says,
//! with their sessions revoked. Where the target cannot disable accounts, an account is
//! contained instead: stripped of its memberships and grants, its sessions revoked, and
//! listed as able to sign in.

use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use idbridge_core::{Principal, Scope};
use idbridge_store::Hold;

use crate::plan::{
    Action, CanSignIn, DeleteUser, DisableUser, GroupRef, HeldAccount, LinkUser, PrincipalKind,
    PrincipalRef, Reason, Ref, RoleChange,
};
use crate::settings::DeletionPolicy;
use crate::table::UserTable;
use crate::util::fingerprint_text;

use super::{Deactivation, Planner};

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

impl<'i> Planner<'_, 'i> {
    /// Whether an account that should lose access for `reason` is stripped of its access
    /// instead: the target cannot disable accounts, and the deletion policy does not
    /// delete it (or the target cannot delete either).
    pub(super) fn contains(&self, reason: Reason) -> bool {
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
    pub(super) fn deactivate(
        &mut self,
        t: usize,
        reason: Reason,
        source_id: Option<String>,
        fp: Option<u64>,
    ) {
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
    pub(super) fn list_held(&mut self, t: usize, h: &Hold) {
        let cur = self.input.state.users.get(t);
        self.plan.held.push(HeldAccount {
            id: cur.id.to_string(),
            login: cur.login.to_string(),
            person: h.person.clone(),
            since: h.created,
            by: h.created_by.clone(),
        });
    }

    pub(super) fn deactivations(&mut self) {
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
                    let r = self.revoke_sessions(t, live, vec![]);
                    deps.push(r);
                }
                self.push_user_op(
                    Some(t),
                    Action::DeleteUser(Box::new(DeleteUser {
                        source_id,
                        id: cur.id.to_string(),
                        before: cur.to_user(),
                        reason,
                    })),
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
                        Action::DisableUser(Box::new(DisableUser {
                            source_id,
                            id: cur.id.to_string(),
                            before: cur.to_user(),
                            reason,
                            fingerprint: fingerprint.map(|fp| self.account_fp_text(t, fp)),
                        })),
                        vec![],
                    );
                    if self.eff.sessions_revoke {
                        self.revoke_sessions(t, live, vec![]);
                    }
                } else if !live.is_empty() && self.eff.sessions_revoke {
                    // Disabled already (perhaps by a run that stopped before revoking),
                    // yet sessions are live: finish the job.
                    self.revoke_sessions(t, live, vec![]);
                } else if let (Some(source_id), Some(fp)) = (&source_id, &fingerprint) {
                    let link_current = self
                        .input
                        .user_links
                        .get(source_id)
                        .is_some_and(|l| l.target_id == cur.id && l.fingerprint == Some(*fp));
                    if !link_current {
                        self.push_user_op(
                            Some(t),
                            Action::LinkUser(Box::new(LinkUser {
                                source_id: source_id.clone(),
                                id: cur.id.to_string(),
                                login: cur.login.to_string(),
                                fingerprint: self.account_fp_text(t, *fp),
                                adopted_by: None,
                            })),
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

    /// Plans what takes the place of a disable for a contained account: its sessions are
    /// revoked after its memberships and grants are removed, and it is listed as able to
    /// sign in. Runs once per change: sessions are revoked when something was stripped,
    /// when live sessions are listed, or when no earlier run recorded the account as
    /// stripped (its link carries [`STRIPPED`] for a leaver, the desired state's
    /// fingerprint otherwise).
    pub(super) fn contain(
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
            let op = self.revoke_sessions(t, live, stripped.clone());
            last = vec![op];
        }
        // Only where sessions cannot be listed does a later run need the record.
        let record = self.eff.sessions_revoke && !self.eff.sessions_list && !recorded;
        if let (Some(sid), true) = (&source_id, record) {
            self.push_user_op(
                Some(t),
                Action::LinkUser(Box::new(LinkUser {
                    source_id: sid.clone(),
                    id: cur.id.to_string(),
                    login: cur.login.to_string(),
                    fingerprint: fingerprint_text(marker),
                    adopted_by: None,
                })),
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

    /// Removes every contained account from every group whose members were read (not
    /// only the synced ones: a group it kept is access it kept), except protected groups.
    pub(super) fn strip_memberships(&mut self) {
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
            let gref = Arc::new(GroupRef {
                at: Ref::Id(Arc::from(cur.id.as_str())),
                name: Arc::from(cur.name.as_str()),
            });
            for &u in &list.users {
                let t = u as usize;
                if !self.accounts.contained[t] || !self.caps.members_remove {
                    continue;
                }
                let acc = tusers.get(t);
                let op = self.plan.push(
                    Action::RemoveMember {
                        group: gref.clone(),
                        member: Arc::new(PrincipalRef {
                            kind: PrincipalKind::User,
                            at: Ref::Id(Arc::from(acc.id)),
                            name: Arc::from(acc.login),
                        }),
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
    pub(super) fn strip_grants(&mut self) {
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
                    Action::Grant(Box::new(RoleChange {
                        role: f.to_string(),
                        role_name: role_name(f),
                        principal: self.principal_ref_of(&g.principal),
                        scope: Scope::Global,
                    }))
                }
                _ => Action::Revoke(Box::new(RoleChange {
                    role: g.role.clone(),
                    role_name: role_name(&g.role),
                    principal: self.principal_ref_of(&g.principal),
                    scope: g.scope.clone(),
                })),
            };
            let op = self.plan.push(action, vec![]);
            self.accounts.strip_ops.entry(t).or_default().push(op);
        }
    }
}
