//! The dependencies of an operation: almost always none, one or two, kept inline.

use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The numbers of the operations an operation depends on, sorted and without repeats.
/// Up to two are kept inline (16 bytes, no allocation), more in one allocation; reads as a
/// slice of operation numbers (`u32`: a target plan holds fewer than 4 billion operations,
/// which [`Deps::from_vec`] and reading a saved plan enforce). Serialized as a list.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Deps(Inner);

#[derive(Clone, PartialEq, Eq, Default)]
enum Inner {
    #[default]
    None,
    One([u32; 1]),
    Two([u32; 2]),
    // A thin pointer: a boxed slice would make every operation 8 bytes larger for the
    // rare one with more than two dependencies.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<u32>>),
}

impl Deps {
    /// No dependency.
    pub fn new() -> Deps {
        Deps(Inner::None)
    }

    /// The dependencies `deps` name, sorted and deduplicated; `None` when a number does
    /// not fit 32 bits.
    pub fn from_vec(mut deps: Vec<usize>) -> Option<Deps> {
        deps.sort_unstable();
        deps.dedup();
        let deps: Vec<u32> = deps
            .into_iter()
            .map(u32::try_from)
            .collect::<Result<_, _>>()
            .ok()?;
        Some(Deps(match deps[..] {
            [] => Inner::None,
            [a] => Inner::One([a]),
            [a, b] => Inner::Two([a, b]),
            _ => Inner::Many(Box::new(deps)),
        }))
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        matches!(self.0, Inner::None)
    }

    /// The dependencies as operation numbers.
    pub fn iter_usize(&self) -> impl Iterator<Item = usize> + '_ {
        self.iter().map(|d| *d as usize)
    }

    /// Whether it names operation `n`.
    pub fn has(&self, n: usize) -> bool {
        self.iter().any(|d| *d as usize == n)
    }
}

impl Deref for Deps {
    type Target = [u32];

    fn deref(&self) -> &[u32] {
        match &self.0 {
            Inner::None => &[],
            Inner::One(a) => a,
            Inner::Two(a) => a,
            Inner::Many(v) => v,
        }
    }
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Deps {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Deps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let deps = Vec::<usize>::deserialize(d)?;
        Deps::from_vec(deps).ok_or_else(|| {
            serde::de::Error::custom("an operation number in `depends_on` is too large")
        })
    }
}

impl PartialEq<Vec<usize>> for Deps {
    fn eq(&self, other: &Vec<usize>) -> bool {
        self.iter_usize().eq(other.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_few_inline_and_any_number_sorted() {
        assert_eq!(std::mem::size_of::<Deps>(), 16);
        for n in 0..5usize {
            let v: Vec<usize> = (0..n).rev().chain(0..n).collect();
            let d = Deps::from_vec(v).expect("fits");
            assert_eq!(d, (0..n).collect::<Vec<_>>());
            let json = serde_json::to_string(&d).expect("serializes");
            let back: Deps = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, d);
        }
        assert!(Deps::from_vec(vec![1 << 33]).is_none());
        assert!(serde_json::from_str::<Deps>("[8589934592]").is_err());
    }
}
