//! The document the writes change, in place: its users packed ([`PackedUsers`], as a
//! source holds them), lookup indexes over it (users by id and by folded login, groups by
//! id and by folded name) and a record of how to undo each change since the last rewrite.
//!
//! Without the indexes every write searched the whole directory (a create compared its
//! login with every login, folding each), so applying N writes cost N times the
//! directory's size. They are built once, when the document is first written, and kept up
//! to date by every change of an id, a login or a group name, so each write looks up in
//! O(1). The user indexes hold positions only, the keys being read from the packed users:
//! about 16 bytes a user where a map of owned strings took about 180.
//!
//! A rewrite used to apply its writes to a copy of the whole document, unpacked, so that a
//! rewrite that failed (an invalid result, a full disk) left the document held as it was:
//! at a million users the copy, made for every rewrite, was most of a file target's
//! memory and of its time. The writes now change the document itself and the draft
//! records, per change, the record as it was ([`Undo`]; for a user, its packed row, which
//! still points at its old text); [`Draft::rollback_to`] puts back every change made since
//! a mark, [`Draft::commit`] forgets them once the file holds them. A change that leaves a
//! record as it was records nothing, so "something changed" is "something to undo".

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::Path;

use hashbrown::HashTable;
use idbridge_core::{Error, Result};

use crate::format::{
    DirGrant, DirGroup, DirUser, Directory, PackedUsers, Row, SaveStep, fold, fold_key,
    problems_with, save_document_with,
};

/// How to undo one change, taken in the reverse order of the changes.
#[derive(Debug, Clone)]
enum Undo {
    /// User `at` was the packed row `was`.
    User { at: usize, was: Row },
    /// A user was appended.
    UserAdded,
    /// The user of packed row `was` was removed from position `at`.
    UserRemoved { at: usize, was: Row },
    /// Group `at` was `was`.
    Group { at: usize, was: DirGroup },
    /// A group was appended.
    GroupAdded,
    /// Group `was` was removed from position `at`.
    GroupRemoved { at: usize, was: DirGroup },
    /// The grants were these.
    Grants(Vec<DirGrant>),
}

/// The document held for writing, its indexes and its undo record (see the module
/// documentation).
///
/// Writes read the document through [`Draft::rest`], [`Draft::users`] and
/// [`Draft::user`], and change it only through the methods here, which keep the indexes
/// and the undo record.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    /// The groups, roles and grants; `users` is empty.
    rest: Directory,
    users: PackedUsers,
    hasher: hashbrown::DefaultHashBuilder,
    /// Positions in `users`, found by id.
    user_ids: HashTable<u32>,
    /// Positions in `users`, found by folded login.
    logins: HashTable<u32>,
    /// Folded group name -> position in `rest.groups`.
    group_names: HashMap<String, usize>,
    /// Group id -> position in `rest.groups`.
    group_ids: HashMap<String, usize>,
    /// The changes since the last [`Draft::commit`], oldest first.
    undo: Vec<Undo>,
}

impl Draft {
    /// `dir` packed, with its indexes built and nothing to undo (tests).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](idbridge_core::ErrorKind::InvalidInput) when the
    /// users' text passes 4 GiB.
    #[cfg(test)]
    pub(crate) fn new(mut dir: Directory) -> Result<Draft> {
        let mut users = PackedUsers::new();
        for u in std::mem::take(&mut dir.users) {
            users.push(u).map_err(Error::invalid_input)?;
        }
        Ok(Draft::from_parts(dir, users))
    }

    /// The document of `users` and the other records of `rest` (whose own users are
    /// ignored), with its indexes built (folding every group name once) and nothing to
    /// undo.
    pub(crate) fn from_parts(mut rest: Directory, mut users: PackedUsers) -> Draft {
        rest.users = Vec::new();
        users.make_writable();
        let mut draft = Draft {
            rest,
            users,
            hasher: hashbrown::DefaultHashBuilder::default(),
            user_ids: HashTable::new(),
            logins: HashTable::new(),
            group_names: HashMap::new(),
            group_ids: HashMap::new(),
            undo: Vec::new(),
        };
        draft.index_users();
        draft.index_groups();
        draft
    }

    /// The groups, roles and grants (its `users` are empty: see [`Draft::users`]).
    pub(crate) fn rest(&self) -> &Directory {
        &self.rest
    }

    /// The users.
    pub(crate) fn users(&self) -> &PackedUsers {
        &self.users
    }

    /// User `i` as a file record.
    pub(crate) fn user(&self, i: usize) -> Option<DirUser> {
        self.users.dir_user(i)
    }

    /// The whole document as a plain directory (tests).
    #[cfg(test)]
    pub(crate) fn to_directory(&self) -> Directory {
        Directory {
            users: self.users.unpack(),
            ..self.rest.clone()
        }
    }

    /// Checks the document as [`Directory::validate`] does.
    ///
    /// # Errors
    /// As [`Directory::validate`].
    pub(crate) fn validate(&self) -> Result<()> {
        Directory::problems_to_result(problems_with(&self.users, &self.rest))
    }

    /// Saves the document (already validated) to `path` atomically, as
    /// [`Directory::save_atomic`] does, calling `hook` at each step; returns the hash of
    /// what was written.
    ///
    /// # Errors
    /// As [`Directory::save_atomic`].
    pub(crate) fn save_with(
        &self,
        path: &Path,
        hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
    ) -> Result<u64> {
        save_document_with(&self.users, self.users.len(), &self.rest, path, hook)
    }

    /// A mark to roll back to: the changes made so far.
    pub(crate) fn mark(&self) -> usize {
        self.undo.len()
    }

    /// Whether anything changed since `mark`.
    pub(crate) fn changed_since(&self, mark: usize) -> bool {
        self.undo.len() > mark
    }

    /// Forgets how to undo the changes made so far: they are the document now. The
    /// packed users drop the text no row points at any more once it outweighs the rest.
    pub(crate) fn commit(&mut self) {
        self.undo.clear();
        self.users.compact();
    }

    /// Undoes every change made since `mark`, newest first, indexes included.
    pub(crate) fn rollback_to(&mut self, mark: usize) {
        let (mut users_moved, mut groups_moved) = (false, false);
        while self.undo.len() > mark {
            let Some(undo) = self.undo.pop() else { break };
            match undo {
                Undo::User { at, was } => {
                    let now = self.users.login(at).to_string();
                    self.users.set_row(at, was);
                    let before = self.users.login(at).to_string();
                    self.move_login(at, &now, &before);
                }
                Undo::UserAdded => {
                    if let Some(row) = self.users.pop_row() {
                        let at = self.users.len();
                        let id = self.users.id_of(&row).to_string();
                        let login = self.users.login_of(&row).to_string();
                        self.unindex_user(at, &id, &login);
                    }
                }
                Undo::UserRemoved { at, was } => {
                    self.users.insert_row(at, was);
                    users_moved = true;
                }
                Undo::Group { at, was } => {
                    move_key(
                        &mut self.group_names,
                        at,
                        &self.rest.groups[at].name,
                        &was.name,
                    );
                    self.rest.groups[at] = was;
                }
                Undo::GroupAdded => {
                    if let Some(g) = self.rest.groups.pop() {
                        let at = self.rest.groups.len();
                        remove_if_at(&mut self.group_ids, &g.id, at);
                        remove_if_at(&mut self.group_names, &fold(&g.name), at);
                    }
                }
                Undo::GroupRemoved { at, was } => {
                    self.rest.groups.insert(at, was);
                    groups_moved = true;
                }
                Undo::Grants(was) => self.rest.grants = was,
            }
        }
        // Positions moved back: the indexes of a kind with a removal are rebuilt once.
        if users_moved {
            self.index_users();
        }
        if groups_moved {
            self.index_groups();
        }
    }

    /// Rebuilds the user indexes (after a removal shifted positions).
    fn index_users(&mut self) {
        self.user_ids = HashTable::with_capacity(self.users.len());
        self.logins = HashTable::with_capacity(self.users.len());
        for i in 0..self.users.len() {
            // A valid document has no duplicates; were there any, the first record wins,
            // as the searches this replaces found the first.
            let (id, login) = (self.users.id(i).to_string(), self.users.login(i));
            let login = fold_key(login).into_owned();
            if self.user_at(&id).is_none() {
                self.insert_id(i, &id);
            }
            if self.find_login(&login).is_none() {
                self.insert_login(i, &login);
            }
        }
    }

    /// Rebuilds the group indexes (after a removal shifted positions).
    fn index_groups(&mut self) {
        let mut names = HashMap::with_capacity(self.rest.groups.len());
        let mut ids = HashMap::with_capacity(self.rest.groups.len());
        for (i, g) in self.rest.groups.iter().enumerate() {
            names.entry(fold(&g.name)).or_insert(i);
            ids.entry(g.id.clone()).or_insert(i);
        }
        self.group_names = names;
        self.group_ids = ids;
    }

    /// Indexes user `at` under `id`.
    fn insert_id(&mut self, at: usize, id: &str) {
        let Draft {
            users,
            hasher,
            user_ids,
            ..
        } = self;
        user_ids.insert_unique(hasher.hash_one(id), at as u32, |&j| {
            hasher.hash_one(users.id(j as usize))
        });
    }

    /// Indexes user `at` under `key`, a folded login.
    fn insert_login(&mut self, at: usize, key: &str) {
        let Draft {
            users,
            hasher,
            logins,
            ..
        } = self;
        logins.insert_unique(hasher.hash_one(key), at as u32, |&j| {
            hasher.hash_one(&*fold_key(users.login(j as usize)))
        });
    }

    /// Removes user `at`'s entries under `id` and `login` (whose records may be gone).
    fn unindex_user(&mut self, at: usize, id: &str, login: &str) {
        let at = at as u32;
        if let Ok(entry) = self
            .user_ids
            .find_entry(self.hasher.hash_one(id), |&j| j == at)
        {
            entry.remove();
        }
        let key = fold_key(login);
        if let Ok(entry) = self
            .logins
            .find_entry(self.hasher.hash_one(&*key), |&j| j == at)
        {
            entry.remove();
        }
    }

    /// Moves user `at`'s login entry from the key of `from` to the key of `to`, when
    /// they differ; user `at`'s row must already hold `to` (a table that grows rehashes
    /// its entries from the rows).
    fn move_login(&mut self, at: usize, from: &str, to: &str) {
        if from == to {
            return;
        }
        let old = fold(from);
        if let Ok(entry) = self
            .logins
            .find_entry(self.hasher.hash_one(old.as_str()), |&j| j == at as u32)
        {
            entry.remove();
        }
        self.insert_login(at, &fold(to));
    }

    /// The position of the user whose folded login is `key`.
    fn find_login(&self, key: &str) -> Option<usize> {
        self.logins
            .find(self.hasher.hash_one(key), |&j| {
                fold_key(self.users.login(j as usize)) == key
            })
            .map(|&j| j as usize)
    }

    /// The position of the user with id `id`.
    pub(crate) fn user_at(&self, id: &str) -> Option<usize> {
        self.user_ids
            .find(self.hasher.hash_one(id), |&j| {
                self.users.id(j as usize) == id
            })
            .map(|&j| j as usize)
    }

    /// The position of the group with id `id`.
    pub(crate) fn group_at(&self, id: &str) -> Option<usize> {
        self.group_ids.get(id).copied()
    }

    /// The position of the user whose login equals `login` ignoring case ([`fold`]).
    pub(crate) fn user_with_login(&self, login: &str) -> Option<usize> {
        self.find_login(&fold(login))
    }

    /// The group whose name equals `name` ignoring case ([`fold`]).
    pub(crate) fn group_named(&self, name: &str) -> Option<&DirGroup> {
        let key = fold(name);
        self.group_names.get(&key).map(|&i| &self.rest.groups[i])
    }

    /// Whether a user has id `id`.
    pub(crate) fn has_user_id(&self, id: &str) -> bool {
        self.user_at(id).is_some()
    }

    /// Whether a group has id `id`.
    pub(crate) fn has_group_id(&self, id: &str) -> bool {
        self.group_ids.contains_key(id)
    }

    /// Appends `user` (its id and login not yet held).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](idbridge_core::ErrorKind::InvalidInput) when the
    /// users' text would pass 4 GiB; nothing is changed.
    pub(crate) fn push_user(&mut self, user: DirUser) -> Result<()> {
        let i = self.users.len();
        let (id, key) = (user.id.clone(), fold(&user.login));
        self.users.push(user).map_err(Error::invalid_input)?;
        self.insert_id(i, &id);
        self.insert_login(i, &key);
        self.undo.push(Undo::UserAdded);
        Ok(())
    }

    /// Appends `group` (its id and name not yet held).
    pub(crate) fn push_group(&mut self, group: DirGroup) {
        let i = self.rest.groups.len();
        let key = fold(&group.name);
        self.group_names.insert(key, i);
        self.group_ids.insert(group.id.clone(), i);
        self.rest.groups.push(group);
        self.undo.push(Undo::GroupAdded);
    }

    /// Changes user `i` with `change`, which may change its login but not its id; returns
    /// what `change` returns.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](idbridge_core::ErrorKind::NotFound) past the last user;
    /// [`ErrorKind::InvalidInput`](idbridge_core::ErrorKind::InvalidInput) when the
    /// users' text would pass 4 GiB (nothing is changed).
    pub(crate) fn change_user<T>(
        &mut self,
        i: usize,
        change: impl FnOnce(&mut DirUser) -> T,
    ) -> Result<T> {
        let was = self
            .user(i)
            .ok_or_else(|| Error::not_found(format!("no user at position {i}")))?;
        let mut now = was.clone();
        let out = change(&mut now);
        if now != was {
            let row = self.users.replace(i, &now).map_err(Error::invalid_input)?;
            self.move_login(i, &was.login, &now.login);
            self.undo.push(Undo::User { at: i, was: row });
        }
        Ok(out)
    }

    /// The number of group name `name` in the users' lists ([`Draft::set_user_groups`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](idbridge_core::ErrorKind::InvalidInput) past 4
    /// billion names.
    pub(crate) fn group_number(&mut self, name: &str) -> Result<u32> {
        self.users.group_number(name).map_err(Error::invalid_input)
    }

    /// Gives user `i` the group names numbered `numbers` ([`Draft::group_number`]): a
    /// membership change without unpacking the user.
    ///
    /// # Errors
    /// As [`Draft::change_user`].
    pub(crate) fn set_user_groups(&mut self, i: usize, numbers: &[u32]) -> Result<()> {
        if numbers == self.users.group_numbers(i) {
            return Ok(());
        }
        let row = self
            .users
            .set_group_numbers(i, numbers)
            .map_err(Error::invalid_input)?;
        self.undo.push(Undo::User { at: i, was: row });
        Ok(())
    }

    /// Changes group `i` with `change`, which may change its name (references to it are
    /// the caller's) but not its id; returns what `change` returns.
    pub(crate) fn change_group<T>(
        &mut self,
        i: usize,
        change: impl FnOnce(&mut DirGroup) -> T,
    ) -> T {
        let was = self.rest.groups[i].clone();
        let out = change(&mut self.rest.groups[i]);
        let now = &self.rest.groups[i];
        if *now != was {
            move_key(&mut self.group_names, i, &was.name, &now.name);
            self.undo.push(Undo::Group { at: i, was });
        }
        out
    }

    /// Changes the grants with `change`; returns what `change` returns.
    pub(crate) fn change_grants<T>(&mut self, change: impl FnOnce(&mut Vec<DirGrant>) -> T) -> T {
        let was = self.rest.grants.clone();
        let out = change(&mut self.rest.grants);
        if self.rest.grants != was {
            self.undo.push(Undo::Grants(was));
        }
        out
    }

    /// Removes user `i` and returns it. O(users): the records after it move up.
    pub(crate) fn remove_user(&mut self, i: usize) -> Option<DirUser> {
        let user = self.user(i)?;
        let row = self.users.remove_row(i)?;
        self.index_users();
        self.undo.push(Undo::UserRemoved { at: i, was: row });
        Some(user)
    }

    /// Removes group `i` and returns it. O(groups): the records after it move up.
    pub(crate) fn remove_group(&mut self, i: usize) -> DirGroup {
        let removed = self.rest.groups.remove(i);
        self.index_groups();
        self.undo.push(Undo::GroupRemoved {
            at: i,
            was: removed.clone(),
        });
        removed
    }

    /// Whether the indexes match the document exactly (tests).
    #[cfg(test)]
    pub(crate) fn consistent(&self) -> bool {
        let fresh = Draft::from_parts(self.rest.clone(), self.users.clone());
        let n = self.users.len();
        let users_agree = (0..n).all(|i| {
            let (id, login) = (self.users.id(i), self.users.login(i));
            self.user_at(id) == fresh.user_at(id)
                && self.user_with_login(login) == fresh.user_with_login(login)
        });
        users_agree
            && self.user_ids.len() == fresh.user_ids.len()
            && self.logins.len() == fresh.logins.len()
            && fresh.group_names == self.group_names
            && fresh.group_ids == self.group_ids
    }
}

/// Moves the entry of record `at` in `index` from the key of `from` to the key of `to`
/// (both folded), when they differ.
fn move_key(index: &mut HashMap<String, usize>, at: usize, from: &str, to: &str) {
    if from != to {
        remove_if_at(index, &fold(from), at);
        index.insert(fold(to), at);
    }
}

/// Removes `key` from `index` if it points at `at` (a duplicate may point elsewhere).
fn remove_if_at(index: &mut HashMap<String, usize>, key: &str, at: usize) {
    if index.get(key) == Some(&at) {
        index.remove(key);
    }
}

#[cfg(test)]
mod tests;
