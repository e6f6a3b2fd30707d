//! Where each operation of a target plan stands, and how many of the operations it depends
//! on have yet to succeed: one byte an operation (a first sync of a million users is six
//! million operations per target), the rare count too large for it kept aside.

use std::collections::HashMap;

use crate::plan::TargetPlan;

/// Where an operation stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum St {
    Pending,
    Running,
    Ok,
    Failed,
    Skipped,
}

impl St {
    const ALL: [St; 5] = [St::Pending, St::Running, St::Ok, St::Failed, St::Skipped];
}

const STATE_BITS: u8 = 3;
const STATE_MASK: u8 = (1 << STATE_BITS) - 1;
/// The largest count a cell holds; one this large or larger lives in `large`.
const IN_CELL_MAX: u32 = (u8::MAX >> STATE_BITS) as u32;

/// The state and the count of unfinished dependencies of every operation of a plan.
pub(super) struct Progress {
    /// Per operation: its [`St`] in the low three bits, its count above them, where a count
    /// of [`IN_CELL_MAX`] means "see `large`".
    cells: Vec<u8>,
    large: HashMap<usize, u32>,
}

impl Progress {
    /// Every operation of `plan` pending, waiting for each operation it depends on.
    pub(super) fn for_plan(plan: &TargetPlan) -> Progress {
        let n = plan.ops.len();
        let mut large = HashMap::new();
        let cells = (0..n)
            .map(|i| {
                let count = u32::try_from(plan.ops.depends_on(i).len()).unwrap_or(u32::MAX);
                if count >= IN_CELL_MAX {
                    large.insert(i, count);
                }
                pack(St::Pending, count.min(IN_CELL_MAX))
            })
            .collect();
        Progress { cells, large }
    }

    /// Where operation `i` stands.
    pub(super) fn state(&self, i: usize) -> St {
        St::ALL[usize::from(self.cells[i] & STATE_MASK)]
    }

    /// Sets where operation `i` stands.
    pub(super) fn set(&mut self, i: usize, st: St) {
        let cell = &mut self.cells[i];
        *cell = (*cell & !STATE_MASK) | st as u8;
    }

    /// How many of the operations `i` depends on have yet to succeed.
    pub(super) fn waiting(&self, i: usize) -> u32 {
        match u32::from(self.cells[i] >> STATE_BITS) {
            IN_CELL_MAX => self.large.get(&i).copied().unwrap_or(0),
            count => count,
        }
    }

    /// Counts one more of the operations `i` depends on as succeeded; returns how many are
    /// left (never below zero).
    pub(super) fn one_succeeded(&mut self, i: usize) -> u32 {
        let left = self.waiting(i).saturating_sub(1);
        if left >= IN_CELL_MAX {
            self.large.insert(i, left);
        } else {
            self.large.remove(&i);
            self.cells[i] = pack(self.state(i), left);
        }
        left
    }

    /// The operations, by number, with where each stands.
    pub(super) fn states(&self) -> impl Iterator<Item = (usize, St)> + '_ {
        (0..self.cells.len()).map(|i| (i, self.state(i)))
    }
}

fn pack(st: St, count: u32) -> u8 {
    // `count` is at most `IN_CELL_MAX`, which fits above the state bits.
    ((count.min(IN_CELL_MAX) as u8) << STATE_BITS) | st as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::test_plans::plan_with_deps;

    #[test]
    fn states_and_counts_are_kept_apart_in_one_byte() {
        let plan = plan_with_deps(&[vec![], vec![0], vec![0, 1]]);
        let mut p = Progress::for_plan(&plan);
        assert_eq!((p.state(2), p.waiting(2)), (St::Pending, 2));
        for st in St::ALL {
            p.set(2, st);
            assert_eq!((p.state(2), p.waiting(2)), (st, 2), "{st:?}");
        }
        p.set(2, St::Pending);
        assert_eq!(p.one_succeeded(2), 1);
        assert_eq!(p.one_succeeded(2), 0);
        assert_eq!(p.one_succeeded(2), 0, "never below zero");
        assert_eq!(p.state(2), St::Pending, "counting leaves the state alone");
        assert_eq!(p.waiting(0), 0);
        let pending = p.states().filter(|(_, s)| *s == St::Pending).count();
        assert_eq!(pending, 3);
    }

    #[test]
    fn a_count_too_large_for_the_byte_counts_down_through_the_boundary() {
        let n = 40;
        let mut lists: Vec<Vec<usize>> = (0..n).map(|_| vec![]).collect();
        lists.push((0..n).collect());
        let plan = plan_with_deps(&lists);
        let mut p = Progress::for_plan(&plan);
        assert_eq!(p.waiting(n), n as u32);
        p.set(n, St::Running);
        for left in (0..n as u32).rev() {
            assert_eq!(p.one_succeeded(n), left);
            assert_eq!(p.waiting(n), left);
            assert_eq!(p.state(n), St::Running);
        }
        assert!(p.large.is_empty(), "nothing left aside once the count fits");
    }
}
