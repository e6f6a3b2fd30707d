//! Users held compactly: what a directory of a million users costs to keep in memory.
//!
//! A [`DirUser`] is six owned strings and a list of owned group names: about 600 bytes a
//! user once the allocator's rounding is counted, 600 MB for a million. [`PackedUsers`]
//! keeps the same records in one text buffer with fixed-size rows, each group name stored
//! once and referred to by number: about 125 bytes a user. Files are parsed straight into
//! it, one record at a time ([`PackSeed`]), so no whole list of [`DirUser`] is ever built
//! for a read; a write unpacks it first (see `crate::held`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use idbridge_core::User;
use serde::Deserialize;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};

use super::DirUser;

mod edit;

/// A piece of the text: start and length in bytes; `len == ABSENT` for a missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

const ABSENT: u32 = u32::MAX;

/// One user: where its fields lie in the buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    id: Span,
    login: Span,
    email: Span,
    display_name: Span,
    /// The user's group names: `groups[groups_start..groups_start + groups_len]`.
    groups_start: u32,
    groups_len: u32,
    /// Index into `attributes`, or `ABSENT` when the user has none.
    attributes: u32,
    enabled: bool,
}

/// Users in file order, packed (see the module documentation).
#[derive(Debug, Clone, Default)]
pub(crate) struct PackedUsers {
    text: String,
    rows: Vec<Row>,
    /// Every user's group names, as numbers into `names`.
    groups: Vec<u32>,
    /// Each distinct group name users refer to, once.
    names: Vec<Box<str>>,
    /// The number of each name in `names`, while users are added (names come from the
    /// file: a seeded hasher).
    numbers: hashbrown::HashMap<Box<str>, u32, hashbrown::DefaultHashBuilder>,
    attributes: Vec<BTreeMap<String, String>>,
    /// Bytes of `text` and `groups` no row points at any more (see `edit`).
    dead: usize,
    /// Of those, the entries of `groups`.
    dead_groups: usize,
}

/// The error when the packed text or lists pass what 32-bit positions address.
fn too_large() -> String {
    "more than 4 GiB of user text in one directory file; split it into several files".to_string()
}

impl PackedUsers {
    /// No users.
    pub(crate) fn new() -> PackedUsers {
        PackedUsers::default()
    }

    fn push_str(&mut self, s: &str) -> Result<Span, String> {
        let start = u32::try_from(self.text.len()).map_err(|_| too_large())?;
        let len = u32::try_from(s.len())
            .ok()
            .filter(|l| *l != ABSENT && start.checked_add(*l).is_some())
            .ok_or_else(too_large)?;
        self.text.push_str(s);
        Ok(Span { start, len })
    }

    fn push_opt(&mut self, s: Option<&str>) -> Result<Span, String> {
        match s {
            Some(s) => self.push_str(s),
            None => Ok(Span {
                start: 0,
                len: ABSENT,
            }),
        }
    }

    fn number(&mut self, name: &str) -> Result<u32, String> {
        if let Some(&n) = self.numbers.get(name) {
            return Ok(n);
        }
        let n = u32::try_from(self.names.len()).map_err(|_| too_large())?;
        let name: Box<str> = name.into();
        self.names.push(name.clone());
        self.numbers.insert(name, n);
        Ok(n)
    }

    /// Appends a user.
    ///
    /// # Errors
    /// A message when the users' text passes 4 GiB.
    pub(crate) fn push(&mut self, u: DirUser) -> Result<(), String> {
        let fields = Fields {
            id: &u.id,
            login: &u.login,
            email: u.email.as_deref(),
            display_name: u.display_name.as_deref(),
            enabled: u.enabled,
        };
        self.push_fields(fields, u.groups.iter().map(String::as_str), u.attributes)
    }

    /// Appends a user read as a [`UserRecord`].
    ///
    /// # Errors
    /// As [`PackedUsers::push`].
    pub(crate) fn push_record(&mut self, u: UserRecord<'_>) -> Result<(), String> {
        let fields = Fields {
            id: &u.id,
            login: &u.login,
            email: u.email.as_ref().map(|t| &*t.0),
            display_name: u.display_name.as_ref().map(|t| &*t.0),
            enabled: u.enabled,
        };
        self.push_fields(fields, u.groups.iter().map(|t| &*t.0), u.attributes)
    }

    fn push_fields<'g>(
        &mut self,
        u: Fields<'_>,
        groups: impl ExactSizeIterator<Item = &'g str>,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), String> {
        let id = self.push_str(u.id)?;
        let login = self.push_str(u.login)?;
        let email = self.push_opt(u.email)?;
        let display_name = self.push_opt(u.display_name)?;
        let groups_start = u32::try_from(self.groups.len()).map_err(|_| too_large())?;
        let groups_len = u32::try_from(groups.len()).map_err(|_| too_large())?;
        groups_start.checked_add(groups_len).ok_or_else(too_large)?;
        for name in groups {
            let n = self.number(name)?;
            self.groups.push(n);
        }
        let attributes = self.push_attributes(attributes)?;
        self.rows.push(Row {
            id,
            login,
            email,
            display_name,
            groups_start,
            groups_len,
            attributes,
            enabled: u.enabled,
        });
        Ok(())
    }

    /// Keeps `attributes`, returning where (`ABSENT` for none).
    fn push_attributes(&mut self, attributes: BTreeMap<String, String>) -> Result<u32, String> {
        if attributes.is_empty() {
            return Ok(ABSENT);
        }
        let at = u32::try_from(self.attributes.len())
            .ok()
            .filter(|a| *a != ABSENT)
            .ok_or_else(too_large)?;
        self.attributes.push(attributes);
        Ok(at)
    }

    /// Releases spare capacity and the lookup only adding needs.
    pub(crate) fn finish(&mut self) {
        self.numbers = hashbrown::HashMap::default();
        self.text.shrink_to_fit();
        self.rows.shrink_to_fit();
        self.groups.shrink_to_fit();
        self.attributes.shrink_to_fit();
    }

    /// How many users.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    fn get(&self, span: Span) -> &str {
        let start = span.start as usize;
        // Spans come only from `push_str` on this text, so they lie on character
        // boundaries inside it; `get` keeps even a broken invariant from panicking.
        self.text
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn get_opt(&self, span: Span) -> Option<&str> {
        (span.len != ABSENT).then(|| self.get(span))
    }

    fn row(&self, i: usize) -> Option<&Row> {
        self.rows.get(i)
    }

    /// The id of user `i` (empty past the end).
    pub(crate) fn id(&self, i: usize) -> &str {
        self.row(i).map_or("", |r| self.get(r.id))
    }

    /// The login of user `i` (empty past the end).
    pub(crate) fn login(&self, i: usize) -> &str {
        self.row(i).map_or("", |r| self.get(r.login))
    }

    /// The email of user `i`, if any.
    pub(crate) fn email(&self, i: usize) -> Option<&str> {
        self.row(i).and_then(|r| self.get_opt(r.email))
    }

    /// The group names user `i` lists, in file order.
    pub(crate) fn groups(&self, i: usize) -> impl Iterator<Item = &str> + '_ {
        let (start, len) = self
            .row(i)
            .map_or((0, 0), |r| (r.groups_start as usize, r.groups_len as usize));
        self.groups
            .get(start..start + len)
            .unwrap_or_default()
            .iter()
            .map(|&n| self.names.get(n as usize).map_or("", |s| s))
    }

    fn attributes(&self, r: &Row) -> BTreeMap<String, String> {
        if r.attributes == ABSENT {
            return BTreeMap::new();
        }
        self.attributes
            .get(r.attributes as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// User `i` as a neutral record.
    pub(crate) fn user(&self, i: usize) -> Option<User> {
        let r = self.row(i)?;
        Some(User {
            id: self.get(r.id).to_string(),
            login: self.get(r.login).to_string(),
            email: self.get_opt(r.email).map(str::to_string),
            display_name: self.get_opt(r.display_name).map(str::to_string),
            enabled: r.enabled,
            attributes: self.attributes(r),
        })
    }

    /// User `i` as a file record.
    pub(crate) fn dir_user(&self, i: usize) -> Option<DirUser> {
        let r = self.row(i)?;
        Some(DirUser {
            id: self.get(r.id).to_string(),
            login: self.get(r.login).to_string(),
            email: self.get_opt(r.email).map(str::to_string),
            display_name: self.get_opt(r.display_name).map(str::to_string),
            enabled: r.enabled,
            groups: self.groups(i).map(str::to_string).collect(),
            attributes: self.attributes(r),
        })
    }

    /// The position of the first user with this id.
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.rows.iter().position(|r| self.get(r.id) == id)
    }

    /// Every user as a file record, in order.
    pub(crate) fn unpack(&self) -> Vec<DirUser> {
        (0..self.len()).filter_map(|i| self.dir_user(i)).collect()
    }
}

/// Written as the list of file records, each unpacked only while it is written.
impl serde::Serialize for PackedUsers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for i in 0..self.len() {
            if let Some(u) = self.dir_user(i) {
                seq.serialize_element(&u)?;
            }
        }
        seq.end()
    }
}

/// A user's single-valued fields, borrowed.
struct Fields<'a> {
    id: &'a str,
    login: &'a str,
    email: Option<&'a str>,
    display_name: Option<&'a str>,
    enabled: bool,
}

/// A user record as read from a slice of the file, its strings borrowed from the slice
/// where they hold no escapes: what [`DirUser`] reads, the same fields, defaults and
/// refusals (and the same name in messages), without an allocation per string.
#[derive(Debug, Deserialize)]
#[serde(rename = "DirUser", deny_unknown_fields)]
pub(crate) struct UserRecord<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    login: Cow<'a, str>,
    #[serde(default, borrow)]
    email: Option<Text<'a>>,
    #[serde(default, borrow)]
    display_name: Option<Text<'a>>,
    #[serde(default = "super::yes")]
    enabled: bool,
    #[serde(default, borrow)]
    groups: Vec<Text<'a>>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// A string borrowed where it can be (inside an `Option` or a list, where a bare `Cow`
/// would always be copied).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Text<'a> {
        Text(Cow::Borrowed(s))
    }
}

/// Parses a `users` list into [`PackedUsers`], one record at a time: each element is
/// read as a [`DirUser`] (so its errors and key paths are the same) and packed at once.
pub(crate) struct PackSeed<'a>(pub(crate) &'a mut PackedUsers);

impl<'de> DeserializeSeed<'de> for PackSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PackSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What a `Vec`'s own visitor says, so that messages stay as they were.
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        while let Some(user) = seq.next_element::<DirUser>()? {
            self.0.push(user).map_err(A::Error::custom)?;
        }
        Ok(())
    }
}
