//! The indexes that keep the emulated provider's work per request proportional to the
//! answer rather than to the whole store: each kind's resources in listing order with
//! their folded unique values, and the groups each member is in.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::state::{Kind, unique_value};

/// The resources of one kind: by id (listings go in id order), their ids in that order
/// for paging by position, and each folded unique value's id.
#[derive(Debug)]
pub(super) struct Table {
    kind: Kind,
    docs: BTreeMap<String, Value>,
    /// The ids of `docs` in the same order: a page starts at a position without walking
    /// the resources before it.
    order: Vec<String>,
    /// Folded unique value (`userName` or `displayName`) to id; the store refuses a
    /// second resource with the same value, so there is one id per value.
    names: HashMap<String, String>,
}

impl Table {
    /// An empty table of `kind`.
    pub(super) fn new(kind: Kind) -> Self {
        Table {
            kind,
            docs: BTreeMap::new(),
            order: Vec::new(),
            names: HashMap::new(),
        }
    }

    /// The resource with this id.
    pub(super) fn get(&self, id: &str) -> Option<&Value> {
        self.docs.get(id)
    }

    /// The id holding this folded unique value.
    pub(super) fn id_named(&self, folded: &str) -> Option<&str> {
        self.names.get(folded).map(String::as_str)
    }

    /// How many resources there are.
    pub(super) fn len(&self) -> usize {
        self.docs.len()
    }

    /// The resources from position `skip` on, in id order.
    pub(super) fn starting_at(&self, skip: usize) -> impl Iterator<Item = &Value> {
        self.order
            .get(skip..)
            .unwrap_or_default()
            .iter()
            .filter_map(|id| self.docs.get(id))
    }

    /// Stores `doc` under `id`, replacing what was there, and indexes its unique value.
    pub(super) fn put(&mut self, id: &str, doc: Value) {
        let name = unique_value(&doc, self.kind);
        if let Some(old) = self.docs.insert(id.to_string(), doc) {
            self.forget_name(id, &old);
        } else if let Err(at) = self.order.binary_search_by(|o| o.as_str().cmp(id)) {
            self.order.insert(at, id.to_string());
        }
        self.names.insert(name, id.to_string());
    }

    /// A stored resource to change in place, its unique value left as it is.
    pub(super) fn get_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.docs.get_mut(id)
    }

    /// Removes the resource with this id.
    pub(super) fn remove(&mut self, id: &str) -> Option<Value> {
        let doc = self.docs.remove(id)?;
        if let Ok(at) = self.order.binary_search_by(|o| o.as_str().cmp(id)) {
            self.order.remove(at);
        }
        self.forget_name(id, &doc);
        Some(doc)
    }

    fn forget_name(&mut self, id: &str, doc: &Value) {
        let name = unique_value(doc, self.kind);
        if self.names.get(&name).is_some_and(|i| i == id) {
            self.names.remove(&name);
        }
    }
}

/// The groups each member (by its `value`) is a direct member of, in group id order (the
/// order of a user's read-only `groups`).
#[derive(Debug, Default)]
pub(super) struct Memberships {
    groups_of: HashMap<String, BTreeSet<String>>,
}

impl Memberships {
    /// The groups `member` is in.
    pub(super) fn groups_of(&self, member: &str) -> impl Iterator<Item = &str> {
        self.groups_of
            .get(member)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Whether `member` is in `group`.
    pub(super) fn contains(&self, group: &str, member: &str) -> bool {
        self.groups_of
            .get(member)
            .is_some_and(|gs| gs.contains(group))
    }

    /// Records that `member` is in `group`.
    pub(super) fn add(&mut self, group: &str, member: &str) {
        self.groups_of
            .entry(member.to_string())
            .or_default()
            .insert(group.to_string());
    }

    /// Records that `member` is no longer in `group`.
    pub(super) fn remove(&mut self, group: &str, member: &str) {
        if let Some(gs) = self.groups_of.get_mut(member) {
            gs.remove(group);
            if gs.is_empty() {
                self.groups_of.remove(member);
            }
        }
    }

    /// Follows a group's `members` going from `before` to `after`.
    pub(super) fn replace(&mut self, group: &str, before: Option<&Value>, after: Option<&Value>) {
        let old = member_values(before);
        let new = member_values(after);
        for m in old.difference(&new) {
            self.remove(group, m);
        }
        for m in new.difference(&old) {
            self.add(group, m);
        }
    }

    /// Forgets `member` entirely and answers the groups it was in.
    pub(super) fn take(&mut self, member: &str) -> BTreeSet<String> {
        self.groups_of.remove(member).unwrap_or_default()
    }
}

/// The member values of a group resource.
pub(super) fn member_values(group: Option<&Value>) -> BTreeSet<&str> {
    group
        .and_then(|g| g.get("members"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str())
        .collect()
}
