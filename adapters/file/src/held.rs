//! The document the adapter holds: its users packed ([`PackedUsers`], a fifth of the
//! memory of file records), read or written. The first write turns it into a [`Draft`],
//! the same packed users with the indexes and the undo record writes need, which the
//! writes change in place; a source and `plan`, which only read, never build them.

use idbridge_core::User;

use crate::draft::Draft;
use crate::format::{Directory, PackedUsers, Parsed};

/// The held document (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) enum Held {
    /// As parsed: the groups, roles and grants (`users` empty), and the users.
    Packed { rest: Directory, users: PackedUsers },
    /// As written: the same, indexed for writes.
    Plain(Draft),
}

impl Held {
    /// A document as parsed, its users packed.
    pub(crate) fn parsed(parsed: Parsed) -> Held {
        Held::Packed {
            rest: parsed.directory,
            users: parsed.users,
        }
    }

    /// An empty document.
    pub(crate) fn empty() -> Held {
        Held::Packed {
            rest: Directory::new(),
            users: PackedUsers::new(),
        }
    }

    /// The groups, roles and grants (its `users` are empty: the users are packed).
    pub(crate) fn rest(&self) -> &Directory {
        match self {
            Held::Packed { rest, .. } => rest,
            Held::Plain(d) => d.rest(),
        }
    }

    /// The users.
    fn users(&self) -> &PackedUsers {
        match self {
            Held::Packed { users, .. } => users,
            Held::Plain(d) => d.users(),
        }
    }

    /// The document for writing, indexing it the first time.
    pub(crate) fn writable(&mut self) -> &mut Draft {
        if let Held::Packed { rest, users } = self {
            let draft = Draft::from_parts(std::mem::take(rest), std::mem::take(users));
            *self = Held::Plain(draft);
        }
        match self {
            Held::Plain(d) => d,
            Held::Packed { .. } => unreachable!("made writable above"),
        }
    }

    /// Undoes the changes of a rewrite that did not end in a save (see
    /// [`Draft::rollback_to`]): what is held is then what the file holds.
    pub(crate) fn discard_changes(&mut self) {
        if let Held::Plain(d) = self {
            d.rollback_to(0);
        }
    }

    /// A plain copy of the whole document.
    pub(crate) fn to_directory(&self) -> Directory {
        Directory {
            users: self.users().unpack(),
            ..self.rest().clone()
        }
    }

    /// How many users.
    pub(crate) fn user_count(&self) -> usize {
        self.users().len()
    }

    /// User `i` as a neutral record.
    pub(crate) fn user(&self, i: usize) -> Option<User> {
        self.users().user(i)
    }

    /// The id of user `i` (empty past the end).
    pub(crate) fn user_id(&self, i: usize) -> &str {
        self.users().id(i)
    }

    /// The first user with this id, as a neutral record.
    pub(crate) fn find_user(&self, id: &str) -> Option<User> {
        let at = match self {
            Held::Packed { users, .. } => users.position(id),
            Held::Plain(d) => d.user_at(id),
        };
        at.and_then(|i| self.users().user(i))
    }

    /// Calls `f` with the users.
    pub(crate) fn with_users<T>(&self, f: impl WithUsers<T>) -> T {
        f.call(self.users())
    }
}

/// A function of the users, whichever way they are held.
pub(crate) trait WithUsers<T> {
    /// Runs on `users`.
    fn call<U: crate::format::UserRecords + ?Sized>(self, users: &U) -> T;
}
