//! The copy of the document a rewrite changes, with lookup indexes over it: users by id
//! and by folded login, groups by id and by folded name. Without them every write searched
//! the whole directory (a create compared its login with every login, folding each), so
//! applying N writes cost N times the directory's size. The indexes are built once per
//! rewrite (it already copies, validates and saves the whole document) and kept up to date
//! by every change of an id, a login or a group name, so each write looks up in O(1).

use std::collections::HashMap;

use crate::format::{DirGroup, DirUser, Directory, fold};

/// A document being changed by the writes of one rewrite, and its indexes.
///
/// The writes change records through `dir`, except for what the indexes key on: users and
/// groups are added, removed, renamed (login, group name) only through the methods here.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    /// The document. Ids, logins and group names change only through [`Draft`]'s methods.
    pub(crate) dir: Directory,
    /// Folded login -> position in `dir.users`.
    logins: HashMap<String, usize>,
    /// User id -> position in `dir.users`.
    user_ids: HashMap<String, usize>,
    /// Folded group name -> position in `dir.groups`.
    group_names: HashMap<String, usize>,
    /// Group id -> position in `dir.groups`.
    group_ids: HashMap<String, usize>,
}

impl Draft {
    /// `dir` with its indexes built (folding every login and group name once).
    pub(crate) fn new(dir: Directory) -> Draft {
        let mut draft = Draft {
            dir,
            logins: HashMap::new(),
            user_ids: HashMap::new(),
            group_names: HashMap::new(),
            group_ids: HashMap::new(),
        };
        draft.index_users();
        draft.index_groups();
        draft
    }

    /// The document, giving up the indexes.
    pub(crate) fn into_dir(self) -> Directory {
        self.dir
    }

    /// Rebuilds the user indexes (after a removal shifted positions).
    fn index_users(&mut self) {
        let mut logins = HashMap::with_capacity(self.dir.users.len());
        let mut ids = HashMap::with_capacity(self.dir.users.len());
        for (i, u) in self.dir.users.iter().enumerate() {
            // A valid document has no duplicates; were there any, the first record wins,
            // as the searches this replaces found the first.
            logins.entry(fold(&u.login)).or_insert(i);
            ids.entry(u.id.clone()).or_insert(i);
        }
        self.logins = logins;
        self.user_ids = ids;
    }

    /// Rebuilds the group indexes (after a removal shifted positions).
    fn index_groups(&mut self) {
        let mut names = HashMap::with_capacity(self.dir.groups.len());
        let mut ids = HashMap::with_capacity(self.dir.groups.len());
        for (i, g) in self.dir.groups.iter().enumerate() {
            names.entry(fold(&g.name)).or_insert(i);
            ids.entry(g.id.clone()).or_insert(i);
        }
        self.group_names = names;
        self.group_ids = ids;
    }

    /// The position of the user with id `id`.
    pub(crate) fn user_at(&self, id: &str) -> Option<usize> {
        self.user_ids.get(id).copied()
    }

    /// The position of the group with id `id`.
    pub(crate) fn group_at(&self, id: &str) -> Option<usize> {
        self.group_ids.get(id).copied()
    }

    /// The user whose login equals `login` ignoring case ([`fold`]).
    pub(crate) fn user_with_login(&self, login: &str) -> Option<&DirUser> {
        let key = fold(login);
        self.logins.get(&key).map(|&i| &self.dir.users[i])
    }

    /// The group whose name equals `name` ignoring case ([`fold`]).
    pub(crate) fn group_named(&self, name: &str) -> Option<&DirGroup> {
        let key = fold(name);
        self.group_names.get(&key).map(|&i| &self.dir.groups[i])
    }

    /// Whether a user has id `id`.
    pub(crate) fn has_user_id(&self, id: &str) -> bool {
        self.user_ids.contains_key(id)
    }

    /// Whether a group has id `id`.
    pub(crate) fn has_group_id(&self, id: &str) -> bool {
        self.group_ids.contains_key(id)
    }

    /// Appends `user` (its id and login not yet held).
    pub(crate) fn push_user(&mut self, user: DirUser) {
        let i = self.dir.users.len();
        let key = fold(&user.login);
        self.logins.insert(key, i);
        self.user_ids.insert(user.id.clone(), i);
        self.dir.users.push(user);
    }

    /// Appends `group` (its id and name not yet held).
    pub(crate) fn push_group(&mut self, group: DirGroup) {
        let i = self.dir.groups.len();
        let key = fold(&group.name);
        self.group_names.insert(key, i);
        self.group_ids.insert(group.id.clone(), i);
        self.dir.groups.push(group);
    }

    /// Gives user `i` the login `login`.
    pub(crate) fn set_login(&mut self, i: usize, login: String) {
        let old = fold(&self.dir.users[i].login);
        if self.logins.get(&old) == Some(&i) {
            self.logins.remove(&old);
        }
        let new = fold(&login);
        self.logins.insert(new, i);
        self.dir.users[i].login = login;
    }

    /// Gives group `i` the name `name` (references to it are the caller's).
    pub(crate) fn set_group_name(&mut self, i: usize, name: String) {
        let old = fold(&self.dir.groups[i].name);
        if self.group_names.get(&old) == Some(&i) {
            self.group_names.remove(&old);
        }
        let new = fold(&name);
        self.group_names.insert(new, i);
        self.dir.groups[i].name = name;
    }

    /// Removes user `i`. O(users): the records after it move up.
    pub(crate) fn remove_user(&mut self, i: usize) -> DirUser {
        let removed = self.dir.users.remove(i);
        self.index_users();
        removed
    }

    /// Removes group `i`. O(groups): the records after it move up.
    pub(crate) fn remove_group(&mut self, i: usize) -> DirGroup {
        let removed = self.dir.groups.remove(i);
        self.index_groups();
        removed
    }

    /// Whether the indexes match the document exactly (tests).
    #[cfg(test)]
    pub(crate) fn consistent(&self) -> bool {
        let fresh = Draft::new(self.dir.clone());
        fresh.logins == self.logins
            && fresh.user_ids == self.user_ids
            && fresh.group_names == self.group_names
            && fresh.group_ids == self.group_ids
    }
}

#[cfg(test)]
mod tests;
