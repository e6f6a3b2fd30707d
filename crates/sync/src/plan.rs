//! The plan: per target, an ordered list of operations with their dependencies, plus what
//! was deliberately left alone (conflicts, unmanaged and protected accounts, notes).
//!
//! A plan is plain serde data: `idbridge plan --out FILE` saves it as JSON and
//! `idbridge apply FILE` applies it after checking it against the targets' current state.
//! It never holds a secret (created users carry no password).

use chrono::{DateTime, Utc};
use idbridge_core::{Error, Result};
use serde::{Deserialize, Serialize};

mod action;
mod create;
mod deps;
mod json;
mod ops;
mod read;
mod saved_op;

pub(crate) use action::Numbered;
pub use action::{
    Action, CreateGroup, CreateUser, DeleteGroup, DeleteUser, DisableUser, EnableUser, GroupRef,
    LinkGroup, LinkUser, Op, PrincipalKind, PrincipalRef, Ref, RevokeSessions, RoleChange,
    UpdateGroup, UpdateUser,
};
pub use ops::Ops;

/// The plan file format version this build reads and writes.
pub const PLAN_FORMAT: u32 = 1;

/// A whole plan: one [`TargetPlan`] per target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The plan file format ([`PLAN_FORMAT`]).
    pub format: u32,
    /// When the plan was made.
    pub created: DateTime<Utc>,
    /// The targets, in configuration order.
    pub targets: Vec<TargetPlan>,
    /// Who saved the plan (the operating-system user of `idbridge plan --out`), for
    /// approvals: a plan is not approved by its maker. Covered by the digest and the seal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by: Option<String>,
    /// The seal `idbridge plan --out` puts on a saved plan (see [`Seal`]); `None` on a
    /// plan that was never saved. Not part of [`Plan::digest`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<Seal>,
}

/// What binds a saved plan to the idbridge that wrote it: a keyed digest (HMAC-SHA-256,
/// with a secret kept in the state file) over the plan's content, the configuration and
/// the state file it was made against. `apply` refuses a plan whose seal does not match,
/// naming what differs. The fields are hex; none of them reveals a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// Which state file's key sealed the plan (a digest of the key, not the key).
    pub state: String,
    /// The configuration the plan was made with, keyed by the state file's secret (so
    /// that it reveals nothing about secrets in the configuration).
    pub config: String,
    /// The keyed digest over the plan's [`Plan::digest`], `config` and `state`.
    pub mac: String,
}

impl Plan {
    /// A plan with no targets.
    pub fn new() -> Plan {
        Plan {
            format: PLAN_FORMAT,
            created: Utc::now(),
            targets: Vec::new(),
            made_by: None,
            seal: None,
        }
    }

    /// Whether no target has an operation.
    pub fn is_empty(&self) -> bool {
        self.targets.iter().all(|t| t.ops.is_empty())
    }

    /// The targets that could not be connected to or read (see
    /// [`TargetPlan::unavailable`]).
    pub fn unavailable(&self) -> impl Iterator<Item = &TargetPlan> {
        self.targets.iter().filter(|t| t.unavailable.is_some())
    }

    /// The SHA-256 digest of the plan (hex, lower case) over its compact JSON form without
    /// its seal: the same for a plan and for its saved copy read back, so the journal's
    /// digest of an applied plan can be compared with a reviewed file's.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        /// The plan's fields but the seal, in the plan's own serialized form.
        #[derive(Serialize)]
        struct Content<'a> {
            format: u32,
            created: &'a DateTime<Utc>,
            targets: &'a [TargetPlan],
            #[serde(skip_serializing_if = "Option::is_none")]
            made_by: &'a Option<String>,
        }
        let content = Content {
            format: self.format,
            created: &self.created,
            targets: &self.targets,
            made_by: &self.made_by,
        };
        /// Hashes what is written: the JSON goes into the digest as it is serialized,
        /// never held whole.
        struct Hashing(Sha256);
        impl std::io::Write for Hashing {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.update(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        // Buffered: the serializer writes a token at a time, and a hasher's update per
        // token costs more than the hashing itself.
        let mut hashing = std::io::BufWriter::with_capacity(64 << 10, Hashing(Sha256::new()));
        // Serializing plain data with string keys into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut hashing, &content);
        let _ = std::io::Write::flush(&mut hashing);
        let (hashing, _) = hashing.into_parts();
        hashing
            .0
            .finalize()
            .iter()
            .fold(String::with_capacity(64), |mut out, b| {
                use std::fmt::Write as _;
                let _ = write!(out, "{b:02x}");
                out
            })
    }

    /// The number of operations over all targets.
    pub fn op_count(&self) -> usize {
        self.targets.iter().map(|t| t.ops.len()).sum()
    }

    /// The number of accounts, over all targets, that should have no access but can
    /// still sign in (their target cannot disable them). Non-zero means not converged,
    /// even when there is nothing left to do.
    pub fn can_sign_in(&self) -> usize {
        self.targets.iter().map(|t| t.can_sign_in.len()).sum()
    }

    /// The plan of one target.
    pub fn target(&self, name: &str) -> Option<&TargetPlan> {
        self.targets.iter().find(|t| t.target == name)
    }

    /// Parses a saved plan and checks its structure.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::InvalidInput`] when the text is not a plan, has another
    /// format version, or its operations reference each other inconsistently.
    pub fn from_json(text: &str) -> Result<Plan> {
        let plan: Plan = read::sharing(|| serde_json::from_str(text))
            .map_err(|e| Error::invalid_input(format!("not an idbridge plan: {e}")))?;
        plan.checked()
    }

    /// The plan as saved (see [`Plan::write_json`]): JSON with the plan's and each
    /// target's fields laid out pretty, and each operation on a line of its own.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        // Serializing plain data with string keys into memory cannot fail.
        let _ = self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Plan {
    fn default() -> Self {
        Plan::new()
    }
}

/// A target account, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The target's id.
    pub id: String,
    /// Its login (or a group's name).
    pub login: String,
}

/// An account that should have no access but that the target cannot disable: the plan
/// removes what it can (memberships, roles, sessions), and the account can still sign in.
/// A target with such accounts is never reported as converged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanSignIn {
    /// The target's id.
    pub id: String,
    /// Its login.
    pub login: String,
    /// Why it should have no access.
    pub reason: Reason,
    /// What is done instead of disabling, and what is left ("cannot disable on this
    /// platform: ...").
    pub why: String,
    /// Whether this plan removes something from it (counted by the deletion guard as a
    /// disable); false once earlier runs removed everything they could.
    #[serde(default)]
    pub stripped_now: bool,
}

/// An account kept disabled by an offboarding hold (`idbridge offboard`), whatever the
/// source says, until `idbridge offboard --lift`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldAccount {
    /// The target's id.
    pub id: String,
    /// Its login.
    pub login: String,
    /// The person as the hold names them.
    pub person: String,
    /// When the hold was placed.
    pub since: DateTime<Utc>,
    /// Who placed it.
    pub by: String,
}

/// An operation the source implies but the engine refuses to plan, whatever the source says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// The operation (`add_member`, `adopt_user`).
    pub op: String,
    /// What it addresses (`group <- member`, a login).
    pub resource: String,
    /// Why it is refused, and the override if there is one.
    pub reason: String,
}

/// Something the engine refused to decide, with the records involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// `user` or `group`.
    pub kind: String,
    /// The source records involved (`id (login)`).
    pub sources: Vec<String>,
    /// The target record involved, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Account>,
    /// Why nothing was done.
    pub reason: String,
}

/// Why an account is disabled or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Its source user is gone.
    Left,
    /// Its source user is disabled.
    DisabledInSource,
    /// Not in the source, and the target adopts every account.
    NotInSource,
    /// `idbridge offboard`.
    Offboard,
    /// Held disabled by an earlier `idbridge offboard` (until `offboard --lift`).
    Held,
}

impl Reason {
    /// A short readable reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Left => "left the source",
            Reason::DisabledInSource => "disabled in the source",
            Reason::NotInSource => "not in the source (adopt = \"all\")",
            Reason::Offboard => "offboarded",
            Reason::Held => "held by offboard",
        }
    }
}

/// One target's part of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetPlan {
    /// The target's name.
    pub target: String,
    /// Its adapter kind.
    pub adapter: String,
    /// How many target accounts idbridge manages there (linked, matched or adopted).
    pub managed_users: usize,
    /// How many target groups idbridge manages there (linked or matched).
    #[serde(default)]
    pub managed_groups: usize,
    /// The operations, in a valid order. Read back from a saved plan, the operations share
    /// one reference per group and per member, as the planner's do.
    #[serde(serialize_with = "json::numbered", deserialize_with = "read::ops")]
    pub ops: Ops,
    /// Records the engine refused to decide about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// Target-only accounts left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<Account>,
    /// Protected accounts a source user matched, left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<Account>,
    /// What the source asked for that is never planned: additions to privileged groups,
    /// adoptions of privileged accounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    /// Current members of the groups idbridge manages there (the base of
    /// `max_membership_removal_percent`).
    #[serde(default)]
    pub managed_memberships: usize,
    /// Current role grants read there (the base of `max_revocation_percent`).
    #[serde(default)]
    pub managed_grants: usize,
    /// What the engine could not do on this target and why (capabilities, mapping).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the target could not be planned, when it could not be connected to or read:
    /// such a target has no operations, nothing is changed there, and the other targets
    /// go on without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Accounts that should have no access but can still sign in, because the target
    /// cannot disable them (see [`CanSignIn`]). Listed on every plan while they remain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub can_sign_in: Vec<CanSignIn>,
    /// Accounts an offboarding hold keeps disabled (see [`HeldAccount`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldAccount>,
}

impl TargetPlan {
    /// An empty plan for a target.
    pub fn new(target: &str, adapter: &str) -> TargetPlan {
        TargetPlan {
            target: target.to_string(),
            adapter: adapter.to_string(),
            managed_users: 0,
            managed_groups: 0,
            ops: Ops::new(),
            conflicts: Vec::new(),
            unmanaged: Vec::new(),
            protected: Vec::new(),
            refused: Vec::new(),
            managed_memberships: 0,
            managed_grants: 0,
            notes: Vec::new(),
            unavailable: None,
            can_sign_in: Vec::new(),
            held: Vec::new(),
        }
    }

    /// The plan of a target that could not be connected to or read: no operations, and
    /// `why` (an error's text, which never holds a secret) as its reason.
    pub fn unavailable(target: &str, adapter: &str, why: String) -> TargetPlan {
        TargetPlan {
            unavailable: Some(why),
            ..TargetPlan::new(target, adapter)
        }
    }

    /// Appends an operation depending on the operations numbered in `depends_on` (in any
    /// order, repeats allowed), and returns its number.
    ///
    /// A target plan holds fewer than 4 billion operations: dependencies on numbers past
    /// 32 bits are not kept (see [`Ops`]).
    pub fn push(&mut self, action: Action, depends_on: Vec<usize>) -> usize {
        self.ops.push(action, depends_on)
    }

    /// The number of user disables and deletes, counting each account this plan strips of
    /// its access in place of a disable (a target that cannot disable) as one.
    pub fn deletions(&self) -> usize {
        self.ops.iter().filter(|o| o.action.is_deletion()).count()
            + self.can_sign_in.iter().filter(|c| c.stripped_now).count()
    }

    /// Removes the operations numbered in `drop`, and every operation that depends on a
    /// removed one (directly or through others), renumbering the rest so that the plan
    /// stays consistent. Returns the numbers (in this plan) of every operation removed.
    pub fn drop_ops(&mut self, drop: &std::collections::BTreeSet<usize>) -> Vec<usize> {
        let mut gone = vec![false; self.ops.len()];
        let mut new_index = vec![None; self.ops.len()];
        let mut next = 0;
        for i in 0..self.ops.len() {
            // Dependencies point backwards, so one pass sees every removal before its
            // dependants.
            if drop.contains(&i)
                || self
                    .ops
                    .depends_on(i)
                    .iter()
                    .any(|d| gone.get(*d as usize) == Some(&true))
            {
                gone[i] = true;
            } else {
                new_index[i] = Some(next);
                next += 1;
            }
        }
        let removed: Vec<usize> = (0..self.ops.len()).filter(|i| gone[*i]).collect();
        let mut renumbered = read::Renumbered::default();
        for (i, (mut action, deps)) in self.ops.take().enumerate() {
            if new_index[i].is_none() {
                continue;
            }
            let deps = deps
                .iter()
                .filter_map(|d| new_index.get(*d as usize).copied().flatten())
                .collect();
            renumbered.apply(&mut action, &new_index);
            self.ops.push(action, deps);
        }
        removed
    }

    /// The number of adoptions of existing accounts.
    pub fn adoptions(&self) -> usize {
        self.ops.iter().filter(|o| o.action.is_adoption()).count()
    }

    /// The number of membership removals, except those of accounts this plan strips of
    /// their access in place of a disable (counted as disables).
    pub fn membership_removals(&self) -> usize {
        self.count_removals(|a| match a {
            Action::RemoveMember { member, .. } => Some(&**member),
            _ => None,
        })
    }

    /// The number of role revocations, except those of accounts this plan strips of their
    /// access in place of a disable (counted as disables).
    pub fn revocations(&self) -> usize {
        self.count_removals(|a| match a {
            Action::Revoke(r) => Some(&r.principal),
            _ => None,
        })
    }

    fn count_removals(&self, of: impl Fn(&Action) -> Option<&PrincipalRef>) -> usize {
        let stripped: std::collections::HashSet<&str> = self
            .can_sign_in
            .iter()
            .filter(|c| c.stripped_now)
            .map(|c| c.id.as_str())
            .collect();
        self.ops
            .iter()
            .filter_map(|o| of(&o.action))
            .filter(|p| match (&p.kind, &p.at) {
                (PrincipalKind::User, Ref::Id(id)) => !stripped.contains(id.as_ref()),
                _ => true,
            })
            .count()
    }

    /// Checks that dependencies point backwards and created references name creating
    /// operations (an operation's number is its index; reading a saved plan checks the
    /// numbers it names).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::InvalidInput`] naming the target and operation.
    pub fn check_structure(&self) -> Result<()> {
        let bad = |i: usize, what: String| {
            Err(Error::invalid_input(format!(
                "plan for target `{}`: operation {i}: {what}",
                self.target
            )))
        };
        for (i, deps, action) in self.ops.iter_with_deps() {
            if let Some(d) = deps.iter().find(|d| **d as usize >= i) {
                return bad(i, format!("depends on a later operation {d}"));
            }
            for r in action.refs() {
                if let Ref::Created(n) = r {
                    let creates = self.ops.get(*n).is_some_and(|o| {
                        matches!(o.action, Action::CreateUser(_) | Action::CreateGroup(_))
                    });
                    if *n >= i || !creates {
                        return bad(
                            i,
                            format!("refers to operation {n}, which creates nothing before it"),
                        );
                    }
                    if !deps.iter().any(|d| *d as usize == *n) {
                        return bad(
                            i,
                            format!("uses what operation {n} creates without depending on it"),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
