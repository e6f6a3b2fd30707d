//! The indexes that keep the emulated server's work per request proportional to the
//! answer rather than to the directory: users by login and groups by name (in any ASCII
//! case, as the server compares them), the groups each user or group is a direct member
//! of, and each group's place in the listing order.

use std::collections::{HashMap, HashSet};

use super::Inner;

/// Lookups over [`Inner`]'s users and groups, kept in step by every change to them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DirectoryIndex {
    /// Folded login to user id.
    logins: HashMap<String, String>,
    /// Folded group name to group id.
    group_names: HashMap<String, String>,
    /// Member id to the ids of the groups that hold it (Everyone's implicit members left
    /// out).
    parents: HashMap<String, HashSet<String>>,
    /// Group id to a number that grows with its place in the listing order.
    group_rank: HashMap<String, u64>,
    next_rank: u64,
}

fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl DirectoryIndex {
    /// The index of `inner` built from scratch.
    pub fn of(inner: &Inner) -> Self {
        let mut index = DirectoryIndex::default();
        for u in inner.users.values() {
            index.set_login(None, &u.username, &u.id);
        }
        for id in &inner.group_order {
            index.rank_group(id);
        }
        for g in inner.groups.values() {
            index.set_group_name(None, &g.name, &g.id);
            for m in &g.members {
                index.add_member(&g.id, m);
            }
        }
        index
    }

    /// The id of the user with this login, in any ASCII case.
    pub fn user_with_login(&self, login: &str) -> Option<&str> {
        self.logins.get(&fold(login)).map(String::as_str)
    }

    /// The id of the group with this name, in any ASCII case.
    pub fn group_named(&self, name: &str) -> Option<&str> {
        self.group_names.get(&fold(name)).map(String::as_str)
    }

    /// Moves user `id` from login `old` (none for a new user) to `new`.
    pub fn set_login(&mut self, old: Option<&str>, new: &str, id: &str) {
        if let Some(old) = old {
            Self::forget(&mut self.logins, old, id);
        }
        self.logins.insert(fold(new), id.to_string());
    }

    /// Forgets user `id`'s login.
    pub fn drop_login(&mut self, login: &str, id: &str) {
        Self::forget(&mut self.logins, login, id);
    }

    /// Moves group `id` from name `old` (none for a new group) to `new`.
    pub fn set_group_name(&mut self, old: Option<&str>, new: &str, id: &str) {
        if let Some(old) = old {
            Self::forget(&mut self.group_names, old, id);
        }
        self.group_names.insert(fold(new), id.to_string());
    }

    /// Forgets group `id`: its name and its place.
    pub fn drop_group(&mut self, name: &str, id: &str) {
        Self::forget(&mut self.group_names, name, id);
        self.group_rank.remove(id);
    }

    fn forget(map: &mut HashMap<String, String>, name: &str, id: &str) {
        let key = fold(name);
        if map.get(&key).is_some_and(|i| i == id) {
            map.remove(&key);
        }
    }

    /// Gives a group appended to the listing order its place.
    pub fn rank_group(&mut self, id: &str) {
        self.group_rank.insert(id.to_string(), self.next_rank);
        self.next_rank += 1;
    }

    /// The group's place in the listing order (smaller first).
    pub fn group_rank(&self, id: &str) -> Option<u64> {
        self.group_rank.get(id).copied()
    }

    /// Whether `member` is a direct member of `group`.
    pub fn is_member(&self, group: &str, member: &str) -> bool {
        self.parents
            .get(member)
            .is_some_and(|gs| gs.contains(group))
    }

    /// Records that `member` is in `group`.
    pub fn add_member(&mut self, group: &str, member: &str) {
        self.parents
            .entry(member.to_string())
            .or_default()
            .insert(group.to_string());
    }

    /// Records that `member` is no longer in `group`.
    pub fn remove_member(&mut self, group: &str, member: &str) {
        if let Some(gs) = self.parents.get_mut(member) {
            gs.remove(group);
            if gs.is_empty() {
                self.parents.remove(member);
            }
        }
    }

    /// The groups `member` is a direct member of, in no particular order.
    pub fn parents(&self, member: &str) -> impl Iterator<Item = &str> {
        self.parents
            .get(member)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Forgets `member` and answers the groups it was in.
    pub fn take_member(&mut self, member: &str) -> HashSet<String> {
        self.parents.remove(member).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::state::{EmulatorState, Settings};
    use crate::wire::EVERYONE_GROUP_ID;
    use serde_json::json;

    /// The lookups an index answers, without the ranks (a rebuild numbers the groups
    /// afresh; only their order counts).
    fn lookups(i: &DirectoryIndex) -> impl PartialEq + std::fmt::Debug + use<> {
        (i.logins.clone(), i.group_names.clone(), i.parents.clone())
    }

    fn names(groups: Vec<&super::super::GroupRec>) -> Vec<String> {
        groups.into_iter().map(|g| g.name.clone()).collect()
    }

    #[test]
    fn the_index_follows_renames_deletes_and_recreations() {
        let s = EmulatorState::new("administrator", "pw", Settings::default());
        let mut i = s.lock();
        let ada = i
            .create_user(&json!({"username": "Ada", "fullName": "Ada"}))
            .expect("ada");
        let a = i.create_group(&json!({"name": "A"})).expect("a");
        let b = i
            .create_group(&json!({"name": "B", "members": [ada.clone()]}))
            .expect("b");
        i.add_member(&a, &ada).expect("in a");
        i.add_member(&a, &b).expect("b in a");
        // Listing order (creation), not the order the memberships came in.
        assert_eq!(names(i.parents_of(&ada)), ["Everyone", "A", "B"]);
        assert_eq!(names(i.parents_of(&b)), ["A"]);

        let rename = crate::emulator::state::parse_operations(&json!({"operationList": [
            {"op": "replace", "path": "/username", "value": "Grace"}
        ]}))
        .expect("ops");
        i.patch_user(&ada, &rename).expect("renamed");
        assert!(!i.login_taken("ADA", None), "the old login is free");
        assert!(i.login_taken("grace", None));
        assert!(!i.login_taken("grace", Some(&ada)), "its own login");
        let again = i
            .create_user(&json!({"username": "ada", "fullName": "Ada again"}))
            .expect("the old login again");
        assert!(i.parents_of(&again).len() == 1, "Everyone only");

        i.delete_group(&a).expect("a deleted");
        assert_eq!(names(i.parents_of(&ada)), ["Everyone", "B"]);
        assert!(i.parents_of(&b).is_empty());
        let a2 = i
            .create_group(&json!({"name": "a", "members": [ada.clone()]}))
            .expect("the name again");
        assert_eq!(names(i.parents_of(&ada)), ["Everyone", "B", "a"]);
        assert!(i.group_name_taken("A", None));

        i.remove_member(&b, &ada).expect("out of b");
        i.delete_user(&again).expect("deleted");
        assert!(!i.login_taken("ada", None));
        assert_eq!(names(i.parents_of(&ada)), ["Everyone", "a"]);
        assert_eq!(i.members_of(&a2), std::slice::from_ref(&ada));
        assert_eq!(i.parents_of(&ada)[0].id, EVERYONE_GROUP_ID);

        // What was kept in step equals what a scan of the records finds.
        assert_eq!(lookups(&i.index), lookups(&DirectoryIndex::of(&i)));
    }
}
