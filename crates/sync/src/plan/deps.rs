//! The dependencies of an operation: almost always none, one or two, kept in the
//! operation's 8 bytes; the rare longer list lives with the target's operations
//! ([`super::Ops`]), which the operation names by index.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Marks an empty slot.
const EMPTY: u32 = u32::MAX;
/// In the first slot: the second is the index of a longer list kept by the operations.
const LONGER: u32 = u32::MAX - 1;
/// The largest operation number a dependency may name: the two above are markers.
pub(crate) const MAX_STEP: u32 = u32::MAX - 2;

/// The dependencies of one operation as it keeps them: up to two operation numbers, in
/// increasing order, or the index of a longer list (see [`super::Ops::depends_on`]).
/// 8 bytes, because a first sync of a million users holds 18 million operations.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deps([u32; 2]);

/// Where an operation's dependencies are: in the operation, or in a longer list.
pub(crate) enum Kept<'a> {
    Inline(&'a [u32]),
    Longer(usize),
}

impl Deps {
    /// No dependency.
    pub(crate) const NONE: Deps = Deps([EMPTY, EMPTY]);

    /// Up to two sorted, distinct numbers (each at most [`MAX_STEP`]) kept inline;
    /// `None` for more.
    pub(crate) fn inline(sorted: &[u32]) -> Option<Deps> {
        match *sorted {
            [] => Some(Deps::NONE),
            [a] => Some(Deps([a, EMPTY])),
            [a, b] => Some(Deps([a, b])),
            _ => None,
        }
    }

    /// The dependencies kept in list `index` of the target's operations.
    pub(crate) fn longer(index: u32) -> Deps {
        Deps([LONGER, index])
    }

    /// Where they are.
    pub(crate) fn kept(&self) -> Kept<'_> {
        match self.0 {
            [LONGER, i] => Kept::Longer(i as usize),
            [EMPTY, _] => Kept::Inline(&[]),
            [_, EMPTY] => Kept::Inline(&self.0[..1]),
            _ => Kept::Inline(&self.0),
        }
    }
}

impl fmt::Debug for Deps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kept() {
            Kept::Inline(d) => f.debug_list().entries(d).finish(),
            Kept::Longer(i) => write!(f, "longer list {i}"),
        }
    }
}

/// Sorts and deduplicates operation numbers; `None` when one is past [`MAX_STEP`].
pub(crate) fn sorted(deps: impl IntoIterator<Item = usize>) -> Option<Vec<u32>> {
    let mut deps: Vec<u32> = deps
        .into_iter()
        .map(|d| u32::try_from(d).ok().filter(|d| *d <= MAX_STEP))
        .collect::<Option<_>>()?;
    deps.sort_unstable();
    deps.dedup();
    Some(deps)
}

/// A saved operation's `depends_on`, read without an allocation when it names up to two
/// operations (nearly all do); sorted and deduplicated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SavedDeps {
    /// None, one or two, inline.
    Inline(Deps),
    /// Three or more.
    Longer(Vec<u32>),
}

impl Default for SavedDeps {
    fn default() -> Self {
        SavedDeps::Inline(Deps::NONE)
    }
}

impl SavedDeps {
    /// The operation numbers.
    pub(crate) fn as_slice(&self) -> &[u32] {
        match self {
            SavedDeps::Inline(d) => match d.kept() {
                Kept::Inline(d) => d,
                Kept::Longer(_) => &[],
            },
            SavedDeps::Longer(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for SavedDeps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = SavedDeps;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of operation numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SavedDeps, A::Error> {
                let too_large =
                    || de::Error::custom("an operation number in `depends_on` is too large");
                let mut few = [0u32; 2];
                let mut n = 0;
                let mut more: Option<Vec<u32>> = None;
                while let Some(d) = seq.next_element::<u64>()? {
                    let d = u32::try_from(d)
                        .ok()
                        .filter(|d| *d <= MAX_STEP)
                        .ok_or_else(too_large)?;
                    match &mut more {
                        Some(v) => v.push(d),
                        None if n < 2 => {
                            few[n] = d;
                            n += 1;
                        }
                        None => more = Some(vec![few[0], few[1], d]),
                    }
                }
                if let Some(v) = more {
                    let v = sorted(v.into_iter().map(|d| d as usize)).ok_or_else(too_large)?;
                    return Ok(match Deps::inline(&v) {
                        Some(d) => SavedDeps::Inline(d),
                        None => SavedDeps::Longer(v),
                    });
                }
                let few = &mut few[..n];
                few.sort_unstable();
                let few = match few {
                    [a, b] if a == b => &few[..1],
                    few => few,
                };
                Ok(SavedDeps::Inline(Deps::inline(few).ok_or_else(too_large)?))
            }
        }
        d.deserialize_seq(List)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_two_in_eight_bytes_and_reads_any_number_sorted() {
        assert_eq!(std::mem::size_of::<Deps>(), 8);
        for n in 0..6usize {
            let v: Vec<usize> = (0..n).rev().chain(0..n).collect();
            let want: Vec<u32> = (0..n as u32).collect();
            assert_eq!(sorted(v.clone()).expect("fits"), want);
            let json = serde_json::to_string(&v).expect("serializes");
            let back: SavedDeps = serde_json::from_str(&json).expect("parses");
            assert_eq!(back.as_slice(), want, "{json}");
            assert_eq!(matches!(back, SavedDeps::Longer(_)), n > 2, "{json}");
        }
        let two: SavedDeps = serde_json::from_str("[7, 3]").expect("parses");
        assert_eq!(two.as_slice(), [3, 7]);
        let twice: SavedDeps = serde_json::from_str("[7, 7]").expect("parses");
        assert_eq!(twice.as_slice(), [7]);
        let thrice: SavedDeps = serde_json::from_str("[7, 7, 7]").expect("parses");
        assert_eq!(thrice, SavedDeps::Inline(Deps([7, EMPTY])));
        assert!(sorted([1 << 33]).is_none());
        assert!(sorted([MAX_STEP as usize + 1]).is_none());
        for bad in ["[8589934592]", "[4294967294]", "[1, 2, 4294967295]"] {
            let err = serde_json::from_str::<SavedDeps>(bad).expect_err(bad);
            assert!(err.to_string().contains("too large"), "{bad}: {err}");
        }
    }
}
