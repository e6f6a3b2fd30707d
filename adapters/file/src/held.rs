//! The document the adapter holds: its users packed ([`PackedUsers`], a fifth of the
//! memory of file records) for as long as it is only read, which is all a source and all
//! of `plan` ever do; the first write unpacks them into a plain [`Directory`], which the
//! write operations change.

use idbridge_core::User;

use crate::format::{DirUser, Directory, PackedUsers, Parsed};

/// The held document (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct Held {
    /// The groups, roles and grants; the users too once unpacked (`packed` is `None`).
    dir: Directory,
    /// The users while they are packed; `dir.users` is then empty.
    packed: Option<PackedUsers>,
}

impl Held {
    /// A document as parsed, its users packed.
    pub(crate) fn parsed(parsed: Parsed) -> Held {
        Held {
            dir: parsed.directory,
            packed: Some(parsed.users),
        }
    }

    /// A document as a plain directory (after a write, or an empty one).
    pub(crate) fn plain(dir: Directory) -> Held {
        Held { dir, packed: None }
    }

    /// The groups, roles and grants (its `users` are empty while they are packed).
    pub(crate) fn rest(&self) -> &Directory {
        &self.dir
    }

    /// The whole document as a plain directory, unpacking the users the first time: what
    /// writes work on.
    pub(crate) fn unpacked(&mut self) -> &Directory {
        if let Some(packed) = self.packed.take() {
            self.dir.users = packed.unpack();
        }
        &self.dir
    }

    /// A plain copy of the whole document.
    pub(crate) fn to_directory(&self) -> Directory {
        match &self.packed {
            Some(p) => Directory {
                users: p.unpack(),
                ..self.dir.clone()
            },
            None => self.dir.clone(),
        }
    }

    /// How many users.
    pub(crate) fn user_count(&self) -> usize {
        match &self.packed {
            Some(p) => p.len(),
            None => self.dir.users.len(),
        }
    }

    /// User `i` as a neutral record.
    pub(crate) fn user(&self, i: usize) -> Option<User> {
        match &self.packed {
            Some(p) => p.user(i),
            None => self.dir.users.get(i).map(DirUser::to_user),
        }
    }

    /// The id of user `i` (empty past the end).
    pub(crate) fn user_id(&self, i: usize) -> &str {
        match &self.packed {
            Some(p) => p.id(i),
            None => self.dir.users.get(i).map_or("", |u| u.id.as_str()),
        }
    }

    /// The first user with this id, as a neutral record.
    pub(crate) fn find_user(&self, id: &str) -> Option<User> {
        match &self.packed {
            Some(p) => p.position(id).and_then(|i| p.user(i)),
            None => self.dir.user(id).map(DirUser::to_user),
        }
    }

    /// Calls `f` with the users as whichever records they are held in.
    pub(crate) fn with_users<T>(&self, f: impl WithUsers<T>) -> T {
        match &self.packed {
            Some(p) => f.call(p),
            None => f.call(self.dir.users.as_slice()),
        }
    }
}

/// A function of the users, whichever way they are held.
pub(crate) trait WithUsers<T> {
    /// Runs on `users`.
    fn call<U: crate::format::UserRecords + ?Sized>(self, users: &U) -> T;
}
