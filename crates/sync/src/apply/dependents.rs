//! Which operations of a target plan depend on each operation: what the scheduler looks up
//! each time an operation succeeds, to start what waited for it.
//!
//! A first sync of a million users is six million operations per target and ten million
//! dependencies (each membership change waits for its user's and its group's creation),
//! so the lists are kept as small as they can be read back in order: only the operations
//! that have dependents are listed, and each one's dependents, ascending, are written as
//! the gaps between them in LEB128 (one byte for a gap under 128, two under 16,384). A
//! group's members, planned one after another, take a byte each; a user's memberships,
//! one in each of its groups' runs, two or three. About 2 bytes a dependency, against 4
//! for plain 32-bit numbers.

use crate::plan::TargetPlan;

/// The dependents of every operation of a plan (see the module documentation).
pub(super) struct Dependents {
    /// The operations with dependents, ascending.
    owners: Vec<u32>,
    /// Per owner, where its gaps start in `gaps`; one more at the end.
    starts: Vec<u64>,
    gaps: Vec<u8>,
}

impl Dependents {
    /// The dependents of `plan`'s operations, from what each depends on (always
    /// operations before it).
    pub(super) fn of(plan: &TargetPlan) -> Dependents {
        let n = plan.ops.len();
        // What operation `i` depends on, within the plan.
        let deps_of = |i: usize| {
            plan.ops
                .depends_on(i)
                .iter()
                .map(|d| *d as usize)
                .filter(move |d| *d < n)
        };
        let mut counts = vec![0u32; n];
        for i in 0..n {
            for d in deps_of(i) {
                counts[d] += 1;
            }
        }
        let owners: Vec<u32> = (0..n)
            .filter(|&op| counts[op] > 0)
            // A target plan numbers its operations in 32 bits (see `Ops`).
            .map(|op| op as u32)
            .collect();
        // The dependents are gathered per owner as 32-bit numbers first (they come in plan
        // order, not owner by owner), then encoded, and the numbers dropped.
        let mut at = vec![0u32; n];
        let mut total = 0u32;
        for &op in &owners {
            at[op as usize] = total;
            total += counts[op as usize];
        }
        let mut list = vec![0u32; total as usize];
        for i in 0..n {
            for d in deps_of(i) {
                list[at[d] as usize] = i as u32;
                at[d] += 1;
            }
        }
        drop(at);
        let mut starts = Vec::with_capacity(owners.len() + 1);
        let mut gaps = Vec::with_capacity(list.len() * 2);
        let mut next = 0usize;
        for &op in &owners {
            starts.push(gaps.len() as u64);
            let count = counts[op as usize] as usize;
            let mut from = op;
            // Ascending, and each after its owner: every gap is at least 1.
            for &dependent in list.get(next..next + count).unwrap_or_default() {
                write_gap(&mut gaps, u64::from(dependent.saturating_sub(from)));
                from = dependent;
            }
            next += count;
        }
        starts.push(gaps.len() as u64);
        gaps.shrink_to_fit();
        Dependents {
            owners,
            starts,
            gaps,
        }
    }

    /// The operations that depend on operation `op`, in plan order.
    pub(super) fn of_op(&self, op: usize) -> Gaps<'_> {
        let slot = u32::try_from(op)
            .ok()
            .and_then(|o| self.owners.binary_search(&o).ok());
        let bytes = slot
            .and_then(|s| {
                let start = usize::try_from(*self.starts.get(s)?).ok()?;
                let end = usize::try_from(*self.starts.get(s + 1)?).ok()?;
                self.gaps.get(start..end)
            })
            .unwrap_or_default();
        Gaps {
            bytes,
            at: op as u64,
        }
    }
}

/// One operation's dependents, read from their gaps.
pub(super) struct Gaps<'a> {
    bytes: &'a [u8],
    at: u64,
}

impl Iterator for Gaps<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let mut gap = 0u64;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            gap |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift >= 64 {
                return None;
            }
        }
        self.at += gap;
        usize::try_from(self.at).ok()
    }
}

fn write_gap(gaps: &mut Vec<u8>, mut gap: u64) {
    while gap >= 0x80 {
        gaps.push((gap as u8) | 0x80);
        gap >>= 7;
    }
    gaps.push(gap as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::test_plans::plan_with_deps;

    #[test]
    fn dependents_are_listed_per_operation_in_plan_order() {
        let t = plan_with_deps(&[vec![], vec![0], vec![1, 0], vec![1], vec![]]);
        let d = Dependents::of(&t);
        let of = |op| d.of_op(op).collect::<Vec<_>>();
        assert_eq!(of(0), vec![1, 2]);
        assert_eq!(of(1), vec![2, 3]);
        assert!(of(2).is_empty() && of(3).is_empty() && of(4).is_empty());
        assert!(of(5).is_empty(), "past the end: none");
    }

    /// A first sync's shape: users, groups, then each group's members, with gaps of every
    /// width (one byte, two, three) between a user's memberships.
    #[test]
    fn a_first_syncs_dependents_read_back_and_take_about_two_bytes_each() {
        let (users, groups, per_user) = (3_000, 40, 5);
        let mut lists: Vec<Vec<usize>> = vec![vec![]; users + groups];
        let mut expected: Vec<Vec<usize>> = vec![vec![]; users + groups];
        for g in 0..groups {
            for u in (0..users).filter(|u| (0..per_user).any(|k| (u + k * 7) % groups == g)) {
                let op = lists.len();
                lists.push(vec![u, users + g]);
                expected[u].push(op);
                expected[users + g].push(op);
            }
        }
        // A long jump too: one operation far past the rest.
        lists.extend(std::iter::repeat_n(vec![], 70_000));
        let far = lists.len();
        lists.push(vec![0]);
        expected[0].push(far);
        expected.resize(lists.len(), vec![]);
        let d = Dependents::of(&plan_with_deps(&lists));
        for (op, want) in expected.iter().enumerate() {
            assert_eq!(d.of_op(op).collect::<Vec<_>>(), *want, "operation {op}");
        }
        let edges: usize = expected.iter().map(Vec::len).sum();
        assert!(
            d.gaps.len() <= edges * 5 / 2,
            "{} bytes for {edges} dependencies",
            d.gaps.len()
        );
        assert_eq!(d.owners.len(), users + groups);
    }
}
