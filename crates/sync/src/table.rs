//! Compact, indexed storage for what the engine reads: users, links and group members.
//!
//! A run holds every system's users at once (the source and each target), a link per
//! managed account and millions of memberships. Kept as neutral records (`User`, `Link`,
//! `Principal`), that is four heap strings per user and one per member: about 250 bytes a
//! user and 64 bytes a membership. These tables keep the same data in one text buffer per
//! table with fixed-size rows (40 bytes a user, 4 bytes a member that is a known user),
//! plus an index built once while reading, so the planner looks records up by position
//! instead of hashing strings again for every target.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use hashbrown::HashMap;
use idbridge_core::{Error, Principal, Result, User};
use idbridge_store::{Link, LinkKind, Store};

mod index;

use index::PositionIndex;

/// A piece of a table's text: start and length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: u32,
    len: u32,
}

/// The length that marks an absent optional value.
const ABSENT: u32 = u32::MAX;

impl Span {
    const NONE: Span = Span {
        start: 0,
        len: ABSENT,
    };
}

/// The text of one table: every string appended to one buffer.
#[derive(Debug, Clone, Default)]
struct Text(String);

impl Text {
    fn push(&mut self, s: &str) -> Result<Span> {
        let start = u32::try_from(self.0.len()).ok();
        let len = u32::try_from(s.len()).ok().filter(|l| *l != ABSENT);
        let end = start.zip(len).and_then(|(a, b)| a.checked_add(b));
        match (start, len, end) {
            (Some(start), Some(len), Some(_)) => {
                self.0.push_str(s);
                Ok(Span { start, len })
            }
            _ => Err(Error::invalid_input(
                "more than 4 GiB of text in one listing; split the source or target into \
                 several instances",
            )),
        }
    }

    fn push_opt(&mut self, s: Option<&str>) -> Result<Span> {
        match s {
            Some(s) => self.push(s),
            None => Ok(Span::NONE),
        }
    }

    fn get(&self, span: Span) -> &str {
        let start = span.start as usize;
        // Spans come only from `push` on this buffer, so they lie on character boundaries
        // inside it; `get` keeps even a broken invariant from panicking.
        self.0
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn get_opt(&self, span: Span) -> Option<&str> {
        (span.len != ABSENT).then(|| self.get(span))
    }

    fn shrink(&mut self) {
        self.0.shrink_to_fit();
    }
}

/// A user as stored in a [`UserTable`], borrowed: the same fields as [`User`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRef<'a> {
    /// The system's stable id.
    pub id: &'a str,
    /// The login.
    pub login: &'a str,
    /// The email, if any.
    pub email: Option<&'a str>,
    /// The display name, if any.
    pub display_name: Option<&'a str>,
    /// Whether the account may sign in.
    pub enabled: bool,
    /// Free-form attributes (empty when none).
    pub attributes: &'a BTreeMap<String, String>,
}

/// The attributes of a user that has none.
static NO_ATTRIBUTES: BTreeMap<String, String> = BTreeMap::new();

impl<'a> UserRef<'a> {
    /// An owned copy.
    pub fn to_user(&self) -> User {
        User {
            id: self.id.to_string(),
            login: self.login.to_string(),
            email: self.email.map(str::to_string),
            display_name: self.display_name.map(str::to_string),
            enabled: self.enabled,
            attributes: self.attributes.clone(),
        }
    }
}

impl<'a> From<&'a User> for UserRef<'a> {
    fn from(u: &'a User) -> UserRef<'a> {
        UserRef {
            id: &u.id,
            login: &u.login,
            email: u.email.as_deref(),
            display_name: u.display_name.as_deref(),
            enabled: u.enabled,
            attributes: &u.attributes,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct UserRow {
    id: Span,
    login: Span,
    email: Span,
    display_name: Span,
    /// Index into `attributes`, or `ABSENT` when the user has none.
    attributes: u32,
    enabled: bool,
}

/// Users in listing order, with an index by id.
///
/// Positions (`usize` indexes from 0 to `len() - 1`) are stable: the planner and
/// [`Members`] refer to users by position. When a listing holds one id twice, both rows
/// are kept and the id leads to the later one.
#[derive(Clone, Default)]
pub struct UserTable {
    text: Text,
    rows: Vec<UserRow>,
    attributes: Vec<BTreeMap<String, String>>,
    /// Positions by id, built from every row by the first lookup and kept up to date by
    /// [`UserTable::push`] after that. Built at once, it is sized once and reads the rows
    /// in order; grown while a million users are appended, it would be rehashed twenty
    /// times, each time reading every row's id again from a random place.
    by_id: OnceLock<PositionIndex>,
}

impl std::fmt::Debug for UserTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for UserTable {
    fn eq(&self, other: &UserTable) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl UserTable {
    /// An empty table.
    pub fn new() -> UserTable {
        UserTable::default()
    }

    /// A table of `users`, in their order.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::InvalidInput`] when the users' text passes 4 GiB.
    pub fn from_users(users: impl IntoIterator<Item = User>) -> Result<UserTable> {
        let mut t = UserTable::new();
        t.extend(users)?;
        Ok(t)
    }

    /// Appends users (a page of a listing) and returns the table's new length.
    ///
    /// # Errors
    /// As [`UserTable::from_users`]; users appended before the error stay.
    pub fn extend(&mut self, users: impl IntoIterator<Item = User>) -> Result<usize> {
        for u in users {
            self.push(u)?;
        }
        Ok(self.len())
    }

    /// Appends one user and returns its position.
    ///
    /// # Errors
    /// As [`UserTable::from_users`].
    pub fn push(&mut self, u: User) -> Result<usize> {
        let position = self.rows.len();
        let pos32 = u32::try_from(position)
            .ok()
            .filter(|p| *p != ABSENT)
            .ok_or_else(|| Error::invalid_input("more than 4 billion users in one listing"))?;
        let id = self.text.push(&u.id)?;
        let login = self.text.push(&u.login)?;
        let email = self.text.push_opt(u.email.as_deref())?;
        let display_name = self.text.push_opt(u.display_name.as_deref())?;
        let attributes = if u.attributes.is_empty() {
            ABSENT
        } else {
            // Fewer attribute sets than rows, so this index fits whenever `pos32` does.
            let i = u32::try_from(self.attributes.len()).unwrap_or(ABSENT);
            self.attributes.push(u.attributes);
            i
        };
        self.rows.push(UserRow {
            id,
            login,
            email,
            display_name,
            attributes,
            enabled: u.enabled,
        });
        if let Some(index) = self.by_id.get_mut() {
            index_row(index, &self.text, &self.rows, pos32);
        }
        Ok(position)
    }

    /// The index of every row by id, in one pass at its final size.
    fn build_index(&self) -> PositionIndex {
        let mut index = PositionIndex::with_capacity(self.rows.len());
        // Every position fits: `push` refuses a row past `u32::MAX - 1`.
        for p in 0..self.rows.len() as u32 {
            index_row(&mut index, &self.text, &self.rows, p);
        }
        index
    }

    /// Releases spare capacity once a listing is complete.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink();
        self.rows.shrink_to_fit();
    }

    /// How many users.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The user at `position`.
    ///
    /// # Panics
    /// When `position >= len()`, like slice indexing: positions come from this table.
    pub fn get(&self, position: usize) -> UserRef<'_> {
        self.view(&self.rows[position])
    }

    fn view<'a>(&'a self, r: &UserRow) -> UserRef<'a> {
        UserRef {
            id: self.text.get(r.id),
            login: self.text.get(r.login),
            email: self.text.get_opt(r.email),
            display_name: self.text.get_opt(r.display_name),
            enabled: r.enabled,
            attributes: self
                .attributes
                .get(r.attributes as usize)
                .unwrap_or(&NO_ATTRIBUTES),
        }
    }

    /// The id of the user at `position` (cheaper than [`UserTable::get`]).
    ///
    /// # Panics
    /// As [`UserTable::get`].
    pub fn id(&self, position: usize) -> &str {
        self.text.get(self.rows[position].id)
    }

    /// The position of the user with this id. The first lookup indexes the table.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.index()
            .find(id, |p| self.id(p as usize))
            .map(|p| p as usize)
    }

    /// The position of each of `ids`, in order, passed to `each`: what [`UserTable::find`]
    /// gives, for many ids at a time. In a table of a million users each lookup waits on
    /// memory several times; these lookups wait together, a batch of ids at a time.
    pub fn find_each<'k>(
        &self,
        ids: impl IntoIterator<Item = &'k str>,
        mut each: impl FnMut(Option<usize>),
    ) {
        self.index().find_each(
            ids,
            |p| self.id(p as usize),
            |p| each(p.map(|p| p as usize)),
        );
    }

    fn index(&self) -> &PositionIndex {
        self.by_id.get_or_init(|| self.build_index())
    }

    /// Every user, in listing order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = UserRef<'_>> + '_ {
        self.rows.iter().map(|r| self.view(r))
    }

    /// Owned copies of every user.
    pub fn to_users(&self) -> Vec<User> {
        self.iter().map(|u| u.to_user()).collect()
    }
}

/// Indexes the row at `position` by its id; a later row of the same id takes the place of
/// the earlier one.
fn index_row(index: &mut PositionIndex, text: &Text, rows: &[UserRow], position: u32) {
    let id = text.get(rows[position as usize].id);
    index.upsert(id, position, |p| text.get(rows[p as usize].id));
}

/// A stored link, borrowed from a [`LinkTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkRef<'a> {
    /// The source record's id.
    pub source_id: &'a str,
    /// The target record's id.
    pub target_id: &'a str,
    /// The fingerprint stored with the link, when it is one idbridge writes (16 hex
    /// digits); anything else never equals a computed fingerprint.
    pub fingerprint: Option<u64>,
    /// The account was adopted and keeps its own login (its fingerprint carries
    /// [`KEEPS_LOGIN`]): the sync engine never renames it to the source login.
    pub keeps_login: bool,
}

#[derive(Debug, Clone, Copy)]
struct LinkRow {
    source: Span,
    target: Span,
    fingerprint: Option<u64>,
    keeps_login: bool,
}

/// The suffix of a stored user link fingerprint that marks an adopted account keeping its
/// own login (see [`LinkRef::keeps_login`]).
pub const KEEPS_LOGIN: &str = "+keeps-login";

/// One target's stored links of one kind, indexed by source id.
#[derive(Clone, Default)]
pub struct LinkTable {
    text: Text,
    rows: Vec<LinkRow>,
    by_source: PositionIndex,
}

impl std::fmt::Debug for LinkTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Reads a fingerprint as written by [`crate::util::Fingerprinter::finish`].
pub fn parse_fingerprint(text: &str) -> Option<u64> {
    (text.len() == 16)
        .then(|| u64::from_str_radix(text, 16).ok())
        .flatten()
}

impl LinkTable {
    /// An empty table.
    pub fn new() -> LinkTable {
        LinkTable::default()
    }

    /// A table of `links`; a later link for the same source id replaces an earlier one.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::InvalidInput`] when the ids' text passes 4 GiB.
    pub fn from_links<'l>(links: impl IntoIterator<Item = &'l Link>) -> Result<LinkTable> {
        let links = links.into_iter();
        let mut t = LinkTable::with_capacity(links.size_hint().0);
        for l in links {
            t.insert(&l.source_id, &l.target_id, &l.fingerprint)?;
        }
        Ok(t)
    }

    /// The links of one kind that `store` holds for `target`, read row by row into the
    /// table (never all as [`Link`] records at once).
    ///
    /// # Errors
    /// The store's read error; as [`LinkTable::from_links`].
    pub fn read(store: &Store, target: &str, kind: LinkKind) -> Result<LinkTable> {
        let mut t = LinkTable::with_capacity(store.link_count(target, kind)?);
        store.for_each_link(target, kind, |source_id, target_id, fingerprint| {
            t.insert(source_id, target_id, fingerprint)
        })?;
        Ok(t)
    }

    /// An empty table with room for `links` links: growing the index a million links long
    /// one link at a time rehashes it twenty times.
    pub fn with_capacity(links: usize) -> LinkTable {
        LinkTable {
            rows: Vec::with_capacity(links),
            by_source: PositionIndex::with_capacity(links),
            ..LinkTable::new()
        }
    }

    fn source(&self, position: u32) -> &str {
        self.text.get(self.rows[position as usize].source)
    }

    /// Adds a link, or replaces the one of the same source id.
    ///
    /// # Errors
    /// As [`LinkTable::from_links`].
    pub fn insert(&mut self, source_id: &str, target_id: &str, fingerprint: &str) -> Result<()> {
        let existing = self.by_source.find(source_id, |p| self.source(p));
        let target = self.text.push(target_id)?;
        let (fingerprint, keeps_login) = match fingerprint.strip_suffix(KEEPS_LOGIN) {
            Some(f) => (parse_fingerprint(f), true),
            None => (parse_fingerprint(fingerprint), false),
        };
        if let Some(p) = existing {
            let row = &mut self.rows[p as usize];
            row.target = target;
            row.fingerprint = fingerprint;
            row.keeps_login = keeps_login;
            return Ok(());
        }
        let position = u32::try_from(self.rows.len())
            .map_err(|_| Error::invalid_input("more than 4 billion links for one target"))?;
        let source = self.text.push(source_id)?;
        self.rows.push(LinkRow {
            source,
            target,
            fingerprint,
            keeps_login,
        });
        let (text, rows) = (&self.text, &self.rows);
        self.by_source
            .upsert(source_id, position, |p| text.get(rows[p as usize].source));
        Ok(())
    }

    fn view(&self, r: &LinkRow) -> LinkRef<'_> {
        LinkRef {
            source_id: self.text.get(r.source),
            target_id: self.text.get(r.target),
            fingerprint: r.fingerprint,
            keeps_login: r.keeps_login,
        }
    }

    /// The link of a source id.
    pub fn get(&self, source_id: &str) -> Option<LinkRef<'_>> {
        self.by_source
            .find(source_id, |p| self.source(p))
            .map(|p| self.view(&self.rows[p as usize]))
    }

    /// The link of each of `source_ids`, in order, passed to `each`: what
    /// [`LinkTable::get`] gives, with the lookups' waits on memory overlapping (see
    /// [`UserTable::find_each`]).
    pub fn get_each<'s, 'k>(
        &'s self,
        source_ids: impl IntoIterator<Item = &'k str>,
        mut each: impl FnMut(Option<LinkRef<'s>>),
    ) {
        self.by_source.find_each(
            source_ids,
            |p| self.source(p),
            |p| each(p.map(|p| self.view(&self.rows[p as usize]))),
        );
    }

    /// Every link.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = LinkRef<'_>> + '_ {
        self.rows.iter().map(|r| self.view(r))
    }

    /// How many links.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The direct members of one group, split by what the state knows about them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberList {
    /// Members that are users of the same state's [`UserTable`], by position; sorted, no
    /// repeats.
    pub users: Vec<u32>,
    /// Every other member: groups, and users the user listing does not show.
    pub others: Vec<Principal>,
}

impl MemberList {
    /// How many members.
    pub fn len(&self) -> usize {
        self.users.len() + self.others.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.others.is_empty()
    }

    /// Every member as a neutral principal (users first, then the others).
    pub fn principals<'a>(&'a self, users: &'a UserTable) -> impl Iterator<Item = Principal> + 'a {
        self.users
            .iter()
            .map(|&p| Principal::User(users.id(p as usize).to_string()))
            .chain(self.others.iter().cloned())
    }
}

/// Direct members of groups, by group id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    groups: HashMap<String, MemberList>,
}

impl Members {
    /// No groups.
    pub fn new() -> Members {
        Members::default()
    }

    /// Members of many groups, the users among them resolved against `users`.
    pub fn from_principals(
        groups: impl IntoIterator<Item = (String, Vec<Principal>)>,
        users: &UserTable,
    ) -> Members {
        let mut m = Members::new();
        for (g, principals) in groups {
            m.insert(g, principals, users);
        }
        m
    }

    /// Sets the members of `group` from a list whose users are already positions in the
    /// state's [`UserTable`] (sorted and repeats removed here).
    pub fn insert_list(&mut self, group: String, mut list: MemberList) {
        list.users.sort_unstable();
        list.users.dedup();
        list.users.shrink_to_fit();
        self.groups.insert(group, list);
    }

    /// Sets the members of `group`, the users among them resolved against `users`.
    pub fn insert(&mut self, group: String, principals: Vec<Principal>, users: &UserTable) {
        let user_ids = principals.iter().filter_map(|p| match p {
            Principal::User(id) => Some(id.as_str()),
            Principal::Group(_) => None,
        });
        let mut found = Vec::with_capacity(principals.len());
        users.find_each(user_ids, |i| {
            found.push(i.and_then(|i| u32::try_from(i).ok()))
        });
        let mut found = found.into_iter();
        let mut list = MemberList::default();
        for p in principals {
            match &p {
                Principal::User(_) => match found.next().flatten() {
                    Some(i) => list.users.push(i),
                    None => list.others.push(p),
                },
                Principal::Group(_) => list.others.push(p),
            }
        }
        self.insert_list(group, list);
    }

    /// The members of a group, when they were read.
    pub fn get(&self, group: &str) -> Option<&MemberList> {
        self.groups.get(group)
    }

    /// Whether the members of a group were read.
    pub fn contains(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    /// Every group read, with its members.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MemberList)> + '_ {
        self.groups.iter().map(|(g, m)| (g.as_str(), m))
    }

    /// How many groups were read.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no group was read.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Memberships in total.
    pub fn memberships(&self) -> usize {
        self.groups.values().map(MemberList::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, login: &str) -> User {
        User {
            id: id.into(),
            login: login.into(),
            email: Some(format!("{login}@example.com")),
            display_name: None,
            enabled: true,
            attributes: BTreeMap::new(),
        }
    }

    #[test]
    fn users_round_trip_and_are_found_by_id() {
        let mut a = user("1", "ada");
        a.attributes.insert("dept".into(), "R&D".into());
        a.display_name = Some("Zoë".into());
        let b = User {
            email: None,
            enabled: false,
            ..user("2", "bob")
        };
        let t = UserTable::from_users(vec![a.clone(), b.clone()]).expect("table");
        assert_eq!(t.to_users(), vec![a, b]);
        assert_eq!(t.find("2"), Some(1));
        assert_eq!(t.find("3"), None);
        assert_eq!(t.get(1).email, None);
        assert_eq!(
            t.get(0).attributes.get("dept").map(String::as_str),
            Some("R&D")
        );
        assert!(t.get(1).attributes.is_empty());
    }

    #[test]
    fn an_empty_string_is_not_an_absent_one() {
        let u = User {
            email: Some(String::new()),
            ..user("1", "ada")
        };
        let t = UserTable::from_users(vec![u]).expect("table");
        assert_eq!(t.get(0).email, Some(""));
    }

    #[test]
    fn a_repeated_id_leads_to_the_later_row() {
        let mut t = UserTable::from_users(vec![user("1", "a"), user("1", "b")]).expect("table");
        assert_eq!(t.len(), 2);
        assert_eq!(t.find("1"), Some(1));
        // Rows appended once the index exists are indexed as they come.
        t.extend(vec![user("2", "c"), user("1", "d")])
            .expect("extend");
        assert_eq!((t.find("1"), t.find("2")), (Some(3), Some(2)));
        // A copy made before the first lookup indexes itself the same way.
        let mut fresh = UserTable::from_users(vec![user("1", "a")]).expect("table");
        let copy = fresh.clone();
        fresh.push(user("1", "b")).expect("push");
        assert_eq!((copy.find("1"), fresh.find("1")), (Some(0), Some(1)));
    }

    #[test]
    fn links_are_found_by_source_and_replaced() {
        let mut t = LinkTable::new();
        t.insert("s1", "t1", "00000000000000ff").expect("insert");
        t.insert("s2", "t2", "not a fingerprint").expect("insert");
        t.insert("s1", "t9", "0000000000000001").expect("insert");
        assert_eq!(t.len(), 2);
        let l = t.get("s1").expect("link");
        assert_eq!((l.target_id, l.fingerprint), ("t9", Some(1)));
        assert_eq!(t.get("s2").expect("link").fingerprint, None);
        assert!(t.get("s3").is_none());
    }

    #[test]
    fn many_ids_are_looked_up_at_once_as_one_at_a_time() {
        let users: Vec<User> = (0..100).map(|i| user(&format!("u{i}"), "x")).collect();
        let t = UserTable::from_users(users).expect("table");
        let mut links = LinkTable::new();
        for i in (0..100).step_by(3) {
            let fp = format!("{i:016x}");
            links
                .insert(&format!("s{i}"), &format!("u{i}"), &fp)
                .expect("insert");
        }
        // Found and missing ids mixed, more than one batch of them.
        let asked: Vec<String> = (0..150).map(|i| format!("u{}", 149 - i)).collect();
        let mut found = Vec::new();
        t.find_each(asked.iter().map(String::as_str), |p| found.push(p));
        let alone: Vec<Option<usize>> = asked.iter().map(|id| t.find(id)).collect();
        assert_eq!(found, alone);
        assert_eq!((found[50], found[149]), (Some(99), Some(0)));
        let sources: Vec<String> = (0..150).map(|i| format!("s{i}")).collect();
        let mut got = Vec::new();
        links.get_each(sources.iter().map(String::as_str), |l| got.push(l));
        let alone: Vec<Option<LinkRef<'_>>> = sources.iter().map(|s| links.get(s)).collect();
        assert_eq!(got, alone);
        assert_eq!(got.iter().flatten().count(), 34);
        assert_eq!(
            got[3].map(|l| (l.target_id, l.fingerprint)),
            Some(("u3", Some(3)))
        );
    }

    #[test]
    fn links_are_read_from_the_store_of_their_target_and_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("state.db")).expect("store");
        let link = |target: &str, kind, source: &str, id: &str| {
            idbridge_store::Write::UpsertLink(Link {
                target: target.into(),
                kind,
                source_id: source.into(),
                target_id: id.into(),
                fingerprint: "00000000000000ff".into(),
                updated: chrono::Utc::now(),
            })
        };
        store
            .commit(&[
                link("bi", LinkKind::User, "s1", "t1"),
                link("bi", LinkKind::User, "s2", "t2"),
                link("bi", LinkKind::Group, "g1", "G1"),
                link("dss", LinkKind::User, "s3", "t3"),
            ])
            .expect("commit");
        let t = LinkTable::read(&store, "bi", LinkKind::User).expect("read");
        assert_eq!(t.len(), 2);
        let l = t.get("s2").expect("link");
        assert_eq!((l.target_id, l.fingerprint), ("t2", Some(255)));
        assert!(t.get("g1").is_none() && t.get("s3").is_none());
    }

    #[test]
    fn members_resolve_known_users_and_keep_the_rest() {
        let users = UserTable::from_users(vec![user("u1", "a"), user("u2", "b")]).expect("t");
        let m = Members::from_principals(
            [(
                "g".to_string(),
                vec![
                    Principal::User("u2".into()),
                    Principal::Group("g2".into()),
                    Principal::User("u1".into()),
                    Principal::User("u2".into()),
                    Principal::User("ghost".into()),
                ],
            )],
            &users,
        );
        let g = m.get("g").expect("group");
        assert_eq!(g.users, vec![0, 1]);
        assert_eq!(
            g.others,
            vec![
                Principal::Group("g2".into()),
                Principal::User("ghost".into())
            ]
        );
        assert_eq!(g.len(), 4);
        let all: Vec<Principal> = g.principals(&users).collect();
        assert_eq!(all[0], Principal::User("u1".into()));
        assert!(m.get("other").is_none());
    }
}
