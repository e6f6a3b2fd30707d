//! Batches: which ready operations share one call. User writes go in batches of
//! [`Capabilities::users_batch_max`], group writes in batches of
//! [`Capabilities::groups_batch_max`]; membership changes wait in a [`MemberQueue`] and go
//! in batches of [`Capabilities::members_batch_max`], each holding writes of one
//! [`MemberBatchKey`] (the adapter says which writes one of its requests carries).

use std::collections::{HashMap, HashSet, VecDeque};

use idbridge_core::{Capabilities, GroupWrite, MemberBatchKey, MemberWrite, Principal, UserWrite};

use super::created::CreatedIds;
use super::perform::{principal, resolve};
use crate::plan::{Action, TargetPlan};

/// Ready membership changes waiting to be sent in batches (see
/// [`Capabilities::members_batch_max`]), one set per [`MemberBatchKey`], in the order
/// they became ready; each by its operation's number (its write is made when its batch
/// is taken).
pub(crate) struct MemberQueue {
    max: usize,
    /// Operation numbers, in 32 bits as the plan numbers them (see `Ops`): a first sync
    /// queues millions.
    sets: HashMap<MemberBatchKey, VecDeque<u32>>,
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
    pub(crate) fn push(&mut self, i: usize, key: MemberBatchKey) {
        let set = self.sets.entry(key.clone()).or_default();
        if set.is_empty() {
            self.order.push_back(key);
        }
        // A target plan numbers its operations in 32 bits (see `Ops`).
        set.push_back(i as u32);
        self.len += 1;
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next batch: the ready changes of the key that has waited longest, at most
    /// `max`, with their writes. Two changes of the same membership never share a batch:
    /// the later one waits for the next. Also returned: queued changes whose write cannot
    /// be made (they go alone, and fail there).
    pub(crate) fn take(
        &mut self,
        plan: &TargetPlan,
        created: &CreatedIds,
    ) -> (Vec<(usize, MemberWrite)>, Vec<usize>) {
        let mut batch: Vec<(usize, MemberWrite)> = Vec::new();
        let mut alone = Vec::new();
        let Some(key) = self.order.pop_front() else {
            return (batch, alone);
        };
        let Some(mut set) = self.sets.remove(&key) else {
            return (batch, alone);
        };
        let mut pairs: HashSet<(String, Principal)> = HashSet::new();
        let mut repeats = Vec::new();
        // Only as far as the batch fills: a set can hold millions.
        while batch.len() < self.max {
            let Some(i) = set.pop_front().map(|i| i as usize) else {
                break;
            };
            match member_write(plan, i, created) {
                None => alone.push(i),
                Some(write)
                    if pairs.insert((write.group().to_string(), write.member().clone())) =>
                {
                    batch.push((i, write));
                }
                Some(_) => repeats.push(i),
            }
        }
        // What repeats a membership heads the next batch, in its order.
        for i in repeats.into_iter().rev() {
            set.push_front(i as u32);
        }
        if !set.is_empty() {
            shrink_drained(&mut set);
            self.sets.insert(key.clone(), set);
            self.order.push_front(key);
        }
        self.len -= batch.len() + alone.len();
        (batch, alone)
    }
}

/// Gives back the room of a queue that has mostly drained: a first sync queues millions
/// of operations at once (its user creates, then the membership changes that waited for
/// them), and a queue keeps its largest room until dropped.
pub(super) fn shrink_drained<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > 4096 && queue.len() < queue.capacity() / 4 {
        queue.shrink_to(queue.len() * 2);
    }
}

/// The membership write of operation `i`, if it is one and its references resolve.
pub(super) fn member_write(
    plan: &TargetPlan,
    i: usize,
    created: &CreatedIds,
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

/// The batched group write of operation `action`, if it is one (see
/// [`Action::is_group_write`]).
pub(super) fn group_write(action: &Action) -> Option<GroupWrite> {
    Some(match action {
        Action::CreateGroup(c) => GroupWrite::Create {
            group: c.group.clone(),
        },
        Action::UpdateGroup(u) => GroupWrite::Update {
            id: u.id.clone(),
            changes: u.changes.clone(),
        },
        Action::DeleteGroup(d) => GroupWrite::Delete { id: d.id.clone() },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::plan::{GroupRef, PrincipalKind, PrincipalRef, Ref};

    fn add(t: &mut TargetPlan, group: &str, member: &str) -> usize {
        t.push(
            Action::AddMember {
                group: Arc::new(GroupRef {
                    at: Ref::Id(group.into()),
                    name: group.into(),
                }),
                member: Arc::new(PrincipalRef {
                    kind: PrincipalKind::User,
                    at: Ref::Id(member.into()),
                    name: member.into(),
                }),
            },
            vec![],
        )
    }

    #[test]
    fn a_drained_queue_gives_back_its_room_and_keeps_its_order() {
        let mut q: VecDeque<u32> = (0..100_000).collect();
        let full = q.capacity();
        while q.len() > 1_000 {
            q.pop_front();
            shrink_drained(&mut q);
        }
        assert!(q.capacity() <= 4_096 * 2, "{} of {full} kept", q.capacity());
        assert!(q.iter().copied().eq(99_000..100_000));
    }

    #[test]
    fn batches_fill_in_order_and_a_repeated_membership_waits_for_the_next() {
        let mut t = TargetPlan::new("bi", "file");
        let mut queue = MemberQueue::new(&Capabilities {
            members_batch_max: Some(1000),
            ..Capabilities::default()
        })
        .expect("batches");
        let first = add(&mut t, "g1", "u0");
        queue.push(first, MemberBatchKey::Any);
        let repeat = add(&mut t, "g1", "u0");
        queue.push(repeat, MemberBatchKey::Any);
        for i in 1..2500 {
            let op = add(&mut t, "g1", &format!("u{i}"));
            queue.push(op, MemberBatchKey::Any);
        }
        let created = CreatedIds::for_plan(&t);
        let mut taken = Vec::new();
        while !queue.is_empty() {
            let (batch, alone) = queue.take(&t, &created);
            assert!(alone.is_empty());
            assert!(batch.len() <= 1000);
            taken.push(batch.iter().map(|(i, _)| *i).collect::<Vec<_>>());
        }
        assert_eq!(taken.len(), 3);
        assert_eq!(taken[0].len(), 1000);
        assert!(!taken[0].contains(&repeat), "the repeat waits");
        assert_eq!(taken[1][0], repeat, "and heads the next batch");
        let all: Vec<usize> = taken.concat();
        assert_eq!(all.len(), 2501);
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 2501, "each once");
    }
}
