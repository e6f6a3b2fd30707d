//! A target plan's operations, in order, with their dependencies.

use std::fmt;
use std::ops::Deref;

use super::action::{Action, Op};
use super::deps::{self, Deps, Kept};

/// The operations of a target plan, in a valid order: an operation's number is its index
/// (reads as a slice of [`Op`]), and it depends only on lower numbers
/// ([`Ops::depends_on`]).
///
/// A target plan holds at most 4,294,967,293 operations: dependencies are kept as 32-bit
/// numbers, two of them inside the operation and longer lists here.
#[derive(Clone, Default)]
pub struct Ops {
    list: Vec<Op>,
    // The dependencies of the few operations with more than two, which name their list's
    // index here.
    longer: Vec<Box<[u32]>>,
}

impl Ops {
    /// No operations.
    pub fn new() -> Ops {
        Ops::default()
    }

    /// Appends an operation depending on the operations numbered in `depends_on` (in any
    /// order, repeats allowed), and returns its number.
    ///
    /// Dependencies on numbers past 4,294,967,293 are not kept.
    pub fn push(&mut self, action: Action, depends_on: Vec<usize>) -> usize {
        let deps = deps::sorted(depends_on).unwrap_or_default();
        self.push_sorted(action, &deps)
    }

    /// Appends an operation depending on `deps`, sorted, distinct and each at most
    /// [`deps::MAX_STEP`].
    pub(crate) fn push_sorted(&mut self, action: Action, deps: &[u32]) -> usize {
        let depends_on = Deps::inline(deps).unwrap_or_else(|| {
            // As many lists as operations at most, so the index fits.
            let index = self.longer.len() as u32;
            self.longer.push(deps.into());
            Deps::longer(index)
        });
        self.list.push(Op { depends_on, action });
        self.list.len() - 1
    }

    /// The numbers of the operations that operation `n` depends on, increasing; empty
    /// when it depends on none or there is no operation `n`.
    pub fn depends_on(&self, n: usize) -> &[u32] {
        let Some(op) = self.list.get(n) else {
            return &[];
        };
        match op.depends_on.kept() {
            Kept::Inline(d) => d,
            Kept::Longer(i) => self.longer.get(i).map_or(&[], |d| d),
        }
    }

    /// The numbered operations with what each depends on.
    pub fn iter_with_deps(&self) -> impl Iterator<Item = (usize, &[u32], &Action)> + '_ {
        (0..self.list.len()).map(|n| (n, self.depends_on(n), &self.list[n].action))
    }

    /// Removes the last operation and gives its action.
    pub(crate) fn pop(&mut self) -> Option<Action> {
        let op = self.list.pop()?;
        if let Kept::Longer(i) = op.depends_on.kept() {
            if i + 1 == self.longer.len() {
                self.longer.pop();
            }
        }
        Some(op.action)
    }

    pub(crate) fn reserve(&mut self, more: usize) {
        self.list.reserve(more);
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.list.shrink_to_fit();
        self.longer.shrink_to_fit();
    }

    /// Takes the operations out as (action, dependencies), leaving none.
    pub(crate) fn take(&mut self) -> impl Iterator<Item = (Action, Vec<u32>)> + use<> {
        let ops = std::mem::take(self);
        let longer = ops.longer;
        ops.list.into_iter().map(move |op| {
            let deps = match op.depends_on.kept() {
                Kept::Inline(d) => d.to_vec(),
                Kept::Longer(i) => longer.get(i).map(|d| d.to_vec()).unwrap_or_default(),
            };
            (op.action, deps)
        })
    }
}

impl Deref for Ops {
    type Target = [Op];

    fn deref(&self) -> &[Op] {
        &self.list
    }
}

impl<'a> IntoIterator for &'a Ops {
    type Item = &'a Op;
    type IntoIter = std::slice::Iter<'a, Op>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl PartialEq for Ops {
    fn eq(&self, other: &Ops) -> bool {
        self.len() == other.len()
            && self
                .iter_with_deps()
                .zip(other.iter_with_deps())
                .all(|(a, b)| a == b)
    }
}

impl fmt::Debug for Ops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter_with_deps()
                    .map(|(_, depends_on, action)| Shown { depends_on, action }),
            )
            .finish()
    }
}

/// An operation as [`Ops`] prints it for debugging: its dependencies resolved.
struct Shown<'a> {
    depends_on: &'a [u32],
    action: &'a Action,
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Op")
            .field("depends_on", &self.depends_on)
            .field("action", self.action)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::RevokeSessions;

    fn revoke(n: usize) -> Action {
        Action::RevokeSessions(Box::new(RevokeSessions {
            id: format!("u{n}"),
            login: format!("u{n}"),
            sessions: Vec::new(),
        }))
    }

    #[test]
    fn keeps_any_number_of_dependencies_and_eight_bytes_an_operation_for_them() {
        assert_eq!(std::mem::size_of::<Op>(), 32);
        let mut ops = Ops::new();
        let lists: [Vec<usize>; 6] = [
            vec![],
            vec![0],
            vec![1, 0, 1],
            vec![2, 0, 1],
            vec![3, 3],
            vec![4, 1, 3, 0, 2],
        ];
        for (n, deps) in lists.iter().enumerate() {
            assert_eq!(ops.push(revoke(n), deps.clone()), n);
        }
        let want: [&[u32]; 6] = [&[], &[0], &[0, 1], &[0, 1, 2], &[3], &[0, 1, 2, 3, 4]];
        for (n, w) in want.iter().enumerate() {
            assert_eq!(ops.depends_on(n), *w, "operation {n}");
        }
        assert_eq!(ops.depends_on(6), &[] as &[u32]);
        assert_eq!(ops.longer.len(), 2);
        let copy = ops.clone();
        assert_eq!(copy, ops);
        let mut popped = copy.clone();
        assert!(matches!(popped.pop(), Some(Action::RevokeSessions(r)) if r.id == "u5"));
        assert_eq!(
            popped.longer.len(),
            1,
            "the last operation's list goes with it"
        );
        assert_eq!(popped.depends_on(3), [0, 1, 2]);
        let taken: Vec<Vec<u32>> = ops.take().map(|(_, d)| d).collect();
        assert_eq!(taken, want.map(<[u32]>::to_vec));
        assert!(ops.is_empty());
        assert_ne!(copy, ops);
    }

    #[test]
    fn equal_whatever_the_order_their_longer_lists_were_kept_in() {
        let mut a = Ops::new();
        let mut b = Ops::new();
        for ops in [&mut a, &mut b] {
            for n in 0..3 {
                ops.push(revoke(n), vec![]);
            }
        }
        // The same dependencies reached another way: a list with an extra entry.
        a.push(revoke(3), vec![0, 1, 2]);
        b.longer.push(vec![9, 9, 9].into());
        b.push(revoke(3), vec![2, 1, 0]);
        assert_eq!(a, b);
        b.push(revoke(4), vec![]);
        assert_ne!(a, b);
    }
}
