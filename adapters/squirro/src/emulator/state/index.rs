//! The indexes that keep the emulated tenant's work per request proportional to the
//! answer rather than to the tenant: records by folded name (e-mail addresses, group
//! names, compared in any ASCII case as the tenant does) and the groups each user is in.

use std::collections::{HashMap, HashSet};

/// Ids by folded name. Seeding does not refuse a repeated name, so a name may hold more
/// than one id, in the order they were added.
#[derive(Debug, Default)]
pub(super) struct Names {
    ids: HashMap<String, Vec<String>>,
}

impl Names {
    /// Records that `id` holds `name`.
    pub(super) fn add(&mut self, name: &str, id: &str) {
        self.ids
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(id.to_string());
    }

    /// Records that `id` no longer holds `name`.
    pub(super) fn remove(&mut self, name: &str, id: &str) {
        let key = name.to_ascii_lowercase();
        if let Some(ids) = self.ids.get_mut(&key) {
            ids.retain(|i| i != id);
            if ids.is_empty() {
                self.ids.remove(&key);
            }
        }
    }

    /// The ids holding `name` (in any ASCII case).
    pub(super) fn ids(&self, name: &str) -> &[String] {
        self.ids
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// Whether a record other than `except` holds `name`.
    pub(super) fn taken(&self, name: &str, except: Option<&str>) -> bool {
        self.ids(name).iter().any(|id| Some(id.as_str()) != except)
    }
}

/// The groups each user is a member of.
#[derive(Debug, Default)]
pub(super) struct GroupsOf {
    groups: HashMap<String, HashSet<String>>,
}

impl GroupsOf {
    /// Whether `user` is in `group`.
    pub(super) fn contains(&self, group: &str, user: &str) -> bool {
        self.groups.get(user).is_some_and(|gs| gs.contains(group))
    }

    /// The groups `user` is in, in no particular order.
    pub(super) fn of(&self, user: &str) -> impl Iterator<Item = &str> {
        self.groups
            .get(user)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Records that `user` is in `group`.
    pub(super) fn add(&mut self, group: &str, user: &str) {
        self.groups
            .entry(user.to_string())
            .or_default()
            .insert(group.to_string());
    }

    /// Records that `user` is no longer in `group`.
    pub(super) fn remove(&mut self, group: &str, user: &str) {
        if let Some(gs) = self.groups.get_mut(user) {
            gs.remove(group);
            if gs.is_empty() {
                self.groups.remove(user);
            }
        }
    }

    /// Forgets `user` and answers the groups it was in.
    pub(super) fn take(&mut self, user: &str) -> HashSet<String> {
        self.groups.remove(user).unwrap_or_default()
    }
}
