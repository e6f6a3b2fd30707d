//! An index of a table's rows by a text key, for tables of millions of rows looked up
//! millions of times.
//!
//! In a table of a million users every step of a lookup is a read from a random place in
//! memory (the slot, the row, the row's text), each a cache miss, and one lookup's reads
//! follow one another. [`PositionIndex::find_each`] looks keys up a batch at a time, one
//! step for the whole batch before the next, so that the reads of different keys are in
//! flight together instead of one after the other.
//!
//! Open addressing with linear probing, at most half full. A slot holds the upper 32 bits
//! of the key's hash (its tag) and the row's position: a probe reads the row's key only
//! when the tags agree. The slot a key starts from is taken from the upper bits of its
//! tag, so growing the index moves the slots without reading a key again.

use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

/// A free slot. No slot in use equals it: positions stop below `u32::MAX`.
const EMPTY: u64 = u64::MAX;

/// Keys looked up together by [`PositionIndex::find_each`]: enough reads in flight to
/// cover a memory access's latency, few enough to stay in registers and the first-level
/// cache.
const LANES: usize = 16;

/// Positions (below `u32::MAX`) by text key; the keys themselves stay in the table, which
/// every method reads through `key_of(position)`.
#[derive(Clone, Default)]
pub(super) struct PositionIndex<S = DefaultHashBuilder> {
    /// `EMPTY`, or the key's tag in the upper half and the position in the lower one; a
    /// power of two long, or empty before the first insert.
    slots: Vec<u64>,
    len: usize,
    hasher: S,
}

impl<S: BuildHasher + Default> PositionIndex<S> {
    /// An index with room for `keys` keys before it grows.
    pub(super) fn with_capacity(keys: usize) -> PositionIndex<S> {
        PositionIndex {
            slots: vec![EMPTY; slots_for(keys)],
            len: 0,
            hasher: S::default(),
        }
    }

    fn tag(&self, key: &str) -> u32 {
        (self.hasher.hash_one(key) >> 32) as u32
    }

    /// The slot a key of this tag starts from: the tag's upper bits.
    fn home(&self, tag: u32) -> usize {
        let bits = self.slots.len().trailing_zeros();
        ((u64::from(tag) << 32) >> (64 - bits)) as usize
    }

    fn next(&self, slot: usize) -> usize {
        (slot + 1) & (self.slots.len() - 1)
    }

    /// The slot holding `key`, or the free slot where it would go; `None` only for an
    /// index without slots.
    fn probe<'t>(&self, key: &str, tag: u32, key_of: impl Fn(u32) -> &'t str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(tag);
        // Never more than half full, so a free slot ends every probe.
        loop {
            let s = self.slots[i];
            if s == EMPTY || (tag_of(s) == tag && key_of(position_of(s)) == key) {
                return Some(i);
            }
            i = self.next(i);
        }
    }

    /// The position of `key`.
    pub(super) fn find<'t>(&self, key: &str, key_of: impl Fn(u32) -> &'t str) -> Option<u32> {
        let slot = self.probe(key, self.tag(key), key_of)?;
        let s = self.slots[slot];
        (s != EMPTY).then(|| position_of(s))
    }

    /// Indexes `key` at `position`; a key already indexed moves to the new position, and
    /// its previous position is returned.
    pub(super) fn upsert<'t>(
        &mut self,
        key: &str,
        position: u32,
        key_of: impl Fn(u32) -> &'t str,
    ) -> Option<u32> {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let tag = self.tag(key);
        // `grow` made room, so there are slots.
        let slot = self.probe(key, tag, key_of)?;
        let before = self.slots[slot];
        self.slots[slot] = (u64::from(tag) << 32) | u64::from(position);
        if before == EMPTY {
            self.len += 1;
            None
        } else {
            Some(position_of(before))
        }
    }

    /// Twice the slots (at least 16), each key moved by its tag alone.
    fn grow(&mut self) {
        let slots = (self.slots.len() * 2).max(slots_for(0));
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; slots]);
        for s in old.into_iter().filter(|&s| s != EMPTY) {
            let mut i = self.home(tag_of(s));
            while self.slots[i] != EMPTY {
                i = self.next(i);
            }
            self.slots[i] = s;
        }
    }

    /// Looks up every key of `keys`, in order, and calls `each` with its position (or
    /// `None`), a batch of keys at a time: first every key's tag, then every key's first
    /// slot, then the row keys those slots name, then the comparisons, so that the memory
    /// reads of a batch overlap. A key not settled by its first slot is probed on alone.
    pub(super) fn find_each<'k, 't>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
        key_of: impl Fn(u32) -> &'t str,
        mut each: impl FnMut(Option<u32>),
    ) {
        let mut keys = keys.into_iter();
        let mut batch: [&str; LANES] = [""; LANES];
        loop {
            let mut n = 0;
            for (lane, key) in batch.iter_mut().zip(keys.by_ref()) {
                *lane = key;
                n += 1;
            }
            if n == 0 {
                return;
            }
            let batch = &batch[..n];
            if self.slots.is_empty() {
                batch.iter().for_each(|_| each(None));
                continue;
            }
            let mut tags = [0u32; LANES];
            for (tag, key) in tags.iter_mut().zip(batch) {
                *tag = self.tag(key);
            }
            let mut first = [EMPTY; LANES];
            for (slot, &tag) in first.iter_mut().zip(&tags).take(n) {
                *slot = self.slots[self.home(tag)];
            }
            let mut row_keys: [Option<&str>; LANES] = [None; LANES];
            for ((row_key, &s), &tag) in row_keys.iter_mut().zip(&first).zip(&tags).take(n) {
                if s != EMPTY && tag_of(s) == tag {
                    *row_key = Some(key_of(position_of(s)));
                }
            }
            for (lane, &key) in batch.iter().enumerate() {
                let s = first[lane];
                each(if row_keys[lane] == Some(key) {
                    Some(position_of(s))
                } else if s == EMPTY {
                    None
                } else {
                    self.find(key, &key_of)
                });
            }
        }
    }
}

fn tag_of(slot: u64) -> u32 {
    (slot >> 32) as u32
}

fn position_of(slot: u64) -> u32 {
    slot as u32
}

/// Slots for `keys` keys at most half full: a power of two, at least 16.
fn slots_for(keys: usize) -> usize {
    keys.saturating_mul(2).next_power_of_two().max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(keys: &[String]) -> PositionIndex {
        let mut index = PositionIndex::<DefaultHashBuilder>::default();
        for (p, k) in keys.iter().enumerate() {
            assert_eq!(index.upsert(k, p as u32, |q| &keys[q as usize]), None);
        }
        index
    }

    #[test]
    fn keys_are_found_alone_and_in_batches_across_growth() {
        // From an empty index through several doublings.
        let keys: Vec<String> = (0..5_000).map(|i| format!("u{i}")).collect();
        let index = index_of(&keys);
        assert_eq!(index.len, keys.len());
        assert!(index.slots.len() >= 2 * keys.len());
        let key_of = |q: u32| keys[q as usize].as_str();
        for (p, k) in keys.iter().enumerate() {
            assert_eq!(index.find(k, key_of), Some(p as u32));
        }
        // Found and missing keys mixed, in batches that end short of a full one.
        let asked: Vec<String> = (0..1_003)
            .map(|i| {
                if i % 3 == 0 {
                    format!("x{i}")
                } else {
                    format!("u{}", i * 4)
                }
            })
            .collect();
        let mut got = Vec::new();
        index.find_each(asked.iter().map(String::as_str), key_of, |p| got.push(p));
        let alone: Vec<Option<u32>> = asked.iter().map(|k| index.find(k, key_of)).collect();
        assert_eq!(got, alone);
        assert_eq!(got.iter().filter(|p| p.is_some()).count(), 668);
        assert_eq!(got[1], Some(4));
    }

    /// Hashes every key alike: every key has the same tag and starts from the same slot.
    #[derive(Clone, Default)]
    struct Colliding;

    impl BuildHasher for Colliding {
        type Hasher = Constant;
        fn build_hasher(&self) -> Constant {
            Constant
        }
    }

    struct Constant;

    impl std::hash::Hasher for Constant {
        fn finish(&self) -> u64 {
            // The last slot is every key's first: the run wraps at once.
            0xffff_ffff_0000_0000
        }
        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn keys_whose_tags_agree_are_told_apart_by_their_text() {
        // Found only by comparing the rows' keys, along one run of full slots that
        // wraps past the end of the index and survives its growth.
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let key_of = |q: u32| keys[q as usize].as_str();
        let mut index = PositionIndex::<Colliding>::default();
        for (p, k) in keys.iter().enumerate() {
            assert_eq!(index.upsert(k, p as u32, key_of), None);
        }
        assert_eq!(index.upsert("k7", 7, key_of), Some(7));
        assert_eq!(index.len, 40);
        let mut got = Vec::new();
        let asked = keys.iter().map(String::as_str).chain(["k40", "k"]);
        index.find_each(asked, key_of, |p| got.push(p));
        let mut want: Vec<Option<u32>> = (0..40).map(Some).collect();
        want.extend([None, None]);
        assert_eq!(got, want);
        assert_eq!(index.find("k39", key_of), Some(39));
    }

    #[test]
    fn a_repeated_key_moves_to_its_latest_position() {
        let keys = ["a".to_string(), "b".to_string(), "a".to_string()];
        let mut index = PositionIndex::<DefaultHashBuilder>::default();
        let key_of = |q: u32| keys[q as usize].as_str();
        assert_eq!(index.upsert("a", 0, key_of), None);
        assert_eq!(index.upsert("b", 1, key_of), None);
        assert_eq!(index.upsert("a", 2, key_of), Some(0));
        assert_eq!(index.len, 2);
        assert_eq!(index.find("a", key_of), Some(2));
    }

    #[test]
    fn an_index_without_slots_finds_nothing() {
        let index = PositionIndex::<DefaultHashBuilder>::default();
        let key_of = |_: u32| "";
        assert_eq!(index.find("a", key_of), None);
        let mut got = Vec::new();
        index.find_each(["a", "b"], key_of, |p| got.push(p));
        assert_eq!(got, vec![None, None]);
    }
}
