//! The ids of the records a target plan's creates made, which later operations address
//! through [`Ref::Created`](crate::plan::Ref::Created). A first sync of a million users
//! creates a million records per target and keeps every id until the apply ends, so they
//! are kept packed: the ids' text in large chunks, and per create operation one 8-byte
//! place in that text (about 45 bytes an id of 34 characters, against about 115 in a map
//! of owned strings).

use std::collections::HashMap;

use crate::plan::{Action, TargetPlan};

/// How much text one chunk holds; a longer id gets a chunk of its own.
const CHUNK: usize = 1 << 20;
/// A place: chunk number (20 bits), offset in the chunk (20 bits), length (24 bits).
const OFFSET_BITS: u32 = 20;
const LEN_BITS: u32 = 24;
const MAX_CHUNKS: usize = 1 << 20;
/// No id recorded yet.
const NONE: u64 = u64::MAX;

/// The ids created by one target plan's operations, by operation number.
pub(super) struct CreatedIds {
    /// The plan's create operations in plan order: an operation's slot in `places` is its
    /// position here.
    creates: Vec<u32>,
    /// Per create operation, where its id lies in `chunks`, or [`NONE`].
    places: Vec<u64>,
    chunks: Vec<String>,
    /// Ids that have no slot or place: one reported by an operation that is not a create,
    /// or one too long for a place (16 MiB), or past the chunks' reach (a tebibyte).
    others: HashMap<usize, Box<str>>,
}

impl CreatedIds {
    /// Room for the ids of `plan`'s creates.
    pub(super) fn for_plan(plan: &TargetPlan) -> CreatedIds {
        let creates: Vec<u32> = (0..plan.ops.len())
            .filter(|&i| {
                matches!(
                    plan.ops[i].action,
                    Action::CreateUser(_) | Action::CreateGroup(_)
                )
            })
            // A target plan numbers its operations in 32 bits (see `Ops`).
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        let places = vec![NONE; creates.len()];
        CreatedIds {
            creates,
            places,
            chunks: Vec::new(),
            others: HashMap::new(),
        }
    }

    fn slot(&self, op: usize) -> Option<usize> {
        let op = u32::try_from(op).ok()?;
        self.creates.binary_search(&op).ok()
    }

    /// Records `id` as the record operation `op` created (replacing an earlier one).
    pub(super) fn insert(&mut self, op: usize, id: &str) {
        match (self.slot(op), self.place_for(id)) {
            (Some(slot), Some(place)) => {
                self.places[slot] = place;
                self.others.remove(&op);
            }
            (slot, _) => {
                if let Some(slot) = slot {
                    self.places[slot] = NONE;
                }
                self.others.insert(op, id.into());
            }
        }
    }

    /// Appends `id` to the text and returns its place, or `None` when it does not fit one.
    fn place_for(&mut self, id: &str) -> Option<u64> {
        if id.len() >= (1 << LEN_BITS) {
            return None;
        }
        // A chunk holding an id longer than `CHUNK` is full at once.
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() < CHUNK && c.len() + id.len() <= CHUNK);
        if !fits {
            if self.chunks.len() >= MAX_CHUNKS {
                return None;
            }
            self.chunks.push(String::with_capacity(CHUNK.max(id.len())));
        }
        let chunk = self.chunks.len() - 1;
        let text = self.chunks.last_mut()?;
        let offset = text.len();
        text.push_str(id);
        Some(
            ((chunk as u64) << (OFFSET_BITS + LEN_BITS))
                | ((offset as u64) << LEN_BITS)
                | id.len() as u64,
        )
    }

    /// The id operation `op` created, if it reported one.
    pub(super) fn get(&self, op: usize) -> Option<&str> {
        if let Some(place) = self.slot(op).map(|s| self.places[s]).filter(|p| *p != NONE) {
            let chunk = (place >> (OFFSET_BITS + LEN_BITS)) as usize;
            let offset = ((place >> LEN_BITS) & ((1 << OFFSET_BITS) - 1)) as usize;
            let len = (place & ((1 << LEN_BITS) - 1)) as usize;
            return self.chunks.get(chunk)?.get(offset..offset + len);
        }
        self.others.get(&op).map(|id| &**id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{CreateGroup, LinkGroup};
    use idbridge_core::NewGroup;

    fn plan_of(creates: &[bool]) -> TargetPlan {
        let mut t = TargetPlan::new("bi", "file");
        for &create in creates {
            let action = if create {
                Action::CreateGroup(Box::new(CreateGroup {
                    source_id: "g".into(),
                    fingerprint: "f".into(),
                    group: NewGroup {
                        name: "g".into(),
                        description: None,
                    },
                }))
            } else {
                Action::LinkGroup(Box::new(LinkGroup {
                    source_id: "g".into(),
                    id: "G".into(),
                    name: "g".into(),
                    fingerprint: "f".into(),
                }))
            };
            t.push(action, vec![]);
        }
        t
    }

    #[test]
    fn ids_read_back_by_operation_whatever_the_order_they_came_in() {
        let plan = plan_of(&[true, false, true, true, false]);
        let mut ids = CreatedIds::for_plan(&plan);
        assert_eq!(ids.get(0), None, "nothing created yet");
        ids.insert(3, "u-3");
        ids.insert(0, "");
        ids.insert(2, "u-two");
        assert_eq!(ids.get(0), Some(""));
        assert_eq!(ids.get(2), Some("u-two"));
        assert_eq!(ids.get(3), Some("u-3"));
        assert_eq!(ids.get(1), None);
        assert_eq!(ids.get(99), None, "past the plan");
        ids.insert(2, "again");
        assert_eq!(
            ids.get(2),
            Some("again"),
            "a retried create replaces its id"
        );
        // An operation that is not a create keeps what it reports too.
        ids.insert(4, "linked");
        assert_eq!(ids.get(4), Some("linked"));
        assert_eq!(ids.others.len(), 1, "only that one outside the chunks");
    }

    #[test]
    fn ids_fill_chunk_after_chunk_and_a_long_one_gets_its_own() {
        let n = 40_000;
        let plan = plan_of(&vec![true; n + 1]);
        let mut ids = CreatedIds::for_plan(&plan);
        let id = |i: usize| format!("u-{i:032x}");
        for i in 0..n {
            ids.insert(i, &id(i));
        }
        let long = "x".repeat(CHUNK + 5);
        ids.insert(n, &long);
        assert!(ids.chunks.len() >= 3, "{} chunks", ids.chunks.len());
        for i in 0..n {
            assert_eq!(ids.get(i), Some(id(i).as_str()), "operation {i}");
        }
        assert_eq!(ids.get(n), Some(long.as_str()));
        assert!(ids.others.is_empty());
        let text: usize = ids.chunks.iter().map(String::capacity).sum();
        assert!(
            text <= n * 34 + long.len() + 2 * CHUNK,
            "the text holds {text} bytes for {} of ids",
            n * 34 + long.len()
        );
    }
}
