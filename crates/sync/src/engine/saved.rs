//! Saved plans: sealing a plan before it is saved, and checking a saved plan before it is
//! applied (its seal, whether a run applied it already, its approval, and, reading the
//! source and the targets again, whether it still applies exactly and what the guards
//! count now).

use idbridge_core::Result;

use crate::plan::{Action, Plan};
use crate::validate::{source_stale, stale_reasons};

use super::{Engine, UnavailableTarget};

/// What a check of a saved plan against the targets found (see [`Engine::check_saved`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedPlanCheck {
    /// The plan's [`Plan::digest`], as read (before anything is dropped from it).
    pub digest: String,
    /// Why the plan is not taken as one this idbridge wrote, for this configuration and
    /// state file, unaltered (see [`crate::seal`]); `None` when its seal checks. When set,
    /// nothing else was checked.
    pub integrity: Option<String>,
    /// The run that already applied this plan (by its digest), if one did. When set,
    /// nothing else was checked.
    pub applied: Option<idbridge_store::RunRecord>,
    /// Why the plan lacks the approval the configuration requires (`require_approval`,
    /// see [`crate::approval`]); `None` when approved or not required. When set, nothing
    /// else was checked.
    pub approval: Option<String>,
    /// Why the plan can no longer be applied exactly; empty when it can.
    pub stale: Vec<String>,
    /// Operations whose source record vanished or changed since the plan was made, by
    /// target: the operation's number with why.
    /// They refuse the plan, unless dropped with [`SavedPlanCheck::drop_source_stale`].
    pub source_stale: Vec<(String, Vec<(usize, String)>)>,
    /// Targets of the plan that cannot be reached or read now: the rest of the plan can
    /// still be applied, these are skipped.
    pub unavailable: Vec<UnavailableTarget>,
    /// What the guards count, as found now, per target (see [`SavedPlanCheck::recount`]).
    pub live: Vec<LiveCounts>,
}

/// What the guards of a target count, taken from its current state rather than from a
/// plan file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveCounts {
    /// The target's name.
    pub target: String,
    /// Accounts idbridge manages there now.
    pub managed_users: usize,
    /// Groups idbridge manages there now.
    pub managed_groups: usize,
    /// Memberships of managed accounts there now (the removal guard's base).
    pub managed_memberships: usize,
    /// Role grants of managed accounts there now (the revocation guard's base).
    pub managed_grants: usize,
    /// Accounts that cannot be disabled there and that a plan made now strips.
    pub stripped: Vec<String>,
}

impl SavedPlanCheck {
    /// Whether the plan may be applied as it is: its seal checks, it was not applied
    /// before, and no operation is stale.
    pub fn is_clean(&self) -> bool {
        self.integrity.is_none()
            && self.applied.is_none()
            && self.approval.is_none()
            && self.stale.is_empty()
            && self.source_stale.iter().all(|(_, ops)| ops.is_empty())
    }

    /// Replaces every number the guards read in `plan` with what was found now: the
    /// managed accounts and groups of each target, and which accounts are stripped (an
    /// account counts as stripped when the plan removes anything from it, whatever the
    /// file says). A target not read now keeps its numbers, and is not applied anyway.
    pub fn recount(&self, plan: &mut Plan) {
        use crate::plan::Ref;
        for tp in &mut plan.targets {
            let Some(live) = self.live.iter().find(|l| l.target == tp.target) else {
                continue;
            };
            tp.managed_users = live.managed_users;
            tp.managed_groups = live.managed_groups;
            tp.managed_memberships = live.managed_memberships;
            tp.managed_grants = live.managed_grants;
            let touched: std::collections::HashSet<&str> = tp
                .ops
                .iter()
                .filter_map(|o| match &o.action {
                    Action::RemoveMember { member: p, .. } => match &p.at {
                        Ref::Id(id) => Some(id.as_ref()),
                        Ref::Created(_) => None,
                    },
                    Action::Revoke(r) | Action::Grant(r) => match &r.principal.at {
                        Ref::Id(id) => Some(id.as_ref()),
                        Ref::Created(_) => None,
                    },
                    _ => None,
                })
                .collect();
            for c in &mut tp.can_sign_in {
                c.stripped_now = touched.contains(c.id.as_str()) || live.stripped.contains(&c.id);
            }
        }
    }

    /// Drops the operations whose source record vanished or changed (and the operations
    /// that depend on them) from `plan`, and returns what was dropped, per target, as
    /// readable lines.
    pub fn drop_source_stale(&self, plan: &mut Plan) -> Vec<String> {
        let mut out = Vec::new();
        for (target, ops) in &self.source_stale {
            let Some(tp) = plan.targets.iter_mut().find(|t| &t.target == target) else {
                continue;
            };
            let wanted: std::collections::BTreeSet<usize> = ops.iter().map(|(i, _)| *i).collect();
            let described: Vec<(usize, String)> = tp
                .ops
                .iter()
                .enumerate()
                .map(|(i, o)| (i, format!("{} {}", o.action.name(), o.action.resource())))
                .collect();
            for i in tp.drop_ops(&wanted) {
                let why = ops.iter().find(|(n, _)| *n == i).map_or_else(
                    || {
                        let what = described.get(i).map(|(_, d)| d.as_str()).unwrap_or("");
                        format!("operation {i} ({what}): it depends on a dropped operation")
                    },
                    |(_, why)| why.clone(),
                );
                out.push(format!("target `{target}`: {why}"));
            }
        }
        out
    }
}

impl Engine {
    /// Re-reads the targets and lists why a saved plan can no longer be applied exactly;
    /// empty when it can. A target that cannot be reached or read now is one of the
    /// reasons (see [`Engine::check_saved`] to apply the rest of the plan without it).
    ///
    /// # Errors
    /// As [`Engine::read`].
    pub async fn stale_reasons(&self, plan: &Plan) -> Result<Vec<String>> {
        let check = self.check_saved(plan).await?;
        let mut reasons: Vec<String> = check.integrity.into_iter().collect();
        reasons.extend(check.approval);
        if let Some(run) = check.applied {
            reasons.push(format!("the plan was already applied in run {}", run.id));
        }
        reasons.extend(check.stale);
        for (target, ops) in check.source_stale {
            reasons.extend(
                ops.into_iter()
                    .map(|(_, r)| format!("target `{target}`: {r}")),
            );
        }
        for u in check.unavailable {
            reasons.push(format!("target `{}`: {}", u.name, u.reason));
        }
        Ok(reasons)
    }

    /// The normalized configuration a plan is bound to: the source and every target with
    /// all their settings (in key order), or, for an engine built without a configuration,
    /// the systems' names and kinds.
    fn config_binding(&self) -> Vec<u8> {
        match &self.config {
            Some(c) => crate::approval::config_binding(c),
            None => {
                let value = serde_json::json!({
                    "source": [self.source.name(), self.source.kind()],
                    "targets": self.targets.iter().map(|t| [t.name(), t.handle.kind()]).collect::<Vec<_>>(),
                });
                // Plain JSON values serialize.
                serde_json::to_vec(&value).unwrap_or_default()
            }
        }
    }

    /// The sealer of this engine's state file and configuration.
    ///
    /// # Errors
    /// A state file whose key cannot be read or made.
    pub fn sealer(&self) -> Result<crate::seal::Sealer> {
        Ok(crate::seal::Sealer::new(
            self.store.plan_key()?,
            &self.config_binding(),
        ))
    }

    /// Seals a plan about to be saved, binding it to its content, who saves it (the
    /// operating-system user, see [`Plan::made_by`]), this configuration and this state
    /// file (see [`crate::seal`]); returns the sealed plan's [`Plan::digest`].
    ///
    /// # Errors
    /// A state file whose key cannot be read or made.
    pub fn seal(&self, plan: &mut Plan) -> Result<String> {
        Ok(self.sealer_for(plan)?.seal(plan))
    }

    /// Marks `plan` as made by the operating-system user (see [`Plan::made_by`]) and
    /// returns the sealer to save it with ([`crate::seal::Sealer::write_sealed`]): what
    /// [`Engine::seal`] does, for a plan sealed as it is written.
    ///
    /// # Errors
    /// As [`Engine::seal`].
    pub fn sealer_for(&self, plan: &mut Plan) -> Result<crate::seal::Sealer> {
        plan.made_by = Some(idbridge_store::os_user());
        self.sealer()
    }

    /// Checks a saved plan before it is applied: its seal (it was written by this
    /// idbridge, for this configuration and state file, and not altered), whether a run
    /// already applied it, then, re-reading the source and the targets, why it can no
    /// longer be applied exactly (any reason refuses the whole plan), which operations the
    /// source no longer calls for, which of its targets cannot be reached or read now
    /// (those are skipped, the rest can be applied), and what the guards count now.
    ///
    /// # Errors
    /// As [`Engine::read`]; a state file that cannot be read.
    pub async fn check_saved(&self, plan: &Plan) -> Result<SavedPlanCheck> {
        // Computed once: the seal, the journal and the run all name it.
        let mut check = SavedPlanCheck {
            digest: plan.digest(),
            ..SavedPlanCheck::default()
        };
        if let Err(why) = self.sealer()?.check_digest(plan, &check.digest) {
            check.integrity = Some(why);
            return Ok(check);
        }
        if let Some(run) = self.store.run_of_plan(&check.digest)? {
            check.applied = Some(run);
            return Ok(check);
        }
        if self.config.as_ref().is_some_and(|c| c.require_approval) {
            if let Some(why) = crate::approval::missing_approval(&self.store, plan)? {
                check.approval = Some(why);
                return Ok(check);
            }
        }
        let down = self.unavailable();
        for tp in &plan.targets {
            match self.targets.iter().find(|t| t.name() == tp.target) {
                None if down.iter().any(|d| d.name == tp.target) => {}
                None => check.stale.push(format!(
                    "target `{}`: not in the configuration any more",
                    tp.target
                )),
                Some(t) if t.handle.kind() != tp.adapter => check.stale.push(format!(
                    "target `{}`: the plan was made for a `{}` adapter, the configuration now uses `{}`",
                    tp.target,
                    tp.adapter,
                    t.handle.kind()
                )),
                Some(_) => {}
            }
        }
        if !check.stale.is_empty() {
            return Ok(check);
        }
        let snapshot = self.read().await?;
        // The plan that would be made now: what the source calls for, and what the guards
        // count, from the current state rather than from the file; one target at a time,
        // the accounts it creates as the saved plan does kept once for both.
        self.plan_each_target(&snapshot, Some(plan), |now| {
            let Some(tp) = plan.target(&now.target) else {
                return Ok(());
            };
            let Some(snap) = snapshot.targets.iter().find(|s| s.name == tp.target) else {
                return Ok(());
            };
            for r in stale_reasons(tp, &snap.state, &snap.user_links, &snap.group_links) {
                check.stale.push(format!("target `{}`: {r}", tp.target));
            }
            let live = LiveCounts {
                target: tp.target.clone(),
                managed_users: now.managed_users,
                managed_groups: now.managed_groups,
                managed_memberships: now.managed_memberships,
                managed_grants: now.managed_grants,
                stripped: now
                    .can_sign_in
                    .iter()
                    .filter(|c| c.stripped_now)
                    .map(|c| c.id.clone())
                    .collect(),
            };
            check.live.push(live);
            let stale = source_stale(tp, now, &snapshot.source);
            if !stale.is_empty() {
                check.source_stale.push((tp.target.clone(), stale));
            }
            Ok(())
        })?;
        // In the plan's order, as before; targets planned now keep theirs.
        let order = |t: &str| plan.targets.iter().position(|p| p.target == t);
        check.source_stale.sort_by_key(|(t, _)| order(t));
        check.live.sort_by_key(|l| order(&l.target));
        for tp in &plan.targets {
            if let Some(u) = snapshot.unavailable.iter().find(|u| u.name == tp.target) {
                check.unavailable.push(u.clone());
            }
        }
        Ok(check)
    }
}
