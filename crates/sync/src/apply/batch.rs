//! Batches: which ready operations share one call. User writes go in batches of
//! [`Capabilities::users_batch_max`]; membership changes wait in a [`MemberQueue`] and go
//! in batches of [`Capabilities::members_batch_max`], each holding writes of one
//! [`MemberBatchKey`] (the adapter says which writes one of its requests carries).

use std::collections::{HashMap, HashSet, VecDeque};

use idbridge_core::{Capabilities, MemberBatchKey, MemberWrite, Principal, UserWrite};

use super::perform::{principal, resolve};
use crate::plan::{Action, TargetPlan};

/// Ready membership changes waiting to be sent in batches (see
/// [`Capabilities::members_batch_max`]), one set per [`MemberBatchKey`], in the order
/// they became ready.
pub(crate) struct MemberQueue {
    max: usize,
    sets: HashMap<MemberBatchKey, VecDeque<(usize, MemberWrite)>>,
    order: VecDeque<MemberBatchKey>,
    len: usize,
}

impl MemberQueue {
    /// A queue for a target that takes membership batches, else `None`.
    pub(crate) fn new(caps: &Capabilities) -> Option<MemberQueue> {
        let max = caps.members_batch_max.filter(|m| *m > 1)?;
        Some(MemberQueue {
            max,
            sets: HashMap::new(),
            order: VecDeque::new(),
            len: 0,
        })
    }

    /// Queues operation `i`, whose write shares requests with the writes of `key`.
    pub(crate) fn push(&mut self, i: usize, write: MemberWrite, key: MemberBatchKey) {
        let set = self.sets.entry(key.clone()).or_default();
        if set.is_empty() {
            self.order.push_back(key);
        }
        set.push_back((i, write));
        self.len += 1;
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next batch: the ready changes of the key that has waited longest, at most
    /// `max`. Two changes of the same membership never share a batch: the later one waits
    /// for the next.
    pub(crate) fn take(&mut self) -> Vec<(usize, MemberWrite)> {
        let mut batch: Vec<(usize, MemberWrite)> = Vec::new();
        let Some(key) = self.order.pop_front() else {
            return batch;
        };
        let Some(mut set) = self.sets.remove(&key) else {
            return batch;
        };
        let mut pairs: HashSet<(String, Principal)> = HashSet::new();
        let mut left = VecDeque::new();
        while let Some((i, write)) = set.pop_front() {
            if batch.len() < self.max
                && pairs.insert((write.group().to_string(), write.member().clone()))
            {
                batch.push((i, write));
            } else {
                left.push_back((i, write));
            }
        }
        if !left.is_empty() {
            // What did not fit (or repeats a membership) heads the next batch.
            self.sets.insert(key.clone(), left);
            self.order.push_front(key);
        }
        self.len -= batch.len();
        batch
    }
}

/// The membership write of operation `i`, if it is one and its references resolve.
pub(super) fn member_write(
    plan: &TargetPlan,
    i: usize,
    created: &HashMap<usize, String>,
) -> Option<MemberWrite> {
    let (Action::AddMember { member, .. } | Action::RemoveMember { member, .. }) =
        &plan.ops[i].action
    else {
        return None;
    };
    let resolved = resolve(plan, i, created).ok()?;
    let (group, pid) = (resolved.group?, resolved.principal?);
    let member = principal(member, pid);
    Some(match plan.ops[i].action {
        Action::AddMember { .. } => MemberWrite::Add { group, member },
        _ => MemberWrite::Remove { group, member },
    })
}

/// The batched user write of operation `action`, if it is one (see
/// [`Action::is_user_write`]).
pub(super) fn user_write(action: &Action) -> Option<UserWrite> {
    Some(match action {
        Action::CreateUser(c) => UserWrite::Create { user: c.user() },
        Action::UpdateUser(u) => UserWrite::Update {
            id: u.id.clone(),
            changes: u.changes.clone(),
        },
        Action::EnableUser(u) => UserWrite::SetEnabled {
            id: u.id.clone(),
            enabled: true,
        },
        Action::DisableUser(u) => UserWrite::SetEnabled {
            id: u.id.clone(),
            enabled: false,
        },
        Action::DeleteUser(u) => UserWrite::Delete { id: u.id.clone() },
        _ => return None,
    })
}
