//! The `complete` trailer that ends every directory file this crate writes, and the
//! top-level reader that keeps it apart from the records.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::packed::{PackSeed, PackedUsers};
use super::{DirGrant, DirGroup, DirRole, Directory};

/// The trailer that proves a directory file was written to its end: the number of records
/// in each section, under the key `complete`, which must be the document's last key.
///
/// Every file this crate writes ends with it. A reader that requires it
/// ([`Directory::parse_checked`] with `require_complete`) refuses a file without it or
/// whose counts do not match its records; every reader refuses a trailer that does not
/// match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Complete {
    /// How many records the `users` section holds.
    pub users: usize,
    /// How many records the `groups` section holds.
    pub groups: usize,
    /// How many records the `roles` section holds.
    pub roles: usize,
    /// How many records the `grants` section holds.
    pub grants: usize,
}

impl Complete {
    /// The counts of a directory.
    pub fn of(dir: &Directory) -> Complete {
        Complete {
            users: dir.users.len(),
            groups: dir.groups.len(),
            roles: dir.roles.len(),
            grants: dir.grants.len(),
        }
    }
}

/// The key of the [`Complete`] trailer.
pub const COMPLETE_KEY: &str = "complete";

/// A parsed file: its records (the users packed, `directory.users` empty) and its
/// trailer, if it has one.
pub(crate) struct Parsed {
    pub(crate) users: PackedUsers,
    pub(crate) directory: Directory,
    pub(crate) complete: Option<Complete>,
}

impl Parsed {
    /// An empty directory without a trailer (what an empty file holds).
    pub(crate) fn empty() -> Parsed {
        Parsed {
            users: PackedUsers::new(),
            directory: Directory::default(),
            complete: None,
        }
    }

    /// The counts of what was read.
    pub(crate) fn found(&self) -> Complete {
        Complete {
            users: self.users.len(),
            ..Complete::of(&self.directory)
        }
    }

    /// The records as a [`Directory`], the users unpacked.
    pub(crate) fn into_directory(self) -> Directory {
        Directory {
            users: self.users.unpack(),
            ..self.directory
        }
    }
}

/// The keys a directory document may have, in the order they are written.
pub(super) const TOP_LEVEL_KEYS: &[&str] = &["users", "groups", "roles", "grants", COMPLETE_KEY];

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Parsed, D::Error> {
        struct ParsedVisitor;

        impl<'de> serde::de::Visitor<'de> for ParsedVisitor {
            type Value = Parsed;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping with the keys users, groups, roles, grants and complete")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Parsed, A::Error> {
                use serde::de::Error as _;
                let mut directory = Directory::default();
                let mut users = PackedUsers::new();
                let mut seen: Vec<String> = Vec::new();
                let mut complete = None;
                while let Some(key) = map.next_key::<String>()? {
                    if complete.is_some() {
                        // The trailer is written last; anything after it means the file
                        // was not written the way the trailer promises.
                        return Err(A::Error::custom(format!(
                            "`{key}` comes after `{COMPLETE_KEY}`, which must be the last key \
                             of the file"
                        )));
                    }
                    if seen.contains(&key) {
                        return Err(A::Error::custom(format!("duplicate key `{key}`")));
                    }
                    match key.as_str() {
                        "users" => map.next_value_seed(PackSeed(&mut users))?,
                        "groups" => directory.groups = map.next_value()?,
                        "roles" => directory.roles = map.next_value()?,
                        "grants" => directory.grants = map.next_value()?,
                        COMPLETE_KEY => complete = Some(map.next_value::<Complete>()?),
                        other => return Err(A::Error::unknown_field(other, TOP_LEVEL_KEYS)),
                    }
                    seen.push(key);
                }
                users.finish();
                Ok(Parsed {
                    users,
                    directory,
                    complete,
                })
            }
        }

        d.deserialize_map(ParsedVisitor)
    }
}

/// What a file is written as: the records, then the trailer. `U` is the users, as file
/// records or packed.
#[derive(Serialize)]
pub(super) struct Written<'a, U: Serialize + ?Sized> {
    pub(super) users: &'a U,
    pub(super) groups: &'a [DirGroup],
    #[serde(skip_serializing_if = "<[DirRole]>::is_empty")]
    pub(super) roles: &'a [DirRole],
    #[serde(skip_serializing_if = "<[DirGrant]>::is_empty")]
    pub(super) grants: &'a [DirGrant],
    pub(super) complete: Complete,
}
